//! Layer 7 — python: the PyO3 glue.  `rcffi._rcffi` is the one native
//! module; its `_cffi_backend` submodule mirrors cffi's backend.

pub mod backend;
pub mod buffer;
pub mod call_py;
pub mod capi;
pub mod cdata_py;
pub mod ctype;
pub mod errors;
pub mod ffi;
pub mod finalizer;
pub mod function;
pub mod generate;
pub mod library_py;
pub mod module;
pub mod pyo3_internals;

use pyo3::prelude::*;

use crate::memory::cdata::CData;

/// The `_cffi_backend` module.
fn backend_module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "_cffi_backend")?;
    m.add("__version__", "2.1.1")?;
    m.add_class::<ctype::PyCType>()?;
    m.add_class::<ctype::PyCField>()?;
    // The pyclass itself stays out of the module: Python code sees its
    // subclasses with cffi's names (`_CDataBase`, `__CDataOwn`...).
    let _ = py.get_type::<CData>();
    capi::cdata_types::init(&m)?;
    m.add_class::<cdata_py::CDataIter>()?;
    m.add_class::<buffer::MiniBuffer>()?;
    buffer::install_buffer_slots(&m)?;
    m.add_class::<ffi::FfiCore>()?;
    capi::fastcall::install(&py.get_type::<ffi::FfiCore>())?;
    m.add("FFI_DEFAULT_ABI", crate::types::ABI_DEFAULT)?;
    m.add("FFI_CDECL", crate::types::ABI_DEFAULT)?;
    for (name, v) in rtld_constants() {
        m.add(name, v)?;
    }
    backend::register(&m)?;
    call_py::register(&m)?;
    function::register(&m)?;
    module::register(&m)?;
    Ok(m)
}

/// The `RTLD_*` flags of this platform's dlopen.
pub fn rtld_constants() -> [(&'static str, i32); 7] {
    [
        ("RTLD_LAZY", 0x0001),
        ("RTLD_NOW", 0x0002),
        ("RTLD_GLOBAL", 0x0100),
        ("RTLD_LOCAL", 0),
        ("RTLD_NODELETE", 0x1000),
        ("RTLD_NOLOAD", 0x0004),
        ("RTLD_DEEPBIND", 0x0008),
    ]
}

pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    generate::register(m)?;
    m.add_submodule(&backend_module(m.py())?)?;
    Ok(())
}
