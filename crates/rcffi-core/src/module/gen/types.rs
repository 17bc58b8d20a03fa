//! The `_cffi_types` array of a module being generated: one slot per
//! opcode, each type interned once.
//!
//! A slot's argument is a number or, for the C text only, an expression
//! the compiler evaluates (the primitive of `typedef int... t`, the length
//! of `int a[...]`).  Struct, union and enum slots name their entry in the
//! `struct_unions`/`enums` tables, which are sorted by name once every type
//! is known ([`TypeTable::finish`]).

use std::collections::HashMap;
use std::sync::Arc;

use crate::frontend::DotsKind;
use crate::module::format::{op, prim};
use crate::types::{ABI_STDCALL, CType, Kind, TypeRef};

/// The argument of a slot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Arg {
    Num(isize),
    /// A C expression (only the C text can hold it).
    Expr(String),
}

/// One slot of `_cffi_types`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    Op(u8, Arg),
    /// The length that follows an `ARRAY` slot.
    Len(Arg),
}

/// A type that has an entry in `struct_unions` or `enums`.
#[derive(Clone, Debug)]
pub struct Tagged {
    pub ty: TypeRef,
    /// The slot of its `STRUCT_UNION`/`ENUM` opcode.
    pub slot: usize,
}

#[derive(Hash, PartialEq, Eq)]
enum Key {
    /// A resolved type, by address.
    Type(usize),
    /// The `FUNCTION ... FUNCTION_END` sequence of a function type.
    Raw(usize),
    /// An array of the type at a slot (which may not be a resolved type).
    Array(usize, Arg),
}

fn addr(t: &TypeRef) -> usize {
    Arc::as_ptr(t) as usize
}

/// The number cffi gives a primitive, by its C name.
pub fn prim_number(name: &str) -> Option<i32> {
    (0..prim::NUM).find(|&n| prim::name(n) == Some(name))
}

/// The integer primitive of `size` bytes (`_cffi_prim_int`).
pub fn prim_int(size: usize, signed: bool) -> i32 {
    match (size, signed) {
        (1, true) => prim::INT8,
        (1, false) => prim::UINT8,
        (2, true) => prim::INT16,
        (2, false) => prim::UINT16,
        (4, true) => prim::INT32,
        (4, false) => prim::UINT32,
        (8, true) => prim::INT64,
        (8, false) => prim::UINT64,
        _ => prim::UNKNOWN,
    }
}

/// Why a type cannot go into the table.
#[derive(Debug)]
pub struct TypeProblem(pub String);

/// The types of one module.
#[derive(Default)]
pub struct TypeTable {
    pub slots: Vec<Slot>,
    /// The C name of the type that starts at a slot (comments of the C
    /// text).
    pub names: HashMap<usize, String>,
    index: HashMap<Key, usize>,
    /// Struct and union types, in the order met until [`finish`], then by
    /// table name.
    pub structs: Vec<Tagged>,
    pub enums: Vec<Tagged>,
    /// The placeholders of `typedef int... t`/`typedef float... t` (by
    /// address): the name and its kind.
    dots: HashMap<usize, (String, DotsKind)>,
    /// Whether C expressions are allowed (the C text) or not (Python).
    pub allow_expressions: bool,
    /// The record (index into `Declarations::api`) whose types are being
    /// added: slots holding C expressions are attributed to it.
    pub owner: Option<usize>,
    /// The record each slot with a C expression belongs to.
    pub expr_owners: HashMap<usize, usize>,
}

impl TypeTable {
    pub fn new(allow_expressions: bool) -> Self {
        TypeTable {
            allow_expressions,
            ..Self::default()
        }
    }

    /// `placeholder` (the type later declarations of the cdef see) stands
    /// for `typedef int... name` or `typedef float... name`.
    pub fn add_dots_placeholder(&mut self, placeholder: &TypeRef, name: &str, kind: DotsKind) {
        self.dots.insert(addr(placeholder), (name.to_owned(), kind));
    }

    fn push(&mut self, slot: Slot) -> usize {
        let has_expr = matches!(&slot, Slot::Op(_, Arg::Expr(_)) | Slot::Len(Arg::Expr(_)));
        self.slots.push(slot);
        let i = self.slots.len() - 1;
        if has_expr && let Some(owner) = self.owner {
            self.expr_owners.insert(i, owner);
        }
        i
    }

    /// The slot of `t`, added (with what it needs) if new.
    pub fn slot_of(&mut self, t: &TypeRef) -> Result<usize, TypeProblem> {
        if let Some(&i) = self.index.get(&Key::Type(addr(t))) {
            return Ok(i);
        }
        let i = match &t.kind {
            Kind::Void => self.push(Slot::Op(op::PRIMITIVE, Arg::Num(prim::VOID as isize))),
            Kind::Primitive(p) => {
                let n = prim_number(p.name).ok_or_else(|| {
                    TypeProblem(format!("the primitive type '{}' has no number", p.name))
                })?;
                self.push(Slot::Op(op::PRIMITIVE, Arg::Num(n as isize)))
            }
            Kind::Pointer(item) => {
                let j = self.slot_of(item)?;
                self.push(Slot::Op(op::POINTER, Arg::Num(j as isize)))
            }
            Kind::Function(_) => {
                let j = self.raw_function(t)?;
                self.push(Slot::Op(op::POINTER, Arg::Num(j as isize)))
            }
            Kind::Array { item, len } => {
                let j = self.slot_of(item)?;
                match len {
                    None => self.push(Slot::Op(op::OPEN_ARRAY, Arg::Num(j as isize))),
                    Some(n) => {
                        let n = isize::try_from(*n).map_err(|_| {
                            TypeProblem(format!("'{}': the length is too large", t.cname()))
                        })?;
                        let i = self.push(Slot::Op(op::ARRAY, Arg::Num(j as isize)));
                        self.push(Slot::Len(Arg::Num(n)));
                        i
                    }
                }
            }
            Kind::Struct(_) => {
                if let Some((name, kind)) = self.dots.get(&addr(t)).cloned() {
                    self.dots_primitive(&name, kind)?
                } else {
                    let k = self.structs.len();
                    let i = self.push(Slot::Op(op::STRUCT_UNION, Arg::Num(k as isize)));
                    self.structs.push(Tagged {
                        ty: t.clone(),
                        slot: i,
                    });
                    i
                }
            }
            Kind::Enum(_) => {
                let k = self.enums.len();
                let i = self.push(Slot::Op(op::ENUM, Arg::Num(k as isize)));
                self.enums.push(Tagged {
                    ty: t.clone(),
                    slot: i,
                });
                i
            }
        };
        self.index.insert(Key::Type(addr(t)), i);
        self.names.entry(i).or_insert_with(|| t.cname().to_owned());
        Ok(i)
    }

