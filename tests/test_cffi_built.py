"""Modules generated and compiled by the real cffi 2.1.1, imported with
rcffi as ``_cffi_backend`` (see ``cffi_built.py``): every kind of table
entry, every export slot (through cffi's own C wrappers, which rcffi uses
only as a fallback: a hook makes it use them for every function), and bad
modules (ImportError naming the module and what is wrong)."""

from __future__ import annotations

import re
import subprocess
import sys

import cffi_built
import pytest
from prereq import need

BASIC = r'''
import cffi
ffi = cffi.FFI()
ffi.cdef("""
typedef struct point { int x; long y; } point_t;
typedef struct { short a; char b; } anon_t;
union number { int i; double d; };
struct bits { unsigned a: 3; int b: 5; unsigned char c; };
struct outer { int tag; struct { int u; int v; }; };
struct partial { int known; ...; };
struct opaque;
typedef struct opaque opaque_t;
enum color { RED, GREEN=5, BLUE };
typedef enum { LOW=-1, HIGH=1 } level_t;
typedef int... myint_t;
typedef double... mydouble_t;
typedef int (*binop_t)(int, int);
typedef int fn_t(int);
#define N 3
#define BIG 0xffffffffffffffff
#define NEG -7
static const double PI;
static const point_t ORIGIN;

int add(int, int);
unsigned int uadd(unsigned int, unsigned int);
signed char neg8(signed char);
unsigned char inc8(unsigned char);
short neg16(short);
unsigned short inc16(unsigned short);
long long neg64(long long);
unsigned long long inc64(unsigned long long);
char next_char(char);
wchar_t next_wchar(wchar_t);
char16_t next_c16(char16_t);
char32_t next_c32(char32_t);
_Bool not_(_Bool);
float halve(float);
double twice(double);
long double ld_twice(long double);
size_t g(void *);
int *first(int *);
double scale(point_t *p, double k);
point_t mk(int x, long y);
long sum_point(point_t p);
union number mknum(int);
struct partial mkpartial(int);
int get_known(struct partial);
enum color next_color(enum color);
myint_t myint_id(myint_t);
mydouble_t mydouble_id(mydouble_t);
int apply(binop_t, int, int);
int sum_arr(int *a, int n);
int count_chars(char *s);
int wlen(wchar_t *s);
int bool_count(_Bool *b, int n);
int file_fileno(FILE *f);
int printf_like(const char *fmt, ...);
void set_errno(int);
opaque_t *new_opaque(int);
int opaque_value(opaque_t *);
void nothing(void);

extern int counter;
extern int table[4];
extern point_t where;
extern char *message;
extern struct point *where_p;

extern "Python" int py_cb(int);
extern "Python" point_t py_point(point_t);
extern "Python" void py_void(int);
int call_cb(int);
long call_point(int, long);
void call_void(int);
""")
ffi.set_source("_cb_basic", r"""
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <uchar.h>
typedef struct point { int x; long y; } point_t;
typedef struct { short a; char b; } anon_t;
union number { int i; double d; };
struct bits { unsigned a: 3; int b: 5; unsigned char c; };
struct outer { int tag; struct { int u; int v; }; };
struct partial { double pad; int known; char more[3]; };
struct opaque { int value; };
typedef struct opaque opaque_t;
enum color { RED, GREEN=5, BLUE };
typedef enum { LOW=-1, HIGH=1 } level_t;
typedef long myint_t;
typedef float mydouble_t;
typedef int (*binop_t)(int, int);
typedef int fn_t(int);
#define N 3
#define BIG 0xffffffffffffffff
#define NEG -7
static const double PI = 3.25;
static const point_t ORIGIN = {0, -1};
static int add(int a, int b) { return a + b; }
static unsigned int uadd(unsigned int a, unsigned int b) { return a + b; }
static signed char neg8(signed char x) { return -x; }
static unsigned char inc8(unsigned char x) { return x + 1; }
static short neg16(short x) { return -x; }
static unsigned short inc16(unsigned short x) { return x + 1; }
static long long neg64(long long x) { return -x; }
static unsigned long long inc64(unsigned long long x) { return x + 1; }
static char next_char(char c) { return c + 1; }
static wchar_t next_wchar(wchar_t c) { return c + 1; }
static char16_t next_c16(char16_t c) { return c + 1; }
static char32_t next_c32(char32_t c) { return c + 1; }
static _Bool not_(_Bool b) { return !b; }
static float halve(float x) { return x / 2; }
static double twice(double x) { return 2 * x; }
static long double ld_twice(long double x) { return 2 * x; }
static size_t g(void *p) { return (size_t)p; }
static int *first(int *p) { return p; }
static double scale(point_t *p, double k) { return (p->x + p->y) * k; }
static point_t mk(int x, long y) { point_t p = {x, y}; return p; }
static long sum_point(point_t p) { return p.x + p.y; }
static union number mknum(int i) { union number n; n.i = i; return n; }
static struct partial mkpartial(int k) {
    struct partial p; memset(&p, 0, sizeof p); p.known = k; return p;
}
static int get_known(struct partial p) { return p.known; }
static enum color next_color(enum color c) { return c == RED ? GREEN : BLUE; }
static myint_t myint_id(myint_t x) { return x; }
static mydouble_t mydouble_id(mydouble_t x) { return x; }
static int apply(binop_t f, int a, int b) { return f(a, b); }
static int sum_arr(int *a, int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i]; return s; }
static int count_chars(char *s) { return (int)strlen(s); }
static int wlen(wchar_t *s) { return (int)wcslen(s); }
static int bool_count(_Bool *b, int n) {
    int c = 0; for (int i = 0; i < n; i++) c += b[i]; return c;
}
static int file_fileno(FILE *f) { return fileno(f); }
static int printf_like(const char *fmt, ...) {
    va_list ap; va_start(ap, fmt); int r = vsnprintf(NULL, 0, fmt, ap); va_end(ap); return r;
}
static void set_errno(int e) { errno = e; }
static opaque_t *new_opaque(int v) { opaque_t *o = malloc(sizeof *o); o->value = v; return o; }
static int opaque_value(opaque_t *o) { return o->value; }
static void nothing(void) { }
int counter = 42;
int table[4] = {1, 2, 3, 4};
point_t where = {7, 8};
char *message = "hello";
struct point *where_p = &where;
static int py_cb(int);
static point_t py_point(point_t);
static void py_void(int);
static int call_cb(int x) { return py_cb(x) + 1; }
static long call_point(int x, long y) {
    point_t p = {x, y}; point_t q = py_point(p); return q.x * 1000 + q.y;
}
static void call_void(int x) { py_void(x); }
""")
ffi.compile(verbose=False)
'''


