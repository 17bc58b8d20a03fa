//! The destructors of `ffi.gc` and the `free` of custom allocators run
//! from a small Python object with `__del__`, not from a Rust `Drop`.
//!
//! A cdata that dies inside a garbage cycle is deallocated after the
//! collector has cleared the other objects of the cycle (functions,
//! closures...): calling the user's destructor from its `Drop` would run a
//! cleared function.  The collector finalizes objects with `__del__`
//! before it clears anything (PEP 442), so a `_Finalizer` held by the
//! cdata runs while everything it needs is intact, and exactly once.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

const SOURCE: &std::ffi::CStr = c"
class _Finalizer:
    '''Calls fn(arg) once: explicitly (run) or when collected (__del__).'''
    __slots__ = ('fn', 'arg')

    def __init__(self, fn, arg):
        self.fn = fn
        self.arg = arg

    def run(self):
        fn, arg = self.fn, self.arg
        self.fn = self.arg = None
        if fn is not None:
            fn(arg)

    def __del__(self):
        self.run()
";

static CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn class(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    CLASS
        .get_or_try_init(py, || {
            let ns = PyDict::new(py);
            py.run(SOURCE, Some(&ns), Some(&ns))?;
            let cls = ns
                .get_item("_Finalizer")?
                .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no _Finalizer"))?;
            cls.setattr("__module__", "_cffi_backend")?;
            Ok::<_, PyErr>(cls.unbind())
        })
        .map(|c| c.bind(py))
}

/// A finalizer that calls `func(arg)` once.
pub fn new(py: Python<'_>, func: &Bound<'_, PyAny>, arg: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    Ok(class(py)?.call1((func, arg))?.unbind())
}
