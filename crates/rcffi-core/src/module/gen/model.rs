//! The tables of one module before they become text: what
//! [`collect`](super::collect) makes from the declarations and the C and
//! Python writers print.  Values the compiler measures are C expressions
//! ([`Arg::Expr`]); the Python text has none.

use super::types::{Arg, TypeTable};

/// Which text the tables are made for.  They differ as in cffi: the C
/// text measures what the compiler knows, flattens anonymous members
/// and calls functions through rcffi's stubs; the Python text (an
/// out-of-line ABI module) looks every symbol up by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    C,
    Python,
}

/// What a global is, for the code the C text writes for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlobalKind {
    /// A function called through `_rcffi_call_NAME` (its `address`) or
    /// `_cffi_d_NAME` (its `size_or_direct_fn`).
    Function,
    /// A variadic function: a constant function pointer.
    VariadicFunction,
    /// A global variable (`_cffi_var_NAME` gives its address).
    Variable,
    /// An integer constant (`#define`, `static const`, a `const` global,
    /// an enumerator): `_cffi_const_NAME(unsigned long long *)`.
    IntConstant,
    /// A constant of another type: `_cffi_const_NAME(char *)` writes it
    /// through a pointer of this abstract type (or, for a type the cdef
    /// leaves opaque, copies its bytes).
    Constant { pointer: String, copy: bool },
    /// An `extern "Python"` function.
    ExternPython,
    /// A name the Python text looks up at run time.
    Dlopen,
}

/// One entry of `_cffi_globals`.
#[derive(Clone, Debug)]
pub struct GlobalEntry {
    pub name: String,
    pub op: u8,
    pub arg: isize,
    pub kind: GlobalKind,
    /// The value the cdef gives an integer constant: the C text checks
    /// it against the compiler's (`_cffi_check_int`), the Python text
    /// holds it.
    pub check: Option<i128>,
    /// The record (index into `Declarations::api`) that declares it.
    pub item: Option<usize>,
}

/// One entry of `_cffi_fields`.
#[derive(Clone, Debug)]
pub struct FieldEntry {
    pub name: String,
    pub offset: Arg,
    /// The size, or the width of a bitfield.
    pub size: Arg,
    /// `NOOP` or `BITFIELD`.
    pub op: u8,
    pub slot: usize,
}

/// One entry of `_cffi_struct_unions`.
#[derive(Clone, Debug)]
pub struct StructEntry {
    pub name: String,
    pub slot: usize,
    pub flags: i32,
    pub size: Arg,
    pub align: Arg,
    /// -1 for opaque and external structs.
    pub first_field: isize,
    pub num_fields: usize,
    /// The C spelling and the tag of the helper struct
    /// `struct _cffi_align_TAG { char x; SPELL y; }` that measures the
    /// alignment (C text).
    pub align_helper: Option<(String, String)>,
}

/// One entry of `_cffi_enums`.
#[derive(Clone, Debug)]
pub struct EnumEntry {
    pub name: String,
    pub slot: usize,
    pub prim: Arg,
    pub enumerators: Vec<String>,
}

/// One entry of `_cffi_typenames`.
#[derive(Clone, Debug)]
pub struct TypenameEntry {
    pub name: String,
    pub slot: usize,
}

/// The tables of one module.
pub struct Tables {
    pub target: Target,
    pub types: TypeTable,
    /// Sorted by name.
    pub globals: Vec<GlobalEntry>,
    pub fields: Vec<FieldEntry>,
    /// Sorted by name (the order of the `STRUCT_UNION` arguments).
    pub structs: Vec<StructEntry>,
    pub enums: Vec<EnumEntry>,
    pub typenames: Vec<TypenameEntry>,
    /// The modules whose `ffi` this one includes.
    pub includes: Vec<String>,
    /// `_cffi_type_context_s.flags`.
    pub flags: i32,
}
