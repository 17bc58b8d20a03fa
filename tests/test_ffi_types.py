"""The type-level surface of ``rcffi.FFI``: cdef, typeof, sizeof, alignof,
offsetof, getctype, list_types, integer_const, CType and CField objects,
and the errors of malformed declarations."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

import rcffi
from rcffi import CDefError, FFIError

IMG_H = (
    Path(__file__).resolve().parent.parent / "examples" / "mandelbrot" / "create_fractal.h"
).read_text()


@pytest.fixture
def ffi() -> rcffi.FFI:
    return rcffi.FFI()


def test_seed_header(ffi):
    ffi.cdef(IMG_H)
    img = ffi.typeof("Img")
    assert img.kind == "struct"
    assert img.cname == "struct _Img"
    assert ffi.sizeof("Img") == ctypes.sizeof(ctypes.c_int) * 2 + ctypes.sizeof(ctypes.c_void_p)
    assert ffi.offsetof("Img", "data") == 8
    assert [name for name, _ in img.fields] == ["width", "height", "data"]
    field = dict(img.fields)["data"]
    assert field.type is ffi.typeof("unsigned char *")
    assert (field.offset, field.bitshift, field.bitsize, field.flags) == (8, -1, -1, 0)
    assert ffi.typeof("Img[1]").length == 1
    assert ffi.typeof("Img[1]").item is img


def test_types_are_interned(ffi):
    assert ffi.typeof("int *") is ffi.typeof("int*")
    assert ffi.typeof("int(*)[5]").item is ffi.typeof("int[5]")
    assert ffi.typeof("const char *") is ffi.typeof("char *")
    other = rcffi.FFI()
    assert other.typeof("long long") is ffi.typeof("long long int")


@pytest.mark.parametrize(
    "text,cname,kind",
    [
        ("int(*)[5]", "int(*)[5]", "pointer"),
        ("int *[5]", "int *[5]", "array"),
        ("void(*)(int, ...)", "void(*)(int, ...)", "function"),
        ("long(*)(long, long**, ...)", "long(*)(long, long * *, ...)", "function"),
        ("unsigned", "unsigned int", "primitive"),
        ("long unsigned int", "unsigned long", "primitive"),
        ("signed char", "signed char", "primitive"),
        ("_Bool", "_Bool", "primitive"),
        ("bool", "_Bool", "primitive"),
        ("uint32_t", "uint32_t", "primitive"),
        ("size_t *", "size_t *", "pointer"),
        ("double _Complex", "_cffi_double_complex_t", "primitive"),
        ("FILE *", "FILE *", "pointer"),
        ("int[]", "int[]", "array"),
        ("char * const *", "char * *", "pointer"),
        ("void *", "void *", "pointer"),
    ],
)
def test_type_strings(ffi, text, cname, kind):
    t = ffi.typeof(text)
    assert t.cname == cname
    assert t.kind == kind


def test_function_type_attributes(ffi):
    f = ffi.typeof("int(*)(long, char *, ...)")
    assert f.args == (ffi.typeof("long"), ffi.typeof("char *"))
    assert f.result is ffi.typeof("int")
    assert f.ellipsis is True
    assert f.abi == rcffi._cffi_backend.FFI_DEFAULT_ABI
    assert dir(f) == ["abi", "args", "cname", "ellipsis", "kind", "result"]
    with pytest.raises(CDefError, match="function type, not a pointer-to-function"):
        ffi.typeof("int(int)")


def test_enums(ffi):
    ffi.cdef("enum e { A, B = 1 << 4, C, D = 'a', E = sizeof(int) * 2, F = -1 };")
    t = ffi.typeof("enum e")
    assert t.kind == "enum"
    assert t.relements == {"A": 0, "B": 16, "C": 17, "D": 97, "E": 8, "F": -1}
    assert t.elements[16] == "B"
    assert ffi.integer_const("C") == 17
    assert ffi.sizeof("enum e") == 4
    ffi.cdef("enum big { BIG = 0xffffffff };")
    assert ffi.sizeof("enum big") == 4
    ffi.cdef("enum huge { HUGE = 0x1ffffffff };")
    assert ffi.sizeof("enum huge") == 8


def test_constants_and_defines(ffi):
    ffi.cdef("#define FOO 0x10\n#define BAR -3\n#define ZAP 010\nstatic const int K = FOO * 2;\n")
    assert ffi.integer_const("FOO") == 16
    assert ffi.integer_const("BAR") == -3
    assert ffi.integer_const("ZAP") == 8
    assert ffi.integer_const("K") == 32


def test_array_lengths_are_evaluated(ffi):
    ffi.cdef("enum { N = 4 }; struct s { int a[N * 2]; char b[sizeof(long) + 1]; };")
    assert ffi.sizeof("struct s") == ffi.sizeof("int") * 8 + 12


def test_offsetof_nested_and_indexes(ffi):
    ffi.cdef("struct in { char c; short s[4]; }; struct out { int a; struct in b[3]; };")
    assert ffi.offsetof("struct out", "b") == 4
    assert ffi.offsetof("struct out", "b", 2) == 4 + 2 * 10
    assert ffi.offsetof("struct out", "b", 2, "s", 3) == 4 + 20 + 2 + 6


def test_anonymous_members_are_flattened(ffi):
    ffi.cdef("struct s { char c; union { int i; float f; }; struct { short x, y; }; };")
    names = [n for n, _ in ffi.typeof("struct s").fields]
    assert names == ["c", "i", "f", "x", "y"]
    assert ffi.offsetof("struct s", "f") == 4
    assert ffi.offsetof("struct s", "y") == 10


def test_getctype(ffi):
    assert ffi.getctype("int") == "int"
    assert ffi.getctype("int", "x") == "int x"
    assert ffi.getctype("int", "*") == "int *"
    assert ffi.getctype("int[5]", "*p") == "int(*p)[5]"
    assert ffi.getctype("int(*)(long)", "fn") == "int(* fn)(long)"
    assert ffi.getctype("int(*)(long)", "*fn") == "int(* *fn)(long)"
    assert ffi.getctype(ffi.typeof("char *"), "[3]") == "char *[3]"


def test_list_types(ffi):
    ffi.cdef("typedef int t1; struct s1 { int x; }; union u1 { int y; }; typedef struct s1 t2;")
    assert ffi.list_types() == (["t1", "t2"], ["s1"], ["u1"])


def test_self_referencing_and_forward_structs(ffi):
    ffi.cdef("struct node; typedef struct node node_t; struct node { node_t *next; int v; };")
    assert ffi.typeof("node_t").fields[0][1].type is ffi.typeof("struct node *")
    assert ffi.sizeof("node_t") == 16


def test_opaque_struct_has_no_size(ffi):
    ffi.cdef("struct opaque;")
    assert ffi.typeof("struct opaque").fields is None
    with pytest.raises(ValueError, match="unknown size"):
        ffi.sizeof("struct opaque")
    # As in cffi, an invalid struct can be declared; using it is the error,
    # and the message says why and where it was declared.
    ffi.cdef("struct holder { int x;\n struct opaque o; };")
    with pytest.raises(TypeError):
        ffi.new("struct holder *")
    with pytest.raises(ValueError) as e:
        ffi.sizeof("struct holder")
    assert "'struct holder.o' has ctype 'struct opaque' of unknown size" in str(e.value)
    assert "line 1, column 1" in str(e.value)


def test_cdef_errors_name_line_column_and_source(ffi):
    with pytest.raises(CDefError) as e:
        ffi.cdef("int a;\ntypedef int b;\nint c d;\n")
    text = str(e.value)
    assert "line 3, column 7" in text
    assert "int c d;" in text
    with pytest.raises(CDefError, match="unknown type name 'foo_t'"):
        ffi.cdef("foo_t *f(void);")
    with pytest.raises(CDefError, match="#include"):
        ffi.cdef("#include <stdio.h>\n")


def test_line_markers_in_errors(ffi):
    with pytest.raises(CDefError) as e:
        ffi.cdef('#line 42 "fancy.h"\nint ok;\nint bad bad;\n')
    assert "fancy.h:43:" in str(e.value)


def test_failed_cdef_changes_nothing(ffi):
    with pytest.raises(CDefError):
        ffi.cdef("typedef int good_t; int broken(;")
    with pytest.raises(CDefError):
        ffi.typeof("good_t")


def test_redefinitions_follow_cffi(ffi):
    ffi.cdef("typedef int t;")
    ffi.cdef("typedef int t;")  # the same again is fine
    with pytest.raises(FFIError, match="multiple declarations of typedef t"):
        ffi.cdef("typedef long t;")
    ffi.cdef("typedef long t;", override=True)
    assert ffi.typeof("t") is ffi.typeof("long")


def test_packed_and_pack(ffi):
    ffi.cdef("struct p1 { char c; int i; };", packed=True)
    assert ffi.sizeof("struct p1") == 5
    ffi.cdef("struct p2 { char c; long long i; };", pack=2)
    assert (ffi.sizeof("struct p2"), ffi.alignof("struct p2")) == (10, 2)
    with pytest.raises(ValueError):
        rcffi.FFI().cdef("struct p3 { int x; };", pack=3)


def test_dots_forms_parse_and_need_api_mode(ffi):
    ffi.cdef(
        "typedef int... my_int_t; typedef float... my_float_t; typedef ... opaque_t;\n"
        "struct partial { int x; ...; };\nenum en { E1, E2, ... };\n#define DOTS ...\n"
        "int arr[...]; struct withdots { int a[...]; };"
    )
    assert ffi.typeof("struct withdots").fields is None
    with pytest.raises(CDefError, match="API mode"):
        ffi.typeof("my_int_t")
    assert ffi.typeof("struct partial").fields is None


def test_extern_python_and_callconv(ffi):
    ffi.cdef(
        'extern "Python" int cb(int);\n'
        'extern "Python+C" { void cb2(void); }\n'
        "int __stdcall sc(int); int (__cdecl *fp)(int);"
    )
    assert ffi.typeof("int(__stdcall *)(int)") is ffi.typeof("int(*)(int)")


def test_big_and_bad_array_lengths(ffi):
    with pytest.raises(ValueError, match="negative array length"):
        ffi.typeof("int[-1]")
    with pytest.raises(OverflowError):
        ffi.typeof("int[0x7fffffffffffffff]")


def test_deep_nesting_is_an_error_not_a_crash(ffi):
    with pytest.raises(CDefError):
        ffi.typeof("int" + "*" * 0 + "(" * 5000 + ")" * 5000)
    with pytest.raises(CDefError):
        ffi.cdef("struct s { " * 3000 + "int x;" + " } a;" * 3000)


def test_function_typedefs(ffi):
    ffi.cdef("typedef int fn_t(long); fn_t f; fn_t *fp_var; typedef fn_t *fnp_t;")
    assert ffi.typeof("fn_t *") is ffi.typeof("int(*)(long)")
    assert ffi.typeof("fnp_t") is ffi.typeof("int(*)(long)")
    assert ffi.typeof("fn_t **") is ffi.typeof("int(**)(long)")
    with pytest.raises(CDefError, match="function type"):
        ffi.typeof("fn_t")
    funcs, variables, _, _ = ffi._declarations()
    assert funcs["f"] is ffi.typeof("int(*)(long)")
    assert variables["fp_var"][0] is ffi.typeof("int(*)(long)")


def test_anonymous_types_with_several_declarators(ffi):
    ffi.cdef("typedef struct { int a; } foo_t, *foo_p; typedef enum { V0 } e, *pe;")
    assert ffi.typeof("foo_p") is ffi.typeof("foo_t *")
    assert ffi.getctype("pe") == "e *"
    assert ffi.typeof("foo_t").cname == "foo_t"
