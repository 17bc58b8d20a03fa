//! How C types travel through libffi: the one place that knows the
//! platform's calling convention for aggregates.
//!
//! [`ffi_type_of`] describes a C type as an [`FfiType`] (materialised into
//! libffi's `ffi_type` by `raw`).  Scalars map one to one.  Structs and
//! unions are where cffi and rcffi differ: cffi hands libffi the list of
//! fields, which cannot express unions, bitfields or packed fields, so it
//! refuses them.  On x86-64 System V rcffi instead classifies the bytes of
//! the aggregate the way the C compiler does (each eightbyte INTEGER, SSE,
//! X87 or MEMORY) and gives libffi a struct with one member per eightbyte
//! of the same class, which libffi passes exactly as the compiler passes
//! the original.  Other platforms keep cffi's field-list description.

use crate::errors::Error;
use crate::types::{Kind, PrimFamily, TypeRef};

/// A type as libffi sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FfiType {
    Void,
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
    LongDouble,
    Pointer,
    /// An aggregate with its size and alignment given (libffi does not
    /// recompute them) and its members in order.
    Struct {
        size: usize,
        align: usize,
        members: Vec<FfiType>,
    },
}

impl FfiType {
    /// A member that makes libffi pass the aggregate holding it in memory
    /// (libffi classifies any aggregate over 32 bytes as MEMORY, and the
    /// size of the holder is given, not recomputed).
    pub fn memory_marker() -> FfiType {
        FfiType::Struct {
            size: 64,
            align: 1,
            members: Vec::new(),
        }
    }
}

/// Where a type appears in a signature (for messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Argument,
    Result,
}

impl Place {
    fn text(self) -> &'static str {
        match self {
            Place::Argument => "argument",
            Place::Result => "return value",
        }
    }
}

const API_MODE_ONLY: &str = "are only supported as {place} if the function is 'API mode' and \
     non-variadic (i.e. declared inside ffibuilder.cdef()+ffibuilder.set_source() and not \
     taking a final '...' argument)";

fn unsupported_struct(ty: &TypeRef, place: Place, detail: &str) -> Error {
    let p = place.text();
    Error::not_implemented(format!(
        "ctype '{}' not supported as {p}.  {detail}.  Such structs {}",
        ty.cname(),
        API_MODE_ONLY.replace("{place}", p)
    ))
}

/// The libffi description of `ty` as an argument or result.
pub fn ffi_type_of(ty: &TypeRef, place: Place) -> Result<FfiType, Error> {
    match &ty.kind {
        Kind::Void if place == Place::Result => Ok(FfiType::Void),
        Kind::Array { .. } if place == Place::Result => Err(Error::type_error(format!(
            "invalid result type: '{}'",
            ty.cname()
        ))),
        Kind::Pointer(_) | Kind::Function(_) | Kind::Array { .. } => Ok(FfiType::Pointer),
        Kind::Primitive(_) | Kind::Enum(_) => scalar(ty, place),
        Kind::Struct(_) => aggregate(ty, place),
        Kind::Void => Err(Error::type_error(format!(
            "ctype '{}' has incomplete type",
            ty.cname()
        ))),
    }
}

fn scalar(ty: &TypeRef, place: Place) -> Result<FfiType, Error> {
    let Some(p) = ty.storage_primitive() else {
        return Err(Error::type_error(format!("bad enum '{}'", ty.cname())));
    };
    let t = match (p.family, p.size) {
        (PrimFamily::Signed, 1) => FfiType::I8,
        (PrimFamily::Signed, 2) => FfiType::I16,
        (PrimFamily::Signed, 4) => FfiType::I32,
        (PrimFamily::Signed, 8) => FfiType::I64,
        (PrimFamily::Unsigned | PrimFamily::Bool | PrimFamily::Char, 1) => FfiType::U8,
        (PrimFamily::Unsigned | PrimFamily::Char16, 2) => FfiType::U16,
        (PrimFamily::Unsigned | PrimFamily::Char32, 4) => FfiType::U32,
        (PrimFamily::Char16, 4) | (PrimFamily::Char32, 2) => unreachable_size(ty)?,
        (PrimFamily::Unsigned, 8) => FfiType::U64,
        (PrimFamily::Float, 4) => FfiType::F32,
        (PrimFamily::Float | PrimFamily::LongDouble, 8) => FfiType::F64,
        (PrimFamily::LongDouble, _) => FfiType::LongDouble,
        (PrimFamily::Complex, size) => {
            return Err(Error::not_implemented(format!(
                "ctype '{}' (size {size}) not supported as {} (the support for complex types \
                 inside libffi is mostly missing at this point, so CFFI only supports complex \
                 types as arguments or return value in API-mode functions)",
                ty.cname(),
                place.text()
            )));
        }
        (_, size) => {
            return Err(Error::not_implemented(format!(
                "ctype '{}' (size {size}) not supported as {}",
                ty.cname(),
                place.text()
            )));
        }
    };
    Ok(t)
}