@pytest.fixture(scope="module")
def basic():
    try:
        return cffi_built.build(BASIC)
    except cffi_built.Unavailable as e:
        need(False, f"the real cffi {cffi_built.CFFI_VERSION} from PyPI ({e})")


def run(code, *dirs, **kw):
    return cffi_built.run(code, *dirs, **kw)


CHECKS = r"""
import _cb_basic
from _cb_basic import ffi, lib
import math

def raises(exc, f, *a, match=None):
    try:
        f(*a)
    except exc as e:
        if match is not None:
            assert re.search(match, str(e)), (match, str(e))
        return e
    raise AssertionError(f"{f} did not raise {exc}")

import re
assert repr(ffi).startswith("<_cffi_backend.FFI object at 0x"), repr(ffi)
assert type(ffi) is _cffi_backend.FFI and type(lib) is _cffi_backend.Lib
assert repr(lib) == "<Lib object for '_cb_basic'>"
assert sys.modules["_cb_basic.lib"] is lib
from _cb_basic.lib import add
assert add is lib.add

# integers of every size, both signs
assert lib.add(2, 3) == 5 and lib.uadd(2**32 - 1, 1) == 0
assert lib.neg8(5) == -5 and lib.inc8(255) == 0
assert lib.neg16(-300) == 300 and lib.inc16(7) == 8
assert lib.neg64(2**62) == -(2**62) and lib.inc64(2**64 - 1) == 0
raises(OverflowError, lib.inc8, 256)
raises(OverflowError, lib.neg8, -129)
raises(OverflowError, lib.uadd, -1, 0)
raises(TypeError, lib.add, 1.5, 2)
# characters
assert lib.next_char(b"a") == b"b"
assert lib.next_wchar("a") == "b" and lib.next_c16("x") == "y"
assert lib.next_c32("\U0001f600") == "\U0001f601"
raises(TypeError, lib.next_char, "a")
assert lib.not_(True) is False and lib.not_(0) is True
raises(OverflowError, lib.not_, 2)
# floats
assert lib.halve(3.0) == 1.5 and lib.twice(1.25) == 2.5
ld = lib.ld_twice(1.5)
assert float(ld) == 3.0 and ffi.typeof(ld) is ffi.typeof("long double")
assert float(lib.ld_twice(ld)) == 6.0
# pointers
p = ffi.cast("void *", 1234)
assert lib.g(p) == 1234 and lib.g(ffi.NULL) == 0
arr = ffi.new("int[3]", [4, 5, 6])
assert lib.first(arr)[2] == 6 and lib.sum_arr(arr, 3) == 15
assert lib.sum_arr([1, 2, 3, 4], 4) == 10 and lib.sum_arr((5,), 1) == 5
assert lib.count_chars(b"hello") == 5 and lib.wlen("h\u00e9llo") == 5
assert lib.bool_count(b"\x01\x00\x01", 3) == 2
raises(ValueError, lib.bool_count, b"\x02", 1)
raises(TypeError, lib.sum_arr, ffi.new("long[2]"), 2)
with open("/dev/null", "rb") as f:
    assert lib.file_fileno(f) >= 0
# structs and unions
pt = ffi.new("point_t *", {"x": 1, "y": 2})
assert lib.scale(pt, 2.0) == 6.0
q = lib.mk(5, 6)
assert (q.x, q.y) == (5, 6) and ffi.typeof(q) is ffi.typeof("struct point")
assert lib.sum_point(q) == 11 and lib.sum_point({"x": 1, "y": 1}) == 2
assert lib.mknum(9).i == 9
part = lib.mkpartial(12)
assert part.known == 12 and lib.get_known(part) == 12
assert ffi.sizeof("struct partial") == 16 and ffi.offsetof("struct partial", "known") == 8
assert ffi.sizeof("point_t") == 16 and ffi.offsetof("point_t", "y") == 8
assert ffi.sizeof("anon_t") == 4 and ffi.typeof("anon_t").cname == "anon_t"
assert ffi.sizeof("union number") == 8
b = ffi.new("struct bits *", {"a": 7, "b": -3, "c": 200})
assert (b.a, b.b, b.c) == (7, -3, 200) and ffi.sizeof("struct bits") == 4
o = ffi.new("struct outer *", {"tag": 1, "u": 2, "v": 3})
assert (o.tag, o.u, o.v) == (1, 2, 3) and ffi.offsetof("struct outer", "v") == 8
# opaque
op = lib.new_opaque(17)
assert lib.opaque_value(op) == 17 and ffi.typeof(op).cname == "struct opaque *"
raises(Exception, ffi.sizeof, "opaque_t")
# enums and constants
assert (lib.RED, lib.GREEN, lib.BLUE, lib.LOW, lib.HIGH) == (0, 5, 6, -1, 1)
assert lib.next_color(lib.RED) == 5 and ffi.typeof("enum color").cname == "enum color"
assert ffi.string(ffi.cast("enum color", 6)) == "BLUE"
assert ffi.string(ffi.cast("level_t", -1)) == "LOW"
assert lib.N == 3 and lib.BIG == 2**64 - 1 and lib.NEG == -7
assert lib.PI == 3.25 and (lib.ORIGIN.x, lib.ORIGIN.y) == (0, -1)
assert ffi.integer_const("GREEN") == 5 and ffi.integer_const("N") == 3
raises(ffi.error, ffi.integer_const, "add", match="must be fetched from its original 'lib'")
raises(AttributeError, ffi.integer_const, "nope", match="integer constant 'nope' not found")
assert ffi.typeof("int[N]").length == 3
# typedef int... / double...
assert ffi.typeof("myint_t") is ffi.typeof("int64_t") and lib.myint_id(-2**40) == -2**40
assert ffi.typeof("mydouble_t") is ffi.typeof("float") and lib.mydouble_id(0.5) == 0.5
# function pointers and function types
cb = ffi.callback("binop_t", lambda a, b: a * b)
assert lib.apply(cb, 6, 7) == 42
assert ffi.typeof("fn_t *").cname == "int(*)(int)"
raises(ffi.error, ffi.typeof, "fn_t", match="is a function type")
assert lib.apply(ffi.addressof(lib, "add"), 1, 2) == 3
assert ffi.typeof(lib.add) is ffi.typeof("int(*)(int, int)")
# variadic: a constant function pointer
assert lib.printf_like(b"%d-%s", ffi.cast("int", 42), ffi.new("char[]", b"ab")) == 5
# errno
lib.set_errno(33)
assert ffi.errno == 33
lib.nothing()
# global variables
assert lib.counter == 42
lib.counter = 7
assert lib.counter == 7 and ffi.addressof(lib, "counter")[0] == 7
assert list(lib.table) == [1, 2, 3, 4]
lib.table = [5, 6, 7, 8]
assert lib.table[3] == 8
assert (lib.where.x, lib.where.y) == (7, 8) and lib.where_p.y == 8
assert ffi.string(lib.message) == b"hello"
raises(AttributeError, setattr, lib, "add", 1, match="cannot write to function or constant 'add'")
raises(AttributeError, delattr, lib, "counter", match="C attribute cannot be deleted")
raises(AttributeError, getattr, lib, "nope",
       match="cffi library '_cb_basic' has no function, constant or global variable named 'nope'")
raises(AttributeError, ffi.addressof, lib, "N", match="cannot take the address of the constant 'N'")
# extern "Python"
raises(ffi.error, ffi.def_extern("nope"), lambda: 0, match="no 'extern \"Python\"' function")
@ffi.def_extern()
def py_cb(x):
    return x * 10
assert lib.call_cb(4) == 41 and lib.py_cb(5) == 50
@ffi.def_extern(name="py_cb", error=-100)
def failing(x):
    raise ValueError(x)
assert lib.call_cb(4) == -99
seen = []
@ffi.def_extern(name="py_point", onerror=lambda *a: seen.append(a[0]))
def py_point(p):
    if p.x < 0:
        raise KeyError
    return {"x": p.x + 1, "y": p.y * 2}
assert lib.call_point(1, 2) == 2004 and lib.call_point(-1, 2) == 0 and seen == [KeyError]
got = []
@ffi.def_extern()
def py_void(x):
    got.append(x)
lib.call_void(9)
assert got == [9]
# the lib as a module
assert lib.__name__ == "_cb_basic.lib" and lib.__class__ is type(sys)
assert "add" in dir(lib) and "counter" in dir(lib)
assert "add" in lib.__all__ and "counter" not in lib.__all__
assert lib.__dict__["add"] is lib.add
assert lib.__loader__ is None and lib.__spec__ is None
# type strings through the tables
assert ffi.typeof("struct point *").item is ffi.typeof("point_t")
raises(ffi.error, ffi.typeof, "struct nope", match="undefined struct/union name")
raises(ffi.error, ffi.typeof, "union point", match="wrong kind of tag")
raises(ffi.error, ffi.typeof, "enum nope", match="undefined enum name")
raises(ffi.error, ffi.typeof, "nope_t")
# (FILE and struct _IO_FILE: cffi declares them when a cdef uses FILE)
assert ffi.list_types() == (
    ["FILE", "anon_t", "binop_t", "fn_t", "level_t", "mydouble_t", "myint_t", "opaque_t",
     "point_t"],
    ["_IO_FILE", "bits", "opaque", "outer", "partial", "point"],
    ["number"],
)
assert ffi.typeof("FILE *") is _cffi_backend.FFI().typeof("FILE *")
print("ok")
"""


