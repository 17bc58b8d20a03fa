//! Conversions between Python values and C bytes, for every kind of type.
//!
//! [`read`] makes the Python value of C memory; [`write`] stores a Python
//! value into C memory, with cffi's checks and messages.  Writes of open
//! arrays (`T[]`, whose length the type does not say) are bounded by the
//! end of the memory when rcffi knows it (memory it allocated, or a
//! Python buffer), where cffi would write past it.

use crate::python::errors::CoreResult;
use pyo3::exceptions::{PyIndexError, PyOverflowError, PySystemError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyComplex, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};

use super::cdata::CData;
use super::raw;
use crate::types::{FieldFlags, Kind, PrimFamily, Primitive, TypeRef};

/// cffi's name for a Python object's type in messages (`int`, `list`,
/// `cdata 'int *'`).
pub fn describe(v: &Bound<'_, PyAny>) -> String {
    if let Ok(cd) = v.cast::<CData>() {
        return format!("cdata '{}'", cd.get().ty.cname());
    }
    type_name(v)
}

/// The name of the type of `v` as CPython's `tp_name` gives it: `int`,
/// `NoneType`, `array.array` (types of C extensions: with their module
/// unless it is `builtins`), `Foo` (classes defined in Python code).
pub fn type_name(v: &Bound<'_, PyAny>) -> String {
    let t = v.get_type();
    let name = if defined_in_python(&t) {
        t.name()
    } else {
        t.fully_qualified_name()
    };
    name.map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

/// Whether a type is a class statement's (its module is `__main__` or
/// Python source): CPython names those without their module.
fn defined_in_python(t: &Bound<'_, pyo3::types::PyType>) -> bool {
    const HEAPTYPE: u64 = 1 << 9;
    let heap = t
        .getattr("__flags__")
        .and_then(|f| f.extract::<u64>())
        .is_ok_and(|f| f & HEAPTYPE != 0);
    if !heap {
        return false;
    }
    let Ok(module) = t.getattr("__module__").and_then(|m| m.extract::<String>()) else {
        return true;
    };
    if module == "__main__" {
        return true;
    }
    let py = t.py();
    py.import("sys")
        .and_then(|sys| sys.getattr("modules")?.get_item(&module))
        .and_then(|m| m.getattr("__file__"))
        .and_then(|f| f.extract::<String>())
        .is_ok_and(|f| f.ends_with(".py") || f.ends_with(".pyc"))
}

/// cffi's error for a value that cannot initialise `ty`: `expected` says
/// what was expected.  Two distinct types with the same name get their
/// own message.
pub fn convert_error(ty: &TypeRef, expected: &str, v: &Bound<'_, PyAny>) -> PyErr {
    if let Ok(cd) = v.cast::<CData>() {
        let t2 = &cd.get().ty;
        if t2.cname() != ty.cname() {
            return PyTypeError::new_err(format!(
                "initializer for ctype '{}' must be a {expected}, not cdata '{}'",
                ty.cname(),
                t2.cname()
            ));
        }
        if !std::sync::Arc::ptr_eq(t2, ty) {
            return PyTypeError::new_err(format!(
                "initializer for ctype '{}' appears indeed to be '{}', but the types are different (check \
                 that you are not e.g. mixing up different ffi instances)",
                ty.cname(),
                t2.cname()
            ));
        }
        return PySystemError::new_err(format!(
            "initializer for ctype '{}' is correct, but we get an internal mismatch--please report a bug",
            ty.cname()
        ));
    }
    PyTypeError::new_err(format!(
        "initializer for ctype '{}' must be a {expected}, not {}",
        ty.cname(),
        type_name(v)
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
                let addr = cd.ptr().py()?;
                // SAFETY: a primitive cdata's address holds a value of its size.
                Ok(unsafe { raw::read_int(addr, p.size, p.reads_signed()) })
            }
            _ => Err(PyTypeError::new_err("an integer is required")),
        };
    }
    let method = if v.hasattr("__index__")? {
        "__index__"
    } else if v.hasattr("__int__")? {
        "__int__"
    } else {
        return Err(PyTypeError::new_err("an integer is required"));
    };
    let i = v.call_method0(method)?;
    match i.cast::<PyInt>() {
        Ok(i) => int_value(i),
        Err(_) => Err(PyTypeError::new_err("integer conversion failed")),
    }
}

