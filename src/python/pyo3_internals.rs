//! Every use of PyO3's private API and of its hidden object layout, in
//! one place, checked against one exact PyO3 version.
//!
//! * [`get_trampoline_function`] (from `pyo3::impl_::trampoline`): the C
//!   entry points of the fast slots (`capi::attr`, `capi::item`,
//!   `capi::fastcall`, `memory::object`) fall back to PyO3's trampoline
//!   for their general path, which catches panics and converts errors.
//! * [`value_offset`] and [`check_layout`]: cdata objects are allocated by
//!   rcffi (`memory::object`), not by PyO3, so where the pyclass keeps its
//!   value, and that nothing else PyO3 keeps per object differs, is
//!   measured on an object PyO3 makes, at import; a different layout is an
//!   ImportError, never a wrong read.
//!
//! Cargo.toml pins PyO3 exactly (`=`); [`PYO3_CHECKED`] is the version this
//! module was reviewed against, and the test below fails when the locked
//! PyO3 is another one.

use std::mem::size_of;

use pyo3::exceptions::PyImportError;
use pyo3::ffi;
use pyo3::prelude::*;

pub use pyo3::impl_::trampoline::get_trampoline_function;

use crate::memory::cdata::CData;
use crate::memory::object::{CDataClass, ObjectLayout};
use crate::types::intern;

/// The PyO3 version whose private API and layout this module uses.
pub const PYO3_CHECKED: &str = "0.30.1";

/// Where the pyclass keeps its value: measured on an object made by PyO3.
pub fn value_offset(py: Python<'_>) -> PyResult<usize> {
    let probe = Bound::new(py, CData::value(intern::void(), [0; 16]))?;
    Ok(probe.get() as *const CData as usize - probe.as_ptr() as usize)
}

/// Checks that `CData::into_object` makes objects laid out as PyO3 makes
/// its own: the same bytes outside the header and the value (PyO3's other
/// per-object state, zero for this pyclass).
pub fn check_layout(py: Python<'_>, l: ObjectLayout) -> PyResult<()> {
    let theirs = Bound::new(py, CData::value(intern::void(), [0; 16]))?.into_any();
    let mine = CData::value(intern::void(), [0; 16]).into_object(py, CDataClass::Base)?;
    let bytes = |o: &Bound<'_, PyAny>| -> Vec<u8> {
        // SAFETY: o is a live object of `l.size` bytes.
        unsafe { std::slice::from_raw_parts(o.as_ptr().cast::<u8>(), l.size).to_vec() }
    };
    let (x, y) = (bytes(&theirs), bytes(mine.as_any()));
    let header = size_of::<ffi::PyObject>();
    let value = l.value..l.value + size_of::<CData>();
    if (header..l.size).any(|i| !value.contains(&i) && x[i] != y[i]) {
        return Err(PyImportError::new_err(
            "rcffi: unexpected layout of the cdata pyclass",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::PYO3_CHECKED;

    /// The PyO3 of Cargo.lock (build.rs reads it).
    const LOCKED: &str = env!("RCFFI_PYO3_LOCKED");

    #[test]
    fn pyo3_is_the_reviewed_version() {
        assert_eq!(
            LOCKED, PYO3_CHECKED,
            "PyO3 is {LOCKED}, but src/python/pyo3_internals.rs was reviewed against \
             {PYO3_CHECKED}: check the trampoline macro (pyo3::impl_::trampoline) and the \
             pyclass object layout (value_offset, check_layout) against the new version, \
             then update PYO3_CHECKED"
        );
    }
}
