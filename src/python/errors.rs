//! The exception classes of rcffi and the one conversion from the core's
//! [`Error`] to a Python exception.

use pyo3::exceptions::{
    PyAttributeError, PyException, PyIndexError, PyKeyError, PyMemoryError, PyNotImplementedError,
    PyOSError, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError, PyZeroDivisionError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::errors::{Error, ErrorKind};

pyo3::create_exception!(
    rcffi,
    FFIError,
    PyException,
    "Misuse of the FFI or conflicting declarations."
);
pyo3::create_exception!(
    rcffi,
    CDefError,
    FFIError,
    "A malformed or unsupported C declaration (or type string): an `ffi.error`."
);
pyo3::create_exception!(
    rcffi,
    VerificationError,
    PyException,
    "An error raised when verification (compilation) fails."
);
pyo3::create_exception!(
    rcffi,
    VerificationMissing,
    PyException,
    "An incomplete structure definition is used where the real layout is needed."
);
pyo3::create_exception!(
    rcffi,
    PkgConfigError,
    PyException,
    "An error raised for a missing or failing pkg-config."
);

/// The one conversion of a core [`Error`] into a Python exception (the
/// core crate knows no Python, and the orphan rule keeps `From` out).
pub fn to_py(e: Error) -> PyErr {
    {
        let m = e.message;
        match e.kind {
            ErrorKind::CDef => CDefError::new_err(m),
            ErrorKind::Ffi => FFIError::new_err(m),
            ErrorKind::Type => PyTypeError::new_err(m),
            ErrorKind::Value => PyValueError::new_err(m),
            ErrorKind::Overflow => PyOverflowError::new_err(m),
            ErrorKind::Index => PyIndexError::new_err(m),
            ErrorKind::Key => PyKeyError::new_err(m),
            ErrorKind::Attribute => PyAttributeError::new_err(m),
            ErrorKind::NotImplemented => PyNotImplementedError::new_err(m),
            ErrorKind::Runtime => PyRuntimeError::new_err(m),
            ErrorKind::Memory => PyMemoryError::new_err(m),
            ErrorKind::Os => PyOSError::new_err(m),
            ErrorKind::ZeroDivision => PyZeroDivisionError::new_err(m),
            ErrorKind::Verification => VerificationError::new_err(m),
            ErrorKind::VerificationMissing => VerificationMissing::new_err(m),
        }
    }
}

/// `result.py()?`: a core `Result` as a `PyResult`, through [`to_py`].
pub trait CoreResult<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> CoreResult<T> for Result<T, Error> {
    #[inline]
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

static FFI_TYPE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static FFI_VALUE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `class NAME(FFIError, base)`, made once.
fn dual_class<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
    base: Bound<'py, PyType>,
) -> PyResult<&'py Bound<'py, PyType>> {
    cell.get_or_try_init(py, || {
        let bases = PyTuple::new(py, [py.get_type::<FFIError>(), base])?;
        let ns = PyDict::new(py);
        ns.set_item("__module__", "rcffi")?;
        ns.set_item(
            "__doc__",
            "An ffi.error that is also the TypeError or ValueError cffi.FFI raises.",
        )?;
        let cls = py.get_type::<PyType>().call1((name, bases, ns))?;
        Ok(cls.cast_into::<PyType>()?.unbind())
    })
    .map(|c| c.bind(py))
}

/// A `TypeError` or `ValueError` about a type given to an `ffi` method
/// (a bad type string, a type of unknown size), made an `ffi.error` too:
/// cffi's API-mode `ffi` raises `ffi.error` where `cffi.FFI` raises these,
/// and rcffi has one `FFI` for both.  Other errors are returned unchanged.
pub fn as_ffi_error(py: Python<'_>, err: PyErr) -> PyErr {
    let (cell, name, base) = if err.get_type(py).is(py.get_type::<PyTypeError>()) {
        (
            &FFI_TYPE_ERROR,
            "FFITypeError",
            py.get_type::<PyTypeError>(),
        )
    } else if err.get_type(py).is(py.get_type::<PyValueError>()) {
        (
            &FFI_VALUE_ERROR,
            "FFIValueError",
            py.get_type::<PyValueError>(),
        )
    } else {
        return err;
    };
    let made = dual_class(py, cell, name, base).and_then(|cls| {
        let args = err.value(py).getattr("args")?;
        Ok(PyErr::from_value(cls.call1(args.cast::<PyTuple>()?)?))
    });
    made.unwrap_or(err)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("FFIError", py.get_type::<FFIError>())?;
    m.add("CDefError", py.get_type::<CDefError>())?;
    m.add("VerificationError", py.get_type::<VerificationError>())?;
    m.add("VerificationMissing", py.get_type::<VerificationMissing>())?;
    m.add("PkgConfigError", py.get_type::<PkgConfigError>())?;
    Ok(())
}
