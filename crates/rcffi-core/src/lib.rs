//! rcffi's core: everything that knows nothing of Python.
//!
//! * [`parse`] — the one C parser (cdef sources and type strings);
//! * [`types`] — the C type model, interning and struct layout;
//! * [`frontend`] — the declarations of one `FFI` and their resolution;
//! * [`library`] — dlopen/dlsym;
//! * [`module`] — the tables of compiled and out-of-line modules;
//! * [`errors`] — the core's error type, converted to Python exceptions
//!   in one place by the PyO3 crate.
//!
//! See ARCHITECTURE.md for the map of layers.

pub mod errors;
pub mod frontend;
pub mod library;
pub mod module;
pub mod parse;
pub mod types;
