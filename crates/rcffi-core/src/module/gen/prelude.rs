//! The fixed C text of rcffi's modules: what the generated file needs
//! before the user's code (system headers, the table structs and opcodes
//! of cffi's format, the helper macros its tables use) and the compiler
//! pragmas around rcffi's checks.

use std::fmt::Write;

use crate::module::format::{op, prim, sflags};
use crate::module::tables::op_name;

/// Before the set_source() code: what `Python.h` gives cffi's modules, so
/// that code written for cffi compiles unchanged.
pub const SYSTEM_HEADERS: &str = "\
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE 1
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <wchar.h>
#include <sys/types.h>
#if !defined(_WIN32)
#  include <unistd.h>
#endif
#if !defined(__cplusplus)
#  include <stdbool.h>
#  if defined(__has_include)
#    if __has_include(<uchar.h>)
#      include <uchar.h>
#    endif
#  endif
#endif
";

/// The primitives the helper macros name.
const PRIMS: [(&str, i32); 6] = [
    ("INT8", prim::INT8),
    ("UINT8", prim::UINT8),
    ("INT16", prim::INT16),
    ("UINT16", prim::UINT16),
    ("INT32", prim::INT32),
    ("UINT32", prim::UINT32),
];

/// The table format: opcodes, flags, structs and the helper macros of the
/// tables.
pub fn format_definitions() -> String {
    let mut s = String::from("/* ---- the table format (cffi's) ---- */\n");
    s.push_str("typedef void *_cffi_opcode_t;\n");
    s.push_str(
        "#define _CFFI_OP(opcode, arg) \
         ((_cffi_opcode_t)((uintptr_t)(opcode) | (((uintptr_t)(arg)) << 8)))\n",
    );
    // The opcodes are the odd numbers up to EXTERN_PYTHON.
    for v in (op::PRIMITIVE..=op::EXTERN_PYTHON).step_by(2) {
        let _ = writeln!(s, "#define _CFFI_OP_{} {v}", op_name(v));
    }
    for (name, v) in PRIMS {
        let _ = writeln!(s, "#define _CFFI_PRIM_{name} {v}");
    }
    for (name, v) in [
        ("INT64", prim::INT64),
        ("UINT64", prim::UINT64),
        ("FLOAT", prim::FLOAT),
        ("DOUBLE", prim::DOUBLE),
    ] {
        let _ = writeln!(s, "#define _CFFI_PRIM_{name} {v}");
    }
    let _ = writeln!(s, "#define _CFFI__UNKNOWN_PRIM ({})", prim::UNKNOWN);
    let _ = writeln!(
        s,
        "#define _CFFI__UNKNOWN_FLOAT_PRIM ({})",
        prim::UNKNOWN_FLOAT
    );
    let _ = writeln!(
        s,
        "#define _CFFI__UNKNOWN_LONG_DOUBLE ({})",
        prim::UNKNOWN_LONG_DOUBLE
    );
    for (name, v) in [
        ("UNION", sflags::UNION),
        ("CHECK_FIELDS", sflags::CHECK_FIELDS),
        ("PACKED", sflags::PACKED),
        ("EXTERNAL", sflags::EXTERNAL),
        ("OPAQUE", sflags::OPAQUE),
    ] {
        let _ = writeln!(s, "#define _CFFI_F_{name} {v:#04x}");
    }
    s.push_str(STRUCTS);
    s
}

/// The structs of the tables and the macros their entries use.
const STRUCTS: &str = "\
struct _cffi_global_s {
    const char *name; void *address; _cffi_opcode_t type_op; void *size_or_direct_fn;
};
struct _cffi_getconst_s {
    unsigned long long value; const struct _cffi_type_context_s *ctx; int gindex;
};
struct _cffi_struct_union_s {
    const char *name; int type_index; int flags; size_t size; int alignment;
    int first_field_index; int num_fields;
};
struct _cffi_field_s {
    const char *name; size_t field_offset; size_t field_size; _cffi_opcode_t field_type_op;
};
struct _cffi_enum_s {
    const char *name; int type_index; int type_prim; const char *enumerators;
};
struct _cffi_typename_s { const char *name; int type_index; };
struct _cffi_type_context_s {
    _cffi_opcode_t *types;
    const struct _cffi_global_s *globals;
    const struct _cffi_field_s *fields;
    const struct _cffi_struct_union_s *struct_unions;
    const struct _cffi_enum_s *enums;
    const struct _cffi_typename_s *typenames;
    int num_globals, num_struct_unions, num_enums, num_typenames;
    const char *const *includes;
    int num_types;
    int flags;
};
struct _cffi_externpy_s {
    const char *name; size_t size_of_result; void *reserved1, *reserved2;
};
/* The integer primitive of a size and signedness, the floating one of a
   size (0: an integer type), as the tables name them. */
