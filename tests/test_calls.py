"""Calls of C functions, callbacks and libraries, through `_cffi_backend`.

A C library is compiled with gcc for the session; every test loads its
functions with `load_library` and calls them with the types built through
the backend API (the FFI front end is not used here).  Structs and unions
passed by value include the kinds cffi refuses (unions, bitfields, packed
fields), checked against what gcc compiled.
"""

from __future__ import annotations

import gc
import shutil
import subprocess
import sys
import threading
import time
import weakref

import pytest

from rcffi import _cffi_backend as B

CC = shutil.which("gcc") or shutil.which("cc")
pytestmark = pytest.mark.skipif(CC is None, reason="needs a C compiler")

SF_PACKED = 0x08

C_SOURCE = r"""
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#define ADD(name, T) T name(T a, T b) { return (T)(a + b); }
ADD(add_int, int)
ADD(add_schar, signed char)
ADD(add_uchar, unsigned char)
ADD(add_short, short)
ADD(add_ushort, unsigned short)
ADD(add_uint, unsigned int)
ADD(add_long, long)
ADD(add_ulong, unsigned long)
ADD(add_llong, long long)
ADD(add_ullong, unsigned long long)
ADD(add_i8, int8_t)
ADD(add_u64, uint64_t)
ADD(add_size, size_t)
ADD(add_float, float)
ADD(add_double, double)
ADD(add_ldouble, long double)

_Bool negate(_Bool b) { return !b; }
char next_char(char c) { return (char)(c + 1); }
wchar_t next_wchar(wchar_t c) { return c + 1; }
void nothing(void) {}
int int_of_double(double d) { return (int)d; }

size_t my_strlen(const char *s) { return strlen(s); }
size_t lens3(const char *a, const char *b, const char *c) {
    return strlen(a) + 1000 * strlen(b) + 1000000 * strlen(c);
}
int first_byte(const unsigned char *s) { return s ? s[0] : -1; }
int sum_ints(const int *a, int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i]; return s; }
void fill_ints(int *a, int n, int v) { for (int i = 0; i < n; i++) a[i] = v + i; }
size_t wide_len(const wchar_t *w) { return wcslen(w); }
const char *greeting(void) { return "hello"; }
void *identity(void *p) { return p; }
int *null_ptr(void) { return NULL; }

static int twice(int x) { return 2 * x; }
int apply(int (*f)(int), int x) { return f(x); }
int (*get_twice(void))(int) { return twice; }

enum color { RED, GREEN = 5, BLUE = -3 };
enum color next_color(enum color c) { return c == RED ? GREEN : c == GREEN ? BLUE : RED; }

struct point { int x, y; };
struct point make_point(int x, int y) { struct point p = { x, y }; return p; }
int point_sum(struct point p) { return p.x + p.y; }
struct point point_swap(struct point p) { struct point q = { p.y, p.x }; return q; }

struct mixed { char c; double d; };
struct mixed mixed_make(char c, double d) { struct mixed m = { c, d }; return m; }
double mixed_sum(struct mixed m) { return m.c + m.d; }

struct floats3 { float a, b, c; };
struct floats3 floats3_scale(struct floats3 f, float k) {
    struct floats3 r = { f.a * k, f.b * k, f.c * k }; return r;
}

struct big { int v[10]; double d; };
struct big big_twice(struct big b) {
    for (int i = 0; i < 10; i++) b.v[i] *= 2;
    b.d *= 2; return b;
}

struct tiny { unsigned char a, b, c; };
struct tiny tiny_rotate(struct tiny t) { struct tiny r = { t.b, t.c, t.a }; return r; }

union ifl { int i; float f; };
union fd { float f; double d; };
union wide { long long l; double d; char c[12]; };
union ifl ifl_from_int(int i) { union ifl u; u.i = i; return u; }
int ifl_bits(union ifl u) { return u.i; }
union fd fd_from_double(double d) { union fd u; u.d = d; return u; }
double fd_double(union fd u) { return u.d; }
union wide wide_make(long long l) {
    union wide w; memset(&w, 0, sizeof w); w.l = l; w.c[8] = 'z'; return w;
}
long long wide_sum(union wide w) { return w.l + w.c[8]; }

struct bits { unsigned a : 3; int b : 5; unsigned c : 12; };
struct bits bits_make(int a, int b, int c) { struct bits s; s.a = a; s.b = b; s.c = c; return s; }
int bits_sum(struct bits s) { return s.a + s.b + s.c; }
struct fbits { float f; unsigned flag : 1; unsigned rest : 7; };
struct fbits fbits_make(float f, int flag) { struct fbits s = { f, flag, 5 }; return s; }
double fbits_value(struct fbits s) { return s.flag ? s.f + s.rest : -s.f; }

struct __attribute__((packed)) packed { char c; int i; short s; };
struct packed packed_make(int i) { struct packed p = { 'p', i, -2 }; return p; }
int packed_sum(struct packed p) { return p.c + p.i + p.s; }
#pragma pack(push, 2)
struct pack2 { char c; double d; };
#pragma pack(pop)
struct pack2 pack2_make(double d) { struct pack2 p = { 'q', d }; return p; }
double pack2_sum(struct pack2 p) { return p.c + p.d; }

struct tagged { int kind; union { int i; float f; }; };
struct tagged tagged_float(float f) { struct tagged t; t.kind = 2; t.f = f; return t; }
double tagged_value(struct tagged t) { return t.kind == 2 ? t.f : t.i; }

struct ld { long double x; };
struct ld ld_half(struct ld v) { v.x /= 2; return v; }

int sum10(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j) {
    return a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h + 9*i + 10*j;
}
double dsum10(double a, double b, double c, double d, double e, double f,
              double g, double h, double i, double j) {
    return a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h + 9*i + 10*j;
}
long late_struct(long a, long b, long c, long d, long e, struct point p, long f) {
    return a + b + c + d + e + p.x * 100 + p.y * 1000 + f * 10000;
}
double late_union(double a, double b, double c, double d, double e, double f,
                  double g, union fd u, double h) {
    return a + b + c + d + e + f + g + u.d * 100 + h * 1000;
}

int vsum(int n, ...) {
    va_list ap; int s = 0; va_start(ap, n);
    for (int i = 0; i < n; i++) s += va_arg(ap, int);
    va_end(ap); return s;
}
double vdsum(int n, ...) {
    va_list ap; double s = 0; va_start(ap, n);
    for (int i = 0; i < n; i++) s += va_arg(ap, double);
    va_end(ap); return s;
}
int vpoint(int n, ...) {
    va_list ap; int s = 0; va_start(ap, n);
    for (int i = 0; i < n; i++) { struct point p = va_arg(ap, struct point); s += p.x * p.y; }
    va_end(ap); return s;
}
int format(char *buf, size_t n, const char *fmt, ...) {
    va_list ap; va_start(ap, fmt); int r = vsnprintf(buf, n, fmt, ap); va_end(ap); return r;
}

void set_errno_to(int v) { errno = v; }
int read_errno(void) { return errno; }
int errno_through(void (*cb)(void)) { errno = 7; cb(); return errno; }

int global_counter = 42;
double global_table[3] = { 1.5, 2.5, 3.5 };
struct point global_point = { 3, 4 };

int call_int_cb(int (*cb)(int), int x) { return cb(x) + 1; }
double call_double_cb(double (*cb)(double, float), double x) { return cb(x, 0.5f); }
void call_void_cb(void (*cb)(int), int x) { cb(x); }
int call_point_cb(struct point (*cb)(struct point), int x) {
    struct point p = { x, -x }; struct point q = cb(p); return q.x * 10 + q.y;
}
double call_union_cb(union fd (*cb)(union fd, union ifl), double d) {
    union fd u; u.d = d; union ifl v; v.i = 3; return cb(u, v).d;
}
int call_bits_cb(struct bits (*cb)(struct bits), int a) {
    struct bits s = { a, -2, 100 }; struct bits r = cb(s); return r.a * 10000 + r.b * 100 + r.c;
}
int call_packed_cb(int (*cb)(struct packed), int i) {
    struct packed p = { 'p', i, -2 }; return cb(p);
}
long call_big_cb(struct big (*cb)(struct big)) {
    struct big b; for (int i = 0; i < 10; i++) b.v[i] = i; b.d = 0.5;
    struct big r = cb(b); long s = 0;
    for (int i = 0; i < 10; i++) s += r.v[i];
    return s + (long)(r.d * 1000);
}
short call_short_cb(short (*cb)(short), short x) { return cb(x); }

void sort_ints(int *a, size_t n, int (*cmp)(const void *, const void *)) {
    qsort(a, n, sizeof(int), cmp);
}

struct thread_job { int (*cb)(int); int arg; int result; };
static void *thread_main(void *p) {
    struct thread_job *j = p; j->result = j->cb(j->arg); return NULL;
}
int call_in_thread(int (*cb)(int), int x) {
    struct thread_job j = { cb, x, 0 }; pthread_t t;
    if (pthread_create(&t, NULL, thread_main, &j) != 0) return -1;
    pthread_join(t, NULL); return j.result;
}
int call_in_threads(int (*cb)(int), int nthreads, int rounds) {
    struct thread_job jobs[16]; pthread_t ts[16]; int total = 0;
    if (nthreads > 16) nthreads = 16;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < nthreads; i++) {
            jobs[i].cb = cb; jobs[i].arg = i; jobs[i].result = 0;
            pthread_create(&ts[i], NULL, thread_main, &jobs[i]);
        }
        for (int i = 0; i < nthreads; i++) { pthread_join(ts[i], NULL); total += jobs[i].result; }
    }
    return total;
}

void sleep_ms(int ms) { usleep(ms * 1000); }
"""


