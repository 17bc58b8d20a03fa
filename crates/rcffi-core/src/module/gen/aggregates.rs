//! The `struct_unions`, `fields` and `enums` tables: one entry for every
//! struct, union and enum type the other tables reach, sorted by name.
//!
//! Names follow cffi's convention, which the reader undoes: `struct foo`
//! is `foo`, an unnamed struct `$1`, a struct only named by a typedef (or
//! `typedef ... t`) `$t`, `FILE` is `_IO_FILE`.

use std::collections::HashMap;
use std::sync::Arc;

use super::collect::{Collector, located};
use super::model::{EnumEntry, FieldEntry, StructEntry, Target};
use super::types::{Arg, Slot, prim_int};
use crate::errors::{Error, ErrorKind};
use crate::frontend::apimode::{ApiItemKind, FieldItem, Shape};
use crate::module::format::{op, sflags};
use crate::types::{CType, Kind, TypeRef, intern};

fn addr(t: &TypeRef) -> usize {
    Arc::as_ptr(t) as usize
}

/// The name of a struct or union in `struct_unions`.
pub fn struct_table_name(t: &CType) -> String {
    if std::ptr::eq(t, Arc::as_ptr(&intern::file())) {
        return "_IO_FILE".to_owned();
    }
    let c = t.cname();
    match c
        .strip_prefix("struct ")
        .or_else(|| c.strip_prefix("union "))
    {
        Some(rest) => rest.to_owned(),
        None => format!("${c}"),
    }
}

/// The name of an enum in `enums`.
pub fn enum_table_name(t: &CType) -> String {
    let c = t.cname();
    match c.strip_prefix("enum ") {
        Some(rest) => rest.to_owned(),
        None => format!("${c}"),
    }
}

/// A field before it has its place in `fields`.
struct Field {
    name: String,
    ty: TypeRef,
    shape: Shape,
    bitsize: Option<usize>,
}

/// A struct entry before the tables are sorted.
struct StructData {
    flags: i32,
    /// The C spelling, when the type has one (it is then measured).
    spell: Option<String>,
    /// `None`: opaque or external (no fields).
    fields: Option<Vec<FieldEntry>>,
}

/// The `struct_unions`, `fields` and `enums` tables.
pub type Aggregates = (Vec<StructEntry>, Vec<FieldEntry>, Vec<EnumEntry>);

/// The three tables (and the typename of `FILE` when it is used).
pub fn collect(c: &mut Collector<'_>) -> Result<Aggregates, Error> {
    let mut data: HashMap<usize, StructData> = HashMap::new();
    let mut done = 0;
    // Field types may reach more structs: until none is left.
    while done < c.types.structs.len() {
        let t = c.types.structs[done].ty.clone();
        let slot = c.types.structs[done].slot;
        c.set_current(c.records_by_type.get(&addr(&t)).copied());
        let d = struct_data(c, &t, slot)?;
        data.insert(addr(&t), d);
        done += 1;
    }
    c.set_current(None);
    for k in 0..c.types.enums.len() {
        let t = c.types.enums[k].ty.clone();
        included_enumerators(c, &t)?;
    }
    c.types.finish(|t| match t.kind {
        Kind::Enum(_) => enum_table_name(t),
        _ => struct_table_name(t),
    });
    let mut structs = Vec::with_capacity(c.types.structs.len());
    let mut fields = Vec::new();
    for (k, tagged) in c.types.structs.iter().enumerate() {
        let d = data
            .remove(&addr(&tagged.ty))
            .expect("every struct has its data");
        let (first_field, num_fields) = match d.fields {
            Some(fs) => {
                let first = fields.len();
                let n = fs.len();
                fields.extend(fs);
                (first as isize, n)
            }
            None => (-1, 0),
        };
        let opaque = first_field < 0;
        let (size, align, align_helper) = match (&d.spell, opaque) {
            (_, true) => (Arg::Num(-1), Arg::Num(-1), None),
            (Some(spell), false) if c.target == Target::C => {
                let tag = format!("{k}");
                (
                    Arg::Expr(format!("sizeof({spell})")),
                    Arg::Expr(format!("offsetof(struct _cffi_align_{tag}, y)")),
                    Some((spell.clone(), tag)),
                )
            }
            _ => (Arg::Num(-2), Arg::Num(-2), None),
        };
        structs.push(StructEntry {
            name: struct_table_name(&tagged.ty),
            slot: tagged.slot,
            flags: d.flags,
            size,
            align,
            first_field,
            num_fields,
            align_helper,
        });
    }
    let mut enums = Vec::with_capacity(c.types.enums.len());
    for k in 0..c.types.enums.len() {
        let tagged = c.types.enums[k].clone();
        enums.push(enum_entry(c, &tagged.ty, tagged.slot)?);
    }
    Ok((structs, fields, enums))
}