def test_every_table_kind(basic):
    r = run(CHECKS, basic)
    assert r.stdout.strip().endswith("ok")


def test_every_export_through_cffi_wrappers(basic):
    """The same checks with every function called through cffi's own C
    wrapper (exports 1-24 are what those wrappers call)."""
    r = run("_cffi_backend._rcffi_use_cffi_wrappers(True)\n" + CHECKS, basic)
    assert r.stdout.strip().endswith("ok")


def test_functions_are_rcffi_builtins_on_the_direct_function(basic):
    r = run(
        """
        from _cb_basic import ffi, lib
        # rcffi's builtins, calling _cffi_d_add: not cffi's _cffi_f_ wrapper
        assert type(lib.add).__name__ == "builtin_function_or_method"
        assert type(lib.add.__self__).__name__ == "__CFunction"
        assert lib.add.__doc__ == "int add(int, int);\\n\\nCFFI C function from _cb_basic.lib"
        # a struct of a layout only the compiler knows, by value: cffi's wrapper
        assert lib.get_known.__self__ is lib
        assert lib.get_known(lib.mkpartial(3)) == 3
        assert ffi.typeof(lib.get_known) is ffi.typeof("int(*)(struct partial)")
        print("ok")
        """,
        basic,
    )
    assert "ok" in r.stdout


