//! Callbacks: C function pointers that call a Python callable.
//!
//! A callback is a libffi closure whose handler converts the C arguments
//! to Python, calls the callable, and converts its result back.  It may be
//! called from any thread, including threads C created: the handler
//! attaches to the interpreter itself.  Exceptions never reach C: they go
//! to `onerror` if given, else to `sys.unraisablehook` as cffi reports
//! them, and the `error` value is returned to C instead.

use crate::python::errors::CoreResult;
use std::sync::Arc;

use pyo3::exceptions::{PyNotImplementedError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyTuple, PyType};

use super::marshal::{fixed_plan, owned_copy};
use super::plan::{CallPlan, RetConv};
use super::raw::{self, BorrowedObject, Closure, ClosureHandler, Incoming};
use crate::types::{Kind, TypeRef};

/// What a callback's closure needs at each call.
struct Handler {
    plan: Arc<CallPlan>,
    callable: BorrowedObject,
    onerror: Option<BorrowedObject>,
    /// The bytes returned to C when the call fails.
    error: Vec<u8>,
}

/// The parts of a new callback: the closure (owned by the cdata) and
/// the address C calls.
pub struct NewCallback {
    pub closure: Closure,
    pub code: *mut u8,
}

/// Makes the closure of `callback(fty, callable, error, onerror)`.
/// `callable` and `onerror` must be kept alive by the caller for as long
/// as the closure lives (the callback cdata holds both).
pub fn make(
    fty: &TypeRef,
    callable: &Py<PyAny>,
    error: Option<&Bound<'_, PyAny>>,
    onerror: Option<&Py<PyAny>>,
) -> PyResult<NewCallback> {
    let unsupported = || {
        PyNotImplementedError::new_err(format!(
            "{}: callback with unsupported argument or return type or with '...'",
            fty.cname()
        ))
    };
    let Some(plan) = fixed_plan(fty) else {
        return Err(unsupported());
    };
    let error = error_bytes(&plan, error)?;
    let Some(cif) = plan.cif.clone() else {
        return Err(unsupported());
    };
    let handler = Handler {
        plan,
        callable: BorrowedObject::new(callable),
        onerror: onerror.map(BorrowedObject::new),
        error,
    };
    let closure = Closure::new(cif, Box::new(handler)).py()?;
    let code = closure.code();
    Ok(NewCallback { closure, code })
}

/// Bytes of the result buffer: the size of a struct result, at least a
/// whole register for scalars.
fn result_len(plan: &CallPlan) -> usize {
    match plan.ret {
        RetConv::Void => 0,
        RetConv::Struct { size } => size,
        _ => plan.result.size().unwrap_or(0).max(8),
    }
}

fn widening(plan: &CallPlan) -> Option<bool> {
    match plan.ret {
        RetConv::Int { size, signed } if size < 8 => Some(signed),
        _ => None,
    }
}

