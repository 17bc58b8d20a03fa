//! Unit tests of the parser for tricky cases (the broad coverage is in the
//! golden files under `tests/parse_golden/`).

use std::collections::HashSet;

use super::ast::*;
use super::dump::{dump, dump_type};
use super::typedefs::Predefined;
use super::*;

/// The dump of `src` without the spans.
fn ok(src: &str) -> String {
    match parse_cdef(src, &Predefined) {
        Ok(p) => dump(&p.decls)
            .lines()
            .map(|l| l.rsplit_once(" @").map_or(l, |x| x.0))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => panic!("{}", render_error(src, &e)),
    }
}

fn err(src: &str) -> ParseError {
    match parse_cdef(src, &Predefined) {
        Ok(p) => panic!("parsed: {}", dump(&p.decls)),
        Err(e) => e,
    }
}

fn ty(src: &str) -> String {
    match parse_type_name(src, &Predefined) {
        Ok(t) => dump_type(&t),
        Err(e) => panic!("{}", render_error(src, &e)),
    }
}

fn ty_err(src: &str) -> String {
    match parse_type_name(src, &Predefined) {
        Ok(t) => panic!("parsed: {}", dump_type(&t)),
        Err(e) => e.message,
    }
}

/// The source text under a span.
fn at(src: &str, s: Span) -> &str {
    &src[s.start as usize..s.end as usize]
}

#[test]
fn declarator_semantics() {
    assert_eq!(ok("int *x[3];"), "variable x: (array (ptr int) 3)");
    assert_eq!(ok("int (*x)[3];"), "variable x: (ptr (array int 3))");
    assert_eq!(ok("int (*f)(long);"), "variable f: (ptr (fn int (long)))");
    assert_eq!(ok("int f(long);"), "function f: (fn int (long))");
    assert_eq!(
        ok("int (*f(int))(long);"),
        "function f: (fn (ptr (fn int (long))) (int))"
    );
    assert_eq!(ok("int x[2][3];"), "variable x: (array (array int 3) 2)");
    assert_eq!(
        ok("char * const * p;"),
        "variable p: (ptr (ptr<const> char))"
    );
    assert_eq!(
        ok("void (*signal(int, void (*)(int)))(int);"),
        "function signal: (fn (ptr (fn void (int))) (int, (ptr (fn void (int)))))"
    );
    assert_eq!(ok("int ((x));"), "variable x: int");
    assert_eq!(
        ok("int f(int)(long);"),
        "function f: (fn (fn int (long)) (int))"
    );
}

#[test]
fn typedef_names_in_parameters() {
    // `(t)` in a parameter is a function type when t is a typedef name.
    assert_eq!(
        ok("typedef int t; void f(int (t));"),
        "typedef t: int\nfunction f: (fn void ((fn int (t))))"
    );
    assert_eq!(
        ok("typedef int t; void f(t t);"),
        "typedef t: int\nfunction f: (fn void (t: t))"
    );
    assert_eq!(ok("void f(int (x));"), "function f: (fn void (x: int))");
    // Typedef names declared in the same source are usable right away,
    // including later declarators of the same declaration? No: after it.
    assert_eq!(
        ok("typedef struct s s_t; s_t *make(void);"),
        "typedef s_t: struct s\nfunction make: (fn (ptr s_t) ())"
    );
}

#[test]
fn outer_typedef_table() {
    let mut names = HashSet::new();
    names.insert("handle_t".to_owned());
    let p = parse_cdef("handle_t open_it(const char *);", &names).unwrap();
    assert_eq!(
        dump(&p.decls).split(" @").next().unwrap(),
        "function open_it: (fn handle_t ((ptr const char)))"
    );
    // The predefined names are known through any table.
    assert!(parse_cdef("size_t n;", &names).is_ok());
    assert!(parse_cdef("handle_t h;", &Predefined).is_err());
}

