//! The Python text of an out-of-line ABI module (`set_source(name,
//! None)`): cffi's format, a call
//! `_cffi_backend.FFI('name', _version=0x2601, _types=b'...', _globals=(...), ...)`
//! whose byte strings hold the tables, big-endian, four bytes a number.
//! rcffi's file imports `rcffi._cffi_backend`.

use std::fmt::Write;

use super::model::Tables;
use super::types::{Arg, Slot};
use crate::errors::Error;
use crate::module::format::{op, version};

/// Four bytes, big-endian, as `\xNN` escapes.
fn four_bytes(out: &mut String, n: isize) {
    let v = n as u32;
    for shift in [24, 16, 8, 0] {
        let _ = write!(out, "\\x{:02X}", (v >> shift) & 0xFF);
    }
}

fn opcode(out: &mut String, o: u8, arg: isize) {
    four_bytes(out, (arg << 8) | o as isize);
}

fn num(a: &Arg) -> Result<isize, Error> {
    match a {
        Arg::Num(n) => Ok(*n),
        Arg::Expr(e) => Err(Error::verification(format!(
            "cannot emit to Python a value only the C compiler knows: {e}"
        ))),
    }
}

/// `(a,b,c)`, with a trailing comma for one item, as cffi writes tuples.
fn tuple(items: &[String]) -> String {
    match items {
        [one] => format!("({one},)"),
        _ => format!("({})", items.join(",")),
    }
}

/// The text of the module.
pub fn write(tables: &Tables, module_name: &str) -> Result<String, Error> {
    let mut s = String::from("# auto-generated file (rcffi)\nfrom rcffi import _cffi_backend\n");
    for (i, inc) in tables.includes.iter().enumerate() {
        let _ = writeln!(s, "from {inc} import ffi as _ffi{i}");
    }
    let _ = writeln!(s, "\nffi = _cffi_backend.FFI('{module_name}',");
    let _ = writeln!(s, "    _version = {:#x},", version::CFFI_BASE);
    let mut types = String::new();
    for slot in &tables.types.slots {
        match slot {
            Slot::Op(o, a) => opcode(&mut types, *o, num(a)?),
            Slot::Len(a) => four_bytes(&mut types, num(a)?),
        }
    }
    let _ = writeln!(s, "    _types = b'{types}',");
    if !tables.globals.is_empty() {
        let mut items = Vec::new();
        for g in &tables.globals {
            let mut b = String::from("b'");
            opcode(&mut b, g.op, g.arg);
            let _ = write!(b, "{}'", g.name);
            items.push(b);
            items.push(g.check.unwrap_or(0).to_string());
        }
        let _ = writeln!(s, "    _globals = {},", tuple(&items));
    }
    if !tables.structs.is_empty() {
        let mut items = Vec::new();
        for st in &tables.structs {
            let mut parts = Vec::new();
            let mut head = String::from("b'");
            four_bytes(&mut head, st.slot as isize);
            four_bytes(&mut head, st.flags as isize);
            let _ = write!(head, "{}'", st.name);
            parts.push(head);
            if st.first_field >= 0 {
                let first = st.first_field as usize;
                for f in &tables.fields[first..first + st.num_fields] {
                    let mut b = String::from("b'");
                    opcode(&mut b, f.op, f.slot as isize);
                    if f.op == op::BITFIELD {
                        four_bytes(&mut b, num(&f.size)?);
                    }
                    let _ = write!(b, "{}'", f.name);
                    parts.push(b);
                }
            }
            items.push(tuple(&parts));
        }
        let _ = writeln!(s, "    _struct_unions = {},", tuple(&items));
    }
    if !tables.enums.is_empty() {
        let mut items = Vec::new();
        for e in &tables.enums {
            let mut b = String::from("b'");
            four_bytes(&mut b, e.slot as isize);
            four_bytes(&mut b, num(&e.prim)?);
            let _ = write!(b, "{}\\x00{}'", e.name, e.enumerators.join(","));
            items.push(b);
        }
        let _ = writeln!(s, "    _enums = {},", tuple(&items));
    }
    if !tables.typenames.is_empty() {
        let mut items = Vec::new();
        for t in &tables.typenames {
            let mut b = String::from("b'");
            four_bytes(&mut b, t.slot as isize);
            let _ = write!(b, "{}'", t.name);
            items.push(b);
        }
        let _ = writeln!(s, "    _typenames = {},", tuple(&items));
    }
    if !tables.includes.is_empty() {
        let names: Vec<String> = (0..tables.includes.len())
            .map(|i| format!("_ffi{i}"))
            .collect();
        let _ = writeln!(s, "    _includes = ({},),", names.join(", "));
    }
    s.push_str(")\n");
    Ok(s)
}
