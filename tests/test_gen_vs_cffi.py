"""rcffi's generator against the real cffi 2.1.1 (in a private venv under
``.cache/``): for the same cdefs, the tables of the generated modules hold
the same globals, structs, enums and typenames with equivalent types, and
for compiled modules the same measured sizes, offsets and constant
values."""

from __future__ import annotations

import pytest
from cffi_tables import cffi_emit, cffi_python, from_c_file, from_python_text
from prereq import need

import rcffi
from rcffi import _rcffi


@pytest.fixture(scope="module")
def cffi_py():
    py = cffi_python()
    need(py is not None, f"the real cffi in a private venv (pip install cffi) at {py}")
    return py


# cdef, C source (for the compiled comparison)
CASES = {
    "functions": (
        "int add(int, int); double scale(double x, float f); void nothing(void);"
        " int printf(const char *, ...); const char *name(void);"
        " long long big(unsigned char, short, long, size_t, int8_t);",
        "#include <stdio.h>\n"
        "int add(int a, int b) { return a + b; }\n"
        "double scale(double x, float f) { return x * f; }\n"
        "void nothing(void) {}\n"
        'const char *name(void) { return "n"; }\n'
        "long long big(unsigned char a, short b, long c, size_t d, int8_t e)"
        " { return a + b + c + d + e; }\n",
    ),
    "structs": (
        "struct pt { int x, y; }; struct line { struct pt a, b; double w; };"
        " union u { int i; double d; char c[3]; };"
        " struct bits { unsigned a : 3; int b : 5; unsigned : 0; char c; };"
        " struct node { int v; struct node *next; };"
        " typedef struct { short s; long l; } anon_t;"
        " struct flex { int n; double items[]; };"
        " struct withanon { int a; struct { int b; char c; }; union { int x; float y; }; };"
        " int area(struct pt, struct line *);",
        "struct pt { int x, y; }; struct line { struct pt a, b; double w; };\n"
        "union u { int i; double d; char c[3]; };\n"
        "struct bits { unsigned a : 3; int b : 5; unsigned : 0; char c; };\n"
        "struct node { int v; struct node *next; };\n"
        "typedef struct { short s; long l; } anon_t;\n"
        "struct flex { int n; double items[]; };\n"
        "struct withanon { int a; struct { int b; char c; }; union { int x; float y; }; };\n"
        "int area(struct pt p, struct line *l) { return p.x; }\n",
    ),
    "partial": (
        "struct hidden { int a; double d; ...; }; typedef struct { short s; ...; } panon_t;"
        " struct withlen { int n; int items[...]; }; typedef int... small_t;"
        " typedef float... real_t; small_t f(real_t); typedef long ar_t[...];"
        " extern int table[...]; extern int grid[...][4]; typedef ... opaque_t;"
        " typedef ... *handle_t; opaque_t *g(handle_t);",
        "struct hidden { char x; int a; char y; double d; };\n"
        "typedef struct { char pad[6]; short s; } panon_t;\n"
        "struct withlen { int n; int items[7]; };\n"
        "typedef signed char small_t; typedef double real_t;\n"
        "small_t f(real_t r) { return (small_t)r; }\n"
        "typedef long ar_t[9]; int table[11]; int grid[3][4];\n"
        "typedef struct opaque_s opaque_t; typedef struct handle_s *handle_t;\n"
        "opaque_t *g(handle_t h) { return (opaque_t *)h; }\n",
    ),
    "constants": (
        "#define A 5\n#define B ...\n#define WRONG 1\nstatic const int K;"
        " static const long L = -7; static const double D; const int CI;"
        " enum color { RED, GREEN = 10, BLUE }; enum neg { N1 = -1, N2 };"
        " typedef enum { XA, XB, ... } x_t; static char *const S;",
        "#define A 5\n#define B (-42)\n#define WRONG 2\nstatic const int K = 3;\n"
        "static const long L = -7;\n#define D 2.5\nconst int CI = 9;\n"
        "enum color { RED, GREEN = 10, BLUE }; enum neg { N1 = -1, N2 };\n"
        "typedef enum { XB = 300, XA = 100000 } x_t;\n"
        'static char *const S = "s";\n',
    ),
    "globals": (
        "extern int counter; extern double grid[4]; extern const char *greeting;"
        " extern int (*handler)(int); struct pt { int x, y; }; extern struct pt origin;"
        " FILE *open_it(const char *); extern char name[];",
        "#include <stdio.h>\nint counter; double grid[4]; const char *greeting;\n"
        "int (*handler)(int); struct pt { int x, y; } origin;\n"
        "FILE *open_it(const char *p) { return 0; }\nchar name[10];\n",
    ),
    "types": (
        "typedef int (*fn_t)(int, const char *); typedef fn_t table_t[3];"
        " struct cell { enum kind { K0, K1 } k; _Bool ok; wchar_t w; char16_t c16;"
        " char32_t c32; long double ld; double _Complex z; struct cell *kids[2]; };"
        " typedef struct { int q; } *ptr_t; ptr_t make(fn_t, table_t *);"
        " int sum(int n, ...); typedef unsigned int uint_alias; uint_alias twice(uint_alias);"
        " typedef struct cell cell_t; cell_t first(cell_t *);",
        "#include <wchar.h>\n#include <uchar.h>\n"
        "typedef int (*fn_t)(int, const char *); typedef fn_t table_t[3];\n"
        "struct cell { enum kind { K0, K1 } k; _Bool ok; wchar_t w; char16_t c16;"
        " char32_t c32; long double ld; double _Complex z; struct cell *kids[2]; };\n"
        "typedef struct { int q; } *ptr_t;\n"
        "ptr_t make(fn_t f, table_t *t) { return 0; }\n"
        "int sum(int n, ...) { return n; }\n"
        "typedef unsigned int uint_alias; uint_alias twice(uint_alias x) { return 2 * x; }\n"
        "typedef struct cell cell_t; cell_t first(cell_t *c) { return *c; }\n",
    ),
    "extern_python": (
        'extern "Python" int cb(int, double); extern "Python" void note(struct pt *);'
        " struct pt { int x; };",
        "struct pt { int x; };\n",
    ),
}