/// The value of a Python int as i128; values beyond i128 saturate (they
/// are out of range of every C type anyway).
pub fn int_value(i: &Bound<'_, PyInt>) -> PyResult<i128> {
    // Fast path without allocation (the 128-bit conversion of the limited
    // API builds temporary ints).
    if let Ok(v) = i.extract::<i64>() {
        return Ok(i128::from(v));
    }
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
        if let Ok(x) = i.extract::<i64>() {
            return Ok(i128::from(x));
        }
        if let Ok(x) = i.extract::<i128>() {
            return Ok(x);
        }
        let mask = (1u128 << (size * 8).min(127)) - 1;
        let m = i.call_method1("__and__", (mask,))?;
        return Ok(m.extract::<u128>()? as i128);
    }
    as_integer(v)
}

fn overflow(name: &str, shown: &Bound<'_, PyAny>) -> PyErr {
    PyOverflowError::new_err(format!(
        "integer {} does not fit '{name}'",
        shown.str().map(|s| s.to_string()).unwrap_or_default(),
    ))
}

/// Checks that `v` fits the integer primitive `p` of the type called
/// `name` (an enum's name, or the primitive's).
fn check_range(p: &Primitive, name: &str, v: i128, shown: &Bound<'_, PyAny>) -> PyResult<()> {
    let (lo, hi) = p.int_range();
    if v < 0 && p.family != PrimFamily::Signed {
        return Err(PyOverflowError::new_err(
            "can't convert negative number to unsigned",
        ));
    }
    if v < lo || v > hi {
        return Err(overflow(name, shown));
    }
    Ok(())
}

