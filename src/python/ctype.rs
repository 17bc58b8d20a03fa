//! `CType` and `CField`: the Python face of the type model.  One C type is
//! one `CType` object (kept in the type's `py_slot`).

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::types::{Field, Kind, TypeRef};

/// `_cffi_backend.CType`.
#[pyclass(name = "CType", module = "_cffi_backend", frozen, weakref)]
pub struct PyCType {
    pub t: TypeRef,
}

/// The unique `CType` object of `t`.
pub fn ctype_obj<'py>(py: Python<'py>, t: &TypeRef) -> PyResult<Bound<'py, PyCType>> {
    if let Some(slot) = t.py_slot.get()
        && let Some(obj) = slot.downcast_ref::<Py<PyCType>>()
    {
        return Ok(obj.bind(py).clone());
    }
    let obj = Py::new(py, PyCType { t: t.clone() })?;
    // Another thread may have won the race: use whatever is stored.
    let _ = t.py_slot.set(Box::new(obj.clone_ref(py)));
    match t
        .py_slot
        .get()
        .and_then(|s| s.downcast_ref::<Py<PyCType>>())
    {
        Some(o) => Ok(o.bind(py).clone()),
        None => Ok(obj.into_bound(py)),
    }
}

fn no_attr(t: &TypeRef, name: &str) -> PyErr {
    PyAttributeError::new_err(format!("ctype '{}' has no attribute '{name}'", t.cname()))
}

/// The attributes a `CType` of this kind has (what `dir()` lists).
fn attrs_of(t: &TypeRef) -> &'static [&'static str] {
    match &t.kind {
        Kind::Void | Kind::Primitive(_) => &["cname", "kind"],
        Kind::Pointer(_) => &["cname", "item", "kind"],
        Kind::Array { .. } => &["cname", "item", "kind", "length"],
        Kind::Struct(_) => &["cname", "fields", "kind"],
        Kind::Enum(_) => &["cname", "elements", "kind", "relements"],
        Kind::Function(_) => &["abi", "args", "cname", "ellipsis", "kind", "result"],
    }
}

#[pymethods]
impl PyCType {
    fn __repr__(&self) -> String {
        format!("<ctype '{}'>", self.t.cname())
    }

    fn __dir__(&self) -> Vec<&'static str> {
        attrs_of(&self.t).to_vec()
    }

    #[getter]
    fn kind(&self) -> &'static str {
        self.t.kind_name()
    }

    #[getter]
    fn cname(&self) -> String {
        self.t.cname().to_owned()
    }

    #[getter]
    fn item<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCType>> {
        match self.t.item() {
            Some(i) => ctype_obj(py, i),
            None => Err(no_attr(&self.t, "item")),
        }
    }

    #[getter]
    fn length(&self) -> PyResult<Option<usize>> {
        match &self.t.kind {
            Kind::Array { len, .. } => Ok(*len),
            _ => Err(no_attr(&self.t, "length")),
        }
    }

    #[getter]
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        let Kind::Struct(s) = &self.t.kind else {
            return Err(no_attr(&self.t, "fields"));
        };
        let Some(layout) = s.layout() else {
            return Ok(None);
        };
        let list = PyList::empty(py);
        for f in &layout.fields {
            let field = Py::new(py, PyCField { f: f.clone() })?;
            list.append(PyTuple::new(
                py,
                [
                    f.name.clone().into_pyobject(py)?.into_any(),
                    field.into_bound(py).into_any(),
                ],
            )?)?;
        }
        Ok(Some(list))
    }

    #[getter]
    fn args<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let Kind::Function(f) = &self.t.kind else {
            return Err(no_attr(&self.t, "args"));
        };
        let items = f
            .args
            .iter()
            .map(|a| ctype_obj(py, a))
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(py, items)
    }

    #[getter]
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCType>> {
        match &self.t.kind {
            Kind::Function(f) => ctype_obj(py, &f.result),
            _ => Err(no_attr(&self.t, "result")),
        }
    }

    #[getter]
    fn ellipsis(&self) -> PyResult<bool> {
        match &self.t.kind {
            Kind::Function(f) => Ok(f.ellipsis),
            _ => Err(no_attr(&self.t, "ellipsis")),
        }
    }

    #[getter]
    fn abi(&self) -> PyResult<i32> {
        match &self.t.kind {
            Kind::Function(f) => Ok(f.abi),
            _ => Err(no_attr(&self.t, "abi")),
        }
    }

    #[getter]
    fn elements<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let Kind::Enum(e) = &self.t.kind else {
            return Err(no_attr(&self.t, "elements"));
        };
        let d = PyDict::new(py);
        for (name, v) in e.items.iter().rev() {
            d.set_item(v, name)?;
        }
        Ok(d)
    }

    #[getter]
    fn relements<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let Kind::Enum(e) = &self.t.kind else {
            return Err(no_attr(&self.t, "relements"));
        };
        let d = PyDict::new(py);
        for (name, v) in &e.items {
            d.set_item(name, v)?;
        }
        Ok(d)
    }
}

/// `_cffi_backend.CField`: one laid-out field.
#[pyclass(name = "CField", module = "_cffi_backend", frozen)]
pub struct PyCField {
    pub f: Field,
}

#[pymethods]
impl PyCField {
    #[getter(r#type)]
    fn ty<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCType>> {
        ctype_obj(py, &self.f.ty)
    }

    #[getter]
    fn offset(&self) -> usize {
        self.f.offset
    }

    /// The bit position of a bitfield; -1 for other fields, -2 for
    /// `T x[]` and `T x[0]` (cffi's `BS_EMPTY_ARRAY`).
    #[getter]
    fn bitshift(&self) -> i64 {
        match (&self.f.ty.kind, self.f.bitshift) {
            (_, Some(b)) => i64::from(b),
            (
                Kind::Array {
                    len: None | Some(0),
                    ..
                },
                None,
            ) => -2,
            _ => -1,
        }
    }

    #[getter]
    fn bitsize(&self) -> i64 {
        self.f.bitsize.map_or(-1, i64::from)
    }

    #[getter]
    fn flags(&self) -> u8 {
        self.f.flags.0
    }
}
