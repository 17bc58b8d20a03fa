//! The Python protocol of cdata objects: indexing, fields, arithmetic,
//! comparisons, conversions to numbers, `repr`, iteration, `with`.

use std::sync::Arc;

use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyAttributeError, PyIndexError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PySlice, PyString};

use crate::memory::cdata::{CData, Owner};
use crate::memory::{convert, raw};
use crate::types::{Field, Kind, PrimFamily, TypeRef, intern};

/// What an index or a slice designates.
enum Sel {
    Index(isize),
    Slice(usize, usize),
}

fn item_size(t: &TypeRef, of: &TypeRef) -> PyResult<usize> {
    t.size().filter(|_| !t.is_void()).ok_or_else(|| {
        PyTypeError::new_err(format!(
            "cdata '{}' points to items of unknown size",
            of.cname()
        ))
    })
}

impl CData {
    /// The item type and address of item `i` of an array or pointer.
    fn item_addr(&self, i: isize) -> PyResult<(TypeRef, *mut u8)> {
        let (item, bounded) = match &self.ty.kind {
            Kind::Pointer(item) => (item, None),
            Kind::Array { item, .. } => (item, self.array_len()),
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "cdata of type '{}' cannot be indexed",
                    self.ty.cname()
                )));
            }
        };
        if let Some(n) = bounded {
            if i < 0 {
                return Err(PyIndexError::new_err("negative index"));
            }
            if i as usize >= n {
                return Err(PyIndexError::new_err(format!(
                    "index too large for cdata '{}' (expected {i} < {n})",
                    self.ty.cname()
                )));
            }
        }
        let size = item_size(item, &self.ty)?;
        let base = self.ptr()?;
        if base.is_null() {
            return Err(PyRuntimeError::new_err(format!(
                "cannot dereference null pointer from cdata '{}'",
                self.ty.cname()
            )));
        }
        Ok((item.clone(), base.wrapping_offset(i * size as isize)))
    }

    /// The struct type and address that `.field` acts on.
    fn struct_target(&self) -> PyResult<Option<(TypeRef, *mut u8)>> {
        let st = match &self.ty.kind {
            Kind::Struct(_) => self.ty.clone(),
            Kind::Pointer(item) if item.is_struct() => item.clone(),
            _ => return Ok(None),
        };
        if st.is_opaque() {
            return Err(PyAttributeError::new_err(format!(
                "cdata '{}' points to an opaque type: cannot read fields",
                self.ty.cname()
            )));
        }
        let addr = self.ptr()?;
        if addr.is_null() {
            return Err(PyRuntimeError::new_err(format!(
                "cannot read fields through the null pointer '{}'",
                self.ty.cname()
            )));
        }
        Ok(Some((st, addr)))
    }

    fn field<'a>(&self, st: &'a TypeRef, name: &str) -> PyResult<&'a Field> {
        st.struct_info()
            .and_then(|s| s.layout())
            .and_then(|l| l.field(name))
            .ok_or_else(|| {
                PyAttributeError::new_err(format!(
                    "cdata '{}' has no field '{name}'",
                    self.ty.cname()
                ))
            })
    }

    /// The numeric value of a primitive cdata as a Python object.
    fn py_value<'py>(slf: &Bound<'py, CData>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let me = slf.get();
        match &me.ty.kind {
            Kind::Primitive(_) | Kind::Enum(_) => {
                let addr = me.ptr()?;
                // SAFETY: a primitive cdata's address holds its value.
                Ok(Some(unsafe {
                    convert::read(slf.py(), &me.ty, addr, Some(slf))?
                }))
            }
            _ => Ok(None),
        }
    }

    fn selection(&self, key: &Bound<'_, PyAny>) -> PyResult<Sel> {
        if let Ok(s) = key.cast::<PySlice>() {
            let start = s.getattr("start")?;
            let stop = s.getattr("stop")?;
            if !s.getattr("step")?.is_none() {
                return Err(PyIndexError::new_err("slice with step not supported"));
            }
            if start.is_none() {
                return Err(PyIndexError::new_err("slice start must be specified"));
            }
            if stop.is_none() {
                return Err(PyIndexError::new_err("slice stop must be specified"));
            }
            let (a, b): (isize, isize) = (start.extract()?, stop.extract()?);
            if a > b {
                return Err(PyIndexError::new_err("slice start > stop"));
            }
            if a < 0 {
                return Err(PyIndexError::new_err("negative index"));
            }
            if let Some(n) = self.array_len()
                && b as usize > n
            {
                return Err(PyIndexError::new_err(format!(
                    "index too large (expected {b} <= {n})"
                )));
            }
            if self.ty.item().is_none() {
                return Err(PyTypeError::new_err(format!(
                    "cdata of type '{}' cannot be indexed",
                    self.ty.cname()
                )));
            }
            return Ok(Sel::Slice(a as usize, b as usize));
        }
        let i: isize = key.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "cdata of type '{}' cannot be indexed with {}",
                self.ty.cname(),
                convert::describe(key)
            ))
        })?;
        Ok(Sel::Index(i))
    }

    /// `repr` text after the type name.
    fn repr_tail(slf: &Bound<'_, CData>) -> PyResult<String> {
        let me = slf.get();
        match &me.owner {
            Owner::Owned(_) | Owner::Custom { .. } => {
                return Ok(format!("owning {} bytes", me.data_size().unwrap_or(0)));
            }
            Owner::Buffer { obj, .. } => {
                let tname = obj.bind(slf.py()).get_type().fully_qualified_name()?;
                return Ok(format!("buffer len {} from '{tname}' object", me.len));
            }
            Owner::Handle { obj } => {
                return Ok(format!("handle to {}", obj.bind(slf.py()).repr()?));
            }
            Owner::Callback { callable, .. } => {
                return Ok(format!("calling {}", callable.bind(slf.py()).repr()?));
            }
            Owner::Borrowed { base: Some(b) } if me.ty.is_struct() => {
                // `p[0]` of an owning `struct *`: cffi shows it as owning.
                let b = b.get();
                if b.owns_memory() && b.raw_ptr() == me.raw_ptr() {
                    return Ok(format!("owning {} bytes", b.data_size().unwrap_or(0)));
                }
            }
            _ => {}
        }
        if me.ty.is_array() && me.ty.size().is_none() {
            return Ok(format!("sliced length {}", me.len));
        }
        if me.is_released() {
            return Ok("(released)".to_owned());
        }
        if let Some(v) = CData::py_value(slf)? {
            let me_ty = &me.ty;
            if let Kind::Enum(e) = &me_ty.kind {
                let i: i128 = v.extract()?;
                return Ok(match e.name_of(i) {
                    Some(n) => format!("{i}: {n}"),
                    None => format!("{i}"),
                });
            }
            if me_ty
                .primitive()
                .is_some_and(|p| p.family == PrimFamily::LongDouble)
            {
                let addr = me.ptr()?;
                // SAFETY: a long double cdata holds a long double.
                let f = unsafe { raw::read_long_double(addr, me_ty.size().unwrap_or(16)) };
                return Ok(format_e(f));
            }
            return Ok(v.repr()?.to_string());
        }
        let p = me.raw_ptr();
        Ok(if p.is_null() {
            "NULL".to_owned()
        } else {
            format!("{p:#x?}")
        })
    }
}