#define _cffi_prim_int(size, sign) \\
    ((size) == 1 ? ((sign) ? _CFFI_PRIM_INT8 : _CFFI_PRIM_UINT8) : \\
     (size) == 2 ? ((sign) ? _CFFI_PRIM_INT16 : _CFFI_PRIM_UINT16) : \\
     (size) == 4 ? ((sign) ? _CFFI_PRIM_INT32 : _CFFI_PRIM_UINT32) : \\
     (size) == 8 ? ((sign) ? _CFFI_PRIM_INT64 : _CFFI_PRIM_UINT64) : \\
     _CFFI__UNKNOWN_PRIM)
#define _cffi_prim_float(size) \\
    ((size) == sizeof(float) ? _CFFI_PRIM_FLOAT : \\
     (size) == sizeof(double) ? _CFFI_PRIM_DOUBLE : \\
     (size) == sizeof(long double) ? _CFFI__UNKNOWN_LONG_DOUBLE : \\
     _CFFI__UNKNOWN_FLOAT_PRIM)
/* Whether a constant read as (got, got <= 0) is `expected`. */
#define _cffi_check_int(got, got_nonpos, expected) \\
    ((got_nonpos) == ((expected) <= 0) && (got) == (unsigned long long)(expected))
#define _cffi_array_len(array) (sizeof(array) / sizeof((array)[0]))
#if defined(__GNUC__) || defined(__clang__)
#  define _CFFI_UNUSED_FN __attribute__((unused))
#else
#  define _CFFI_UNUSED_FN
#endif
#if defined(__cplusplus) && !defined(_Bool)
typedef bool _Bool; /* C++ has bool, not C's _Bool */
#endif
typedef float _Complex _cffi_float_complex_t;
typedef double _Complex _cffi_double_complex_t;
";

/// Around rcffi's checks and the function wrappers: the user's warning
/// flags apply, plus rcffi's.  Errors: an integer where the C code has a
/// pointer (or the reverse), a function the C code does not declare.
/// Unless the user compiles with `-Werror` (`strict`), warnings:
/// conversions between arithmetic types of the same kind (`float` for
/// `double`) and pointers to other types, which the wrappers convert or
/// pass unchanged as cffi's API mode does; `int` for `unsigned int` is
/// silent.  Kind and size mismatches are caught by static assertions.
pub fn checks_pragmas(strict: bool) -> String {
    let common = [
        "push",
        "ignored \"-Wunused-function\"",
        "ignored \"-Wunused-variable\"",
        "ignored \"-Wunused-parameter\"",
        "ignored \"-Wmissing-prototypes\"",
        "ignored \"-Wpedantic\"",
        "ignored \"-Waddress-of-packed-member\"",
        "ignored \"-Wpointer-sign\"",
        "error \"-Wint-conversion\"",
        "error \"-Wimplicit-function-declaration\"",
    ];
    let loose = [
        "warning \"-Wconversion\"",
        "ignored \"-Wsign-conversion\"",
        "warning \"-Wdouble-promotion\"",
        "warning \"-Wincompatible-pointer-types\"",
    ];
    let mut s = String::from("#if defined(__clang__)\n");
    let both = |s: &mut String, tool: &str, extra: &str| {
        let _ = writeln!(s, "#  pragma {tool} diagnostic push");
        let _ = writeln!(s, "#  pragma {tool} diagnostic ignored \"{extra}\"");
        for x in common.iter().skip(1) {
            let _ = writeln!(s, "#  pragma {tool} diagnostic {x}");
        }
        if !strict {
            for x in loose {
                let _ = writeln!(s, "#  pragma {tool} diagnostic {x}");
            }
        }
    };
    both(&mut s, "clang", "-Wunknown-warning-option");
    s.push_str("#elif defined(__GNUC__)\n");
    both(&mut s, "GCC", "-Wpragmas");
    s.push_str("#  pragma GCC diagnostic ignored \"-Wmissing-declarations\"\n");
    s.push_str("#endif\n");
    s
}

