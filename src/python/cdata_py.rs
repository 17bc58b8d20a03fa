//! The Python protocol of cdata objects: indexing, slicing, fields,
//! arithmetic, comparisons, conversions to numbers, `repr`, iteration,
//! `with`.
//!
//! rcffi checks what cffi leaves to the C programmer where it can do so
//! cheaply: NULL pointers and released memory raise instead of crashing,
//! and writes of open arrays stop at the end of memory rcffi allocated.

use crate::python::errors::CoreResult;
use std::sync::Arc;

use pyo3::basic::CompareOp;
use pyo3::exceptions::{
    PyAttributeError, PyIndexError, PyNotImplementedError, PyRuntimeError, PyTypeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyFloat, PyInt, PySlice, PyString, PyType};

use crate::memory::cdata::{CData, Owner};
use crate::memory::object::CDataClass;
use crate::memory::{convert, raw};
use crate::python::ctype::build_fast_fields;
use crate::types::{Field, Kind, PrimFamily, TypeRef, intern};

/// A slice `[start:stop]` of an array or pointer cdata.
struct SliceSel {
    start: isize,
    len: usize,
    item: TypeRef,
}

fn null_deref(ty: &TypeRef) -> PyErr {
    PyRuntimeError::new_err(format!(
        "cannot dereference null pointer from cdata '{}'",
        ty.cname()
    ))
}

