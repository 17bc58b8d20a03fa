//! Layer 6 (core part) — the declarations of one `FFI` object: what its
//! cdefs declared, and the resolution of type strings against them.  The
//! Python `FFI` class (in `python::ffi`) is a thin client of this.

pub mod apimode;
pub mod consteval;
pub mod cspell;
pub mod namespace;
pub mod resolve;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use apimode::ApiItem;

use crate::errors::Error;
use crate::parse::{self, TypedefNames};
use crate::types::{self, TypeRef};
use resolve::{Located, Resolver};

/// Options of one `ffi.cdef()` call.
#[derive(Clone, Copy, Debug, Default)]
pub struct CdefOptions {
    pub override_: bool,
    pub packed: bool,
    pub pack: usize,
}

/// A named constant: an enumerator, a `#define` or a `static const`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Constant {
    Int(i128),
    Float(f64),
    /// `#define X ...`, `static const int K;`, enumerators of `enum {...}`:
    /// only API mode knows the value.
    Unresolved,
}

/// What `typedef ... t;` and friends promise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DotsKind {
    Opaque,
    Int,
    Float,
}

#[derive(Clone, Debug)]
pub struct FunctionDecl {
    /// A function ctype.
    pub ty: TypeRef,
    /// Declared `extern "Python+C"`.
    pub plus_c: bool,
    /// The parameter names the cdef gives (`None` for an unnamed one;
    /// empty when the declaration spells no parameter list, as in
    /// `f_t f;`): type stubs keep them.
    pub param_names: Vec<Option<String>>,
}

#[derive(Clone, Debug)]
pub struct VariableDecl {
    pub ty: TypeRef,
    pub is_const: bool,
}

/// Everything the cdefs of one `FFI` declared.
#[derive(Clone, Default)]
pub struct Declarations {
    pub typedefs: HashMap<String, TypeRef>,
    pub dots_typedefs: HashMap<String, DotsKind>,
    /// `"struct foo"`, `"union u"`, `"enum e"` → type.
    pub tags: HashMap<String, TypeRef>,
    /// Structs declared with `...;` in their body.
    pub partial_structs: HashSet<String>,
    pub partial_enums: HashSet<String>,
    /// Typedefs of function types (not pointers): `typedef int f_t(int);`.
    pub raw_function_typedefs: HashSet<String>,
    /// Typedefs of `const` types (`typedef const int c_t;`): a global
    /// declared with one is a constant, as with `const` written out.
    pub const_typedefs: HashSet<String>,
    /// Structs and unions that came opaque from an `ffi.include()`: their
    /// type is the included FFI's, which a body here must not complete.
    pub included_opaque: HashSet<String>,
    /// The struct, union and enum types that came from `ffi.include()`d
    /// FFIs (the code generator marks them external).
    pub included: Vec<TypeRef>,
    /// Globals whose type only API mode can complete (`int a[...];`).
    pub api_only: HashSet<String>,
    pub functions: HashMap<String, FunctionDecl>,
    pub extern_python: HashMap<String, FunctionDecl>,
    pub variables: HashMap<String, VariableDecl>,
    pub constants: HashMap<String, Constant>,
    /// The declared type of `static const` constants.
    pub const_types: HashMap<String, TypeRef>,
    /// Functions and variables in declaration order.
    pub order: Vec<String>,
    pub anon_counter: usize,
    /// What later declarations of a cdef see for a `typedef int... t;` or
    /// `typedef T t[...];` name before API mode has completed it.
    pub placeholders: HashMap<String, TypeRef>,
    /// The declarations of this FFI's own cdefs, for the code generator.
    pub api: Arc<Vec<ApiItem>>,
    /// How many cdefs were registered.
    pub cdef_count: usize,
    /// Where names that the cdefs do not declare are looked up (the
    /// tables of a compiled or out-of-line module); with one, a tag that
    /// no one declares is an error instead of a new opaque struct.
    pub namespaces: Vec<std::sync::Arc<dyn namespace::Namespace>>,
}

impl TypedefNames for Declarations {
    fn is_typedef(&self, name: &str) -> bool {
        self.typedefs.contains_key(name)
            || self.dots_typedefs.contains_key(name)
            || self.namespaces.iter().any(|ns| ns.has_typedef(name))
    }
}

impl Declarations {
    pub fn new() -> Self {
        Self::default()
    }

    /// The opaque `FILE` type: one for the whole process, as in cffi, so
    /// `FILE *` of two FFIs are the same type.
    pub fn file_type(&self) -> TypeRef {
        types::intern::file()
    }

