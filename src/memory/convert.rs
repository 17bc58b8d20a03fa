//! Conversions between Python values and C bytes, for every kind of type.
//!
//! [`read`] makes the Python value of C memory; [`write`] stores a Python
//! value into C memory, with cffi's checks and messages.

use pyo3::exceptions::{PyIndexError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyComplex, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::cdata::{CData, Owner};
use super::raw;
use crate::types::{Kind, PrimFamily, Primitive, TypeRef};

/// cffi's name for a Python object's type in messages (`int`, `list`,
/// `cdata 'int *'`).
pub fn describe(v: &Bound<'_, PyAny>) -> String {
    if let Ok(cd) = v.cast::<CData>() {
        return format!("cdata '{}'", cd.get().ty.cname());
    }
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

fn bad_init(ty: &TypeRef, what: &str, v: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "initializer for ctype '{}' must be a {what}, not {}",
        ty.cname(),
        describe(v)
    ))
}

/// A Python integer from `v` with cffi's rules: ints and objects with
/// `__int__`/`__index__`, but not floats (nor float cdata).
pub fn as_integer(v: &Bound<'_, PyAny>) -> PyResult<i128> {
    if let Ok(i) = v.cast::<PyInt>() {
        return int_value(i);
    }
    if v.is_instance_of::<PyFloat>() {
        return Err(PyTypeError::new_err("an integer is required"));
    }
    if let Ok(cd) = v.cast::<CData>() {
        let cd = cd.get();
        return match cd.ty.storage_primitive() {
            Some(p) if p.is_integer() || p.is_char_like() => {
                let addr = cd.ptr()?;
                // SAFETY: a primitive cdata's address holds a value of its size.
                Ok(unsafe { raw::read_int(addr, p.size, p.is_signed()) })
            }
            _ => Err(PyTypeError::new_err("an integer is required")),
        };
    }
    if v.hasattr("__index__")? || v.hasattr("__int__")? {
        let i = v.call_method0(if v.hasattr("__index__")? {
            "__index__"
        } else {
            "__int__"
        })?;
        if let Ok(i) = i.cast::<PyInt>() {
            return int_value(i);
        }
    }
    Err(PyTypeError::new_err("an integer is required"))
}

/// The value of a Python int as i128; values beyond i128 saturate (they
/// are out of range of every C type anyway).
pub fn int_value(i: &Bound<'_, PyInt>) -> PyResult<i128> {
    match i.extract::<i128>() {
        Ok(v) => Ok(v),
        Err(_) => {
            let negative = i.lt(0)?;
            Ok(if negative { i128::MIN } else { i128::MAX })
        }
    }
}

/// Like [`as_integer`] but reduced modulo the type's width (what a cast
/// does): big Python ints are reduced exactly.
pub fn as_integer_wrapping(v: &Bound<'_, PyAny>, size: usize) -> PyResult<i128> {
    if let Ok(i) = v.cast::<PyInt>() {
        if let Ok(x) = i.extract::<i128>() {
            return Ok(x);
        }
        let mask = (1u128 << (size * 8).min(127)) - 1;
        let m = i.call_method1("__and__", (mask,))?;
        return Ok(m.extract::<u128>()? as i128);
    }
    as_integer(v)
}

fn check_range(p: &Primitive, v: i128, shown: &Bound<'_, PyAny>) -> PyResult<()> {
    let (lo, hi) = p.int_range();
    if v < lo || v > hi {
        return Err(PyOverflowError::new_err(format!(
            "integer {} does not fit '{}'",
            shown.str().map(|s| s.to_string()).unwrap_or_default(),
            p.name
        )));
    }
    Ok(())
}

/// A float from `v`: floats, ints, objects with `__float__`, and numeric
/// cdata.
pub fn as_float(v: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(f.value());
    }
    if let Ok(cd) = v.cast::<CData>() {
        let cd = cd.get();
        if let Some(p) = cd.ty.storage_primitive() {
            let addr = cd.ptr()?;
            // SAFETY: a primitive cdata's address holds a value of its size.
            return Ok(unsafe { read_primitive_f64(p, addr) });
        }
        return Err(PyTypeError::new_err(format!(
            "must be real number, not cdata '{}'",
            cd.ty.cname()
        )));
    }
    v.extract::<f64>()
}