fn error_bytes(plan: &CallPlan, error: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<u8>> {
    let len = result_len(plan);
    match error {
        Some(e) if !e.is_none() => {
            if plan.ret == RetConv::Void {
                return Err(PyTypeError::new_err(
                    "callback with the return type 'void' must return None",
                ));
            }
            raw::encode_value(&plan.result, e, len, widening(plan))
        }
        _ => Ok(vec![0; len]),
    }
}

impl ClosureHandler for Handler {
    fn handle(&self, call: Incoming<'_>) {
        // cffi's model: the Python code sees C's errno as `ffi.errno`, and
        // what it sets there is C's errno when the callback returns.
        super::errno::set(raw::c_errno());
        let attached = super::gil::with_gil(|py| self.run(py, &call));
        if attached.is_none() {
            call.set_result_bytes(&self.error);
        }
        raw::set_c_errno(super::errno::get());
    }
}

impl Handler {
    fn run(&self, py: Python<'_>, call: &Incoming<'_>) {
        if let Err((err, converting)) = self.call_python(py, call) {
            call.set_result_bytes(&self.error);
            self.failed(py, call, err, converting);
        }
    }

    /// Calls the Python callable; the flag of an error tells whether it
    /// happened while converting the result back to C.
    fn call_python(&self, py: Python<'_>, call: &Incoming<'_>) -> Result<(), (PyErr, bool)> {
        let mut items = Vec::with_capacity(self.plan.args.len());
        for (i, a) in self.plan.args.iter().enumerate() {
            let v = match &a.ty.kind {
                Kind::Struct(_) => {
                    let size = a.ty.size().unwrap_or(0);
                    owned_copy(py, &a.ty, call.arg_bytes(i, size)).map(Bound::into_any)
                }
                _ => call.arg_value(py, i, &a.ty),
            };
            items.push(v.map_err(|e| (e, false))?);
        }
        let args = PyTuple::new(py, items).map_err(|e| (e, false))?;
        let res = self.callable.bind(py).call1(args).map_err(|e| (e, false))?;
        self.store_result(call, &res).map_err(|e| (e, true))
    }

    fn store_result(&self, call: &Incoming<'_>, v: &Bound<'_, PyAny>) -> PyResult<()> {
        match self.plan.ret {
            RetConv::Void if v.is_none() => Ok(()),
            RetConv::Void => Err(PyTypeError::new_err(
                "callback with the return type 'void' must return None",
            )),
            RetConv::Int { size, signed } => {
                call.set_result(&self.plan.result, v)?;
                if size < 8 {
                    call.widen_result(size, signed);
                }
                Ok(())
            }
            RetConv::Struct { .. } => call.set_result(&self.plan.result, v),
            _ => {
                if self.plan.result.size().is_some_and(|s| s < 8) {
                    call.set_result_bytes(&[0; 8]);
                }
                call.set_result(&self.plan.result, v)
            }
        }
    }

    fn describe(&self, py: Python<'_>, converting: bool) -> String {
        let target = self
            .callable
            .bind(py)
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| "<callable>".to_owned());
        let extra = if converting {
            ", trying to convert the result back to C"
        } else {
            ""
        };
        format!("from cffi callback {target}{extra}")
    }

    fn failed(&self, py: Python<'_>, call: &Incoming<'_>, err: PyErr, converting: bool) {
        let Some(onerror) = &self.onerror else {
            write_unraisable(py, err, &self.describe(py, converting));
            return;
        };
        let tb = err
            .traceback(py)
            .map(Bound::into_any)
            .unwrap_or_else(|| py.None().into_bound(py));
        let handled = onerror
            .bind(py)
            .call1((err.get_type(py), err.value(py), tb))
            .and_then(|r| {
                if r.is_none() {
                    Ok(())
                } else {
                    self.store_result(call, &r)
                }
            });
        if let Err(second) = handled {
            call.set_result_bytes(&self.error);
            write_unraisable(py, err, &self.describe(py, converting));
            write_unraisable(
                py,
                second,
                "during handling of the above exception by 'onerror'",
            );
        }
    }
}

/// The type of `sys.unraisablehook`'s argument (not exposed by Python).
static HOOK_ARGS: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn hook_args_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    HOOK_ARGS
        .get_or_try_init(py, || -> PyResult<Py<PyType>> {
            let sys = py.import("sys")?;
            let old = sys.getattr("unraisablehook")?;
            let seen = PyList::empty(py);
            sys.setattr("unraisablehook", seen.getattr("append")?)?;
            PyRuntimeError::new_err("probe").write_unraisable(py, None);
            sys.setattr("unraisablehook", old)?;
            Ok(seen.get_item(0)?.get_type().unbind())
        })
        .map(|t| t.bind(py))
}

/// Reports `err` to `sys.unraisablehook` with the message
/// `Exception ignored <what>`, as cffi does.  An exception without a
/// traceback gets one pointing at the running Python frame (what CPython
/// does for its own unraisable errors).
pub fn write_unraisable(py: Python<'_>, err: PyErr, what: &str) {
    let report = || -> PyResult<()> {
        let sys = py.import("sys")?;
        let hook = sys.getattr("unraisablehook")?;
        let value = err.value(py);
        let tb = match err.traceback(py) {
            Some(tb) => tb.into_any(),
            None => traceback_here(py, value)?,
        };
        let args = (
            err.get_type(py),
            value,
            tb,
            format!("Exception ignored {what}"),
            py.None(),
        );
        let hook_args = hook_args_type(py)?.call1((args,))?;
        hook.call1((hook_args,))?;
        Ok(())
    };
    if report().is_err() {
        err.write_unraisable(py, None);
    }
}

fn traceback_here<'py>(
    py: Python<'py>,
    value: &Bound<'py, pyo3::exceptions::PyBaseException>,
) -> PyResult<Bound<'py, PyAny>> {
    let Ok(frame) = py.import("sys")?.call_method1("_getframe", (0,)) else {
        return Ok(py.None().into_bound(py));
    };
    let tb_type = py.import("types")?.getattr("TracebackType")?;
    let tb = tb_type.call1((
        py.None(),
        &frame,
        frame.getattr("f_lasti")?,
        frame.getattr("f_lineno")?,
    ))?;
    value.setattr("__traceback__", &tb)?;
    Ok(tb)
}