#[test]
fn calling_conventions() {
    let f = "function f: (fn stdcall int (int))";
    assert_eq!(ok("int __stdcall f(int);"), f);
    assert_eq!(ok("__stdcall int f(int);"), f);
    assert_eq!(ok("int WINAPI f(int);"), f);
    assert_eq!(
        ok("int __cdecl f(int);"),
        "function f: (fn cdecl int (int))"
    );
    let p = "variable p: (ptr (fn stdcall int (int)))";
    assert_eq!(ok("int (__stdcall *p)(int);"), p);
    assert_eq!(ok("int (* __stdcall p)(int);"), p);
    assert_eq!(ok("int __stdcall (*p)(int);"), p);
    assert_eq!(
        ok("int * __stdcall f(int);"),
        "function f: (fn stdcall (ptr int) (int))"
    );
    // The convention belongs to the function the pointer points to.
    assert_eq!(
        ok("int (__stdcall *f(int))(long);"),
        "function f: (fn (ptr (fn stdcall int (long))) (int))"
    );
    assert_eq!(
        ok("void f(int (__cdecl *cb)(int));"),
        "function f: (fn void (cb: (ptr (fn cdecl int (int)))))"
    );
    assert_eq!(ty("int(__stdcall *)(int)"), "(ptr (fn stdcall int (int)))");
    assert_eq!(ty("int (__stdcall)(int)"), "(fn stdcall int (int))");
    // On a non-function it is meaningless and ignored (as cffi does).
    assert_eq!(ok("__stdcall int x;"), "variable x: int");
}

#[test]
fn struct_bodies_are_not_duplicated() {
    let src = "typedef struct { int a; } t1, *t2;";
    let p = parse_cdef(src, &Predefined).unwrap();
    let [
        Decl::Typedef { ty: first, .. },
        Decl::Typedef {
            ty: TypeExpr::Pointer { pointee, .. },
            ..
        },
    ] = p.decls.as_slice()
    else {
        panic!("{:?}", p.decls)
    };
    let TypeExpr::Base {
        base: BaseType::Struct(d1),
        ..
    } = first
    else {
        panic!()
    };
    let TypeExpr::Base {
        base: BaseType::Struct(d2),
        ..
    } = &**pointee
    else {
        panic!()
    };
    assert!(d1.body.is_some() && d2.body.is_none());
    assert_eq!(d1.span, d2.span);
    assert_eq!(at(src, d1.span), "struct { int a; }");
    assert_eq!(
        ok("struct s { int a; } v;"),
        "variable v: struct s {a: int}"
    );
    assert_eq!(
        ok("struct s { int a; } typedef t;"),
        "typedef t: struct s {a: int}"
    );
}