/// The value of a numeric primitive as f64.
///
/// # Safety
/// `addr` must hold a value of `p`.
pub unsafe fn read_primitive_f64(p: &Primitive, addr: *const u8) -> f64 {
    // SAFETY: forwarded to the caller's guarantee.
    unsafe {
        match p.family {
            PrimFamily::Float => raw::read_float(addr, p.size),
            PrimFamily::LongDouble => raw::read_long_double(addr, p.size),
            PrimFamily::Complex => raw::read_float(addr, p.size / 2),
            PrimFamily::Signed
            | PrimFamily::Unsigned
            | PrimFamily::Bool
            | PrimFamily::Char
            | PrimFamily::Char16
            | PrimFamily::Char32 => raw::read_int(addr, p.size, p.is_signed()) as f64,
        }
    }
}

/// One character for `char16_t`/`char32_t`/`wchar_t`.
fn as_wide_char(p: &Primitive, ty: &TypeRef, v: &Bound<'_, PyAny>) -> PyResult<u32> {
    if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_cow()?;
        let units: Vec<u32> = if p.family == PrimFamily::Char16 {
            s.encode_utf16().map(u32::from).collect()
        } else {
            s.chars().map(u32::from).collect()
        };
        if units.len() == 1 {
            return Ok(units[0]);
        }
        if p.family == PrimFamily::Char16 && s.chars().count() == 1 {
            return Err(PyTypeError::new_err(format!(
                "initializer for ctype '{}' must be a unicode string of length 1, not a \
                 character outside the basic plane (it needs a surrogate pair)",
                ty.cname()
            )));
        }
    }
    if let Ok(cd) = v.cast::<CData>() {
        let cd = cd.get();
        if let Some(q) = cd.ty.primitive()
            && matches!(q.family, PrimFamily::Char16 | PrimFamily::Char32)
        {
            let addr = cd.ptr()?;
            // SAFETY: a primitive cdata's address holds a value of its size.
            return Ok(unsafe { raw::read_int(addr, q.size, false) } as u32);
        }
    }
    Err(bad_init(ty, "unicode string of length 1", v))
}

/// Stores the Python value `v` as a primitive of type `ty` at `addr`.
///
/// # Safety
/// `addr` must be valid for writing `p.size` bytes.
pub unsafe fn write_primitive(
    p: &'static Primitive,
    ty: &TypeRef,
    addr: *mut u8,
    v: &Bound<'_, PyAny>,
) -> PyResult<()> {
    match p.family {
        PrimFamily::Signed | PrimFamily::Unsigned | PrimFamily::Bool => {
            let i = as_integer(v)?;
            check_range(p, i, v)?;
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { raw::write_int(addr, p.size, i) };
        }
        PrimFamily::Char => {
            let byte = if let Ok(b) = v.cast::<PyBytes>() {
                match b.as_bytes() {
                    [c] => *c,
                    _ => return Err(bad_init(ty, "bytes of length 1", v)),
                }
            } else if let Ok(cd) = v.cast::<CData>()
                && cd
                    .get()
                    .ty
                    .primitive()
                    .is_some_and(|q| q.family == PrimFamily::Char)
            {
                let addr = cd.get().ptr()?;
                // SAFETY: a char cdata holds one byte.
                unsafe { raw::read_int(addr, 1, false) as u8 }
            } else {
                return Err(bad_init(ty, "bytes of length 1", v));
            };
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { raw::write_int(addr, 1, i128::from(byte)) };
        }
        PrimFamily::Char16 | PrimFamily::Char32 => {
            let c = as_wide_char(p, ty, v)?;
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { raw::write_int(addr, p.size, i128::from(c)) };
        }
        PrimFamily::Float => {
            let f = as_float(v)?;
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { raw::write_float(addr, p.size, f) };
        }
        PrimFamily::LongDouble => {
            // A long double cdata is copied bit for bit (no rounding).
            if let Ok(cd) = v.cast::<CData>()
                && cd
                    .get()
                    .ty
                    .primitive()
                    .is_some_and(|q| q.family == PrimFamily::LongDouble)
            {
                let src = cd.get().ptr()?;
                // SAFETY: both hold a long double of p.size bytes.
                unsafe { raw::copy(addr, src, p.size) };
                return Ok(());
            }
            let f = as_float(v)?;
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { raw::write_long_double(addr, p.size, f) };
        }
        PrimFamily::Complex => {
            let (re, im) = as_complex(v)?;
            let half = p.size / 2;
            // SAFETY: forwarded to the caller's guarantee (two halves).
            unsafe {
                raw::write_float(addr, half, re);
                raw::write_float(addr.add(half), half, im);
            }
        }
    }
    Ok(())
}

