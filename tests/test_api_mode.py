"""API mode: ``set_source`` + ``compile``, ``verify``, the generated C (no
Python.h), the completion of ``...`` declarations from the compiler, the
checks of the cdef against the C code, and the generated module."""

from __future__ import annotations

import ctypes
import importlib.machinery
import os
import pwd
import re
import subprocess
import sys
import sysconfig

import pytest
from api_support import (
    address,
    builder_fixture,
    call_stub,
    ctypes_function,
    load_extension,
    module_name,
    needs_calls,
    stub_addresses,
    write,
)

import rcffi
from rcffi import FFIError, VerificationError, VerificationWarning


@pytest.fixture
def builder(tmp_path, monkeypatch):
    yield from builder_fixture(tmp_path, monkeypatch)


# -- set_source and the files of compile() ------------------------------------


def test_set_source_checks():
    ffi = rcffi.FFI()
    with pytest.raises(ValueError, match="must not contain '/'"):
        ffi.set_source("abc/def", "")
    for bad in ("1abc", "abc-def", "a..b", "", "a.1b"):
        with pytest.raises(ValueError, match="identifiers"):
            rcffi.FFI().set_source(bad, "")
    with pytest.raises(TypeError):
        rcffi.FFI().set_source(42, "")
    with pytest.raises(TypeError, match="unexpected keyword argument 'include_dir'"):
        rcffi.FFI().set_source("m", "", include_dir=["x"])
    with pytest.raises(TypeError, match="'libraries' must be a list .or a string., not int"):
        rcffi.FFI().set_source("m", "", libraries=5)
    ffi.set_source("good.name_1", "")
    with pytest.raises(ValueError, match="several times"):
        ffi.set_source("other", "")
    with pytest.raises(ValueError, match="set_source"):
        rcffi.FFI().compile()


