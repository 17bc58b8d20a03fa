//! From syntax to types: resolves [`TypeExpr`]s against the declarations
//! of one `FFI` and registers what a cdef declares.

use std::sync::Arc;

use super::apimode::{
    ApiItem, ApiItemKind, ConstSource, Dim, FieldItem, LayoutSummary, Shape, Spelled, TypeClass,
};
use super::consteval::{Value, wrap_to};
use super::cspell;
use super::namespace::TagKind;
use super::{CdefOptions, Constant, Declarations, DotsKind, FunctionDecl, VariableDecl};
use crate::errors::{Error, ErrorKind};
use crate::parse::ast::{
    ArrayLen, BaseType, CallConv, Decl, DefineValue, EnumBody, EnumDef, ExternPython, Span,
    StructDef, StructKind, TypeExpr,
};
use crate::types::layout::{self, FieldDecl, StructOptions};
use crate::types::{self, ABI_DEFAULT, ABI_STDCALL, Kind, TypeRef, intern};
use std::collections::HashMap;

/// An error and, when known, where in the source it is.
#[derive(Debug)]
pub struct Located {
    pub error: Error,
    pub span: Option<Span>,
}

impl Located {
    pub fn at(error: Error, span: Span) -> Self {
        Located {
            error,
            span: Some(span),
        }
    }
}

impl From<Error> for Located {
    fn from(error: Error) -> Self {
        Located { error, span: None }
    }
}

/// Resolves names against `decls`; while a cdef runs it also registers new
/// declarations.
pub struct Resolver<'a> {
    pub decls: &'a mut Declarations,
    pub opts: CdefOptions,
    /// The values of the enumerators of the enum being defined.
    enum_scope: Vec<(String, i128)>,
    /// Structs that could not be laid out: why, and where they are defined.
    pub problems: Vec<(TypeRef, String, Span)>,
    /// Anonymous structs, unions and enums of this source, by the offset of
    /// their definition.
    anonymous: std::collections::HashMap<u32, TypeRef>,
    /// Where pointers to function types are allowed to stay function types
    /// (type strings refuse a bare function type).
    pub allow_function: bool,
    /// Resolving a cdef (not a type string): names declared with
    /// `typedef int... t;` resolve to their placeholder.
    pub in_cdef: bool,
    /// C spellings of the anonymous structs, unions and enums of this
    /// source (by the offset of their body): their typedef name.
    anon_names: HashMap<u32, String>,
}

fn callconv_abi(c: CallConv) -> i32 {
    match c {
        // On this platform __stdcall is the default convention, as in cffi.
        CallConv::Stdcall if cfg!(all(windows, target_arch = "x86")) => ABI_STDCALL,
        CallConv::Default | CallConv::Cdecl | CallConv::Stdcall => ABI_DEFAULT,
    }
}

impl<'a> Resolver<'a> {
    pub fn new(decls: &'a mut Declarations, opts: CdefOptions) -> Self {
        Resolver {
            decls,
            opts,
            enum_scope: Vec::new(),
            anonymous: std::collections::HashMap::new(),
            problems: Vec::new(),
            allow_function: true,
            in_cdef: false,
            anon_names: HashMap::new(),
        }
    }

    pub fn lookup_constant(&self, name: &str) -> Option<Value> {
        if let Some((_, v)) = self.enum_scope.iter().rev().find(|(n, _)| n == name) {
            return Some(Value::Int(*v));
        }
        match self.decls.integer_const(name).ok()?? {
            Constant::Int(i) => Some(Value::Int(i)),
            Constant::Float(f) => Some(Value::Float(f)),
            Constant::Unresolved => None,
        }
    }

    /// The type a [`TypeExpr`] denotes, with C's adjustments for function
    /// parameters left to the caller.
    pub fn resolve_type(&mut self, t: &TypeExpr) -> Result<TypeRef, Located> {
        match t {
            TypeExpr::Base { base, span, .. } => self.resolve_base(base, *span, None),
            TypeExpr::Pointer { pointee, .. } => {
                // A pointer to a function is cffi's function ctype itself.
                if let TypeExpr::Function { .. } = **pointee {
                    return self.resolve_function(pointee);
                }
                if self.decls.is_raw_function(pointee) {
                    return self.resolve_type(pointee);
                }
                let item = self.resolve_type(pointee)?;
                Ok(intern::pointer(&item))
            }
            TypeExpr::Array { item, len, span } => {
                let item_ty = self.resolve_type(item)?;
                if matches!(item_ty.kind, Kind::Function(_))
                    && matches!(**item, TypeExpr::Function { .. })
                {
                    return Err(Located::at(
                        Error::cdef("an array of functions is not a valid type"),
                        *span,
                    ));
                }
                let n = match len {
                    ArrayLen::Open => None,
                    ArrayLen::Dots => {
                        return Err(Located::at(
                            Error::cdef(
                                "an array length '[...]' is only known in API mode \
                                 (ffi.set_source() or ffi.verify())",
                            ),
                            *span,
                        ));
                    }
                    ArrayLen::Expr(e) => {
                        let v = self.eval_int(e)?;
                        if v < 0 {
                            return Err(Located::at(Error::value("negative array length"), e.span));
                        }
                        match usize::try_from(v) {
                            Ok(n) if item_ty.size().is_none_or(|s| s.checked_mul(n).is_some()) => {
                                Some(n)
                            }
                            _ => {
                                return Err(Located::at(
                                    Error::overflow("array length too large"),
                                    e.span,
                                ));
                            }
                        }
                    }
                };
                if item_ty.size().is_none() {
                    let message = format!(
                        "array of '{}': the item type has no known size",
                        item_ty.cname()
                    );
                    // A bad declaration in a cdef; a ValueError (as cffi's
                    // backend raises) in a type string.
                    let error = if self.in_cdef {
                        Error::cdef(message)
                    } else {
                        Error::value(message)
                    };
                    return Err(Located::at(error, *span));
                }
                Ok(intern::array(&item_ty, n))
            }
            TypeExpr::Function { span, .. } => {
                if self.allow_function {
                    self.resolve_function(t)
                } else {
                    Err(Located::at(
                        Error::cdef("this is a function type, not a pointer-to-function type"),
                        *span,
                    ))
                }
            }
        }
    }