@pytest.fixture(scope="session")
def libpath(tmp_path_factory):
    d = tmp_path_factory.mktemp("calls")
    src = d / "calls.c"
    src.write_text(C_SOURCE)
    so = d / "libcalls.so"
    subprocess.run(
        [CC, "-O1", "-shared", "-fPIC", "-pthread", "-o", str(so), str(src)],
        check=True,
    )
    return str(so)


@pytest.fixture(scope="session")
def lib(libpath):
    return B.load_library(libpath)


# ---------------------------------------------------------------- types


def P(name):
    return B.new_primitive_type(name)


def ptr(t):
    return B.new_pointer_type(t)


def fn(args, result, ellipsis=False):
    return B.new_function_type(tuple(args), result, ellipsis)


VOID = B.new_void_type()
INT = P("int")
LONG = P("long")
DOUBLE = P("double")
FLOAT = P("float")
CHAR = P("char")
CHARP = ptr(CHAR)
VOIDP = ptr(VOID)
INTP = ptr(INT)


def struct(name, fields, union=False, sflags=0, pack=0):
    t = B.new_union_type(name) if union else B.new_struct_type(name)
    B.complete_struct_or_union(t, fields, None, -1, -1, sflags, pack)
    return t


POINT = struct("struct point", [("x", INT, -1), ("y", INT, -1)])
MIXED = struct("struct mixed", [("c", CHAR, -1), ("d", DOUBLE, -1)])
FLOATS3 = struct("struct floats3", [("a", FLOAT, -1), ("b", FLOAT, -1), ("c", FLOAT, -1)])
BIG = struct("struct big", [("v", B.new_array_type(INTP, 10), -1), ("d", DOUBLE, -1)])
UCHAR = P("unsigned char")
TINY = struct("struct tiny", [("a", UCHAR, -1), ("b", UCHAR, -1), ("c", UCHAR, -1)])
IFL = struct("union ifl", [("i", INT, -1), ("f", FLOAT, -1)], union=True)
FD = struct("union fd", [("f", FLOAT, -1), ("d", DOUBLE, -1)], union=True)
WIDE = struct(
    "union wide",
    [("l", P("long long"), -1), ("d", DOUBLE, -1), ("c", B.new_array_type(CHARP, 12), -1)],
    union=True,
)
UINT = P("unsigned int")
BITS = struct("struct bits", [("a", UINT, 3), ("b", INT, 5), ("c", UINT, 12)])
FBITS = struct("struct fbits", [("f", FLOAT, -1), ("flag", UINT, 1), ("rest", UINT, 7)])
SHORT = P("short")
PACKED = struct(
    "struct packed", [("c", CHAR, -1), ("i", INT, -1), ("s", SHORT, -1)], sflags=SF_PACKED
)
PACK2 = struct("struct pack2", [("c", CHAR, -1), ("d", DOUBLE, -1)], pack=2)
_ANON = struct("union anon", [("i", INT, -1), ("f", FLOAT, -1)], union=True)
TAGGED = struct("struct tagged", [("kind", INT, -1), ("", _ANON, -1)])
LD = struct("struct ld", [("x", P("long double"), -1)])