def test_extern_python_without_code(basic):
    r = run(
        """
        from _cb_basic import lib
        assert lib.call_cb(3) == 1   # py_cb returned 0
        lib.call_void(1)
        print("ok")
        """,
        basic,
    )
    assert "ok" in r.stdout
    assert (
        'extern "Python": function _cb_basic.py_cb() called, but no code was attached to it '
        "yet with @ffi.def_extern().  Returning 0." in r.stderr
    )


INCLUDE = r'''
import cffi
base = cffi.FFI()
base.cdef("""
struct shared { int a; int b; };
typedef struct shared shared_t;
enum mode { OFF, ON };
#define BASE_K 11
int base_f(int);
""")
base.set_source("_cb_base", """
struct shared { int a; int b; };
typedef struct shared shared_t;
enum mode { OFF, ON };
#define BASE_K 11
static int base_f(int x) { return x + 100; }
""")
base.compile(verbose=False)
user = cffi.FFI()
user.include(base)
user.cdef("int use(shared_t *);")
user.set_source("_cb_user", """
struct shared { int a; int b; };
enum mode { OFF, ON };
typedef struct shared shared_t;
static int use(shared_t *s) { return s->a * s->b; }
""")
user.compile(verbose=False)
'''


def test_include_between_compiled_modules():
    try:
        d = cffi_built.build(INCLUDE)
    except cffi_built.Unavailable as e:
        need(False, f"the real cffi {cffi_built.CFFI_VERSION} from PyPI ({e})")
    r = run(
        """
        import _cb_user
        from _cb_user import ffi, lib
        import _cb_base
        s = ffi.new("shared_t *", [6, 7])
        assert lib.use(s) == 42
        # the external struct is the included module's very type
        assert ffi.typeof("struct shared") is _cb_base.ffi.typeof("struct shared")
        assert lib.base_f(1) == 101          # delegated to the included lib
        assert lib.BASE_K == 11 and lib.ON == 1
        print("ok")
        """,
        d,
    )
    assert "ok" in r.stdout


