//! `load_library` and the `CLibrary` objects it returns.

use crate::python::errors::CoreResult;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use pyo3::exceptions::{PyAttributeError, PyKeyError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use super::ctype::PyCType;
use crate::call::raw;
use crate::library::Library;
use crate::memory::cdata::CData;
use crate::memory::convert;
use crate::types::{Kind, TypeRef, intern};

/// `_cffi_backend.CLibrary`: a library opened by `load_library`.
#[pyclass(name = "CLibrary", module = "_cffi_backend", frozen)]
pub struct CLibrary {
    lib: RwLock<Library>,
    name: String,
    /// Set by `close_lib`: the functions of the library check it before
    /// each call (one atomic load) instead of jumping into unmapped code.
    closed: Arc<AtomicBool>,
}

impl CLibrary {
    /// The library's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address of `name`, with the error cffi raises when it is
    /// missing (`missing` builds it from the dlerror text).
    pub fn lookup(&self, name: &str, missing: impl FnOnce(String) -> PyErr) -> PyResult<*mut u8> {
        let lib = self
            .lib
            .read()
            .map_err(|_| PyRuntimeError::new_err("library lock poisoned"))?;
        match lib.symbol(name) {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(PyValueError::new_err(format!(
                "library '{}' has already been closed",
                self.name
            ))),
            Err(e) => Err(missing(e.0)),
        }
    }
}

#[pymethods]
impl CLibrary {
    fn __repr__(&self) -> String {
        format!("<clibrary '{}'>", self.name)
    }

    /// A cdata of type `ctype` (a function, pointer or array type) for the
    /// symbol `name`.
    fn load_function<'py>(
        &self,
        py: Python<'py>,
        ctype: &Bound<'py, PyCType>,
        name: &str,
    ) -> PyResult<Bound<'py, CData>> {
        let mut t = ctype.get().t.clone();
        let closed = self.lib.read().map(|l| l.is_closed()).unwrap_or(true);
        if closed {
            return Err(PyValueError::new_err(format!(
                "library '{}' has already been closed",
                self.name
            )));
        }
        if !matches!(
            t.kind,
            Kind::Function(_) | Kind::Pointer(_) | Kind::Array { .. }
        ) {
            return Err(PyTypeError::new_err(format!(
                "function or pointer or array cdata expected, got '{}'",
                t.cname()
            )));
        }
        let addr = self.lookup(name, |e| {
            PyAttributeError::new_err(format!(
                "function/symbol '{name}' not found in library '{}': {e}",
                self.name
            ))
        })?;
        if let Kind::Array { item, len: None } = &t.kind {
            t = intern::pointer(item);
        }
        CData::borrowed(t, addr, 0, None).into_base_object(py)
    }

    /// The value of the global variable `name`, of type `ctype` (arrays
    /// and structs give cdata viewing the variable).
    fn read_variable<'py>(
        &self,
        py: Python<'py>,
        ctype: &Bound<'py, PyCType>,
        name: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = ctype.get().t.clone();
        let addr = self.variable(name)?;
        match &t.kind {
            Kind::Array { item, len: None } => {
                let p = intern::pointer(item);
                Ok(CData::borrowed(p, addr, 0, None)
                    .into_base_object(py)?
                    .into_any())
            }
            Kind::Void | Kind::Struct(_) if t.size().is_none() => Err(PyTypeError::new_err(
                format!("cdata '{}' is opaque", t.cname()),
            )),
            _ => raw::read_symbol(py, &t, addr),
        }
    }

    /// Stores `value` into the global variable `name` of type `ctype`.
    fn write_variable(
        &self,
        ctype: &Bound<'_, PyCType>,
        name: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let mut t = ctype.get().t.clone();
        let addr = self.variable(name)?;
        if let Kind::Array { item, len: None } = &t.kind {
            // `extern int a[];`: as many items as the value gives.
            let n = open_array_items(item, value)?;
            t = intern::array(item, Some(n));
        }
        if t.is_void() || (t.size().is_none() && !matches!(t.kind, Kind::Function(_))) {
            return Err(PyTypeError::new_err(format!(
                "cannot write a variable of ctype '{}' (unknown size)",
                t.cname()
            )));
        }
        raw::write_symbol(&t, addr, value)
    }

    /// Closes the library (`dlclose`); later uses raise ValueError.
    pub fn close_lib(&self) -> PyResult<()> {
        let mut lib = self
            .lib
            .write()
            .map_err(|_| PyRuntimeError::new_err("library lock poisoned"))?;
        lib.close();
        self.closed.store(true, Ordering::Release);
        Ok(())
    }
}