impl CData {
    /// The item type and address of item `i` of an array or pointer, with
    /// cffi's checks (bounds of arrays; `new` pointers only have item 0)
    /// and rcffi's (NULL, released memory).
    pub fn item_addr(&self, i: isize) -> PyResult<(TypeRef, *mut u8)> {
        let item = match &self.ty.kind {
            Kind::Pointer(item) => {
                if self.is_new_owner() && i != 0 {
                    return Err(PyIndexError::new_err(format!(
                        "cdata '{}' can only be indexed by 0",
                        self.ty.cname()
                    )));
                }
                item
            }
            Kind::Array { item, .. } => {
                let n = self.array_len().unwrap_or(0);
                if i < 0 {
                    return Err(PyIndexError::new_err("negative index"));
                }
                if i as usize >= n {
                    return Err(PyIndexError::new_err(format!(
                        "index too large for cdata '{}' (expected {i} < {n})",
                        self.ty.cname()
                    )));
                }
                item
            }
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "cdata of type '{}' cannot be indexed",
                    self.ty.cname()
                )));
            }
        };
        let size = match item.size() {
            Some(s) if !item.is_void() => s,
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "cdata '{}' points to items of unknown size",
                    self.ty.cname()
                )));
            }
        };
        let base = self.ptr().py()?;
        if base.is_null() {
            return Err(null_deref(&self.ty));
        }
        Ok((
            item.clone(),
            base.wrapping_offset(i.wrapping_mul(size as isize)),
        ))
    }

    /// The bounds of a slice, with cffi's checks.
    fn slice_sel(&self, s: &Bound<'_, PySlice>) -> PyResult<SliceSel> {
        let start = s.getattr("start")?;
        let stop = s.getattr("stop")?;
        if start.is_none() {
            return Err(PyIndexError::new_err("slice start must be specified"));
        }
        if stop.is_none() {
            return Err(PyIndexError::new_err("slice stop must be specified"));
        }
        let (a, b): (isize, isize) = (start.extract()?, stop.extract()?);
        if !s.getattr("step")?.is_none() {
            return Err(PyIndexError::new_err("slice with step not supported"));
        }
        if a > b {
            return Err(PyIndexError::new_err("slice start > stop"));
        }
        let item = match &self.ty.kind {
            Kind::Array { item, .. } => {
                let n = self.array_len().unwrap_or(0);
                if a < 0 {
                    return Err(PyIndexError::new_err("negative index"));
                }
                if b as usize > n {
                    return Err(PyIndexError::new_err(format!(
                        "index too large (expected {b} <= {n})"
                    )));
                }
                item
            }
            Kind::Pointer(item) => item,
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "cdata of type '{}' cannot be indexed",
                    self.ty.cname()
                )));
            }
        };
        if item.size().is_none() || item.is_void() {
            return Err(PyTypeError::new_err(format!(
                "cdata '{}' points to items of unknown size",
                self.ty.cname()
            )));
        }
        Ok(SliceSel {
            start: a,
            len: (b - a) as usize,
            item: item.clone(),
        })
    }

    /// The address of the first item of a slice.
    fn slice_addr(&self, sel: &SliceSel) -> PyResult<*mut u8> {
        let base = self.ptr().py()?;
        if base.is_null() && (sel.len > 0 || self.ty.is_pointer()) {
            return Err(null_deref(&self.ty));
        }
        let size = sel.item.size().unwrap_or(0) as isize;
        Ok(base.wrapping_offset(sel.start.wrapping_mul(size)))
    }

    /// The struct type a `.field` access goes to (a struct or union, or a
    /// pointer to one), if any.
    fn struct_type(&self) -> Option<&TypeRef> {
        match &self.ty.kind {
            Kind::Struct(_) => Some(&self.ty),
            Kind::Pointer(item) if item.is_struct() => Some(item),
            _ => None,
        }
    }

    /// The address of the struct `.field` acts on.
    fn struct_addr(&self) -> PyResult<*mut u8> {
        let addr = self.ptr().py()?;
        if addr.is_null() {
            return Err(PyRuntimeError::new_err(format!(
                "cannot access fields through the null pointer '{}'",
                self.ty.cname()
            )));
        }
        Ok(addr)
    }

    /// The value of a primitive cdata as a Python object (a cdata for
    /// `long double`).
    fn py_value<'py>(slf: &Bound<'py, CData>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let me = slf.get();
        if !me.ty.is_scalar() {
            return Ok(None);
        }
        let addr = me.ptr().py()?;
        // SAFETY: a primitive cdata's address holds its value.
        Ok(Some(unsafe {
            convert::read(slf.py(), &me.ty, addr, Some(slf))?
        }))
    }

    /// `repr` text after the type name.
    fn repr_tail(slf: &Bound<'_, CData>) -> PyResult<String> {
        let me = slf.get();
        match &me.owner {
            Owner::Owned { .. } | Owner::Custom(_) => {
                return Ok(format!("owning {} bytes", me.owning_size()));
            }
            Owner::Buffer(b) => {
                if me.was_released() {
                    return Ok("buffer RELEASED".to_owned());
                }
                let tname = convert::type_name(b.obj.bind(slf.py()));
                return Ok(match me.array_len() {
                    Some(n) => format!("buffer len {n} from '{tname}' object"),
                    None => format!("buffer from '{tname}' object"),
                });
            }
            Owner::Handle { obj } => {
                return Ok(format!("handle to {}", obj.bind(slf.py()).repr()?));
            }
            Owner::Callback(c) => {
                return Ok(format!("calling {}", c.callable.bind(slf.py()).repr()?));
            }
            Owner::Borrowed { .. } => {
                // `p[0]` of the `struct *` that `new` returned: cffi shows
                // it as the owner of the memory.
                if let Some(p) = me.owning_pointer() {
                    return Ok(format!("owning {} bytes", p.owning_size()));
                }
            }
            _ => {}
        }
        if me.ty.is_scalar() {
            if me.is_released() {
                return Ok("(released)".to_owned());
            }
            if let Kind::Enum(e) = &me.ty.kind {
                let addr = me.ptr().py()?;
                let p = me
                    .ty
                    .storage_primitive()
                    .ok_or_else(|| PyTypeError::new_err("bad enum"))?;
                // SAFETY: an enum cdata holds an integer of its base type.
                let i = unsafe { raw::read_int(addr, p.size, p.is_signed()) };
                return Ok(match e.name_of(i) {
                    Some(n) => format!("{i}: {n}"),
                    None => format!("{i}"),
                });
            }
            if me
                .ty
                .primitive()
                .is_some_and(|p| p.family == PrimFamily::LongDouble)
            {
                let addr = me.ptr().py()?;
                let size = me.ty.size().unwrap_or(16);
                if size >= 10 {
                    // SAFETY: a long double cdata holds 16 bytes, 10 of them
                    // the x87 value.
                    let b = unsafe { raw::read_x87(addr) };
                    if let Some(text) = format_x87_beyond_double(slf.py(), &b)? {
                        return Ok(text);
                    }
                }
                // SAFETY: a long double cdata holds a long double.
                let f = unsafe { raw::read_long_double(addr, size) };
                return Ok(format_e(f));
            }
            if let Some(v) = CData::py_value(slf)? {
                return Ok(v.repr()?.to_string());
            }
        }
        if me.ty.is_array() && me.ty.size().is_none() {
            return Ok(format!("sliced length {}", me.len));
        }
        let p = me.raw_ptr();
        Ok(if p.is_null() {
            "NULL".to_owned()
        } else {
            format!("{p:#x?}")
        })
    }
}

