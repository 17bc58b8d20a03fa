//! Out-of-line ABI modules made by cffi's `emit_python_code()`:
//! `_cffi_backend.FFI(name, _version=, _types=b'...', _globals=(...),
//! ...)` reads its tables with the same reader as compiled modules (the
//! bytes decoded by `module::outofline`), and `ffi.dlopen()` gives the
//! native `Lib` over them (functions and constants looked up in the
//! library by name).

use std::sync::Arc;

use pyo3::exceptions::{PyAttributeError, PyImportError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use super::globals::GlobalVar;
use super::lib_obj::{self, LibState};
use super::state::{Included, ModuleState, Origin};
use crate::memory::cdata::CData;
use crate::module::format::version;
use crate::module::outofline::{StructDesc, decode};
use crate::python::ffi::FfiCore;
use crate::python::library_py::CLibrary;

fn bytes_of<'a>(o: &'a Bound<'_, PyAny>, what: &str) -> PyResult<&'a [u8]> {
    o.cast::<PyBytes>()
        .map(|b| b.as_bytes())
        .map_err(|_| PyTypeError::new_err(format!("{what} must be bytes")))
}

fn tuple<'py>(o: Option<&Bound<'py, PyAny>>, what: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    match o {
        None => Ok(Vec::new()),
        Some(o) if o.is_none() => Ok(Vec::new()),
        Some(o) => Ok(o
            .cast::<PyTuple>()
            .map_err(|_| PyTypeError::new_err(format!("FFI() argument {what} must be a tuple")))?
            .iter()
            .collect()),
    }
}

/// `FFI(module_name, _version, _types, _globals, ...)` of an
/// out-of-line module: reads the tables into `ffi` (the caller checked
/// that some were given).
#[pyfunction]
#[pyo3(signature = (ffi, module_name, version, types, globals=None, struct_unions=None, enums=None, typenames=None, includes=None))]
#[allow(clippy::too_many_arguments)]
pub fn _rcffi_init_tables(
    ffi: &Bound<'_, FfiCore>,
    module_name: &str,
    version: isize,
    types: &[u8],
    globals: Option<&Bound<'_, PyAny>>,
    struct_unions: Option<&Bound<'_, PyAny>>,
    enums: Option<&Bound<'_, PyAny>>,
    typenames: Option<&Bound<'_, PyAny>>,
    includes: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let py = ffi.py();
    if !(version::CFFI_BASE..=version::CFFI_MAX).contains(&version) {
        return Err(PyImportError::new_err(format!(
            "cffi out-of-line Python module '{module_name}' has unknown version {version:#x}"
        )));
    }
    let gl = tuple(globals, "_globals")?;
    if gl.len() % 2 != 0 {
        return Err(PyTypeError::new_err(
            "FFI() argument _globals must alternate names and values",
        ));
    }
    let mut g = Vec::with_capacity(gl.len() / 2);
    for pair in gl.chunks(2) {
        let value: i128 = match pair[1].extract::<i128>() {
            Ok(v) => v,
            Err(_) if pair[1].is_instance_of::<pyo3::types::PyInt>() => {
                // Beyond 128 bits: only the low 64 bits matter (cffi masks).
                let mask = pair[1].call_method1("__and__", (u64::MAX,))?;
                mask.extract::<u64>()? as i128
            }
            Err(e) => return Err(e),
        };
        g.push((bytes_of(&pair[0], "a global")?, value));
    }
    let su = tuple(struct_unions, "_struct_unions")?;
    let mut structs = Vec::with_capacity(su.len());
    let su_tuples: Vec<Vec<Bound<'_, PyAny>>> = su
        .iter()
        .map(|s| tuple(Some(s), "_struct_unions item"))
        .collect::<PyResult<_>>()?;
    for items in &su_tuples {
        let (head, fields) = items
            .split_first()
            .ok_or_else(|| PyTypeError::new_err("an empty struct descriptor"))?;
        structs.push(StructDesc {
            head: bytes_of(head, "a struct")?,
            fields: fields
                .iter()
                .map(|f| bytes_of(f, "a field"))
                .collect::<PyResult<_>>()?,
        });
    }
    let en = tuple(enums, "_enums")?;
    let en: Vec<&[u8]> = en
        .iter()
        .map(|e| bytes_of(e, "an enum"))
        .collect::<PyResult<_>>()?;
    let tn = tuple(typenames, "_typenames")?;
    let tn: Vec<&[u8]> = tn
        .iter()
        .map(|t| bytes_of(t, "a typename"))
        .collect::<PyResult<_>>()?;
    let owned = decode(module_name, types, &g, &structs, &en, &tn)
        .map_err(|e| PyImportError::new_err(e.message))?;
    let types = crate::module::load_owned(module_name, owned)
        .map_err(|e| PyImportError::new_err(e.message))?;
    let mut inc_types = Vec::new();
    let mut ffis = Vec::new();
    for inc in tuple(includes, "_includes")? {
        let core = inc
            .cast::<FfiCore>()
            .map_err(|_| PyTypeError::new_err("FFI() argument _includes must hold FFI objects"))?;
        let Some(st) = core.get().module_state() else {
            return Err(PyTypeError::new_err(
                "FFI(): an included FFI has no module tables",
            ));
        };
        inc_types.push(st.types.clone());
        ffis.push(inc.clone().unbind());
    }
    types.set_includes(inc_types);
    let state = ModuleState::new(types, Origin::OutOfLine);
    let libs = ffis.iter().map(|_| None).collect();
    let _ = state.included.set(Included { ffis, libs });
    ffi.get().attach_tables(py, state)
}

/// `ffi.dlopen()` of an FFI with module tables: the native `Lib` over
/// the library `library`.
#[pyfunction]
pub fn _rcffi_dlopen_lib<'py>(
    ffi: &Bound<'py, FfiCore>,
    library: &Bound<'py, CLibrary>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = ffi.py();
    let Some(state) = ffi.get().module_state() else {
        return Err(PyTypeError::new_err("this FFI has no module tables"));
    };
    let libname = PyString::new(py, library.get().name());
    lib_obj::new_lib(
        py,
        LibState {
            module: Arc::clone(state),
            ffi: ffi.clone().into_any().unbind(),
            libname: libname.unbind(),
            library: Some(library.clone().unbind()),
        },
    )
}

/// `ffi.dlclose(lib)`: closes the library of a `dlopen()`ed lib; its
/// functions and variables are looked up again (and fail) afterwards.
#[pyfunction]
pub fn _rcffi_dlclose_lib(lib: &Bound<'_, PyAny>) -> PyResult<()> {
    let (state, dict) = lib_obj::parts(lib)?;
    if let Some(l) = &state.library {
        dict.clear();
        l.bind(lib.py()).get().close_lib()?;
    }
    Ok(())
}

/// `ffi.addressof(lib, name)`: a pointer to a global variable, the
/// function-pointer cdata of a function, or a constant function pointer
/// itself.
#[pyfunction]
pub fn _rcffi_lib_addressof<'py>(
    lib: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = lib.py();
    let x = lib_obj::cached(lib, name)?;
    if let Ok(g) = x.cast::<GlobalVar>() {
        return Ok(g.get().pointer(py)?.into_any());
    }
    if let Some(c) = crate::python::function::cdata_of(&x) {
        return Ok(c.into_any());
    }
    if let Ok(c) = x.cast::<CData>()
        && c.get().ty.func_info().is_some()
    {
        return Ok(x);
    }
    Err(PyAttributeError::new_err(format!(
        "cannot take the address of the constant '{}'",
        name.to_str()?
    )))
}