OUT_OF_LINE = r'''
import cffi, subprocess
subprocess.run(["cc", "-shared", "-fPIC", "-o", "libool.so", "ool.c"], check=True)
ffi = cffi.FFI()
ffi.cdef("""
struct pair { int a; short b; };
typedef struct pair pair_t;
enum e { E0, E1 = 10 };
#define K 5
int ool_add(int, int);
long ool_sum(pair_t *);
extern int ool_var;
extern int ool_arr[3];
int ool_v(int, ...);
static const double ool_pi;
""")
ffi.set_source("_cb_ool", None)
ffi.emit_python_code("_cb_ool.py")
'''

OOL_C = r"""
#include <stdarg.h>
struct pair { int a; short b; };
int ool_add(int a, int b) { return a + b; }
long ool_sum(struct pair *p) { return p->a + p->b; }
int ool_var = 9;
int ool_arr[3] = {1, 2, 3};
const double ool_pi = 3.5;
int ool_v(int n, ...) {
    va_list ap; va_start(ap, n); int s = 0;
    for (int i = 0; i < n; i++) s += va_arg(ap, int);
    va_end(ap); return s;
}
"""


def test_out_of_line_abi_module():
    script = "open('ool.c', 'w').write(" + repr(OOL_C) + ")\n" + OUT_OF_LINE
    try:
        d = cffi_built.build(script)
    except cffi_built.Unavailable as e:
        need(False, f"the real cffi {cffi_built.CFFI_VERSION} from PyPI ({e})")
    text = (d / "_cb_ool.py").read_text()
    assert "_cffi_backend.FFI('_cb_ool'" in text and "_types = b'" in text
    r = run(
        f"""
        from _cb_ool import ffi
        lib = ffi.dlopen({str(d / "libool.so")!r})
        assert type(lib) is _cffi_backend.Lib
        assert lib.ool_add(2, 3) == 5
        p = ffi.new("pair_t *", [3, 4])
        assert lib.ool_sum(p) == 7 and ffi.sizeof("struct pair") == 8
        assert lib.ool_var == 9
        lib.ool_var = 10
        assert lib.ool_var == 10 and list(lib.ool_arr) == [1, 2, 3]
        assert lib.K == 5 and lib.E1 == 10 and ffi.integer_const("E1") == 10
        assert lib.ool_pi == 3.5   # DLOPEN_CONST: read from the library
        assert lib.ool_v(2, ffi.cast("int", 3), ffi.cast("int", 4)) == 7
        assert ffi.addressof(lib, "ool_var")[0] == 10
        try:
            lib.nope
        except AttributeError as e:
            assert "has no function, constant or global variable named 'nope'" in str(e)
        ffi.dlclose(lib)
        try:
            lib.ool_add
        except (ValueError, ffi.error) as e:
            assert "closed" in str(e), e
        else:
            raise AssertionError("no error after dlclose")
        print("ok")
        """,
        d,
    )
    assert "ok" in r.stdout


