//! Direct calls into the CPython C API that PyO3 does not wrap.  The
//! `unsafe` of the Python layer lives here.

pub mod attr;
pub mod cdata_types;
pub mod fastcall;
pub mod item;
pub mod pybuffer;
pub mod testbuff;

use pyo3::prelude::*;
use pyo3::types::PyString;

/// `object.__getattribute__(obj, name)`: the default attribute lookup,
/// used by types that override `__getattribute__`.
pub fn generic_getattr<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: both pointers are live objects borrowed for the call; the
    // result is a new reference or NULL with an exception set, which
    // from_owned_ptr_or_err turns into a PyErr.
    unsafe {
        let r = pyo3::ffi::PyObject_GenericGetAttr(obj.as_ptr(), name.as_ptr());
        Bound::from_owned_ptr_or_err(obj.py(), r)
    }
}

/// The object behind a live handle: `addr` is the address of a handle
/// cdata, as checked by the caller against the registry of live handles.
pub fn handle_object(py: Python<'_>, addr: usize) -> PyResult<Bound<'_, PyAny>> {
    use crate::memory::cdata::{CData, Owner, is_live_handle};
    if !is_live_handle(addr) {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "not a live handle",
        ));
    }
    // SAFETY: `addr` is in the registry of live handles, so it is the
    // address of a CData object that has not been deallocated (its Drop
    // removes it from the registry, and we hold the GIL).
    let obj = unsafe { Bound::from_borrowed_ptr(py, addr as *mut pyo3::ffi::PyObject) };
    let cd = obj.cast::<CData>()?;
    match &cd.get().owner {
        Owner::Handle { obj } => Ok(obj.bind(py).clone()),
        _ => Err(pyo3::exceptions::PyRuntimeError::new_err("not a handle")),
    }
}

/// A value only touched with the GIL held (rcffi is built for the stable
/// ABI, so for interpreters with a GIL): a `Sync` cell without a lock.
pub struct GilCell<T>(std::cell::UnsafeCell<T>);

// SAFETY: every access goes through `with`, which takes a `Python` token:
// the GIL serialises the accesses.
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    pub const fn new(v: T) -> Self {
        GilCell(std::cell::UnsafeCell::new(v))
    }

    /// Runs `f` on the value.  `f` must not run Python code (no calls into
    /// Python, no drop of a Python object: take it out and drop it after),
    /// which could reach this cell again.
    pub fn with<R>(&self, _py: Python<'_>, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: the GIL is held (the token) and `f` runs no Python code,
        // so no other access to the cell happens during this one.
        f(unsafe { &mut *self.0.get() })
    }
}

/// Runs the body of a C slot or export, called by CPython or C code with
/// the GIL held: errors are restored as the current exception and `err`
/// is returned; a panic stops here and becomes a `SystemError` naming
/// `what`.  The thread counts as attached for PyO3 while `f` runs (so
/// `Py` references dropped in it are released at once), except during
/// finalization, where PyO3 refuses to attach and `f` runs anyway (the
/// GIL is held).
pub fn slot_guard<R>(err: R, what: &str, f: impl FnOnce(Python<'_>) -> PyResult<R>) -> R {
    use std::panic::AssertUnwindSafe;
    let body = |py: Python<'_>| match f(py) {
        Ok(v) => Some(v),
        Err(e) => {
            e.restore(py);
            None
        }
    };
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut body = Some(body);
        if let Some(r) = Python::try_attach(|py| body.take().and_then(|b| b(py))) {
            return r;
        }
        // SAFETY: the caller is a slot or export, called with the GIL.
        body.and_then(|b| b(unsafe { Python::assume_attached() }))
    }));
    match r {
        Ok(Some(v)) => v,
        Ok(None) => err,
        Err(_) => {
            // SAFETY: as above.
            let py = unsafe { Python::assume_attached() };
            pyo3::exceptions::PySystemError::new_err(format!("rcffi: panic in {what}")).restore(py);
            err
        }
    }
}