def f_(lib, name, args, result, ellipsis=False):
    return lib.load_function(fn(args, result, ellipsis), name)


# ---------------------------------------------------------------- scalars

INT_TYPES = [
    ("add_int", "int"),
    ("add_schar", "signed char"),
    ("add_uchar", "unsigned char"),
    ("add_short", "short"),
    ("add_ushort", "unsigned short"),
    ("add_uint", "unsigned int"),
    ("add_long", "long"),
    ("add_ulong", "unsigned long"),
    ("add_llong", "long long"),
    ("add_ullong", "unsigned long long"),
    ("add_i8", "int8_t"),
    ("add_u64", "uint64_t"),
    ("add_size", "size_t"),
]


@pytest.mark.parametrize(("name", "tname"), INT_TYPES)
def test_integers_and_their_ranges(lib, name, tname):
    t = P(tname)
    f = f_(lib, name, [t, t], t)
    bits = B.sizeof(t) * 8
    signed = not tname.startswith("u") and tname != "size_t"
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    assert f(40, 2) == 42
    assert f(hi, 0) == hi
    assert f(lo, 0) == lo
    assert f(hi - 1, 1) == hi
    assert type(f(1, 1)) is int
    with pytest.raises(OverflowError, match=f"does not fit '{tname}'"):
        f(hi + 1, 0)
    with pytest.raises(OverflowError):
        f(0, lo - 1)
    with pytest.raises(TypeError):
        f(1.5, 0)
    with pytest.raises(TypeError):
        f("1", 0)
    # cdata and objects with __index__ are integers too
    assert f(B.cast(t, 3), True) == 4