/// A float from `v` (Python's `float(v)` rules, and float cdata only).
pub fn as_float(v: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(f.value());
    }
    if let Ok(cd) = v.cast::<CData>() {
        let cd = cd.get();
        if let Some(p) = cd.ty.primitive().filter(|p| p.is_float()) {
            let addr = cd.ptr().py()?;
            // SAFETY: a primitive cdata's address holds a value of its size.
            return Ok(unsafe { read_primitive_f64(p, addr) });
        }
        return Err(PyTypeError::new_err(format!(
            "float() not supported on cdata '{}'",
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

/// The code points of a Python string, lone surrogates included.
pub fn code_points(s: &Bound<'_, PyString>) -> PyResult<Vec<u32>> {
    if let Ok(text) = s.to_str() {
        return Ok(text.chars().map(u32::from).collect());
    }
    let b = s.call_method1("encode", ("utf-32-le", "surrogatepass"))?;
    let b = b.cast::<PyBytes>()?;
    Ok(b.as_bytes()
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Encodes code points as UTF-16 units (`unit == 2`) or keeps them.
pub fn encode_units(cps: &[u32], unit: usize) -> PyResult<Vec<u32>> {
    if unit != 2 {
        return Ok(cps.to_vec());
    }
    let mut out = Vec::with_capacity(cps.len());
    for &c in cps {
        if c > 0xFFFF {
            if c > 0x10FFFF {
                return Err(PyValueError::new_err(format!(
                    "unicode character out of range for conversion to char16_t: 0x{c:x}"
                )));
            }
            let c = c - 0x10000;
            out.push(0xD800 | (c >> 10));
            out.push(0xDC00 | (c & 0x3FF));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Encodes `s` as UTF-16 units or code points for a wide char type.
pub fn encode_wide(s: &Bound<'_, PyString>, p: &Primitive) -> PyResult<Vec<u32>> {
    encode_units(&code_points(s)?, p.size)
}

/// A Python string from UTF-16 units (`unit == 2`, surrogate pairs
/// combined, lone surrogates kept) or code points.
pub fn wide_to_string<'py>(
    py: Python<'py>,
    units: &[u32],
    unit: usize,
) -> PyResult<Bound<'py, PyString>> {
    let fast: Option<String> = if unit == 2 {
        let u16s: Vec<u16> = units.iter().map(|u| *u as u16).collect();
        String::from_utf16(&u16s).ok()
    } else {
        units.iter().map(|u| char::from_u32(*u)).collect()
    };
    if let Some(s) = fast {
        return Ok(PyString::new(py, &s));
    }
    let (bytes, codec): (Vec<u8>, &str) = if unit == 2 {
        (
            units
                .iter()
                .flat_map(|u| (*u as u16).to_le_bytes())
                .collect(),
            "utf-16-le",
        )
    } else {
        if let Some(bad) = units.iter().find(|u| **u > 0x10FFFF) {
            return Err(PyValueError::new_err(format!(
                "character U+{bad:x} is not in range [U+0000; U+10ffff]"
            )));
        }
        (
            units.iter().flat_map(|u| u.to_le_bytes()).collect(),
            "utf-32-le",
        )
    };
    let s = PyBytes::new(py, &bytes).call_method1("decode", (codec, "surrogatepass"))?;
    Ok(s.cast_into::<PyString>()?)
}

/// One character for `char16_t`/`char32_t`/`wchar_t` (cffi's rules: a
/// one-character string, or a character cdata of the same size).
fn as_wide_char(p: &Primitive, v: &Bound<'_, PyAny>) -> PyResult<u32> {
    let mut got: Option<String> = None;
    if let Ok(s) = v.cast::<PyString>() {
        // Fast path: one character that is not beyond char16_t's range.
        if let Ok(text) = s.to_str() {
            let mut it = text.chars();
            if let (Some(c), None) = (it.next(), it.next())
                && (p.size != 2 || u32::from(c) <= 0xFFFF)
            {
                return Ok(u32::from(c));
            }
        }
        let cps = code_points(s)?;
        if cps.len() != 1 {
            got = Some(format!("unicode string of length {}", cps.len()));
        } else if p.size == 2 && cps[0] > 0xFFFF {
            got = Some("larger-than-0xFFFF character".to_owned());
        } else {
            return Ok(cps[0]);
        }
    }
    if let Ok(cd) = v.cast::<CData>() {
        let cd = cd.get();
        if let Some(q) = cd.ty.primitive()
            && q.is_char_like()
            && q.size == p.size
        {
            let addr = cd.ptr().py()?;
            // SAFETY: a primitive cdata's address holds a value of its size.
            return Ok(unsafe { raw::read_int(addr, q.size, false) } as u32);
        }
    }
    let name = if p.size == 2 { "char16_t" } else { "char32_t" };
    Err(PyTypeError::new_err(format!(
        "initializer for ctype '{name}' must be a unicode string of length 1, not {}",
        got.unwrap_or_else(|| type_name(v))
    )))
}

/// A complex number (Python's `complex(v)` rules; of cdata, only complex
/// ones).
pub fn as_complex(v: &Bound<'_, PyAny>) -> PyResult<(f64, f64)> {
    if let Ok(c) = v.cast::<PyComplex>() {
        return Ok((c.real(), c.imag()));
    }
    if let Ok(cd) = v.cast::<CData>() {
        let cd = cd.get();
        if let Some(p) = cd.ty.primitive()
            && p.family == PrimFamily::Complex
        {
            let addr = cd.ptr().py()?;
            let half = p.size / 2;
            // SAFETY: a complex cdata holds two floats of `half` bytes.
            return Ok(unsafe {
                (
                    raw::read_float(addr, half),
                    raw::read_float(addr.add(half), half),
                )
            });
        }
        return Err(PyTypeError::new_err(format!(
            "complex() not supported on cdata '{}'",
            cd.ty.cname()
        )));
    }
    if v.hasattr("__complex__")? {
        let c = v.call_method0("__complex__")?;
        if let Ok(c) = c.cast::<PyComplex>() {
            return Ok((c.real(), c.imag()));
        }
        return Err(PyTypeError::new_err(
            "__complex__ should return a complex object",
        ));
    }
    Ok((v.extract::<f64>()?, 0.0))
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
            check_range(p, ty.cname(), i, v)?;
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { raw::write_int(addr, p.size, i) };
        }
        PrimFamily::Char => {
            let byte = if let Ok(b) = v.cast::<PyBytes>()
                && let [c] = b.as_bytes()
            {
                *c
            } else if let Ok(cd) = v.cast::<CData>()
                && cd
                    .get()
                    .ty
                    .primitive()
                    .is_some_and(|q| q.family == PrimFamily::Char)
            {
                let addr = cd.get().ptr().py()?;
                // SAFETY: a char cdata holds one byte.
                unsafe { raw::read_int(addr, 1, false) as u8 }
            } else {
                return Err(PyTypeError::new_err(format!(
                    "initializer for ctype '{}' must be a bytes of length 1, not {}",
                    ty.cname(),
                    type_name(v)
                )));
            };
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { raw::write_int(addr, 1, i128::from(byte)) };
        }
        PrimFamily::Char16 | PrimFamily::Char32 => {
            let c = as_wide_char(p, v)?;
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
                let src = cd.get().ptr().py()?;
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
                wide_to_string(py, &[u], p.size)?.into_any()
            }
            PrimFamily::Float => raw::read_float(addr, p.size).into_pyobject(py)?.into_any(),
            PrimFamily::LongDouble => {
                // Kept as a cdata so that no precision is lost.
                let mut bytes = [0u8; 16];
                raw::copy(bytes.as_mut_ptr(), addr, p.size.min(16));
                CData::value(ty.clone(), bytes)
                    .into_base_object(py)?
                    .into_any()
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

/// The Python value of the C object of type `ty` at `addr`.  Arrays and
/// structs give views that keep the owner of the memory of `base` alive.
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
            if let Some(p) = base
                .and_then(|b| CData::container(b))
                .and_then(|c| c.get().kept_pointer(py, addr as usize, ty, v))
            {
                return Ok(p?.into_any());
            }
            Ok(CData::borrowed(ty.clone(), v, 0, None)
                .into_base_object(py)?
                .into_any())
        }
        Kind::Array { .. } | Kind::Struct(_) => {
            let keeper = base.and_then(CData::keeper_cdata);
            Ok(CData::borrowed(ty.clone(), addr, 0, keeper)
                .into_base_object(py)?
                .into_any())
        }
        Kind::Void => Err(PyTypeError::new_err("cannot read a value of type 'void'")),
    }
}

/// Where a write may go: the end of the memory rcffi knows the target
/// lives in, used to bound open arrays.
fn limit_of(container: Option<&Bound<'_, CData>>) -> Option<usize> {
    container
        .and_then(|c| c.get().known_range())
        .map(|(start, len)| start + len)
}

/// Stores `v` into the C object of type `ty` at `addr`.  `container` is
/// the cdata owning that memory, if rcffi knows it: owning cdata stored
/// into its pointer slots are kept alive by it, and open arrays are
/// bounded by its end.
///
/// # Safety
/// `addr` must be valid for writing a value of `ty` (for open arrays: as
/// many items as `v` provides, up to the end of `container` if given).
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
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { write_primitive(p, ty, addr, v) }
        }
        Kind::Pointer(_) | Kind::Function(_) => {
            if v.is_none() {
                return Err(convert_error(ty, "cdata pointer", v));
            }
            let (value, keep) = pointer_value(ty, v)?;
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { raw::write_ptr(addr, value) };
            if let Some(c) = container {
                CData::keep_at(c, addr as usize, keep);
            }
            Ok(())
        }
        Kind::Array { item, len } => {
            let room = match len {
                Some(n) => Some(*n),
                None => limit_of(container)
                    .map(|end| end.saturating_sub(addr as usize) / item.size().unwrap_or(1).max(1)),
            };
            // SAFETY: forwarded to the caller's guarantee.
            unsafe { write_array(ty, item, *len, room, addr, v, container) }
        }
        // SAFETY: forwarded to the caller's guarantee.
        Kind::Struct(_) => unsafe { write_struct(ty, addr, v, container) },
        Kind::Void => Err(PyTypeError::new_err("cannot store a value of type 'void'")),
    }
}

/// `void *`, or `char *` (cffi's `CT_IS_VOIDCHAR_PTR` for the latter).
fn is_void_ptr(t: &TypeRef) -> bool {
    matches!(&t.kind, Kind::Pointer(i) if i.is_void())
}

fn is_char_ptr(t: &TypeRef) -> bool {
    matches!(&t.kind, Kind::Pointer(i) if i.primitive().is_some_and(|p| p.family == PrimFamily::Char))
}

fn points_to_bytes(t: &TypeRef) -> bool {
    matches!(&t.kind, Kind::Pointer(i) if i.size() == Some(1))
}

/// Why a pointer may not be initialised from a cdata.
enum PtrMismatch {
    NotPointer,
    CharPtr { to_char: bool },
    Different,
}

/// cffi's rules for initialising a pointer of type `dst` from a cdata of
/// type `src` without a cast: same type (arrays decay to pointers), or
/// `void *` on either side, or `char *` and another pointer to bytes.
fn pointer_source(dst: &TypeRef, src: &TypeRef) -> Result<(), PtrMismatch> {
    let src = match &src.kind {
        Kind::Pointer(_) | Kind::Function(_) => src.clone(),
        Kind::Array { item, .. } => crate::types::intern::pointer(item),
        _ => return Err(PtrMismatch::NotPointer),
    };
    if std::sync::Arc::ptr_eq(dst, &src) || is_void_ptr(dst) || is_void_ptr(&src) {
        return Ok(());
    }
    if is_char_ptr(dst) || is_char_ptr(&src) {
        if points_to_bytes(dst) && points_to_bytes(&src) {
            return Ok(());
        }
        return Err(PtrMismatch::CharPtr {
            to_char: is_char_ptr(dst),
        });
    }
    Err(PtrMismatch::Different)
}

/// Whether a cdata of type `src` may initialise a pointer of type `dst`
/// without a cast.
pub fn pointer_compatible(dst: &TypeRef, src: &TypeRef) -> bool {
    pointer_source(dst, src).is_ok()
}

fn check_pointer_source(dst: &TypeRef, src: &TypeRef, v: &Bound<'_, PyAny>) -> PyResult<()> {
    match pointer_source(dst, src) {
        Ok(()) => Ok(()),
        Err(PtrMismatch::NotPointer) => Err(convert_error(dst, "pointer or array", v)),
        Err(PtrMismatch::CharPtr { to_char: true }) => Err(PyTypeError::new_err(
            "implicit cast to 'char *' from a different pointer type.(check that the types are as you \
             expect; use an explicit ffi.cast() if they are correct)",
        )),
        Err(PtrMismatch::CharPtr { to_char: false }) => Err(PyTypeError::new_err(
            "implicit cast from 'char *' to a different pointer type: (check that the types are as you \
             expect; use an explicit ffi.cast() if they are correct)",
        )),
        Err(PtrMismatch::Different) => Err(convert_error(dst, "pointer to same type", v)),
    }
}

/// Finds the function-pointer cdata that an object which is not a cdata
/// stands for (the functions of a `lib`, which the Python layer makes).
pub type StandIn = for<'py> fn(&Bound<'py, PyAny>) -> Option<Bound<'py, CData>>;

static STAND_IN: std::sync::OnceLock<StandIn> = std::sync::OnceLock::new();

/// Registers how to find the cdata objects stand for (once, at import).
pub fn set_stand_in(f: StandIn) {
    let _ = STAND_IN.set(f);
}

/// The cdata `v` stands for, if it is not a cdata but stands for one.
pub fn stand_in<'py>(v: &Bound<'py, PyAny>) -> Option<Bound<'py, CData>> {
    STAND_IN.get().and_then(|f| f(v))
}

