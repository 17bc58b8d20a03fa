//! The code generator from Python: `_rcffi._generate_c(ffi, ...)` and
//! `_rcffi._generate_python(ffi, ...)` give the text of a module (see
//! `crate::module::generator`); `rcffi.build` compiles it.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use super::ffi::FfiCore;
use crate::python::errors::CoreResult;
use rcffi_core::module::generator::{self, COptions};

/// The C text of the module of `ffi`: `(text, regions, user_file,
/// glue_line)`, `regions` a list of `(first, last, what, origin, hint)`
/// line ranges (1-based) of each declaration's checks and glue.
#[pyfunction]
#[pyo3(signature = (ffi, module_name, source, includes, cplusplus=false, strict=false,
                    python_h=false, c_path=None))]
#[allow(clippy::too_many_arguments)]
fn _generate_c<'py>(
    py: Python<'py>,
    ffi: &Bound<'py, FfiCore>,
    module_name: String,
    source: String,
    includes: Vec<String>,
    cplusplus: bool,
    strict: bool,
    python_h: bool,
    c_path: Option<String>,
) -> PyResult<Bound<'py, PyTuple>> {
    let o = COptions {
        module_name,
        source,
        cplusplus,
        strict,
        python_h,
        c_path,
    };
    let m = ffi
        .get()
        .with_declarations(|d| generator::c_module(d, &includes, &o))
        .py()?;
    let regions = m
        .regions
        .iter()
        .map(|r| {
            (
                r.first,
                r.last,
                r.what.as_str(),
                r.origin.as_str(),
                r.hint.as_deref(),
            )
        })
        .collect::<Vec<_>>();
    let regions = PyList::new(py, regions)?;
    (m.text, regions, m.user_file, m.glue_line).into_pyobject(py)
}

/// The Python text of the out-of-line ABI module of `ffi`.
#[pyfunction]
fn _generate_python(
    ffi: &Bound<'_, FfiCore>,
    module_name: String,
    includes: Vec<String>,
) -> PyResult<String> {
    ffi.get()
        .with_declarations(|d| generator::python_module(d, &includes, &module_name))
        .py()
}

/// `verify()`: `builder` reads its types from the tables of the module
/// whose `ffi` is `module_ffi` (the module built from its cdefs).
#[pyfunction]
fn _complete_from_module(
    py: Python<'_>,
    builder: &Bound<'_, FfiCore>,
    module_ffi: &Bound<'_, FfiCore>,
) -> PyResult<()> {
    let state =
        module_ffi.get().module_state().cloned().ok_or_else(|| {
            pyo3::exceptions::PyTypeError::new_err("the module's ffi has no tables")
        })?;
    builder.get().complete_from_tables(py, state)
}

/// `verify()`: the integer constants of `builder`'s cdefs whose value the
/// compiler contradicts, in the words of cffi's `verify()` ("X has the
/// real value 2, not 1").
#[pyfunction]
fn _constant_mismatches(
    builder: &Bound<'_, FfiCore>,
    module_ffi: &Bound<'_, FfiCore>,
) -> PyResult<Vec<String>> {
    let checked = builder
        .get()
        .with_declarations(generator::checked_constants)
        .py()?;
    let Some(state) = module_ffi.get().module_state() else {
        return Ok(Vec::new());
    };
    let tables = state.types.tables();
    let mut found = Vec::new();
    for (name, declared) in checked {
        let Some(i) = tables.search_global(&name) else {
            continue;
        };
        let (value, neg) = tables.int_constant(i).py()?;
        if neg & 2 == 0 {
            continue;
        }
        let real = if neg & 1 != 0 && value != 0 {
            value as i64 as i128
        } else {
            value as i128
        };
        found.push(format!("{name} has the real value {real}, not {declared}"));
    }
    Ok(found)
}

/// The name of the module whose tables `ffi` reads (`None` for an FFI of
/// cdefs).
#[pyfunction]
fn _module_name(ffi: &Bound<'_, FfiCore>) -> Option<String> {
    let state = ffi.get().module_state()?;
    Some(state.types.tables().module().to_owned())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_module_name, m)?)?;
    m.add_function(wrap_pyfunction!(_constant_mismatches, m)?)?;
    m.add_function(wrap_pyfunction!(_complete_from_module, m)?)?;
    m.add_function(wrap_pyfunction!(_generate_c, m)?)?;
    m.add_function(wrap_pyfunction!(_generate_python, m)?)?;
    Ok(())
}
