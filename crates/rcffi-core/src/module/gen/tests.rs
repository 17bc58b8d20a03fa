//! Unit tests of the generator: the C text is compiled with the system C
//! compiler together with a small program that prints its tables (the
//! values the compiler measured included), and compile errors are checked
//! to fall on the lines of the declaration they are about.

use std::path::PathBuf;
use std::process::Command;

use super::{COptions, c_module, python_module};
use crate::frontend::{CdefOptions, Declarations};

/// Prints the tables of the module it is compiled with: one line per
/// entry, integer constants read through their functions.
const DUMPER: &str = r#"
#include <stdio.h>
PyObject *PyImport_ImportModule(const char *n) { (void)n; return 0; }
PyObject *PyLong_FromVoidPtr(void *p) { (void)p; return 0; }
PyObject *PyObject_CallMethod(PyObject *o, const char *n, const char *f, ...) {
    (void)o; (void)n; (void)f; return 0;
}
void Py_DecRef(PyObject *o) { (void)o; }
#define OP(x) ((int)((uintptr_t)(x) & 0xff))
#define ARG(x) ((long)((intptr_t)(x) >> 8))
int main(void) {
    const struct _cffi_type_context_s *c = &_cffi_type_context;
    int i, j;
    for (i = 0; i < c->num_types; i++)
        printf("type %d %d %ld raw=%lu\n", i, OP(c->types[i]), ARG(c->types[i]),
               (unsigned long)(uintptr_t)c->types[i]);
    for (i = 0; i < c->num_globals; i++) {
        const struct _cffi_global_s *g = &c->globals[i];
        printf("global %s %d %ld", g->name, OP(g->type_op), ARG(g->type_op));
        if (OP(g->type_op) == _CFFI_OP_CONSTANT_INT || OP(g->type_op) == _CFFI_OP_ENUM) {
            unsigned long long v = 0;
            int n = ((int (*)(unsigned long long *))g->address)(&v);
            printf(" = %s%llu (%d)", (n & 1) && v ? "-" : "", (n & 1) && v ? -v : v, n);
        }
        printf("\n");
    }
    for (i = 0; i < c->num_struct_unions; i++) {
        const struct _cffi_struct_union_s *s = &c->struct_unions[i];
        printf("struct %s %d flags=%d size=%ld align=%d\n", s->name, s->type_index, s->flags,
               (long)s->size, s->alignment);
        for (j = 0; j < s->num_fields; j++) {
            const struct _cffi_field_s *f = &c->fields[s->first_field_index + j];
            printf("  field %s off=%ld size=%ld %d %ld\n", f->name, (long)f->field_offset,
                   (long)f->field_size, OP(f->field_type_op), ARG(f->field_type_op));
        }
    }
    for (i = 0; i < c->num_enums; i++)
        printf("enum %s %d prim=%d %s\n", c->enums[i].name, c->enums[i].type_index,
               c->enums[i].type_prim, c->enums[i].enumerators);
    for (i = 0; i < c->num_typenames; i++)
        printf("typename %s %d\n", c->typenames[i].name, c->typenames[i].type_index);
    printf("flags %d\n", c->flags);
    return 0;
}
"#;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rcffi-gen-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn declarations(cdef: &str) -> Declarations {
    let mut d = Declarations::new();
    d.cdef(cdef, CdefOptions::default()).unwrap();
    d
}

fn options(name: &str, source: &str) -> COptions {
    COptions {
        module_name: name.to_owned(),
        source: source.to_owned(),
        c_path: Some(scratch(&format!("{name}.c")).display().to_string()),
        ..COptions::default()
    }
}

/// Compiles the module with the dumper: `Ok(output of the program)` or
/// `Err((compiler output, regions))`.
fn build_and_dump(name: &str, cdef: &str, source: &str) -> Result<String, String> {
    let d = declarations(cdef);
    let o = options(name, source);
    let m = c_module(&d, &[], &o).unwrap();
    let c = scratch(&format!("{name}.c"));
    std::fs::write(&c, format!("{}{DUMPER}", m.text)).unwrap();
    let exe = scratch(name);
    let out = Command::new("cc")
        .args(["-O0", "-Wall", "-o"])
        .arg(&exe)
        .arg(&c)
        .output()
        .expect("a C compiler (cc)");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    Ok(String::from_utf8(run.stdout).unwrap())
}

fn line_of<'a>(dump: &'a str, prefix: &str) -> &'a str {
    dump.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in\n{dump}"))
}

