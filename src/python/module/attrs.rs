//! What `lib.NAME` is, built the first time it is asked for from the
//! module's global table (then cached in the lib's dict).
//!
//! Functions of compiled modules are rcffi builtins calling the module's
//! direct C function (`_cffi_d_NAME`, `size_or_direct_fn`) through rcffi's
//! call plans; rcffi's own modules (0x5201) give their argument stub in
//! `address`, used where no direct register call can be made.  cffi's
//! `_cffi_f_NAME` wrapper (a `PyCFunction`) is used only where rcffi's
//! plans cannot call the signature (a struct of a layout only the
//! compiler knows, passed by value) or the module gives no direct
//! function; its type slots are written back first.

use std::collections::HashMap;
use std::ffi::{CString, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use pyo3::exceptions::{PyAttributeError, PyRuntimeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::globals::{GlobalVar, Place};
use super::lib_obj::{self, LibState};
use super::state::Origin;
use crate::call::marshal;
use crate::call::plan::{TypePlan, plan_of};
use crate::memory::cdata::CData;
use crate::memory::convert;
use crate::module::globals::{GlobalKind, WrapperKind};
use crate::python::errors::{CoreResult, FFIError};
use crate::python::function;

/// `lib.NAME`, or `None` when neither the module nor the modules it
/// includes have `name`.  `obj` is the lib itself.
pub fn build<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    state: &LibState,
    name: &str,
    recursion: u32,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let types = &state.module.types;
    let tables = types.tables();
    let Some(i) = tables.search_global(name) else {
        return from_included(py, state, name, recursion);
    };
    let (_, kind) = GlobalKind::of(tables, i).py()?;
    let libname = state.libname.bind(py);
    Ok(Some(match kind {
        GlobalKind::Function {
            type_index,
            wrapper,
            direct,
            kind,
        } => function(py, obj, state, name, type_index, wrapper, direct, kind)?,
        GlobalKind::IntConstant => types.global_int(i).py()?.into_pyobject(py)?.into_any(),
        GlobalKind::Constant { type_index, getter } => {
            let ty = state.module.realise_type(type_index)?;
            let size = ty.size().filter(|s| *s > 0).ok_or_else(|| {
                FFIError::new_err(format!(
                    "constant '{name}' is of type '{}', whose size is not known",
                    ty.cname()
                ))
            })?;
            let data = if getter.is_null() {
                symbol(py, state, name)?
            } else {
                constant_bytes(getter, size)
            };
            // SAFETY: `data` holds a value of `ty` (written by the
            // module's getter, or the library's symbol of that type), and
            // lives for the process (leaked, as cffi does).
            unsafe { convert::read(py, &ty, data, None)? }
        }
        GlobalKind::Variable {
            type_index,
            address,
            size,
        } => {
            let ty = state.module.realise_type(type_index)?;
            if let Some(n) = ty.size()
                && size != 0
                && n > 0
                && n != size
            {
                return Err(FFIError::new_err(format!(
                    "global variable '{name}' should be {n} bytes according to the cdef, but is \
                     actually {size}"
                )));
            }
            let address = if address.is_null() {
                symbol(py, state, name)?
            } else {
                address.cast()
            };
            let g = GlobalVar::new(name, ty, Place::Address(address as usize));
            Bound::new(py, g)?.into_any()
        }
        GlobalKind::VariableFn { type_index, getter } => {
            let ty = state.module.realise_type(type_index)?;
            // SAFETY: the tables give `getter` as this variable's
            // `void *f(void)` (cffi's `_cffi_var_NAME`).
            let f = unsafe {
                std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> *mut c_void>(getter)
            };
            Bound::new(py, GlobalVar::new(name, ty, Place::Getter(f)))?.into_any()
        }
        GlobalKind::DlopenFunction { type_index } => {
            let address = symbol(py, state, name)?;
            let fty = state.module.types.realise_function(type_index).py()?;
            let cdata = marshal::borrowed_cdata(py, &fty, address)?;
            let library = state.library.as_ref().map(|l| l.bind(py).get());
            let origin = format!("library '{libname}'");
            function::make(&cdata, name, &origin, None, library, None)?
        }
        GlobalKind::ExternPython {
            type_index,
            function,
            ..
        } => {
            let ty = state.module.realise_type(type_index)?;
            marshal::borrowed_cdata(py, &ty, function.cast())?.into_any()
        }
    }))
}

/// Where `lib.NAME` is not in the module itself: the libs of included
/// modules (whose answer this lib caches too), or the integer constants
/// of included out-of-line modules.
fn from_included<'py>(
    py: Python<'py>,
    state: &LibState,
    name: &str,
    recursion: u32,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Some(inc) = state.module.included.get() else {
        return Ok(None);
    };
    if recursion > 100 {
        return Err(PyRuntimeError::new_err(
            "recursion overflow in ffi.include() delegations",
        ));
    }
    for (ffi1, lib1) in inc.ffis.iter().zip(&inc.libs) {
        match lib1 {
            Some(lib1) => {
                let lib1 = lib1.bind(py);
                let (state1, dict1) = lib_obj::parts(lib1)?;
                if let Some(x) = dict1.get_item(name)? {
                    return Ok(Some(x));
                }
                if let Some(x) = build(py, lib1, state1, name, recursion + 1)? {
                    dict1.set_item(name, &x)?;
                    return Ok(Some(x));
                }
            }
            None => {
                let core = ffi1.bind(py).cast::<crate::python::ffi::FfiCore>()?;
                if let Some(v) = core.get().namespace_integer(name)? {
                    return Ok(Some(v.into_pyobject(py)?.into_any()));
                }
            }
        }
    }
    Ok(None)
}