/// `%LE` of an x87 `long double` whose exponent is beyond the range of
/// `double` (where [`format_e`] of its `double` would print 0 or INF):
/// formatted exactly with Python's `decimal`.  `None` for the others.
fn format_x87_beyond_double(py: Python<'_>, b: &[u8; 10]) -> PyResult<Option<String>> {
    let mant = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let se = u16::from_le_bytes([b[8], b[9]]);
    let exp = i64::from(se & 0x7fff);
    if exp == 0x7fff || mant == 0 || (-1022..=1023).contains(&(exp - 16383)) {
        return Ok(None);
    }
    // value = mant * 2^(exp - 16383 - 63), with enough digits for "%.6E".
    let decimal = py.import("decimal")?;
    let ctx = decimal
        .getattr("Context")?
        .call((), Some(&[("prec", 40)].into_py_dict(py)?))?;
    let two = decimal.getattr("Decimal")?.call1((2,))?;
    let scale = ctx.call_method1("power", (two, exp - 16383 - 63))?;
    let mut v = ctx.call_method1("multiply", (mant, scale))?;
    if se & 0x8000 != 0 {
        v = v.neg()?;
    }
    let s: String = py
        .import("builtins")?
        .getattr("format")?
        .call1((v, ".6E"))?
        .extract()?;
    Ok(Some(match s.split_once('E') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e.trim_start_matches('+')),
            };
            format!("{m}E{sign}{digits:0>2}")
        }
        None => s,
    }))
}

/// C's `%LE` format: `1.500000E+00`.
fn format_e(f: f64) -> String {
    if f.is_nan() {
        return "NAN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "INF".to_owned()
        } else {
            "-INF".to_owned()
        };
    }
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
    let me = slf.get();
    let amp = if me.ty.is_struct() && matches!(me.owner, Owner::Borrowed { .. }) {
        " &"
    } else {
        ""
    };
    let tail = CData::repr_tail(slf)?;
    let amp = if tail.starts_with("owning") { "" } else { amp };
    Ok(format!("<cdata '{}{amp}' {tail}>", me.ty.cname()))
}

/// A borrowed cdata of `ty` at `addr`, keeping `keeper` alive.
pub fn view<'py>(
    py: Python<'py>,
    ty: TypeRef,
    addr: *mut u8,
    len: usize,
    keeper: Option<Py<CData>>,
) -> PyResult<Bound<'py, CData>> {
    CData::borrowed(ty, addr, len, keeper).into_base_object(py)
}