/// The address to store for `v` in a pointer of type `ty`, and the object
/// to keep alive with it.  `None` gives NULL (as for call arguments;
/// stores into memory reject it first).
pub fn pointer_value(
    ty: &TypeRef,
    v: &Bound<'_, PyAny>,
) -> PyResult<(*const u8, Option<Py<CData>>)> {
    if v.is_none() {
        return Ok((std::ptr::null(), None));
    }
    let Ok(cd) = v.cast::<CData>() else {
        if let Some(cd) = stand_in(v) {
            return pointer_value(ty, cd.as_any());
        }
        return Err(convert_error(ty, "cdata pointer", v));
    };
    check_pointer_source(ty, &cd.get().ty, v)?;
    Ok((cd.get().ptr().py()? as *const u8, CData::keeper_cdata(cd)))
}

fn too_many(ty: &TypeRef, got: usize) -> PyErr {
    PyIndexError::new_err(format!(
        "too many initializers for '{}' (got {got})",
        ty.cname()
    ))
}

/// Writes an array from `v`.  `len` is the length of the type; `room`
/// the number of items that fit, if known.
///
/// # Safety
/// `addr` must be valid for writing `room` items, or as many as `v`
/// provides when `room` is `None`.
unsafe fn write_array(
    ty: &TypeRef,
    item: &TypeRef,
    len: Option<usize>,
    room: Option<usize>,
    addr: *mut u8,
    v: &Bound<'_, PyAny>,
    container: Option<&Bound<'_, CData>>,
) -> PyResult<()> {
    let isize_ = item.size().unwrap_or(0);
    let seq: Option<Vec<Bound<'_, PyAny>>> = if let Ok(l) = v.cast::<PyList>() {
        Some(l.iter().collect())
    } else if let Ok(t) = v.cast::<PyTuple>() {
        Some(t.iter().collect())
    } else {
        None
    };
    if let Some(items) = seq {
        if room.is_some_and(|r| items.len() > r) {
            return Err(too_many(ty, items.len()));
        }
        for (i, x) in items.iter().enumerate() {
            // SAFETY: i < room (or the caller vouches for the length).
            unsafe { write(item, addr.add(i * isize_), x, container)? };
        }
        return Ok(());
    }
    let prim = item.primitive();
    let expected = match prim {
        Some(p) if p.size == 1 && (p.is_char_like() || p.is_integer()) => {
            if let Ok(b) = v.cast::<PyBytes>() {
                let bytes = b.as_bytes();
                // SAFETY: forwarded to the caller's guarantee.
                return unsafe { write_bytes_array(ty, p, len, room, addr, bytes) };
            }
            "bytes or list or tuple"
        }
        Some(p) if p.is_char_like() => {
            if let Ok(s) = v.cast::<PyString>() {
                let units = encode_wide(s, p)?;
                let n = units.len();
                if len.is_some_and(|l| n > l) || room.is_some_and(|r| n > r) {
                    return Err(PyIndexError::new_err(format!(
                        "initializer unicode is too long for '{}' (got {n} characters)",
                        ty.cname()
                    )));
                }
                for (i, u) in units.iter().enumerate() {
                    // SAFETY: i < n <= room.
                    unsafe { raw::write_int(addr.add(i * p.size), p.size, i128::from(*u)) };
                }
                if len != Some(n) && room.is_none_or(|r| n < r) {
                    // SAFETY: the terminator fits (n < room).
                    unsafe { raw::write_int(addr.add(n * p.size), p.size, 0) };
                }
                return Ok(());
            }
            "unicode or list or tuple"
        }
        _ => "list or tuple",
    };
    if let Ok(cd) = v.cast::<CData>()
        && std::sync::Arc::ptr_eq(&cd.get().ty, ty)
    {
        let src = cd.get();
        let n = src.array_len().unwrap_or(0);
        if room.is_some_and(|r| n > r) {
            return Err(too_many(ty, n));
        }
        let from = src.ptr().py()?;
        // SAFETY: the source holds n items, and n items fit.
        unsafe { raw::copy(addr, from, n * isize_) };
        return Ok(());
    }
    Err(convert_error(ty, expected, v))
}