fn struct_data(c: &mut Collector<'_>, t: &TypeRef, slot: usize) -> Result<StructData, Error> {
    let is_union = t.struct_info().is_some_and(|s| s.is_union);
    let mut flags = if is_union { sflags::UNION } else { 0 };
    if Arc::ptr_eq(t, &intern::file()) {
        c.typename("FILE", slot);
        return Ok(StructData {
            flags: flags | sflags::OPAQUE,
            spell: None,
            fields: None,
        });
    }
    let Some(&i) = c.records_by_type.get(&addr(t)) else {
        if c.decls.is_included(t) || !t.is_opaque() {
            flags |= sflags::EXTERNAL;
        }
        if t.is_opaque() {
            flags |= sflags::OPAQUE;
        }
        return Ok(StructData {
            flags,
            spell: None,
            fields: None,
        });
    };
    let item = c.item(i);
    let ApiItemKind::Struct {
        key,
        spell,
        partial,
        fields: recorded,
        packed,
        pack,
        ..
    } = &item.kind
    else {
        unreachable!("struct records are structs");
    };
    let layout = t.struct_info().and_then(|s| s.layout()).cloned();
    let anonymous = recorded
        .iter()
        .any(|f| f.name.is_empty() && f.bitsize.is_none());
    let complete = !partial && layout.is_some();
    if complete && !anonymous {
        if *pack > 1 {
            if c.target == Target::Python {
                return Err(Error::new(
                    ErrorKind::NotImplemented,
                    format!(
                        "{key} is declared with 'pack={pack}'; only 0 or 1 are supported in \
                         ABI out-of-line modules (try to use \"...;\", which does not require \
                         a 'pack' declaration)"
                    ),
                ));
            }
            // The layout is the compiler's (the static assertions check
            // that it is the cdef's).
        } else {
            flags |= sflags::CHECK_FIELDS;
            if *packed || *pack == 1 {
                flags |= sflags::PACKED;
            }
        }
    }
    // C: the fields as the compiler names them, anonymous members
    // flattened (partial structs were recorded so); Python: as declared.
    let list = if c.target == Target::C && !partial {
        flatten(c, recorded)
    } else {
        recorded.iter().map(record_field).collect()
    };
    let list: Vec<Field> = list
        .into_iter()
        .map(|f| {
            f.map_err(|name| {
                located(
                    item,
                    format!("the type of field '{name}' of {key} cannot be resolved"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let spell = spell.clone();
    let mut entries = Vec::with_capacity(list.len());
    for f in list {
        entries.push(field_entry(c, i, key, spell.as_deref(), f)?);
    }
    Ok(StructData {
        flags,
        spell,
        fields: Some(entries),
    })
}

/// The fields of `recorded` with those of its anonymous struct and union
/// members in their place, recursively (as C names them).
fn flatten(c: &Collector<'_>, recorded: &[FieldItem]) -> Vec<Result<Field, String>> {
    let mut out = Vec::with_capacity(recorded.len());
    for f in recorded {
        let inner = match (&f.ctype, f.name.is_empty(), f.bitsize) {
            (Some(t), true, None) if t.is_struct() => c.records_by_type.get(&addr(t)),
            _ => None,
        };
        match inner.map(|&i| &c.item(i).kind) {
            Some(ApiItemKind::Struct { fields, .. }) => out.extend(flatten(c, fields)),
            _ => out.push(record_field(f)),
        }
    }
    out
}

/// A recorded field, or its name if its type did not resolve.
fn record_field(f: &FieldItem) -> Result<Field, String> {
    Ok(Field {
        name: f.name.clone(),
        ty: f.ctype.clone().ok_or_else(|| f.name.clone())?,
        shape: f.shape.clone(),
        bitsize: f.bitsize,
    })
}

fn field_entry(
    c: &mut Collector<'_>,
    record: usize,
    key: &str,
    spell: Option<&str>,
    f: Field,
) -> Result<FieldEntry, Error> {
    let item = c.item(record);
    let mut inner = &f.ty;
    while let Kind::Array { item: it, .. } = &inner.kind {
        inner = it;
    }
    if c.is_opaque(inner) {
        let short = key.split_once(' ').map_or(key, |(_, s)| s);
        return Err(Error::type_error(format!(
            "{key}: field '{short}.{}' is of an opaque type (not declared in cdef())",
            f.name
        )));
    }
    let member = spell.map(|s| format!("(({s} *)0)->{}", f.name));
    let base = member.clone().unwrap_or_default();
    let slot = c
        .declared_slot(&f.ty, &f.shape, &base)
        .map_err(|p| located(item, format!("field '{}': {}", f.name, p.0)))?;
    let named = !f.name.is_empty();
    // A flexible array member has no size (the type of the slot, which
    // for a `typedef T t[...]` is its measured array).
    let open = matches!(c.types.slots[slot], Slot::Op(op::OPEN_ARRAY, _));
    let (o, offset, size) = match (f.bitsize, &member) {
        (Some(bits), _) => (op::BITFIELD, Arg::Num(-1), Arg::Num(bits as isize)),
        (None, Some(m)) if named => {
            let offset = Arg::Expr(format!("offsetof({}, {})", spell.unwrap_or(""), f.name));
            let size = if open {
                Arg::Num(-1)
            } else {
                Arg::Expr(format!("sizeof({m})"))
            };
            (op::NOOP, offset, size)
        }
        _ => (op::NOOP, Arg::Num(-1), Arg::Num(-1)),
    };
    Ok(FieldEntry {
        name: f.name,
        offset,
        size,
        op: o,
        slot,
    })
}

/// The enumerators of an enum that came from an included FFI are globals
/// here too, as in cffi.
fn included_enumerators(c: &mut Collector<'_>, t: &TypeRef) -> Result<(), Error> {
    if c.records_by_type.contains_key(&addr(t)) || !c.decls.is_included(t) {
        return Ok(());
    }
    let Kind::Enum(info) = &t.kind else {
        return Ok(());
    };
    let items: Vec<(String, Option<i128>)> = info
        .items
        .iter()
        .map(|(n, v)| (n.clone(), Some(*v)))
        .collect();
    c.add_enumerators(t.cname(), &items, None)
}

fn enum_entry(c: &mut Collector<'_>, t: &TypeRef, slot: usize) -> Result<EnumEntry, Error> {
    let Kind::Enum(info) = &t.kind else {
        unreachable!("enum slots hold enums");
    };
    let base_prim = || {
        let p = info.base.primitive()?;
        Some(Arg::Num(prim_int(p.size, p.is_signed()) as isize))
    };
    let (prim, enumerators) = match c.records_by_type.get(&addr(t)) {
        Some(&i) => {
            let item = c.item(i);
            let ApiItemKind::Enum {
                spell,
                partial,
                items,
                ..
            } = &item.kind
            else {
                unreachable!("enum records are enums");
            };
            let names = items.iter().map(|(n, _)| n.clone()).collect();
            let prim = match spell {
                Some(s) if c.target == Target::C => {
                    Arg::Expr(format!("_cffi_prim_int(sizeof({s}), (({s})-1) <= 0)"))
                }
                // No C name to measure (an unnamed enum with '...'): as
                // cffi, the type of the values the cdef gives.
                _ if *partial => {
                    let negative = items.iter().any(|(_, v)| v.is_some_and(|v| v < 0));
                    Arg::Num(prim_int(4, negative) as isize)
                }
                _ => base_prim().unwrap_or(Arg::Num(prim_int(4, false) as isize)),
            };
            (prim, names)
        }
        None => (
            base_prim().unwrap_or(Arg::Num(prim_int(4, false) as isize)),
            info.items.iter().map(|(n, _)| n.clone()).collect(),
        ),
    };
    Ok(EnumEntry {
        name: enum_table_name(t),
        slot,
        prim,
        enumerators,
    })
}