fn unreachable_size(ty: &TypeRef) -> Result<FfiType, Error> {
    Err(Error::not_implemented(format!(
        "ctype '{}' has an unexpected size",
        ty.cname()
    )))
}

/// Checks what every platform refuses, then describes the aggregate.
fn aggregate(ty: &TypeRef, place: Place) -> Result<FfiType, Error> {
    let Some(layout) = ty.struct_info().and_then(|s| s.layout()) else {
        return Err(Error::type_error(format!(
            "ctype '{}' has incomplete type",
            ty.cname()
        )));
    };
    if layout.custom_layout {
        return Err(unsupported_struct(
            ty,
            place,
            "It is a struct declared with \"...;\", but the C calling convention may depend on \
             the missing fields; or, it contains anonymous struct/unions",
        ));
    }
    if has_zero_length_array(ty) {
        return Err(unsupported_struct(
            ty,
            place,
            "It is a struct with a zero-length array, which libffi does not support",
        ));
    }
    if layout.fields.is_empty() || layout.size == 0 {
        if ty.struct_info().is_some_and(|s| s.is_union) {
            return Err(unsupported_union(ty, place));
        }
        return Err(Error::type_error(format!(
            "ctype '{}' has size 0",
            ty.cname()
        )));
    }
    platform_aggregate(ty, place)
}

fn unsupported_union(ty: &TypeRef, place: Place) -> Error {
    let p = place.text();
    Error::not_implemented(format!(
        "ctype '{}' not supported as {p} by libffi.  Unions {}",
        ty.cname(),
        API_MODE_ONLY.replace("{place}", p)
    ))
}

/// Whether a zero-length array (`T x[0]`) or a flexible array member is
/// among the fields of `ty`, at any depth.
fn has_zero_length_array(ty: &TypeRef) -> bool {
    let Some(layout) = ty.struct_info().and_then(|s| s.layout()) else {
        return false;
    };
    layout.fields.iter().any(|f| {
        let mut t = &f.ty;
        while let Kind::Array { item, len } = &t.kind {
            if *len == Some(0) || len.is_none() {
                return true;
            }
            t = item;
        }
        t.is_struct() && has_zero_length_array(t)
    })
}

#[cfg(all(target_arch = "x86_64", unix))]
fn platform_aggregate(ty: &TypeRef, place: Place) -> Result<FfiType, Error> {
    sysv::describe(ty, place)
}

#[cfg(not(all(target_arch = "x86_64", unix)))]
fn platform_aggregate(ty: &TypeRef, place: Place) -> Result<FfiType, Error> {
    fields::describe(ty, place)
}

/// The x86-64 System V classification of aggregates (psABI §3.2.3).
pub mod sysv {
    use super::{FfiType, Place};
    use crate::errors::Error;
    use crate::types::{Kind, PrimFamily, TypeRef};

