//! The realiser: a type slot of a module's tables becomes a [`CType`] the
//! first time it is used, and stays cached per slot.
//!
//! * A `FUNCTION` slot realises to [`Realised::Function`] (the function
//!   ctype, which is cffi's function *pointer* type); a `POINTER` to it is
//!   that very ctype.  Anything that needs a plain type refuses it with
//!   cffi's "is a function type" error.
//! * Structs and unions are created when first named and laid out when
//!   first used ([`crate::types::LazyLayout`]): the compiler-measured size,
//!   alignment and offsets of the tables are imposed (or, with
//!   `_CFFI_F_CHECK_FIELDS`, checked against rcffi's layout, with cffi's
//!   messages); a size of `(size_t)-2` or an offset of `(size_t)-1` is
//!   computed by rcffi's layout.  Their identity is per struct entry.
//! * External structs (`_CFFI_F_EXTERNAL`) come from the included
//!   modules ([`ModuleTypes::set_includes`]).
//! * Enums take their values from their enumerators' `ENUM` globals.
//!
//! [`CType`]: crate::types::CType

use std::cell::Cell;
use std::sync::{Arc, OnceLock, Weak};

use super::format::{self, IO_FILE_STRUCT, op, prim, sflags};
use super::tables::Tables;
use crate::errors::Error;
use crate::frontend::namespace::{NamedType, Namespace, TagKind, TypeLists};
use crate::types::layout::{self, FieldDecl, StructOptions};
use crate::types::{self, ABI_DEFAULT, ABI_STDCALL, Layout, TypeRef, intern};

/// What a type slot realises to.
#[derive(Clone, Debug)]
pub enum Realised {
    Type(TypeRef),
    /// A function type (the slot of a `FUNCTION`): its function ctype.
    Function(TypeRef),
}

impl Realised {
    /// The ctype, whichever kind.
    pub fn ctype(&self) -> &TypeRef {
        match self {
            Realised::Type(t) | Realised::Function(t) => t,
        }
    }
}

/// The types of one module, realised lazily.
pub struct ModuleTypes {
    tables: Tables,
    slots: Box<[OnceLock<Realised>]>,
    structs: Box<[OnceLock<TypeRef>]>,
    enums: Box<[OnceLock<TypeRef>]>,
    includes: OnceLock<Vec<Arc<ModuleTypes>>>,
    me: Weak<ModuleTypes>,
}

/// How deep realisations may nest (cffi's limit).
const MAX_DEPTH: u32 = 1000;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

fn cells<T>(n: usize) -> Box<[OnceLock<T>]> {
    (0..n).map(|_| OnceLock::new()).collect()
}

/// cffi's C name of a struct, union or enum of the tables: `xyz` is
/// `struct xyz`; `$xyz` (an unnamed one with a typedef) is `xyz`; `$1`
/// stays `struct $1`.
pub fn realize_name(prefix: &str, name: &str) -> String {
    let b = name.as_bytes();
    if b.first() == Some(&b'$') && b.get(1).is_some_and(|&c| c != b'$' && !c.is_ascii_digit()) {
        name[1..].to_owned()
    } else {
        format!("{prefix}{name}")
    }
}

/// cffi's "is a function type" error for the function ctype `f`.
pub fn function_type_error(f: &TypeRef) -> Error {
    Error::ffi(format!(
        "the type '{}' is a function type, not a pointer-to-function type",
        f.cname().replacen("(*)", "", 1)
    ))
}