impl CLibrary {
    /// The flag `close_lib` sets, and the library's name.
    pub fn closed_flag(&self) -> (Arc<AtomicBool>, &str) {
        (self.closed.clone(), &self.name)
    }

    fn variable(&self, name: &str) -> PyResult<*mut u8> {
        let addr = self.lookup(name, |e| {
            PyKeyError::new_err(format!(
                "variable '{name}' not found in library '{}': {e}",
                self.name
            ))
        })?;
        if addr.is_null() {
            return Err(PyKeyError::new_err(format!(
                "variable '{name}' in library '{}' is at address NULL",
                self.name
            )));
        }
        Ok(addr)
    }
}

/// How many items of `item` the value `v` fills in an array of unknown
/// length: the items of a list or tuple, or a NUL-terminated string.
fn open_array_items(item: &TypeRef, v: &Bound<'_, PyAny>) -> PyResult<usize> {
    if let Ok(l) = v.cast::<pyo3::types::PyList>() {
        return Ok(l.len());
    }
    if let Ok(t) = v.cast::<pyo3::types::PyTuple>() {
        return Ok(t.len());
    }
    let prim = item.primitive();
    if let Ok(b) = v.cast::<PyBytes>()
        && prim.is_some_and(|p| p.size == 1)
    {
        return Ok(b.as_bytes().len() + 1);
    }
    if let Ok(s) = v.cast::<PyString>()
        && let Some(p) = prim.filter(|p| p.is_char_like() && p.size > 1)
    {
        return Ok(convert::encode_wide(s, p)?.len() + 1);
    }
    Err(PyTypeError::new_err(format!(
        "cannot write {} into a variable of ctype '{}[]'",
        convert::describe(v),
        item.cname()
    )))
}

/// `load_library(filename_or_None, flags=0)`; also accepts a `void *`
/// cdata holding a handle returned by `dlopen`.
#[pyfunction]
#[pyo3(signature = (filename=None, flags=0))]
pub fn load_library(filename: Option<&Bound<'_, PyAny>>, flags: i32) -> PyResult<CLibrary> {
    let lib = match filename {
        None => Library::open(None, flags).py()?,
        Some(f) if f.is_none() => Library::open(None, flags).py()?,
        Some(f) => {
            if let Ok(cd) = f.cast::<CData>() {
                let me = cd.get();
                if !(me.ty.item().is_some_and(|i| i.is_void()) && me.ty.is_pointer()) {
                    return Err(PyTypeError::new_err(format!(
                        "dlopen() takes a file name or 'void *' handle, not '{}'",
                        me.ty.cname()
                    )));
                }
                let h = me.ptr().py()?;
                if h.is_null() {
                    return Err(PyRuntimeError::new_err("cannot call dlopen(NULL)"));
                }
                // SAFETY: the user passes a handle returned by dlopen(),
                // as cffi's dlopen(handle) requires; it is never closed.
                unsafe { Library::from_handle(h as *mut std::ffi::c_void) }
            } else {
                let path = filename_of(f)?;
                Library::open(Some(&path), flags).py()?
            }
        }
    };
    let name = lib.name().to_owned();
    Ok(CLibrary {
        lib: RwLock::new(lib),
        name,
        closed: Arc::new(AtomicBool::new(false)),
    })
}

fn filename_of(f: &Bound<'_, PyAny>) -> PyResult<std::ffi::OsString> {
    use std::os::unix::ffi::OsStringExt;
    if let Ok(s) = f.cast::<PyString>() {
        return Ok(std::ffi::OsString::from(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = f.cast::<PyBytes>() {
        return Ok(std::ffi::OsString::from_vec(b.as_bytes().to_vec()));
    }
    if let Ok(b) = f.cast::<PyByteArray>() {
        return Ok(std::ffi::OsString::from_vec(b.to_vec()));
    }
    Err(PyTypeError::new_err(format!(
        "load_library() argument 1 must be str, bytes or bytearray, not {}",
        f.get_type().name()?
    )))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CLibrary>()?;
    m.add_function(wrap_pyfunction!(load_library, m)?)?;
    Ok(())
}