/// # Safety
/// `addr` must be valid for writing `room` bytes, or `bytes.len() + 1`
/// when `room` is `None`.
unsafe fn write_bytes_array(
    ty: &TypeRef,
    p: &Primitive,
    len: Option<usize>,
    room: Option<usize>,
    addr: *mut u8,
    bytes: &[u8],
) -> PyResult<()> {
    let n = bytes.len();
    if len.is_some_and(|l| n > l) || room.is_some_and(|r| n > r) {
        return Err(PyIndexError::new_err(format!(
            "initializer bytes is too long for '{}' (got {n} characters)",
            ty.cname()
        )));
    }
    if p.family == PrimFamily::Bool && bytes.iter().any(|b| *b > 1) {
        return Err(PyValueError::new_err(
            "an array of _Bool can only contain \\x00 or \\x01",
        ));
    }
    // SAFETY: n <= room bytes.
    unsafe { raw::copy(addr, bytes.as_ptr(), n) };
    if len != Some(n) && room.is_none_or(|r| n < r) {
        // SAFETY: the terminator fits (n < room).
        unsafe { raw::write_int(addr.add(n), 1, 0) };
    }
    Ok(())
}

/// The fields a positional initializer fills, in order.
fn ctor_fields(layout: &crate::types::Layout) -> impl Iterator<Item = &crate::types::Field> {
    layout
        .fields
        .iter()
        .filter(|f| f.flags.0 & FieldFlags::IGNORE_IN_CTOR == 0)
}