# ---------------------------------------------------------------- bad input

BAD = r"""
import cffi, re
ffi = cffi.FFI()
ffi.cdef("int f(int); struct s { int *p; };")
ffi.set_source("_cb_NAME", "static int f(int x) { return x; } struct s { int *p; };")
ffi.emit_c_code("_cb_NAME.c")
src = open("_cb_NAME.c").read()
PATCH
open("_cb_NAME.c", "w").write(src)
import sysconfig, subprocess
inc = sysconfig.get_paths()["include"]
subprocess.run(["cc", "-shared", "-fPIC", "-I" + inc, "-o",
                "_cb_NAME" + sysconfig.get_config_var("EXT_SUFFIX"), "_cb_NAME.c"], check=True)
"""


def build_bad(name, patch):
    try:
        return cffi_built.build(BAD.replace("NAME", name).replace("PATCH", patch))
    except cffi_built.Unavailable as e:
        need(False, f"the real cffi {cffi_built.CFFI_VERSION} from PyPI ({e})")


@pytest.mark.parametrize(
    "name, patch, message",
    [
        (
            "badversion",
            "src = re.sub(r'0x26\\w\\w\\b', '0x3000', src)",
            r"cffi extension module '_cb_badversion' uses an unknown version tag 0x3000",
        ),
        (
            "oldrcffi",
            "src = re.sub(r'0x26\\w\\w\\b', '0x5200', src)",
            r"module '_cb_oldrcffi' was built by another version of rcffi \(module format "
            r"0x5200; this rcffi reads 0x5201\): build it again",
        ),
        (
            "badindex",
            "src = src.replace('_CFFI_OP(_CFFI_OP_POINTER, ', "
            "'_CFFI_OP(_CFFI_OP_POINTER, 900+', 1)",
            r"module '_cb_badindex': types\[\d+\]: opcode POINTER has the bad argument 9\d\d "
            r"\(index 9\d\d out of range of the table 'types'",
        ),
        (
            "badop",
            "src = src.replace('_CFFI_OP(_CFFI_OP_PRIMITIVE, ', '_CFFI_OP(61, ', 1)",
            r"module '_cb_badop': types\[\d+\]: unknown opcode 61",
        ),
        (
            "truncated",
            "src = re.sub(r'(\\d+),  /\\* num_types \\*/', lambda m: str(int(m.group(1)) - 1) "
            "+ ',', src)",
            r"module '_cb_truncated': (the FUNCTION at types\[\d+\] has no FUNCTION_END|"
            r".*index \d+ out of range of the table 'types' \(\d+ entries\))",
        ),
        (
            "badglobal",
            "src = src.replace('_CFFI_OP(_CFFI_OP_CPYTHON_BLTN_O, ', '_CFFI_OP(63, ', 1)",
            r"module '_cb_badglobal': globals\[0\]: unknown global opcode 63",
        ),
    ],
)
def test_bad_modules_are_import_errors(name, patch, message):
    d = build_bad(name, patch)
    r = run(
        f"""
        try:
            import _cb_{name}
        except ImportError as e:
            print("IMPORTERROR:", e)
        """,
        d,
    )
    m = re.search(r"IMPORTERROR: (.*)", r.stdout)
    assert m, r.stdout + r.stderr
    assert re.search(message, m.group(1)), m.group(1)


def test_rcffi_format_version_loads():
    """A module giving rcffi's format tag (0x5201) loads through the same
    loader; its function (a signature the direct register call handles)
    is called on its direct C function, not through ``address`` (which
    for rcffi's modules is the argument stub)."""
    d = build_bad("rcffiformat", "src = re.sub(r'0x26\\w\\w\\b', '0x5201', src)")
    r = run(
        """
        import _cb_rcffiformat
        from _cb_rcffiformat import ffi, lib
        assert lib.f(3) == 3 and type(lib.f.__self__).__name__ == "__CFunction"
        assert ffi.sizeof("struct s") == ffi.sizeof("void *")
        print("ok")
        """,
        d,
    )
    assert "ok" in r.stdout


def test_real_cffi_is_absent_from_the_rcffi_interpreter():
    r = subprocess.run(
        [sys.executable, "-c", "import cffi"], capture_output=True, text=True, check=False
    )
    assert r.returncode != 0
