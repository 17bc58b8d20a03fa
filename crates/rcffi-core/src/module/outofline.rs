//! The tables of out-of-line ABI modules (the `.py` files of
//! `set_source(name, None)`): `_cffi_backend.FFI(name, _version=...,
//! _types=b'...', _globals=(...), _struct_unions=(...), _enums=(...),
//! _typenames=(...))`, decoded into [`OwnedTables`].
//!
//! Every number is 4 bytes, big-endian, signed:
//!
//! * `_types`: one opcode per 4 bytes (the length of an `ARRAY` too);
//! * a global: its opcode then its name; integer constants come with
//!   their value;
//! * a struct: `type_index`, `flags`, name; then one entry per field: its
//!   opcode, its size (bitfields: the width) unless the opcode is `NOOP`,
//!   its name.  Sizes, alignments and offsets are left to rcffi's layout;
//! * an enum: `type_index`, `type_prim`, name, NUL, enumerators;
//! * a typename: `type_index`, name.

use std::ffi::{CString, c_int};

use super::format::{self, Enum, Field, Global, StructUnion, Typename, op, sflags};
use super::tables::OwnedTables;
use crate::errors::Error;

/// One struct of `_struct_unions`: its descriptor and its fields' ones.
pub struct StructDesc<'a> {
    pub head: &'a [u8],
    pub fields: Vec<&'a [u8]>,
}

struct Reader<'a> {
    module: &'a str,
    what: String,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(module: &'a str, what: String, bytes: &'a [u8]) -> Self {
        Reader {
            module,
            what,
            bytes,
            pos: 0,
        }
    }

    fn error(&self, why: &str) -> Error {
        Error::ffi(format!(
            "cffi out-of-line Python module '{}': {} {why}",
            self.module, self.what
        ))
    }

    fn int(&mut self) -> Result<i32, Error> {
        let b = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("is truncated"))?;
        self.pos += 4;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The rest up to a NUL (or the end), as a C string.
    fn name(&mut self) -> Result<CString, Error> {
        let rest = &self.bytes[self.pos.min(self.bytes.len())..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        self.pos += end + 1;
        if std::str::from_utf8(&rest[..end]).is_err() {
            return Err(self.error("has a name that is not UTF-8"));
        }
        CString::new(&rest[..end]).map_err(|_| self.error("has a bad name"))
    }
}

/// An opcode of 4 bytes, sign-extended as cffi's `cdl_opcode`.
fn opcode(x: i32) -> format::Opcode {
    x as isize as usize
}

/// Decodes the tables of an out-of-line module.  `globals` pairs each
/// global's bytes with the value that integer constants carry.
pub fn decode(
    module: &str,
    types: &[u8],
    globals: &[(&[u8], i128)],
    struct_unions: &[StructDesc<'_>],
    enums: &[&[u8]],
    typenames: &[&[u8]],
) -> Result<OwnedTables, Error> {
    let mut t = OwnedTables::default();
    if !types.len().is_multiple_of(4) {
        return Err(Error::ffi(format!(
            "cffi out-of-line Python module '{module}': _types has {} bytes, not a multiple of 4 \
             (truncated?)",
            types.len()
        )));
    }
    t.types = types
        .chunks_exact(4)
        .map(|c| opcode(i32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    for (i, (bytes, value)) in globals.iter().enumerate() {
        let mut r = Reader::new(module, format!("_globals[{i}]"), bytes);
        let type_op = opcode(r.int()?);
        let name = r.name()?;
        let code = format::get_op(type_op);
        let int_value = if code == op::CONSTANT_INT || code == op::ENUM {
            // cffi: `neg` is `value <= 0`, the value its low 64 bits.
            ((*value as u64), c_int::from(*value <= 0))
        } else {
            (0, 0)
        };
        t.globals.push(Global {
            name: name.as_ptr(),
            address: std::ptr::null_mut(),
            type_op,
            size_or_direct_fn: std::ptr::null_mut(),
        });
        t.int_values.push(int_value);
        t.strings.push(name);
    }
    for (i, s) in struct_unions.iter().enumerate() {
        let mut r = Reader::new(module, format!("_struct_unions[{i}]"), s.head);
        let type_index = r.int()?;
        let flags = r.int()?;
        let name = r.name()?;
        let opaque = flags & (sflags::OPAQUE | sflags::EXTERNAL) != 0;
        if opaque && !s.fields.is_empty() {
            return Err(r.error("is opaque or external but has fields"));
        }
        let first = t.fields.len();
        for (j, f) in s.fields.iter().enumerate() {
            let mut fr = Reader::new(module, format!("_struct_unions[{i}] field {j}"), f);
            let field_type_op = opcode(fr.int()?);
            let field_size = if format::get_op(field_type_op) != op::NOOP {
                usize::try_from(fr.int()?).map_err(|_| fr.error("has a negative size"))?
            } else {
                usize::MAX
            };
            let fname = fr.name()?;
            t.fields.push(Field {
                name: fname.as_ptr(),
                field_offset: usize::MAX,
                field_size,
                field_type_op,
            });
            t.strings.push(fname);
        }
        let num = c_int::try_from(s.fields.len()).map_err(|_| r.error("has too many fields"))?;
        t.struct_unions.push(StructUnion {
            name: name.as_ptr(),
            type_index,
            flags,
            size: if opaque { usize::MAX } else { usize::MAX - 1 },
            alignment: if opaque { -1 } else { -2 },
            first_field_index: if opaque {
                -1
            } else {
                c_int::try_from(first).map_err(|_| r.error("has too many fields"))?
            },
            num_fields: if opaque { 0 } else { num },
        });
        t.strings.push(name);
    }
    for (i, e) in enums.iter().enumerate() {
        let mut r = Reader::new(module, format!("_enums[{i}]"), e);
        let type_index = r.int()?;
        let type_prim = r.int()?;
        let name = r.name()?;
        let enumerators = r.name()?;
        t.enums.push(Enum {
            name: name.as_ptr(),
            type_index,
            type_prim,
            enumerators: enumerators.as_ptr(),
        });
        t.strings.push(name);
        t.strings.push(enumerators);
    }
    for (i, n) in typenames.iter().enumerate() {
        let mut r = Reader::new(module, format!("_typenames[{i}]"), n);
        let type_index = r.int()?;
        let name = r.name()?;
        t.typenames.push(Typename {
            name: name.as_ptr(),
            type_index,
        });
        t.strings.push(name);
    }
    Ok(t)
}