def test_floats(lib):
    assert f_(lib, "add_double", [DOUBLE, DOUBLE], DOUBLE)(1.25, 2) == 3.25
    f = f_(lib, "add_float", [FLOAT, FLOAT], FLOAT)
    assert f(1.5, 0.25) == 1.75
    assert f(0.1, 0) != 0.1 and abs(f(0.1, 0) - 0.1) < 1e-7
    with pytest.raises(TypeError):
        f("x", 1.0)
    ld = P("long double")
    g = f_(lib, "add_ldouble", [ld, ld], ld)
    r = g(1.5, 2.25)
    assert B.typeof(r) is ld
    assert float(r) == 3.75
    assert float(g(r, r)) == 7.5
    assert f_(lib, "int_of_double", [DOUBLE], INT)(B.cast(FLOAT, 7.5)) == 7


def test_bool_char_wchar(lib):
    b = P("_Bool")
    neg = f_(lib, "negate", [b], b)
    assert neg(True) is False
    assert neg(0) is True
    with pytest.raises(OverflowError):
        neg(2)
    nc = f_(lib, "next_char", [CHAR], CHAR)
    assert nc(b"a") == b"b"
    with pytest.raises(TypeError):
        nc("a")
    with pytest.raises(TypeError):
        nc(b"ab")
    w = P("wchar_t")
    assert f_(lib, "next_wchar", [w], w)("A") == "B"


def test_void_and_enum(lib):
    assert f_(lib, "nothing", [], VOID)() is None
    color = B.new_enum_type("enum color", ("RED", "GREEN", "BLUE"), (0, 5, -3), INT)
    nxt = f_(lib, "next_color", [color], color)
    assert nxt(0) == 5
    assert nxt(5) == -3
    assert nxt(B.cast(color, -3)) == 0
    with pytest.raises(TypeError):
        nxt("RED")


# ---------------------------------------------------------------- pointers


def test_pointer_arguments(lib):
    strlen = f_(lib, "my_strlen", [CHARP], P("size_t"))
    assert strlen(b"hello") == 5
    assert strlen(b"") == 0
    assert strlen(B.newp(B.new_array_type(CHARP, None), b"abc")) == 3
    with pytest.raises(TypeError, match="must be a bytes or list or tuple, not str"):
        strlen("hello")
    with pytest.raises(TypeError, match="must be a cdata pointer, not NoneType"):
        strlen(None)
    with pytest.raises(TypeError):
        strlen(42)
    assert strlen(b"x" * 5000) == 5000  # too big for the inline scratch space
    sum_ = f_(lib, "sum_ints", [INTP, INT], INT)
    assert sum_(list(range(3000)), 3000) == sum(range(3000))
    # several temporaries in one call, some inline and some on the heap
    lens3 = f_(lib, "lens3", [CHARP, CHARP, CHARP], P("size_t"))
    assert lens3(b"abc", b"x" * 200, b"y" * 100) == 3 + 200_000 + 100_000_000
    assert lens3(b"a" * 300, b"", b"b" * 7) == 300 + 7_000_000
    first = f_(lib, "first_byte", [ptr(UCHAR)], INT)
    assert first(b"\xff") == 255
    assert first(B.cast(ptr(UCHAR), 0)) == -1
    sum_ = f_(lib, "sum_ints", [INTP, INT], INT)
    assert sum_([1, 2, 3, 4], 4) == 10
    assert sum_((5, 6), 2) == 11
    assert sum_([], 0) == 0
    arr = B.newp(B.new_array_type(INTP, None), [7, 8, 9])
    assert sum_(arr, 3) == 24
    with pytest.raises(OverflowError):
        sum_([1 << 40], 1)
    with pytest.raises(TypeError):
        sum_(B.newp(ptr(LONG), 1), 1)
    fill = f_(lib, "fill_ints", [INTP, INT, INT], VOID)
    out = B.newp(B.new_array_type(INTP, 4))
    fill(out, 4, 10)
    assert list(out) == [10, 11, 12, 13]
    w = P("wchar_t")
    assert f_(lib, "wide_len", [ptr(w)], P("size_t"))("abc\u1234") == 4


def test_pointer_results(lib):
    s = f_(lib, "greeting", [], CHARP)()
    assert B.typeof(s) is CHARP
    assert B.string(s) == b"hello"
    ident = f_(lib, "identity", [VOIDP], VOIDP)
    p = B.newp(INTP, 5)
    q = ident(p)
    assert q == B.cast(VOIDP, p)
    assert ident(b"xyz")
    n = f_(lib, "null_ptr", [], INTP)()
    assert repr(n) == "<cdata 'int *' NULL>"
    assert not n