/// `p + n` (or `p - n` with `sign == -1`) for pointers and arrays.
fn pointer_add<'py>(
    slf: &Bound<'py, CData>,
    other: &Bound<'py, PyAny>,
    sign: isize,
) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    let n: isize = match other.cast::<PyInt>() {
        Ok(i) => i.extract().map_err(|_| {
            pyo3::exceptions::PyOverflowError::new_err(
                "Python int too large to convert to C ssize_t",
            )
        })?,
        Err(_) => {
            let n = other.call_method0("__index__").map_err(|e| {
                if other.hasattr("__index__").unwrap_or(false) {
                    e
                } else {
                    PyTypeError::new_err(format!(
                        "'{}' object cannot be interpreted as an integer",
                        convert::type_name(other)
                    ))
                }
            })?;
            n.extract().map_err(|_| {
                pyo3::exceptions::PyOverflowError::new_err(
                    "Python int too large to convert to C ssize_t",
                )
            })?
        }
    };
    let me = slf.get();
    let item = match &me.ty.kind {
        Kind::Pointer(i) | Kind::Array { item: i, .. } => i.clone(),
        _ => {
            return Err(PyTypeError::new_err(format!(
                "cannot add a cdata '{}' and a number",
                me.ty.cname()
            )));
        }
    };
    let size = match item.size() {
        Some(s) => s,
        None if item.is_void() => 1,
        None => {
            return Err(PyTypeError::new_err(format!(
                "ctype '{}' points to items of unknown size",
                me.ty.cname()
            )));
        }
    };
    let addr = me
        .ptr()
        .py()?
        .wrapping_offset(n.wrapping_mul(sign).wrapping_mul(size as isize));
    let ty = if me.ty.is_array() {
        intern::pointer(&item)
    } else {
        me.ty.clone()
    };
    Ok(view(py, ty, addr, 0, CData::keeper_cdata(slf))?
        .into_any()
        .unbind())
}

/// Which message a failed attribute lookup gives.
enum AttrMsg {
    NoAttribute,
    NoField,
    OpaqueRead,
    OpaqueWrite,
}

fn attr_error(me: &CData, msg: AttrMsg, name: &str) -> PyErr {
    let t = me.ty.cname();
    PyAttributeError::new_err(match msg {
        AttrMsg::NoAttribute => format!("cdata '{t}' has no attribute '{name}'"),
        AttrMsg::NoField => format!("cdata '{t}' has no field '{name}'"),
        AttrMsg::OpaqueRead => format!("cdata '{t}' points to an opaque type: cannot read fields"),
        AttrMsg::OpaqueWrite => {
            format!("cdata '{t}' points to an opaque type: cannot write fields")
        }
    })
}

/// The field called `name` of the struct `.name` goes to; `Err` says
/// which message to give if the name is no attribute either.
fn find_field<'a>(me: &'a CData, name: &str, write: bool) -> Result<&'a Field, AttrMsg> {
    let Some(st) = me.struct_type() else {
        return Err(AttrMsg::NoAttribute);
    };
    match st.struct_info().and_then(|s| s.layout()) {
        Some(l) => l.field(name).ok_or(AttrMsg::NoField),
        None if write => Err(AttrMsg::OpaqueWrite),
        None => Err(AttrMsg::OpaqueRead),
    }
}

/// Compares two addresses.
fn compare_addr(a: usize, b: usize, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        CompareOp::Lt => a < b,
        CompareOp::Le => a <= b,
        CompareOp::Gt => a > b,
        CompareOp::Ge => a >= b,
    }
}

/// The Python value a primitive cdata compares as.
fn compare_value<'py>(c: &Bound<'py, CData>) -> PyResult<Bound<'py, PyAny>> {
    match CData::py_value(c)? {
        Some(v) if !v.is_instance_of::<CData>() => Ok(v),
        _ => Err(PyNotImplementedError::new_err(format!(
            "cannot use <cdata '{}'> in a comparison",
            c.get().ty.cname()
        ))),
    }
}

/// The hash of an address (CPython's pointer hash: rotated by 4 bits).
fn hash_pointer(p: usize) -> isize {
    let h = p.rotate_right(4) as isize;
    if h == -1 { -2 } else { h }
}