    /// Parses and registers a cdef source.  On error nothing is changed.
    pub fn cdef(&mut self, src: &str, opts: CdefOptions) -> Result<(), Error> {
        let parsed =
            parse::parse_cdef(src, self).map_err(|e| Error::cdef(parse::render_error(src, &e)))?;
        let mut staged = self.clone();
        let first_item = staged.api.len();
        staged.cdef_count += 1;
        let mut r = Resolver::new(&mut staged, opts);
        r.in_cdef = true;
        for decl in &parsed.decls {
            if let Err(Located { error, span }) = r.declare(decl) {
                let message = match span {
                    Some(span) => parsed.lines.render(&error.message, span),
                    None => error.message,
                };
                return Err(Error::new(error.kind, message));
            }
        }
        for (ty, why, span) in std::mem::take(&mut r.problems) {
            types::set_problem(&ty, parsed.lines.render(&why, span));
        }
        let cdef_number = staged.cdef_count;
        for item in Arc::make_mut(&mut staged.api)[first_item..].iter_mut() {
            let p = parsed.lines.position(item.span.start);
            item.origin = match p.file {
                Some(f) => format!("{f}:{}", p.line),
                None if cdef_number > 1 => format!("cdef #{cdef_number}, line {}", p.line),
                None => format!("cdef line {}", p.line),
            };
        }
        *self = staged;
        Ok(())
    }

    /// Resolves a type string such as `"int(*)[5]"`.
    pub fn parse_type(&mut self, src: &str) -> Result<TypeRef, Error> {
        self.resolve_type_string(src, false)
    }

    /// The function type of a callback declaration: a function type
    /// (`"int(int)"`), a function pointer type, or a declaration with a
    /// name (`"int cb(int)"`).
    pub fn parse_callback_type(&mut self, src: &str) -> Result<TypeRef, Error> {
        if let Ok(t) = self.resolve_type_string(src, true) {
            return Ok(t);
        }
        let declared = format!("{src};");
        if let Ok(parsed) = parse::parse_cdef(&declared, self)
            && let [parse::ast::Decl::Function { ty, .. }] = parsed.decls.as_slice()
        {
            let mut r = Resolver::new(self, CdefOptions::default());
            return r.resolve_type(ty).map_err(|l| l.error);
        }
        self.resolve_type_string(src, true)
    }

    fn resolve_type_string(&mut self, src: &str, allow_function: bool) -> Result<TypeRef, Error> {
        let render = |message: &str, span: parse::ast::Span| {
            let col = src[..(span.start as usize).min(src.len())].chars().count() + 1;
            format!("{message}\n  in type \"{src}\", column {col}")
        };
        let expr = parse::parse_type_name(src, self)
            .map_err(|e| Error::cdef(render(&e.message, e.span)))?;
        let is_function =
            matches!(expr, parse::ast::TypeExpr::Function { .. }) || self.is_raw_function(&expr);
        if is_function && !allow_function {
            // Named as C spells the function type ('int()' for 'int(void)'),
            // when it resolves; else as written.
            let mut r = Resolver::new(self, CdefOptions::default());
            let shown = match r.resolve_type(&expr) {
                Ok(t) if t.func_info().is_some() => t.cname().replacen("(*)", "", 1),
                _ => src.trim().to_owned(),
            };
            return Err(Error::cdef(format!(
                "the type '{shown}' is a function type, not a pointer-to-function type"
            )));
        }
        let mut r = Resolver::new(self, CdefOptions::default());
        r.resolve_type(&expr).map_err(|Located { error, span }| {
            let message = match span {
                Some(span) => render(&error.message, span),
                None => error.message,
            };
            Error::new(error.kind, message)
        })
    }