def test_function_pointers(lib):
    int_int = fn([INT], INT)
    twice = f_(lib, "get_twice", [], int_int)()
    assert B.typeof(twice) is int_int
    assert twice(21) == 42
    apply = f_(lib, "apply", [int_int, INT], INT)
    assert apply(twice, 5) == 10
    assert apply(B.callback(int_int, lambda x: x * x), 7) == 49
    with pytest.raises(TypeError):
        apply(None, 1)
    with pytest.raises(TypeError):
        apply(B.callback(fn([LONG], INT), lambda x: x), 1)


# ---------------------------------------------------------------- structs and unions


def test_structs_by_value(lib):
    make = f_(lib, "make_point", [INT, INT], POINT)
    p = make(3, 4)
    assert B.typeof(p) is POINT
    assert (p.x, p.y) == (3, 4)
    assert repr(p) == "<cdata 'struct point' owning 8 bytes>"
    assert f_(lib, "point_sum", [POINT], INT)(p) == 7
    assert f_(lib, "point_sum", [POINT], INT)({"x": 10, "y": 20}) == 30
    assert f_(lib, "point_sum", [POINT], INT)([1, 2]) == 3
    q = f_(lib, "point_swap", [POINT], POINT)(B.newp(ptr(POINT), [5, 6])[0])
    assert (q.x, q.y) == (6, 5)
    m = f_(lib, "mixed_make", [CHAR, DOUBLE], MIXED)(b"A", 0.5)
    assert (m.c, m.d) == (b"A", 0.5)
    assert f_(lib, "mixed_sum", [MIXED], DOUBLE)(m) == 65.5
    fs = f_(lib, "floats3_scale", [FLOATS3, FLOAT], FLOATS3)([1, 2, 3], 2)
    assert (fs.a, fs.b, fs.c) == (2, 4, 6)
    t = f_(lib, "tiny_rotate", [TINY], TINY)([1, 2, 3])
    assert (t.a, t.b, t.c) == (2, 3, 1)
    b = f_(lib, "big_twice", [BIG], BIG)({"v": list(range(10)), "d": 1.25})
    assert list(b.v) == [2 * i for i in range(10)]
    assert b.d == 2.5
    with pytest.raises(TypeError):
        f_(lib, "point_sum", [POINT], INT)(B.newp(ptr(POINT)))


def test_unions_by_value(lib):
    u = f_(lib, "ifl_from_int", [INT], IFL)(0x3F800000)
    assert u.f == 1.0
    v = B.newp(ptr(IFL))
    v.f = 2.0
    assert f_(lib, "ifl_bits", [IFL], INT)(v[0]) == 0x40000000
    d = f_(lib, "fd_from_double", [DOUBLE], FD)(6.25)
    assert d.d == 6.25
    assert f_(lib, "fd_double", [FD], DOUBLE)(d) == 6.25
    w = f_(lib, "wide_make", [P("long long")], WIDE)(1 << 40)
    assert w.l == 1 << 40 and w.c[8] == b"z"
    assert f_(lib, "wide_sum", [WIDE], P("long long"))(w) == (1 << 40) + ord("z")


def test_bitfields_by_value(lib):
    s = f_(lib, "bits_make", [INT, INT, INT], BITS)(5, -7, 1000)
    assert (s.a, s.b, s.c) == (5, -7, 1000)
    assert f_(lib, "bits_sum", [BITS], INT)({"a": 7, "b": -16, "c": 4095}) == 7 - 16 + 4095
    fb = f_(lib, "fbits_make", [FLOAT, INT], FBITS)(1.5, 1)
    assert (fb.f, fb.flag, fb.rest) == (1.5, 1, 5)
    value = f_(lib, "fbits_value", [FBITS], DOUBLE)
    assert value(fb) == 6.5
    assert value({"f": 2.0, "flag": 0}) == -2.0


def test_packed_and_pragma_pack(lib):
    assert B.sizeof(PACKED) == 7 and B.sizeof(PACK2) == 10
    p = f_(lib, "packed_make", [INT], PACKED)(123456)
    assert (p.c, p.i, p.s) == (b"p", 123456, -2)
    assert f_(lib, "packed_sum", [PACKED], INT)(p) == ord("p") + 123456 - 2
    q = f_(lib, "pack2_make", [DOUBLE], PACK2)(0.5)
    assert (q.c, q.d) == (b"q", 0.5)
    assert f_(lib, "pack2_sum", [PACK2], DOUBLE)(q) == ord("q") + 0.5