#[pymethods]
impl CData {
    /// cdata types cannot be subclassed in Python (as in cffi).
    #[classmethod]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn __init_subclass__(
        cls: &Bound<'_, PyType>,
        _args: &Bound<'_, pyo3::types::PyTuple>,
        _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<()> {
        let base = cls
            .getattr("__mro__")
            .ok()
            .and_then(|m| m.get_item(1).ok())
            .and_then(|b| b.getattr("__qualname__").ok())
            .map(|n| n.to_string())
            .unwrap_or_else(|| "_CDataBase".to_owned());
        Err(PyTypeError::new_err(format!(
            "type '_cffi_backend.{base}' is not an acceptable base type"
        )))
    }

    fn __repr__(slf: &Bound<'_, CData>) -> PyResult<String> {
        cdata_repr(slf)
    }

    fn __bool__(slf: &Bound<'_, CData>) -> PyResult<bool> {
        let me = slf.get();
        match me.ty.storage_primitive() {
            Some(p) => {
                let addr = me.ptr().py()?;
                // SAFETY: a primitive cdata's address holds its value.
                Ok(unsafe {
                    match p.family {
                        PrimFamily::Complex => {
                            let half = p.size / 2;
                            raw::read_float(addr, half) != 0.0
                                || raw::read_float(addr.add(half), half) != 0.0
                        }
                        PrimFamily::Float | PrimFamily::LongDouble => {
                            convert::read_primitive_f64(p, addr) != 0.0
                        }
                        _ => raw::read_int(addr, p.size, false) != 0,
                    }
                })
            }
            None => Ok(!me.raw_ptr().is_null()),
        }
    }

