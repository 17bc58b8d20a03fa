//! The exception classes of rcffi and the one conversion from the core's
//! [`Error`] to a Python exception.

use pyo3::exceptions::{
    PyAttributeError, PyException, PyIndexError, PyKeyError, PyMemoryError, PyNotImplementedError,
    PyOSError, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError, PyZeroDivisionError,
};
use pyo3::prelude::*;

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

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
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
        }
    }
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
