//! Global variables of a `lib`: `_cffi_backend.__FFIGlobSupport` objects
//! kept in the lib's namespace, read and written through their address
//! at each access (constant time: no lookup but the namespace's dict).

use std::ffi::c_void;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::memory::cdata::CData;
use crate::memory::convert;
use crate::python::errors::FFIError;
use crate::types::{Kind, TypeRef, intern};

/// Where a global variable is.
#[derive(Clone, Copy)]
pub enum Place {
    /// At this address (compiled modules' `GLOBAL_VAR`, or `dlsym`).
    Address(usize),
    /// At the address this function returns at each access (API mode's
    /// `GLOBAL_VAR_F`: the name may be a macro or a thread-local).
    Getter(unsafe extern "C" fn() -> *mut c_void),
}

/// `_cffi_backend.__FFIGlobSupport`.
#[pyclass(name = "__FFIGlobSupport", module = "_cffi_backend", frozen)]
pub struct GlobalVar {
    name: String,
    ty: TypeRef,
    place: Place,
}

impl GlobalVar {
    pub fn new(name: &str, ty: TypeRef, place: Place) -> Self {
        GlobalVar {
            name: name.to_owned(),
            ty,
            place,
        }
    }

    /// The variable's address now.
    pub fn address(&self) -> PyResult<*mut u8> {
        let p = match self.place {
            Place::Address(a) => a as *mut u8,
            // SAFETY: the module's tables give this function as the
            // getter of this variable (`void *f(void)`), which only
            // computes an address.
            Place::Getter(f) => unsafe { f() }.cast(),
        };
        if p.is_null() {
            return Err(FFIError::new_err(format!(
                "global variable '{}' is at address NULL",
                self.name
            )));
        }
        Ok(p)
    }

    /// `lib.NAME`.  As cffi reads a global: an array of unknown length is a
    /// pointer to its first item (its length is not known), and a struct
    /// the cdef leaves opaque cannot be read.
    pub fn read<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let info = self.ty.struct_info();
        if self.ty.is_opaque() && info.is_some_and(|s| s.problem().is_none()) {
            return Err(PyTypeError::new_err(format!(
                "cdata '{}' is opaque",
                self.ty.cname()
            )));
        }
        let addr = self.address()?;
        if let Kind::Array { item, len: None } = &self.ty.kind {
            let p = CData::borrowed(intern::pointer(item), addr, 0, None);
            return Ok(p.into_base_object(py)?.into_any());
        }
        // SAFETY: the address of a variable of this type, as the tables
        // (or dlsym of a declared variable) say.
        unsafe { convert::read(py, &self.ty, addr, None) }
    }

    /// `lib.NAME = value`.
    pub fn write(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let addr = self.address()?;
        // SAFETY: as in `read`.
        unsafe { convert::write(&self.ty, addr, value, None) }
    }

    /// `ffi.addressof(lib, "NAME")`: a `T *` to the variable.
    pub fn pointer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, CData>> {
        let addr = self.address()?;
        CData::borrowed(intern::pointer(&self.ty), addr, 0, None).into_base_object(py)
    }
}

#[pymethods]
impl GlobalVar {
    fn __repr__(&self) -> String {
        format!(
            "<_cffi_backend.__FFIGlobSupport '{}' of type '{}'>",
            self.name,
            self.ty.cname()
        )
    }
}
