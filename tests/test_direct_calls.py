"""The fast call path: `lib` functions as builtins and direct register calls.

`ffi.dlopen(...).f` is a builtin (vectorcall) standing for the function
pointer cdata; calls of signatures whose arguments all travel in registers
skip libffi (`src/call/direct.rs`).  A seeded generator makes C functions
with random scalar signatures (integers of every size and signedness,
`_Bool`, `char`, pointers, `float`, `double`; sometimes more than the
registers hold, which goes back to libffi); gcc compiles them, each records
the arguments it received, and rcffi must agree with gcc on every value,
through the builtin and through the cdata.
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import threading
import time

import pytest

import rcffi

CC = shutil.which("gcc") or shutil.which("cc")
pytestmark = pytest.mark.skipif(CC is None, reason="needs a C compiler")

# name: (C spelling, kind, bits, signed)
SCALARS = {
    "sc": ("signed char", "int", 8, True),
    "uc": ("unsigned char", "int", 8, False),
    "ss": ("short", "int", 16, True),
    "us": ("unsigned short", "int", 16, False),
    "si": ("int", "int", 32, True),
    "ui": ("unsigned int", "int", 32, False),
    "sl": ("long", "int", 64, True),
    "ull": ("unsigned long long", "int", 64, False),
    "b": ("_Bool", "bool", 8, False),
    "c": ("char", "char", 8, False),
    "f": ("float", "float", 32, True),
    "d": ("double", "float", 64, True),
    "p": ("int *", "ptr", 64, False),
}
COUNT = 120


def gen_signatures(seed=1234):
    rnd = random.Random(seed)
    names = list(SCALARS)
    sigs = []
    for i in range(COUNT):
        n = rnd.choice([0, 1, 2, 3, 4, 5, 6, 7, 9, 12])
        args = [rnd.choice(names) for _ in range(n)]
        if i % 10 == 0:  # many floats: past the eight SSE registers
            args = ["d", "f"] * 5
        ret = rnd.choice(names + ["void"])
        sigs.append((f"rf{i}", args, ret))
    return sigs


SIGS = gen_signatures()


def c_source():
    out = [
        "#include <string.h>",
        "long long rec_i[16]; double rec_d[16]; int rec_n;",
        "int target[4] = {7, 8, 9, 10};",
    ]
    for name, args, ret in SIGS:
        params = ", ".join(f"{SCALARS[a][0]} a{k}" for k, a in enumerate(args)) or "void"
        rtype = "void" if ret == "void" else SCALARS[ret][0]
        body = [f"rec_n = {len(args)};"]
        for k, a in enumerate(args):
            kind = SCALARS[a][1]
            if kind == "float":
                body.append(f"rec_d[{k}] = a{k};")
            elif kind == "ptr":
                body.append(f"rec_i[{k}] = (long long)(a{k} - target);")
            elif kind == "char":
                body.append(f"rec_i[{k}] = (long long)(unsigned char)a{k};")
            else:
                body.append(f"rec_i[{k}] = (long long)a{k};")
        if ret != "void":
            kind = SCALARS[ret][1]
            if kind == "float":
                body.append(f"return ({rtype})(0.5 + {len(args)});")
            elif kind == "ptr":
                body.append(f"return target + {len(args) % 4};")
            elif kind == "bool":
                body.append(f"return {len(args) % 2};")
            else:
                # a value that uses the high bits of the type
                body.append(f"return ({rtype})(-1234567 * ({len(args)} + 3));")
        out.append(f"{rtype} {name}({params}) {{ {' '.join(body)} }}")
    out.append(
        r"""
int add(int a, int b) { return a + b; }
int apply(int (*f)(int, int), int x) { return f(x, 1); }
struct ops { int (*op)(int, int); };
int apply_s(struct ops *s, int x) { return s->op(x, 10); }
#include <stdarg.h>
int sum_va(int n, ...) { va_list ap; va_start(ap, n); int s = 0;
  for (int i = 0; i < n; i++) s += va_arg(ap, int); va_end(ap); return s; }
#include <unistd.h>
void nap(int ms) { usleep(ms * 1000); }
#include <errno.h>
int set_errno(int v) { int old = errno; errno = v; return old; }
#include <stdlib.h>
void sort_ints(int *a, int n, int (*cmp)(const void *, const void *))
{ qsort(a, n, sizeof(int), cmp); }
struct big { double a, b, c; long d; };
struct big scale(struct big x, short k) {
  struct big r = {x.a * k, x.b * k, x.c * k, x.d * k}; return r; }
void _rcffi_call_scale(void **args, void *result) {
  *(struct big *)result = scale(*(struct big *)args[0], *(short *)args[1]); }