def _same(ours, theirs, what):
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert ours[key] == theirs[key], (
            f"{what}: {key} differ:\n  rcffi {ours[key]}\n  cffi  {theirs[key]}"
        )


# Python text: every case whose cdef an ABI module can hold.
PY_CASES = ["functions", "structs", "globals", "types", "abi_constants"]


#: Declarations only an out-of-line module can hold (no C source).
ABI_CASES = {
    "abi_constants": (
        "#define A 5\n#define NEG -3\nstatic const int K; static const long L = -7;"
        " const int CI; enum color { RED, GREEN = 10, BLUE }; enum neg { N1 = -1, N2 };"
        " typedef enum { XA, XB } x_t; static char *const S; struct s { int a; ...; };"
    ),
}


@pytest.mark.parametrize("case", PY_CASES)
def test_python_tables_match_cffi(case, cffi_py, tmp_path):
    cdef = ABI_CASES[case] if case in ABI_CASES else CASES[case][0]
    theirs_file = tmp_path / "m.py"
    cffi_emit(cffi_py, cdef, None, theirs_file)
    theirs = from_python_text(theirs_file.read_text()).canonical()
    ffi = rcffi.FFI()
    ffi.cdef(cdef)
    ours = from_python_text(_rcffi._generate_python(ffi, "m", [])).canonical()
    _same(ours, theirs, case)


@pytest.mark.parametrize("case", sorted(CASES))
def test_c_tables_match_cffi(case, cffi_py, tmp_path):
    cdef, source = CASES[case]
    (tmp_path / "cffi").mkdir()
    (tmp_path / "rcffi").mkdir()
    theirs_c = tmp_path / "cffi" / "m.c"
    cffi_emit(cffi_py, cdef, source, theirs_c)
    theirs = from_c_file(theirs_c, tmp_path / "cffi").canonical()
    ffi = rcffi.FFI()
    ffi.cdef(cdef)
    ours_c = tmp_path / "rcffi" / "m.c"
    text, _regions, _user, _glue = _rcffi._generate_c(ffi, "m", source, [], c_path=str(ours_c))
    ours_c.write_text(text)
    ours = from_c_file(ours_c, tmp_path / "rcffi").canonical()
    # cffi cannot measure the alignment of a struct only named through a
    # pointer typedef (it writes -1); rcffi does (with __typeof__).
    ours["structs"] = [
        (*s[:4], -1, *s[5:]) if (*s[:4], -1, *s[5:]) in theirs["structs"] else s
        for s in ours["structs"]
    ]
    _same(ours, theirs, case)
