//! The functions of a `lib` (`lib.add`): Python builtins, as in cffi's
//! API mode, so that a call goes through CPython's vectorcall protocol
//! straight into the call plan, with no argument tuple and no
//! `tp_call` slot on the way.
//!
//! Each is a `builtin_function_or_method` made with `PyCMethod_New` over
//! a `PyMethodDef` (`METH_FASTCALL | METH_KEYWORDS`) owned by its
//! `__self__`, a [`CFunction`] holding the function-pointer cdata, its
//! address and its call plan.  Wherever cffi accepts a function-pointer
//! cdata (`ffi.typeof`, `ffi.cast`, `ffi.addressof(lib, name)`, pointer
//! arguments and stores), these functions stand for their cdata.

use crate::python::errors::CoreResult;
use std::ffi::CString;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyString};
use pyo3::{Borrowed, intern};

use super::library_py::CLibrary;
use crate::call::marshal::{self, Callee};
use crate::call::plan::CallPlan;
use crate::memory::cdata::CData;
use crate::types::TypeRef;

/// The `__self__` of a `lib` function: what a call needs, ready.
#[pyclass(name = "__CFunction", module = "_cffi_backend", frozen)]
pub struct CFunction {
    /// The function-pointer cdata the function stands for.
    cdata: Py<CData>,
    fty: TypeRef,
    fnptr: usize,
    /// The plan of a non-variadic function type that can be called.
    plan: Option<Arc<CallPlan>>,
    name: String,
    /// The library the function comes from: its closed flag and name.
    library: Option<(Arc<AtomicBool>, String)>,
    /// The method definition the builtin points to (it holds a reference
    /// to this object, so the definition outlives it).
    def: MethodDef,
}

/// A `PyMethodDef` with the strings it points to.
struct MethodDef {
    def: Box<ffi::PyMethodDef>,
    _name: CString,
    _doc: CString,
}

// SAFETY: the definition and its strings are never modified after
// creation; CPython only reads them, with the GIL held.
unsafe impl Send for MethodDef {}
// SAFETY: as above.
unsafe impl Sync for MethodDef {}

#[pymethods]
impl CFunction {
    fn __repr__(&self) -> String {
        format!("<C function {}: '{}'>", self.name, self.fty.cname())
    }

    /// The function-pointer cdata (what `ffi.addressof(lib, name)` gives).
    #[getter]
    fn cdata(&self, py: Python<'_>) -> Py<CData> {
        self.cdata.clone_ref(py)
    }
}

/// The C declaration of function `name` of type `fty`, for `__doc__`:
/// `int add(int, int)`.
pub fn declaration(fty: &TypeRef, name: &str) -> String {
    let Some(f) = fty.func_info() else {
        return name.to_owned();
    };
    let mut args: Vec<&str> = f.args.iter().map(|a| a.cname()).collect();
    if f.ellipsis {
        args.push("...");
    }
    let prefix = f.result.name_with("");
    let sep = if prefix.ends_with('*') { "" } else { " " };
    f.result
        .name_with(&format!("{sep}{name}({})", args.join(", ")))
}

/// `lib.name`: a builtin calling the function-pointer cdata `cdata`
/// (through `plan`, or the plan of its type).  `origin` names where it
/// comes from, for `__doc__`; `module` is its `__module__`.
pub fn make<'py>(
    cdata: &Bound<'py, CData>,
    name: &str,
    origin: &str,
    plan: Option<Arc<CallPlan>>,
    library: Option<&CLibrary>,
    module: Option<&Bound<'py, PyString>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = cdata.py();
    let me = cdata.get();
    let fty = me.ty.clone();
    if fty.func_info().is_none() {
        return Err(PyTypeError::new_err(format!(
            "expected a function cdata, got '{}'",
            fty.cname()
        )));
    }
    let fnptr = me.ptr().py()? as usize;
    let cname = CString::new(name).map_err(|_| PyValueError::new_err("bad function name"))?;
    let doc = format!(
        "{};\n\nCFFI C function from {origin}",
        declaration(&fty, name)
    );
    let cdoc = CString::new(doc).map_err(|_| PyValueError::new_err("bad function name"))?;
    let def = Box::new(ffi::PyMethodDef {
        ml_name: cname.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: ENTRY,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: cdoc.as_ptr(),
    });
    let holder = Bound::new(
        py,
        CFunction {
            cdata: cdata.clone().unbind(),
            // A NULL function takes the general path, which refuses it.
            plan: if fnptr == 0 {
                None
            } else {
                plan.or_else(|| marshal::fixed_plan(&fty))
            },
            fty,
            fnptr,
            name: name.to_owned(),
            library: library.map(|l| {
                let (flag, lname) = l.closed_flag();
                (flag, lname.to_owned())
            }),
            def: MethodDef {
                def,
                _name: cname,
                _doc: cdoc,
            },
        },
    )?;
    let def_ptr = &*holder.get().def.def as *const ffi::PyMethodDef as *mut ffi::PyMethodDef;
    // SAFETY: `def_ptr` points to a method definition owned by `holder`,
    // which the new function object keeps alive (it holds a reference to
    // its `self`); the strings it points to live as long.  `module` is
    // borrowed (the function takes its own reference).  The result is a new
    // reference or NULL with an exception set.
    unsafe {
        let f = ffi::PyCMethod_New(
            def_ptr,
            holder.as_ptr(),
            module.map_or(std::ptr::null_mut(), |m| m.as_ptr()),
            std::ptr::null_mut(),
        );
        Bound::from_owned_ptr_or_err(py, f)
    }
}