fn items_of<'py>(v: &Bound<'py, PyAny>) -> Option<Vec<Bound<'py, PyAny>>> {
    if let Ok(l) = v.cast::<PyList>() {
        Some(l.iter().collect())
    } else if let Ok(t) = v.cast::<PyTuple>() {
        Some(t.iter().collect())
    } else {
        None
    }
}

fn opaque(ty: &TypeRef) -> PyErr {
    PyTypeError::new_err(format!("'{}' is opaque", ty.cname()))
}

/// Calls `f` on each (field, value) pair a struct initializer gives
/// (a list or tuple, or a dict), with cffi's errors.
fn for_each_init<'py>(
    ty: &TypeRef,
    layout: &crate::types::Layout,
    v: &Bound<'py, PyAny>,
    expected: &str,
    mut f: impl FnMut(&crate::types::Field, &Bound<'py, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    if let Some(items) = items_of(v) {
        let mut fields = ctor_fields(layout);
        for x in &items {
            let Some(field) = fields.next() else {
                return Err(PyValueError::new_err(format!(
                    "too many initializers for '{}' (got {})",
                    ty.cname(),
                    items.len()
                )));
            };
            f(field, x)?;
        }
        return Ok(());
    }
    if let Ok(d) = v.cast::<PyDict>() {
        for (k, x) in d.iter() {
            let field = k
                .cast::<PyString>()
                .ok()
                .and_then(|s| s.to_str().ok().and_then(|n| layout.field(n)));
            let Some(field) = field else {
                return Err(pyo3::exceptions::PyKeyError::new_err(k.unbind()));
            };
            f(field, &x)?;
        }
        return Ok(());
    }
    Err(convert_error(ty, expected, v))
}

