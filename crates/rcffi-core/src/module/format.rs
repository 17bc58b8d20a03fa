//! The binary format of compiled (and out-of-line) cffi modules: the
//! `_cffi_type_context_s` tables and the `_CFFI_OP` opcodes that cffi's
//! `parse_c_type.h` defines, written here from those facts.  rcffi's own
//! API-mode modules use the very same tables, so one reader serves both.
//!
//! # The tables
//!
//! A module's context points to six arrays:
//!
//! * `types` — one opcode per slot (`op | arg << 8`, every `op` odd).  A
//!   type is named by the index of its slot.  `FUNCTION` slots are followed
//!   by one slot per argument and a `FUNCTION_END` (whose argument holds
//!   the ellipsis bit and the ABI), `ARRAY` slots by one slot holding the
//!   length.  The reader may overwrite a slot with the address of the
//!   realised type object (an even value), as cffi does: the C wrappers of
//!   cffi-built modules read `_cffi_types[i]` as a `CTypeDescrObject *`.
//! * `globals`, sorted by name (binary search): functions, variables,
//!   constants, enumerators, `extern "Python"` slots.
//! * `struct_unions`, sorted by name, with their `fields` (a shared array;
//!   each struct names its first field and count).
//! * `enums`, sorted by name; `typenames` (typedefs), sorted by name.
//! * `includes`: the names of the modules whose `ffi` this one includes,
//!   NULL-terminated.
//!
//! # rcffi's modules
//!
//! A module built by rcffi is an ordinary CPython extension module
//! (`NAME.abi3.so`) compiled from plain C without `Python.h`.  Its
//! `PyInit_NAME` imports `rcffi._cffi_backend` and calls
//! `_init_cffi_1_0_external_module` with the same four-pointer block as
//! cffi's (`name, version, exports, context`), with the version
//! [`RCFFI_FORMAT`].  The tables differ from cffi's in one field: for a
//! function (`CPYTHON_BLTN_*`), `address` is rcffi's argument stub
//! `void _rcffi_call_NAME(void **args, void *result)` instead of a
//! `PyCFunction`; `size_or_direct_fn` is in both the direct C function
//! `_cffi_d_NAME` with the declared signature.

use std::ffi::{c_char, c_int, c_void};

/// `_cffi_opcode_t`: a pointer-sized word, `op | (arg << 8)`.
pub type Opcode = usize;

/// The opcodes (`_CFFI_OP_*`); all are odd, so a slot holding an even
/// value holds a realised type instead.
pub mod op {
    pub const PRIMITIVE: u8 = 1;
    pub const POINTER: u8 = 3;
    pub const ARRAY: u8 = 5;
    pub const OPEN_ARRAY: u8 = 7;
    pub const STRUCT_UNION: u8 = 9;
    pub const ENUM: u8 = 11;
    pub const FUNCTION: u8 = 13;
    pub const FUNCTION_END: u8 = 15;
    pub const NOOP: u8 = 17;
    pub const BITFIELD: u8 = 19;
    pub const TYPENAME: u8 = 21;
    /// A function of several arguments (`METH_VARARGS` in cffi).
    pub const CPYTHON_BLTN_V: u8 = 23;
    /// A function of no argument (`METH_NOARGS`).
    pub const CPYTHON_BLTN_N: u8 = 25;
    /// A function of one argument (`METH_O`).
    pub const CPYTHON_BLTN_O: u8 = 27;
    /// A constant of a non-integer type: `address` writes it.
    pub const CONSTANT: u8 = 29;
    /// An integer constant: `address` is `int f(unsigned long long *)`.
    pub const CONSTANT_INT: u8 = 31;
    /// A global variable at `address` (ABI mode; NULL: look it up).
    pub const GLOBAL_VAR: u8 = 33;
    /// An out-of-line ABI module's function, looked up by name.
    pub const DLOPEN_FUNC: u8 = 35;
    /// An out-of-line ABI module's constant, looked up by name.
    pub const DLOPEN_CONST: u8 = 37;
    /// A global variable whose address `address()` returns (API mode).
    pub const GLOBAL_VAR_F: u8 = 39;
    /// An `extern "Python"` function: `address` is its `_cffi_externpy_s`.
    pub const EXTERN_PYTHON: u8 = 41;
}