def test_anonymous_union_and_long_double_struct(lib):
    t = f_(lib, "tagged_float", [FLOAT], TAGGED)(2.5)
    assert (t.kind, t.f) == (2, 2.5)
    assert f_(lib, "tagged_value", [TAGGED], DOUBLE)({"kind": 1, "i": 9}) == 9
    h = f_(lib, "ld_half", [LD], LD)([3.0])
    assert float(h.x) == 1.5


def test_unsupported_aggregates_raise():
    # cffi's rules kept: zero-length arrays, empty unions, '...;' structs.
    zero = struct("struct z", [("a", B.new_array_type(INTP, 0), -1)])
    with pytest.raises(NotImplementedError, match="zero-length array"):
        B.cast(fn([zero], INT), 123)(B.cast(ptr(zero), 123))
    empty = struct("union e", [], union=True)
    with pytest.raises(NotImplementedError):
        B.cast(fn([], empty), 123)()
    auto = B.new_struct_type("struct auto")
    B.complete_struct_or_union(auto, [("a", INT, -1, 4)])
    with pytest.raises(NotImplementedError, match='declared with "...;"'):
        B.cast(fn([auto], INT), 123)([1])
    cplx = P("double _Complex")
    with pytest.raises(NotImplementedError, match="complex"):
        B.cast(fn([], cplx), 123)()


# ---------------------------------------------------------------- many arguments, variadic


def test_arguments_on_the_stack(lib):
    assert f_(lib, "sum10", [INT] * 10, INT)(*range(1, 11)) == sum(i * i for i in range(1, 11))
    assert f_(lib, "dsum10", [DOUBLE] * 10, DOUBLE)(*[0.5] * 10) == 27.5
    late = f_(lib, "late_struct", [LONG] * 5 + [POINT, LONG], LONG)
    assert late(1, 2, 3, 4, 5, [6, 7], 8) == 15 + 600 + 7000 + 80000
    lu = f_(lib, "late_union", [DOUBLE] * 7 + [FD, DOUBLE], DOUBLE)
    assert lu(*[1.0] * 7, {"d": 2.0}, 3.0) == 7 + 200 + 3000


def test_variadic(lib):
    vsum = f_(lib, "vsum", [INT], INT, ellipsis=True)
    assert vsum(0) == 0
    assert vsum(3, B.cast(INT, 1), B.cast(SHORT, -2), B.cast(CHAR, b"\x05")) == 4
    assert vsum(1, B.cast(P("_Bool"), 1)) == 1
    with pytest.raises(
        TypeError, match="argument 2 passed in the variadic part needs to be a cdata"
    ):
        vsum(1, 42)
    with pytest.raises(TypeError, match="expects at least 1 arguments, got 0"):
        vsum()
    vdsum = f_(lib, "vdsum", [INT], DOUBLE, ellipsis=True)
    assert vdsum(2, B.cast(DOUBLE, 1.5), B.cast(FLOAT, 0.25)) == 1.75
    vpoint = f_(lib, "vpoint", [INT], INT, ellipsis=True)
    pts = B.newp(B.new_array_type(ptr(POINT), 2), [[2, 3], [4, 5]])
    assert vpoint(2, pts[0], pts[1]) == 26
    fmt = f_(lib, "format", [CHARP, P("size_t"), CHARP], INT, ellipsis=True)
    buf = B.newp(B.new_array_type(CHARP, 64))
    ab = B.newp(B.new_array_type(CHARP, None), b"ab")
    n = fmt(buf, 64, b"%d-%s-%.2f", B.cast(INT, -7), ab, B.cast(DOUBLE, 0.5))
    assert B.string(buf) == b"-7-ab-0.50" and n == 10
    # repeated calls with the same extra types reuse one plan
    for i in range(100):
        assert vsum(2, B.cast(INT, i), B.cast(INT, 1)) == i + 1


# ---------------------------------------------------------------- errno


def test_errno_is_saved_and_restored(lib):
    setter = f_(lib, "set_errno_to", [INT], VOID)
    reader = f_(lib, "read_errno", [], INT)
    setter(33)
    assert B.get_errno() == 33
    B.set_errno(12)
    assert reader() == 12
    assert B.get_errno() == 12

    def cb():
        assert B.get_errno() == 7
        B.set_errno(99)

    through = f_(lib, "errno_through", [fn([], VOID)], INT)
    assert through(B.callback(fn([], VOID), cb)) == 99


def test_errno_is_per_thread(lib):
    setter = f_(lib, "set_errno_to", [INT], VOID)
    setter(5)
    seen = []
    t = threading.Thread(target=lambda: (setter(6), seen.append(B.get_errno())))
    t.start()
    t.join()
    assert seen == [6]
    assert B.get_errno() == 5


# ---------------------------------------------------------------- callbacks