    fn __int__<'py>(slf: &Bound<'py, CData>) -> PyResult<Bound<'py, PyAny>> {
        let me = slf.get();
        let py = slf.py();
        if let Some(p) = me.ty.storage_primitive() {
            let addr = me.ptr().py()?;
            return match p.family {
                PrimFamily::Char | PrimFamily::Char16 | PrimFamily::Char32 | PrimFamily::Bool => {
                    // SAFETY: the cdata holds a value of p.size bytes.
                    let v = unsafe { raw::read_int(addr, p.size, p.reads_signed()) };
                    Ok(v.into_pyobject(py)?.into_any())
                }
                PrimFamily::Signed | PrimFamily::Unsigned => {
                    // SAFETY: the cdata holds an integer.
                    let v = unsafe { raw::read_int(addr, p.size, p.is_signed()) };
                    Ok(v.into_pyobject(py)?.into_any())
                }
                PrimFamily::Float | PrimFamily::LongDouble => {
                    // SAFETY: the cdata holds a float.
                    let f = unsafe { convert::read_primitive_f64(p, addr) };
                    Ok(PyFloat::new(py, f).call_method0("__int__")?)
                }
                PrimFamily::Complex => Err(PyTypeError::new_err(format!(
                    "int() not supported on cdata '{}'",
                    me.ty.cname()
                ))),
            };
        }
        Err(PyTypeError::new_err(format!(
            "int() not supported on cdata '{}'",
            me.ty.cname()
        )))
    }

    fn __float__(slf: &Bound<'_, CData>) -> PyResult<f64> {
        convert::as_float(slf.as_any())
    }

    fn __complex__<'py>(slf: &Bound<'py, CData>) -> PyResult<Bound<'py, PyAny>> {
        let (re, im) = convert::as_complex(slf.as_any())?;
        Ok(pyo3::types::PyComplex::from_doubles(slf.py(), re, im).into_any())
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
        if let Ok(s) = key.cast::<PySlice>() {
            let sel = me.slice_sel(s)?;
            let addr = me.slice_addr(&sel)?;
            let ty = intern::array(&sel.item, None);
            return Ok(view(slf.py(), ty, addr, sel.len, CData::keeper_cdata(slf))?.into_any());
        }
        let i = index_of(key)?;
        let (item, addr) = me.item_addr(i)?;
        if item.is_struct() && me.is_new_owner() && me.ty.is_pointer() {
            // cffi gives the struct the memory-owning class.
            let cd = CData::struct_of_owner(item, addr, slf.clone().unbind());
            return Ok(cd.into_object(slf.py(), CDataClass::Own)?.into_any());
        }
        // SAFETY: item_addr checked the bounds (of arrays and of `new`
        // pointers), NULL and release.
        unsafe { convert::read(slf.py(), &item, addr, Some(slf)) }
    }

    fn __setitem__(
        slf: &Bound<'_, CData>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let me = slf.get();
        let container = CData::container(slf);
        if let Ok(s) = key.cast::<PySlice>() {
            return set_slice(slf, s, value);
        }
        let i = index_of(key)?;
        let (item, addr) = me.item_addr(i)?;
        // SAFETY: item_addr checked the bounds (of arrays and of `new`
        // pointers), NULL and release.
        unsafe { convert::write(&item, addr, value, container.as_ref()) }
    }

    fn __delitem__(&self, _key: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "'del x[n]' not supported for cdata objects",
        ))
    }

    fn __getattribute__<'py>(
        slf: &Bound<'py, CData>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        getattr_slow(slf, name)
    }

    fn __setattr__(
        slf: &Bound<'_, CData>,
        name: &Bound<'_, PyString>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        setattr_slow(slf, name, Some(value))
    }

    fn __delattr__(slf: &Bound<'_, CData>, name: &Bound<'_, PyString>) -> PyResult<()> {
        setattr_slow(slf, name, None)
    }

    fn __dir__(&self) -> Vec<String> {
        self.struct_type()
            .and_then(|s| s.struct_info())
            .and_then(|s| s.layout())
            .map(|l| {
                l.fields
                    .iter()
                    .filter(|f| !f.name.is_empty())
                    .map(|f| f.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn __add__<'py>(slf: &Bound<'py, CData>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        pointer_add(slf, other, 1)
    }

    fn __radd__<'py>(slf: &Bound<'py, CData>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        CData::__add__(slf, other)
    }

    fn __sub__<'py>(slf: &Bound<'py, CData>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        let me = slf.get();
        let Ok(o) = other.cast::<CData>() else {
            return pointer_add(slf, other, -1);
        };
        let them = o.get();
        // `ptr - array` is allowed: the array decays to a pointer.
        let ot = match &them.ty.kind {
            Kind::Array { item, .. } => intern::pointer(item),
            _ => them.ty.clone(),
        };
        let item_ok = match &ot.kind {
            Kind::Pointer(i) => i.size().is_some() || i.is_void(),
            _ => false,
        };
        if !Arc::ptr_eq(&ot, &me.ty) || !item_ok {
            return Err(PyTypeError::new_err(format!(
                "cannot subtract cdata '{}' and cdata '{}'",
                me.ty.cname(),
                ot.cname()
            )));
        }
        let size = ot.item().and_then(|i| i.size()).unwrap_or(1).max(1) as isize;
        let diff = (me.ptr().py()? as isize).wrapping_sub(them.ptr().py()? as isize);
        if size > 1 && diff % size != 0 {
            return Err(PyValueError::new_err(
                "pointer subtraction: the distance between the two pointers is not a multiple of the item size",
            ));
        }
        Ok((diff / size).into_pyobject(slf.py())?.into_any().unbind())
    }

    fn __rsub__<'py>(slf: &Bound<'py, CData>, _other: &Bound<'py, PyAny>) -> Py<PyAny> {
        slf.py().NotImplemented()
    }

    fn __richcmp__<'py>(
        slf: &Bound<'py, CData>,
        other: &Bound<'py, PyAny>,
        op: CompareOp,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let me = slf.get();
        let v_is_ptr = !me.ty.is_scalar();
        // The functions of a `lib` compare as the cdata they stand for.
        let stood = if v_is_ptr && !other.is_instance_of::<CData>() {
            crate::memory::convert::stand_in(other)
        } else {
            None
        };
        let other_cd = other.cast::<CData>().ok().or(stood.as_ref());
        let w_is_ptr = other_cd.is_some_and(|o| !o.get().ty.is_scalar());
        if v_is_ptr && w_is_ptr {
            let o = other_cd.map_or(0, |o| o.get().raw_ptr() as usize);
            let r = compare_addr(me.raw_ptr() as usize, o, op);
            return Ok(r.into_pyobject(py)?.to_owned().into_any().unbind());
        }
        if v_is_ptr || w_is_ptr {
            return Ok(py.NotImplemented());
        }
        let a = compare_value(slf)?;
        let b = match other_cd {
            Some(o) => compare_value(o)?,
            None => other.clone(),
        };
        Ok(a.rich_compare(b, op)?.unbind())
    }

    fn __hash__(slf: &Bound<'_, CData>) -> PyResult<isize> {
        if let Some(v) = CData::py_value(slf)?
            && !v.is_instance_of::<CData>()
        {
            return v.hash();
        }
        Ok(hash_pointer(slf.get().raw_ptr() as usize))
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

    fn __enter__<'py>(slf: &Bound<'py, CData>) -> PyResult<Bound<'py, CData>> {
        crate::python::backend::check_releasable(slf.get())?;
        Ok(slf.clone())
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(slf: &Bound<'_, CData>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        crate::python::backend::release_cdata(slf)?;
        Ok(false)
    }
}

