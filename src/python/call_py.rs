//! Calling C from Python and Python from C, as `_cffi_backend` functions:
//! calls of function-pointer cdata, `callback`, `_testfunc`.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::ctype::PyCType;
use crate::call::{callback as cb, gil, marshal};
use crate::memory::cdata::{CData, CallbackOwner, Owner};
use crate::memory::object::CDataClass;

/// `cdata(*args)` for function-pointer cdata.
pub fn call_cdata<'py>(
    slf: &Bound<'py, CData>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    marshal::call_cdata(slf, args, kwargs)
}

/// `callback(ctype, python_callable, error=None, onerror=None)`: a C
/// function pointer of type `ctype` that calls `python_callable`.
#[pyfunction]
#[pyo3(signature = (ctype, python_callable, error=None, onerror=None))]
pub fn callback<'py>(
    py: Python<'py>,
    ctype: &Bound<'py, PyCType>,
    python_callable: &Bound<'py, PyAny>,
    error: Option<&Bound<'py, PyAny>>,
    onerror: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, CData>> {
    let fty = &ctype.get().t;
    if fty.func_info().is_none() {
        return Err(PyTypeError::new_err(format!(
            "expected a function ctype, got '{}'",
            fty.cname()
        )));
    }
    if !python_callable.is_callable() {
        return Err(PyTypeError::new_err(format!(
            "expected a callable object, not {}",
            python_callable.get_type().name()?
        )));
    }
    let onerror = onerror.filter(|o| !o.is_none());
    if let Some(o) = onerror
        && !o.is_callable()
    {
        return Err(PyTypeError::new_err(format!(
            "expected a callable object for 'onerror', not {}",
            o.get_type().name()?
        )));
    }
    let callable: Py<PyAny> = python_callable.clone().unbind();
    let onerror: Option<Py<PyAny>> = onerror.map(|o| o.clone().unbind());
    let made = cb::make(fty, &callable, error, onerror.as_ref())?;
    let cd = CData::new(
        fty.clone(),
        made.code,
        0,
        Owner::Callback(Box::new(CallbackOwner {
            closure: Box::new(made.closure),
            callable,
            onerror,
        })),
    );
    cd.into_object(py, CDataClass::OwnGc)
}

/// `_testfunc(n)`: the address of C test function `n`.
#[pyfunction]
pub fn _testfunc(n: i32) -> PyResult<usize> {
    crate::call::testfunc(n).ok_or_else(|| PyValueError::new_err(()))
}

/// `_call_invoker(ctype)`: how calls of the function type `ctype` are
/// made ("direct", "libffi", "stub", "variadic" or "failed"), for tests
/// and benchmarks.
#[pyfunction]
pub fn _call_invoker(ctype: &Bound<'_, PyCType>) -> &'static str {
    use crate::call::plan::{Invoker, TypePlan, plan_of};
    match plan_of(&ctype.get().t) {
        TypePlan::Fixed(p) => match p.invoker {
            Invoker::Direct(_) => "direct",
            Invoker::Libffi(_) => "libffi",
            Invoker::Stub(_) => "stub",
        },
        TypePlan::Variadic(_) => "variadic",
        TypePlan::Failed(_) => "failed",
    }
}

/// `_rcffi_gil_release(mode=None)`: when C calls release the GIL,
/// `"always"` (as cffi) or `"auto"` (when another thread could take it,
/// see `call::gil`); sets it if `mode` is given; returns the mode that was
/// in force before.
#[pyfunction]
#[pyo3(signature = (mode=None))]
fn _rcffi_gil_release(mode: Option<&str>) -> PyResult<&'static str> {
    let name = |p| match p {
        gil::Policy::Always => "always",
        gil::Policy::Auto => "auto",
    };
    let before = name(gil::policy());
    match mode {
        None => {}
        Some("always") => gil::set_policy(gil::Policy::Always),
        Some("auto") => gil::set_policy(gil::Policy::Auto),
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "GIL release mode must be 'always' or 'auto', not {other:?}"
            )));
        }
    }
    Ok(before)
}

/// Adds the call-related functions to `_cffi_backend`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_rcffi_gil_release, m)?)?;
    m.add_function(wrap_pyfunction!(callback, m)?)?;
    m.add_function(wrap_pyfunction!(_testfunc, m)?)?;
    m.add_function(wrap_pyfunction!(_call_invoker, m)?)?;
    super::library_py::register(m)?;
    Ok(())
}