impl ModuleTypes {
    pub fn new(tables: Tables) -> Arc<ModuleTypes> {
        Arc::new_cyclic(|me| ModuleTypes {
            slots: cells(tables.num_types()),
            structs: cells(tables.num_struct_unions()),
            enums: cells(tables.num_enums()),
            tables,
            includes: OnceLock::new(),
            me: me.clone(),
        })
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The modules this one includes (their types are those of its
    /// external structs and unions); set once, after they are imported.
    pub fn set_includes(&self, included: Vec<Arc<ModuleTypes>>) {
        let _ = self.includes.set(included);
    }

    pub fn included(&self) -> &[Arc<ModuleTypes>] {
        self.includes.get().map_or(&[], Vec::as_slice)
    }

    /// The realised value of slot `i` if it was realised already.
    pub fn realised(&self, i: usize) -> Option<&Realised> {
        self.slots.get(i)?.get()
    }

    /// Realises slot `i` of the type table.
    pub fn realise(&self, i: usize) -> Result<Realised, Error> {
        let cell = self.slots.get(i).ok_or_else(|| {
            self.tables.error(format_args!(
                "type index {i} out of range ({} types)",
                self.slots.len()
            ))
        })?;
        if let Some(r) = cell.get() {
            return Ok(r.clone());
        }
        let depth = DEPTH.with(Cell::get);
        if depth >= MAX_DEPTH {
            return Err(Error::runtime(
                "type-building recursion too deep or infinite.  This is known to occur e.g. in \
                 ``struct s { void(*callable)(struct s); }''.  Please report if you get this \
                 error and really need support for your case.",
            ));
        }
        DEPTH.with(|d| d.set(depth + 1));
        let r = self.realise_now(i);
        DEPTH.with(|d| d.set(depth));
        let r = r?;
        let _ = cell.set(r);
        Ok(cell.get().cloned().unwrap_or_else(unreachable_realised))
    }

    /// Slot `i` as a plain type (a function type is refused).
    pub fn realise_type(&self, i: usize) -> Result<TypeRef, Error> {
        match self.realise(i)? {
            Realised::Type(t) => Ok(t),
            Realised::Function(f) => Err(function_type_error(&f)),
        }
    }

    /// Slot `i` as a function type (the slot of a `FUNCTION`).
    pub fn realise_function(&self, i: usize) -> Result<TypeRef, Error> {
        match self.realise(i)? {
            Realised::Function(f) => Ok(f),
            Realised::Type(t) => Err(self.tables.error(format_args!(
                "types[{i}] is '{}', not a function type",
                t.cname()
            ))),
        }
    }

    fn arg_index(&self, x: format::Opcode) -> Result<usize, Error> {
        self.tables.type_index(format::get_arg(x))
    }

    fn realise_now(&self, i: usize) -> Result<Realised, Error> {
        let x = self.tables.slot(i)?;
        if !format::is_opcode(x) {
            return Err(self
                .tables
                .error(format_args!("types[{i}] holds {x:#x}, which is no opcode")));
        }
        let arg = format::get_arg(x);
        Ok(match format::get_op(x) {
            op::PRIMITIVE => Realised::Type(primitive(arg)?),
            op::POINTER => match self.realise(self.arg_index(x)?)? {
                Realised::Type(t) => Realised::Type(intern::pointer(&t)),
                Realised::Function(f) => Realised::Type(f),
            },
            code @ (op::ARRAY | op::OPEN_ARRAY) => {
                let item = self.realise_type(self.arg_index(x)?)?;
                let len = if code == op::ARRAY {
                    Some(self.tables.slot(i + 1)?)
                } else {
                    None
                };
                Realised::Type(array_of(&item, len)?)
            }
            op::STRUCT_UNION => Realised::Type(self.struct_type(arg)?),
            op::ENUM => Realised::Type(self.enum_type(arg)?),
            op::FUNCTION => Realised::Function(self.function_at(i, x)?),
            op::NOOP => self.realise(self.arg_index(x)?)?,
            op::TYPENAME => {
                let ti = usize::try_from(arg).unwrap_or(usize::MAX);
                let (_, index) = self.tables.typename(ti)?;
                self.realise(index)?
            }
            other => {
                return Err(Error::not_implemented(format!("op={other}")));
            }
        })
    }

    /// The function type whose `FUNCTION` opcode `x` is at slot `i`.
    fn function_at(&self, i: usize, x: format::Opcode) -> Result<TypeRef, Error> {
        let result = self.realise_type(self.arg_index(x)?)?;
        let mut args = Vec::new();
        let mut j = i + 1;
        let end = loop {
            let y = self.tables.slot(j)?;
            // A realised argument slot holds an even address, never the
            // odd FUNCTION_END.
            if format::is_opcode(y) && format::get_op(y) == op::FUNCTION_END {
                break y;
            }
            args.push(self.realise_type(j)?);
            j += 1;
        };
        let flags = format::get_arg(end);
        let ellipsis = flags & 1 != 0;
        let abi = match flags & 0xFE {
            0 => ABI_DEFAULT,
            2 if cfg!(all(windows, target_arch = "x86")) => ABI_STDCALL,
            2 => ABI_DEFAULT,
            n => return Err(Error::ffi(format!("abi number {n} not supported"))),
        };
        Ok(intern::function(args, &result, ellipsis, abi))
    }

    /// Struct or union `sindex` of the struct table (or `FILE`).
    pub fn struct_type(&self, sindex: isize) -> Result<TypeRef, Error> {
        if sindex == IO_FILE_STRUCT as isize {
            return Ok(intern::file());
        }
        let si = usize::try_from(sindex).unwrap_or(usize::MAX);
        let s = self.tables.struct_union(si)?;
        if let Some(t) = self.structs[si].get() {
            return Ok(t.clone());
        }
        let is_union = s.flags & sflags::UNION != 0;
        let t = if s.flags & sflags::EXTERNAL != 0 {
            self.external_struct(s.name, is_union, s.flags, 0)?
        } else {
            let name = realize_name(if is_union { "union " } else { "struct " }, s.name);
            if name == "struct _IO_FILE" {
                intern::file()
            } else {
                let t = types::new_struct(&name, is_union);
                if s.flags & sflags::OPAQUE == 0 {
                    let lazy = LazyStruct {
                        module: self.me.clone(),
                        sindex: si,
                        cname: name,
                        is_union,
                    };
                    types::set_lazy_layout(&t, Box::new(lazy)).map_err(Error::from)?;
                }
                t
            }
        };
        let _ = self.structs[si].set(t);
        Ok(self.structs[si]
            .get()
            .cloned()
            .unwrap_or_else(types::intern::void))
    }

    /// An external struct: the one of the same name and kind in the
    /// included modules (searched depth first, as cffi).
    fn external_struct(
        &self,
        name: &str,
        is_union: bool,
        flags: i32,
        recursion: u32,
    ) -> Result<TypeRef, Error> {
        match self.find_external(name, is_union, recursion)? {
            Some(t) => {
                if flags & sflags::OPAQUE == 0 && t.is_opaque() {
                    let kind = if is_union { "union" } else { "struct" };
                    return Err(Error::not_implemented(format!(
                        "'{kind} {name}' is opaque in the ffi.include(), but no longer in the ffi \
                         doing the include (workaround: don't use ffi.include() but duplicate the \
                         declarations of everything using {kind} {name})"
                    )));
                }
                Ok(t)
            }
            None => {
                let kind = if is_union { "union" } else { "struct" };
                Err(Error::ffi(format!(
                    "'{kind} {name}' should come from ffi.include() but was not found"
                )))
            }
        }
    }

    fn find_external(
        &self,
        name: &str,
        is_union: bool,
        recursion: u32,
    ) -> Result<Option<TypeRef>, Error> {
        if recursion > 100 {
            return Err(Error::runtime(
                "recursion overflow in ffi.include() delegations",
            ));
        }
        for inc in self.included() {
            let Some(si) = inc.tables.search_struct_union(name) else {
                continue;
            };
            let s = inc.tables.struct_union(si)?;
            let union1 = s.flags & sflags::UNION != 0;
            if s.flags & sflags::EXTERNAL == 0 && union1 == is_union {
                return inc.struct_type(si as isize).map(Some);
            }
            if let Some(t) = inc.find_external(name, is_union, recursion + 1)? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// The layout of struct `si` from its fields (see the module docs).
    fn struct_layout(&self, si: usize, cname: &str, is_union: bool) -> Result<Layout, Error> {
        let s = self.tables.struct_union(si)?;
        let mut decls = Vec::with_capacity(s.fields.len());
        for fi in s.fields.clone() {
            let f = self.tables.field(fi)?;
            let ty = self.realise_type(f.type_index)?;
            let bitsize = (f.op == op::BITFIELD).then_some(f.size);
            if f.offset != usize::MAX {
                let cdef = ty.size().map_or(-1, |n| n as isize);
                check_value(
                    cname,
                    "wrong size for field '",
                    f.name,
                    "'",
                    cdef,
                    f.size as isize,
                )?;
            }
            decls.push(FieldDecl {
                name: f.name.to_owned(),
                ty,
                bitsize,
                offset: (f.offset != usize::MAX).then_some(f.offset),
            });
        }
        let opts = StructOptions {
            packed: s.flags & sflags::PACKED != 0,
            ..StructOptions::default()
        };
        let given_size = (s.size < usize::MAX - 1).then_some(s.size);
        let given_align = usize::try_from(s.alignment).ok().filter(|a| *a > 0);
        if s.flags & sflags::CHECK_FIELDS != 0 {
            // cffi's SF_STD_FIELD_POS: rcffi's layout must be the
            // compiler's, field by field.
            let natural: Vec<FieldDecl> = decls
                .iter()
                .map(|d| FieldDecl {
                    name: d.name.clone(),
                    ty: d.ty.clone(),
                    bitsize: d.bitsize,
                    offset: None,
                })
                .collect();
            let l = layout::compute(cname, is_union, &natural, opts).map_err(Error::from)?;
            for d in &decls {
                if let (Some(given), Some(f)) = (d.offset, l.field(&d.name)) {
                    check_value(
                        cname,
                        "wrong offset for field '",
                        &d.name,
                        "'",
                        f.offset as isize,
                        given as isize,
                    )?;
                }
            }
            if let Some(size) = given_size {
                check_value(
                    cname,
                    "wrong total size",
                    "",
                    "",
                    l.size as isize,
                    size as isize,
                )?;
            }
            if let Some(align) = given_align {
                check_value(
                    cname,
                    "wrong total alignment",
                    "",
                    "",
                    l.align as isize,
                    align as isize,
                )?;
            }
            return Ok(l);
        }
        let opts = StructOptions {
            total_size: given_size,
            total_align: given_align,
            ..opts
        };
        let l = layout::compute(cname, is_union, &decls, opts).map_err(Error::from)?;
        let end = l
            .fields
            .iter()
            .map(|f| f.offset + f.ty.size().unwrap_or(0))
            .max()
            .unwrap_or(0);
        if given_size.is_some_and(|s| s < end) {
            return Err(Error::type_error(format!(
                "{cname} cannot be of size {}: there are fields at least up to {end}",
                l.size
            )));
        }
        Ok(l)
    }

    /// Enum `eindex` of the enum table.
    pub fn enum_type(&self, eindex: isize) -> Result<TypeRef, Error> {
        let ei = usize::try_from(eindex).unwrap_or(usize::MAX);
        let e = self.tables.enum_entry(ei)?;
        if let Some(t) = self.enums[ei].get() {
            return Ok(t.clone());
        }
        let base = primitive(e.type_prim as isize)?;
        if !base.primitive().is_some_and(|p| p.is_integer()) {
            return Err(self.tables.error(format_args!(
                "enum '{}' is stored as '{}', which is no integer type",
                e.name,
                base.cname()
            )));
        }
        let mut items = Vec::new();
        if !e.enumerators.is_empty() {
            for item in e.enumerators.split(',') {
                let gi = self.tables.search_global(item).ok_or_else(|| {
                    self.tables.error(format_args!(
                        "the enumerator '{item}' of enum '{}' is not among the globals",
                        e.name
                    ))
                })?;
                let g = self.tables.global(gi)?;
                if g.op != op::ENUM {
                    return Err(self.tables.error(format_args!(
                        "the enumerator '{item}' of enum '{}' is a global of another kind",
                        e.name
                    )));
                }
                items.push((item.to_owned(), self.global_int(gi)?));
            }
        }
        let t = types::new_enum(&realize_name("enum ", e.name), items, base);
        let _ = self.enums[ei].set(t);
        Ok(self.enums[ei]
            .get()
            .cloned()
            .unwrap_or_else(types::intern::void))
    }

    /// The value of the integer constant global `gindex`, with cffi's
    /// error when the compiler and the cdef disagree.
    pub fn global_int(&self, gindex: usize) -> Result<i128, Error> {
        let (value, neg) = self.tables.int_constant(gindex)?;
        match neg {
            0 => Ok(i128::from(value)),
            1 => Ok(i128::from(value as i64)),
            _ => {
                let name = self.tables.global(gindex)?.name;
                let got = if neg == 2 {
                    format!("{value} ({value:#x})")
                } else {
                    format!("{}", value as i64)
                };
                Err(Error::ffi(format!(
                    "the C compiler says '{name}' is equal to {got}, but the cdef disagrees"
                )))
            }
        }
    }
}

fn unreachable_realised() -> Realised {
    // A cell is set before it is read again; kept total anyway.
    Realised::Type(intern::void())
}

/// cffi's `detect_custom_layout` with `SF_STD_FIELD_POS`.
fn check_value(
    cname: &str,
    msg1: &str,
    txt: &str,
    msg2: &str,
    cdef: isize,
    compiler: isize,
) -> Result<(), Error> {
    if cdef == compiler {
        return Ok(());
    }
    Err(Error::ffi(format!(
        "{cname}: {msg1}{txt}{msg2} (cdef says {cdef}, but C compiler says {compiler}). fix it \
         or use \"...;\" as the last field in the cdef for {cname} to make it flexible"
    )))
}

/// The primitive type of number `n`, with cffi's errors for the numbers
/// of `typedef int... t` types whose size fits no primitive.
pub fn primitive(n: isize) -> Result<TypeRef, Error> {
    if n == prim::VOID as isize {
        return Ok(intern::void());
    }
    if let Some(name) = i32::try_from(n).ok().and_then(prim::name)
        && let Some(t) = intern::primitive_named(name)
    {
        return Ok(t);
    }
    Err(match n {
        -1 => Error::ffi(
            "primitive integer type with an unexpected size (or not an integer type at all)",
        ),
        -2 => Error::ffi(
            "primitive floating-point type with an unexpected size (or not a float type at all)",
        ),
        -3 => Error::ffi(
            "primitive floating-point type is 'long double', not supported for now with the \
             syntax 'typedef double... xxx;'",
        ),
        _ => Error::not_implemented(format!("prim={n}")),
    })
}

/// `item[len]` (`len` a raw length slot) or `item[]`, with cffi's checks.
fn array_of(item: &TypeRef, len: Option<usize>) -> Result<TypeRef, Error> {
    let Some(size) = item.size() else {
        return Err(Error::value(format!(
            "array item of unknown size: '{}'",
            item.cname()
        )));
    };
    if let Some(n) = len
        && (n > isize::MAX as usize || n.checked_mul(size).is_none_or(|b| b > isize::MAX as usize))
    {
        return Err(Error::overflow("array size would overflow a ssize_t"));
    }
    Ok(intern::array(item, len))
}

/// The lazy layout of one struct of a module.
struct LazyStruct {
    module: Weak<ModuleTypes>,
    sindex: usize,
    cname: String,
    is_union: bool,
}

impl types::LazyLayout for LazyStruct {
    fn compute(&self) -> Result<Layout, String> {
        let m = self
            .module
            .upgrade()
            .ok_or_else(|| format!("{}: its module was freed", self.cname))?;
        m.struct_layout(self.sindex, &self.cname, self.is_union)
            .map_err(|e| e.message)
    }
}

impl Namespace for ModuleTypes {
    fn has_typedef(&self, name: &str) -> bool {
        self.tables.search_typename(name).is_some()
    }

    fn typedef(&self, name: &str) -> Result<Option<NamedType>, Error> {
        let Some(ti) = self.tables.search_typename(name) else {
            return Ok(None);
        };
        let (_, index) = self.tables.typename(ti)?;
        Ok(Some(match self.realise(index)? {
            Realised::Type(ty) => NamedType {
                ty,
                is_function: false,
            },
            Realised::Function(ty) => NamedType {
                ty,
                is_function: true,
            },
        }))
    }

    fn tag(&self, kind: TagKind, name: &str) -> Result<Option<TypeRef>, Error> {
        if kind == TagKind::Enum {
            return match self.tables.search_enum(name) {
                Some(ei) => self.enum_type(ei as isize).map(Some),
                None => Ok(None),
            };
        }
        let Some(si) = self.tables.search_struct_union(name) else {
            return Ok(None);
        };
        let s = self.tables.struct_union(si)?;
        if (s.flags & sflags::UNION != 0) != (kind == TagKind::Union) {
            return Err(Error::ffi("wrong kind of tag: struct vs union"));
        }
        self.struct_type(si as isize).map(Some)
    }

    fn integer_const(&self, name: &str) -> Result<Option<i128>, Error> {
        self.integer_const_rec(name, 0)
    }

    fn list_types(&self) -> Result<TypeLists, Error> {
        let mut typedefs = Vec::with_capacity(self.tables.num_typenames());
        for i in 0..self.tables.num_typenames() {
            typedefs.push(self.tables.typename(i)?.0.to_owned());
        }
        let (mut structs, mut unions) = (Vec::new(), Vec::new());
        for i in 0..self.tables.num_struct_unions() {
            let s = self.tables.struct_union(i)?;
            if s.name.starts_with('$') {
                continue;
            }
            if s.flags & sflags::UNION != 0 {
                unions.push(s.name.to_owned());
            } else {
                structs.push(s.name.to_owned());
            }
        }
        Ok((typedefs, structs, unions))
    }
}

impl ModuleTypes {
    fn integer_const_rec(&self, name: &str, recursion: u32) -> Result<Option<i128>, Error> {
        if let Some(gi) = self.tables.search_global(name) {
            let g = self.tables.global(gi)?;
            return match g.op {
                op::CONSTANT_INT | op::ENUM => self.global_int(gi).map(Some),
                _ => Err(Error::ffi(format!(
                    "function, global variable or non-integer constant '{name}' must be fetched \
                     from its original 'lib' object"
                ))),
            };
        }
        if recursion > 100 {
            return Err(Error::runtime(
                "recursion overflow in ffi.include() delegations",
            ));
        }
        for inc in self.included() {
            if let Some(v) = inc.integer_const_rec(name, recursion + 1)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }
}
