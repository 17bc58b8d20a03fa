//! rcffi: CFFI with a Rust core.  See ARCHITECTURE.md for the map of layers.

pub mod call;
pub mod memory;
pub mod python;

// The core layers live in the Python-free crate `rcffi-core`.
pub use rcffi_core::{errors, frontend, library, module, parse, types};

use pyo3::prelude::*;

#[pymodule]
fn _rcffi(m: &Bound<'_, PyModule>) -> PyResult<()> {
    python::init(m)
}