    /// A parameter type, adjusted as C does: arrays become pointers,
    /// functions function pointers.
    fn resolve_param(&mut self, t: &TypeExpr) -> Result<TypeRef, Located> {
        match t {
            TypeExpr::Array { item, .. } => {
                let item = self.resolve_type(item)?;
                Ok(intern::pointer(&item))
            }
            TypeExpr::Function { .. } => self.resolve_function(t),
            _ => self.resolve_type(t),
        }
    }

    fn resolve_function(&mut self, t: &TypeExpr) -> Result<TypeRef, Located> {
        let TypeExpr::Function {
            result,
            params,
            variadic,
            callconv,
            span,
        } = t
        else {
            return self.resolve_type(t);
        };
        let saved = std::mem::replace(&mut self.allow_function, true);
        let result = (|| {
            let mut args = Vec::with_capacity(params.len());
            for p in params {
                let a = self.resolve_param(&p.ty)?;
                if a.is_void() {
                    return Err(Located::at(
                        Error::cdef("'void' is only allowed alone, as in 'f(void)'"),
                        p.span,
                    ));
                }
                args.push(a);
            }
            let res = match **result {
                TypeExpr::Function { span, .. } => {
                    return Err(Located::at(
                        Error::cdef("a function cannot return a function"),
                        span,
                    ));
                }
                TypeExpr::Array { span, .. } => {
                    return Err(Located::at(
                        Error::cdef("a function cannot return an array"),
                        span,
                    ));
                }
                _ => self.resolve_type(result)?,
            };
            let _ = span;
            Ok(intern::function(
                args,
                &res,
                *variadic,
                callconv_abi(*callconv),
            ))
        })();
        self.allow_function = saved;
        result
    }

    fn resolve_base(
        &mut self,
        base: &BaseType,
        span: Span,
        typedef_name: Option<&str>,
    ) -> Result<TypeRef, Located> {
        match base {
            BaseType::Void => Ok(intern::void()),
            BaseType::Primitive(name) => intern::primitive_named(name).ok_or_else(|| {
                Located::at(
                    Error::cdef(format!("unknown primitive type '{name}'")),
                    span,
                )
            }),
            BaseType::Named(name) => self.named(name, span),
            BaseType::Struct(def) => self.struct_type(def, typedef_name),
            BaseType::Enum(def) => self.enum_type(def, typedef_name),
            BaseType::Dots | BaseType::DotsInt | BaseType::DotsFloat => Err(Located::at(
                Error::cdef("'...' here is only valid in 'typedef ... name;'"),
                span,
            )),
        }
    }

    fn named(&mut self, name: &str, span: Span) -> Result<TypeRef, Located> {
        if let Some(t) = self.decls.typedefs.get(name) {
            return Ok(t.clone());
        }
        if self.in_cdef
            && let Some(t) = self.decls.placeholders.get(name)
        {
            return Ok(t.clone());
        }
        if let Some(kind) = self.decls.dots_typedefs.get(name) {
            let what = match kind {
                DotsKind::Int => "typedef int... ",
                DotsKind::Float => "typedef float... ",
                DotsKind::Opaque => "typedef ... ",
            };
            return Err(Located::at(
                Error::cdef(format!(
                    "'{name}' is declared as '{what}{name};': its real type is only known in \
                     API mode (ffi.set_source() or ffi.verify())"
                )),
                span,
            ));
        }
        for ns in &self.decls.namespaces {
            if let Some(t) = ns.typedef(name).map_err(|e| Located::at(e, span))? {
                return Ok(t.ty);
            }
        }
        match name {
            "bool" => Ok(intern::prim("_Bool")),
            "FILE" => Ok(self.decls.file_type()),
            _ => intern::primitive_named(name).ok_or_else(|| {
                Located::at(Error::cdef(format!("unknown type name '{name}'")), span)
            }),
        }
    }

    /// The tag `key` from the namespaces of the declarations.  With
    /// namespaces, a tag none of them knows is an error (cffi's compiled
    /// modules do not make opaque structs for unknown names).
    fn namespace_tag(
        &self,
        kind: TagKind,
        name: &str,
        key: &str,
        span: Span,
    ) -> Result<Option<TypeRef>, Located> {
        if self.decls.namespaces.is_empty() {
            return Ok(None);
        }
        for ns in &self.decls.namespaces {
            if let Some(t) = ns.tag(kind, name).map_err(|e| Located::at(e, span))? {
                return Ok(Some(t));
            }
        }
        if kind == TagKind::Struct && name == "_IO_FILE" {
            return Ok(Some(self.decls.file_type()));
        }
        let what = match kind {
            TagKind::Enum => "enum",
            TagKind::Struct | TagKind::Union => "struct/union",
        };
        Err(Located::at(
            Error::ffi(format!("undefined {what} name: '{key}'")),
            span,
        ))
    }

    fn tag_key(kind: StructKind, name: &str) -> String {
        match kind {
            StructKind::Struct => format!("struct {name}"),
            StructKind::Union => format!("union {name}"),
        }
    }

