//! `extern "Python"`: `@ffi.def_extern()` attaches a Python function to
//! the slot (`struct _cffi_externpy_s`) of a module's `extern "Python"`
//! function, and export 25, `_cffi_call_python(slot, args)`, calls it
//! when C calls that function.
//!
//! The function is attached as an rcffi callback of the function's type
//! (so `error`, `onerror`, the unraisable message, errno and the GIL
//! behave as for `ffi.callback`), whose handler runs on the arguments the
//! generated C stored: 8 bytes per argument at `args + 8 * i`, structs,
//! unions and `long double` by address; the result is written at `args`.
//! The slot's `reserved1` points to the [`Target`] (NULL: nothing
//! attached yet, and the call prints cffi's message and returns 0).
//! Targets are never freed (a C thread may still be calling a replaced
//! one); there is one per `def_extern` call.

use std::ffi::{CStr, c_char, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3::exceptions::{PySystemError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::call::raw::Closure;
use crate::memory::cdata::{CData, Owner};
use crate::module::format::ExternPy;
use crate::module::globals::GlobalKind;
use crate::python::ctype::ctype_obj;
use crate::python::errors::{CoreResult, FFIError};
use crate::python::ffi::FfiCore;
use crate::types::{Kind, PrimFamily};

/// What an attached slot calls.
struct Target {
    /// The callback (its closure runs the Python function); alive for the
    /// process (also kept by the module's state).
    callback: Py<CData>,
    /// Per argument: passed by address (structs, unions, long double).
    by_address: Vec<bool>,
}

fn slot_target(slot: *mut ExternPy) -> &'static AtomicPtr<Target> {
    // SAFETY: `reserved1` is a pointer-sized field of the module's static
    // slot, written only through this atomic view (AtomicPtr has the
    // layout of a pointer).
    unsafe { &*((&raw mut (*slot).reserved1).cast::<AtomicPtr<Target>>()) }
}

/// Export 25: `void _cffi_call_python(struct _cffi_externpy_s *, char *)`.
///
/// # Safety
/// Called by a module's C code with its slot and an argument buffer laid
/// out as the module's documentation says (at least 8 bytes, and the
/// result's size).
pub unsafe extern "C" fn call_python(slot: *mut ExternPy, args: *mut c_char) {
    if slot.is_null() || args.is_null() {
        return;
    }
    let target = slot_target(slot).load(Ordering::Acquire);
    if target.is_null() {
        // SAFETY: the slot is the module's static structure; its name is
        // a static C string.
        let (name, size) = unsafe {
            let s = &*slot;
            let name = if s.name.is_null() {
                "?".into()
            } else {
                CStr::from_ptr(s.name).to_string_lossy()
            };
            (name, s.size_of_result)
        };
        eprintln!(
            "extern \"Python\": function {name}() called, but no code was attached to it yet \
             with @ffi.def_extern().  Returning 0."
        );
        // SAFETY: the buffer holds at least the result's size.
        unsafe { std::ptr::write_bytes(args, 0, size) };
        return;
    }
    // SAFETY: a target stored in a slot is never freed.
    let target = unsafe { &*target };
    let n = target.by_address.len();
    let mut small: [*mut c_void; 16] = [std::ptr::null_mut(); 16];
    let mut big: Vec<*mut c_void>;
    let ptrs: &mut [*mut c_void] = if n <= small.len() {
        &mut small[..n]
    } else {
        big = vec![std::ptr::null_mut(); n];
        &mut big
    };
    for (i, by_address) in target.by_address.iter().enumerate() {
        // SAFETY: argument `i` is at `args + 8 * i` (or its address is).
        unsafe {
            let at = args.add(8 * i).cast::<c_void>();
            ptrs[i] = if *by_address {
                *at.cast::<*mut c_void>()
            } else {
                at
            };
        }
    }
    if let Some(closure) = closure_of(&target.callback) {
        // SAFETY: `ptrs` holds one pointer per argument of the callback's
        // type (the slot's function type), to values of those types;
        // `args` is the result buffer (the C code's contract).
        unsafe { closure.run_in_place(ptrs.as_mut_ptr(), args.cast()) };
    }
}

/// The closure of a callback cdata.
fn closure_of(cb: &Py<CData>) -> Option<&Closure> {
    // SAFETY: the pointer is a live CData object (kept for the process);
    // `get` of a frozen pyclass reads it without the GIL.
    let cd: &CData = unsafe { crate::memory::object::cdata_of(cb.as_ptr()) };
    match &cd.owner {
        Owner::Callback(o) => o.closure.downcast_ref::<Closure>(),
        _ => None,
    }
}

/// `_rcffi_def_extern(ffi, fn, name=None, error=None, onerror=None)`:
/// what the decorator of `@ffi.def_extern(...)` does; returns `fn`.
#[pyfunction]
#[pyo3(signature = (ffi, python_callable, name=None, error=None, onerror=None))]
pub fn _rcffi_def_extern<'py>(
    ffi: &Bound<'py, FfiCore>,
    python_callable: &Bound<'py, PyAny>,
    name: Option<&Bound<'py, PyAny>>,
    error: Option<&Bound<'py, PyAny>>,
    onerror: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = ffi.py();
    let Some(state) = ffi.get().module_state() else {
        return Err(PyValueError::new_err(
            "ffi.def_extern() is only available on the ffi of a compiled module",
        ));
    };
    let name: String = match name.filter(|n| !n.is_none()) {
        Some(n) => n
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("def_extern(name=...) must be a string"))?
            .to_str()?
            .to_owned(),
        None => python_callable.getattr("__name__")?.extract()?,
    };
    let tables = state.types.tables();
    let not_found = || {
        FFIError::new_err(format!(
            "ffi.def_extern('{name}'): no 'extern \"Python\"' function with this name"
        ))
    };
    let gi = tables.search_global(&name).ok_or_else(not_found)?;
    let GlobalKind::ExternPython {
        type_index, slot, ..
    } = GlobalKind::of(tables, gi).py()?.1
    else {
        return Err(not_found());
    };
    if slot.is_null() {
        return Err(not_found());
    }
    let fty = state.realise_type(type_index)?;
    let Some(f) = fty.func_info() else {
        return Err(PySystemError::new_err(format!(
            "extern \"Python\" '{name}' has the type '{}', not a function type",
            fty.cname()
        )));
    };
    let by_address = f
        .args
        .iter()
        .map(|a| {
            matches!(a.kind, Kind::Struct(_))
                || a.primitive()
                    .is_some_and(|p| p.family == PrimFamily::LongDouble)
        })
        .collect();
    let ctype = ctype_obj(py, &fty)?;
    let cb = crate::python::call_py::callback(py, &ctype, python_callable, error, onerror)?;
    if closure_of(&cb.clone().unbind()).is_none() {
        return Err(PySystemError::new_err(
            "rcffi: a callback without a closure",
        ));
    }
    state
        .externs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(cb.clone().unbind());
    let target = Box::into_raw(Box::new(Target {
        callback: cb.unbind(),
        by_address,
    }));
    slot_target(slot).store(target, Ordering::Release);
    Ok(python_callable.clone())
}