/// A complex number from a complex, a float, an int or a numeric cdata.
pub fn as_complex(v: &Bound<'_, PyAny>) -> PyResult<(f64, f64)> {
    if let Ok(c) = v.cast::<PyComplex>() {
        return Ok((c.real(), c.imag()));
    }
    if let Ok(cd) = v.cast::<CData>() {
        let cd = cd.get();
        if let Some(p) = cd.ty.primitive()
            && p.family == PrimFamily::Complex
        {
            let addr = cd.ptr()?;
            let half = p.size / 2;
            // SAFETY: a complex cdata holds two floats of `half` bytes.
            return Ok(unsafe {
                (
                    raw::read_float(addr, half),
                    raw::read_float(addr.add(half), half),
                )
            });
        }
    }
    if v.hasattr("__complex__")? {
        let c = v.call_method0("__complex__")?;
        if let Ok(c) = c.cast::<PyComplex>() {
            return Ok((c.real(), c.imag()));
        }
    }
    Ok((as_float(v)?, 0.0))
}

/// Reads a primitive of type `ty` at `addr` as a Python object.
///
/// # Safety
/// `addr` must hold a value of `p`.
pub unsafe fn read_primitive<'py>(
    py: Python<'py>,
    p: &'static Primitive,
    ty: &TypeRef,
    addr: *const u8,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: (whole body) forwarded to the caller's guarantee.
    unsafe {
        Ok(match p.family {
            PrimFamily::Signed | PrimFamily::Unsigned => {
                let v = raw::read_int(addr, p.size, p.is_signed());
                if p.size <= 8 {
                    if p.is_signed() {
                        (v as i64).into_pyobject(py)?.into_any()
                    } else {
                        (v as u64).into_pyobject(py)?.into_any()
                    }
                } else {
                    v.into_pyobject(py)?.into_any()
                }
            }
            PrimFamily::Bool => {
                let v = raw::read_int(addr, 1, false);
                if v > 1 {
                    return Err(PyValueError::new_err(format!(
                        "got a _Bool of value {v}, expected 0 or 1"
                    )));
                }
                PyBool::new(py, v != 0).to_owned().into_any()
            }
            PrimFamily::Char => PyBytes::new(py, &[*addr]).into_any(),
            PrimFamily::Char16 | PrimFamily::Char32 => {
                let u = raw::read_int(addr, p.size, false) as u32;
                wide_to_py(py, u)?
            }
            PrimFamily::Float => raw::read_float(addr, p.size).into_pyobject(py)?.into_any(),
            PrimFamily::LongDouble => {
                // Kept as a cdata so that no precision is lost.
                let mut bytes = [0u8; 16];
                raw::copy(bytes.as_mut_ptr(), addr, p.size.min(16));
                Bound::new(py, CData::value(ty.clone(), bytes))?.into_any()
            }
            PrimFamily::Complex => {
                let half = p.size / 2;
                let (re, im) = (
                    raw::read_float(addr, half),
                    raw::read_float(addr.add(half), half),
                );
                PyComplex::from_doubles(py, re, im).into_any()
            }
        })
    }
}