    fn struct_type(
        &mut self,
        def: &StructDef,
        typedef_name: Option<&str>,
    ) -> Result<TypeRef, Located> {
        let is_union = def.kind == StructKind::Union;
        let ty = match &def.name {
            Some(name) => {
                let key = Self::tag_key(def.kind, name);
                if def.body.is_none() && !self.decls.tags.contains_key(&key) {
                    let kind = match def.kind {
                        StructKind::Struct => TagKind::Struct,
                        StructKind::Union => TagKind::Union,
                    };
                    if let Some(t) = self.namespace_tag(kind, name, &key, def.span)? {
                        return Ok(t);
                    }
                }
                match self.decls.tags.get(&key) {
                    Some(t)
                        if def.body.is_some()
                            && t.is_opaque()
                            && self.decls.included_opaque.contains(&key) =>
                    {
                        return Err(Located::at(
                            Error::new(
                                ErrorKind::NotImplemented,
                                format!(
                                    "'{key}' is opaque in the ffi.include(), but no longer in \
                                     the ffi doing the include (workaround: don't use \
                                     ffi.include() but duplicate the declarations of everything \
                                     using {key})"
                                ),
                            ),
                            def.span,
                        ));
                    }
                    Some(t) if def.body.is_none() || t.is_opaque() => t.clone(),
                    Some(_) if !self.opts.override_ => {
                        return Err(Located::at(
                            Error::ffi(format!(
                                "multiple definitions of {key} (for interactive usage, try \
                                 cdef(xx, override=True))"
                            )),
                            def.span,
                        ));
                    }
                    _ => {
                        let t = types::new_struct(&key, is_union);
                        self.decls.tags.insert(key, t.clone());
                        t
                    }
                }
            }
            None => {
                // A later declarator of `typedef struct {...} a, *b;`
                // refers to the body at the same place.
                if let Some(t) = self.anonymous.get(&def.span.start) {
                    return Ok(t.clone());
                }
                let name = match typedef_name {
                    Some(n) => n.to_owned(),
                    None => {
                        self.decls.anon_counter += 1;
                        let word = if is_union { "union" } else { "struct" };
                        format!("{word} ${}", self.decls.anon_counter)
                    }
                };
                let t = types::new_struct(&name, is_union);
                self.anonymous.insert(def.span.start, t.clone());
                t
            }
        };
        let Some(body) = &def.body else {
            return Ok(ty);
        };
        let key = ty.cname().to_owned();
        if def.name.is_none()
            && let Some(n) = typedef_name
        {
            self.anon_names.insert(def.span.start, n.to_owned());
        }
        let spell = match &def.name {
            Some(_) => Some(key.clone()),
            None => typedef_name.map(str::to_owned),
        };
        let partial = is_partial_body(body);
        if partial {
            // The layout is the compiler's to tell (API mode).  The fields
            // of anonymous members are measured as the struct's own (C
            // names them so), as cffi does.
            let mut items = Vec::with_capacity(body.fields.len());
            for f in flat_fields(body) {
                let shape = self.shape_of(&f.ty);
                let dots = shape.dots_depths();
                let texpr = strip_arrays(&f.ty, &dots);
                let resolved = self.resolve_type(texpr).ok();
                let bitsize = f
                    .bitsize
                    .as_ref()
                    .and_then(|e| self.eval_int(e).ok())
                    .and_then(|v| usize::try_from(v).ok());
                if bitsize.is_some() {
                    return Err(Located::at(
                        Error::new(
                            ErrorKind::NotImplemented,
                            format!(
                                "{key}: using both bitfields and '...;' is not supported \
                                 (declare the struct completely, or leave the bitfield out)"
                            ),
                        ),
                        f.span,
                    ));
                }
                items.push(self.field_item(f, texpr, resolved, shape, bitsize));
            }
            self.decls.partial_structs.insert(key.clone());
            self.problems.push((
                ty.clone(),
                "it is declared with '...', so only API mode (ffi.set_source() or \
                 ffi.verify()) knows its layout"
                    .to_owned(),
                def.span,
            ));
            let kind = ApiItemKind::Struct {
                key: key.clone(),
                spell,
                is_union,
                partial: true,
                fields: items,
                layout: None,
                ctype: ty.clone(),
                packed: self.opts.packed,
                pack: self.opts.pack,
            };
            self.record(&key, kind, None, def.span);
            return Ok(ty);
        }
        let mut fields = Vec::with_capacity(body.fields.len());
        let mut items = Vec::with_capacity(body.fields.len());
        for f in &body.fields {
            let shape = self.shape_of(&f.ty);
            let dots = shape.dots_depths();
            let fname = f.name.clone().unwrap_or_default();
            let fty = self.resolve_type(&f.ty)?;
            let bitsize = match &f.bitsize {
                Some(e) => {
                    let v = self.eval_int(e)?;
                    Some(usize::try_from(v).map_err(|_| {
                        Located::at(
                            Error::cdef(format!(
                                "negative width in bit-field '{}'",
                                f.name.as_deref().unwrap_or("")
                            )),
                            e.span,
                        )
                    })?)
                }
                None => None,
            };
            if f.name.is_none() && bitsize.is_none() && !fty.is_struct() {
                return Err(Located::at(
                    Error::cdef("a field without a name must be a struct or union"),
                    f.span,
                ));
            }
            let texpr = strip_arrays(&f.ty, &dots);
            let item_ty = strip_array_types(&fty, &dots);
            items.push(self.field_item(f, texpr, item_ty, shape, bitsize));
            fields.push(FieldDecl {
                name: fname,
                ty: fty,
                bitsize,
                offset: None,
            });
        }
        let opts = StructOptions {
            packed: self.opts.packed,
            pack: self.opts.pack,
            ..StructOptions::default()
        };
        let mut summary = None;
        match layout::compute(ty.cname(), is_union, &fields, opts) {
            Ok(lay) => {
                summary = Some(layout_summary(&lay));
                types::complete_struct(&ty, lay).map_err(|e| Located::at(e.into(), def.span))?;
            }
            // As in cffi, a struct whose layout is invalid can be declared;
            // using it raises the error.
            Err(e) => self
                .problems
                .push((ty.clone(), Error::from(e).message, def.span)),
        }
        let kind = ApiItemKind::Struct {
            key: key.clone(),
            spell,
            is_union,
            partial,
            fields: items,
            layout: summary,
            ctype: ty.clone(),
            packed: self.opts.packed,
            pack: self.opts.pack,
        };
        self.record(&key, kind, None, def.span);
        Ok(ty)
    }