    /// The class of one eightbyte.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Class {
        NoClass,
        Integer,
        Sse,
        X87,
        X87Up,
        Memory,
    }

    fn merge(a: Class, b: Class) -> Class {
        use Class::*;
        match (a, b) {
            (x, y) if x == y => x,
            (NoClass, x) | (x, NoClass) => x,
            (Memory, _) | (_, Memory) => Memory,
            (Integer, _) | (_, Integer) => Integer,
            (X87 | X87Up, _) | (_, X87 | X87Up) => Memory,
            _ => Sse,
        }
    }

    /// The classes of the eightbytes of `ty`, or `None` when it is passed
    /// in memory.
    pub fn classify(ty: &TypeRef) -> Option<Vec<Class>> {
        let size = ty.size()?;
        if size > 16 || size == 0 {
            return None;
        }
        let mut classes = vec![Class::NoClass; size.div_ceil(8)];
        walk(ty, 0, &mut classes).ok()?;
        for (i, c) in classes.iter().enumerate() {
            match c {
                Class::Memory => return None,
                Class::X87Up if i == 0 || classes[i - 1] != Class::X87 => return None,
                _ => {}
            }
        }
        Some(classes)
    }

    /// A scalar of `size` bytes and class `class` at byte `offset`; `Err`
    /// means the aggregate goes to memory (a misaligned field).
    fn put(
        offset: usize,
        size: usize,
        align: usize,
        class: Class,
        classes: &mut [Class],
    ) -> Result<(), ()> {
        if !offset.is_multiple_of(align) {
            return Err(());
        }
        let first = offset / 8;
        let last = (offset + size - 1) / 8;
        for c in classes.iter_mut().take(last + 1).skip(first) {
            *c = merge(*c, class);
        }
        Ok(())
    }

    fn walk(ty: &TypeRef, offset: usize, classes: &mut [Class]) -> Result<(), ()> {
        match &ty.kind {
            Kind::Struct(s) => {
                let layout = s.layout().ok_or(())?;
                for f in &layout.fields {
                    match (f.bitshift, f.bitsize) {
                        (Some(shift), Some(bits)) if bits > 0 => {
                            // A bitfield makes the eightbytes its bits
                            // touch INTEGER, whatever its alignment.
                            let start = (offset + f.offset) * 8 + shift as usize;
                            let end = start + bits as usize - 1;
                            for c in classes.iter_mut().take(end / 64 + 1).skip(start / 64) {
                                *c = merge(*c, Class::Integer);
                            }
                        }
                        (Some(_), _) => {}
                        _ => walk(&f.ty, offset + f.offset, classes)?,
                    }
                }
                Ok(())
            }
            Kind::Array { item, len } => {
                let n = len.ok_or(())?;
                let isz = item.size().ok_or(())?;
                for i in 0..n {
                    walk(item, offset + i * isz, classes)?;
                }
                Ok(())
            }
            Kind::Pointer(_) | Kind::Function(_) => put(offset, 8, 8, Class::Integer, classes),
            Kind::Primitive(_) | Kind::Enum(_) => {
                let p = ty.storage_primitive().ok_or(())?;
                match p.family {
                    PrimFamily::Float => put(offset, p.size, p.size, Class::Sse, classes),
                    PrimFamily::LongDouble if p.size == 16 => {
                        put(offset, 8, 16, Class::X87, classes)?;
                        put(offset + 8, 8, 8, Class::X87Up, classes)
                    }
                    PrimFamily::LongDouble => put(offset, p.size, p.size, Class::Sse, classes),
                    PrimFamily::Complex => {
                        let half = p.size / 2;
                        put(offset, half, half, Class::Sse, classes)?;
                        put(offset + half, half, half, Class::Sse, classes)
                    }
                    _ => put(offset, p.size, p.size, Class::Integer, classes),
                }
            }
            Kind::Void => Err(()),
        }
    }

    /// The libffi struct that libffi passes like the compiler passes `ty`.
    pub fn describe(ty: &TypeRef, place: Place) -> Result<FfiType, Error> {
        let size = ty.size().unwrap_or(0);
        let align = ty.align().unwrap_or(1);
        let Some(classes) = classify(ty) else {
            return Ok(FfiType::Struct {
                size,
                align,
                members: vec![FfiType::memory_marker()],
            });
        };
        if classes == [Class::X87, Class::X87Up] {
            // A lone `long double`: passed and returned exactly like one
            // (libffi does not return X87-class structs in %st0 itself).
            return Ok(FfiType::LongDouble);
        }
        let mut members = Vec::with_capacity(classes.len());
        let mut i = 0;
        while i < classes.len() {
            let left = size - i * 8;
            match classes[i] {
                Class::Integer => members.push(FfiType::U64),
                Class::Sse if left <= 4 => members.push(FfiType::F32),
                Class::Sse => members.push(FfiType::F64),
                Class::X87 => {
                    members.push(FfiType::LongDouble);
                    i += 1;
                }
                Class::NoClass | Class::X87Up | Class::Memory => {
                    return Err(Error::not_implemented(format!(
                        "ctype '{}' not supported as {}: an eightbyte of it holds only padding",
                        ty.cname(),
                        place.text()
                    )));
                }
            }
            i += 1;
        }
        Ok(FfiType::Struct {
            size,
            align,
            members,
        })
    }
}

/// cffi's description: the fields in order, arrays repeated.  Used where
/// rcffi has no classifier for the platform's convention.
#[cfg_attr(all(target_arch = "x86_64", unix), allow(dead_code))]
pub mod fields {
    use super::{FfiType, Place, unsupported_struct, unsupported_union};
    use crate::errors::Error;
    use crate::types::{Kind, TypeRef};

