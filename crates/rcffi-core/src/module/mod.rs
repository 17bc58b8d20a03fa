//! Compiled and out-of-line modules: cffi's table format (see [`format`]),
//! read for modules built by cffi and by rcffi alike.

pub mod format;