    /// The record of one field for the code generator.
    fn field_item(
        &self,
        f: &crate::parse::ast::Field,
        texpr: &TypeExpr,
        resolved: Option<TypeRef>,
        shape: Shape,
        bitsize: Option<usize>,
    ) -> FieldItem {
        FieldItem {
            name: f.name.clone().unwrap_or_default(),
            ty: self.spelled(texpr, resolved.as_ref()).ok(),
            bitsize,
            shape,
            ctype: resolved,
        }
    }

    /// The C spelling of `t` (resolved as `resolved`, when it could be).
    pub fn spelled(&self, t: &TypeExpr, resolved: Option<&TypeRef>) -> Result<Spelled, String> {
        let anon = SpellNames {
            anon: &self.anon_names,
            decls: self.decls,
        };
        Ok(Spelled {
            spell: cspell::spell(t, &anon)?,
            ptr: cspell::spell_pointer_to(t, &anon)?,
            class: self.class_of(t, resolved),
        })
    }

    /// The spelling of a function parameter (adjusted as C does).
    fn spelled_param(&self, t: &TypeExpr, resolved: Option<&TypeRef>) -> Result<Spelled, String> {
        let anon = SpellNames {
            anon: &self.anon_names,
            decls: self.decls,
        };
        Ok(Spelled {
            spell: cspell::spell_param(t, &anon)?,
            ptr: cspell::spell_param_pointer(t, &anon)?,
            class: self.class_of(t, resolved),
        })
    }

    fn class_of(&self, t: &TypeExpr, resolved: Option<&TypeRef>) -> TypeClass {
        match resolved {
            Some(r) => TypeClass::of(r, &self.decls.dots_typedefs),
            None => match t {
                TypeExpr::Pointer { .. } | TypeExpr::Function { .. } => TypeClass::Pointer,
                TypeExpr::Array { .. } => TypeClass::Array,
                TypeExpr::Base {
                    base: BaseType::Void,
                    ..
                } => TypeClass::Void,
                _ => TypeClass::Unknown,
            },
        }
    }

    /// Records a declaration for the code generator.
    fn record(&mut self, name: &str, kind: ApiItemKind, problem: Option<String>, span: Span) {
        Arc::make_mut(&mut self.decls.api).push(ApiItem {
            name: name.to_owned(),
            kind,
            origin: String::new(),
            problem,
            span,
        });
    }

    fn enum_type(&mut self, def: &EnumDef, typedef_name: Option<&str>) -> Result<TypeRef, Located> {
        let key = def.name.as_ref().map(|n| format!("enum {n}"));
        if key.is_none()
            && let Some(t) = self.anonymous.get(&def.span.start)
        {
            return Ok(t.clone());
        }
        if let (Some(key), Some(name), None) = (&key, &def.name, &def.body)
            && !self.decls.tags.contains_key(key)
            && let Some(t) = self.namespace_tag(TagKind::Enum, name, key, def.span)?
        {
            return Ok(t);
        }
        if let Some(key) = &key
            && let Some(t) = self.decls.tags.get(key)
        {
            if def.body.is_none() {
                return Ok(t.clone());
            }
            if !self.opts.override_ {
                return Err(Located::at(
                    Error::ffi(format!(
                        "multiple definitions of {key} (for interactive usage, try \
                             cdef(xx, override=True))"
                    )),
                    def.span,
                ));
            }
        }
        let cname = match (&key, typedef_name) {
            (Some(k), _) => k.clone(),
            (None, Some(t)) => t.to_owned(),
            (None, None) => {
                self.decls.anon_counter += 1;
                format!("enum ${}", self.decls.anon_counter)
            }
        };
        let Some(body) = &def.body else {
            // `enum e;` with no definition: as cffi, an enum without
            // enumerators stored as an `unsigned int`.
            let t = types::new_opaque_enum(&cname);
            if let Some(key) = key {
                self.decls.tags.insert(key, t.clone());
            }
            return Ok(t);
        };
        if key.is_none()
            && let Some(n) = typedef_name
        {
            self.anon_names.insert(def.span.start, n.to_owned());
        }
        let spell = match (&key, typedef_name) {
            (Some(k), _) => Some(k.clone()),
            (None, t) => t.map(str::to_owned),
        };
        if body.partial {
            let names: Vec<(String, Option<i128>)> =
                body.items.iter().map(|i| (i.name.clone(), None)).collect();
            let t = self.partial_enum(key, &cname, body);
            self.record(
                &cname,
                ApiItemKind::Enum {
                    key: cname.clone(),
                    spell,
                    partial: true,
                    items: names,
                    ctype: t.clone(),
                },
                None,
                def.span,
            );
            return Ok(t);
        }
        self.enum_scope.clear();
        let mut next = 0i128;
        for item in &body.items {
            let v = match &item.value {
                Some(e) => self.eval_int(e)?,
                None => next,
            };
            self.enum_scope.push((item.name.clone(), v));
            next = v + 1;
        }
        let items = std::mem::take(&mut self.enum_scope);
        let base = enum_base(&items).map_err(|e| Located::at(e, def.span))?;
        let recorded = items.iter().map(|(n, v)| (n.clone(), Some(*v))).collect();
        let t = self.finish_enum(def, key, &cname, items, base)?;
        self.record(
            &cname,
            ApiItemKind::Enum {
                key: cname.clone(),
                spell,
                partial: false,
                items: recorded,
                ctype: t.clone(),
            },
            None,
            def.span,
        );
        Ok(t)
    }

