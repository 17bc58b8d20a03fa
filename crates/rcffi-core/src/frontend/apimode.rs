//! API mode, front-end side: what the code generator
//! (`module::generator`) needs to know about the cdefs, recorded while a
//! cdef is resolved ([`ApiItem`]s): C spellings as the user wrote them,
//! resolved types, the shapes of `[...]` arrays, rcffi's layout of
//! complete structs.  What only the compiler knows (`typedef int... t`,
//! partial structs, `[...]` lengths, `#define X ...`) is measured by the
//! generated C into the module's tables, which the module's `ffi` reads.

use std::collections::HashMap;

use super::{Constant, DotsKind};
use crate::parse::ast::Span;
use crate::types::{Kind, PrimFamily, TypeRef};

/// How the generated C checks and measures a value of some type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeClass {
    Void,
    /// Integers, chars, `_Bool` (and `typedef int... t`).
    Int,
    /// `float`, `double`, `long double`, complex (and `typedef float... t`).
    Float,
    /// Data and function pointers.
    Pointer,
    Array,
    Struct,
    Enum,
    /// Not resolvable before the compiler has spoken.
    Unknown,
}

impl TypeClass {
    pub fn name(self) -> &'static str {
        match self {
            TypeClass::Void => "void",
            TypeClass::Int => "int",
            TypeClass::Float => "float",
            TypeClass::Pointer => "pointer",
            TypeClass::Array => "array",
            TypeClass::Struct => "struct",
            TypeClass::Enum => "enum",
            TypeClass::Unknown => "unknown",
        }
    }

    /// The class of a resolved type; `dots` tells the placeholders of
    /// `typedef int... t` apart from real structs.
    pub fn of(t: &TypeRef, dots: &HashMap<String, DotsKind>) -> TypeClass {
        match &t.kind {
            Kind::Void => TypeClass::Void,
            Kind::Primitive(p) => match p.family {
                PrimFamily::Float | PrimFamily::LongDouble | PrimFamily::Complex => {
                    TypeClass::Float
                }
                _ => TypeClass::Int,
            },
            Kind::Pointer(_) | Kind::Function(_) => TypeClass::Pointer,
            Kind::Array { .. } => TypeClass::Array,
            Kind::Enum(_) => TypeClass::Enum,
            Kind::Struct(_) => match dots.get(t.cname()) {
                Some(DotsKind::Int) => TypeClass::Int,
                Some(DotsKind::Float) => TypeClass::Float,
                _ => TypeClass::Struct,
            },
        }
    }
}

/// A C type as the generated code spells it (see `cspell`).
#[derive(Clone, Debug)]
pub struct Spelled {
    /// The type with `@` where a declarator goes.
    pub spell: String,
    /// A pointer to the type, with `@` where a declarator goes.
    pub ptr: String,
    pub class: TypeClass,
}

/// rcffi's layout of a struct: size, alignment and the (name, offset,
/// size) of each named, non-bitfield field.
pub type LayoutSummary = (usize, usize, Vec<(String, usize, usize)>);

/// One array dimension of a declaration, from the outermost down to its
/// deepest `[...]` (see [`Shape`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    /// `[...]`: the compiler measures it.
    Dots,
    Len(usize),
    /// `[]`
    Open,
}

/// The array dimensions a declaration starts with, down to its deepest
/// `[...]`; empty when it has none (`int a[...][4][...]`: `[Dots, Len(4),
/// Dots]`).  A `[...]` that is not among the leading dimensions (`int
/// (*p)[...]`) is `[Dots]` with no array to measure: the generator
/// refuses it, as cffi does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    pub dims: Vec<Dim>,
    /// The `[...]` is behind a pointer or a parameter list.
    pub misplaced: bool,
}

impl Shape {
    pub fn is_empty(&self) -> bool {
        self.dims.is_empty() && !self.misplaced
    }

    /// The depths (0 = outermost) of the `[...]` lengths.
    pub fn dots_depths(&self) -> Vec<usize> {
        if self.misplaced {
            return vec![0];
        }
        (self.dims.iter().enumerate())
            .filter(|(_, d)| **d == Dim::Dots)
            .map(|(i, _)| i)
            .collect()
    }
}

/// A field of a struct recorded for API mode.
#[derive(Clone, Debug)]
pub struct FieldItem {
    pub name: String,
    /// `None` when the type has no C spelling.
    pub ty: Option<Spelled>,
    pub bitsize: Option<usize>,
    /// Its leading array dimensions down to the deepest `[...]`; when
    /// there is one, `ty` and `ctype` are the item type after it.
    pub shape: Shape,
    /// The resolved type (after `shape`), when it resolves before the
    /// compiler has spoken.
    pub ctype: Option<TypeRef>,
}

/// Where a `static const` or `#define` constant comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstSource {
    Define,
    StaticConst,
}