def test_callback_basics(lib):
    int_int = fn([INT], INT)
    cb = B.callback(int_int, lambda x: x * 3)
    assert repr(cb).startswith("<cdata 'int(*)(int)' calling <function ")
    assert "<lambda>" in repr(cb)
    assert cb(5) == 15
    assert f_(lib, "call_int_cb", [int_int, INT], INT)(cb, 5) == 16
    dd = fn([DOUBLE, FLOAT], DOUBLE)
    cbd = B.callback(dd, lambda x, y: x * y)
    assert f_(lib, "call_double_cb", [dd, DOUBLE], DOUBLE)(cbd, 3.0) == 1.5
    seen = []
    vv = fn([INT], VOID)
    f_(lib, "call_void_cb", [vv, INT], VOID)(B.callback(vv, seen.append), 8)
    assert seen == [8]
    with pytest.raises(TypeError, match="expected a callable object, not int"):
        B.callback(int_int, 42)
    with pytest.raises(TypeError, match="expected a function ctype, got 'int'"):
        B.callback(INT, abs)
    with pytest.raises(TypeError, match="'onerror'"):
        B.callback(int_int, abs, 0, 5)
    with pytest.raises(TypeError, match="must return None"):
        B.callback(vv, abs, 1)
    with pytest.raises(NotImplementedError):
        B.callback(fn([INT], INT, ellipsis=True), abs)


def test_callback_errors(lib, monkeypatch):
    reports = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)
    ss = fn([SHORT], SHORT)
    call = f_(lib, "call_short_cb", [ss, SHORT], SHORT)

    def boom(x):
        raise ValueError(f"boom {x}")

    assert call(B.callback(ss, boom, -1), 3) == -1
    assert len(reports) == 1
    r = reports[0]
    assert type(r.exc_value) is ValueError and str(r.exc_value) == "boom 3"
    assert r.err_msg.startswith("Exception ignored from cffi callback <function")
    assert "boom" in r.err_msg
    reports.clear()
    assert call(B.callback(ss, lambda x: 40000, 7), 1) == 7
    assert reports[0].err_msg.endswith(", trying to convert the result back to C")
    assert type(reports[0].exc_value) is OverflowError
    reports.clear()
    seen = []

    def onerror(exc, val, tb):
        seen.append((exc, str(val)))
        return 123

    assert call(B.callback(ss, boom, -1, onerror), 4) == 123
    assert seen == [(ValueError, "boom 4")]
    assert reports == []

    def bad_onerror(exc, val, tb):
        raise KeyError("again")

    assert call(B.callback(ss, boom, 9, bad_onerror), 4) == 9
    assert [type(r.exc_value) for r in reports] == [ValueError, KeyError]
    expected = "Exception ignored during handling of the above exception by 'onerror'"
    assert reports[1].err_msg == expected


def test_callback_structs_unions_bitfields(lib):
    pp = fn([POINT], POINT)
    cb = B.callback(pp, lambda p: {"x": p.x + 1, "y": p.y * 2})
    assert f_(lib, "call_point_cb", [pp, INT], INT)(cb, 4) == 5 * 10 - 8
    uu = fn([FD, IFL], FD)

    def ucb(u, v):
        assert v.i == 3
        r = B.newp(ptr(FD))
        r.d = u.d * 4
        return r[0]

    assert f_(lib, "call_union_cb", [uu, DOUBLE], DOUBLE)(B.callback(uu, ucb), 1.5) == 6.0
    bb = fn([BITS], BITS)
    bcb = B.callback(bb, lambda s: [s.a + 1, s.b - 1, s.c * 2])
    assert f_(lib, "call_bits_cb", [bb, INT], INT)(bcb, 3) == 4 * 10000 - 3 * 100 + 200
    pk = fn([PACKED], INT)
    assert f_(lib, "call_packed_cb", [pk, INT], INT)(B.callback(pk, lambda p: p.i + p.s), 50) == 48
    big = fn([BIG], BIG)

    def bigcb(b):
        assert list(b.v) == list(range(10))
        return {"v": [x * 3 for x in b.v], "d": b.d * 2}

    assert f_(lib, "call_big_cb", [big], LONG)(B.callback(big, bigcb)) == 135 + 1000


def test_callback_args_outlive_the_call():
    saved = []
    pp = fn([POINT], INT)
    cb = B.callback(pp, lambda p: saved.append(p) or 0)
    cb([1, 2])
    gc.collect()
    assert (saved[0].x, saved[0].y) == (1, 2)


def test_qsort_with_a_python_comparator(lib):
    import random

    n = 100_000
    values = [random.randrange(-(10**6), 10**6) for _ in range(n)]
    arr = B.newp(B.new_array_type(INTP, None), values)
    cmp_t = fn([VOIDP, VOIDP], INT)

    def cmp(a, b):
        x = B.cast(INTP, a)[0]
        y = B.cast(INTP, b)[0]
        return (x > y) - (x < y)

    f_(lib, "sort_ints", [INTP, P("size_t"), cmp_t], VOID)(arr, n, B.callback(cmp_t, cmp))
    assert list(arr) == sorted(values)