    /// The type of `enum e { A, B, ... }`: without enumerators, which are
    /// constants only API mode knows.
    fn partial_enum(&mut self, key: Option<String>, cname: &str, body: &EnumBody) -> TypeRef {
        for item in &body.items {
            self.decls
                .constants
                .insert(item.name.clone(), Constant::Unresolved);
        }
        let t = types::new_enum(cname, Vec::new(), intern::prim("int"));
        self.decls.partial_enums.insert(cname.to_owned());
        if let Some(key) = key {
            self.decls.tags.insert(key, t.clone());
        }
        t
    }

    /// Defines the enumerators of a complete enum as constants, makes its
    /// type and registers it (by tag, or by place for an anonymous one).
    fn finish_enum(
        &mut self,
        def: &EnumDef,
        key: Option<String>,
        cname: &str,
        items: Vec<(String, i128)>,
        base: TypeRef,
    ) -> Result<TypeRef, Located> {
        for (name, v) in &items {
            self.define_constant(name, Constant::Int(*v), def.span)?;
        }
        let t = types::new_enum(cname, items, base);
        match key {
            Some(key) => {
                self.decls.tags.insert(key, t.clone());
            }
            None => {
                self.anonymous.insert(def.span.start, t.clone());
            }
        }
        Ok(t)
    }

    fn define_constant(&mut self, name: &str, value: Constant, span: Span) -> Result<(), Located> {
        if let Some(old) = self.decls.constants.get(name)
            && *old != value
            && !self.opts.override_
        {
            return Err(Located::at(
                Error::ffi(format!(
                    "multiple declarations of constant: {name} (for interactive usage, try \
                         cdef(xx, override=True))"
                )),
                span,
            ));
        }
        self.decls.constants.insert(name.to_owned(), value);
        Ok(())
    }

    /// Registers one top-level declaration.
    pub fn declare(&mut self, decl: &Decl) -> Result<(), Located> {
        match decl {
            Decl::Typedef { name, ty, span } => self.declare_typedef(name, ty, *span),
            Decl::Tag { ty, .. } => self.resolve_type(ty).map(drop),
            Decl::Define { name, value, span } => {
                let c = match value {
                    DefineValue::Int { value, .. } => Constant::Int(*value),
                    DefineValue::Dots => Constant::Unresolved,
                };
                let value = match value {
                    DefineValue::Int { value, .. } => Some(Constant::Int(*value)),
                    DefineValue::Dots => None,
                };
                self.record(
                    name,
                    ApiItemKind::Constant {
                        source: ConstSource::Define,
                        ty: None,
                        value,
                        enum_spell: None,
                        ctype: None,
                    },
                    None,
                    *span,
                );
                self.define_constant(name, c, *span)
            }
            Decl::Function {
                name,
                ty,
                extern_python,
                span,
                ..
            } => {
                let fty = self.resolve_function(ty)?;
                self.record_function(name, ty, &fty, *extern_python, *span);
                self.add_function(name, fty, param_names(ty), *extern_python, *span)
            }
            Decl::Variable { name, ty, span, .. } if self.decls.is_raw_function(ty) => {
                // `typedef int f_t(int); f_t f;` declares a function.
                let fty = self.resolve_type(ty)?;
                self.record_function(name, ty, &fty, ExternPython::No, *span);
                self.add_function(name, fty, Vec::new(), ExternPython::No, *span)
            }
            Decl::Variable {
                name,
                ty,
                storage,
                init,
                span,
            } => {
                let is_const = self.decls.is_const(ty);
                if storage.is_static && is_const {
                    return self.declare_static_const(name, ty, init.as_ref(), *span);
                }
                if init.as_ref().is_some_and(is_int_literal) && self.is_integer_type(ty) {
                    // As cffi: `const unsigned int K = 0x0FFFFFFF;` (and any
                    // integer type given an integer literal, negative too)
                    // is an integer constant, needing no symbol.
                    return self.declare_static_const(name, ty, init.as_ref(), *span);
                }
                let shape = self.shape_of(ty);
                let dims = shape.dots_depths();
                if !dims.is_empty() {
                    // `int a[...];`: the length is the compiler's to tell.
                    let item = strip_arrays(ty, &dims);
                    let resolved = self.resolve_type(item).ok();
                    let spelled = self.spelled(item, resolved.as_ref());
                    let problem = spelled.as_ref().err().cloned();
                    if let Ok(sp) = spelled {
                        let kind = ApiItemKind::Variable {
                            ty: sp,
                            shape,
                            is_const,
                            ctype: resolved,
                        };
                        self.record(name, kind, problem, *span);
                    }
                    self.decls.api_only.insert(name.clone());
                    return Ok(());
                }
                let vty = self.resolve_type(ty)?;
                if vty.is_void() {
                    return Err(Located::at(
                        Error::cdef(format!("variable '{name}' declared void")),
                        *span,
                    ));
                }
                match self.spelled(ty, Some(&vty)) {
                    Ok(sp) => {
                        let kind = ApiItemKind::Variable {
                            ty: sp,
                            shape: Shape::default(),
                            is_const,
                            ctype: Some(vty.clone()),
                        };
                        self.record(name, kind, None, *span);
                    }
                    Err(why) => {
                        let kind = ApiItemKind::Variable {
                            ty: resolved_spelling(&vty, &self.decls.dots_typedefs),
                            shape: Shape::default(),
                            is_const,
                            ctype: Some(vty.clone()),
                        };
                        self.record(name, kind, Some(why), *span);
                    }
                }
                self.decls
                    .variables
                    .insert(name.clone(), VariableDecl { ty: vty, is_const });
                self.decls.order.push(name.clone());
                Ok(())
            }
        }
    }

    /// An integer type in cffi's sense: integers, `_Bool` and enums, not
    /// `char`.
    fn is_integer_type(&mut self, ty: &TypeExpr) -> bool {
        self.resolve_type(ty)
            .is_ok_and(|t| t.storage_primitive().is_some_and(|p| p.is_integer()))
    }