/// `cdata[key]` in general (`capi::item` has the fast path).
pub fn getitem_slow<'py>(
    slf: &Bound<'py, CData>,
    key: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    CData::__getitem__(slf, key)
}

/// `cdata[key] = value`, or `del cdata[key]` when `value` is `None`, in
/// general (`capi::item` has the fast path).
pub fn setitem_slow(
    slf: &Bound<'_, CData>,
    key: &Bound<'_, PyAny>,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    match value {
        Some(v) => CData::__setitem__(slf, key, v),
        None => slf.get().__delitem__(key),
    }
}

/// `getattr(cdata, name)` in general (`capi::attr` has the fast path):
/// a field of the struct, else an attribute of the class, else cffi's
/// error.  Builds the fast path's field table of the struct.
pub fn getattr_slow<'py>(
    slf: &Bound<'py, CData>,
    name: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = slf.py();
    let me = slf.get();
    if let Some(st) = me.struct_type() {
        build_fast_fields(py, st)?;
    }
    let key = name.to_str();
    if let Ok(key) = key
        && let Ok(f) = find_field(me, key, false)
    {
        let addr = me.struct_addr()?;
        // SAFETY: the field lies inside the live struct at addr.
        return unsafe { read_field(slf, f, addr) };
    }
    if let Ok("__name__") = key {
        return Ok(PyString::new(py, "<cdata>").into_any());
    }
    match crate::python::capi::generic_getattr(slf.as_any(), name) {
        Err(e) if e.is_instance_of::<PyAttributeError>(py) => {
            // No field nor attribute has this name: cffi's message.
            let key = name.to_string_lossy();
            Err(match find_field(me, &key, false) {
                Ok(_) => PyAttributeError::new_err(key.to_string()),
                Err(m) => attr_error(me, m, &key),
            })
        }
        r => r,
    }
}

/// `setattr(cdata, name, value)`, or `del cdata.name` when `value` is
/// `None`, in general (`capi::attr` has the fast path).
pub fn setattr_slow(
    slf: &Bound<'_, CData>,
    name: &Bound<'_, PyString>,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let me = slf.get();
    if let Some(st) = me.struct_type() {
        build_fast_fields(slf.py(), st)?;
    }
    let key = name.to_str()?;
    let f = find_field(me, key, true).map_err(|m| attr_error(me, m, key))?;
    let Some(value) = value else {
        return Err(PyAttributeError::new_err("cannot delete struct field"));
    };
    let addr = me.struct_addr()?;
    let container = CData::container(slf);
    // SAFETY: the field lies inside the live struct at addr; open arrays
    // are bounded by the container's memory.
    unsafe { convert::write_field(f, addr, value, container.as_ref()) }
}