def test_compile_outputs_and_import(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef("int add(int, int); struct pt { int x, y; };")
    ffi.set_source(name, "int add(int a, int b) { return a + b; }\nstruct pt { int x, y; };")
    path = builder.compile(ffi)
    assert os.path.isabs(path) and path.endswith(".abi3.so")
    names = set(os.listdir(builder.dir))
    assert {f"{name}.c", f"{name}.abi3.so", f"{name}.rcffi.json"} <= names
    assert f"{name}.py" not in names
    # An ordinary extension module, for every CPython (the stable ABI).
    assert ".abi3.so" in importlib.machinery.EXTENSION_SUFFIXES
    mod = builder.import_(name)
    assert mod.__file__ == path
    ffi2, lib = mod.ffi, mod.lib
    # As in cffi, the ffi of a compiled module is a _cffi_backend.FFI.
    assert type(ffi2) is rcffi._cffi_backend.FFI
    assert repr(ffi2).startswith("<_cffi_backend.FFI object at")
    assert repr(lib) == f"<Lib object for '{name}'>"
    assert dir(lib) == ["add"]
    assert ffi2.typeof(lib.add) is ffi2.typeof("int(*)(int, int)")
    assert ffi2.sizeof("struct pt") == 8
    add = ctypes_function(ffi2, lib.add, ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert add(40, 2) == 42
    assert sys.modules[name + ".lib"] is lib
    with pytest.raises(AttributeError, match="no function, constant or global variable"):
        _ = lib.nothing


def test_no_python_h_and_no_libpython(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef("int twice(int);")
    ffi.set_source(name, "int twice(int x) { return 2 * x; }")
    path = builder.compile(ffi)
    with open(os.path.join(builder.dir, name + ".c")) as f:
        assert "Python.h" not in f.read()
    nm = subprocess.run(["nm", "-D", "--undefined-only", path], capture_output=True, text=True)
    if nm.returncode == 0:
        # Only the stable-ABI functions PyInit_NAME calls, found in the
        # interpreter that imports the module.
        used = {w for w in nm.stdout.split() if w.startswith("Py")}
        assert used == {
            "PyImport_ImportModule",
            "PyLong_FromVoidPtr",
            "PyObject_CallMethod",
            "Py_DecRef",
        }
    defined = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True)
    if defined.returncode == 0:
        assert f"PyInit_{name}" in defined.stdout.split()
    readelf = subprocess.run(["readelf", "-d", path], capture_output=True, text=True)
    if readelf.returncode == 0:
        assert "libpython" not in readelf.stdout


def test_module_in_package_and_target(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef("#define ANSWER ...")
    ffi.set_source(f"pkg_{name}.inner", "#define ANSWER 42")
    path = builder.compile(ffi)
    assert path == os.path.join(builder.dir, f"pkg_{name}", "inner.abi3.so")
    write(os.path.join(builder.dir, f"pkg_{name}", "__init__.py"), "")
    mod = builder.import_(f"pkg_{name}.inner")
    assert mod.lib.ANSWER == 42
    builder.names.append(f"pkg_{name}")
    # compile(target="name.*"), as in cffi: the file 'name' with this
    # platform's suffix; it is still the module 'pkg.inner'.
    path = builder.compile(ffi, target="custom.*")
    assert path == os.path.join(builder.dir, f"pkg_{name}", "custom.so")
    again = load_extension(f"pkg_{name}.inner", path)
    assert again.lib.ANSWER == 42


def test_abi_out_of_line_module(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef("struct s { int a; long b; }; int abs(int);")
    ffi.set_source(name, None)
    path = builder.compile(ffi)
    assert path == os.path.join(builder.dir, name + ".py")
    mod = builder.import_(name)
    assert mod.ffi.sizeof("struct s") == 16
    assert not hasattr(mod, "lib")
    out = os.path.join(builder.dir, "emitted.py")
    ffi.emit_python_code(out)
    with open(out) as f:
        text = f.read()
    # cffi's format, reading rcffi's backend.
    assert "from rcffi import _cffi_backend" in text
    assert f"ffi = _cffi_backend.FFI('{name}',\n    _version = 0x2601," in text
    with open(path) as f:
        assert f.read() == text
    with pytest.raises(TypeError):
        ffi.emit_c_code(out)


def test_emit_c_code(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef("int f(int);")
    ffi.set_source("m", "int f(int x) { return x; }")
    out = str(tmp_path / "m.c")
    ffi.emit_c_code(out)
    with open(out) as f:
        text = f.read()
    assert "int f(int x) { return x; }" in text
    assert "_cffi_d_f" in text and "_rcffi_call_f" in text
    # The compiler names the user's own lines.
    user, after = text.split("return x; }", 1)
    assert "#line 1 \"set_source('m')\"" in user and after.lstrip().startswith("#line")
    assert "PyObject *PyInit_m(void)" in text
    with pytest.raises(TypeError):
        ffi.emit_python_code(out)


# -- what the compiler completes ------------------------------------------------

PWUID_CDEF = """
    typedef int... uid_t;
    struct passwd {
        char *pw_name;
        uid_t pw_uid;
        char *pw_dir;
        ...;
    };
    struct passwd *getpwnam(const char *);
"""


def test_partial_struct_and_dots_typedef(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef(PWUID_CDEF)
    ffi.set_source(name, "#include <sys/types.h>\n#include <pwd.h>\n")
    mod = builder.load(ffi)
    ffi2 = mod.ffi
    assert ffi2.typeof("uid_t") is ffi2.typeof(f"uint{8 * ctypes.sizeof(ctypes.c_uint)}_t")
    # Read real entries of the password database through the layout the
    # compiler gave, and compare with Python's pwd module.
    libc = ctypes.CDLL(None)
    libc.getpwnam.restype = ctypes.c_void_p
    libc.getpwnam.argtypes = [ctypes.c_char_p]
    entries = [e for e in pwd.getpwall() if e.pw_uid != 0][:3] + [pwd.getpwuid(0)]
    for entry in entries:
        p = ffi2.cast("struct passwd *", libc.getpwnam(entry.pw_name.encode()))
        assert ffi2.string(p.pw_name).decode() == entry.pw_name
        assert p.pw_uid == entry.pw_uid
        assert ffi2.string(p.pw_dir).decode() == entry.pw_dir
    # The builder FFI stays ABI-only: its partial struct has no layout.
    with pytest.raises(Exception, match="API mode"):
        ffi.sizeof("struct passwd")


def test_struct_layouts_from_the_compiler(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        struct hidden { int a; double d; ...; };
        typedef struct { short s; ...; } anon_t;
        struct withlen { int n; int items[...]; };
        union u { int i; ...; };
        typedef struct { long z; } *anp_t;
        """
    )
    ffi.set_source(
        name,
        """
        struct hidden { char x; int a; char y; double d; char tail[3]; };
        typedef struct { char pad[6]; short s; } anon_t;
        struct withlen { int n; int items[7]; };
        union u { int i; char c[12]; };
        typedef struct { long z; } *anp_t;
        """,
    )
    mod = builder.load(ffi)
    f = mod.ffi
    assert (f.offsetof("struct hidden", "a"), f.offsetof("struct hidden", "d")) == (4, 16)
    assert f.sizeof("struct hidden") == 32
    assert f.alignof("struct hidden") == 8
    assert (f.sizeof("anon_t"), f.offsetof("anon_t", "s")) == (8, 6)
    assert f.sizeof("struct withlen") == 32
    assert f.typeof("struct withlen").fields[1][1].type is f.typeof("int[7]")
    assert f.sizeof("union u") == 12
    p = f.new("struct hidden *", {"a": -5, "d": 2.5})
    assert (p.a, p.d) == (-5, 2.5)
    assert f.sizeof(f.typeof("anp_t").item) == 8


def test_constants(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        #define NEG ...
        #define BIG ...
        #define CHECKED 42
        #define WRONG 1
        static const int K;
        static const double D;
        static const long L = 7;
        static char *const S;
        enum color { RED, GREEN, ... };
        typedef enum { XA, XB, ... } xenum_t;
        enum full { F0, F1 };
        """
    )
    ffi.set_source(
        name,
        """
        #define NEG (-123)
        #define BIG 0xffffffffffffffffULL
        #define CHECKED 42
        #define WRONG 2
        static const int K = -7;
        #define D 2.25
        static const long L = 8;
        static char *const S = "hello";
        enum color { BLUE = -1, GREEN = 5, RED = 9 };
        typedef enum { XB = 300, XA = 100000000000 } xenum_t;
        enum full { F0, F1 };
        """,
    )
    mod = builder.load(ffi)
    f, lib = mod.ffi, mod.lib
    assert (lib.NEG, lib.BIG, lib.CHECKED, lib.K, lib.D) == (-123, 2**64 - 1, 42, -7, 2.25)
    assert (lib.RED, lib.GREEN, lib.XA, lib.XB, lib.F1) == (9, 5, 100000000000, 300, 1)
    assert f.string(lib.S) == b"hello"
    with pytest.raises(FFIError, match="the C compiler says 'WRONG' is equal to 2"):
        _ = lib.WRONG
    with pytest.raises(FFIError, match="the C compiler says 'L' is equal to 8"):
        _ = lib.L
    assert f.sizeof("enum color") == 4
    assert f.sizeof("xenum_t") == 8
    assert repr(f.cast("enum color", 9)) == "<cdata 'enum color' 9: RED>"
    with pytest.raises(AttributeError):
        lib.NEG = 5


def test_globals(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        extern int counter;
        extern int table[...];
        extern double grid[4];
        struct point { int x, y; };
        extern struct point origin;
        extern const char *greeting;
        """
    )
    ffi.set_source(
        name,
        """
        int counter = 5;
        int table[11] = {1, 2, 3};
        double grid[4] = {0.5};
        struct point { int x, y; } origin = {3, 4};
        const char *greeting = "hi";
        """,
    )
    mod = builder.load(ffi)
    f, lib = mod.ffi, mod.lib
    assert lib.counter == 5
    lib.counter = -9
    assert lib.counter == -9
    assert f.cast("int *", f.addressof(lib, "counter"))[0] == -9
    assert len(lib.table) == 11 and list(lib.table)[:4] == [1, 2, 3, 0]
    lib.table[10] = 77
    assert lib.table[10] == 77
    assert f.typeof(lib.grid) is f.typeof("double[4]")
    assert (lib.origin.x, lib.origin.y) == (3, 4)
    lib.origin.x = 30
    assert lib.origin.x == 30
    assert f.string(lib.greeting) == b"hi"
    with pytest.raises(OverflowError):
        lib.counter = 2**31
    with pytest.raises(AttributeError):
        del lib.counter


def test_dots_typedef_forms(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        typedef int... small_t;
        typedef int... big_t;
        typedef float... real_t;
        typedef ... opaque_t;
        typedef ... *handle_t;
        typedef short vec_t[...];
        small_t f_small(big_t);
        opaque_t *f_opaque(handle_t);
        """
    )
    ffi.set_source(
        name,
        """
        typedef signed char small_t;
        typedef unsigned long long big_t;
        typedef double real_t;
        typedef struct opaque_s opaque_t;
        typedef struct handle_s *handle_t;
        typedef short vec_t[5];
        small_t f_small(big_t x) { return (small_t)x; }
        opaque_t *f_opaque(handle_t h) { return (opaque_t *)h; }
        """,
    )
    mod = builder.load(ffi)
    f = mod.ffi
    assert f.typeof("small_t") is f.typeof("int8_t")
    assert f.typeof("big_t") is f.typeof("uint64_t")
    assert f.typeof("real_t") is f.typeof("double")
    assert f.typeof("vec_t") is f.typeof("short[5]")
    assert f.typeof(mod.lib.f_small) is f.typeof("int8_t(*)(uint64_t)")
    assert f.typeof("opaque_t *").kind == "pointer"
    with pytest.raises(Exception, match="unknown size"):
        f.sizeof("opaque_t")


# -- checks of the cdef against the C code ----------------------------------------

CONTRADICTIONS = [
    ("int add(int, int);", "double add(double a, double b) { return a + b; }", "function 'add'"),
    ("int nothere(int);", "", "function 'nothere'"),
    ("int f(struct s *);", "struct s; int f(int x) { return x; }", "function 'f'"),
    ("int f(int, int);", "int f(int x) { return x; }", "function 'f'"),
    ("struct s { int a; };", "struct s { long a; };", "struct s"),
    ("struct s { int a; int b; };", "struct s { int b; int a; };", "field 'a'"),
    ("struct s { int a; ...; };", "struct s { double a; };", "field 'a'"),
    ("struct s { char *p; ...; };", "struct s { long p; };", "struct s"),
    ("extern int g;", "long g;", "global variable 'g'"),
    ("extern double g;", "long g;", "global variable 'g'"),
    ("typedef int... t;", "typedef double t;", "typedef 't'"),
    ("typedef float... t;", "typedef int t;", "typedef 't'"),
    ("enum e { A, B };", "enum e { B, A };", "enum e"),
    ("#define X ...", '#define X "text"', "'#define X ...'"),
]


@pytest.mark.parametrize(("cdef", "source", "named"), CONTRADICTIONS)
def test_contradictions_are_compile_errors(tmp_path, cdef, source, named):
    ffi = rcffi.FFI()
    ffi.cdef(cdef)
    with pytest.raises(VerificationError) as info:
        ffi.verify(source, tmpdir=str(tmp_path))
    message = str(info.value)
    assert "does not match the C code" in message
    assert f"  {named}" in message or named in message.split("compiler output")[0]
    assert "cdef line 1" in message
    assert os.path.exists(info.value.c_file)


def test_same_kind_differences_warn(tmp_path):
    # seed 002: the cdef says 'double **', C says 'double (*)[Ny]'.
    ffi = rcffi.FFI()
    ffi.cdef("void evolve(int Nx, int Ny, double **in, double **out, double D, double dt);")
    source = r"""
        void evolve(int Nx, int Ny, double in[][Ny], double out[][Ny], double D, double dt) {
            out[0][0] = in[0][0] * D * dt + Nx;
        }
    """
    with pytest.warns(VerificationWarning, match="function 'evolve' .*incompatible pointer"):
        lib = ffi.verify(source, tmpdir=str(tmp_path))
    assert ffi.typeof(lib.evolve) is ffi.typeof(
        "void(*)(int, int, double **, double **, double, double)"
    )


def test_c_error_in_user_code(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef("int f(int);")
    with pytest.raises(VerificationError) as info:
        ffi.verify("int f(int x) { return x }", tmpdir=str(tmp_path))
    message = str(info.value)
    assert "error: expected" in message and "generated file:" in message
    assert info.value.c_file.endswith(".c") and os.path.exists(info.value.c_file)
    # The compiler names the user's own line (a #line directive), and the
    # message says the error is in the set_source() code.
    assert "(an error in the set_source() code)" in message
    assert re.search(r"set_source\('_rcffi_v_\w+'\):1:\d+: error: expected", message)


def test_struct_mismatch_is_one_clear_line(tmp_path):
    """One line per contradicted declaration, saying all that differs."""
    ffi = rcffi.FFI()
    ffi.cdef("struct s { int a; int b; };")
    with pytest.raises(VerificationError) as info:
        ffi.verify("struct s { int b; long a; };", tmpdir=str(tmp_path))
    lines = [line for line in info.value.mismatches if "struct s" in line]
    assert len(lines) == 1, info.value.mismatches
    line = lines[0]
    assert line.startswith("  struct s (cdef line 1): ")
    assert "field 'a' at offset 0 in the cdef, elsewhere in C" in line
    assert "field 'b' at offset 4 in the cdef, elsewhere in C" in line
    assert "8 bytes in the cdef, another size in C" in line
    assert line.endswith(
        "; fix the cdef, or declare the struct with '...;' to take the layout of the C compiler"
    )
    assert line.count("fix the cdef") == 1


def test_missing_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    ffi = rcffi.FFI()
    ffi.cdef("int f(int);")
    with pytest.raises(VerificationError, match="no C compiler found.*set \\$CC"):
        ffi.verify("int f(int x) { return x; }", tmpdir=str(tmp_path))


def test_unwritable_tmpdir(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    ffi = rcffi.FFI()
    ffi.cdef("int f(int);")
    ffi.set_source("unwritable_mod", "int f(int x) { return x; }")
    with pytest.raises(VerificationError, match="cannot write .*writable directory"):
        ffi.compile(tmpdir=str(blocker / "sub"))


def test_module_of_another_format_is_refused(builder, request, tmp_path):
    """A module whose tables are of another revision of rcffi's format (an
    older or newer rcffi) is an ImportError saying how to rebuild it."""
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef("#define V ...")
    ffi.set_source(name, "#define V 1")
    builder.compile(ffi)
    c_file = os.path.join(builder.dir, name + ".c")
    with open(c_file) as f:
        text = f.read()
    assert text.count("(void *)0x5201,") == 1
    other = tmp_path / "other"
    other.mkdir()
    write(str(other / f"{name}.c"), text.replace("(void *)0x5201,", "(void *)0x5202,"))
    so = str(other / f"{name}.abi3.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", so, str(other / f"{name}.c")], check=True)
    with pytest.raises(ImportError, match=f"module '{name}' was built by another version"):
        load_extension(name, so)


# -- generated code: wrappers, stubs, extern "Python", C++ -------------------------


class Img(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("data", ctypes.POINTER(ctypes.c_ubyte)),
    ]


def test_wrappers_and_direct_call_stubs(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        typedef struct _Img { int width; int height; unsigned char *data; } Img;
        int area(Img img, int scale);
        double mix(float a, double b, long long c);
        void touch(int *p);
        #define twice(x) ...
        int twice(int);
        """.replace("#define twice(x) ...\n", "")
    )
    ffi.set_source(
        name,
        """
        typedef struct _Img { int width; int height; unsigned char *data; } Img;
        int area(Img img, int scale) { return img.width * img.height * scale; }
        double mix(float a, double b, long long c) { return a + b * c; }
        void touch(int *p) { *p += 1; }
        #define twice(x) (2 * (x))
        """,
    )
    mod = builder.load(ffi)
    f, lib = mod.ffi, mod.lib
    # The stubs of the generated file: each function's 'address' in its
    # table (its 'size_or_direct_fn' is the wrapper with its signature).
    stubs = stub_addresses(os.path.join(builder.dir, name + ".c"), builder.dir)
    img = Img(3, 4, None)
    assert call_stub(stubs, "area", ctypes.c_int, [img, ctypes.c_int(2)]).value == 24
    args = [ctypes.c_float(0.5), ctypes.c_double(2.0), ctypes.c_longlong(3)]
    r = call_stub(stubs, "mix", ctypes.c_double, args)
    assert r.value == 6.5
    x = ctypes.c_int(41)
    assert call_stub(stubs, "touch", None, [ctypes.pointer(x)]) is None
    assert x.value == 42
    # A function-like macro is called through its wrapper.
    assert call_stub(stubs, "twice", ctypes.c_int, [ctypes.c_int(21)]).value == 42
    direct = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(stubs.addresses["twice"][1])
    assert direct(4) == 8
    twice = ctypes_function(f, lib.twice, ctypes.c_int, ctypes.c_int)
    assert twice(5) == 10
    mix = ctypes_function(
        f, lib.mix, ctypes.c_double, ctypes.c_float, ctypes.c_double, ctypes.c_longlong
    )
    assert mix(1.0, 1.5, 2) == 4.0


def test_extern_python_glue(builder, request, capfd):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        extern "Python" int on_value(int, int);
        extern "Python+C" void on_event(int);
        int fire(int);
        """
    )
    ffi.set_source(
        name,
        """
        static int on_value(int, int);
        void on_event(int);
        int fire(int x) { on_event(x); return on_value(x, 2); }
        """,
    )
    mod = builder.load(ffi)
    f, lib = mod.ffi, mod.lib
    assert f.typeof(lib.on_value) is f.typeof("int(*)(int, int)")
    fire = ctypes_function(f, lib.fire, ctypes.c_int, ctypes.c_int)
    assert fire(7) == 0
    err = capfd.readouterr().err
    assert f'extern "Python": function {name}.on_value() called' in err
    assert "Returning 0." in err
    # Attach Python functions to both.
    seen = []
    f.def_extern(name="on_value")(lambda a, b: a * b)
    f.def_extern(name="on_event")(seen.append)
    assert fire(7) == 14
    assert seen == [7]
    with pytest.raises(ValueError, match="only available on API-mode"):
        rcffi.FFI().def_extern()
    with pytest.raises(FFIError, match="no 'extern \"Python\"' function"):
        f.def_extern(name="nope")(lambda: None)


def test_cplusplus_source(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        struct acc { int total; ...; };
        int accumulate(struct acc *, int);
        #define LIMIT ...
        """
    )
    ffi.set_source(
        name,
        """
        #include <vector>
        #include <numeric>
        struct acc { std::vector<int>::size_type pad; int total; };
        #define LIMIT 99
        extern "C" int accumulate(struct acc *a, int n) {
            std::vector<int> v(n, 2);
            a->total += std::accumulate(v.begin(), v.end(), 0);
            return a->total;
        }
        """,
        source_extension=".cpp",
    )
    mod = builder.load(ffi)
    f, lib = mod.ffi, mod.lib
    assert os.path.exists(os.path.join(builder.dir, name + ".cpp"))
    assert f.offsetof("struct acc", "total") == ctypes.sizeof(ctypes.c_size_t)
    assert lib.LIMIT == 99
    a = f.new("struct acc *")
    acc = ctypes_function(f, lib.accumulate, ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
    assert acc(address(f, a), 5) == 10
    assert a.total == 10


def test_include_across_modules(builder, request):
    base = module_name(request, "_base")
    ffi1 = rcffi.FFI()
    ffi1.cdef("typedef int... id_t2; struct item { id_t2 id; ...; };")
    ffi1.set_source(base, "typedef long id_t2; struct item { char tag; id_t2 id; };")
    builder.compile(ffi1)
    top = module_name(request, "_top")
    ffi2 = rcffi.FFI()
    ffi2.include(ffi1)
    ffi2.cdef("id_t2 item_id(struct item *);")
    ffi2.set_source(
        top,
        "typedef long id_t2; struct item { char tag; id_t2 id; };\n"
        "id_t2 item_id(struct item *it) { return it->id; }",
    )
    mod = builder.load(ffi2)
    f = mod.ffi
    assert f.offsetof("struct item", "id") == 8
    assert f.typeof("id_t2") is f.typeof("int64_t")
    it = f.new("struct item *", {"id": 123})
    get = ctypes_function(f, mod.lib.item_id, ctypes.c_long, ctypes.c_void_p)
    assert get(address(f, it)) == 123
    assert sys.modules[base].ffi.typeof("struct item") is f.typeof("struct item")
    builder.names.append(base)
    # Including the ffi of the compiled module works the same.
    again = module_name(request, "_again")
    ffi3 = rcffi.FFI()
    ffi3.include(sys.modules[base].ffi)
    ffi3.cdef("id_t2 item_id2(struct item *);")
    ffi3.set_source(
        again,
        "typedef long id_t2; struct item { char tag; id_t2 id; };\n"
        "id_t2 item_id2(struct item *it) { return it->id + 1; }",
    )
    mod3 = builder.load(ffi3)
    assert mod3.ffi.typeof("struct item") is f.typeof("struct item")


def test_include_needs_a_module():
    ffi1 = rcffi.FFI()
    ffi1.cdef("struct a { int x; };")
    ffi2 = rcffi.FFI()
    ffi2.include(ffi1)
    ffi2.set_source("inc_no_module", "")
    with pytest.raises(ValueError, match="set_source"):
        ffi2.compile(tmpdir="/nonexistent-never-written")


# -- verify() --------------------------------------------------------------------


def test_verify_completes_the_ffi_itself(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef("struct s { int b; ...; }; int get_b(struct s *);")
    lib = ffi.verify(
        "struct s { char a; int b; };\nint get_b(struct s *p) { return p->b; }",
        tmpdir=str(tmp_path),
    )
    assert ffi.offsetof("struct s", "b") == 4
    p = ffi.new("struct s *", {"b": 7})
    get_b = ctypes_function(ffi, lib.get_b, ctypes.c_int, ctypes.c_void_p)
    assert get_b(address(ffi, p)) == 7
    assert ffi.verifier.modulefilename.endswith(".so")


def test_verify_default_cache_is_pycache_of_the_caller(tmp_path, monkeypatch):
    monkeypatch.delenv("CFFI_TMPDIR", raising=False)
    script = tmp_path / "prog.py"
    script.write_text(
        "import rcffi\n"
        "ffi = rcffi.FFI()\n"
        "ffi.cdef('#define V ...')\n"
        "lib = ffi.verify('#define V 5')\n"
        "print(lib.V)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, cwd="/"
    )
    assert out.stdout.strip() == "5", out.stderr
    cache = tmp_path / "__pycache__"
    assert any(n.endswith(".so") for n in os.listdir(cache))


@needs_calls
def test_calls_and_def_extern(builder, request):
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        extern "Python" int bar(int, int);
        int call_bar(int);
        int add(int, int);
        """
    )
    ffi.set_source(
        name,
        """
        static int bar(int, int);
        int call_bar(int x) { return bar(x, 3); }
        int add(int a, int b) { return a + b; }
        """,
    )
    mod = builder.load(ffi)
    f, lib = mod.ffi, mod.lib
    assert lib.add(1, 2) == 3

    @f.def_extern()
    def bar(x, y):
        return x * y

    assert lib.call_bar(5) == 15
    assert lib.bar(2, 4) == 8

    @f.def_extern(name="bar", error=-1, onerror=lambda *exc_info: None)
    def other(x, y):
        raise ValueError

    assert lib.call_bar(5) == -1


def test_cdef_typedefs_need_not_exist_in_c(tmp_path):
    """As in cffi, plain typedefs of the cdef are spelled as the types they
    stand for; only `...` types and anonymous structs need a C name."""
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        typedef int mycallback_t(int);
        typedef unsigned int myuint;
        typedef double func_t(double);
        typedef struct point { int x, y; } point_t;
        static mycallback_t *cb;
        myuint twice(myuint);
        func_t halve;
        point_t *origin(void);
        """
    )
    lib = ffi.verify(
        """
        static int (*cb)(int);
        unsigned int twice(unsigned int x) { return 2 * x; }
        double halve(double x) { return x / 2; }
        struct point { int x, y; };
        static struct point o = {1, 2};
        struct point *origin(void) { return &o; }
        """,
        tmpdir=str(tmp_path),
    )
    assert ffi.typeof(lib.halve) is ffi.typeof("double(*)(double)")
    twice = ctypes_function(ffi, lib.twice, ctypes.c_uint, ctypes.c_uint)
    assert twice(21) == 42
    p = ffi.cast("point_t *", ctypes_function(ffi, lib.origin, ctypes.c_void_p)())
    assert (p.x, p.y) == (1, 2)


def test_const_pointer_global_may_be_a_function(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef("int (*const triple)(int); extern int table[];")
    lib = ffi.verify(
        "static int triple(int x) { return 3 * x; }\nint table[] = {5, 6, 7};",
        tmpdir=str(tmp_path),
    )
    assert ffi.typeof(lib.triple) is ffi.typeof("int(*)(int)")
    assert ctypes_function(ffi, lib.triple, ctypes.c_int, ctypes.c_int)(4) == 12
    assert ffi.typeof(lib.table) is ffi.typeof("int *")
    assert (lib.table[0], lib.table[2]) == (5, 7)


def test_werror_makes_conversions_errors(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef("unsigned short narrow(void);")
    source = "long long narrow(void) { return 1 << 20; }"
    with pytest.raises(VerificationError, match="function 'narrow'"):
        ffi.verify(source, tmpdir=str(tmp_path), extra_compile_args=["-Werror", "-Wconversion"])
    with pytest.warns(VerificationWarning, match="function 'narrow'"):
        ffi.verify(source, tmpdir=str(tmp_path))


def test_source_sees_what_python_h_gives_cffi(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef("int8_t small(void); size_t length(const char *);")
    lib = ffi.verify(
        "int8_t small(void) { return (int8_t)INT8_MAX; }\n"
        "size_t length(const char *s) { wchar_t w = L'x'; (void)w; return strlen(s); }",
        tmpdir=str(tmp_path),
        extra_compile_args=["-Werror", "-Wall", "-Wextra"],
    )
    assert ctypes_function(ffi, lib.small, ctypes.c_int8)() == 127


def test_source_including_python_h_builds_for_this_cpython(builder, request):
    """Code that includes Python.h (as code written for cffi may) builds
    against this CPython's headers, as a module tied to its version."""
    name = module_name(request)
    ffi = rcffi.FFI()
    ffi.cdef("int initialized(void); long as_long(void);")
    ffi.set_source(
        name,
        "#include <Python.h>\n"
        "int initialized(void) { return Py_IsInitialized(); }\n"
        "long as_long(void) { return (long)sizeof(PyObject *); }\n",
    )
    path = builder.compile(ffi)
    assert path.endswith(sysconfig.get_config_var("EXT_SUFFIX"))
    mod = builder.import_(name)
    assert mod.lib.initialized() == 1
    assert mod.lib.as_long() == ctypes.sizeof(ctypes.c_void_p)


def test_keywords_take_strings_where_lists_are_usual(tmp_path):
    """As cffi and setuptools take them: a string for a list keyword."""
    ffi = rcffi.FFI()
    ffi.cdef("double root(double);")
    lib = ffi.verify(
        "#include <math.h>\ndouble root(double x) { return sqrt(x); }",
        tmpdir=str(tmp_path),
        libraries="m",
        extra_link_args="-lm -Wl,--as-needed",
        extra_compile_args="-O1 -Wall",
        define_macros=[("UNUSED", "1")],
    )
    assert lib.root(9.0) == 3.0
    with pytest.raises(TypeError, match="unexpected keyword argument 'library'"):
        rcffi.FFI().verify("", tmpdir=str(tmp_path), library=["m"])


def test_values_defined_as_expressions_are_read_by_value(tmp_path):
    """Constants and const globals that C defines as macros (values, not
    objects): the generated C never takes their address."""
    ffi = rcffi.FFI()
    ffi.cdef(
        "static const int K; const char *const S; static void *const P;"
        " static const double F; const int CK; const long CL;"
        " struct pt { int x, y; }; const struct pt ORIGIN;"
    )
    lib = ffi.verify(
        '#define K ((short)42)\n#define S "str"\n#define P ((void *)0)\n#define F 1.5\n'
        "enum { CK = 7 };\n#define CL (3L * 2)\n"
        "struct pt { int x, y; };\n#define ORIGIN ((struct pt){1, 2})\n",
        tmpdir=str(tmp_path),
    )
    assert (lib.K, ffi.string(lib.S), lib.F, lib.CK, lib.CL) == (42, b"str", 1.5, 7, 6)
    assert lib.P == ffi.NULL
    assert (lib.ORIGIN.x, lib.ORIGIN.y) == (1, 2)


def test_bitfields_in_partial_structs_are_refused():
    with pytest.raises(NotImplementedError, match="bitfields and '...;'"):
        rcffi.FFI().cdef("struct s { int a: 3; ...; };")


def test_verify_reports_wrong_constant_values(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef("#define FOO 123\nstatic const int BAR = 5;")
    with pytest.raises(VerificationError, match="FOO has the real value 124, not 123"):
        ffi.verify("#define FOO 124\n#define BAR 5", tmpdir=str(tmp_path))


def test_verify_relative_to(tmp_path):
    sub = tmp_path / "sub"
    write(str(sub / "foo.h"), "static int foo(int a) { return a + 42; }\n")
    ffi = rcffi.FFI()
    ffi.cdef("int foo(int);")
    lib = ffi.verify(
        '#include "foo.h"',
        include_dirs=["."],
        relative_to=str(sub / "x"),
        tmpdir=str(tmp_path / "cache"),
    )
    assert ctypes_function(ffi, lib.foo, ctypes.c_int, ctypes.c_int)(100) == 142


@needs_calls
def test_partial_structs_by_value_go_through_the_stub(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        typedef struct { int x; ...; } foo_t;
        foo_t make(int, const char *);
        int get(foo_t);
        """
    )
    lib = ffi.verify(
        """
        #include <string.h>
        typedef struct { char tag[3]; int x; double y; } foo_t;
        foo_t make(int x, const char *s) {
            foo_t r; memset(&r, 0, sizeof r); r.x = x + (int)strlen(s); return r;
        }
        int get(foo_t f) { return f.x * 2; }
        """,
        tmpdir=str(tmp_path),
    )
    f = lib.make(40, b"ab")
    assert f.x == 42
    assert lib.get(f) == 84
    assert lib.get({"x": 5}) == 10


@needs_calls
def test_declarators_and_complex_numbers(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        typedef int (*op_t)(int);
        int (*pick(int which))(int);
        op_t pick2(int which);
        int sum(int a[], int n);
        int apply(int (*f)(int), int x);
        _Bool negate(_Bool);
        double _Complex twice(double _Complex);
        """
    )
    lib = ffi.verify(
        """
        static int inc(int x) { return x + 1; }
        static int dbl(int x) { return 2 * x; }
        int (*pick(int which))(int) { return which ? dbl : inc; }
        typedef int (*op_t)(int);
        op_t pick2(int which) { return which ? inc : dbl; }
        int sum(int a[], int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i]; return s; }
        int apply(int (*f)(int), int x) { return f(x); }
        _Bool negate(_Bool b) { return !b; }
        double _Complex twice(double _Complex z) { return z * 2; }
        """,
        tmpdir=str(tmp_path),
    )
    assert (lib.pick(1)(5), lib.pick(0)(5), lib.pick2(1)(5)) == (10, 6, 6)
    assert lib.sum([1, 2, 3], 3) == 6
    assert lib.apply(lib.pick(1), 7) == 14
    assert lib.negate(True) is False
    # libffi has no complex numbers; the direct-call stub does.
    assert lib.twice(1 + 2j) == 2 + 4j