#[test]
fn spans() {
    let src = "static const int (*x)[3];";
    let p = parse_cdef(src, &Predefined).unwrap();
    let Decl::Variable { ty, span, .. } = &p.decls[0] else {
        panic!()
    };
    assert_eq!(at(src, *span), "static const int (*x)[3]");
    let TypeExpr::Pointer { pointee, span, .. } = ty else {
        panic!()
    };
    assert_eq!(at(src, *span), "const int (*x)[3]");
    let TypeExpr::Array { item, len, span } = &**pointee else {
        panic!()
    };
    assert_eq!(at(src, *span), "const int (*x)[3]");
    let ArrayLen::Expr(e) = len else { panic!() };
    assert_eq!(at(src, e.span), "3");
    assert_eq!(at(src, item.span()), "const int");

    let src = "struct s { int a: 3, *b; } v; enum e { A = (1 + 2) * 3, B };";
    let p = parse_cdef(src, &Predefined).unwrap();
    let Decl::Variable { ty, .. } = &p.decls[0] else {
        panic!()
    };
    let TypeExpr::Base {
        base: BaseType::Struct(def),
        ..
    } = ty
    else {
        panic!()
    };
    let fields = &def.body.as_ref().unwrap().fields;
    assert_eq!(at(src, fields[0].span), "int a: 3");
    assert_eq!(at(src, fields[1].span), "int a: 3, *b");
    assert_eq!(at(src, fields[1].ty.span()), "int a: 3, *");
    let Decl::Tag { ty, span } = &p.decls[1] else {
        panic!()
    };
    assert_eq!(at(src, *span), "enum e { A = (1 + 2) * 3, B }");
    let TypeExpr::Base {
        base: BaseType::Enum(def),
        ..
    } = ty
    else {
        panic!()
    };
    let items = &def.body.as_ref().unwrap().items;
    assert_eq!(at(src, items[0].span), "A = (1 + 2) * 3");
    let Some(Expr {
        kind: ExprKind::Binary(BinaryOp::Mul, lhs, _),
        span,
    }) = &items[0].value
    else {
        panic!()
    };
    assert_eq!(at(src, *span), "(1 + 2) * 3");
    assert_eq!(at(src, lhs.span), "(1 + 2)");

    let src = "int f(int a, char *b);";
    let p = parse_cdef(src, &Predefined).unwrap();
    let Decl::Function {
        ty: TypeExpr::Function { params, span, .. },
        ..
    } = &p.decls[0]
    else {
        panic!()
    };
    assert_eq!(at(src, *span), "int f(int a, char *b)");
    assert_eq!(at(src, params[1].span), "char *b");

    let src = "#define FOO 0x10 /* c */\n";
    let p = parse_cdef(src, &Predefined).unwrap();
    assert_eq!(at(src, p.decls[0].span()), "#define FOO 0x10");
}

#[test]
fn error_spans_point_at_the_token() {
    let src = "int a;\nint x y;";
    let e = err(src);
    assert_eq!(e.message, "expected ';' after declaration, found 'y'");
    assert_eq!(at(src, e.span), "y");
    let src = "struct s { int a;\n";
    let e = err(src);
    assert_eq!(e.message, "unexpected end of input in struct body");
    assert_eq!(e.span.start as usize, src.len() - 1);
    let src = "int f(int, foo);";
    let e = err(src);
    assert_eq!(e.message, "unknown type name 'foo'");
    assert_eq!(at(src, e.span), "foo");
}

#[test]
fn line_markers() {
    let src = "int a;\n#line 10 \"x.h\"\nint b c;\n";
    let e = err(src);
    let text = render_error(src, &e);
    assert!(text.contains("x.h:10:7:"), "{text}");
    let src = "# 1 \"<stdin>\"\n# 1 \"foo.h\" 1 3 4\nint a;\n#line 20\nint b c;\n";
    let p = line_map(src);
    let pos = p.position(src.find(" c;").unwrap() as u32 + 1);
    assert_eq!((pos.file.as_deref(), pos.line), (Some("foo.h"), 20));
    let ok = parse_cdef("#line 5 \"a.h\"\nint x;", &Predefined).unwrap();
    assert_eq!(ok.lines.position(20).file.as_deref(), Some("a.h"));
    assert_eq!(ok.lines.position(20).line, 5);
    assert!(parse_cdef("#line x\n", &Predefined).is_err());
    assert!(parse_cdef("#line 5 \"a.h\" junk\n", &Predefined).is_err());
}

#[test]
fn defines() {
    assert_eq!(
        ok("#define A 42\n#define B -0x10\n#define C 010UL\n#define D ...\n#  define E 1ll"),
        "define A = 42 (42)\ndefine B = -0x10 (-16)\ndefine C = 010UL (8)\ndefine D = ...\ndefine E = 1ll (1)"
    );
    assert_eq!(
        ok("#define A \\\n   5 // five\nint x;"),
        "define A = 5 (5)\nvariable x: int"
    );
    // A directive inside a declaration is emitted after it.
    assert_eq!(
        ok("int\n#define A 1\nx;"),
        "variable x: int\ndefine A = 1 (1)"
    );
    for bad in [
        "#define A 1.5",
        "#define A - 1",
        "#define A 1+1",
        "#define A",
        "#define A(x) x",
        "#define A 'a'",
        "#define",
        "#define 5 5",
        "#include <x.h>",
        "#ifdef X",
        "#",
        "int x; #define A 1",
    ] {
        assert!(parse_cdef(bad, &Predefined).is_err(), "{bad}");
    }
    assert!(err("#if X\n").message.contains("'#if'"));
    assert_eq!(
        ok("#pragma pack(push, 1) 'unterminated\nint x;"),
        "variable x: int"
    );
}