    pub fn describe(ty: &TypeRef, place: Place) -> Result<FfiType, Error> {
        let Some(info) = ty.struct_info() else {
            return super::ffi_type_of(ty, Place::Argument);
        };
        if info.is_union {
            return Err(unsupported_union(ty, place));
        }
        let layout = info.layout().ok_or_else(|| {
            Error::type_error(format!("ctype '{}' has incomplete type", ty.cname()))
        })?;
        let mut members = Vec::new();
        let mut end = 0;
        for f in &layout.fields {
            if f.is_bitfield() {
                return Err(unsupported_struct(
                    ty,
                    place,
                    "It is a struct with bit fields, which libffi does not support",
                ));
            }
            let mut t = &f.ty;
            let mut count = 1;
            while let Kind::Array { item, len } = &t.kind {
                count *= len.unwrap_or(0);
                t = item;
            }
            let align = t.align().unwrap_or(1);
            if f.offset < end || f.offset % align != 0 {
                return Err(unsupported_struct(
                    ty,
                    place,
                    "It is a 'packed' structure, with a different layout than expected by libffi",
                ));
            }
            end = f.offset + t.size().unwrap_or(0) * count;
            let member = describe(t, place)?;
            members.extend(std::iter::repeat_n(member, count));
        }
        Ok(FfiType::Struct {
            size: layout.size,
            align: layout.align,
            members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::sysv::{Class, classify};
    use super::*;
    use crate::types::intern::{array, prim};
    use crate::types::layout::{FieldDecl, StructOptions, compute};
    use crate::types::{complete_struct, new_struct};

    fn st(is_union: bool, fields: &[(&str, TypeRef, Option<usize>)], packed: bool) -> TypeRef {
        let t = new_struct("struct t", is_union);
        let decls: Vec<FieldDecl> = fields
            .iter()
            .map(|(n, ty, bits)| FieldDecl {
                name: (*n).into(),
                ty: ty.clone(),
                bitsize: *bits,
                offset: None,
            })
            .collect();
        let opts = StructOptions {
            packed,
            ..Default::default()
        };
        complete_struct(&t, compute("struct t", is_union, &decls, opts).unwrap()).unwrap();
        t
    }

    #[test]
    fn scalars() {
        assert_eq!(
            ffi_type_of(&prim("int"), Place::Argument).unwrap(),
            FfiType::I32
        );
        assert_eq!(
            ffi_type_of(&prim("size_t"), Place::Argument).unwrap(),
            FfiType::U64
        );
        assert_eq!(
            ffi_type_of(&prim("double"), Place::Result).unwrap(),
            FfiType::F64
        );
        let e = ffi_type_of(&prim("double _Complex"), Place::Result).unwrap_err();
        assert!(e.message.contains("complex types"), "{}", e.message);
    }

    #[cfg(all(target_arch = "x86_64", unix))]
    #[test]
    fn sysv_classes() {
        let (i, f, d, c) = (prim("int"), prim("float"), prim("double"), prim("char"));
        let s = st(
            false,
            &[("a", f.clone(), None), ("b", i.clone(), None)],
            false,
        );
        assert_eq!(classify(&s), Some(vec![Class::Integer]));
        let s = st(
            false,
            &[
                ("a", f.clone(), None),
                ("b", f.clone(), None),
                ("c", d.clone(), None),
            ],
            false,
        );
        assert_eq!(classify(&s), Some(vec![Class::Sse, Class::Sse]));
        let u = st(
            true,
            &[("a", i.clone(), None), ("b", f.clone(), None)],
            false,
        );
        assert_eq!(classify(&u), Some(vec![Class::Integer]));
        let u = st(
            true,
            &[("a", d.clone(), None), ("b", f.clone(), None)],
            false,
        );
        assert_eq!(classify(&u), Some(vec![Class::Sse]));
        let b = st(
            false,
            &[("x", f.clone(), None), ("y", i.clone(), Some(3))],
            false,
        );
        assert_eq!(classify(&b), Some(vec![Class::Integer]));
        let p = st(
            false,
            &[("c", c.clone(), None), ("i", i.clone(), None)],
            true,
        );
        assert_eq!(classify(&p), None);
        let big = st(false, &[("a", array(&i, Some(5)), None)], false);
        assert_eq!(classify(&big), None);
        let ld = st(false, &[("x", prim("long double"), None)], false);
        assert_eq!(classify(&ld), Some(vec![Class::X87, Class::X87Up]));
        let three = st(
            false,
            &[
                ("a", f.clone(), None),
                ("b", f.clone(), None),
                ("c", f.clone(), None),
            ],
            false,
        );
        assert_eq!(
            ffi_type_of(&three, Place::Argument).unwrap(),
            FfiType::Struct {
                size: 12,
                align: 4,
                members: vec![FfiType::F64, FfiType::F32]
            }
        );
    }

    #[test]
    fn field_lists() {
        let s = st(
            false,
            &[
                ("a", prim("char"), None),
                ("b", array(&prim("short"), Some(2)), None),
            ],
            false,
        );
        assert_eq!(
            fields::describe(&s, Place::Argument).unwrap(),
            FfiType::Struct {
                size: 6,
                align: 2,
                members: vec![FfiType::U8, FfiType::I16, FfiType::I16]
            }
        );
        let u = st(true, &[("a", prim("int"), None)], false);
        assert!(fields::describe(&u, Place::Argument).is_err());
        let b = st(false, &[("a", prim("int"), Some(3))], false);
        assert!(fields::describe(&b, Place::Result).is_err());
    }
}