/// An index as cffi takes it (`__index__`, IndexError when too large).
fn index_of(key: &Bound<'_, PyAny>) -> PyResult<isize> {
    if let Ok(i) = key.cast::<PyInt>() {
        return i
            .extract::<isize>()
            .map_err(|_| PyIndexError::new_err("cannot fit 'int' into an index-sized integer"));
    }
    if key.hasattr("__index__")? && !key.is_instance_of::<PyFloat>() {
        let i = key.call_method0("__index__")?;
        return index_of(&i);
    }
    Err(PyTypeError::new_err(format!(
        "'{}' object cannot be interpreted as an integer",
        convert::type_name(key)
    )))
}

/// `p[a:b] = value`, with cffi's rules: a same-typed array of the right
/// length is copied; `bytes`/`bytearray` go into `char` slices; anything
/// else is iterated, item by item.
fn set_slice(
    slf: &Bound<'_, CData>,
    s: &Bound<'_, PySlice>,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let me = slf.get();
    let sel = me.slice_sel(s)?;
    let start = me.slice_addr(&sel)?;
    let isz = sel.item.size().unwrap_or(0);
    let n = sel.len;
    if let Ok(src) = value.cast::<CData>() {
        let s = src.get();
        if s.ty.is_array()
            && s.ty.item().is_some_and(|i| Arc::ptr_eq(i, &sel.item))
            && s.array_len() == Some(n)
        {
            let from = s.ptr().py()?;
            // SAFETY: both ranges hold n items of this type.
            unsafe { raw::copy(start, from, n * isz) };
            return Ok(());
        }
    }
    if sel
        .item
        .primitive()
        .is_some_and(|p| p.family == PrimFamily::Char)
        && let Some(bytes) = convert::bytes_like(value)
    {
        if bytes.len() != n {
            return Err(PyValueError::new_err(format!(
                "need a string of length {n}, got {}",
                bytes.len()
            )));
        }
        // SAFETY: the slice holds n bytes.
        unsafe { raw::copy(start, bytes.as_ptr(), n) };
        return Ok(());
    }
    let container = CData::container(slf);
    let mut it = value.try_iter()?;
    for i in 0..n {
        let Some(x) = it.next() else {
            return Err(PyValueError::new_err(format!(
                "need {n} values to unpack, got {i}"
            )));
        };
        // SAFETY: item i < n of the slice, checked against the array's
        // length (pointers: the caller's business, as in C).
        unsafe { convert::write(&sel.item, start.add(i * isz), &x?, container.as_ref())? };
    }
    if let Some(extra) = it.next() {
        extra?;
        return Err(PyValueError::new_err(format!(
            "got more than {n} values to unpack"
        )));
    }
    Ok(())
}

/// The number of items of the open array field `f` that the memory of
/// `slf` holds, when rcffi allocated it (`None` otherwise).
fn open_field_len(slf: &CData, f: &Field, item_size: usize) -> Option<usize> {
    let total = slf.var_byte_size()?;
    Some(total.saturating_sub(f.offset) / item_size.max(1))
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
            if let Kind::Array { len, item } = &f.ty.kind
                && matches!(len, None | Some(0))
            {
                // `T x[]` or `T x[0]`: the items are counted from the
                // allocation if rcffi made it for this struct; otherwise
                // the field reads as a `T *`.
                let keeper = CData::keeper_cdata(slf);
                if len.is_none()
                    && let Some(n) = open_field_len(slf.get(), f, item.size().unwrap_or(1))
                {
                    return Ok(view(slf.py(), f.ty.clone(), faddr, n, keeper)?.into_any());
                }
                return Ok(view(slf.py(), intern::pointer(item), faddr, 0, keeper)?.into_any());
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