    /// The `PRIMITIVE` slot of `typedef int... name` (or float): the
    /// compiler picks the number.
    fn dots_primitive(&mut self, name: &str, kind: DotsKind) -> Result<usize, TypeProblem> {
        if !self.allow_expressions {
            return Err(TypeProblem(format!(
                "'{name}' is declared as 'typedef {}... {name};': only API mode \
                 (ffi.set_source() with C code) knows its type",
                if kind == DotsKind::Float {
                    "float"
                } else {
                    "int"
                }
            )));
        }
        let expr = match kind {
            DotsKind::Float => {
                format!("_cffi_prim_float(sizeof({name}) * (((({name})1) / 2) * 2))")
            }
            _ => format!("_cffi_prim_int(sizeof({name}), (({name})-1) <= 0)"),
        };
        Ok(self.push(Slot::Op(op::PRIMITIVE, Arg::Expr(expr))))
    }

    /// The first slot of the `FUNCTION` sequence of function type `f`.
    pub fn raw_function(&mut self, f: &TypeRef) -> Result<usize, TypeProblem> {
        if let Some(&i) = self.index.get(&Key::Raw(addr(f))) {
            return Ok(i);
        }
        let info = f
            .func_info()
            .ok_or_else(|| TypeProblem(format!("'{}' is not a function type", f.cname())))?;
        let result = self.slot_of(&info.result)?;
        let mut args = Vec::with_capacity(info.args.len());
        for a in &info.args {
            args.push(self.slot_of(a)?);
        }
        let first = self.push(Slot::Op(op::FUNCTION, Arg::Num(result as isize)));
        for a in args {
            // A primitive argument is written in place, as cffi does.
            let slot = match &self.slots[a] {
                Slot::Op(op::PRIMITIVE, Arg::Num(n)) => Slot::Op(op::PRIMITIVE, Arg::Num(*n)),
                _ => Slot::Op(op::NOOP, Arg::Num(a as isize)),
            };
            self.push(slot);
        }
        let mut flags = isize::from(info.ellipsis);
        if info.abi == ABI_STDCALL {
            flags |= 2;
        }
        self.push(Slot::Op(op::FUNCTION_END, Arg::Num(flags)));
        self.index.insert(Key::Raw(addr(f)), first);
        self.names
            .entry(first)
            .or_insert_with(|| f.cname().replacen("(*)", "()", 1));
        Ok(first)
    }

    /// The slot of an array of the type at `item` (not necessarily a
    /// resolved type): `len` is its length, `Num(-1)` for `[]`, or a C
    /// expression (a `[...]` the compiler measures).
    pub fn array_slot(&mut self, item: usize, len: Arg) -> Result<usize, TypeProblem> {
        if matches!(len, Arg::Expr(_)) && !self.allow_expressions {
            return Err(TypeProblem(
                "an array length '[...]' is only known in API mode (ffi.set_source() with C \
                 code)"
                    .to_owned(),
            ));
        }
        let key = Key::Array(item, len.clone());
        if let Some(&i) = self.index.get(&key) {
            return Ok(i);
        }
        let i = match len {
            Arg::Num(-1) => self.push(Slot::Op(op::OPEN_ARRAY, Arg::Num(item as isize))),
            len => {
                let i = self.push(Slot::Op(op::ARRAY, Arg::Num(item as isize)));
                self.push(Slot::Len(len));
                i
            }
        };
        self.index.insert(key, i);
        Ok(i)
    }

    /// Later uses of `t` (the placeholder of `typedef T t[...]`) are the
    /// type at `slot` (its measured array).
    pub fn alias(&mut self, t: &TypeRef, slot: usize) {
        self.index.insert(Key::Type(addr(t)), slot);
    }

    /// The kind of `typedef ...` whose placeholder `t` is, if it is one.
    pub fn dots_kind(&self, t: &TypeRef) -> Option<DotsKind> {
        self.dots.get(&addr(t)).map(|(_, k)| *k)
    }

    /// Sorts the struct and enum lists by `name_of` and renumbers their
    /// slots.
    pub fn finish(&mut self, name_of: impl Fn(&CType) -> String) {
        let renumber = |list: &mut Vec<Tagged>, slots: &mut Vec<Slot>| {
            list.sort_by_cached_key(|t| name_of(&t.ty));
            for (k, t) in list.iter().enumerate() {
                if let Slot::Op(o, _) = slots[t.slot] {
                    slots[t.slot] = Slot::Op(o, Arg::Num(k as isize));
                }
            }
        };
        renumber(&mut self.structs, &mut self.slots);
        renumber(&mut self.enums, &mut self.slots);
    }
}
