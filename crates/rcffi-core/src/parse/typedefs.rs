//! The typedef table the parser consults to tell type names from other
//! identifiers (`foo * bar;` declares `bar` only when `foo` is a type).

use std::collections::HashSet;

/// Which identifiers name types.
pub trait TypedefNames {
    fn is_typedef(&self, name: &str) -> bool;
}

/// Names every cdef knows without declaring them: the primitive types that
/// are spelled as one identifier, and cffi's common types.
pub const PREDEFINED: &[&str] = &[
    "int8_t",
    "uint8_t",
    "int16_t",
    "uint16_t",
    "int32_t",
    "uint32_t",
    "int64_t",
    "uint64_t",
    "int_least8_t",
    "uint_least8_t",
    "int_least16_t",
    "uint_least16_t",
    "int_least32_t",
    "uint_least32_t",
    "int_least64_t",
    "uint_least64_t",
    "int_fast8_t",
    "uint_fast8_t",
    "int_fast16_t",
    "uint_fast16_t",
    "int_fast32_t",
    "uint_fast32_t",
    "int_fast64_t",
    "uint_fast64_t",
    "intptr_t",
    "uintptr_t",
    "intmax_t",
    "uintmax_t",
    "ptrdiff_t",
    "size_t",
    "ssize_t",
    "wchar_t",
    "char16_t",
    "char32_t",
    "FILE",
    "bool",
    "_cffi_float_complex_t",
    "_cffi_double_complex_t",
];

/// Only the predefined names.
pub struct Predefined;

impl TypedefNames for Predefined {
    fn is_typedef(&self, name: &str) -> bool {
        PREDEFINED.contains(&name)
    }
}

/// A scope that adds the names declared so far in one source to an outer
/// table.
pub struct Scope<'a> {
    outer: &'a dyn TypedefNames,
    local: HashSet<String>,
}

impl<'a> Scope<'a> {
    pub fn new(outer: &'a dyn TypedefNames) -> Self {
        Scope {
            outer,
            local: HashSet::new(),
        }
    }

    pub fn declare(&mut self, name: &str) {
        self.local.insert(name.to_owned());
    }
}

impl TypedefNames for Scope<'_> {
    fn is_typedef(&self, name: &str) -> bool {
        self.local.contains(name) || self.outer.is_typedef(name) || PREDEFINED.contains(&name)
    }
}

impl TypedefNames for HashSet<String> {
    fn is_typedef(&self, name: &str) -> bool {
        self.contains(name)
    }
}