/// The primitive types (`_CFFI_PRIM_*`), the argument of `PRIMITIVE`.
pub mod prim {
    pub const VOID: i32 = 0;
    pub const BOOL: i32 = 1;
    pub const CHAR: i32 = 2;
    pub const SCHAR: i32 = 3;
    pub const UCHAR: i32 = 4;
    pub const SHORT: i32 = 5;
    pub const USHORT: i32 = 6;
    pub const INT: i32 = 7;
    pub const UINT: i32 = 8;
    pub const LONG: i32 = 9;
    pub const ULONG: i32 = 10;
    pub const LONGLONG: i32 = 11;
    pub const ULONGLONG: i32 = 12;
    pub const FLOAT: i32 = 13;
    pub const DOUBLE: i32 = 14;
    pub const LONGDOUBLE: i32 = 15;
    pub const WCHAR: i32 = 16;
    pub const INT8: i32 = 17;
    pub const UINT8: i32 = 18;
    pub const INT16: i32 = 19;
    pub const UINT16: i32 = 20;
    pub const INT32: i32 = 21;
    pub const UINT32: i32 = 22;
    pub const INT64: i32 = 23;
    pub const UINT64: i32 = 24;
    pub const INTPTR: i32 = 25;
    pub const UINTPTR: i32 = 26;
    pub const PTRDIFF: i32 = 27;
    pub const SIZE: i32 = 28;
    pub const SSIZE: i32 = 29;
    pub const INT_LEAST8: i32 = 30;
    pub const UINT_LEAST8: i32 = 31;
    pub const INT_LEAST16: i32 = 32;
    pub const UINT_LEAST16: i32 = 33;
    pub const INT_LEAST32: i32 = 34;
    pub const UINT_LEAST32: i32 = 35;
    pub const INT_LEAST64: i32 = 36;
    pub const UINT_LEAST64: i32 = 37;
    pub const INT_FAST8: i32 = 38;
    pub const UINT_FAST8: i32 = 39;
    pub const INT_FAST16: i32 = 40;
    pub const UINT_FAST16: i32 = 41;
    pub const INT_FAST32: i32 = 42;
    pub const UINT_FAST32: i32 = 43;
    pub const INT_FAST64: i32 = 44;
    pub const UINT_FAST64: i32 = 45;
    pub const INTMAX: i32 = 46;
    pub const UINTMAX: i32 = 47;
    pub const FLOATCOMPLEX: i32 = 48;
    pub const DOUBLECOMPLEX: i32 = 49;
    pub const CHAR16: i32 = 50;
    pub const CHAR32: i32 = 51;
    /// How many primitive numbers there are.
    pub const NUM: i32 = 52;
    /// `typedef int... t` whose size is no integer size.
    pub const UNKNOWN: i32 = -1;
    /// `typedef float... t` whose size is no floating size.
    pub const UNKNOWN_FLOAT: i32 = -2;
    /// `typedef double... t` that the compiler says is `long double`.
    pub const UNKNOWN_LONG_DOUBLE: i32 = -3;

    /// The C name of each primitive number (cffi's spelling).
    pub fn name(num: i32) -> Option<&'static str> {
        const NAMES: [&str; NUM as usize] = [
            "void",
            "_Bool",
            "char",
            "signed char",
            "unsigned char",
            "short",
            "unsigned short",
            "int",
            "unsigned int",
            "long",
            "unsigned long",
            "long long",
            "unsigned long long",
            "float",
            "double",
            "long double",
            "wchar_t",
            "int8_t",
            "uint8_t",
            "int16_t",
            "uint16_t",
            "int32_t",
            "uint32_t",
            "int64_t",
            "uint64_t",
            "intptr_t",
            "uintptr_t",
            "ptrdiff_t",
            "size_t",
            "ssize_t",
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
            "intmax_t",
            "uintmax_t",
            "_cffi_float_complex_t",
            "_cffi_double_complex_t",
            "char16_t",
            "char32_t",
        ];
        usize::try_from(num)
            .ok()
            .and_then(|i| NAMES.get(i))
            .copied()
    }
}

/// `struct_unions[].type_index == IO_FILE_STRUCT`: C's `FILE`.
pub const IO_FILE_STRUCT: c_int = -1;

