//! `CType` and `CField`: the Python face of the type model.  One C type is
//! one `CType` object (kept in the type's `py_slot`).

use std::sync::OnceLock;

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::memory::raw::Scalar;
use crate::types::{Field, Kind, TypeRef};

/// `_cffi_backend.CType`.
#[pyclass(name = "CType", module = "_cffi_backend", frozen, weakref)]
pub struct PyCType {
    pub t: TypeRef,
    /// For a completed struct or union: its named fields, for the fast
    /// path of `p.field` (see `capi::attr`).
    fast_fields: OnceLock<Box<[FastField]>>,
}

/// A field as the fast path of `p.field` sees it: its name interned (so
/// that the attribute names of Python code, interned too, match it by
/// identity) and how to access it.
pub struct FastField {
    pub name: Py<PyString>,
    pub offset: usize,
    pub access: FieldAccess,
}

/// How the fast path accesses a field.
pub enum FieldAccess {
    /// A plain number, read and written directly.
    Scalar(Scalar),
    /// A pointer (or function pointer) of this type: read as a new cdata.
    Pointer(TypeRef),
    /// Anything else: the general path.
    Other,
}

impl PyCType {
    fn new(t: TypeRef) -> Self {
        PyCType {
            t,
            fast_fields: OnceLock::new(),
        }
    }
}

/// The fast field table of the struct or union `st`, if it was built
/// (by [`build_fast_fields`]).
#[inline]
pub fn fast_fields(st: &TypeRef) -> Option<&[FastField]> {
    let obj = st.py_slot.get()?.downcast_ref::<Py<PyCType>>()?;
    obj.get().fast_fields.get().map(|b| &**b)
}

/// Builds the fast field table of the struct or union `st` once it is
/// completed.
pub fn build_fast_fields(py: Python<'_>, st: &TypeRef) -> PyResult<()> {
    let Some(layout) = st.struct_info().and_then(|s| s.layout()) else {
        return Ok(());
    };
    let obj = ctype_obj(py, st)?;
    if obj.get().fast_fields.get().is_some() {
        return Ok(());
    }
    let mut table = Vec::with_capacity(layout.fields.len());
    for f in layout.fields.iter().filter(|f| !f.name.is_empty()) {
        // The first field of a name is the one `Layout::field` finds.
        if table
            .iter()
            .any(|t: &FastField| t.name.bind(py).to_str().is_ok_and(|n| n == f.name))
        {
            continue;
        }
        let scalar = match (&f.ty.kind, f.bitsize) {
            (Kind::Primitive(p), None) => Scalar::of(p),
            (Kind::Enum(e), None) => e.base.primitive().and_then(Scalar::of),
            _ => None,
        };
        let access = match (scalar, &f.ty.kind, f.bitsize) {
            (Some(s), _, _) => FieldAccess::Scalar(s),
            (None, Kind::Pointer(_) | Kind::Function(_), None) => {
                FieldAccess::Pointer(f.ty.clone())
            }
            _ => FieldAccess::Other,
        };
        table.push(FastField {
            name: PyString::intern(py, &f.name).unbind(),
            offset: f.offset,
            access,
        });
    }
    let _ = obj.get().fast_fields.set(table.into_boxed_slice());
    Ok(())
}

/// The unique `CType` object of `t`.
pub fn ctype_obj<'py>(py: Python<'py>, t: &TypeRef) -> PyResult<Bound<'py, PyCType>> {
    if let Some(slot) = t.py_slot.get()
        && let Some(obj) = slot.downcast_ref::<Py<PyCType>>()
    {
        return Ok(obj.bind(py).clone());
    }
    warn_if_opaque_enum(py, t)?;
    let obj = Py::new(py, PyCType::new(t.clone()))?;
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

/// Warns, the first time Python sees a type built on an enum declared
/// without values (`enum foo;`), that it is taken as an `unsigned int`,
/// as cffi does when it first builds such a type.
fn warn_if_opaque_enum(py: Python<'_>, t: &TypeRef) -> PyResult<()> {
    let mut inner = t;
    while let Kind::Pointer(item) | Kind::Array { item, .. } = &inner.kind {
        inner = item;
    }
    if !matches!(&inner.kind, Kind::Enum(e) if e.opaque) {
        return Ok(());
    }
    if !std::sync::Arc::ptr_eq(inner, t) {
        // The enum's own `CType` warns once, when made.
        return ctype_obj(py, inner).map(drop);
    }
    let msg = format!(
        "'{}' has no values explicitly defined; guessing that it is equivalent to \
         'unsigned int'",
        inner.cname()
    );
    let category = py.get_type::<pyo3::exceptions::PyUserWarning>();
    PyErr::warn(py, &category, &std::ffi::CString::new(msg)?, 1)
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