fn wide_to_py(py: Python<'_>, u: u32) -> PyResult<Bound<'_, PyAny>> {
    match char::from_u32(u) {
        Some(c) => Ok(PyString::new(py, c.encode_utf8(&mut [0; 4])).into_any()),
        None if (0xD800..0xE000).contains(&u) => {
            // A lone surrogate: Python can hold it.
            let s = py.eval(&std::ffi::CString::new(format!("chr({u})"))?, None, None)?;
            Ok(s)
        }
        None => Err(PyValueError::new_err(format!(
            "char32_t out of range for unicode: 0x{u:x}"
        ))),
    }
}

/// The Python value of the C object of type `ty` at `addr`.  Arrays and
/// structs give views that keep `base` (the owner of the memory) alive.
///
/// # Safety
/// `addr` must be valid for reading a value of `ty`.
pub unsafe fn read<'py>(
    py: Python<'py>,
    ty: &TypeRef,
    addr: *mut u8,
    base: Option<&Bound<'py, CData>>,
) -> PyResult<Bound<'py, PyAny>> {
    match &ty.kind {
        // SAFETY: forwarded to the caller's guarantee.
        Kind::Primitive(p) => unsafe { read_primitive(py, p, ty, addr) },
        Kind::Enum(e) => {
            let p = e
                .base
                .primitive()
                .ok_or_else(|| PyTypeError::new_err("bad enum"))?;
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { read_primitive(py, p, ty, addr) }
        }
        Kind::Pointer(_) | Kind::Function(_) => {
            // SAFETY: forwarded to the caller's guarantee.
            let v = unsafe { raw::read_ptr(addr) };
            // A pointer rcffi stored with a keep-alive keeps it alive again.
            let kept = base
                .and_then(|b| CData::container(b))
                .and_then(|c| c.get().kept_at(py, addr as usize))
                .and_then(|k| k.bind(py).cast::<CData>().ok().map(|c| c.clone().unbind()));
            let owner = Owner::Borrowed { base: kept };
            Ok(Bound::new(py, CData::new(ty.clone(), v, 0, owner))?.into_any())
        }
        Kind::Array { .. } | Kind::Struct(_) => {
            let owner = Owner::Borrowed {
                base: base.map(|b| b.clone().unbind()),
            };
            Ok(Bound::new(py, CData::new(ty.clone(), addr, 0, owner))?.into_any())
        }
        Kind::Void => Err(PyTypeError::new_err("cannot read a value of type 'void'")),
    }
}

/// Stores `v` into the C object of type `ty` at `addr`.  `container` is
/// the cdata owning that memory, if rcffi allocated it: owning cdata
/// stored into its pointer slots are kept alive by it.
///
/// # Safety
/// `addr` must be valid for writing a value of `ty`.
pub unsafe fn write(
    ty: &TypeRef,
    addr: *mut u8,
    v: &Bound<'_, PyAny>,
    container: Option<&Bound<'_, CData>>,
) -> PyResult<()> {
    match &ty.kind {
        // SAFETY: forwarded to the caller's guarantee.
        Kind::Primitive(p) => unsafe { write_primitive(p, ty, addr, v) },
        Kind::Enum(e) => {
            let p = e
                .base
                .primitive()
                .ok_or_else(|| PyTypeError::new_err("bad enum"))?;
            if v.is_instance_of::<PyString>() {
                return Err(bad_init(ty, "integer", v));
            }
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { write_primitive(p, &e.base, addr, v) }
        }
        Kind::Pointer(_) | Kind::Function(_) => {
            let (value, keep) = pointer_value(ty, v)?;
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { raw::write_ptr(addr, value) };
            if let Some(c) = container {
                c.get().keep_at(addr as usize, keep);
            }
            Ok(())
        }
        // SAFETY: forwarded to the caller's guarantee.
        Kind::Array { item, len } => unsafe { write_array(ty, item, *len, addr, v, container) },
        // SAFETY: forwarded to the caller's guarantee.
        Kind::Struct(_) => unsafe { write_struct(ty, addr, v, container) },
        Kind::Void => Err(PyTypeError::new_err("cannot store a value of type 'void'")),
    }
}

