//! The one error type of the core.  Errors stay this Rust enum until the
//! Python boundary converts them, in one place (`python::errors`).

use std::fmt;

/// Which Python exception an error becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// `CDefError`: a malformed or contradictory declaration.
    CDef,
    /// `FFIError`: a conflict between declarations, or a misuse of `ffi`.
    Ffi,
    /// `TypeError`.
    Type,
    /// `ValueError`.
    Value,
    /// `OverflowError`.
    Overflow,
    /// `IndexError`.
    Index,
    /// `KeyError`.
    Key,
    /// `AttributeError`.
    Attribute,
    /// `NotImplementedError`.
    NotImplemented,
    /// `RuntimeError`.
    Runtime,
    /// `MemoryError`.
    Memory,
    /// `OSError`.
    Os,
    /// `ZeroDivisionError`.
    ZeroDivision,
    /// `VerificationError`.
    Verification,
    /// `VerificationMissing`: what only API mode (the compiler) knows.
    VerificationMissing,
}

/// An error with a message; cdef errors also carry where in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
}

macro_rules! ctor {
    ($($name:ident => $kind:ident),* $(,)?) => {
        impl Error {
            $(pub fn $name(message: impl Into<String>) -> Self {
                Error::new(ErrorKind::$kind, message)
            })*
        }
    };
}

ctor! {
    cdef => CDef,
    ffi => Ffi,
    type_error => Type,
    value => Value,
    overflow => Overflow,
    index => Index,
    key => Key,
    attribute => Attribute,
    not_implemented => NotImplemented,
    runtime => Runtime,
    memory => Memory,
    os => Os,
    zero_division => ZeroDivision,
    verification => Verification,
    verification_missing => VerificationMissing,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<crate::types::LayoutError> for Error {
    fn from(e: crate::types::LayoutError) -> Self {
        use crate::types::layout::LayoutErrorKind;
        let kind = match e.kind {
            LayoutErrorKind::Invalid => ErrorKind::Type,
            LayoutErrorKind::NotImplemented => ErrorKind::NotImplemented,
            LayoutErrorKind::Duplicate => ErrorKind::Key,
        };
        Error::new(kind, e.message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