/// The function-pointer cdata that `v` stands for, if `v` is a function
/// made by [`make`].
pub fn cdata_of<'py>(v: &Bound<'py, PyAny>) -> Option<Bound<'py, CData>> {
    if !v.is_instance_of::<PyCFunction>() {
        return None;
    }
    let s = v.getattr(intern!(v.py(), "__self__")).ok()?;
    let Ok(h) = s.cast::<CFunction>() else {
        // cffi's C wrapper of a lib function (see `module::attrs`).
        let name: String = v
            .getattr(intern!(v.py(), "__name__"))
            .ok()?
            .extract()
            .ok()?;
        return super::module::lib_obj::wrapper_cdata(&s, &name);
    };
    Some(h.get().cdata.bind(v.py()).clone())
}

/// The entry point CPython calls.  A panic stops here (it must not
/// unwind into CPython) and becomes a `PanicException`.
///
/// PyO3's own trampolines also count the thread as attached for PyO3;
/// this one does not, to keep the call short.  Nothing here depends on
/// that count: the GIL is released and taken back with the raw C API
/// (`gil::without_gil`), and `Py` references dropped meanwhile would only
/// be released a little later, by PyO3's pool.
const ENTRY: ffi::PyCFunctionFastWithKeywords = entry;

unsafe extern "C" fn entry(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a builtin's function with the GIL held.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: the arguments are those of the vectorcall of a builtin made
    // by `make` (see `call`).
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| unsafe {
        call(py, slf, args, nargs, kwnames)
    }));
    match r {
        Ok(Ok(obj)) => obj,
        Ok(Err(e)) => {
            e.restore(py);
            std::ptr::null_mut()
        }
        Err(payload) => {
            panic_error(payload).restore(py);
            std::ptr::null_mut()
        }
    }
}

#[cold]
fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let msg = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic in a call of a C function".to_owned()
    };
    pyo3::panic::PanicException::new_err(msg)
}

/// A call of a `lib` function: `slf` is its [`CFunction`], `args` the
/// `nargs` positional arguments.
///
/// # Safety
/// Called by CPython (vectorcall of a builtin made by [`make`]) with the
/// GIL held: `slf` is the builtin's `__self__`, a `CFunction`; `args`
/// points to `nargs` live objects followed by the keyword values named by
/// `kwnames` (a tuple, or NULL).
unsafe fn call(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the builtin was made with a CFunction as `self` (see above).
    let holder = unsafe { Borrowed::from_ptr(py, slf).cast_unchecked::<CFunction>() };
    let me = holder.get();
    if let Some((closed, lname)) = &me.library
        && closed.load(Ordering::Acquire)
    {
        return Err(PyValueError::new_err(format!(
            "{}(): library '{lname}' has already been closed",
            me.name
        )));
    }
    if !kwnames.is_null() {
        // SAFETY: `kwnames` is a live tuple (see above).
        let kw = unsafe { Borrowed::from_ptr(py, kwnames) };
        if kw.len().unwrap_or(0) > 0 {
            return Err(PyTypeError::new_err(format!(
                "{}() takes no keyword arguments",
                me.name
            )));
        }
    }
    let n = usize::try_from(nargs).unwrap_or(0);
    let args: &[Borrowed<'_, '_, PyAny>] = if n == 0 {
        &[]
    } else {
        // SAFETY: `args` points to `nargs` live objects, borrowed for the
        // call; `Borrowed` is a transparent non-null object pointer.
        unsafe { std::slice::from_raw_parts(args as *const Borrowed<'_, '_, PyAny>, n) }
    };
    let callee = Callee {
        name: Some(&me.name),
        fty: &me.fty,
    };
    let fnptr = me.fnptr as *const u8;
    let r = match &me.plan {
        Some(plan) if plan.args.len() == n => marshal::invoke_plan(py, plan, callee, fnptr, args),
        _ => marshal::call_function(py, callee, fnptr, args),
    };
    r.map(Bound::into_ptr)
}