    /// `static const T K = v;` or `static const T K;`: a constant.
    fn declare_static_const(
        &mut self,
        name: &str,
        ty: &TypeExpr,
        init: Option<&crate::parse::ast::Expr>,
        span: Span,
    ) -> Result<(), Located> {
        let cty = self.resolve_type(ty)?;
        let c = match init {
            Some(e) => match (self.eval(e)?, cty.storage_primitive()) {
                (Value::Int(i), Some(p)) if p.is_integer() => {
                    Constant::Int(wrap_to(i, p.size, p.is_signed()))
                }
                (Value::Int(i), Some(p)) if p.is_float() => Constant::Float(i as f64),
                (Value::Float(f), Some(p)) if p.is_float() => Constant::Float(f),
                (v, _) => match v {
                    Value::Int(i) => Constant::Int(i),
                    Value::Float(f) => Constant::Float(f),
                },
            },
            None => Constant::Unresolved,
        };
        let (spelled, problem) = match self.spelled(ty, Some(&cty)) {
            Ok(sp) => (sp, None),
            Err(why) => (
                resolved_spelling(&cty, &self.decls.dots_typedefs),
                Some(why),
            ),
        };
        let value = init.is_some().then_some(c);
        self.record(
            name,
            ApiItemKind::Constant {
                source: ConstSource::StaticConst,
                ty: Some(spelled),
                value,
                enum_spell: None,
                ctype: Some(cty.clone()),
            },
            problem,
            span,
        );
        self.decls.const_types.insert(name.to_owned(), cty);
        self.define_constant(name, c, span)
    }

    /// Records a function (or `extern "Python"` function) for the code
    /// generator: its C spelling from the syntax when there is one, else
    /// from the resolved type.
    fn record_function(
        &mut self,
        name: &str,
        ty: &TypeExpr,
        fty: &TypeRef,
        extern_python: ExternPython,
        span: Span,
    ) {
        let Some(info) = fty.func_info() else {
            return;
        };
        let dots = &self.decls.dots_typedefs;
        let from_syntax = match ty {
            TypeExpr::Function { result, params, .. } if params.len() == info.args.len() => {
                let r = self.spelled(result, Some(&info.result));
                let ps: Result<Vec<Spelled>, String> = params
                    .iter()
                    .zip(&info.args)
                    .map(|(p, a)| self.spelled_param(&p.ty, Some(a)))
                    .collect();
                match (r, ps) {
                    (Ok(r), Ok(ps)) => Ok((r, ps)),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                }
            }
            _ => Err(String::new()),
        };
        let (result, params, problem) = match from_syntax {
            Ok((r, ps)) => (r, ps, None),
            Err(why) => (
                resolved_spelling(&info.result, dots),
                info.args
                    .iter()
                    .map(|a| resolved_spelling(a, dots))
                    .collect(),
                (!why.is_empty()).then_some(why),
            ),
        };
        let kind = match extern_python {
            ExternPython::No => ApiItemKind::Function {
                result,
                params,
                variadic: info.ellipsis,
                ty: fty.clone(),
            },
            ExternPython::Python | ExternPython::PythonPlusC => ApiItemKind::ExternPython {
                result,
                params,
                variadic: info.ellipsis,
                plus_c: extern_python == ExternPython::PythonPlusC,
                ty: fty.clone(),
            },
        };
        self.record(name, kind, problem, span);
    }

    fn add_function(
        &mut self,
        name: &str,
        fty: TypeRef,
        param_names: Vec<Option<String>>,
        extern_python: ExternPython,
        span: Span,
    ) -> Result<(), Located> {
        let target = if extern_python == ExternPython::No {
            &mut self.decls.functions
        } else {
            &mut self.decls.extern_python
        };
        if let Some(old) = target.get(name)
            && !Arc::ptr_eq(&old.ty, &fty)
            && !self.opts.override_
        {
            return Err(Located::at(
                Error::ffi(format!(
                    "multiple declarations of function {name} (for interactive usage, try \
                     cdef(xx, override=True))"
                )),
                span,
            ));
        }
        target.insert(
            name.to_owned(),
            FunctionDecl {
                ty: fty,
                plus_c: extern_python == ExternPython::PythonPlusC,
                param_names,
            },
        );
        self.decls.order.push(name.to_owned());
        Ok(())
    }

