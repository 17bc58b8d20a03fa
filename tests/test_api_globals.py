"""API mode: global variables and constants as C defines them (macros,
thread-locals, `const` through typedefs, `[...]` in several dimensions),
`ffi.include()` between modules, checks made before compiling, and what
`lib` and its functions show."""

from __future__ import annotations

import sys
import threading

import pytest
from api_support import builder_fixture, module_name

import rcffi


@pytest.fixture
def builder(tmp_path, monkeypatch):
    yield from builder_fixture(tmp_path, monkeypatch)


def build(builder, request, cdef, source, suffix="", **kwargs):
    ffi = rcffi.FFI()
    ffi.cdef(cdef)
    ffi.set_source(module_name(request, suffix), source, **kwargs)
    return builder.load(ffi)


def test_macro_variable_is_looked_up_at_each_access(builder, request):
    mod = build(
        builder,
        request,
        "extern int values[8]; extern int current;",
        """
        int values[8];
        static int index_;
        static int *next_value(void) { return &values[index_++]; }
        #define current (*next_value())
        """,
    )
    lib, ffi = mod.lib, mod.ffi
    lib.values[0] = 10
    lib.values[1] = 11
    assert lib.current == 10
    assert lib.current == 11
    lib.current = 42  # writes values[2]
    assert lib.values[2] == 42
    assert ffi.addressof(lib, "current") == lib.values + 3


def test_macro_variable_at_null_raises(builder, request):
    mod = build(
        builder,
        request,
        "extern int v;",
        "static int *nowhere(void) { return 0; }\n#define v (*nowhere())",
    )
    for access in (lambda: mod.lib.v, lambda: setattr(mod.lib, "v", 1)):
        with pytest.raises(rcffi.FFIError, match="'v' is at address NULL"):
            access()


def test_thread_local_variable(builder, request):
    mod = build(
        builder,
        request,
        "extern int tls; int get(void);",
        "__thread int tls; int get(void) { return tls; }",
    )
    lib = mod.lib
    lib.tls = 5
    seen = []
    thread = threading.Thread(target=lambda: seen.append((lib.tls, lib.get())))
    thread.start()
    thread.join()
    assert seen == [(0, 0)] and (lib.tls, lib.get()) == (5, 5)


def test_constants_are_read_by_value(builder, request):
    mod = build(
        builder,
        request,
        """
        typedef const int const_t;
        const_t K;
        typedef struct { int x; ...; } point_t;
        const point_t ORIGIN;
        int (*const twice)(int);
        """,
        """
        typedef const int const_t;
        #define K 42
        typedef struct { int y, x; } point_t;
        #define ORIGIN ((point_t){ 1, 2 })
        static int twice(int a) { return 2 * a; }
        """,
    )
    lib, ffi = mod.lib, mod.ffi
    assert lib.K == 42
    assert lib.ORIGIN.x == 2
    with pytest.raises(AttributeError):
        lib.K = 1
    with pytest.raises(AttributeError, match="cannot take the address of the constant 'K'"):
        ffi.addressof(lib, "K")
    assert lib.twice(21) == 42
    assert ffi.addressof(lib, "twice") == lib.twice  # a constant function pointer: f == &f


def test_dots_lengths_in_several_dimensions(builder, request):
    mod = build(
        builder,
        request,
        """
        extern int a[...][...];
        extern int b[][...];
        typedef int mat_t[...][...];
        typedef int rows_t[][...];
        struct s { int m[...][...]; ...; };
        """,
        """
        int a[10][8];
        int b[3][5];
        typedef int mat_t[6][7];
        typedef int rows_t[][4];
        struct s { int x; int m[5][9]; };
        """,
    )
    lib, ffi = mod.lib, mod.ffi
    assert ffi.typeof(lib.a) is ffi.typeof("int[10][8]")
    assert ffi.typeof(lib.b) is ffi.typeof("int(*)[5]")
    lib.a[9][7] = 5
    assert lib.a[9][7] == 5
    with pytest.raises(IndexError):
        lib.a[0][8]
    assert ffi.sizeof("mat_t") == 42 * ffi.sizeof("int")
    assert ffi.typeof(ffi.new("rows_t", 2)[1]) is ffi.typeof("int[4]")
    with pytest.raises(ValueError):
        ffi.sizeof("rows_t")
    assert ffi.typeof(ffi.new("struct s *").m) is ffi.typeof("int[5][9]")