/// Whether a cdata of type `src` may initialise a pointer of type `dst`
/// without a cast.
pub fn pointer_compatible(dst: &TypeRef, src: &TypeRef) -> bool {
    if std::sync::Arc::ptr_eq(dst, src) {
        return true;
    }
    let (Some(d), Some(s)) = (dst.item(), pointer_item_of(src)) else {
        return matches!(dst.kind, Kind::Function(_)) && std::sync::Arc::ptr_eq(dst, src);
    };
    std::sync::Arc::ptr_eq(d, &s) || d.is_void() || s.is_void()
}

fn pointer_item_of(t: &TypeRef) -> Option<TypeRef> {
    match &t.kind {
        Kind::Pointer(i) | Kind::Array { item: i, .. } => Some(i.clone()),
        _ => None,
    }
}

/// The address to store for `v` in a pointer of type `ty`, and the object
/// to keep alive with it.
pub fn pointer_value(
    ty: &TypeRef,
    v: &Bound<'_, PyAny>,
) -> PyResult<(*const u8, Option<Py<PyAny>>)> {
    if v.is_none() {
        return Ok((std::ptr::null(), None));
    }
    let Ok(cd) = v.cast::<CData>() else {
        let what = if matches!(ty.kind, Kind::Function(_)) {
            "cdata function pointer"
        } else {
            "cdata pointer"
        };
        return Err(bad_init(ty, what, v));
    };
    let src = &cd.get().ty;
    if !pointer_compatible(ty, src) {
        if pointer_item_of(src).is_some() || matches!(src.kind, Kind::Function(_)) {
            return Err(PyTypeError::new_err(format!(
                "initializer for ctype '{}' must be a pointer to same type, not cdata '{}'",
                ty.cname(),
                src.cname()
            )));
        }
        return Err(bad_init(ty, "cdata pointer", v));
    }
    Ok((cd.get().ptr()? as *const u8, CData::keeper(cd)))
}

/// # Safety
/// `addr` must be valid for writing the array (of `len` items, or of as
/// many as `v` provides for open arrays, checked by the caller).
unsafe fn write_array(
    ty: &TypeRef,
    item: &TypeRef,
    len: Option<usize>,
    addr: *mut u8,
    v: &Bound<'_, PyAny>,
    container: Option<&Bound<'_, CData>>,
) -> PyResult<()> {
    let isize_ = item.size().unwrap_or(0);
    let too_many = |got: usize| {
        PyIndexError::new_err(format!(
            "too many initializers for '{}' (got {got})",
            ty.cname()
        ))
    };
    if let Ok(list) = v.cast::<PyList>() {
        let n = list.len();
        if len.is_some_and(|l| n > l) {
            return Err(too_many(n));
        }
        for (i, x) in list.iter().enumerate() {
            // SAFETY: i < len: within the array.
            unsafe { write(item, addr.add(i * isize_), &x, container)? };
        }
        return Ok(());
    }
    if let Ok(tuple) = v.cast::<PyTuple>() {
        let n = tuple.len();
        if len.is_some_and(|l| n > l) {
            return Err(too_many(n));
        }
        for (i, x) in tuple.iter().enumerate() {
            // SAFETY: i < len: within the array.
            unsafe { write(item, addr.add(i * isize_), &x, container)? };
        }
        return Ok(());
    }
    let item_prim = item.primitive();
    if let (Ok(b), Some(p)) = (v.cast::<PyBytes>(), item_prim)
        && p.size == 1
        && matches!(
            p.family,
            PrimFamily::Char | PrimFamily::Signed | PrimFamily::Unsigned | PrimFamily::Bool
        )
    {
        let bytes = b.as_bytes();
        if len.is_some_and(|l| bytes.len() > l) {
            return Err(PyIndexError::new_err(format!(
                "initializer string is too long for '{}' (got {} characters)",
                ty.cname(),
                bytes.len()
            )));
        }
        // SAFETY: bytes.len() <= len bytes are writable.
        unsafe { raw::copy(addr, bytes.as_ptr(), bytes.len()) };
        if len.is_none_or(|l| bytes.len() < l) {
            // SAFETY: one more byte is within the array.
            unsafe { raw::write_int(addr.add(bytes.len()), 1, 0) };
        }
        return Ok(());
    }
    if let (Ok(s), Some(p)) = (v.cast::<PyString>(), item_prim)
        && matches!(p.family, PrimFamily::Char16 | PrimFamily::Char32)
    {
        let units = encode_wide(&s.to_cow()?, p);
        if len.is_some_and(|l| units.len() > l) {
            return Err(PyIndexError::new_err(format!(
                "initializer unicode string is too long for '{}' (got {} characters)",
                ty.cname(),
                units.len()
            )));
        }
        for (i, u) in units.iter().enumerate() {
            // SAFETY: i < len.
            unsafe { raw::write_int(addr.add(i * p.size), p.size, i128::from(*u)) };
        }
        if len.is_none_or(|l| units.len() < l) {
            // SAFETY: the terminator fits.
            unsafe { raw::write_int(addr.add(units.len() * p.size), p.size, 0) };
        }
        return Ok(());
    }
    if let Ok(cd) = v.cast::<CData>()
        && std::sync::Arc::ptr_eq(&cd.get().ty, ty)
    {
        let n = ty.size().unwrap_or(0);
        let src = cd.get().ptr()?;
        // SAFETY: both are arrays of the same type and size.
        unsafe { raw::copy(addr, src, n) };
        return Ok(());
    }
    let what = match item_prim.map(|p| p.family) {
        Some(PrimFamily::Char) => "list or tuple or bytes",
        Some(PrimFamily::Char16 | PrimFamily::Char32) => "list or tuple or unicode string",
        _ => "list or tuple",
    };
    Err(bad_init(ty, what, v))
}

