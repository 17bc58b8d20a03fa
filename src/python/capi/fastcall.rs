//! `ffi.new` and `ffi.cast` as plain `METH_FASTCALL` methods.
//!
//! These two are called in loops.  The fast path here handles their
//! common case without PyO3's method trampoline and argument parsing:
//! positional arguments only, a type string resolved recently (by
//! identity, see `FfiCore::recent_type`), `new` of `T[n]` or `T *` without
//! an initializer, `cast` to a pointer or array type of a pointer or
//! array cdata or of a Python int.  Everything else — and every error —
//! goes to the general path, through PyO3's trampoline: the Rust methods
//! of `FfiCore` for positional arguments, the PyO3 methods these replace
//! (kept aside) for keyword arguments and wrong argument counts, which
//! give cffi's results and messages.  The fast path never drops a Python object that PyO3 would
//! defer (it runs outside PyO3's count of the GIL), and a panic never
//! unwinds into C.

use std::ffi::{CString, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use crate::python::pyo3_internals::get_trampoline_function;
use pyo3::exceptions::PyImportError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::memory::cdata::CData;
use crate::memory::object::{CDataClass, cdata_of, class_of};
use crate::python::backend::new_size_fast;
use crate::python::ffi::FfiCore;
use crate::types::Kind;

/// The PyO3 methods the fast paths leave the general case to.
struct General {
    new: Py<PyAny>,
    cast: Py<PyAny>,
}

static GENERAL: OnceLock<General> = OnceLock::new();

/// Replaces `new` and `cast` of the FFI class `tp` by the fast methods.
pub fn install(tp: &Bound<'_, PyType>) -> PyResult<()> {
    let py = tp.py();
    if GENERAL.get().is_some() {
        return Ok(());
    }
    let general = General {
        new: tp.getattr("new")?.unbind(),
        cast: tp.getattr("cast")?.unbind(),
    };
    let methods: [(&str, ffi::PyCFunctionFastWithKeywords, &Py<PyAny>); 2] = [
        ("new", ffi_new, &general.new),
        ("cast", ffi_cast, &general.cast),
    ];
    for (name, meth, old) in methods {
        // The doc with its signature line, as CPython reads it.
        let old = old.bind(py);
        let text: Option<String> = old.getattr("__doc__")?.extract()?;
        let sig: Option<String> = old.getattr("__text_signature__")?.extract()?;
        let doc = match sig {
            Some(sig) => Some(format!("{name}{sig}\n--\n\n{}", text.unwrap_or_default())),
            None => text,
        };
        let leak = |s: String| -> PyResult<*const std::ffi::c_char> {
            let c = CString::new(s).map_err(|_| PyImportError::new_err("rcffi: method doc"))?;
            Ok(Box::leak(c.into_boxed_c_str()).as_ptr())
        };
        // The definition must live as long as the method: leaked, once.
        let def = Box::leak(Box::new(ffi::PyMethodDef {
            ml_name: leak(name.to_owned())?,
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: meth,
            },
            ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: match doc {
                Some(d) => leak(d)?,
                None => std::ptr::null(),
            },
        }));
        // SAFETY: tp is a live type and def a 'static method definition;
        // the result is a new reference or NULL with an exception set.
        let descr = unsafe {
            Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(tp.as_type_ptr(), def))?
        };
        tp.setattr(name, descr)?;
    }
    let _ = GENERAL.set(general);
    Ok(())
}

/// Positional arguments and keyword arguments.
type SplitArgs<'py> = (Vec<Bound<'py, PyAny>>, Option<Bound<'py, PyDict>>);

/// The arguments of a `METH_FASTCALL | METH_KEYWORDS` call: positional,
/// then keyword (name, value) pairs.
///
/// # Safety
/// As CPython passes them: `args` holds `nargs` positional arguments then
/// one value per name of `kwnames` (a tuple of str, or NULL).
unsafe fn split_args<'py>(
    py: Python<'py>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<SplitArgs<'py>> {
    let nargs = usize::try_from(nargs).unwrap_or(0);
    // SAFETY: by the caller's guarantee.
    unsafe {
        let positional = (0..nargs)
            .map(|i| Borrowed::from_ptr(py, *args.add(i)).to_owned())
            .collect();
        let Some(names) = Borrowed::from_ptr_or_opt(py, kwnames) else {
            return Ok((positional, None));
        };
        let names = names.cast::<PyTuple>()?;
        let kwargs = PyDict::new(py);
        for (i, name) in names.iter().enumerate() {
            kwargs.set_item(name, Borrowed::from_ptr(py, *args.add(nargs + i)))?;
        }
        Ok((positional, Some(kwargs)))
    }
}

/// Calls the PyO3 method `general` with the arguments a fast method
/// received, `self` first (for keyword arguments and argument errors).
///
/// # Safety
/// As for [`split_args`]; `slf` is the method's `self`.
unsafe fn call_general<'py>(
    py: Python<'py>,
    general: &Py<PyAny>,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: forwarded to the caller's guarantee; slf is a live object.
    let (mut all, kwargs) = unsafe { split_args(py, args, nargs, kwnames)? };
    // SAFETY: as above.
    all.insert(0, unsafe { Borrowed::from_ptr(py, slf).to_owned() });
    let all = PyTuple::new(py, all)?;
    general
        .bind(py)
        .call(all, kwargs.as_ref())
        .map(Bound::into_ptr)
}