def test_cplusplus_function_pointer_globals(builder, request):
    mod = build(
        builder,
        request,
        "extern int (*hook)(int); int call_hook(int);",
        'extern "C" { int (*hook)(int); int call_hook(int x) { return hook(x); } }',
        source_extension=".cpp",
    )
    lib, ffi = mod.lib, mod.ffi
    hook = ffi.callback("int(int)", lambda x: x + 100)  # alive while C may call it
    lib.hook = hook
    assert lib.call_hook(1) == 101


def test_lib_functions_and_names(builder, request):
    name = module_name(request)
    mod = build(
        builder,
        request,
        "int add(int, int); int zero(void); extern int counter;\n#define N 3",
        "int add(int a, int b) { return a + b; } int zero(void) { return 0; } int counter;"
        "\n#define N 3",
    )
    lib = mod.lib
    assert lib.__all__ == ["N", "add", "zero"]  # as in cffi: no global variables
    assert lib.__class__ is type(sys)
    assert lib.add.__module__ == name
    assert lib.add.__doc__ == f"int add(int, int);\n\nCFFI C function from {name}.lib"
    assert lib.zero.__doc__.startswith("int zero();")
    with pytest.raises(TypeError, match=r"^zero\(\) takes no arguments \(1 given\)$"):
        lib.zero(1)
    with pytest.raises(TypeError, match=r"^add\(\) takes exactly 2 arguments \(1 given\)$"):
        lib.add(1)


def test_lib_reaches_the_modules_it_includes(builder, request):
    base = rcffi.FFI()
    base.cdef("int base_f(int); typedef struct { int x; } thing_t;")
    base.set_source(
        module_name(request, "_base"),
        "int base_f(int x) { return x + 10; } typedef struct { int x; } thing_t;",
    )
    base_mod = builder.load(base)
    ffi = rcffi.FFI()
    ffi.include(base)
    ffi.cdef("int top_f(int);")
    ffi.set_source(module_name(request), "int top_f(int x) { return x - 1; }")
    mod = builder.load(ffi)
    assert mod.lib.top_f(5) == 4
    assert mod.lib.base_f(5) == 15
    assert mod.lib.base_f is base_mod.lib.base_f


def test_completing_a_struct_an_included_ffi_left_opaque():
    base = rcffi.FFI()
    base.cdef("struct s;")
    ffi = rcffi.FFI()
    ffi.include(base)
    with pytest.raises(NotImplementedError, match="'struct s' is opaque in the ffi.include()"):
        ffi.cdef("struct s { int x; };")
    assert base.typeof("struct s").fields is None  # the included FFI is untouched


@pytest.mark.parametrize(
    ("cdef", "message"),
    [
        ("struct a { struct b b; };", "struct a: field 'a.b' is of an opaque type"),
        ("struct c; struct a { struct c c; };", "struct a: field 'a.c' is of an opaque type"),
        ("struct a f(int);", "function f: 'struct a' is used as result type, but is opaque"),
        ("typedef ... t; int g(t);", "function g: 't' is used as argument type, but is opaque"),
    ],
)
def test_opaque_types_by_value_are_refused_before_compiling(tmp_path, cdef, message):
    ffi = rcffi.FFI()
    ffi.cdef(cdef)
    ffi.set_source("_opaque_by_value", "this is not C")
    with pytest.raises(TypeError, match=message):
        ffi.compile(tmpdir=str(tmp_path))


