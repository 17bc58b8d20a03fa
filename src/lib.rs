//! rcffi: CFFI with a Rust core.  See ARCHITECTURE.md for the map of layers.

pub mod call;
pub mod errors;
pub mod frontend;
pub mod library;
pub mod memory;
pub mod parse;
pub mod python;
pub mod types;

use pyo3::prelude::*;

#[pymodule]
fn _rcffi(m: &Bound<'_, PyModule>) -> PyResult<()> {
    python::init(m)
}