def test_callback_from_c_threads(lib):
    int_int = fn([INT], INT)
    cb = B.callback(int_int, lambda x: x * x + 1)
    assert f_(lib, "call_in_thread", [int_int, INT], INT)(cb, 6) == 37
    many = f_(lib, "call_in_threads", [int_int, INT, INT], INT)
    assert many(cb, 8, 10) == 10 * sum(i * i + 1 for i in range(8))


def test_callbacks_are_freed():
    int_int = fn([INT], INT)

    class Target:
        def __call__(self, x):
            return x

    target = Target()
    cb = B.callback(int_int, target)
    target.cb = cb  # a cycle through the callback
    w_cb, w_target = weakref.ref(cb), weakref.ref(target)
    assert cb(3) == 3
    del cb, target
    gc.collect()
    assert w_cb() is None and w_target() is None


def test_a_lot_of_callbacks():
    int_int = fn([INT], INT)

    def adder(i):
        return lambda x: x + i

    cbs = [B.callback(int_int, adder(i)) for i in range(2000)]
    assert [c(1) for c in cbs[::100]] == [1 + i for i in range(0, 2000, 100)]


# ---------------------------------------------------------------- GIL


def test_the_gil_is_released_during_calls(lib):
    sleep = f_(lib, "sleep_ms", [INT], VOID)
    start = time.perf_counter()
    threads = [threading.Thread(target=sleep, args=(200,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.perf_counter() - start < 0.6


# ---------------------------------------------------------------- errors


def test_call_errors(lib):
    add = f_(lib, "add_int", [INT, INT], INT)
    with pytest.raises(TypeError, match=r"^'int\(\*\)\(int, int\)' expects 2 arguments, got 1$"):
        add(1)
    with pytest.raises(TypeError, match="keyword arguments"):
        add(1, b=2)
    null = B.cast(fn([INT], INT), 0)
    msg = r"cannot call null pointer pointer from cdata 'int\(\*\)\(int\)'"
    with pytest.raises(RuntimeError, match=msg):
        null(1)
    with pytest.raises(TypeError, match="cdata 'int' is not callable"):
        B.cast(INT, 1)()


def test_library_errors(lib, libpath):
    assert repr(lib) == f"<clibrary '{libpath}'>"
    with pytest.raises(AttributeError) as e:
        lib.load_function(fn([], INT), "no_such_function")
    assert "no_such_function" in str(e.value) and libpath in str(e.value)
    with pytest.raises(OSError) as e:
        B.load_library("/nonexistent/libnothing.so")
    assert str(e.value).startswith("cannot load library '/nonexistent/libnothing.so': ")
    assert "No such file" in str(e.value)
    with pytest.raises(TypeError):
        B.load_library(42)
    with pytest.raises(TypeError, match="function or pointer or array cdata expected"):
        lib.load_function(INT, "add_int")
    with pytest.raises(KeyError):
        lib.read_variable(INT, "no_such_variable")
    own = B.load_library(libpath)
    add = own.load_function(fn([INT, INT], INT), "add_int")
    own.close_lib()
    own.close_lib()
    with pytest.raises(ValueError, match="has already been closed"):
        own.load_function(fn([], INT), "add_int")
    with pytest.raises(ValueError, match="has already been closed"):
        own.read_variable(INT, "global_counter")
    assert add(1, 2) == 3  # still loaded: the session's handle keeps it


def test_variables(lib):
    assert lib.read_variable(INT, "global_counter") == 42
    lib.write_variable(INT, "global_counter", 43)
    assert lib.read_variable(INT, "global_counter") == 43
    with pytest.raises(OverflowError):
        lib.write_variable(INT, "global_counter", 1 << 40)
    table = lib.read_variable(B.new_array_type(ptr(DOUBLE), 3), "global_table")
    assert list(table) == [1.5, 2.5, 3.5]
    open_table = lib.read_variable(B.new_array_type(ptr(DOUBLE), None), "global_table")
    assert B.typeof(open_table) is ptr(DOUBLE) and open_table[2] == 3.5
    pt = lib.read_variable(POINT, "global_point")
    assert (pt.x, pt.y) == (3, 4)
    lib.write_variable(POINT, "global_point", [5, 6])
    assert lib.read_variable(POINT, "global_point").y == 6
    addr = lib.load_function(ptr(INT), "global_counter")
    assert addr[0] == 43


def test_main_program_and_libc():
    libc = B.load_library(None)
    assert repr(libc) == "<clibrary '<None>'>"
    strlen = libc.load_function(fn([CHARP], P("size_t")), "strlen")
    assert strlen(b"abcdef") == 6