/// Runs a fast path, catching panics; `None`: the general path.
fn fast(f: impl FnOnce() -> Option<*mut ffi::PyObject>) -> Result<Option<*mut ffi::PyObject>, ()> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| ())
}

#[cold]
fn panicked() -> *mut ffi::PyObject {
    // SAFETY: sets the current exception with a static message.
    unsafe {
        ffi::PyErr_SetString(
            ffi::PyExc_SystemError,
            c"rcffi: internal error (panic) in ffi.new or ffi.cast".as_ptr(),
        );
    }
    std::ptr::null_mut()
}

/// The FFI object of a method call.
///
/// # Safety
/// `slf` must be the `self` CPython passes to a method of the FFI class
/// (checked by the method descriptor to be an instance of it).
unsafe fn ffi_of<'a>(py: Python<'_>, slf: *mut ffi::PyObject) -> &'a FfiCore {
    // SAFETY: by the caller's guarantee; the FFI object outlives the call.
    unsafe {
        &*(Borrowed::from_ptr(py, slf)
            .cast_unchecked::<FfiCore>()
            .get() as *const FfiCore)
    }
}

/// `ffi.new(cdecl, init=None)`.
unsafe extern "C" fn ffi_new(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: a METH_FASTCALL method call: args holds nargs arguments,
    // the thread holds the GIL.
    unsafe {
        let plain =
            kwnames.is_null() && (nargs == 1 || (nargs == 2 && *args.add(1) == ffi::Py_None()));
        if plain {
            let r = fast(|| {
                let py = Python::assume_attached();
                let t = ffi_of(py, slf).recent_type(py, *args)?;
                let (size, align) = new_size_fast(&t)?;
                let cd = CData::owned(t, size, align, 0).ok()?;
                Some(cd.into_object_raw(CDataClass::Own))
            });
            match r {
                Ok(Some(obj)) => return obj,
                Ok(None) => {}
                Err(()) => return panicked(),
            }
        }
        get_trampoline_function!(fastcall_cfunction_with_keywords, new_general)(
            slf, args, nargs, kwnames,
        )
    }
}

/// `ffi.new` in general, with PyO3's count of the GIL.
///
/// # Safety
/// Called through the trampoline with the arguments of [`ffi_new`].
unsafe fn new_general(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the arguments of a method call of the FFI class.
    unsafe {
        if kwnames.is_null() && (nargs == 1 || nargs == 2) {
            let cdecl = Borrowed::from_ptr(py, *args);
            let init = (nargs == 2)
                .then(|| Borrowed::from_ptr(py, *args.add(1)))
                .filter(|i| !i.is_none());
            return ffi_of(py, slf)
                .new_cdata(py, &cdecl, init.as_deref())
                .map(Bound::into_ptr);
        }
        let general = &GENERAL.get().ok_or_else(not_ready)?.new;
        call_general(py, general, slf, args, nargs, kwnames)
    }
}

/// `ffi.cast(cdecl, value)`.
unsafe extern "C" fn ffi_cast(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: as in ffi_new.
    unsafe {
        if kwnames.is_null() && nargs == 2 {
            let r = fast(|| {
                let py = Python::assume_attached();
                let t = ffi_of(py, slf).recent_type(py, *args)?;
                if !matches!(
                    t.kind,
                    Kind::Pointer(_) | Kind::Function(_) | Kind::Array { len: Some(_), .. }
                ) {
                    return None;
                }
                let v = *args.add(1);
                let cd = if ffi::PyLong_CheckExact(v) != 0 {
                    let mut overflow: c_int = 0;
                    let i = ffi::PyLong_AsLongLongAndOverflow(v, &mut overflow);
                    if overflow != 0 || (i == -1 && !ffi::PyErr_Occurred().is_null()) {
                        ffi::PyErr_Clear();
                        return None;
                    }
                    CData::borrowed(t, i as usize as *mut u8, 0, None)
                } else {
                    let src = Borrowed::from_ptr(py, v);
                    class_of(&src)?;
                    let c = cdata_of(v);
                    if !matches!(
                        c.ty.kind,
                        Kind::Pointer(_) | Kind::Function(_) | Kind::Array { .. }
                    ) {
                        return None;
                    }
                    let addr = c.live_ptr()?;
                    let keeper = CData::keeper_cdata(&src.cast_unchecked::<CData>());
                    CData::borrowed(t, addr, 0, keeper)
                };
                Some(cd.into_object_raw(CDataClass::Base))
            });
            match r {
                Ok(Some(obj)) => return obj,
                Ok(None) => {}
                Err(()) => return panicked(),
            }
        }
        get_trampoline_function!(fastcall_cfunction_with_keywords, cast_general)(
            slf, args, nargs, kwnames,
        )
    }
}

/// `ffi.cast` in general, with PyO3's count of the GIL.
///
/// # Safety
/// Called through the trampoline with the arguments of [`ffi_cast`].
unsafe fn cast_general(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the arguments of a method call of the FFI class.
    unsafe {
        if kwnames.is_null() && nargs == 2 {
            let cdecl = Borrowed::from_ptr(py, *args);
            let value = Borrowed::from_ptr(py, *args.add(1));
            return ffi_of(py, slf)
                .cast(py, &cdecl, &value)
                .map(Bound::into_ptr);
        }
        let general = &GENERAL.get().ok_or_else(not_ready)?.cast;
        call_general(py, general, slf, args, nargs, kwnames)
    }
}

#[cold]
fn not_ready() -> PyErr {
    PyImportError::new_err("rcffi: the FFI methods are not installed")
}
