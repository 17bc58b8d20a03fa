//! From the declarations of one `FFI` to the [`Tables`] of its module.
//!
//! The declarations come from the records the front end kept while the
//! cdefs resolved (`Declarations::api`: C spellings, resolved types,
//! `[...]` shapes) and from its typedefs.  When a name is declared twice
//! (`override=True`), the last declaration counts.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::aggregates;
use super::model::{GlobalEntry, GlobalKind, Tables, Target, TypenameEntry};
use super::types::{Arg, TypeProblem, TypeTable};
use crate::errors::{Error, ErrorKind};
use crate::frontend::apimode::{ApiItem, ApiItemKind, ConstSource, Dim, Shape};
use crate::frontend::{Constant, Declarations, DotsKind};
use crate::module::format::{CTX_USES_EXTERN_PYTHON, op};
use crate::types::{Kind, TypeRef, intern};

/// What a declaration is called in messages.
pub fn what(item: &ApiItem) -> String {
    let name = &item.name;
    match &item.kind {
        ApiItemKind::Function { .. } => format!("function '{name}'"),
        ApiItemKind::ExternPython { .. } => format!("extern \"Python\" function '{name}'"),
        ApiItemKind::Variable { .. } => format!("global variable '{name}'"),
        ApiItemKind::Constant {
            source: ConstSource::Define,
            ..
        } => format!("'#define {name} ...'"),
        ApiItemKind::Constant { .. } => format!("constant '{name}'"),
        ApiItemKind::Struct { .. } | ApiItemKind::Enum { .. } => name.clone(),
        ApiItemKind::DotsTypedef { .. } | ApiItemKind::DotsArrayTypedef { .. } => {
            format!("typedef '{name}'")
        }
    }
}

/// The namespace of a record, and the name it is known by there.
fn namespace(item: &ApiItem) -> (u8, &str) {
    match &item.kind {
        ApiItemKind::Struct { key, .. } | ApiItemKind::Enum { key, .. } => (1, key),
        ApiItemKind::DotsTypedef { .. } | ApiItemKind::DotsArrayTypedef { .. } => (2, &item.name),
        _ => (0, &item.name),
    }
}

/// The indices (into `decls.api`) of the records that count: the last of
/// each name, in declaration order.
pub fn live_records(decls: &Declarations) -> Vec<usize> {
    let mut last: HashMap<(u8, &str), usize> = HashMap::new();
    for (i, item) in decls.api.iter().enumerate() {
        last.insert(namespace(item), i);
    }
    let mut live: Vec<usize> = last.into_values().collect();
    live.sort_unstable();
    live
}

pub(super) fn located(item: &ApiItem, message: impl std::fmt::Display) -> Error {
    Error::verification(format!("{} ({}): {message}", what(item), item.origin))
}

fn type_error(item: &ApiItem, p: TypeProblem) -> Error {
    located(item, p.0)
}

/// Whether constants of `t` are integer constants (`CONSTANT_INT`): the
/// integer primitives (not the chars), as in cffi.
fn is_integer_type(t: &TypeRef, table: &TypeTable) -> bool {
    match &t.kind {
        Kind::Primitive(p) => p.is_integer(),
        Kind::Struct(_) => table.is_dots_int(t),
        _ => false,
    }
}

/// Builds the tables.
pub struct Collector<'d> {
    pub decls: &'d Declarations,
    pub target: Target,
    pub types: TypeTable,
    pub globals: Vec<GlobalEntry>,
    pub typenames: Vec<TypenameEntry>,
    /// Struct and enum records by the address of their type.
    pub records_by_type: HashMap<usize, usize>,
    /// Which enum declared each enumerator (for duplicate checks).
    enumerators: HashMap<String, usize>,
    flags: i32,
    /// The record being collected.
    current: Option<usize>,
}

impl<'d> Collector<'d> {
    fn new(decls: &'d Declarations, target: Target) -> Self {
        Collector {
            decls,
            target,
            types: TypeTable::new(target == Target::C),
            globals: Vec::new(),
            typenames: Vec::new(),
            records_by_type: HashMap::new(),
            enumerators: HashMap::new(),
            flags: 0,
            current: None,
        }
    }

