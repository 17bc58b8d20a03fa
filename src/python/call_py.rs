//! Calling C from Python and Python from C: function-pointer cdata calls,
//! `load_library`, `callback`, `_testfunc` (the ABI-mode issue fills this
//! in).

use pyo3::exceptions::PyNotImplementedError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::memory::cdata::CData;

/// `cdata(*args)` for function-pointer cdata.
pub fn call_cdata<'py>(
    slf: &Bound<'py, CData>,
    _args: &Bound<'py, PyTuple>,
    _kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    Err(PyNotImplementedError::new_err(format!(
        "calling cdata '{}' is not implemented yet",
        slf.get().ty.cname()
    )))
}

/// Adds the call-related functions to `_cffi_backend`.
pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