/// # Safety
/// `addr` must be valid for writing a struct of type `ty` (and the open
/// arrays that `v` fills, up to the end of `container` if given).
unsafe fn write_struct(
    ty: &TypeRef,
    addr: *mut u8,
    v: &Bound<'_, PyAny>,
    container: Option<&Bound<'_, CData>>,
) -> PyResult<()> {
    let Some(layout) = ty.struct_info().and_then(|s| s.layout()) else {
        return Err(opaque(ty));
    };
    if let Ok(cd) = v.cast::<CData>()
        && std::sync::Arc::ptr_eq(&cd.get().ty, ty)
    {
        let src = cd.get().ptr().py()?;
        // SAFETY: both hold a struct of this type.
        unsafe { raw::copy(addr, src, layout.size) };
        return Ok(());
    }
    for_each_init(
        ty,
        layout,
        v,
        "list or tuple or dict or struct-cdata",
        |f, x| {
            if let Kind::Array { len: None, item } = &f.ty.kind {
                // An open array: an integer only gives its length.
                if !(x.is_instance_of::<PyList>()
                    || x.is_instance_of::<PyTuple>()
                    || x.is_instance_of::<PyBytes>()
                    || x.is_instance_of::<PyString>())
                {
                    new_array_length(item, x)?;
                    return Ok(());
                }
            }
            // SAFETY: the field lies within the struct (open arrays: bounded
            // by the container, or sized by the caller).
            unsafe { write_field(f, addr, x, container) }
        },
    )
}

