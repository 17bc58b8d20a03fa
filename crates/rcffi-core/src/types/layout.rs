//! Struct and union layout: field offsets, bitfield placement, size and
//! alignment.  The rules of the C compilers (gcc on x86 and ARM, MSVC)
//! live here and nowhere else.

use std::collections::HashMap;

use super::{Kind, TypeRef};

/// How bitfields are placed (cffi's `SF_*_BITFIELDS` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitfieldRules {
    /// gcc on x86: a bitfield may share a unit with anything before it;
    /// unnamed bitfields do not align the struct.
    GccX86,
    /// gcc on ARM: as x86, but every bitfield (named or not, `:0` too)
    /// aligns the struct.
    GccArm,
    /// MSVC: runs of bitfields of the same size share a unit.
    Msvc,
}

impl BitfieldRules {
    /// The rules of the compiler of this platform.
    pub fn native() -> Self {
        if cfg!(windows) {
            BitfieldRules::Msvc
        } else if cfg!(any(target_arch = "arm", target_arch = "aarch64")) {
            BitfieldRules::GccArm
        } else {
            BitfieldRules::GccX86
        }
    }
}

/// Options of one struct layout.
#[derive(Clone, Copy, Debug)]
pub struct StructOptions {
    pub rules: BitfieldRules,
    /// `__attribute__((packed))`: every field aligned to 1.
    pub packed: bool,
    /// `#pragma pack(N)`: alignments capped at N (0: no cap).
    pub pack: usize,
    /// Bitfields are numbered from the most significant bit of their unit.
    pub big_endian_bitfields: bool,
    /// Size and alignment imposed by the caller (API mode knows them from
    /// the compiler); `None` computes them.
    pub total_size: Option<usize>,
    pub total_align: Option<usize>,
}

impl Default for StructOptions {
    fn default() -> Self {
        StructOptions {
            rules: BitfieldRules::native(),
            packed: false,
            pack: 0,
            big_endian_bitfields: cfg!(target_endian = "big"),
            total_size: None,
            total_align: None,
        }
    }
}

/// A field as declared, before layout.
pub struct FieldDecl {
    /// Empty for an anonymous struct/union member or an unnamed bitfield.
    pub name: String,
    pub ty: TypeRef,
    /// `Some(n)` for a bitfield `: n`.
    pub bitsize: Option<usize>,
    /// An offset imposed by the caller (API mode), in bytes.
    pub offset: Option<usize>,
}

/// Bits of [`Field::flags`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FieldFlags(pub u8);

impl FieldFlags {
    /// Not initialised by a positional initializer (the later members of
    /// a union).
    pub const IGNORE_IN_CTOR: u8 = 1;
}

/// A laid-out field.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub ty: TypeRef,
    /// Byte offset of the field, or of the unit holding a bitfield.
    pub offset: usize,
    /// For bitfields, the position of the lowest bit inside the unit read
    /// in host order; `None` otherwise.
    pub bitshift: Option<u32>,
    pub bitsize: Option<u32>,
    pub flags: FieldFlags,
}

impl Field {
    pub fn is_bitfield(&self) -> bool {
        self.bitsize.is_some()
    }
}

/// The complete layout of a struct or union.
#[derive(Debug)]
pub struct Layout {
    /// Fields in order, with anonymous members flattened into their parent.
    pub fields: Vec<Field>,
    pub by_name: HashMap<String, usize>,
    pub size: usize,
    pub align: usize,
    /// A field is an open array (`T x[];`): normally the last one, but
    /// fields with an imposed offset may follow it.
    pub has_flexible_array: bool,
    /// The struct has an open array, directly or in a nested struct
    /// (cffi's `CT_WITH_VAR_ARRAY`): `new` sizes it from the initializer.
    pub has_var_array: bool,
    pub is_packed: bool,
    /// A field offset, the size or the alignment was imposed by the caller
    /// and differs from what the fields give (a struct declared with
    /// `...;`): bytes may be unaccounted for, so the calling convention of
    /// the struct is unknown.
    pub custom_layout: bool,
}

impl Layout {
    pub fn field(&self, name: &str) -> Option<&Field> {
        // Small structs: comparing a few short names beats hashing one.
        if self.fields.len() <= 8 {
            return self.fields.iter().find(|f| f.name == name);
        }
        self.by_name.get(name).map(|&i| &self.fields[i])
    }
}

