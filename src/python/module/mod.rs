//! Modules made of cffi's tables (see `crates/rcffi-core/src/module/`):
//! compiled modules built by the real cffi or by rcffi, and out-of-line
//! ABI modules.  One loader and one native `lib` serve them all.
//!
//! * [`init`] — `_init_cffi_1_0_external_module`, what a compiled
//!   module's `PyInit_NAME` calls;
//! * [`exports`] — the functions the C code of cffi-built modules calls
//!   through `_cffi_exports` (and `exports.c`, the `long double` one);
//! * [`state`] — what a table-backed `FFI` keeps;
//! * [`lib_obj`] — `_cffi_backend.Lib`; [`attrs`] builds its attributes,
//!   [`globals`] is its global variables;
//! * [`extern_py`] — `extern "Python"`: `@ffi.def_extern()` and export 25;
//! * [`outofline`] — `FFI(name, _version=..., _types=...)` and its
//!   `dlopen`, `dlclose`, `addressof`.

pub mod attrs;
pub mod exports;
pub mod extern_py;
pub mod globals;
pub mod init;
pub mod lib_obj;
pub mod outofline;
pub mod state;

use pyo3::prelude::*;

/// Adds the module loader, `Lib` and their helpers to `_cffi_backend`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    lib_obj::register(m)?;
    m.add_function(wrap_pyfunction!(init::_init_cffi_1_0_external_module, m)?)?;
    m.add_function(wrap_pyfunction!(extern_py::_rcffi_def_extern, m)?)?;
    m.add_function(wrap_pyfunction!(attrs::_rcffi_use_cffi_wrappers, m)?)?;
    m.add_function(wrap_pyfunction!(outofline::_rcffi_init_tables, m)?)?;
    m.add_function(wrap_pyfunction!(outofline::_rcffi_dlopen_lib, m)?)?;
    m.add_function(wrap_pyfunction!(outofline::_rcffi_dlclose_lib, m)?)?;
    m.add_function(wrap_pyfunction!(outofline::_rcffi_lib_addressof, m)?)?;
    Ok(())
}