/// C's `%LE` format: `1.500000E+00`.
fn format_e(f: f64) -> String {
    let s = format!("{f:.6E}");
    match s.split_once('E') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}E{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// `repr(cdata)`.
pub fn cdata_repr(slf: &Bound<'_, CData>) -> PyResult<String> {
    Ok(format!(
        "<cdata '{}' {}>",
        slf.get().ty.cname(),
        CData::repr_tail(slf)?
    ))
}

/// A borrowed cdata of `ty` at `addr`, keeping `keeper` alive.
pub fn view<'py>(
    py: Python<'py>,
    ty: TypeRef,
    addr: *mut u8,
    len: usize,
    keeper: Option<Py<CData>>,
) -> PyResult<Bound<'py, CData>> {
    Bound::new(
        py,
        CData::new(ty, addr, len, Owner::Borrowed { base: keeper }),
    )
}

/// The cdata that keeps `slf`'s memory alive, as a base for views on it.
fn keeper_of(slf: &Bound<'_, CData>) -> Option<Py<CData>> {
    CData::keeper(slf).and_then(|k| {
        k.bind(slf.py())
            .cast::<CData>()
            .ok()
            .map(|c| c.clone().unbind())
    })
}

/// `p + n` for pointers and arrays.
fn pointer_add<'py>(slf: &Bound<'py, CData>, n: isize) -> PyResult<Bound<'py, CData>> {
    let me = slf.get();
    let item = match &me.ty.kind {
        Kind::Pointer(i) | Kind::Array { item: i, .. } => i.clone(),
        _ => {
            return Err(PyTypeError::new_err(format!(
                "cannot add a number to cdata '{}'",
                me.ty.cname()
            )));
        }
    };
    let size = if item.is_void() {
        1
    } else {
        item_size(&item, &me.ty)?
    };
    let addr = me.ptr()?.wrapping_offset(n.wrapping_mul(size as isize));
    let ty = if me.ty.is_array() {
        intern::pointer(&item)
    } else {
        me.ty.clone()
    };
    view(slf.py(), ty, addr, 0, keeper_of(slf))
}

