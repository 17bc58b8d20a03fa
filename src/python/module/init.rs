//! `_cffi_backend._init_cffi_1_0_external_module(raw)`: what the
//! `PyInit_NAME` of a compiled module calls, for modules compiled by the
//! real cffi (versions 0x2601..=0x28FF) and by rcffi (0x5201).
//!
//! `raw` is the address of the module's block `{name, version, exports,
//! context}`.  The exports table is filled (25 entries, 26 with `extern
//! "Python"`, 28 from 0x2801; rcffi's modules get all 28), the tables are
//! checked, and a new module object gets `ffi` (an instance of
//! `_cffi_backend.FFI` reading the tables) and `lib` (a native `Lib`,
//! also `sys.modules["NAME.lib"]`); the included modules are imported.

use std::ffi::CStr;
use std::sync::Arc;

use pyo3::exceptions::{PyImportError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::lib_obj::{self, LibState};
use super::state::{Included, ModuleState, Origin};
use crate::module::format::{CTX_USES_EXTERN_PYTHON, InitBlock, NUM_EXPORTS, version};
use crate::python::ffi::FfiCore;

/// The cffi version rcffi implements (for messages).
const CFFI_VERSION: &str = "2.1.1";

/// Which modules a version tag is, and how many exports they read.
fn check_version(name: &str, v: isize, ctx_flags: i32) -> PyResult<(Origin, usize)> {
    if (version::CFFI_BASE..=version::CFFI_MAX).contains(&v) {
        let mut n = 25;
        if ctx_flags & CTX_USES_EXTERN_PYTHON != 0 {
            n = 26;
        }
        if v >= version::CFFI_CHAR16CHAR32 {
            n = 28;
        }
        return Ok((Origin::Cffi, n));
    }
    if v == version::RCFFI_FORMAT {
        return Ok((Origin::Rcffi, NUM_EXPORTS));
    }
    if (version::RCFFI_FIRST..=version::RCFFI_LAST).contains(&v) {
        return Err(PyImportError::new_err(format!(
            "module '{name}' was built by another version of rcffi (module format {v:#x}; this \
             rcffi reads {:#x}): build it again with this rcffi (ffi.compile(), or reinstall \
             the package)",
            version::RCFFI_FORMAT
        )));
    }
    Err(PyImportError::new_err(format!(
        "cffi extension module '{name}' uses an unknown version tag {v:#x}. This module might \
         need a more recent version of cffi than the one rcffi implements, which is \
         {CFFI_VERSION}"
    )))
}

/// A new module object named `name`, made from a module definition that
/// lives for the process (CPython requires one for an extension module).
fn new_module<'py>(py: Python<'py>, name: &CStr) -> PyResult<Bound<'py, PyModule>> {
    let def: &'static mut ffi::PyModuleDef = Box::leak(Box::new(ffi::PyModuleDef {
        m_base: ffi::PyModuleDef_HEAD_INIT,
        m_name: Box::leak(name.to_owned().into_boxed_c_str()).as_ptr(),
        m_doc: std::ptr::null(),
        m_size: -1,
        m_methods: std::ptr::null_mut(),
        m_slots: std::ptr::null_mut(),
        m_traverse: None,
        m_clear: None,
        m_free: None,
    }));
    // SAFETY: the definition is 'static; the result is a new reference or
    // NULL with an exception set.
    unsafe {
        let m = ffi::PyModule_Create2(def, ffi::PYTHON_ABI_VERSION);
        Ok(Bound::from_owned_ptr_or_err(py, m)?.cast_into::<PyModule>()?)
    }
}

/// `_cffi_backend.FFI()` reading the tables of `state`.
pub fn new_ffi<'py>(
    backend: &Bound<'py, PyModule>,
    state: Arc<ModuleState>,
) -> PyResult<Bound<'py, PyAny>> {
    let ffi = backend.getattr("FFI")?.call0()?;
    ffi.cast::<FfiCore>()?
        .get()
        .attach_tables(backend.py(), state)?;
    Ok(ffi)
}