#[test]
fn enums() {
    assert_eq!(
        ok("enum e { A = 1, B = ..., C };"),
        "tag enum e {A = 1, B, C, ...}"
    );
    assert_eq!(ok("enum e { A, ... };"), "tag enum e {A, ...}");
    assert_eq!(ok("enum e { ... };"), "tag enum e {...}");
    assert_eq!(ok("enum e { A, };"), "tag enum e {A}");
    assert_eq!(ok("enum { A } x;"), "variable x: enum <anon> {A}");
    assert_eq!(
        ok("enum e { A = '\\n', B = ~0, C = !1, D = -1 };"),
        "tag enum e {A = 10, B = (~ 0), C = (! 1), D = (- 1)}"
    );
    assert!(parse_cdef("enum e { A B };", &Predefined).is_err());
    assert!(parse_cdef("enum e { A, ... , B };", &Predefined).is_err());
    assert!(parse_cdef("enum e { };", &Predefined).is_err());
}

#[test]
fn expressions() {
    let e = |s: &str| ok(&format!("int x[{s}];"));
    assert_eq!(e("1 + 2 * 3"), "variable x: (array int (+ 1 (* 2 3)))");
    assert_eq!(e("1 - 2 - 3"), "variable x: (array int (- (- 1 2) 3))");
    assert_eq!(
        e("1 << 2 + 3 | 4 & 5 ^ 6"),
        "variable x: (array int (| (<< 1 (+ 2 3)) (^ (& 4 5) 6)))"
    );
    assert_eq!(
        e("a || b && c == d < e"),
        "variable x: (array int (|| a (&& b (== c (< d e)))))"
    );
    assert_eq!(
        e("a ? b : c ? d : e"),
        "variable x: (array int (? a b (? c d e)))"
    );
    assert_eq!(
        e("sizeof(int *) + sizeof x + sizeof(x)"),
        "variable x: (array int (+ (+ (sizeof (ptr int)) (sizeof-expr x)) (sizeof-expr x)))"
    );
    assert_eq!(
        e("(unsigned char)-1 + _Alignof(struct s) + __alignof__(long)"),
        "variable x: (array int (+ (+ (cast unsigned char (- 1)) (alignof struct s)) (alignof long)))"
    );
    assert_eq!(e("(size_t)4"), "variable x: (array int (cast size_t 4))");
    assert_eq!(e("(4)"), "variable x: (array int 4)");
    assert_eq!(
        ok("static const double K = 1.5e3;"),
        "variable K: const double [static] = 1500.0"
    );
    assert_eq!(
        ok("static const char *K = \"a\" \"b\";"),
        "variable K: (ptr const char) [static]"
    );
    assert!(parse_cdef("int x[1 +];", &Predefined).is_err());
    assert!(parse_cdef("int x[(1];", &Predefined).is_err());
    assert!(parse_cdef("int x[\"s\"];", &Predefined).is_err());
    assert!(parse_cdef("int x[alignof 1];", &Predefined).is_err());
}