    /// Whether `t` is a struct nothing declares the fields of (so no value
    /// of it can exist): not partial, not from an include, not a
    /// placeholder of `typedef int... t`.
    pub fn is_opaque(&self, t: &TypeRef) -> bool {
        t.is_struct()
            && t.is_opaque()
            && self.types.dots_kind(t).is_none()
            && !self
                .records_by_type
                .contains_key(&(Arc::as_ptr(t) as usize))
            && !self.decls.is_included(t)
    }

    /// Later globals and C expressions belong to record `i`.
    pub fn set_current(&mut self, i: Option<usize>) {
        self.current = i;
        self.types.owner = i;
    }

    pub fn item(&self, i: usize) -> &'d ApiItem {
        &self.decls.api[i]
    }

    fn global(&mut self, name: &str, op: u8, arg: isize, kind: GlobalKind, check: Option<i128>) {
        self.globals.push(GlobalEntry {
            name: name.to_owned(),
            op,
            arg,
            kind,
            check,
            item: self.current,
        });
    }

    /// The slot of a declared object of type `ctype` whose leading array
    /// dimensions are `shape`; `base` is the C expression of the object
    /// (its `[...]` lengths are measured on it).
    pub fn declared_slot(
        &mut self,
        ctype: &TypeRef,
        shape: &Shape,
        base: &str,
    ) -> Result<usize, TypeProblem> {
        if shape.misplaced {
            return Err(TypeProblem(format!(
                "type {} badly placed: the '...' array length can only be used on global \
                 arrays or on fields of structures",
                ctype.cname()
            )));
        }
        let mut slot = self.types.slot_of(ctype)?;
        for (depth, dim) in shape.dims.iter().enumerate().rev() {
            let len = match dim {
                Dim::Dots => Arg::Expr(format!("_cffi_array_len({base}{})", "[0]".repeat(depth))),
                Dim::Len(n) => Arg::Num(
                    isize::try_from(*n)
                        .map_err(|_| TypeProblem("an array length is too large".to_owned()))?,
                ),
                Dim::Open => Arg::Num(-1),
            };
            slot = self.types.array_slot(slot, len)?;
        }
        Ok(slot)
    }

    fn add_function(&mut self, i: usize) -> Result<(), Error> {
        let item = self.item(i);
        let ApiItemKind::Function { ty, variadic, .. } = &item.kind else {
            return Ok(());
        };
        let info = ty
            .func_info()
            .ok_or_else(|| located(item, "not a function type"))?;
        if self.target == Target::Python {
            let raw = self
                .types
                .raw_function(ty)
                .map_err(|p| type_error(item, p))?;
            self.global(
                &item.name,
                op::DLOPEN_FUNC,
                raw as isize,
                GlobalKind::Dlopen,
                None,
            );
            return Ok(());
        }
        for (t, role) in std::iter::once((&info.result, "result"))
            .chain(info.args.iter().map(|a| (a, "argument")))
        {
            if self.is_opaque(t) {
                return Err(Error::type_error(format!(
                    "function {}: '{}' is used as {role} type, but is opaque",
                    item.name,
                    t.cname()
                )));
            }
        }
        if *variadic {
            // No wrapper can forward '...': a constant function pointer,
            // as in cffi.
            let slot = self.types.slot_of(ty).map_err(|p| type_error(item, p))?;
            let kind = GlobalKind::VariadicFunction;
            self.global(&item.name, op::CONSTANT, slot as isize, kind, None);
            return Ok(());
        }
        let raw = self
            .types
            .raw_function(ty)
            .map_err(|p| type_error(item, p))?;
        let o = match info.args.len() {
            0 => op::CPYTHON_BLTN_N,
            1 => op::CPYTHON_BLTN_O,
            _ => op::CPYTHON_BLTN_V,
        };
        self.global(&item.name, o, raw as isize, GlobalKind::Function, None);
        Ok(())
    }

    fn add_extern_python(&mut self, i: usize) -> Result<(), Error> {
        let item = self.item(i);
        let ApiItemKind::ExternPython { ty, variadic, .. } = &item.kind else {
            return Ok(());
        };
        if self.target == Target::Python {
            return Err(located(
                item,
                "cannot use 'extern \"Python\"' in the ABI mode",
            ));
        }
        if *variadic {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                format!(
                    "{} ({}): a vararg function cannot be extern \"Python\"",
                    what(item),
                    item.origin
                ),
            ));
        }
        let slot = self.types.slot_of(ty).map_err(|p| type_error(item, p))?;
        let kind = GlobalKind::ExternPython;
        self.global(&item.name, op::EXTERN_PYTHON, slot as isize, kind, None);
        self.flags |= CTX_USES_EXTERN_PYTHON;
        Ok(())
    }

    fn add_variable(&mut self, i: usize) -> Result<(), Error> {
        let item = self.item(i);
        let ApiItemKind::Variable {
            shape,
            is_const,
            ctype,
            ..
        } = &item.kind
        else {
            return Ok(());
        };
        let ctype = ctype
            .as_ref()
            .ok_or_else(|| located(item, "its type cannot be resolved"))?;
        if *is_const && shape.is_empty() && !ctype.is_array() {
            // A constant, as in cffi: read by value, once.
            return self.add_typed_constant(item, ctype, None);
        }
        let slot = self
            .declared_slot(ctype, shape, &item.name)
            .map_err(|p| type_error(item, p))?;
        let (o, kind) = match self.target {
            Target::C => (op::GLOBAL_VAR_F, GlobalKind::Variable),
            Target::Python => (op::GLOBAL_VAR, GlobalKind::Dlopen),
        };
        self.global(&item.name, o, slot as isize, kind, None);
        Ok(())
    }

    /// A constant of a declared type: an integer constant (`check`: the
    /// value the cdef gives) or one the C text writes through a pointer.
    fn add_typed_constant(
        &mut self,
        item: &ApiItem,
        ctype: &TypeRef,
        check: Option<i128>,
    ) -> Result<(), Error> {
        if check.is_some() || (self.target == Target::C && is_integer_type(ctype, &self.types)) {
            self.global(
                &item.name,
                op::CONSTANT_INT,
                -1,
                GlobalKind::IntConstant,
                check,
            );
            return Ok(());
        }
        let slot = self.types.slot_of(ctype).map_err(|p| type_error(item, p))?;
        let (o, kind) = match self.target {
            Target::C => {
                // The pointer is to the unqualified type (it is written
                // through): rcffi's C name, unless the type has none.
                let resolved = intern::pointer(ctype).cname().to_owned();
                let pointer = match &item.kind {
                    ApiItemKind::Constant { ty: Some(t), .. }
                    | ApiItemKind::Variable { ty: t, .. }
                        if resolved.contains('$') =>
                    {
                        t.ptr.replace('@', "").replace("const", "")
                    }
                    _ => resolved,
                };
                // A constant of an opaque type (maybe an array in C) is
                // copied as bytes: the reader refuses it before reading.
                let copy = self.is_opaque(ctype);
                (op::CONSTANT, GlobalKind::Constant { pointer, copy })
            }
            Target::Python => (op::DLOPEN_CONST, GlobalKind::Dlopen),
        };
        self.global(&item.name, o, slot as isize, kind, None);
        Ok(())
    }

    fn add_constant(&mut self, i: usize) -> Result<(), Error> {
        let item = self.item(i);
        let ApiItemKind::Constant {
            source,
            value,
            ctype,
            ..
        } = &item.kind
        else {
            return Ok(());
        };
        let check = match value {
            Some(Constant::Int(v)) => Some(*v),
            _ => None,
        };
        match (source, ctype) {
            (ConstSource::StaticConst, Some(t)) => self.add_typed_constant(item, t, check),
            _ => {
                if check.is_none() && self.target == Target::Python {
                    return Err(Error::verification(format!(
                        "macro {}: cannot use the syntax '...' in '#define {} ...' when using \
                         the ABI mode",
                        item.name, item.name
                    )));
                }
                self.global(
                    &item.name,
                    op::CONSTANT_INT,
                    -1,
                    GlobalKind::IntConstant,
                    check,
                );
                Ok(())
            }
        }
    }

    /// The enumerators of an enum as integer constants (`ENUM` globals).
    pub(super) fn add_enumerators(
        &mut self,
        owner: &str,
        items: &[(String, Option<i128>)],
        partial_origin: Option<&str>,
    ) -> Result<(), Error> {
        for (name, value) in items {
            if let Some(&prev) = self.enumerators.get(name) {
                let first = &self.globals[prev];
                if partial_origin.is_some() || first.check != *value {
                    let at = partial_origin.map(|o| format!(", declared with '...' on {o}"));
                    return Err(Error::verification(format!(
                        "duplicate declaration of constant '{name}' ({owner}{})",
                        at.unwrap_or_default()
                    )));
                }
                continue;
            }
            self.enumerators.insert(name.clone(), self.globals.len());
            self.global(name, op::ENUM, -1, GlobalKind::IntConstant, *value);
        }
        Ok(())
    }

    fn add_enum_record(&mut self, i: usize) -> Result<(), Error> {
        let item = self.item(i);
        let ApiItemKind::Enum {
            key,
            partial,
            items,
            ctype,
            ..
        } = &item.kind
        else {
            return Ok(());
        };
        if *partial && self.target == Target::Python {
            return Err(Error::new(
                ErrorKind::VerificationMissing,
                format!(
                    "{key} (declared with '...' on {}): its values are only known in API mode",
                    item.origin
                ),
            ));
        }
        self.records_by_type.insert(Arc::as_ptr(ctype) as usize, i);
        self.types.slot_of(ctype).map_err(|p| type_error(item, p))?;
        let origin = partial.then_some(item.origin.as_str());
        self.add_enumerators(key, items, origin)
    }

    /// A struct or union the cdef defines: in the tables even if nothing
    /// uses it, as in cffi, unless it has no name (an anonymous member,
    /// or the type of one field), which only appears where it is used.
    fn add_struct_record(&mut self, i: usize) -> Result<(), Error> {
        let item = self.item(i);
        if let ApiItemKind::Struct { ctype, .. } = &item.kind {
            self.records_by_type.insert(Arc::as_ptr(ctype) as usize, i);
            if !ctype.cname().contains('$') {
                self.types.slot_of(ctype).map_err(|p| type_error(item, p))?;
            }
        }
        Ok(())
    }

    fn add_dots_typedef(&mut self, i: usize) -> Result<(), Error> {
        let item = self.item(i);
        match &item.kind {
            ApiItemKind::DotsTypedef { kind, ctype, .. } => {
                if *kind != DotsKind::Opaque && ctype.is_struct() {
                    self.types.add_dots_placeholder(ctype, &item.name, *kind);
                }
                let slot = self.types.slot_of(ctype).map_err(|p| type_error(item, p))?;
                self.typename(&item.name, slot);
            }
            ApiItemKind::DotsArrayTypedef { shape, ctype, .. } => {
                let ctype = ctype
                    .as_ref()
                    .ok_or_else(|| located(item, "its item type cannot be resolved"))?;
                let base = format!("(*({} *)0)", item.name);
                let slot = self
                    .declared_slot(ctype, shape, &base)
                    .map_err(|p| type_error(item, p))?;
                self.typename(&item.name, slot);
                // As in cffi, the typedef's later uses (fields, pointers,
                // parameters) are that measured array.
                if let Some(placeholder) = self.decls.placeholders.get(&item.name) {
                    self.types.alias(placeholder, slot);
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn typename(&mut self, name: &str, slot: usize) {
        self.typenames.push(TypenameEntry {
            name: name.to_owned(),
            slot,
        });
    }
}

impl TypeTable {
    /// Whether `t` is the placeholder of a `typedef int... t`.
    pub fn is_dots_int(&self, t: &TypeRef) -> bool {
        self.dots_kind(t) == Some(DotsKind::Int)
    }
}

/// The tables of the module of `decls`; `includes` names the modules of
/// the FFIs it includes, in order.
pub fn collect(decls: &Declarations, target: Target, includes: &[String]) -> Result<Tables, Error> {
    let mut c = Collector::new(decls, target);
    let live = live_records(decls);
    // First what later declarations refer to: the placeholders of
    // `typedef int... t` (also those of included FFIs), the records of
    // structs and enums.
    for (name, t) in &decls.placeholders {
        if let Some(&kind) = decls.dots_typedefs.get(name)
            && t.is_struct()
        {
            c.types.add_dots_placeholder(t, name, kind);
        }
    }
    for &i in &live {
        if let ApiItemKind::Struct { ctype, .. } | ApiItemKind::Enum { ctype, .. } =
            &decls.api[i].kind
        {
            c.records_by_type.insert(Arc::as_ptr(ctype) as usize, i);
        }
    }
    for &i in &live {
        if let ApiItemKind::DotsTypedef { .. } | ApiItemKind::DotsArrayTypedef { .. } =
            decls.api[i].kind
        {
            c.set_current(Some(i));
            c.add_dots_typedef(i)?;
        }
    }
    for &i in &live {
        c.set_current(Some(i));
        match decls.api[i].kind {
            ApiItemKind::Function { .. } => c.add_function(i)?,
            ApiItemKind::ExternPython { .. } => c.add_extern_python(i)?,
            ApiItemKind::Variable { .. } => c.add_variable(i)?,
            ApiItemKind::Constant { .. } => c.add_constant(i)?,
            ApiItemKind::Struct { .. } => c.add_struct_record(i)?,
            ApiItemKind::Enum { .. } => c.add_enum_record(i)?,
            _ => {}
        }
    }
    c.set_current(None);
    add_typedefs(&mut c)?;
    add_tags(&mut c)?;
    let (structs, fields, enums) = aggregates::collect(&mut c)?;
    let globals = unique(std::mem::take(&mut c.globals))?;
    let mut typenames = std::mem::take(&mut c.typenames);
    typenames.sort_by(|a, b| a.name.cmp(&b.name));
    typenames.dedup_by(|a, b| a.name == b.name);
    Ok(Tables {
        target,
        types: c.types,
        globals,
        fields,
        structs,
        enums,
        typenames,
        includes: includes.to_vec(),
        flags: c.flags,
    })
}

/// The typedefs of the cdefs (with those of included FFIs, as cffi):
/// each a typename.
fn add_typedefs(c: &mut Collector<'_>) -> Result<(), Error> {
    let recorded: HashSet<String> = c.typenames.iter().map(|t| t.name.clone()).collect();
    let d = c.decls;
    let mut named: Vec<(&String, &TypeRef)> = d.typedefs.iter().collect();
    // `typedef int... t` of an included FFI: its placeholder.
    named.extend(
        (d.placeholders.iter()).filter(|(n, t)| d.dots_typedefs.contains_key(*n) && t.is_struct()),
    );
    named.sort_by(|a, b| a.0.cmp(b.0));
    for (name, t) in named {
        if recorded.contains(name) {
            continue;
        }
        let slot = c
            .types
            .slot_of(t)
            .map_err(|p| Error::verification(format!("typedef '{name}': {}", p.0)))?;
        c.typename(name, slot);
    }
    Ok(())
}

/// Every struct, union and enum the cdefs name (declared only, or from an
/// included FFI: opaque or external entries), as cffi.
fn add_tags(c: &mut Collector<'_>) -> Result<(), Error> {
    let mut tags: Vec<(&String, &TypeRef)> = c.decls.tags.iter().collect();
    tags.sort_by(|a, b| a.0.cmp(b.0));
    for (key, t) in tags {
        c.types
            .slot_of(t)
            .map_err(|p| Error::verification(format!("{key}: {}", p.0)))?;
    }
    Ok(())
}

/// The globals sorted by name.  Two of the same name (other than the same
/// integer constant declared twice, kept once) cannot be told apart by
/// the reader's search: an error.
fn unique(mut globals: Vec<GlobalEntry>) -> Result<Vec<GlobalEntry>, Error> {
    globals.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out: Vec<GlobalEntry> = Vec::with_capacity(globals.len());
    for g in globals {
        if let Some(prev) = out.last()
            && prev.name == g.name
        {
            if prev.op == g.op && prev.check == g.check && g.kind == GlobalKind::IntConstant {
                continue;
            }
            return Err(Error::verification(format!(
                "duplicate declaration of '{}' in the cdef",
                g.name
            )));
        }
        out.push(g);
    }
    Ok(out)
}