/// `_rcffi_function(cdata, name, origin=None, stub=0, library=None)`:
/// `cdata` (a function pointer) as a builtin named `name`, what
/// `lib.name` is.  `stub`, if not 0, is the address of a compiled
/// argument stub `void stub(void **args, void *result)` calling this
/// function (API mode): calls then go through it instead of libffi or a
/// direct call.  With `library` (the `CLibrary` the function comes from),
/// calls after `close_lib()` raise instead of jumping into unmapped code.
#[pyfunction]
#[pyo3(signature = (cdata, name, origin=None, stub=0, library=None))]
fn _rcffi_function<'py>(
    cdata: &Bound<'py, CData>,
    name: &Bound<'py, PyString>,
    origin: Option<&str>,
    stub: usize,
    library: Option<&Bound<'py, CLibrary>>,
) -> PyResult<Bound<'py, PyAny>> {
    let plan = if stub == 0 {
        None
    } else {
        // SAFETY: the caller (API mode's generated module) passes the
        // address of the argument stub it compiled for this very function
        // type, the same promise as casting an address to a function
        // pointer type.
        let f = unsafe { std::mem::transmute::<usize, crate::call::direct::ArgsStub>(stub) };
        Some(Arc::new(
            crate::call::plan::stub_plan(&cdata.get().ty, f).py()?,
        ))
    };
    make(
        cdata,
        &name.to_cow()?,
        origin.unwrap_or("a library"),
        plan,
        library.map(|l| l.get()),
        None,
    )
}

/// The plan of a compiled function of type `fty` whose argument stub is
/// at `stub` (0: none): `None` (the type's own plan) when it makes a
/// direct register call, else the stub's.
pub fn api_plan(fty: &TypeRef, stub: usize) -> PyResult<Option<Arc<CallPlan>>> {
    let direct = matches!(
        crate::call::plan::plan_of(fty),
        crate::call::plan::TypePlan::Fixed(p)
            if matches!(p.invoker, crate::call::plan::Invoker::Direct(_))
    );
    if direct || stub == 0 {
        return Ok(None);
    }
    // SAFETY: the compiled module gives the address of the argument stub
    // it compiled for this very function type.
    let f = unsafe { std::mem::transmute::<usize, crate::call::direct::ArgsStub>(stub) };
    Ok(Some(Arc::new(crate::call::plan::stub_plan(fty, f).py()?)))
}

/// `_api_function(fntype, address, stub, name, module=None)`: `lib.name`
/// of the API-mode module `module`, for the function of type `fntype` at
/// `address` whose compiled argument stub is at `stub` (0: none).  Calls
/// take the direct register path when the signature allows it, else the
/// stub, else libffi.
#[pyfunction]
#[pyo3(signature = (fntype, address, stub, name, module=None))]
fn _api_function<'py>(
    fntype: &Bound<'py, crate::python::ctype::PyCType>,
    address: usize,
    stub: usize,
    name: &Bound<'py, PyString>,
    module: Option<&Bound<'py, PyString>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = fntype.py();
    let fty = fntype.get().t.clone();
    if fty.func_info().is_none() {
        return Err(PyTypeError::new_err(format!(
            "expected a function type, got '{}'",
            fty.cname()
        )));
    }
    let plan = api_plan(&fty, stub)?;
    let cdata = marshal::borrowed_cdata(py, &fty, address as *mut u8)?;
    let origin = match module {
        Some(m) => format!("{}.lib", m.to_cow()?),
        None => "API mode".to_owned(),
    };
    make(&cdata, &name.to_cow()?, &origin, plan, None, module)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CFunction>()?;
    m.add_function(wrap_pyfunction!(_rcffi_function, m)?)?;
    m.add_function(wrap_pyfunction!(_api_function, m)?)?;
    crate::memory::convert::set_stand_in(cdata_of);
    Ok(())
}
