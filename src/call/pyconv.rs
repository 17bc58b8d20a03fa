//! The few CPython C-API calls of the call layer's hot path, which PyO3's
//! safe API makes slower than they need to be: reading an exact `int` or
//! `float` argument, and making an `int` or `float` result.  Everything
//! else goes through PyO3.

use pyo3::ffi;
use pyo3::prelude::*;

/// The value of `v` if it is exactly an `int` that fits an `i64`.
#[inline]
pub fn exact_i64(v: &Bound<'_, PyAny>) -> Option<i64> {
    let p = v.as_ptr();
    // SAFETY: `p` is a live object (borrowed from `v`) and the GIL is
    // held; reading its type and PyLong_AsLongLong on an int are always
    // valid.  A failure (overflow) sets an exception, which is cleared
    // here: the caller then takes the general conversion, which raises
    // the right error.
    unsafe {
        if ffi::Py_TYPE(p) != &raw mut ffi::PyLong_Type {
            return None;
        }
        let x = ffi::PyLong_AsLongLong(p);
        if x == -1 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(x)
    }
}

/// The value of `v` if it is exactly a `float`.
#[inline]
pub fn exact_f64(v: &Bound<'_, PyAny>) -> Option<f64> {
    let p = v.as_ptr();
    // SAFETY: as for exact_i64; PyFloat_AsDouble cannot fail on a float.
    unsafe {
        if ffi::Py_TYPE(p) != &raw mut ffi::PyFloat_Type {
            return None;
        }
        Some(ffi::PyFloat_AsDouble(p))
    }
}

/// A Python `int` for `v`.
#[inline]
pub fn int_i64(py: Python<'_>, v: i64) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the GIL is held; the result is a new reference or NULL with
    // an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromLongLong(v)) }
}

/// A Python `int` for `v`.
#[inline]
pub fn int_u64(py: Python<'_>, v: u64) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: as for int_i64.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromUnsignedLongLong(v)) }
}

/// A Python `float` for `v`.
#[inline]
pub fn float(py: Python<'_>, v: f64) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: as for int_i64.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyFloat_FromDouble(v)) }
}