    fn declare_typedef(&mut self, name: &str, ty: &TypeExpr, span: Span) -> Result<(), Located> {
        if let TypeExpr::Base { base, .. } = ty {
            let dots = match base {
                BaseType::Dots => Some(DotsKind::Opaque),
                BaseType::DotsInt => Some(DotsKind::Int),
                BaseType::DotsFloat => Some(DotsKind::Float),
                _ => None,
            };
            if let Some(kind) = dots {
                return self.declare_dots_typedef(name, kind, span);
            }
        }
        if let TypeExpr::Pointer { pointee, .. } = ty
            && let TypeExpr::Base {
                base: BaseType::Dots,
                ..
            } = **pointee
        {
            // `typedef ... *t;`: a pointer to something opaque.
            let inner = types::new_struct(&format!("struct $${name}"), false);
            let t = intern::pointer(&inner);
            let kind = ApiItemKind::DotsTypedef {
                kind: DotsKind::Opaque,
                pointer: true,
                ctype: t.clone(),
            };
            self.record(name, kind, None, span);
            self.decls.typedefs.insert(name.to_owned(), t);
            return Ok(());
        }
        let shape = self.shape_of(ty);
        let dims = shape.dots_depths();
        if !dims.is_empty() {
            // `typedef T t[...];`: the lengths are the compiler's to tell.
            let item = strip_arrays(ty, &dims);
            let resolved = self.resolve_type(item).ok();
            match self.spelled(item, resolved.as_ref()) {
                Ok(sp) => {
                    let kind = ApiItemKind::DotsArrayTypedef {
                        item: sp,
                        shape,
                        ctype: resolved,
                    };
                    self.record(name, kind, None, span);
                }
                Err(why) => {
                    return Err(Located::at(Error::cdef(why), span));
                }
            }
            // Later declarations of the cdef see an open array of the
            // innermost item, whose size is unknown (a type of its own, not
            // interned: the code generator tells it from other open arrays).
            let item = self.resolve_type(item)?;
            self.decls
                .placeholders
                .insert(name.to_owned(), types::unique_open_array(&item));
            return Ok(());
        }
        let t = match ty {
            TypeExpr::Base { base, span, .. } => self.resolve_base(base, *span, Some(name)),
            _ => self.resolve_type(ty),
        }?;
        if let TypeExpr::Pointer { pointee, .. } = ty
            && let TypeExpr::Base {
                base: BaseType::Struct(def),
                ..
            } = &**pointee
            && def.name.is_none()
            && def.body.is_some()
        {
            // `typedef struct { ... } *t;`: C names the struct through `t`.
            let spelling = format!("__typeof__(*({name})0)");
            self.anon_names.insert(def.span.start, spelling.clone());
            if let Some(key) = t.item().map(|i| i.cname().to_owned()) {
                let api = Arc::make_mut(&mut self.decls.api);
                for item in api.iter_mut().rev() {
                    if let ApiItemKind::Struct {
                        key: k, spell: sp, ..
                    } = &mut item.kind
                        && *k == key
                        && sp.is_none()
                    {
                        *sp = Some(spelling);
                        break;
                    }
                }
            }
        }
        if matches!(ty, TypeExpr::Function { .. }) || self.decls.is_raw_function(ty) {
            self.decls.raw_function_typedefs.insert(name.to_owned());
        } else {
            self.decls.raw_function_typedefs.remove(name);
        }
        if self.decls.is_const(ty) {
            self.decls.const_typedefs.insert(name.to_owned());
        } else {
            self.decls.const_typedefs.remove(name);
        }
        if let Some(old) = self.decls.typedefs.get(name)
            && !Arc::ptr_eq(old, &t)
            && !self.opts.override_
        {
            return Err(Located::at(
                Error::ffi(format!(
                    "multiple declarations of typedef {name} (for interactive usage, try \
                         cdef(xx, override=True))"
                )),
                span,
            ));
        }
        self.decls.typedefs.insert(name.to_owned(), t);
        Ok(())
    }
}

impl Resolver<'_> {
    /// `typedef ... t;`, `typedef int... t;`, `typedef float... t;`.
    fn declare_dots_typedef(
        &mut self,
        name: &str,
        kind: DotsKind,
        span: Span,
    ) -> Result<(), Located> {
        let record = |r: &mut Self, ctype: &TypeRef| {
            let kind = ApiItemKind::DotsTypedef {
                kind,
                pointer: false,
                ctype: ctype.clone(),
            };
            r.record(name, kind, None, span);
        };
        if kind == DotsKind::Opaque {
            // As in cffi: an opaque type, usable through pointers.
            let t = types::new_struct(name, false);
            record(self, &t);
            self.decls.typedefs.insert(name.to_owned(), t);
            return Ok(());
        }
        self.decls.dots_typedefs.insert(name.to_owned(), kind);
        // Later declarations of this cdef may use the name (`uid_t
        // getuid(void);`): they get a placeholder that says why it cannot
        // be used before the compiler has spoken.
        let what = if kind == DotsKind::Int {
            "typedef int..."
        } else {
            "typedef float..."
        };
        let t = types::new_struct(name, false);
        types::set_problem(
            &t,
            format!(
                "'{name}' is declared as '{what} {name};': its real type is only known in \
                 API mode (ffi.set_source() or ffi.verify())"
            ),
        );
        record(self, &t);
        self.decls.placeholders.insert(name.to_owned(), t);
        Ok(())
    }

    /// The leading array dimensions of `t` down to its deepest `[...]`
    /// (see [`Shape`]).  A length that does not evaluate is taken as open:
    /// the declaration itself reports it when it resolves.
    fn shape_of(&mut self, t: &TypeExpr) -> Shape {
        let depths = dots_dims(t);
        let Some(&deepest) = depths.last() else {
            return Shape::default();
        };
        let mut dims = Vec::new();
        let mut cur = t;
        while let TypeExpr::Array { item, len, .. } = cur {
            if dims.len() > deepest {
                break;
            }
            dims.push(match len {
                ArrayLen::Dots => Dim::Dots,
                ArrayLen::Open => Dim::Open,
                ArrayLen::Expr(e) => match self.eval_int(e).ok().map(usize::try_from) {
                    Some(Ok(n)) => Dim::Len(n),
                    _ => Dim::Open,
                },
            });
            cur = item;
        }
        let misplaced = !dims.contains(&Dim::Dots);
        if misplaced {
            dims.clear();
        }
        Shape { dims, misplaced }
    }
}

/// The spelling of a resolved type (rcffi's cname), for declarations
/// written through a function typedef.
fn resolved_spelling(t: &TypeRef, dots: &HashMap<String, DotsKind>) -> Spelled {
    Spelled {
        spell: t.name_with(" @"),
        ptr: intern::pointer(t).name_with("@"),
        class: TypeClass::of(t, dots),
    }
}

/// What the code generator calls names by (see [`cspell::AnonNames`]).
struct SpellNames<'a> {
    anon: &'a HashMap<u32, String>,
    decls: &'a Declarations,
}