/// The flags of `_cffi_struct_union_s` (`_CFFI_F_*`).
pub mod sflags {
    /// A union, not a struct.
    pub const UNION: i32 = 0x01;
    /// Check at realisation that the fields are where the standard layout
    /// puts them (cffi raises otherwise).
    pub const CHECK_FIELDS: i32 = 0x02;
    /// With `CHECK_FIELDS`: the layout is packed.
    pub const PACKED: i32 = 0x04;
    /// Defined in a module this one includes.
    pub const EXTERNAL: i32 = 0x08;
    /// Opaque (no fields known).
    pub const OPAQUE: i32 = 0x10;
}

/// `_cffi_type_context_s.flags & USES_EXTERN_PYTHON`: the module has
/// `extern "Python"` functions (or embedding), so it wants the 26th export.
pub const CTX_USES_EXTERN_PYTHON: c_int = 1;

/// The version tags a module gives `_init_cffi_1_0_external_module`.
pub mod version {
    /// cffi's first format (cffi 1.0 on).
    pub const CFFI_BASE: isize = 0x2601;
    /// cffi, with embedding.
    pub const CFFI_EMBEDDED: isize = 0x2701;
    /// cffi, with `char16_t`/`char32_t` (28 exports).
    pub const CFFI_CHAR16CHAR32: isize = 0x2801;
    /// The last version tag a cffi 1.x–2.x may emit.
    pub const CFFI_MAX: isize = 0x28FF;
    /// The tags `0x5200..=0x52FF` are rcffi's; the low byte is the
    /// revision of rcffi's conventions on top of cffi's tables.
    pub const RCFFI_FIRST: isize = 0x5200;
    pub const RCFFI_LAST: isize = 0x52FF;
    /// The revision this rcffi writes and reads.
    pub const RCFFI_FORMAT: isize = 0x5201;
}

/// The number of export slots cffi's modules may ask for.
pub const NUM_EXPORTS: usize = 28;

/// The names of the export slots, by index (for error messages); slots 0
/// and 12 are unused.
pub const EXPORT_NAMES: [&str; NUM_EXPORTS] = [
    "(unused 0)",
    "_cffi_to_c_i8",
    "_cffi_to_c_u8",
    "_cffi_to_c_i16",
    "_cffi_to_c_u16",
    "_cffi_to_c_i32",
    "_cffi_to_c_u32",
    "_cffi_to_c_i64",
    "_cffi_to_c_u64",
    "_cffi_to_c_char",
    "_cffi_from_c_pointer",
    "_cffi_to_c_pointer",
    "(unused 12: _cffi_get_struct_layout)",
    "_cffi_restore_errno",
    "_cffi_save_errno",
    "_cffi_from_c_char",
    "_cffi_from_c_deref",
    "_cffi_to_c",
    "_cffi_from_c_struct",
    "_cffi_to_c_wchar_t",
    "_cffi_from_c_wchar_t",
    "_cffi_to_c_long_double",
    "_cffi_to_c__Bool",
    "_cffi_prepare_pointer_call_argument",
    "_cffi_convert_array_from_object",
    "_cffi_call_python",
    "_cffi_to_c_wchar3216_t",
    "_cffi_from_c_wchar3216_t",
];

/// `op | (arg << 8)`.
#[inline]
pub const fn make_op(op: u8, arg: isize) -> Opcode {
    (op as usize) | ((arg as usize) << 8)
}

/// The opcode of a slot (its low byte).
#[inline]
pub const fn get_op(x: Opcode) -> u8 {
    x as u8
}

/// The argument of a slot (the rest, shifted arithmetically).
#[inline]
pub const fn get_arg(x: Opcode) -> isize {
    (x as isize) >> 8
}

/// Whether a slot still holds an opcode (odd) rather than a realised type.
#[inline]
pub const fn is_opcode(x: Opcode) -> bool {
    x & 1 == 1
}

/// `struct _cffi_global_s`.
#[repr(C)]
#[derive(Debug)]
pub struct Global {
    pub name: *const c_char,
    pub address: *mut c_void,
    pub type_op: Opcode,
    /// `GLOBAL_VAR`: the size (0 if unknown); `CPYTHON_BLTN_*`: the direct
    /// C function.
    pub size_or_direct_fn: *mut c_void,
}