#[test]
fn primitive_normalisation() {
    for (src, want) in [
        ("long unsigned int", "unsigned long"),
        ("int long unsigned", "unsigned long"),
        ("signed", "int"),
        ("unsigned", "unsigned int"),
        ("short int", "short"),
        ("signed short", "short"),
        ("unsigned short int", "unsigned short"),
        ("long long int", "long long"),
        ("long int long", "long long"),
        ("unsigned long long", "unsigned long long"),
        ("signed char", "signed char"),
        ("char unsigned", "unsigned char"),
        ("long double", "long double"),
        ("double long", "long double"),
        ("_Complex float", "float _Complex"),
        ("double _Complex", "double _Complex"),
        ("_Bool", "_Bool"),
        ("bool", "bool"),
        ("void", "void"),
        ("int const", "const int"),
        ("volatile unsigned const", "const volatile unsigned int"),
    ] {
        assert_eq!(ty(src), want, "{src}");
    }
    for bad in [
        "long char",
        "short double",
        "unsigned float",
        "long long long",
        "signed unsigned",
        "int int",
        "short long",
        "long float",
        "void int",
        "long double _Complex",
        "_Complex",
        "char char",
        "signed signed",
        "_Bool int",
        "size_t int",
        "struct s int",
    ] {
        assert!(parse_type_name(bad, &Predefined).is_err(), "{bad}");
    }
}

#[test]
fn type_names() {
    for (src, want) in [
        ("int", "int"),
        ("int *", "(ptr int)"),
        ("int[5]", "(array int 5)"),
        ("int[]", "(array int [])"),
        ("int(*)[5]", "(ptr (array int 5))"),
        ("int *[5]", "(array (ptr int) 5)"),
        ("void(*)(int, ...)", "(ptr (fn void (int, ...)))"),
        ("int(int)", "(fn int (int))"),
        ("int(void)", "(fn int ())"),
        ("int()", "(fn int ())"),
        ("struct foo *", "(ptr struct foo)"),
        ("union u", "union u"),
        ("enum e", "enum e"),
        ("const char *", "(ptr const char)"),
        ("char * const *", "(ptr (ptr<const> char))"),
        ("int * restrict", "(ptr<restrict> int)"),
        ("int * __restrict__", "(ptr<restrict> int)"),
        (
            "int (*(*)(int))(long)",
            "(ptr (fn (ptr (fn int (long))) (int)))",
        ),
        ("int (*[3])(int)", "(array (ptr (fn int (int))) 3)"),
        ("int((*))(int)", "(ptr (fn int (int)))"),
        ("int(((*)))", "(ptr int)"),
        ("int x", "int"),
        ("int *p", "(ptr int)"),
        ("struct foo bar", "struct foo"),
        ("uint32_t", "uint32_t"),
        ("int[...]", "(array int ...)"),
        ("  int  ", "int"),
        ("int[2+3]", "(array int (+ 2 3))"),
        (
            "void (*)(const void *)",
            "(ptr (fn void ((ptr const void))))",
        ),
    ] {
        assert_eq!(ty(src), want, "{src}");
    }
    assert_eq!(ty_err("int 5"), "unexpected '5' after the type");
    assert_eq!(ty_err("int;"), "unexpected ';' after the type");
    assert_eq!(ty_err(""), "expected a type name, found end of input");
    assert_eq!(ty_err("foo"), "unknown type name 'foo'");
    assert_eq!(
        ty_err("struct"),
        "expected a name or '{' after 'struct', found end of input"
    );
    assert!(ty_err("...").contains("'...'"));
    assert!(ty_err("int(...)").contains("(...)"));
    assert!(ty_err("static int").contains("storage class"));
    assert!(ty_err("#define X 1").contains("'#'"));
}

#[test]
fn dots_types() {
    assert_eq!(
        ok(
            "typedef ... a; typedef int... b; typedef unsigned long... c; typedef double... d; typedef ... *e;"
        ),
        "typedef a: ...\ntypedef b: int...\ntypedef c: int...\ntypedef d: float...\ntypedef e: (ptr ...)"
    );
    assert!(parse_cdef("... x;", &Predefined).is_err());
    assert!(parse_cdef("struct s { ... x; };", &Predefined).is_err());
    assert!(parse_cdef("typedef long double... t;", &Predefined).is_err());
    assert!(parse_cdef("typedef int f(...);", &Predefined).is_err());
    assert_eq!(
        ok("struct s { int a[...]; ...; };"),
        "tag struct s {a: (array int ...); ...}"
    );
}