    /// Adds the declarations of `other` (`ffi.include(other)`): names this
    /// FFI already declares differently are an error.
    pub fn include(&mut self, other: &Declarations) -> Result<(), Error> {
        for (name, t) in &other.typedefs {
            match self.typedefs.get(name) {
                Some(mine) if !std::sync::Arc::ptr_eq(mine, t) => {
                    return Err(Error::ffi(format!(
                        "ffi.include(): typedef '{name}' is declared differently in both FFIs"
                    )));
                }
                _ => {
                    self.typedefs.insert(name.clone(), t.clone());
                }
            }
        }
        for t in other.tags.values().chain(other.typedefs.values()) {
            if matches!(t.kind, types::Kind::Struct(_) | types::Kind::Enum(_)) {
                self.included.push(t.clone());
            }
        }
        self.included.extend(other.included.iter().cloned());
        for (k, t) in &other.tags {
            if !self.tags.contains_key(k) {
                self.tags.insert(k.clone(), t.clone());
                if t.is_opaque() && t.is_struct() {
                    self.included_opaque.insert(k.clone());
                }
            }
        }
        for (k, v) in &other.dots_typedefs {
            self.dots_typedefs.entry(k.clone()).or_insert(*v);
        }
        for (k, v) in &other.constants {
            self.constants.entry(k.clone()).or_insert(*v);
        }
        for (k, v) in &other.const_types {
            self.const_types
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        for (k, t) in &other.placeholders {
            self.placeholders
                .entry(k.clone())
                .or_insert_with(|| t.clone());
        }
        self.partial_structs
            .extend(other.partial_structs.iter().cloned());
        self.partial_enums
            .extend(other.partial_enums.iter().cloned());
        self.api_only.extend(other.api_only.iter().cloned());
        self.raw_function_typedefs
            .extend(other.raw_function_typedefs.iter().cloned());
        self.const_typedefs
            .extend(other.const_typedefs.iter().cloned());
        self.namespaces.extend(other.namespaces.iter().cloned());
        Ok(())
    }

    /// Whether `t` (a struct, union or enum) came from an included FFI.
    pub fn is_included(&self, t: &TypeRef) -> bool {
        self.included.iter().any(|i| Arc::ptr_eq(i, t))
    }

    /// The value of the integer constant `name`: declared here, else from
    /// a namespace (whose error says when `name` is another kind of
    /// global).  `Ok(None)`: not an integer constant known here.
    pub fn integer_const(&self, name: &str) -> Result<Option<Constant>, Error> {
        if let Some(c) = self.constants.get(name) {
            return Ok(Some(*c));
        }
        for ns in &self.namespaces {
            if let Some(v) = ns.integer_const(name)? {
                return Ok(Some(Constant::Int(v)));
            }
        }
        Ok(None)
    }

    /// Whether `t` is `const` at its top level, written out or through a
    /// typedef (cffi's rule for global constants).
    pub fn is_const(&self, t: &parse::ast::TypeExpr) -> bool {
        use parse::ast::{BaseType, TypeExpr};
        match t {
            TypeExpr::Base { quals, base, .. } => {
                quals.is_const
                    || matches!(base, BaseType::Named(n) if self.const_typedefs.contains(n))
            }
            TypeExpr::Pointer { quals, .. } => quals.is_const,
            _ => false,
        }
    }

    /// Whether `t` names a function type through a typedef.
    pub fn is_raw_function(&self, t: &parse::ast::TypeExpr) -> bool {
        let parse::ast::TypeExpr::Base {
            base: parse::ast::BaseType::Named(n),
            ..
        } = t
        else {
            return false;
        };
        if self.raw_function_typedefs.contains(n) {
            return true;
        }
        if self.typedefs.contains_key(n) {
            return false;
        }
        self.namespaces
            .iter()
            .any(|ns| ns.typedef(n).ok().flatten().is_some_and(|t| t.is_function))
    }

    /// `ffi.list_types()`: typedef names, struct names, union names, each
    /// sorted.
    pub fn list_types(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let mut typedefs: Vec<String> = self.typedefs.keys().cloned().collect();
        let mut structs = Vec::new();
        let mut unions = Vec::new();
        for key in self.tags.keys() {
            if let Some(n) = key.strip_prefix("struct ") {
                structs.push(n.to_owned());
            } else if let Some(n) = key.strip_prefix("union ") {
                unions.push(n.to_owned());
            }
        }
        for ns in &self.namespaces {
            if let Ok((t, s, u)) = ns.list_types() {
                typedefs.extend(t);
                structs.extend(s);
                unions.extend(u);
            }
        }
        typedefs.sort();
        typedefs.dedup();
        structs.sort();
        structs.dedup();
        unions.sort();
        unions.dedup();
        (typedefs, structs, unions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_seed_header() {
        let mut d = Declarations::new();
        d.cdef(
            "typedef struct _Img { int width; int height; unsigned char * data; } Img;\n\
             int create_fractal(Img img, int iters);",
            CdefOptions::default(),
        )
        .unwrap();
        let img = d.parse_type("Img").unwrap();
        assert_eq!(img.cname(), "struct _Img");
        assert_eq!(img.size(), Some(16));
        assert_eq!(d.parse_type("Img[1]").unwrap().cname(), "struct _Img[1]");
        assert!(d.functions.contains_key("create_fractal"));
    }
}