/// One declaration of a cdef, as the code generator sees it.
#[derive(Clone, Debug)]
pub enum ApiItemKind {
    Function {
        result: Spelled,
        params: Vec<Spelled>,
        variadic: bool,
        /// The function type.
        ty: TypeRef,
    },
    ExternPython {
        result: Spelled,
        params: Vec<Spelled>,
        variadic: bool,
        plus_c: bool,
        ty: TypeRef,
    },
    Variable {
        ty: Spelled,
        /// Its leading array dimensions down to the deepest `[...]`; when
        /// there is one, `ty` and `ctype` are the item type after it.
        shape: Shape,
        /// Declared `const` (`int (*const f)(int)`: C may define it as a
        /// function, so it is read as a value, not through its address).
        is_const: bool,
        /// The resolved type (after `shape`).
        ctype: Option<TypeRef>,
    },
    Constant {
        source: ConstSource,
        /// The declared type of a `static const`.
        ty: Option<Spelled>,
        /// The value the cdef gives (`#define X 5`, `static const int K = 5;`,
        /// enumerators of complete enums).
        value: Option<Constant>,
        /// The enum of an enumerator (its C spelling, when it has one).
        enum_spell: Option<String>,
        /// The resolved declared type of a `static const`.
        ctype: Option<TypeRef>,
    },
    Struct {
        /// The cname rcffi gives it (the key of [`Completions::structs`]).
        key: String,
        /// Its C spelling (`struct s`, `foo_t`), if it has one.
        spell: Option<String>,
        is_union: bool,
        /// Declared with `...;` (or a `[...]` field): layout from the compiler.
        partial: bool,
        fields: Vec<FieldItem>,
        /// rcffi's layout when it knows it: size, align and
        /// (name, offset, size) of each non-bitfield field.
        layout: Option<LayoutSummary>,
        ctype: TypeRef,
        /// The `packed`/`pack` options of its cdef.
        packed: bool,
        pack: usize,
    },
    Enum {
        key: String,
        spell: Option<String>,
        partial: bool,
        items: Vec<(String, Option<i128>)>,
        ctype: TypeRef,
    },
    DotsTypedef {
        kind: DotsKind,
        /// `typedef ... *t;`
        pointer: bool,
        /// The type the name stands for in the cdef: an opaque struct, a
        /// pointer to one, or the placeholder of `typedef int... t`.
        ctype: TypeRef,
    },
    /// `typedef T t[...];`: the item type.
    DotsArrayTypedef {
        /// The item type after the deepest `[...]`.
        item: Spelled,
        /// The leading dimensions (`typedef int t[][...]`: `[Open, Dots]`).
        shape: Shape,
        /// The resolved item type.
        ctype: Option<TypeRef>,
    },
}

/// A declaration recorded for the code generator.
#[derive(Clone, Debug)]
pub struct ApiItem {
    pub name: String,
    pub kind: ApiItemKind,
    /// Where the cdef declares it ("line 3" or "file.h:3"); filled once the
    /// cdef is resolved.
    pub origin: String,
    /// Why the generated C cannot check or measure it.
    pub problem: Option<String>,
    pub span: Span,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::{CdefOptions, Declarations};

    const PWD: &str = "typedef int... uid_t;\n\
                       struct passwd { char *pw_name; uid_t pw_uid; ...; };\n\
                       uid_t getuid(void);\n\
                       struct passwd *getpwnam(const char *);\n\
                       #define MAX ...\n\
                       enum e { A, B, ... };\n\
                       extern int table[...];";

    #[test]
    fn records_what_the_generator_needs() {
        let mut d = Declarations::new();
        d.cdef(PWD, CdefOptions::default()).unwrap();
        let names: Vec<&str> = d.api.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "uid_t",
                "struct passwd",
                "getuid",
                "getpwnam",
                "MAX",
                "enum e",
                "table"
            ]
        );
        let getuid = &d.api[2];
        assert_eq!(getuid.origin, "cdef line 3");
        let ApiItemKind::Function { result, params, .. } = &getuid.kind else {
            panic!("{getuid:?}")
        };
        // The C spelling keeps the typedef name the compiler will resolve.
        assert_eq!(
            (result.spell.as_str(), result.class),
            ("uid_t @", TypeClass::Int)
        );
        assert!(params.is_empty());
        let ApiItemKind::Function { params, .. } = &d.api[3].kind else {
            panic!()
        };
        assert_eq!(params[0].spell, "const char *@");
        let ApiItemKind::Struct {
            partial, fields, ..
        } = &d.api[1].kind
        else {
            panic!()
        };
        assert!(*partial);
        assert_eq!(fields[1].ty.as_ref().unwrap().class, TypeClass::Int);
        // Before completion the builder cannot lay out the struct.
        assert!(d.parse_type("struct passwd").unwrap().size().is_none());
    }

    #[test]
    fn placeholders_only_inside_cdefs() {
        let mut d = Declarations::new();
        d.cdef("typedef int... t; t f(t);", CdefOptions::default())
            .unwrap();
        assert!(d.functions.contains_key("f"));
        let err = d.parse_type("t").unwrap_err();
        assert!(err.message.contains("API mode"), "{}", err.message);
    }
}