#[pyfunction(pass_module)]
pub fn _init_cffi_1_0_external_module<'py>(
    backend: &Bound<'py, PyModule>,
    raw: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyModule>> {
    let py = backend.py();
    let addr: usize = raw.extract()?;
    if addr == 0 {
        return Err(PyValueError::new_err(
            "_init_cffi_1_0_external_module(NULL)",
        ));
    }
    // SAFETY: the caller is a module's init code passing the address of
    // its block of four pointers (cffi's protocol, as in cffi: nothing can
    // check an address given by C).
    let block = unsafe { &*(addr as *const InitBlock) };
    if block.module_name.is_null() || block.ctx.is_null() || block.exports.is_null() {
        return Err(PyImportError::new_err(
            "cffi extension module with a NULL name, context or exports table",
        ));
    }
    // SAFETY: the module's name is a static C string.
    let cname = unsafe { CStr::from_ptr(block.module_name) };
    let name = cname
        .to_str()
        .map_err(|_| PyImportError::new_err("cffi extension module whose name is not UTF-8"))?;
    // SAFETY: the context is the module's static `_cffi_type_context`.
    let ctx_flags = unsafe { (*block.ctx).flags };
    let (origin, n_exports) = check_version(name, block.version, ctx_flags)?;
    // SAFETY: the module's tables are static (cffi's protocol; see
    // `Tables::from_static`).
    let types = unsafe { crate::module::load_static(name, block.ctx) }
        .map_err(|e| PyImportError::new_err(e.message))?;
    let table = super::exports::table();
    // SAFETY: the module's exports array has room for the entries its
    // version reads (cffi's protocol; rcffi's modules have all 28).
    unsafe { std::ptr::copy_nonoverlapping(table.as_ptr(), block.exports, n_exports) };
    let state = ModuleState::new(types.clone(), origin);
    let m = new_module(py, cname)?;
    let ffi = new_ffi(backend, state.clone())?;
    let libname = PyString::new(py, name);
    let lib = lib_obj::new_lib(
        py,
        LibState {
            module: state.clone(),
            ffi: ffi.clone().unbind(),
            libname: libname.clone().unbind(),
            library: None,
        },
    )?;
    // setattr, not PyModule::add (which would also make an `__all__`).
    m.setattr("ffi", &ffi)?;
    m.setattr("lib", &lib)?;
    include_modules(py, name, &state)?;
    // SAFETY: a borrowed reference to `sys.modules` (the GIL is held).
    let modules = unsafe { Bound::from_borrowed_ptr(py, ffi::PyImport_GetModuleDict()) };
    modules.set_item(format!("{name}.lib"), &lib)?;
    modules.set_item(name, &m)?;
    Ok(m)
}

/// Imports the modules the tables include (their `ffi` and `lib`), as
/// cffi: a module that is not a compiled module is an ImportError.
fn include_modules(py: Python<'_>, name: &str, state: &Arc<ModuleState>) -> PyResult<()> {
    let names = state
        .types
        .tables()
        .includes()
        .map_err(|e| PyImportError::new_err(e.message))?;
    let mut ffis = Vec::new();
    let mut libs = Vec::new();
    let mut types = Vec::new();
    for inc in &names {
        let failed = || {
            PyImportError::new_err(format!(
                "while loading {name}: failed to import ffi, lib from {inc}"
            ))
        };
        let m = py.import(inc.as_str()).map_err(|_| failed())?;
        let ffi = m.getattr("ffi").map_err(|_| failed())?;
        let lib = m.getattr("lib").map_err(|_| failed())?;
        let core = ffi.cast::<FfiCore>().map_err(|_| failed())?;
        let Some(st) = core.get().module_state() else {
            return Err(failed());
        };
        if !lib_obj::is_lib(&lib) {
            return Err(failed());
        }
        types.push(st.types.clone());
        ffis.push(ffi.unbind());
        libs.push(Some(lib.unbind()));
    }
    state.types.set_includes(types);
    let _ = state.included.set(Included { ffis, libs });
    Ok(())
}