int stub_calls;
short neg(short x) { return -x; }
void _rcffi_call_neg(void **args, void *result) {
  stub_calls++; *(short *)result = neg(*(short *)args[0]); }
"""
    )
    return "\n".join(out)


CDEF_EXTRA = """
int add(int a, int b);
int apply(int (*f)(int, int), int x);
struct ops { int (*op)(int, int); };
int apply_s(struct ops *s, int x);
int sum_va(int n, ...);
void nap(int ms);
int set_errno(int v);
void sort_ints(int *a, int n, int (*cmp)(const void *, const void *));
struct big { double a, b, c; long d; };
struct big scale(struct big x, short k);
void _rcffi_call_scale(void **args, void *result);
extern int stub_calls;
short neg(short x);
void _rcffi_call_neg(void **args, void *result);
extern long long rec_i[16];
extern double rec_d[16];
extern int rec_n;
extern int target[4];
"""


def cdef_source():
    lines = []
    for name, args, ret in SIGS:
        params = ", ".join(SCALARS[a][0] for a in args) or "void"
        rtype = "void" if ret == "void" else SCALARS[ret][0]
        lines.append(f"{rtype} {name}({params});")
    return "\n".join(lines) + CDEF_EXTRA


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("direct")
    src = d / "direct.c"
    src.write_text(c_source())
    so = d / "libdirect.so"
    subprocess.run([CC, "-O2", "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    ffi = rcffi.FFI()
    ffi.cdef(cdef_source())
    return ffi, ffi.dlopen(str(so))


def wrap(v, bits, signed):
    v &= (1 << bits) - 1
    if signed and v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def make_args(rnd, ffi, lib, args):
    vals, expect = [], []
    for a in args:
        _, kind, bits, signed = SCALARS[a]
        if kind == "int":
            lo = -(1 << (bits - 1)) if signed else 0
            hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
            v = rnd.choice([lo, hi, 0, -1 if signed else 1, rnd.randint(lo, hi)])
            vals.append(v)
            expect.append(("i", v))
        elif kind == "bool":
            v = rnd.choice([True, False, 0, 1])
            vals.append(v)
            expect.append(("i", int(v)))
        elif kind == "char":
            v = bytes([rnd.randint(0, 255)])
            vals.append(v)
            expect.append(("i", v[0]))
        elif kind == "float":
            v = rnd.choice([0.0, -1.5, 1e300, rnd.uniform(-1e6, 1e6), 3])
            vals.append(v)
            if bits == 32:
                expect.append(("d", f32(float(v)) if abs(v) < 1e38 else float("inf")))
            else:
                expect.append(("d", float(v)))
        else:
            k = rnd.randint(0, 3)
            vals.append(lib.target if k == 0 else lib.target + k)
            expect.append(("i", k))
    return vals, expect


def check_result(ffi, lib, ret, nargs, r):
    if ret == "void":
        assert r is None
        return
    _, kind, bits, signed = SCALARS[ret]
    if kind == "float":
        assert r == 0.5 + nargs
    elif kind == "ptr":
        assert ffi.typeof(r) is ffi.typeof("int *")
        assert r == lib.target + nargs % 4
    elif kind == "bool":
        assert r == nargs % 2
    elif kind == "char":
        assert r == bytes([wrap(-1234567 * (nargs + 3), 8, False)])
    else:
        assert r == wrap(-1234567 * (nargs + 3), bits, signed)


@pytest.mark.parametrize("sig", SIGS, ids=[s[0] for s in SIGS])
def test_random_signatures(env, sig):
    ffi, lib = env
    name, args, ret = sig
    rnd = random.Random(name)
    f = getattr(lib, name)
    cdata = ffi.addressof(lib, name)
    for call in (f, cdata):
        for _ in range(3):
            vals, expect = make_args(rnd, ffi, lib, args)
            r = call(*vals)
            check_result(ffi, lib, ret, len(args), r)
            assert lib.rec_n == len(args)
            for k, (which, v) in enumerate(expect):
                if which == "i":
                    got = lib.rec_i[k]
                    if SCALARS[args[k]][1] == "int":
                        _, _, bits, signed = SCALARS[args[k]]
                        assert got == wrap(wrap(v, bits, signed), 64, True), (k, args)
                    else:
                        assert got == v, (k, args)
                else:
                    assert lib.rec_d[k] == v, (k, args)


def register_counts(args):
    ints = sum(SCALARS[a][1] != "float" for a in args)
    return ints, len(args) - ints


@pytest.mark.parametrize("sig", SIGS, ids=[s[0] for s in SIGS])
def test_direct_when_everything_is_in_registers(env, sig):
    ffi, lib = env
    name, args, ret = sig
    ints, sses = register_counts(args)
    kind = rcffi._cffi_backend._call_invoker(ffi.typeof(getattr(lib, name)))
    assert kind == ("direct" if ints <= 6 and sses <= 8 else "libffi")


@pytest.mark.parametrize(
    "decl, kind",
    [
        ("int(*)(int, int)", "direct"),
        ("long double(*)(double)", "libffi"),
        ("double(*)(long double)", "libffi"),
        ("int(*)(int, ...)", "variadic"),
        ("struct s2 { int a; double b; }(*)(struct s2)", "direct"),
        ("struct s3 { double a, b, c; }(*)(struct s3)", "libffi"),
        ("int(*)(int, int, int, int, int, struct s2)", "direct"),
        ("int(*)(int, int, int, int, int, int, struct s2)", "libffi"),
    ],
)
def test_invoker_choice(decl, kind):
    ffi = rcffi.FFI()
    ffi.cdef("struct s2 { int a; double b; }; struct s3 { double a, b, c; };")
    decl = decl.replace("{ int a; double b; }", "").replace("{ double a, b, c; }", "")
    assert rcffi._cffi_backend._call_invoker(ffi.typeof(decl)) == kind


def test_lib_function_object(env):
    ffi, lib = env
    add = lib.add
    assert type(add).__name__ == "builtin_function_or_method"
    assert add.__name__ == "add"
    assert add.__doc__.startswith("int add(int, int);")
    assert "built-in method add" in repr(add)
    assert lib.add is add  # cached on the lib
    assert "add" in dir(lib)
    assert ffi.typeof(add) is ffi.typeof("int(*)(int, int)")
    p = ffi.addressof(lib, "add")
    assert ffi.typeof(p) is ffi.typeof("int(*)(int, int)")
    assert p is add.__self__.cdata
    assert p == add and add == p and not (p != add)
    assert ffi.cast("void *", add) == ffi.cast("void *", p)
    assert int(ffi.cast("intptr_t", add)) == int(ffi.cast("intptr_t", p))
    assert p(2, 3) == add(2, 3) == 5


def test_lib_function_as_function_pointer(env):
    ffi, lib = env
    assert lib.apply(lib.add, 41) == 42
    s = ffi.new("struct ops *", {"op": lib.add})
    assert lib.apply_s(s, 5) == 15
    s.op = lib.add
    assert s.op == lib.add
    arr = ffi.new("int(*[2])(int, int)", [lib.add, lib.add])
    assert arr[1](1, 1) == 2
    with pytest.raises(TypeError):
        lib.apply(lib.nap, 1)  # another function type


def test_call_errors_name_the_function_and_argument(env):
    ffi, lib = env
    with pytest.raises(TypeError, match=r"add\(\) takes exactly 2 arguments \(1 given\)"):
        lib.add(1)
    with pytest.raises(TypeError, match="takes no keyword arguments"):
        lib.add(1, b=2)
    with pytest.raises(OverflowError) as e:
        lib.add(1, 2**40)
    assert "in argument 2 of add()" in e.value.__notes__
    with pytest.raises(TypeError) as e:
        lib.add("x", 2)
    assert "in argument 1 of add()" in e.value.__notes__
    with pytest.raises(TypeError):
        lib.apply(None, 1)
    null = ffi.cast("int(*)(int, int)", 0)
    with pytest.raises(RuntimeError, match="null pointer"):
        null(1, 2)


def test_conversions_beyond_the_fast_path(env):
    ffi, lib = env
    assert lib.add(True, ffi.cast("int", 5)) == 6
    assert lib.add(ffi.cast("short", -3), 2) == -1
    with pytest.raises(TypeError):
        lib.add(1.5, 2)


def test_variadic_through_lib(env):
    ffi, lib = env
    assert lib.sum_va(3, ffi.cast("int", 1), ffi.cast("int", 2), ffi.cast("int", 3)) == 6
    with pytest.raises(TypeError, match="at least 1 arguments"):
        lib.sum_va()


def test_gil_released_during_direct_calls(env):
    ffi, lib = env
    ticks = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.01)
        before = len(ticks)
        lib.nap(200)
        during = len(ticks) - before
    finally:
        stop.set()
        t.join()
    assert during > 20


def test_errno_around_direct_calls(env):
    ffi, lib = env
    ffi.errno = 17
    assert lib.set_errno(33) == 17
    assert ffi.errno == 33


def test_callback_calling_back_into_c(env):
    ffi, lib = env
    seen = []

    @ffi.callback("int(const void *, const void *)")
    def cmp(a, b):
        x = ffi.cast("int *", a)[0]
        y = ffi.cast("int *", b)[0]
        seen.append(lib.add(x, y))  # a direct call from inside a callback
        return (x > y) - (x < y)

    a = ffi.new("int[]", [5, 3, 9, 1, 7])
    lib.sort_ints(a, 5, cmp)
    assert list(a) == [1, 3, 5, 7, 9]
    assert seen

    # Nested: a callback calls C, which calls another callback, which
    # calls C again (the GIL is released and taken back at each level).
    @ffi.callback("int(int, int)")
    def inner(x, y):
        return lib.add(x, y) * 2

    @ffi.callback("int(int, int)")
    def outer(x, y):
        return lib.apply(inner, x) + y

    assert lib.apply(outer, 10) == (10 + 1) * 2 + 1
    threads = [threading.Thread(target=lambda: seen.append(lib.apply(outer, 1))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen[-4:] == [5, 5, 5, 5]


def test_callback_from_a_thread_while_main_is_in_c(env):
    ffi, lib = env
    results = []

    def worker():
        results.append(lib.add(20, 22))

    t = threading.Thread(target=worker)
    t.start()
    lib.nap(50)
    t.join()
    assert results == [42]


def test_argument_stubs(env):
    """API mode's compiled `void stub(void **args, void *result)`."""
    ffi, lib = env
    B = rcffi._cffi_backend

    def stub_of(name):
        return int(ffi.cast("intptr_t", ffi.addressof(lib, "_rcffi_call_" + name)))

    scale = B._rcffi_function(ffi.addressof(lib, "scale"), "scale", "test", stub_of("scale"))
    r = scale({"a": 1.5, "b": -2.0, "c": 0.25, "d": 7}, 4)
    assert (r.a, r.b, r.c, r.d) == (6.0, -8.0, 1.0, 28)
    neg = B._rcffi_function(ffi.addressof(lib, "neg"), "neg", "test", stub_of("neg"))
    before = lib.stub_calls
    assert neg(-32768) == -32768 and neg(5) == -5
    assert lib.stub_calls == before + 2
    with pytest.raises(OverflowError):
        neg(40000)
    with pytest.raises(TypeError, match=r"takes exactly one argument \(0 given\)"):
        neg()


