//! Interning: one `Arc` per distinct structural type.
//!
//! Keys name their component types by address.  A type that is a key
//! component is referenced by the interned type built from it, and interned
//! types are never removed, so an address in a key can never be reused by
//! another type.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use super::primitive::{self, Primitive};
use super::{CType, TypeRef};

#[derive(Hash, PartialEq, Eq)]
enum Key {
    Void,
    File,
    Primitive(&'static str),
    Pointer(usize),
    Array(usize, Option<usize>),
    Function(Vec<usize>, usize, bool, i32),
}

fn addr(t: &TypeRef) -> usize {
    Arc::as_ptr(t) as usize
}

static TABLE: LazyLock<Mutex<HashMap<Key, TypeRef>>> = LazyLock::new(Default::default);

fn get_or_make(key: Key, make: impl FnOnce() -> TypeRef) -> TypeRef {
    // A poisoned lock only means another thread panicked while inserting;
    // the map itself is still consistent.
    let mut table = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    table.entry(key).or_insert_with(make).clone()
}

pub fn void() -> TypeRef {
    get_or_make(Key::Void, super::make_void)
}

/// The opaque struct `FILE` (cffi's common type), shared by every FFI.
pub fn file() -> TypeRef {
    get_or_make(Key::File, || super::new_struct("FILE", false))
}

pub fn primitive(prim: &'static Primitive) -> TypeRef {
    get_or_make(Key::Primitive(prim.name), || super::make_primitive(prim))
}

/// The primitive called `name`, if there is one.
pub fn primitive_named(name: &str) -> Option<TypeRef> {
    primitive::find(name).map(primitive)
}

pub fn pointer(item: &TypeRef) -> TypeRef {
    get_or_make(Key::Pointer(addr(item)), || super::make_pointer(item))
}

pub fn array(item: &TypeRef, len: Option<usize>) -> TypeRef {
    get_or_make(Key::Array(addr(item), len), || super::make_array(item, len))
}

pub fn function(args: Vec<TypeRef>, result: &TypeRef, ellipsis: bool, abi: i32) -> TypeRef {
    let key = Key::Function(args.iter().map(addr).collect(), addr(result), ellipsis, abi);
    get_or_make(key, || super::make_function(args, result, ellipsis, abi))
}

/// Shorthand for tests and the front end: the interned type of `name`.
pub fn prim(name: &str) -> TypeRef {
    primitive_named(name).unwrap_or_else(|| panic!("no primitive type {name}"))
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn f<T: Send + Sync>() {}
    f::<CType>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_c_declarators() {
        let int = prim("int");
        let long = prim("long");
        let p = pointer(&int);
        assert!(Arc::ptr_eq(&p, &pointer(&prim("int"))));
        assert_eq!(p.cname(), "int *");
        assert_eq!(pointer(&p).cname(), "int * *");
        assert_eq!(array(&p, Some(5)).cname(), "int *[5]");
        assert_eq!(pointer(&array(&int, Some(5))).cname(), "int(*)[5]");
        assert_eq!(array(&array(&int, Some(5)), Some(6)).cname(), "int[6][5]");
        let f = function(vec![int.clone(), long.clone()], &p, false, 2);
        assert_eq!(f.cname(), "int *(*)(int, long)");
        assert_eq!(pointer(&f).cname(), "int *(* *)(int, long)");
        assert_eq!(array(&f, Some(3)).cname(), "int *(*[3])(int, long)");
        let f2 = function(vec![int.clone()], &f, true, 2);
        assert_eq!(f2.cname(), "int *(*(*)(int, ...))(int, long)");
        assert_eq!(array(&int, None).cname(), "int[]");
    }
}