def test_opaque_globals(builder, request):
    mod = build(
        builder,
        request,
        "typedef ... opaque_t; extern opaque_t gvar; const opaque_t K;",
        'typedef char opaque_t[6]; opaque_t gvar = "hello"; const opaque_t K = "abc";',
    )
    lib, ffi = mod.lib, mod.ffi
    with pytest.raises(TypeError, match="^cdata 'opaque_t' is opaque$"):
        _ = lib.gvar
    with pytest.raises(TypeError, match="^'opaque_t' is opaque$"):
        lib.gvar = 0
    assert ffi.string(ffi.cast("char *", ffi.addressof(lib, "gvar"))) == b"hello"
    with pytest.raises(ffi.error, match="constant 'K' is of type 'opaque_t', whose size"):
        _ = lib.K


def test_enumerators_of_partial_enums_must_be_unique(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef("enum e1 { A, ... }; enum e2 { A, ... };")
    ffi.set_source("_dup_enum", "enum e1 { A }; enum e2 { B };")
    with pytest.raises(rcffi.VerificationError, match="duplicate declaration of constant 'A'"):
        ffi.compile(tmpdir=str(tmp_path))


def test_partial_enum_cast_before_completion():
    ffi = rcffi.FFI()
    ffi.cdef("enum e { X, Y, ... };")
    with pytest.raises(rcffi.VerificationMissing):
        ffi.cast("enum e", 1)


def test_sources_with_dotdot_through_missing_folders(builder, request, tmp_path):
    (tmp_path / "extra.c").write_text("int extra_value = 7;\n")
    mod = build(
        builder,
        request,
        "extern int extra_value;",
        "extern int extra_value;",
        sources=[str(tmp_path / "no_such_dir" / ".." / "extra.c")],
    )
    assert mod.lib.extra_value == 7


def test_def_extern_checks_names(builder, request):
    mod = build(builder, request, 'extern "Python" int cb(int);', "")
    with pytest.raises(TypeError):
        mod.ffi.def_extern(42)(lambda x: x)
    with pytest.raises(rcffi.FFIError, match="no 'extern \"Python\"' function"):
        mod.ffi.def_extern("other")(lambda x: x)

    class NoName:
        __name__ = 5

        def __call__(self, x):
            return x

    with pytest.raises(TypeError):
        mod.ffi.def_extern()(NoName())


def test_anonymous_members_of_structs_laid_out_by_the_compiler(builder, request):
    mod = build(
        builder,
        request,
        """
        struct s { union { char c, d; }; struct { int a; char b; }; ...; };
        struct t { struct { char x; ...; }; int y; };
        """,
        """
        struct s { int a, padding; char c, d, b; };
        struct t { long pad; char x; int y; };
        """,
    )
    ffi = mod.ffi
    assert ffi.sizeof("struct s") == 3 * ffi.sizeof("int")
    assert [ffi.offsetof("struct s", n) for n in "abcd"] == [0, 10, 8, 9]
    p = ffi.new("struct s *", {"a": 5, "b": b"B", "d": b"D"})
    assert (p.a, p.b, p.c, p.d) == (5, b"B", b"\0", b"D")
    assert ffi.offsetof("struct t", "x") == ffi.sizeof("long")
    assert ffi.offsetof("struct t", "y") == ffi.sizeof("long") + 4


def test_function_using_a_typedef_the_compiler_could_not_complete(builder, request):
    mod = build(
        builder,
        request,
        "typedef double... real_t; real_t neg(real_t); int ok(int);",
        "typedef long double real_t; real_t neg(real_t x) { return -x; }"
        " int ok(int x) { return x; }",
    )
    if mod.ffi.sizeof("long double") == mod.ffi.sizeof("double"):
        pytest.skip("long double is double here")
    with pytest.raises(mod.ffi.error, match="^primitive floating-point type is 'long double'"):
        _ = mod.lib.neg
    assert mod.lib.ok(3) == 3