/// Encodes `s` as UTF-16 units or code points for a wide char type.
pub fn encode_wide(s: &str, p: &Primitive) -> Vec<u32> {
    if p.family == PrimFamily::Char16 {
        s.encode_utf16().map(u32::from).collect()
    } else {
        s.chars().map(u32::from).collect()
    }
}

/// # Safety
/// `addr` must be valid for writing a struct of type `ty`.
unsafe fn write_struct(
    ty: &TypeRef,
    addr: *mut u8,
    v: &Bound<'_, PyAny>,
    container: Option<&Bound<'_, CData>>,
) -> PyResult<()> {
    let Some(layout) = ty.struct_info().and_then(|s| s.layout()) else {
        return Err(PyTypeError::new_err(format!(
            "'{}' is opaque or not completed yet",
            ty.cname()
        )));
    };
    if let Ok(cd) = v.cast::<CData>()
        && std::sync::Arc::ptr_eq(&cd.get().ty, ty)
    {
        let src = cd.get().ptr()?;
        // SAFETY: both hold a struct of this type.
        unsafe { raw::copy(addr, src, layout.size) };
        return Ok(());
    }
    let items: Option<Vec<Bound<'_, PyAny>>> = if let Ok(l) = v.cast::<PyList>() {
        Some(l.iter().collect())
    } else if let Ok(t) = v.cast::<PyTuple>() {
        Some(t.iter().collect())
    } else {
        None
    };
    if let Some(items) = items {
        let fields: Vec<_> = layout
            .fields
            .iter()
            .filter(|f| f.flags.0 & crate::types::FieldFlags::IGNORE_IN_CTOR == 0)
            .collect();
        if items.len() > fields.len() {
            return Err(PyValueError::new_err(format!(
                "too many initializers for '{}' (got {})",
                ty.cname(),
                items.len()
            )));
        }
        for (f, x) in fields.iter().zip(items.iter()) {
            // SAFETY: the field lies within the struct.
            unsafe { write_field(f, addr, x, container)? };
        }
        return Ok(());
    }
    if let Ok(d) = v.cast::<PyDict>() {
        for (k, x) in d.iter() {
            let name: String = k.extract()?;
            let Some(f) = layout.field(&name) else {
                return Err(pyo3::exceptions::PyKeyError::new_err(format!(
                    "'{}' has no field '{name}'",
                    ty.cname()
                )));
            };
            // SAFETY: the field lies within the struct.
            unsafe { write_field(f, addr, &x, container)? };
        }
        return Ok(());
    }
    Err(bad_init(ty, "list or tuple or dict or struct-cdata", v))
}

