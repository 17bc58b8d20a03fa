//! Names that type strings resolve beyond the cdefs of one FFI: the
//! tables of a compiled or out-of-line module (see `module::realize`).
//!
//! `Declarations` keeps a list of namespaces; the resolver asks them, in
//! order, for what its own maps do not have: typedef names (also for the
//! parser, which must know which identifiers are types), struct, union
//! and enum tags, and integer constants (array lengths such as `int[N]`).
//! There is one parser and one resolver: a namespace only answers names.

use crate::errors::Error;
use crate::types::TypeRef;

/// The kind of a tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagKind {
    Struct,
    Union,
    Enum,
}

/// A typedef found in a namespace.
#[derive(Clone, Debug)]
pub struct NamedType {
    /// The type; for a typedef of a function type, the function (pointer)
    /// ctype.
    pub ty: TypeRef,
    /// The typedef names a function type (`typedef int f_t(int);`).
    pub is_function: bool,
}

/// `ffi.list_types()`'s three lists: typedef, struct and union names.
pub type TypeLists = (Vec<String>, Vec<String>, Vec<String>);

/// A source of names (see the module documentation).
pub trait Namespace: Send + Sync {
    /// Whether `name` is a typedef name here (no type is realised).
    fn has_typedef(&self, name: &str) -> bool;

    /// The type of the typedef `name`.
    fn typedef(&self, name: &str) -> Result<Option<NamedType>, Error>;

    /// The struct, union or enum called `name` (without its keyword).
    /// A struct asked for as a union (or the reverse) is an error.
    fn tag(&self, kind: TagKind, name: &str) -> Result<Option<TypeRef>, Error>;

    /// The value of the integer constant or enumerator `name`; an error
    /// if `name` is a global that is no integer constant.
    fn integer_const(&self, name: &str) -> Result<Option<i128>, Error>;

    /// `ffi.list_types()`: typedef names, struct names, union names.
    fn list_types(&self) -> Result<TypeLists, Error>;
}