/// `struct _cffi_getconst_s`: what an integer constant's function fills.
#[repr(C)]
#[derive(Debug)]
pub struct GetConst {
    pub value: u64,
    pub ctx: *const TypeContext,
    pub gindex: c_int,
}

/// `struct _cffi_struct_union_s`.
#[repr(C)]
#[derive(Debug)]
pub struct StructUnion {
    pub name: *const c_char,
    pub type_index: c_int,
    pub flags: c_int,
    /// `(size_t)-2`: unknown (an unnamed struct): computed from the fields.
    pub size: usize,
    /// -1: unknown.
    pub alignment: c_int,
    pub first_field_index: c_int,
    pub num_fields: c_int,
}

/// `struct _cffi_field_s`.
#[repr(C)]
#[derive(Debug)]
pub struct Field {
    pub name: *const c_char,
    /// `(size_t)-1`: not given (bitfields, unnamed structs).
    pub field_offset: usize,
    /// The size, or for a `BITFIELD` the width in bits.
    pub field_size: usize,
    /// `NOOP` or `BITFIELD`, whose argument is the field's type index.
    pub field_type_op: Opcode,
}

/// `struct _cffi_enum_s`.
#[repr(C)]
#[derive(Debug)]
pub struct Enum {
    pub name: *const c_char,
    pub type_index: c_int,
    /// The integer primitive the enum is stored as.
    pub type_prim: c_int,
    /// The enumerators' names, comma-separated; each is also a global.
    pub enumerators: *const c_char,
}

/// `struct _cffi_typename_s`.
#[repr(C)]
#[derive(Debug)]
pub struct Typename {
    pub name: *const c_char,
    pub type_index: c_int,
}

/// `struct _cffi_type_context_s`.
#[repr(C)]
#[derive(Debug)]
pub struct TypeContext {
    pub types: *mut Opcode,
    pub globals: *const Global,
    pub fields: *const Field,
    pub struct_unions: *const StructUnion,
    pub enums: *const Enum,
    pub typenames: *const Typename,
    pub num_globals: c_int,
    pub num_struct_unions: c_int,
    pub num_enums: c_int,
    pub num_typenames: c_int,
    pub includes: *const *const c_char,
    pub num_types: c_int,
    pub flags: c_int,
}

/// `struct _cffi_externpy_s`: the slot of one `extern "Python"` function.
/// `reserved1`/`reserved2` belong to the backend (rcffi keeps the
/// attached callable there).
#[repr(C)]
#[derive(Debug)]
pub struct ExternPy {
    pub name: *const c_char,
    pub size_of_result: usize,
    pub reserved1: *mut c_void,
    pub reserved2: *mut c_void,
}

/// The block a module's init function passes (`raw[0..4]` in cffi).
#[repr(C)]
#[derive(Debug)]
pub struct InitBlock {
    pub module_name: *const c_char,
    pub version: isize,
    pub exports: *mut *mut c_void,
    pub ctx: *const TypeContext,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_round_trip() {
        let x = make_op(op::POINTER, 1234);
        assert_eq!(get_op(x), op::POINTER);
        assert_eq!(get_arg(x), 1234);
        assert!(is_opcode(x));
        let neg = make_op(op::ENUM, -1);
        assert_eq!(get_op(neg), op::ENUM);
        assert_eq!(get_arg(neg), -1);
    }

    #[test]
    fn struct_sizes_match_c() {
        // x86-64 / LP64: the sizes cffi's C structs have.
        assert_eq!(std::mem::size_of::<Global>(), 32);
        assert_eq!(std::mem::size_of::<StructUnion>(), 40);
        assert_eq!(std::mem::size_of::<Field>(), 32);
        assert_eq!(std::mem::size_of::<Enum>(), 24);
        assert_eq!(std::mem::size_of::<Typename>(), 16);
        assert_eq!(std::mem::size_of::<TypeContext>(), 80);
        assert_eq!(std::mem::size_of::<ExternPy>(), 32);
    }

    #[test]
    fn primitive_names() {
        assert_eq!(prim::name(prim::INT), Some("int"));
        assert_eq!(prim::name(prim::CHAR32), Some("char32_t"));
        assert_eq!(prim::name(prim::NUM), None);
        assert_eq!(prim::name(-1), None);
    }
}