/// Stores `v` into field `f` of the struct at `base`.
///
/// # Safety
/// `base` must be valid for writing the struct holding `f`.
pub unsafe fn write_field(
    f: &crate::types::Field,
    base: *mut u8,
    v: &Bound<'_, PyAny>,
    container: Option<&Bound<'_, CData>>,
) -> PyResult<()> {
    // SAFETY: the field lies within the struct.
    let addr = unsafe { base.add(f.offset) };
    match (f.bitshift, f.bitsize) {
        // SAFETY: forwarded to the caller's guarantee.
        (Some(shift), Some(bits)) => unsafe { write_bitfield(f, addr, shift, bits, v) },
        // A flexible array member: `v` gives its length.
        // SAFETY: forwarded to the caller's guarantee.
        _ => unsafe { write(&f.ty, addr, v, container) },
    }
}

/// How many bytes from the field's offset hold its bits (only those are
/// read or written, so a bitfield at the end of a packed struct never
/// touches memory past it).
fn bitfield_bytes(shift: u32, bits: u32) -> usize {
    (shift + bits).div_ceil(8) as usize
}

/// Whether a bitfield of this type holds signed values (`char` follows
/// the platform's signedness of `char`).
fn bitfield_signed(p: &Primitive) -> bool {
    match p.family {
        PrimFamily::Char => !cfg!(any(target_arch = "arm", target_arch = "aarch64")),
        _ => p.is_signed(),
    }
}

/// # Safety
/// `addr` must be valid for the field's unit.
unsafe fn write_bitfield(
    f: &crate::types::Field,
    addr: *mut u8,
    shift: u32,
    bits: u32,
    v: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let p =
        f.ty.storage_primitive()
            .ok_or_else(|| PyTypeError::new_err("bitfield of a non-integer type"))?;
    // A `char` bitfield holds a small integer, as in cffi.
    let value = as_integer(v)?;
    let (lo, hi) = if bitfield_signed(p) {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if value < lo || value > hi {
        return Err(PyOverflowError::new_err(format!(
            "value {value} outside the range allowed by the bit field width: {lo} <= x <= {hi}"
        )));
    }
    let mask = ((1u128 << bits) - 1) << shift;
    let n = bitfield_bytes(shift, bits);
    // SAFETY: the n bytes holding the field's bits are within the struct.
    unsafe {
        let old = raw::read_uint_le(addr, n);
        let new = (old & !mask) | (((value as u128) << shift) & mask);
        raw::write_uint_le(addr, n, new);
    }
    Ok(())
}

/// Reads a bitfield.
///
/// # Safety
/// `addr` must be valid for the field's unit.
pub unsafe fn read_bitfield<'py>(
    py: Python<'py>,
    f: &crate::types::Field,
    addr: *const u8,
    shift: u32,
    bits: u32,
) -> PyResult<Bound<'py, PyAny>> {
    let p =
        f.ty.storage_primitive()
            .ok_or_else(|| PyTypeError::new_err("bitfield of a non-integer type"))?;
    // SAFETY: the bytes holding the field's bits are within the struct.
    let unit = unsafe { raw::read_uint_le(addr, bitfield_bytes(shift, bits)) };
    let raw_v = (unit >> shift) & ((1u128 << bits) - 1);
    let v = if bitfield_signed(p) && raw_v >> (bits - 1) & 1 == 1 {
        raw_v as i128 - (1i128 << bits)
    } else {
        raw_v as i128
    };
    if p.family == PrimFamily::Bool {
        return Ok(PyBool::new(py, v != 0).to_owned().into_any());
    }
    Ok(v.into_pyobject(py)?.into_any())
}