/// Around checks whose failure is always an error (a struct field or
/// global of another struct or pointer type).
pub const PRAGMAS_EXACT: &str = "\
#if defined(__clang__)
#  pragma clang diagnostic push
#  pragma clang diagnostic error \"-Wint-conversion\"
#  pragma clang diagnostic error \"-Wincompatible-pointer-types\"
#elif defined(__GNUC__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic error \"-Wint-conversion\"
#  pragma GCC diagnostic error \"-Wincompatible-pointer-types\"
#endif
";

pub const PRAGMAS_POP: &str = "\
#if defined(__clang__)
#  pragma clang diagnostic pop
#elif defined(__GNUC__)
#  pragma GCC diagnostic pop
#endif
";

/// Around rcffi's own code (tables, stubs, getters): no warning of the
/// user's flags applies to it.
pub const PRAGMAS_QUIET: &str = "\
#if defined(__clang__)
#  pragma clang diagnostic push
#  pragma clang diagnostic ignored \"-Wunknown-warning-option\"
#  pragma clang diagnostic ignored \"-Wunused-function\"
#  pragma clang diagnostic ignored \"-Wunused-variable\"
#  pragma clang diagnostic ignored \"-Wunused-parameter\"
#  pragma clang diagnostic ignored \"-Wtautological-compare\"
#  pragma clang diagnostic ignored \"-Wtype-limits\"
#  pragma clang diagnostic ignored \"-Wsign-compare\"
#  pragma clang diagnostic ignored \"-Wconversion\"
#  pragma clang diagnostic ignored \"-Wsign-conversion\"
#  pragma clang diagnostic ignored \"-Wpedantic\"
#  pragma clang diagnostic ignored \"-Wcast-function-type\"
#  pragma clang diagnostic ignored \"-Wbad-function-cast\"
#  pragma clang diagnostic ignored \"-Wmissing-prototypes\"
#  pragma clang diagnostic ignored \"-Wfloat-equal\"
#  pragma clang diagnostic ignored \"-Wcast-qual\"
#elif defined(__GNUC__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored \"-Wpragmas\"
#  pragma GCC diagnostic ignored \"-Wunused-function\"
#  pragma GCC diagnostic ignored \"-Wunused-variable\"
#  pragma GCC diagnostic ignored \"-Wunused-parameter\"
#  pragma GCC diagnostic ignored \"-Wtype-limits\"
#  pragma GCC diagnostic ignored \"-Wsign-compare\"
#  pragma GCC diagnostic ignored \"-Wconversion\"
#  pragma GCC diagnostic ignored \"-Wsign-conversion\"
#  pragma GCC diagnostic ignored \"-Wpedantic\"
#  pragma GCC diagnostic ignored \"-Wcast-function-type\"
#  pragma GCC diagnostic ignored \"-Wbad-function-cast\"
#  pragma GCC diagnostic ignored \"-Wmissing-prototypes\"
#  pragma GCC diagnostic ignored \"-Wmissing-declarations\"
#  pragma GCC diagnostic ignored \"-Wfloat-equal\"
#  pragma GCC diagnostic ignored \"-Wdiscarded-qualifiers\"
#  pragma GCC diagnostic ignored \"-Wdiscarded-array-qualifiers\"
#  pragma GCC diagnostic ignored \"-Wcast-qual\"
#endif
";

/// The stable-ABI functions `PyInit_NAME` calls, declared by hand so that
/// the module needs no `Python.h` (skipped when the user's code included
/// it).
pub const PYTHON_PROTOTYPES: &str = "\
#if !defined(Py_PYTHON_H)
typedef struct _object PyObject;
extern PyObject *PyImport_ImportModule(const char *);
extern PyObject *PyLong_FromVoidPtr(void *);
extern PyObject *PyObject_CallMethod(PyObject *, const char *, const char *, ...);
extern void Py_DecRef(PyObject *);
#endif
";