#[test]
fn extern_python() {
    assert_eq!(
        ok("extern \"Python\" { int f(int); typedef int t; t g(void); }"),
        "function f: (fn int (int)) extern\"Python\"\ntypedef t: int\nfunction g: (fn t ()) extern\"Python\""
    );
    assert_eq!(
        ok("static extern \"C + Python\" int f(int);"),
        "function f: (fn int (int)) [static] extern\"Python+C\""
    );
    assert!(parse_cdef("extern \"Python\" { int x; }", &Predefined).is_err());
    assert!(parse_cdef("extern \"Python\" { extern \"Python\" { } }", &Predefined).is_err());
    assert!(parse_cdef("extern \"Python\" { int f(int);", &Predefined).is_err());
    assert!(parse_cdef("extern \"C\" { int f(int); }", &Predefined).is_err());
}

#[test]
fn attributes_and_extensions_are_skipped() {
    assert_eq!(
        ok(
            "__extension__ typedef struct __attribute__((packed)) s { int a __attribute__((aligned(8))); } __attribute__((x)) t;\n\
            int f(void) __attribute__((nothrow)); int * __attribute__((x)) p;"
        ),
        "typedef t: struct s {a: int}\nfunction f: (fn int ())\nvariable p: (ptr int)"
    );
    assert!(parse_cdef("int x __attribute__((;", &Predefined).is_err());
    assert!(parse_cdef("int x __attribute__ y;", &Predefined).is_err());
}

#[test]
fn misc_declarations() {
    assert_eq!(ok(";;int x;;"), "variable x: int");
    assert_eq!(ok("struct s;"), "tag struct s");
    assert_eq!(ok("union u;"), "tag union u");
    assert_eq!(ok("enum e;"), "tag enum e");
    assert_eq!(ok("struct s *p;"), "variable p: (ptr struct s)");
    assert_eq!(ok("typedef struct s;"), "tag struct s");
    assert_eq!(
        ok("int f(static int a, register int b);"),
        "function f: (fn int (a: int, b: int))"
    );
    assert_eq!(
        ok("int f(int a[static 3]);"),
        "function f: (fn int (a: (array int 3)))"
    );
    assert_eq!(ok("int f(void, int);"), "function f: (fn int (void, int))");
    assert_eq!(ok("int f(const void);"), "function f: (fn int ())");
    assert_eq!(ok("int a[] = {1, {2}};"), "variable a: (array int [])");
    assert_eq!(
        ok("static void *p = &x, *q = (void *)&y[2], *r = \"s\" + 1;"),
        "variable p: (ptr void) [static]\nvariable q: (ptr void) [static]\nvariable r: (ptr void) [static]"
    );
    assert!(parse_cdef("int x = 1 +;", &Predefined).is_err());
    assert!(parse_cdef("int x = 5 6;", &Predefined).is_err());
    assert!(parse_cdef("int x = ;", &Predefined).is_err());
    assert!(parse_cdef("int x = {1, 2;", &Predefined).is_err());
    assert!(parse_cdef("int x = &(1;", &Predefined).is_err());
    assert_eq!(
        ok("struct s { int a;; struct t; };"),
        "tag struct s {a: int; struct t}"
    );
    assert_eq!(
        ok("static inline int f(void); extern int v;"),
        "function f: (fn int ()) [static inline]\nvariable v: int [extern]"
    );
    assert!(parse_cdef("int f(int x) { return x; }", &Predefined).is_err());
    assert!(parse_cdef("struct s { static int a; };", &Predefined).is_err());
    assert!(parse_cdef("struct s { int; };", &Predefined).is_err());
    assert!(parse_cdef("typedef int t = 5;", &Predefined).is_err());
    assert!(parse_cdef("int f(int) = 5;", &Predefined).is_err());
    assert!(parse_cdef("int x, y", &Predefined).is_err());
    assert!(parse_cdef("struct { int a; }", &Predefined).is_err());
}

