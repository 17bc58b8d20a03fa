//! rcffi: CFFI with a Rust core.  See ARCHITECTURE.md for the map of layers.

pub mod parse;

use pyo3::prelude::*;

#[pymodule]
fn _rcffi(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