/// The address of `name` in the library of `ffi.dlopen()`.
fn symbol(py: Python<'_>, state: &LibState, name: &str) -> PyResult<*mut u8> {
    let libname = state.libname.bind(py);
    let Some(lib) = &state.library else {
        return Err(FFIError::new_err(format!(
            "'{name}' is to be looked up in a library, but lib '{libname}' has none"
        )));
    };
    lib.bind(py).get().lookup(name, |e| {
        FFIError::new_err(format!(
            "symbol '{name}' not found in library '{libname}': {e}"
        ))
    })
}

/// A constant's value, written by its getter `void f(char *)` into memory
/// that lives for the process (one allocation per constant, as cffi).
fn constant_bytes(getter: *mut c_void, size: usize) -> *mut u8 {
    let words = size.div_ceil(16).max(1);
    let buf: &'static mut [u128] = Box::leak(vec![0u128; words].into_boxed_slice());
    let p = buf.as_mut_ptr().cast::<u8>();
    // SAFETY: the tables give `getter` as this constant's `void f(char *)`
    // (cffi's `_cffi_const_NAME`), which writes `size` bytes; the buffer
    // holds at least that, aligned for any scalar.
    unsafe {
        let f = std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut u8)>(getter);
        f(p);
    }
    p
}

/// Make the functions of cffi-built modules use cffi's wrappers (and so
/// the exports) rather than rcffi's plans: a hook for tests, set by
/// `_rcffi_use_cffi_wrappers(flag)` before the functions are first used.
static USE_CFFI_WRAPPERS: AtomicBool = AtomicBool::new(false);

/// `_rcffi_use_cffi_wrappers(flag)`: see [`USE_CFFI_WRAPPERS`]; returns
/// the previous setting.
#[pyfunction]
pub fn _rcffi_use_cffi_wrappers(flag: bool) -> bool {
    USE_CFFI_WRAPPERS.swap(flag, Ordering::Relaxed)
}