#[pymethods]
impl CData {
    fn __repr__(slf: &Bound<'_, CData>) -> PyResult<String> {
        cdata_repr(slf)
    }

    fn __bool__(slf: &Bound<'_, CData>) -> PyResult<bool> {
        let me = slf.get();
        match &me.ty.kind {
            Kind::Primitive(p) => {
                let addr = me.ptr()?;
                // SAFETY: a primitive cdata's address holds its value.
                Ok(unsafe { convert::read_primitive_f64(p, addr) } != 0.0)
            }
            Kind::Enum(_) => {
                Ok(CData::py_value(slf)?.is_some_and(|v| v.is_truthy().unwrap_or(true)))
            }
            Kind::Pointer(_) | Kind::Function(_) => Ok(!me.raw_ptr().is_null()),
            _ => Ok(true),
        }
    }

    fn __int__<'py>(slf: &Bound<'py, CData>) -> PyResult<Bound<'py, PyAny>> {
        let me = slf.get();
        if let Some(p) = me.ty.storage_primitive() {
            let addr = me.ptr()?;
            return match p.family {
                PrimFamily::Char | PrimFamily::Char16 | PrimFamily::Char32 => {
                    // SAFETY: the cdata holds a character of p.size bytes.
                    let v = unsafe { raw::read_int(addr, p.size, false) };
                    Ok(v.into_pyobject(slf.py())?.into_any())
                }
                PrimFamily::Float | PrimFamily::LongDouble => {
                    // SAFETY: the cdata holds a float.
                    let f = unsafe { convert::read_primitive_f64(p, addr) };
                    Ok(PyFloat::new(slf.py(), f).call_method0("__int__")?)
                }
                PrimFamily::Complex => Err(PyTypeError::new_err(format!(
                    "int() not supported on cdata '{}'",
                    me.ty.cname()
                ))),
                PrimFamily::Bool | PrimFamily::Signed | PrimFamily::Unsigned => {
                    // SAFETY: the cdata holds an integer.
                    let v = unsafe { raw::read_int(addr, p.size, p.is_signed()) };
                    Ok(v.into_pyobject(slf.py())?.into_any())
                }
            };
        }
        Err(PyTypeError::new_err(format!(
            "int() not supported on cdata '{}'",
            me.ty.cname()
        )))
    }

    fn __index__<'py>(slf: &Bound<'py, CData>) -> PyResult<Bound<'py, PyAny>> {
        let me = slf.get();
        match me.ty.storage_primitive() {
            Some(p) if p.is_integer() => CData::__int__(slf),
            _ => Err(PyTypeError::new_err(format!(
                "'{}' cdata cannot be interpreted as an integer",
                me.ty.cname()
            ))),
        }
    }

    fn __float__(slf: &Bound<'_, CData>) -> PyResult<f64> {
        let me = slf.get();
        match me.ty.primitive() {
            Some(p) if p.is_float() => {
                let addr = me.ptr()?;
                // SAFETY: the cdata holds a float.
                Ok(unsafe { convert::read_primitive_f64(p, addr) })
            }
            _ => Err(PyTypeError::new_err(format!(
                "float() not supported on cdata '{}'",
                me.ty.cname()
            ))),
        }
    }

    fn __complex__<'py>(slf: &Bound<'py, CData>) -> PyResult<Bound<'py, PyAny>> {
        let me = slf.get();
        match me.ty.primitive() {
            Some(p) if p.is_float() || p.family == PrimFamily::Complex => {
                let (re, im) = convert::as_complex(slf.as_any())?;
                Ok(pyo3::types::PyComplex::from_doubles(slf.py(), re, im).into_any())
            }
            _ => Err(PyTypeError::new_err(format!(
                "complex() not supported on cdata '{}'",
                me.ty.cname()
            ))),
        }
    }

    fn __len__(&self) -> PyResult<usize> {
        self.array_len().ok_or_else(|| {
            PyTypeError::new_err(format!("cdata of type '{}' has no len()", self.ty.cname()))
        })
    }

    fn __getitem__<'py>(
        slf: &Bound<'py, CData>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let me = slf.get();
        match me.selection(key)? {
            Sel::Index(i) => {
                let (item, addr) = me.item_addr(i)?;
                // SAFETY: item_addr checked the bounds (for arrays) and NULL.
                unsafe { convert::read(slf.py(), &item, addr, Some(slf)) }
            }
            Sel::Slice(a, b) => {
                let item = me.ty.item().cloned().unwrap_or_else(intern::void);
                let addr = if b > a {
                    me.item_addr(a as isize)?.1
                } else {
                    me.ptr()?
                };
                let ty = intern::array(&item, None);
                Ok(view(slf.py(), ty, addr, b - a, Some(slf.clone().unbind()))?.into_any())
            }
        }
    }

    fn __setitem__(
        slf: &Bound<'_, CData>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let me = slf.get();
        let container = CData::container(slf);
        match me.selection(key)? {
            Sel::Index(i) => {
                let (item, addr) = me.item_addr(i)?;
                // SAFETY: item_addr checked the bounds (for arrays) and NULL.
                unsafe { convert::write(&item, addr, value, container.as_ref()) }
            }
            Sel::Slice(a, b) => {
                let item = me.ty.item().cloned().unwrap_or_else(intern::void);
                let n = b - a;
                if n == 0 {
                    return Ok(());
                }
                let start = me.item_addr(a as isize)?.1;
                let ty = intern::array(&item, Some(n));
                // Same-typed arrays of any length copy as a block.
                if let Ok(src) = value.cast::<CData>() {
                    let s = src.get();
                    if s.ty.item().is_some_and(|i| Arc::ptr_eq(i, &item)) && s.array_len().is_some()
                    {
                        let got = s.array_len().unwrap_or(0);
                        if got != n {
                            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                                "need a cdata of length {n}, got {got}"
                            )));
                        }
                        let size = item.size().unwrap_or(0) * n;
                        // SAFETY: both ranges hold n items of this type.
                        unsafe { raw::copy(start, s.ptr()?, size) };
                        return Ok(());
                    }
                }
                let len = value.len().ok();
                if let Some(l) = len
                    && l != n
                    && !value.is_instance_of::<PyString>()
                {
                    return Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "need a sequence of length {n}, got {l}"
                    )));
                }
                let items: Vec<Bound<'_, PyAny>> = value.try_iter()?.collect::<PyResult<_>>()?;
                let size = item.size().unwrap_or(0);
                for (i, x) in items.iter().enumerate() {
                    // SAFETY: i < n items from start lie within the target.
                    unsafe { convert::write(&item, start.add(i * size), x, container.as_ref())? };
                }
                let _ = ty;
                Ok(())
            }
        }
    }

    fn __getattribute__<'py>(
        slf: &Bound<'py, CData>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let me = slf.get();
        if let Some((st, addr)) = me.struct_target()? {
            let key = name.to_cow()?;
            if let Some(f) = st
                .struct_info()
                .and_then(|s| s.layout())
                .and_then(|l| l.field(&key))
            {
                // SAFETY: the field lies inside the struct at addr.
                return unsafe { read_field(slf, f, addr) };
            }
            if !key.starts_with("__") {
                return Err(PyAttributeError::new_err(format!(
                    "cdata '{}' has no field '{key}'",
                    me.ty.cname()
                )));
            }
        }
        let key = name.to_cow()?;
        if key == "__name__" {
            return Ok(PyString::new(slf.py(), "<cdata>").into_any());
        }
        match crate::python::capi::generic_getattr(slf.as_any(), name) {
            Ok(v) => Ok(v),
            Err(e) if e.is_instance_of::<PyAttributeError>(slf.py()) => {
                Err(PyAttributeError::new_err(format!(
                    "cdata '{}' has no attribute '{key}'",
                    me.ty.cname()
                )))
            }
            Err(e) => Err(e),
        }
    }

    fn __setattr__(
        slf: &Bound<'_, CData>,
        name: &Bound<'_, PyString>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let me = slf.get();
        let key = name.to_cow()?;
        if let Some((st, addr)) = me.struct_target()? {
            let f = me.field(&st, &key)?;
            let container = CData::container(slf);
            // SAFETY: the field lies inside the struct at addr.
            return unsafe { convert::write_field(f, addr, value, container.as_ref()) };
        }
        Err(PyAttributeError::new_err(format!(
            "cdata '{}' has no attribute '{key}'",
            me.ty.cname()
        )))
    }

    fn __dir__(&self) -> PyResult<Vec<String>> {
        let st = match &self.ty.kind {
            Kind::Struct(_) => Some(&self.ty),
            Kind::Pointer(i) if i.is_struct() => Some(i),
            _ => None,
        };
        Ok(st
            .and_then(|s| s.struct_info())
            .and_then(|s| s.layout())
            .map(|l| {
                l.fields
                    .iter()
                    .filter(|f| !f.name.is_empty())
                    .map(|f| f.name.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    fn __add__<'py>(slf: &Bound<'py, CData>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(n) = other.extract::<isize>() else {
            return Ok(slf.py().NotImplemented());
        };
        if other.is_instance_of::<CData>() {
            return Ok(slf.py().NotImplemented());
        }
        Ok(pointer_add(slf, n)?.into_any().unbind())
    }

    fn __radd__<'py>(slf: &Bound<'py, CData>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        CData::__add__(slf, other)
    }

    fn __sub__<'py>(slf: &Bound<'py, CData>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        let me = slf.get();
        if let Ok(o) = other.cast::<CData>() {
            let ot = &o.get().ty;
            let (Some(a), Some(b)) = (me.ty.item(), ot.item()) else {
                return Err(PyTypeError::new_err(format!(
                    "cannot subtract cdata '{}' and cdata '{}'",
                    me.ty.cname(),
                    ot.cname()
                )));
            };
            if !Arc::ptr_eq(a, b) {
                return Err(PyTypeError::new_err(format!(
                    "cannot subtract cdata '{}' and cdata '{}'",
                    me.ty.cname(),
                    ot.cname()
                )));
            }
            let size = if a.is_void() {
                1
            } else {
                item_size(a, &me.ty)?
            } as isize;
            let diff = (me.ptr()? as isize).wrapping_sub(o.get().ptr()? as isize);
            return Ok(diff
                .div_euclid(size)
                .into_pyobject(slf.py())?
                .into_any()
                .unbind());
        }
        let Ok(n) = other.extract::<isize>() else {
            return Ok(slf.py().NotImplemented());
        };
        Ok(pointer_add(slf, n.wrapping_neg())?.into_any().unbind())
    }

    fn __richcmp__<'py>(
        slf: &Bound<'py, CData>,
        other: &Bound<'py, PyAny>,
        op: CompareOp,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let me = slf.get();
        let mine = CData::py_value(slf)?;
        if let Some(v) = mine {
            // Primitive cdata compare by value, with numbers or other cdata.
            let theirs = match other.cast::<CData>() {
                Ok(o) => match CData::py_value(o)? {
                    Some(x) => x,
                    None => return Ok(py.NotImplemented()),
                },
                Err(_) => other.clone(),
            };
            return Ok(v.rich_compare(theirs, op)?.unbind());
        }
        let Ok(o) = other.cast::<CData>() else {
            return Ok(py.NotImplemented());
        };
        if o.get().ty.is_scalar() {
            return Ok(py.NotImplemented());
        }
        let (a, b) = (me.raw_ptr() as usize, o.get().raw_ptr() as usize);
        let r = match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            CompareOp::Lt => a < b,
            CompareOp::Le => a <= b,
            CompareOp::Gt => a > b,
            CompareOp::Ge => a >= b,
        };
        Ok(r.into_pyobject(py)?.to_owned().into_any().unbind())
    }

    fn __hash__(slf: &Bound<'_, CData>) -> PyResult<isize> {
        if let Some(v) = CData::py_value(slf)? {
            return v.hash();
        }
        let p = slf.get().raw_ptr() as usize;
        PyInt::new(slf.py(), p).hash()
    }

    fn __iter__<'py>(slf: &Bound<'py, CData>) -> PyResult<Bound<'py, CDataIter>> {
        let me = slf.get();
        if !me.ty.is_array() {
            return Err(PyTypeError::new_err(format!(
                "cdata '{}' does not support iteration",
                me.ty.cname()
            )));
        }
        Bound::new(
            slf.py(),
            CDataIter {
                array: slf.clone().unbind(),
                next: std::sync::atomic::AtomicUsize::new(0),
            },
        )
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn __call__<'py>(
        slf: &Bound<'py, CData>,
        args: &Bound<'py, pyo3::types::PyTuple>,
        kwargs: Option<&Bound<'py, pyo3::types::PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::python::call_py::call_cdata(slf, args, kwargs)
    }

    fn __traverse__(&self, visit: pyo3::gc::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        self.traverse_refs(|o| visit.call(o))
    }

    fn __clear__(&self) {
        self.clear_refs();
    }

    fn __enter__<'py>(slf: &Bound<'py, CData>) -> Bound<'py, CData> {
        slf.clone()
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(slf: &Bound<'_, CData>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        crate::python::backend::release_cdata(slf)?;
        Ok(false)
    }
}