/// Why a layout cannot be made.  The Python layer maps `kind` to the
/// exception class cffi raises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutError {
    pub kind: LayoutErrorKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutErrorKind {
    /// A wrong declaration (TypeError in cffi).
    Invalid,
    /// A layout gcc allows but that cffi's access model cannot represent.
    NotImplemented,
    /// A repeated field name (KeyError in cffi).
    Duplicate,
}

impl LayoutError {
    pub fn new(message: impl Into<String>) -> Self {
        LayoutError {
            kind: LayoutErrorKind::Invalid,
            message: message.into(),
        }
    }

    fn not_implemented(message: impl Into<String>) -> Self {
        LayoutError {
            kind: LayoutErrorKind::NotImplemented,
            message: message.into(),
        }
    }
}

fn round_up(n: usize, align: usize) -> usize {
    n.div_ceil(align) * align
}

fn round_up_bits(n: u128, align: usize) -> u128 {
    n.div_ceil(align as u128) * align as u128
}

fn too_large(struct_name: &str) -> LayoutError {
    LayoutError::new(format!("'{struct_name}' is too large"))
}

struct Builder<'a> {
    struct_name: &'a str,
    opts: StructOptions,
    is_union: bool,
    fields: Vec<Field>,
    by_name: HashMap<String, usize>,
    /// Current position in bits (u128: a struct may be `isize::MAX`
    /// bytes long, which does not fit in a usize once counted in bits).
    bitpos: u128,
    /// End of the largest union member / of the struct so far, in bits.
    end_bits: u128,
    align: usize,
    /// MSVC: the unit of the previous bitfield (offset, size, bits used).
    msvc_unit: Option<(usize, usize, usize)>,
    first_member: bool,
    has_var_array: bool,
    /// An imposed field offset differed from the computed one.
    custom_offsets: bool,
}