/// `lib.NAME` of a function of a compiled module (see the module docs).
#[allow(clippy::too_many_arguments)]
fn function<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    state: &LibState,
    name: &str,
    type_index: usize,
    wrapper: *mut c_void,
    direct: *mut c_void,
    kind: WrapperKind,
) -> PyResult<Bound<'py, PyAny>> {
    let module = &state.module;
    let fty = module.types.realise_function(type_index).py()?;
    let libname = state.libname.bind(py);
    let origin = format!("{libname}.lib");
    let callable = !direct.is_null()
        && matches!(plan_of(&fty), TypePlan::Fixed(_))
        && !USE_CFFI_WRAPPERS.load(Ordering::Relaxed);
    if module.origin == Origin::Rcffi && !direct.is_null() {
        let plan = function::api_plan(&fty, wrapper as usize)?;
        let cdata = marshal::borrowed_cdata(py, &fty, direct.cast())?;
        return function::make(&cdata, name, &origin, plan, None, Some(libname));
    }
    if callable {
        let cdata = marshal::borrowed_cdata(py, &fty, direct.cast())?;
        return function::make(&cdata, name, &origin, None, None, Some(libname));
    }
    if module.origin != Origin::Cffi {
        return Err(FFIError::new_err(format!(
            "function '{name}' of module '{}' has no C function to call",
            module.name()
        )));
    }
    module.prepare_wrapper(py, type_index)?;
    let doc = format!(
        "{};\n\nCFFI C function from {origin}",
        function::declaration(&fty, name)
    );
    let f = wrapper_function(py, obj, libname, name, &doc, wrapper, kind)?;
    if !direct.is_null() {
        let cdata = marshal::borrowed_cdata(py, &fty, direct.cast())?;
        wrappers()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((obj.as_ptr() as usize, name.to_owned()), cdata.unbind());
    }
    Ok(f)
}

/// The direct-function cdata of the wrapper functions of libs, by lib and
/// name (libs of compiled modules live for the process).
type Wrappers = Mutex<HashMap<(usize, String), Py<CData>>>;

fn wrappers() -> &'static Wrappers {
    static W: OnceLock<Wrappers> = OnceLock::new();
    W.get_or_init(Default::default)
}

/// The direct-function cdata of the wrapper function `name` of the lib
/// `lib`.
pub fn direct_cdata<'py>(
    py: Python<'py>,
    lib: &Bound<'py, PyAny>,
    name: &str,
) -> Option<Bound<'py, CData>> {
    let w = wrappers().lock().unwrap_or_else(|e| e.into_inner());
    w.get(&(lib.as_ptr() as usize, name.to_owned()))
        .map(|c| c.bind(py).clone())
}

/// A `PyCFunction` over cffi's wrapper `_cffi_f_NAME` (whose method
/// definition lives for the process, as in cffi).
fn wrapper_function<'py>(
    py: Python<'py>,
    lib: &Bound<'py, PyAny>,
    libname: &Bound<'py, PyString>,
    name: &str,
    doc: &str,
    wrapper: *mut c_void,
    kind: WrapperKind,
) -> PyResult<Bound<'py, PyAny>> {
    let cname = CString::new(name).map_err(|_| PyAttributeError::new_err("bad name"))?;
    let cdoc = CString::new(doc).map_err(|_| PyAttributeError::new_err("bad name"))?;
    let flags = match kind {
        WrapperKind::Varargs => ffi::METH_VARARGS,
        WrapperKind::NoArgs => ffi::METH_NOARGS,
        WrapperKind::OneArg => ffi::METH_O,
    };
    // SAFETY: the tables give `wrapper` as this function's
    // `PyObject *f(PyObject *self, PyObject *args)` (cffi's
    // `_cffi_f_NAME`), of the convention `flags` says.
    let meth = unsafe { std::mem::transmute::<*mut c_void, ffi::PyCFunction>(wrapper) };
    let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: Box::leak(cname.into_boxed_c_str()).as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunction: meth },
        ml_flags: flags,
        ml_doc: Box::leak(cdoc.into_boxed_c_str()).as_ptr(),
    }));
    // SAFETY: the definition is 'static; `lib` and `libname` are live
    // (the function takes its own references); the result is a new
    // reference or NULL with an exception set.
    unsafe {
        let f = ffi::PyCFunction_NewEx(def, lib.as_ptr(), libname.as_ptr());
        Bound::from_owned_ptr_or_err(py, f)
    }
}