/// The number of items an initializer gives an open array of `item`:
/// the length of a list or tuple, of a string plus its terminator, or an
/// integer (cffi's `get_new_array_length`).
pub fn new_array_length(item: &TypeRef, v: &Bound<'_, PyAny>) -> PyResult<usize> {
    if let Some(items) = items_of(v) {
        return Ok(items.len());
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(b.as_bytes().len() + 1);
    }
    if let Ok(s) = v.cast::<PyString>() {
        let unit = item.primitive().map_or(4, |p| p.size);
        return Ok(encode_units(&code_points(s)?, unit)?.len() + 1);
    }
    let is_int = v.is_instance_of::<PyInt>()
        || (!v.is_instance_of::<PyFloat>() && v.hasattr("__index__")?);
    if !is_int {
        return Err(PyTypeError::new_err(format!(
            "expected new array length or list/tuple/str, not {}",
            type_name(v)
        )));
    }
    let n = as_integer(v)?;
    if n < 0 {
        return Err(PyValueError::new_err("negative array length"));
    }
    usize::try_from(n)
        .ok()
        .filter(|n| *n <= isize::MAX as usize)
        .ok_or_else(|| PyOverflowError::new_err("array size would overflow a Py_ssize_t"))
}

/// The size `new` must allocate for a struct with an open array (maybe in
/// a nested struct) initialised from `v` (cffi's sizing pass).
pub fn struct_var_size(ty: &TypeRef, v: &Bound<'_, PyAny>) -> PyResult<usize> {
    let Some(layout) = ty.struct_info().and_then(|s| s.layout()) else {
        return Err(opaque(ty));
    };
    let mut size = layout.size;
    let overflow = || PyOverflowError::new_err("array size would overflow a Py_ssize_t");
    for_each_init(ty, layout, v, "list or tuple or dict", |f, x| {
        let end = match &f.ty.kind {
            Kind::Array { len: None, item } => {
                let n = new_array_length(item, x)?;
                item.size()
                    .unwrap_or(0)
                    .checked_mul(n)
                    .and_then(|b| b.checked_add(f.offset))
            }
            Kind::Struct(s)
                if s.layout().is_some_and(|l| l.has_var_array) && !x.is_instance_of::<CData>() =>
            {
                let sub = struct_var_size(&f.ty, x)?;
                sub.checked_add(f.offset)
            }
            _ => return Ok(()),
        };
        let end = end
            .filter(|e| *e <= isize::MAX as usize)
            .ok_or_else(overflow)?;
        size = size.max(end);
        Ok(())
    })?;
    Ok(size)
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

/// Whether a bitfield of this type holds signed values.  A plain `char`
/// bitfield holds 0 to 2**bits - 1, as in cffi (where `char` converts to
/// integers as unsigned), whatever C's signedness of `char`: the bits
/// stored are the same, and cffi code storing e.g. 200 into `char b:8`
/// keeps working.
fn bitfield_signed(p: &Primitive) -> bool {
    match p.family {
        PrimFamily::Char => false,
        _ => p.is_signed(),
    }
}

/// # Safety
/// `addr` must be valid for the bytes holding the field's bits.
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
    if !v.is_instance_of::<PyInt>() && (v.is_instance_of::<PyFloat>() || !v.hasattr("__index__")?) {
        return Err(PyTypeError::new_err(format!(
            "'{}' object cannot be interpreted as an integer",
            type_name(v)
        )));
    }
    let value = as_integer(v)?;
    let (lo, hi) = if bitfield_signed(p) {
        // "int x:1" also accepts 1 (read back as -1), as in cffi.
        (-(1i128 << (bits - 1)), ((1i128 << (bits - 1)) - 1).max(1))
    } else {
        (0, (1i128 << bits) - 1)
    };
    if value < lo || value > hi {
        return Err(PyOverflowError::new_err(format!(
            "value {} outside the range allowed by the bit field width: {lo} <= x <= {hi}",
            v.str()
                .map(|s| s.to_string())
                .unwrap_or_else(|_| value.to_string())
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

/// Reads a bitfield (an integer, whatever its type, as in cffi).
///
/// # Safety
/// `addr` must be valid for the bytes holding the field's bits.
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
    Ok(v.into_pyobject(py)?.into_any())
}

/// The bytes of a `bytes` or `bytearray` object, copied (for slice
/// assignments of char arrays).
pub fn bytes_like(v: &Bound<'_, PyAny>) -> Option<Vec<u8>> {
    if let Ok(b) = v.cast::<PyBytes>() {
        return Some(b.as_bytes().to_vec());
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Some(b.to_vec());
    }
    None
}