impl Builder<'_> {
    fn field_align(&self, ty: &TypeRef) -> usize {
        let natural = ty.align().unwrap_or(1);
        if self.opts.packed {
            1
        } else if self.opts.pack > 0 {
            natural.min(self.opts.pack)
        } else {
            natural
        }
    }

    fn qualified(&self, name: &str) -> String {
        format!("{}.{}", self.struct_name, name)
    }

    fn start_member(&mut self) {
        if self.is_union {
            self.bitpos = 0;
        }
    }

    fn finish_member(&mut self) {
        self.end_bits = self.end_bits.max(self.bitpos);
        self.first_member = false;
    }

    fn flags(&self) -> FieldFlags {
        if self.is_union && !self.first_member {
            FieldFlags(FieldFlags::IGNORE_IN_CTOR)
        } else {
            FieldFlags(0)
        }
    }

    fn push(&mut self, field: Field) -> Result<(), LayoutError> {
        if !field.name.is_empty() {
            if self.by_name.contains_key(&field.name) {
                return Err(LayoutError {
                    kind: LayoutErrorKind::Duplicate,
                    message: format!("duplicate field name '{}'", field.name),
                });
            }
            self.by_name.insert(field.name.clone(), self.fields.len());
        }
        self.fields.push(field);
        Ok(())
    }

    fn add(&mut self, decl: &FieldDecl, is_last: bool) -> Result<(), LayoutError> {
        self.start_member();
        let ty = &decl.ty;
        let flexible = matches!(ty.kind, Kind::Array { len: None, .. });
        let size = match ty.size() {
            Some(s) => s,
            None if flexible => 0,
            None => {
                return Err(LayoutError::new(format!(
                    "field '{}' has ctype '{}' of unknown size",
                    self.qualified(&decl.name),
                    ty.cname()
                )));
            }
        };
        // An open array must be last, unless its position is imposed.
        if flexible && ((!is_last && decl.offset.is_none()) || decl.bitsize.is_some()) {
            return Err(LayoutError::new(format!(
                "field '{}' has ctype '{}' of unknown size",
                self.qualified(&decl.name),
                ty.cname()
            )));
        }
        if flexible
            || ty
                .struct_info()
                .and_then(|s| s.layout())
                .is_some_and(|l| l.has_var_array)
        {
            self.has_var_array = true;
        }
        match decl.bitsize {
            None => self.add_plain(decl, size),
            Some(bits) => self.add_bitfield(decl, size, bits),
        }?;
        self.finish_member();
        Ok(())
    }

    fn add_plain(&mut self, decl: &FieldDecl, size: usize) -> Result<(), LayoutError> {
        let align = self.field_align(&decl.ty);
        let computed = {
            let byte = usize::try_from(self.bitpos.div_ceil(8))
                .map_err(|_| too_large(self.struct_name))?;
            byte.checked_next_multiple_of(align)
                .ok_or_else(|| too_large(self.struct_name))?
        };
        let offset = decl.offset.unwrap_or(computed);
        self.custom_offsets |= offset != computed;
        self.align = self.align.max(align);
        self.msvc_unit = None;
        self.bitpos = (offset as u128 + size as u128) * 8;
        let flags = self.flags();
        let anonymous_aggregate = decl.name.is_empty() && decl.ty.is_struct();
        if anonymous_aggregate {
            // Its fields become fields of ours, at shifted offsets.
            let layout = decl.ty.struct_info().and_then(|s| s.layout()).cloned();
            for inner in layout.iter().flat_map(|l| l.fields.iter()) {
                let mut f = inner.clone();
                f.offset += offset;
                if flags.0 != 0 {
                    f.flags = flags;
                }
                self.push(f)?;
            }
            return Ok(());
        }
        self.push(Field {
            name: decl.name.clone(),
            ty: decl.ty.clone(),
            offset,
            bitshift: None,
            bitsize: None,
            flags,
        })
    }

    fn add_bitfield(
        &mut self,
        decl: &FieldDecl,
        size: usize,
        bits: usize,
    ) -> Result<(), LayoutError> {
        let name = self.qualified(&decl.name);
        if !decl
            .ty
            .storage_primitive()
            .is_some_and(|p| p.is_integer() || p.family == super::PrimFamily::Char)
        {
            return Err(LayoutError::new(format!(
                "field '{name}' declared as '{}' cannot be a bit field",
                decl.ty.cname()
            )));
        }
        if bits > size * 8 {
            return Err(LayoutError::new(format!(
                "bit field '{name}' is declared '{}:{bits}', which exceeds the width of the type",
                decl.ty.cname()
            )));
        }
        if bits == 0 && !decl.name.is_empty() {
            return Err(LayoutError::new(format!(
                "field '{name}' is declared with :0"
            )));
        }
        let natural_align = self.field_align(&decl.ty);
        let named = !decl.name.is_empty();
        let (offset, shift) = match self.opts.rules {
            BitfieldRules::GccX86 | BitfieldRules::GccArm => {
                let arm = self.opts.rules == BitfieldRules::GccArm;
                let natural = decl.ty.align().unwrap_or(1);
                if bits == 0 {
                    // `:0` aligns to the type's own alignment, whatever the
                    // packing.
                    self.bitpos = round_up_bits(self.bitpos, natural * 8);
                    if arm {
                        self.align = self.align.max(natural_align);
                    }
                    return Ok(());
                }
                let relaxed = self.opts.packed || self.opts.pack > 0;
                let pos =
                    usize::try_from(self.bitpos / 8).map_err(|_| too_large(self.struct_name))?;
                let mut start = pos / natural_align * natural_align;
                if (self.bitpos - start as u128 * 8) as usize + bits > size * 8 {
                    if self.opts.packed {
                        return Err(LayoutError::not_implemented(format!(
                            "with 'packed', gcc would compile field '{name}' to reuse some \
                             bits in the previous field"
                        )));
                    }
                    if relaxed {
                        // Under `#pragma pack`, gcc never moves a bitfield:
                        // it is read from the byte where it starts.
                        start = pos;
                    } else {
                        self.bitpos = round_up_bits(self.bitpos, natural_align * 8);
                        start = usize::try_from(self.bitpos / 8)
                            .map_err(|_| too_large(self.struct_name))?;
                    }
                }
                if named || arm {
                    self.align = self.align.max(natural_align);
                }
                let shift = (self.bitpos - start as u128 * 8) as usize;
                self.bitpos += bits as u128;
                (start, shift)
            }
            BitfieldRules::Msvc => {
                if bits == 0 {
                    if self.msvc_unit.take().is_some() {
                        self.bitpos = round_up_bits(self.bitpos, natural_align * 8);
                    }
                    return Ok(());
                }
                self.align = self.align.max(natural_align);
                match self.msvc_unit {
                    Some((off, usize_, used)) if usize_ == size && used + bits <= size * 8 => {
                        self.msvc_unit = Some((off, size, used + bits));
                        (off, used)
                    }
                    _ => {
                        let byte = usize::try_from(self.bitpos.div_ceil(8))
                            .map_err(|_| too_large(self.struct_name))?;
                        let off = round_up(byte, natural_align);
                        self.bitpos = (off as u128 + size as u128) * 8;
                        self.msvc_unit = Some((off, size, bits));
                        (off, 0)
                    }
                }
            }
        };
        if !named {
            return Ok(());
        }
        let shift = if self.opts.big_endian_bitfields {
            size * 8 - shift - bits
        } else {
            shift
        };
        let flags = self.flags();
        self.push(Field {
            name: decl.name.clone(),
            ty: decl.ty.clone(),
            offset,
            bitshift: Some(shift as u32),
            bitsize: Some(bits as u32),
            flags,
        })
    }
}