const CDEF: &str = r#"
    struct s { int a; struct { int b; char c; }; union { int x; } u; int items[...]; ...; };
    typedef int... t;
    t h(t);
    FILE *f(void);
    typedef struct { int q; } *pt;
    extern int v;
    int arr[...][3];
    static const int K;
    static const long L = 7;
    const int CI;
    const double CD;
    enum e { A, B = -3 };
    typedef enum { X, ... } xe;
    int g(int, ...);
    int (*fp)(int);
    extern "Python" int cb(int, double);
    typedef long ar[...];
    #define BIG ...
    #define WRONG 5
"#;

const SOURCE: &str = r#"
    #include <stdio.h>
    struct s { double pad; int a; struct { int b; char c; }; union { int x; } u; int items[5]; };
    typedef short t;
    t h(t x) { return x; }
    FILE *f(void) { return 0; }
    typedef struct { int q; } *pt;
    int v;
    int arr[7][3];
    static const int K = -3;
    static const long L = 8;
    const int CI = 1;
    const double CD = 1.5;
    enum e { A, B = -3 };
    typedef enum { X = 4, Y } xe;
    int g(int a, ...) { return a; }
    int (*fp)(int);
    typedef long ar[9];
    #define BIG 0xffffffffffffffffULL
    #define WRONG 6
"#;

