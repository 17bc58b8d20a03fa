//! The syntax tree of cdef sources and type strings.
//!
//! Only data lives here: the parser builds it, the front end resolves it into
//! types of the type model. Every node that can be the subject of an error
//! carries a [`Span`] (byte offsets into the source the parser was given).

/// A half-open byte range `start..end` in the parsed source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// Type qualifiers written next to a type or after a `*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Quals {
    pub is_const: bool,
    pub is_volatile: bool,
    pub is_restrict: bool,
}

/// Calling-convention keywords (`__cdecl`, `__stdcall`, `WINAPI`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CallConv {
    #[default]
    Default,
    Cdecl,
    Stdcall,
}

/// `struct` or `union`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StructKind {
    Struct,
    Union,
}

/// The base of a declaration, before any declarator (`*`, `[]`, `()`).
#[derive(Clone, Debug, PartialEq)]
pub enum BaseType {
    /// `void`.
    Void,
    /// A builtin arithmetic type, normalised to cffi's spelling:
    /// `"int"`, `"unsigned long long"`, `"signed char"`, `"long double"`,
    /// `"_Bool"`, `"float _Complex"`, ...  (`long int` becomes `"long"`,
    /// `unsigned` alone becomes `"unsigned int"`, `short int` `"short"`.)
    Primitive(&'static str),
    /// A name declared by `typedef` (or one of the predefined names such as
    /// `uint32_t`, `size_t`, `FILE`).
    Named(String),
    /// `struct x`, `union x` or an anonymous one, with or without a body.
    Struct(Box<StructDef>),
    /// `enum x`, possibly with its enumerators.
    Enum(Box<EnumDef>),
    /// `typedef ... t;`: an opaque type of unknown kind (API mode resolves it).
    Dots,
    /// `typedef int... t;`: some integer type, resolved by the compiler.
    DotsInt,
    /// `typedef float... t;`: some floating-point type, resolved by the compiler.
    DotsFloat,
}

/// A struct or union reference or definition.
#[derive(Clone, Debug, PartialEq)]
pub struct StructDef {
    pub kind: StructKind,
    /// `None` for an anonymous struct.
    pub name: Option<String>,
    /// `None` for a reference or forward declaration (`struct x;`),
    /// `Some` when a `{ ... }` body is written.
    ///
    /// With several declarators (`typedef struct { ... } a, *b;`) only the
    /// first declarator's type carries the body; the later ones hold a
    /// `StructDef` with the same `kind`, `name` and `span` and no body (an
    /// anonymous one is the same struct as the one defined at that span).
    pub body: Option<StructBody>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StructBody {
    pub fields: Vec<Field>,
    /// The body contains `...;` (the real layout is found by the compiler).
    pub partial: bool,
}

/// One field of a struct body.  An anonymous struct/union member has
/// `name == None`.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: Option<String>,
    pub ty: TypeExpr,
    /// Width of a bitfield, `int x: 3`.
    pub bitsize: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumDef {
    pub name: Option<String>,
    /// `None` for a reference (`enum e x;`).  As for structs, only the
    /// first declarator of a declaration carries the body; later ones
    /// have the same `name` and `span` and no body.
    pub body: Option<EnumBody>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumBody {
    pub items: Vec<Enumerator>,
    /// The list ends with `...` (values found by the compiler).
    pub partial: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Enumerator {
    pub name: String,
    pub value: Option<Expr>,
    pub span: Span,
}

/// The length written between brackets.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrayLen {
    /// `T[]`
    Open,
    /// `T[...]`
    Dots,
    /// `T[expr]`
    Expr(Expr),
}

/// A complete C type as written: a base with declarators applied.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    Base {
        base: BaseType,
        quals: Quals,
        span: Span,
    },
    Pointer {
        pointee: Box<TypeExpr>,
        /// Qualifiers after the `*` (`int * const p`).
        quals: Quals,
        span: Span,
    },
    Array {
        item: Box<TypeExpr>,
        len: ArrayLen,
        span: Span,
    },
    Function {
        result: Box<TypeExpr>,
        params: Vec<Param>,
        /// Ends with `, ...`.
        variadic: bool,
        callconv: CallConv,
        span: Span,
    },
}

impl TypeExpr {
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Base { span, .. }
            | TypeExpr::Pointer { span, .. }
            | TypeExpr::Array { span, .. }
            | TypeExpr::Function { span, .. } => *span,
        }
    }
}