/// Reads field `f` of the struct at `addr`, for the cdata `slf`.
///
/// # Safety
/// `addr` must point to a live struct holding `f`.
pub unsafe fn read_field<'py>(
    slf: &Bound<'py, CData>,
    f: &Field,
    addr: *mut u8,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: the field lies within the struct.
    let faddr = unsafe { addr.add(f.offset) };
    match (f.bitshift, f.bitsize) {
        // SAFETY: the bitfield's unit lies within the struct.
        (Some(shift), Some(bits)) => unsafe {
            convert::read_bitfield(slf.py(), f, faddr, shift, bits)
        },
        _ => {
            if let Kind::Array { len: None, item } = &f.ty.kind {
                // A flexible array member: its length is what the owning
                // allocation leaves room for.
                let me = slf.get();
                let total = me.data_size().unwrap_or(0);
                let isz = item.size().unwrap_or(1).max(1);
                let n = total.saturating_sub(f.offset) / isz;
                return Ok(
                    view(slf.py(), f.ty.clone(), faddr, n, Some(slf.clone().unbind()))?.into_any(),
                );
            }
            // SAFETY: the field lies within the struct.
            unsafe { convert::read(slf.py(), &f.ty, faddr, Some(slf)) }
        }
    }
}

/// `__CData_iterator`: iterates over the items of an array cdata.
#[pyclass(name = "__CData_iterator", module = "_cffi_backend", frozen)]
pub struct CDataIter {
    array: Py<CData>,
    next: std::sync::atomic::AtomicUsize,
}

#[pymethods]
impl CDataIter {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let me = slf.get();
        let arr = me.array.bind(slf.py());
        let i = me.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if i >= arr.get().array_len().unwrap_or(0) {
            return Ok(None);
        }
        let (item, addr) = arr.get().item_addr(i as isize)?;
        // SAFETY: i is within the array.
        Ok(Some(unsafe {
            convert::read(slf.py(), &item, addr, Some(arr))?
        }))
    }
}