#[test]
fn tables_hold_what_the_compiler_measured() {
    let dump = build_and_dump("m1", CDEF, SOURCE).unwrap();
    // struct s, laid out by the compiler; its anonymous member flattened.
    assert_eq!(
        line_of(&dump, "struct s "),
        format!(
            "struct s {} flags=0 size=48 align=8",
            type_of(&dump, "struct s")
        )
    );
    for (field, off) in [("a", 8), ("b", 12), ("c", 16), ("u", 20), ("items", 24)] {
        assert!(
            line_of(&dump, &format!("  field {field} ")).contains(&format!("off={off} ")),
            "{field}: {dump}"
        );
    }
    // typedef int... t is a short; typedef long ar[...] has 9 items.
    let t = line_of(&dump, "typename t ").split(' ').nth(2).unwrap();
    assert!(
        line_of(&dump, &format!("type {t} ")).contains(" 1 19 "),
        "{dump}"
    );
    let ar = line_of(&dump, "typename ar ").split(' ').nth(2).unwrap();
    let len: usize = ar.parse::<usize>().unwrap() + 1;
    assert!(
        line_of(&dump, &format!("type {len} ")).ends_with(" raw=9"),
        "{dump}"
    );
    // Constants: values, signs and the check of the cdef's value.
    assert!(line_of(&dump, "global K ").ends_with("= -3 (1)"), "{dump}");
    assert!(line_of(&dump, "global L ").ends_with("= 8 (2)"), "{dump}");
    assert!(
        line_of(&dump, "global WRONG ").ends_with("= 6 (2)"),
        "{dump}"
    );
    assert!(line_of(&dump, "global BIG ").ends_with("= 18446744073709551615 (0)"));
    assert!(line_of(&dump, "global B ").ends_with("= -3 (1)"), "{dump}");
    assert!(line_of(&dump, "global X ").ends_with("= 4 (0)"), "{dump}");
    // Functions, variadic functions, globals, extern "Python".
    assert!(line_of(&dump, "global h ").starts_with("global h 27 "));
    assert!(line_of(&dump, "global f ").starts_with("global f 25 "));
    assert!(line_of(&dump, "global g ").starts_with("global g 29 "));
    assert!(line_of(&dump, "global v ").starts_with("global v 39 "));
    assert!(line_of(&dump, "global cb ").starts_with("global cb 41 "));
    assert!(line_of(&dump, "global CD ").starts_with("global CD 29 "));
    assert_eq!(line_of(&dump, "flags "), "flags 1");
    // FILE, the enums and their integer types.
    assert!(line_of(&dump, "struct _IO_FILE ").contains("flags=16"));
    assert!(dump.contains("typename FILE "));
    assert!(line_of(&dump, "enum e ").contains("prim=21 A,B"), "{dump}");
    assert!(line_of(&dump, "enum $xe ").contains("prim=22 X"), "{dump}");
    // Sorted by name, for the reader's binary search.
    let globals: Vec<&str> = dump
        .lines()
        .filter_map(|l| l.strip_prefix("global "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let mut sorted = globals.clone();
    sorted.sort();
    assert_eq!(globals, sorted);
}

fn type_of(dump: &str, struct_name: &str) -> String {
    let name = struct_name.strip_prefix("struct ").unwrap();
    line_of(dump, &format!("struct {name} "))
        .split(' ')
        .nth(2)
        .unwrap()
        .to_owned()
}

/// Compiles `text` (written to `file`) into an object; the compiler's
/// output.
fn compile(compiler: &str, file: &PathBuf, text: &str) -> std::process::Output {
    std::fs::write(file, text).unwrap();
    Command::new(compiler)
        .args(["-c", "-o", "/dev/null"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{compiler}: {e}"))
}

/// The declaration a compiler error of the generated file falls in.
fn failing_declarations(name: &str, cdef: &str, source: &str) -> Vec<String> {
    let d = declarations(cdef);
    let o = options(name, source);
    let m = c_module(&d, &[], &o).unwrap();
    let c = scratch(&format!("{name}.c"));
    let out = compile("cc", &c, &m.text);
    assert!(!out.status.success(), "{name} compiled");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = c.display().to_string();
    let mut found = Vec::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix(&format!("{file}:")) else {
            continue;
        };
        if !rest.contains("error") {
            continue;
        }
        let n: usize = rest.split(':').next().unwrap().parse().unwrap();
        let r = m
            .regions
            .iter()
            .find(|r| r.first <= n && n <= r.last)
            .unwrap_or_else(|| panic!("line {n} in no region: {line}"));
        found.push(format!("{} ({})", r.what, r.origin));
    }
    found
}

#[test]
fn contradictions_fall_on_their_declaration() {
    let cases = [
        ("struct s { int a; };", "struct s { long a; };", "struct s"),
        (
            "int add(int, int);",
            "double add(double a, double b) { return a; }",
            "function 'add'",
        ),
        ("int nothere(int);", "", "function 'nothere'"),
        ("extern int g;", "long g;", "global variable 'g'"),
        ("typedef int... t;", "typedef double t;", "typedef 't'"),
        ("#define X ...", "#define X \"text\"", "'#define X ...'"),
        ("enum e { A, B };", "enum e { B, A };", "enum e"),
        (
            "struct s { char *p; ...; };",
            "struct s { long p; };",
            "struct s",
        ),
    ];
    for (k, (cdef, source, named)) in cases.iter().enumerate() {
        let found = failing_declarations(&format!("bad{k}"), cdef, source);
        assert!(!found.is_empty(), "{cdef}");
        for f in &found {
            assert_eq!(f, &format!("{named} (cdef line 1)"), "{cdef} / {source}");
        }
    }
}

#[test]
fn user_code_errors_name_the_users_lines() {
    let d = declarations("int f(int);");
    let o = options("usr", "int f(int x) {\n    return x\n}\n");
    let m = c_module(&d, &[], &o).unwrap();
    let out = compile("cc", &scratch("usr.c"), &m.text);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{}:2:", m.user_file)), "{stderr}");
}

#[test]
fn cplusplus_source_compiles() {
    let d = declarations(
        "struct p { int x; double y; }; int add(int, int); extern int counter; \
         int (*cbp)(int); extern \"Python\" void notify(int);",
    );
    let mut o = options(
        "cxx",
        "struct p { int x; double y; };\nint add(int a, int b) { return a + b; }\n\
         int counter; int (*cbp)(int);\n",
    );
    o.cplusplus = true;
    let m = c_module(&d, &[], &o).unwrap();
    let out = compile("c++", &scratch("cxx.cpp"), &m.text);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn abi_modules_refuse_what_only_the_compiler_knows() {
    for (cdef, wanted) in [
        (
            "#define X ...",
            "cannot use the syntax '...' in '#define X ...'",
        ),
        ("typedef int... t; t f(void);", "'typedef int... t;'"),
        ("int a[...];", "only known in API mode"),
        (
            "extern \"Python\" int cb(int);",
            "cannot use 'extern \"Python\"'",
        ),
        (
            "enum e { A, ... };",
            "its values are only known in API mode",
        ),
    ] {
        let d = declarations(cdef);
        let err = python_module(&d, &[], "m").unwrap_err();
        assert!(err.message.contains(wanted), "{cdef}: {}", err.message);
    }
}

#[test]
fn opaque_fields_are_refused() {
    let d = declarations("struct a; struct b { struct a x; };");
    let err = c_module(&d, &[], &options("op", "")).unwrap_err();
    assert!(
        err.message
            .contains("struct b: field 'b.x' is of an opaque type"),
        "{}",
        err.message
    );
}