/// A function parameter.  `(void)` is parsed as an empty list.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Option<String>,
    pub ty: TypeExpr,
    pub span: Span,
}

/// Storage-class words in front of a declaration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Storage {
    pub is_static: bool,
    pub is_extern: bool,
    pub is_inline: bool,
}

/// The `extern "Python"` flavour of a function declaration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExternPython {
    /// An ordinary declaration.
    #[default]
    No,
    /// `extern "Python"`.
    Python,
    /// `extern "Python+C"`.
    PythonPlusC,
}

/// Value of a `#define NAME value` line.
#[derive(Clone, Debug, PartialEq)]
pub enum DefineValue {
    /// `#define NAME 42` (also `-1`, `0x10`, `010`, `42UL`): the literal as
    /// written, with its value.
    Int { text: String, value: i128 },
    /// `#define NAME ...`
    Dots,
}

/// One top-level declaration.
#[derive(Clone, Debug, PartialEq)]
pub enum Decl {
    /// `typedef <ty> name;` (one `Decl` per declarator).
    Typedef {
        name: String,
        ty: TypeExpr,
        span: Span,
    },
    /// A function prototype `ret name(params);`.
    Function {
        name: String,
        ty: TypeExpr,
        storage: Storage,
        extern_python: ExternPython,
        span: Span,
    },
    /// A global variable, or a constant: `static const int K = 5;`
    /// gives `init: Some(..)`, `static const int K;` gives `init: None`
    /// with `is_const` set on the type.
    Variable {
        name: String,
        ty: TypeExpr,
        storage: Storage,
        init: Option<Expr>,
        span: Span,
    },
    /// A declaration with no declarator whose type defines or names a
    /// struct, union or enum: `struct s { ... };`, `struct s;`,
    /// `enum e { A, B };`.
    Tag { ty: TypeExpr, span: Span },
    /// `#define NAME value`.
    Define {
        name: String,
        value: DefineValue,
        span: Span,
    },
}

impl Decl {
    pub fn span(&self) -> Span {
        match self {
            Decl::Typedef { span, .. }
            | Decl::Function { span, .. }
            | Decl::Variable { span, .. }
            | Decl::Tag { span, .. }
            | Decl::Define { span, .. } => *span,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
    Not,
    BitNot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Mul,
    Div,
    Mod,
    Add,
    Sub,
    Shl,
    Shr,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    BitAnd,
    BitXor,
    BitOr,
    And,
    Or,
}

impl BinaryOp {
    /// The operator as C spells it.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Shl => "<<",
            BinaryOp::Shr => ">>",
            BinaryOp::Lt => "<",
            BinaryOp::Gt => ">",
            BinaryOp::Le => "<=",
            BinaryOp::Ge => ">=",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::BitAnd => "&",
            BinaryOp::BitXor => "^",
            BinaryOp::BitOr => "|",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
        }
    }
}

/// A constant expression (array lengths, enum values, bitfield widths,
/// `static const` initialisers).
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal (suffixes `u`, `l`, `ll` dropped) or a character
    /// literal (`'a'`, `'\n'`, `'\x41'`).
    Int(i128),
    /// A floating literal (only meaningful in `static const double`).
    Float(f64),
    /// A name: an enumerator or a constant declared earlier.
    Ident(String),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `c ? a : b`
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `sizeof(type)`
    SizeofType(Box<TypeExpr>),
    /// `sizeof expr`
    SizeofExpr(Box<Expr>),
    /// `alignof(type)` / `_Alignof(type)` / `__alignof__(type)`
    AlignofType(Box<TypeExpr>),
    /// `(type) expr`
    Cast(Box<TypeExpr>, Box<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}