impl cspell::AnonNames for SpellNames<'_> {
    fn anon_name(&self, span_start: u32) -> Option<String> {
        self.anon.get(&span_start).cloned()
    }

    fn typedef_spelling(&self, name: &str) -> Option<String> {
        let d = self.decls;
        if d.dots_typedefs.contains_key(name) || d.placeholders.contains_key(name) {
            return None;
        }
        let t = d.typedefs.get(name)?;
        let cname = t.cname();
        // Anonymous structs and `typedef ... t` are only named by the typedef.
        if cname.contains('$') || cname == name {
            return None;
        }
        if d.raw_function_typedefs.contains(name) {
            let info = t.func_info()?;
            let mut args: Vec<&str> = info.args.iter().map(|a| a.cname()).collect();
            if info.ellipsis {
                args.push("...");
            }
            let list = if args.is_empty() {
                "void".to_owned()
            } else {
                args.join(", ")
            };
            return Some(format!(
                "__typeof__({})",
                info.result.name_with(&format!("({list})"))
            ));
        }
        if cname.contains(['*', '(', '[']) {
            Some(format!("__typeof__({cname})"))
        } else {
            Some(cname.to_owned())
        }
    }
}

/// The fields of `body` with those of its anonymous struct and union
/// members in their place, recursively: the names C gives them in `body`.
fn flat_fields(body: &crate::parse::ast::StructBody) -> Vec<&crate::parse::ast::Field> {
    let mut out = Vec::with_capacity(body.fields.len());
    for f in &body.fields {
        if f.name.is_none()
            && f.bitsize.is_none()
            && let TypeExpr::Base {
                base: BaseType::Struct(def),
                ..
            } = &f.ty
            && let Some(inner) = &def.body
        {
            out.extend(flat_fields(inner));
        } else {
            out.push(f);
        }
    }
    out
}

/// Whether the compiler must lay out `body`: it (or an anonymous member)
/// is declared with `...;` or has a `[...]` length.
fn is_partial_body(body: &crate::parse::ast::StructBody) -> bool {
    body.partial
        || body.fields.iter().any(|f| {
            has_dots_length(&f.ty)
                || matches!(&f.ty, TypeExpr::Base { base: BaseType::Struct(def), .. }
                    if f.name.is_none() && def.body.as_ref().is_some_and(is_partial_body))
        })
}

/// The depths (0 = the outermost) of the `[...]` lengths among the array
/// dimensions `t` starts with: `int a[...][4][...]` gives `[0, 2]`.  A
/// `[...]` found only behind a pointer (`int (*p)[...]`) counts as depth 0.
/// The parameter names of a function declarator (`int f(int x, int)`:
/// `[Some("x"), None]`); empty for anything else.
fn param_names(ty: &TypeExpr) -> Vec<Option<String>> {
    match ty {
        TypeExpr::Function { params, .. } => params.iter().map(|p| p.name.clone()).collect(),
        _ => Vec::new(),
    }
}

fn dots_dims(t: &TypeExpr) -> Vec<usize> {
    let mut dims = Vec::new();
    let mut cur = t;
    let mut depth = 0;
    while let TypeExpr::Array { item, len, .. } = cur {
        if matches!(len, ArrayLen::Dots) {
            dims.push(depth);
        }
        cur = item;
        depth += 1;
    }
    if dims.is_empty() && has_dots_length(t) {
        dims.push(0);
    }
    dims
}

/// `t` without its array dimensions down to the deepest `[...]` of `dims`.
fn strip_arrays<'t>(t: &'t TypeExpr, dims: &[usize]) -> &'t TypeExpr {
    let mut cur = t;
    for _ in 0..dims.last().map_or(0, |d| d + 1) {
        match cur {
            TypeExpr::Array { item, .. } => cur = item,
            _ => break,
        }
    }
    cur
}

/// The resolved type of [`strip_arrays`].
fn strip_array_types(t: &TypeRef, dims: &[usize]) -> Option<TypeRef> {
    let mut cur = t.clone();
    for _ in 0..dims.last().map_or(0, |d| d + 1) {
        if !cur.is_array() {
            break;
        }
        cur = cur.item()?.clone();
    }
    Some(cur)
}

/// Size, alignment and the (name, offset, size) of the named,
/// non-bitfield fields of a layout.
fn layout_summary(l: &layout::Layout) -> LayoutSummary {
    let fields = l
        .fields
        .iter()
        .filter(|f| !f.name.is_empty() && !f.is_bitfield())
        .filter_map(|f| Some((f.name.clone(), f.offset, f.ty.size()?)))
        .collect();
    (l.size, l.align, fields)
}

/// Whether a `[...]` length appears in `t` (outside of parameter lists).
fn has_dots_length(t: &TypeExpr) -> bool {
    match t {
        TypeExpr::Array {
            len: ArrayLen::Dots,
            ..
        } => true,
        TypeExpr::Array { item, .. } => has_dots_length(item),
        TypeExpr::Pointer { pointee, .. } => has_dots_length(pointee),
        TypeExpr::Base { .. } | TypeExpr::Function { .. } => false,
    }
}

/// The integer type an enum is stored as (cffi's rule): `int` or `long`
/// when a value is negative, else `unsigned int` or `unsigned long`.
fn enum_base(items: &[(String, i128)]) -> Result<TypeRef, Error> {
    let lo = items.iter().map(|(_, v)| *v).min().unwrap_or(0);
    let hi = items.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let candidates: &[&str] = if lo < 0 {
        &["int", "long"]
    } else {
        &["unsigned int", "unsigned long"]
    };
    for name in candidates {
        let t = intern::prim(name);
        let (min, max) = t.primitive().map(|p| p.int_range()).unwrap_or((0, 0));
        if lo >= min && hi <= max {
            return Ok(t);
        }
    }
    Err(Error::new(
        ErrorKind::Overflow,
        format!(
            "enum values don't all fit into either '{}' or '{}'",
            candidates[0], candidates[1]
        ),
    ))
}

/// An integer literal, or `-` before one: the initialisers that make an
/// integer declaration a constant (cffi's rule).
fn is_int_literal(e: &crate::parse::ast::Expr) -> bool {
    use crate::parse::ast::{ExprKind, UnaryOp};
    match &e.kind {
        ExprKind::Int(_) => true,
        ExprKind::Unary(UnaryOp::Neg, inner) => matches!(inner.kind, ExprKind::Int(_)),
        _ => false,
    }
}