/// Runs `f` on a thread with a small stack: deep inputs must fail with an
/// error, not overflow it.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    on_small_stack(|| {
        let n = 100_000;
        let cases = [
            format!("int {}x{};", "(".repeat(n), ")".repeat(n)),
            format!("int {}x;", "*".repeat(n)),
            format!("int x{};", "[1]".repeat(n)),
            format!("int x[{}1];", "-".repeat(n)),
            format!("int x[{}1{}];", "(".repeat(n), ")".repeat(n)),
            format!("int x[1{}];", "+1".repeat(n)),
            format!("int x[{}1];", "1?".repeat(n) + &"1:".repeat(n)),
            format!("int x[{}int{}1];", "sizeof(".repeat(n), ")".repeat(n)),
            format!("int x[{}1];", "(int)".repeat(n)),
            format!("{}int x;{}", "struct { ".repeat(n), "} a;".repeat(n)),
            format!("void f{}", "(void (*)".repeat(n)),
            format!("enum {{ A = {}1 }};", "!".repeat(n)),
            format!("int f({});", "int (*)(".repeat(n)),
            format!("int (*x){};", "(int)".repeat(n)),
        ];
        for src in &cases {
            let r = parse_cdef(src, &Predefined);
            assert!(r.is_err(), "{}", &src[..40]);
        }
        assert!(parse_type_name(&format!("int{}", "*".repeat(n)), &Predefined).is_err());
        assert!(parse_type_name(&format!("int{}", "[1]".repeat(n)), &Predefined).is_err());
    });
}

#[test]
fn moderate_nesting_is_fine() {
    on_small_stack(|| {
        let n = 90;
        let src = format!("int {}x{};", "(*".repeat(n), ")".repeat(n));
        assert!(parse_cdef(&src, &Predefined).is_ok());
        let src = format!("int x[{}1{}];", "(".repeat(n), ")".repeat(n));
        assert!(parse_cdef(&src, &Predefined).is_ok());
        let src = format!("{}int x;{}", "struct { ".repeat(n), "} a;".repeat(n));
        assert!(parse_cdef(&src, &Predefined).is_ok());
    });
}

#[test]
fn non_ascii_input() {
    assert!(parse_cdef("/* é */ int x; // ü\n", &Predefined).is_ok());
    assert_eq!(ok("int x['é'];"), "variable x: (array int 233)");
    for src in [
        "int é;",
        "int x = \"é",
        "#define X é",
        "#define X \"é\"",
        "int x é",
        "struct é",
        "int f(int, é);",
        "#line 1 \"é.h\"\nint é;",
        "int x[1é];",
        "'\\é'",
        "é",
    ] {
        let e = err(src);
        let _ = render_error(src, &e);
        assert!(src.is_char_boundary(e.span.start as usize), "{src}");
        assert!(src.is_char_boundary(e.span.end as usize), "{src}");
    }
}

#[test]
fn huge_numbers() {
    assert!(
        parse_cdef(
            "int x[340282366920938463463374607431768211456];",
            &Predefined
        )
        .is_err()
    );
    assert!(parse_cdef("#define X 0x1ffffffffffffffffffffffffffffffff", &Predefined).is_err());
    assert!(parse_cdef("#line 99999999999\n", &Predefined).is_err());
    assert_eq!(
        ok("#define X 0xffffffffffffffff"),
        "define X = 0xffffffffffffffff (18446744073709551615)"
    );
    assert!(parse_cdef("enum { A = 1e999 };", &Predefined).is_err());
}