def test_null_function_pointer_as_builtin():
    ffi = rcffi.FFI()
    f = rcffi._cffi_backend._rcffi_function(ffi.cast("int(*)(int)", 0), "nothing")
    with pytest.raises(RuntimeError, match="null pointer"):
        f(1)


def test_api_mode_functions(tmp_path, monkeypatch):
    """API mode's `lib` functions are the same builtins: direct calls where
    the registers allow, the compiled argument stub for what libffi cannot
    describe (complex numbers, structs completed by the compiler)."""
    import importlib
    import sys

    ffi = rcffi.FFI()
    ffi.cdef(
        """int add3(int, int, int); double _Complex twice(double _Complex);
        struct hid { int a; ...; }; struct hid mk(int); int geta(struct hid);
        int apply(int (*)(int, int), int);"""
    )
    ffi.set_source(
        "_direct_api_mod",
        r"""
        #include <complex.h>
        int add3(int a, int b, int c) { return a + b + c; }
        double _Complex twice(double _Complex z) { return z * 2; }
        struct hid { double pad; int a; long more[3]; };
        struct hid mk(int a) { struct hid h = {0}; h.a = a; return h; }
        int geta(struct hid h) { return h.a; }
        static int add2(int a, int b) { return a + b; }
        int apply(int (*f)(int, int), int x) { return f ? f(x, 1) : add2(x, 2); }
        """,
    )
    ffi.compile(tmpdir=str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        mod = importlib.import_module("_direct_api_mod")
        lib, affi = mod.lib, mod.ffi
        assert type(lib.add3).__name__ == "builtin_function_or_method"
        assert lib.add3(1, 2, 3) == 6
        assert rcffi._cffi_backend._call_invoker(affi.typeof(lib.add3)) == "direct"
        p = affi.addressof(lib, "add3")
        assert affi.typeof(p) is affi.typeof("int(*)(int, int, int)")
        assert p == lib.add3 and p(1, 1, 1) == 3
        assert lib.twice(1 + 2j) == 2 + 4j
        assert lib.geta(lib.mk(7)) == 7
        assert lib.apply(affi.NULL, 5) == 7
    finally:
        sys.modules.pop("_direct_api_mod", None)
        sys.modules.pop("_direct_api_mod.lib", None)


def test_calls_after_dlclose_raise(env, tmp_path):
    ffi, lib = env
    ffi2 = rcffi.FFI()
    ffi2.cdef("int add(int a, int b);")
    path = object.__getattribute__(lib, "_name")
    lib2 = ffi2.dlopen(path)
    add = lib2.add
    assert add(1, 2) == 3
    ffi2.dlclose(lib2)
    with pytest.raises(ValueError, match="has already been closed"):
        add(1, 2)
    assert lib.add(1, 2) == 3  # the other handle keeps the library