/// Lays out the fields of the struct or union called `struct_name`.
pub fn compute(
    struct_name: &str,
    is_union: bool,
    decls: &[FieldDecl],
    opts: StructOptions,
) -> Result<Layout, LayoutError> {
    let mut b = Builder {
        struct_name,
        opts,
        is_union,
        fields: Vec::with_capacity(decls.len()),
        by_name: HashMap::with_capacity(decls.len()),
        bitpos: 0,
        end_bits: 0,
        align: 1,
        msvc_unit: None,
        first_member: true,
        has_var_array: false,
        custom_offsets: false,
    };
    for (i, decl) in decls.iter().enumerate() {
        let is_last = i + 1 == decls.len();
        b.add(decl, is_last)?;
    }
    let has_flexible_array = decls
        .iter()
        .any(|d| matches!(d.ty.kind, Kind::Array { len: None, .. }));
    let align = opts.total_align.unwrap_or(b.align);
    let natural_size = {
        let bytes = round_up_bits(b.end_bits.div_ceil(8), align);
        usize::try_from(bytes)
            .ok()
            .filter(|s| *s <= isize::MAX as usize)
            .ok_or_else(|| too_large(struct_name))?
    };
    let size = opts.total_size.unwrap_or(natural_size);
    let custom_layout = b.custom_offsets || size != natural_size || align != b.align;
    Ok(Layout {
        fields: b.fields,
        by_name: b.by_name,
        size,
        align,
        has_flexible_array,
        has_var_array: b.has_var_array,
        is_packed: opts.packed || opts.pack == 1,
        custom_layout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::intern::{array, prim};

    fn f(name: &str, ty: &str, bits: Option<usize>) -> FieldDecl {
        FieldDecl {
            name: name.into(),
            ty: prim(ty),
            bitsize: bits,
            offset: None,
        }
    }

    fn offsets(l: &Layout) -> Vec<(String, usize, Option<u32>)> {
        l.fields
            .iter()
            .map(|f| (f.name.clone(), f.offset, f.bitshift))
            .collect()
    }

    #[test]
    fn plain_struct_and_union() {
        let l = compute(
            "s",
            false,
            &[
                f("a", "char", None),
                f("b", "int", None),
                f("c", "char", None),
            ],
            StructOptions::default(),
        )
        .unwrap();
        assert_eq!((l.size, l.align), (12, 4));
        assert_eq!(l.field("b").unwrap().offset, 4);
        let u = compute(
            "u",
            true,
            &[f("a", "char", None), f("b", "double", None)],
            StructOptions::default(),
        )
        .unwrap();
        assert_eq!((u.size, u.align), (8, 8));
        assert_eq!(u.fields[1].flags.0, FieldFlags::IGNORE_IN_CTOR);
    }

    #[test]
    fn gcc_x86_bitfields() {
        let opts = StructOptions {
            rules: BitfieldRules::GccX86,
            big_endian_bitfields: false,
            ..Default::default()
        };
        let l = compute(
            "s",
            false,
            &[
                f("a", "char", None),
                f("b1", "int", Some(9)),
                f("b2", "unsigned int", Some(7)),
                f("c", "char", None),
            ],
            opts,
        )
        .unwrap();
        assert_eq!(
            offsets(&l),
            vec![
                ("a".into(), 0, None),
                ("b1".into(), 0, Some(8)),
                ("b2".into(), 0, Some(17)),
                ("c".into(), 3, None)
            ]
        );
        assert_eq!((l.size, l.align), (4, 4));
    }

    #[test]
    fn flexible_array_must_be_last() {
        let open = FieldDecl {
            name: "x".into(),
            ty: array(&prim("int"), None),
            bitsize: None,
            offset: None,
        };
        let err = compute(
            "s",
            false,
            &[open, f("y", "int", None)],
            StructOptions::default(),
        );
        assert!(err.is_err());
    }
}
