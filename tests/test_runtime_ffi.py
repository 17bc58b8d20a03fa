"""`_cffi_backend.FFI` (the ffi of compiled modules, without cdef) and the
behaviour shared by every FFI: error classes, FILE, complex type names,
pkg-config, long double, custom allocators, emitting code to file objects."""

from __future__ import annotations

import io
import subprocess

import pytest

import rcffi
from rcffi import pkgconfig

Backend = rcffi._cffi_backend


def test_backend_ffi_is_the_runtime_class():
    ffi = Backend.FFI()
    assert type(ffi) is Backend.FFI and Backend.FFI.__module__ == "_cffi_backend"
    assert issubclass(rcffi.FFI, Backend.FFI)
    assert not hasattr(ffi, "cdef") and not hasattr(ffi, "set_source")
    # class attributes, the same objects for every FFI
    assert Backend.FFI.NULL is ffi.NULL is rcffi.FFI().NULL
    assert ffi.typeof(Backend.FFI.NULL).cname == "void *"
    assert Backend.FFI.error is rcffi.FFIError
    assert isinstance(ffi.cast("int", 1), Backend.FFI.CData)
    assert isinstance(ffi.typeof("int"), Backend.FFI.CType)
    assert ffi.RTLD_NOW == Backend.RTLD_NOW
    # runtime methods work without any declaration
    assert ffi.callback("int(int)", lambda x: x * 3)(5) == 15
    assert ffi.init_once(lambda: 42, "tag") == 42
    assert ffi.new_allocator()("int[3]")[2] == 0
    assert ffi.addressof(ffi.new("int[4]"), 2) is not None
    assert ffi.dlopen(None) is not None


def test_backend_ffi_has_no_instance_attributes():
    ffi = Backend.FFI()
    with pytest.raises(AttributeError):
        ffi.anything = 1
    with pytest.raises(AttributeError):
        del ffi.anything
    with pytest.raises(TypeError):
        Backend.FFI(42)


def test_backend_ffi_subclass_with_its_own_init():
    class Mine(Backend.FFI):
        def __init__(self, x):  # does not call the base __init__
            self.x = x

    mine = Mine(7)
    assert mine.x == 7 and mine.new("int *")[0] == 0
    assert mine.init_once(lambda: "done", 1) == "done"


def test_bad_out_of_line_modules_are_import_errors():
    with pytest.raises(ImportError, match="has unknown version 0x2594"):
        Backend.FFI("mod", _version=0x2594)
    # An ENUM opcode naming enum 0 of a module without enums.
    with pytest.raises(ImportError, match=r"module 'mod': types\[0\]: opcode ENUM"):
        Backend.FFI("mod", _version=0x2601, _types=b"\x00\x00\x00\x0b")
    with pytest.raises(ImportError, match="not a multiple of 4"):
        Backend.FFI("mod", _version=0x2601, _types=b"\x00\x00\x01")
    with pytest.raises(TypeError):
        Backend.FFI("mod", _bogus=1)
    ffi = Backend.FFI("mod", _version=0x2601, _types=b"\x00\x00\x07\x01")
    with pytest.raises(ValueError, match="more than once"):
        ffi.__init__("mod", _version=0x2601, _types=b"\x00\x00\x07\x01")


def test_methods_of_the_native_base_have_docstrings():
    method_type = type(Backend.FFI.new)  # the native methods
    for name in dir(Backend.FFI):
        method = getattr(Backend.FFI, name)
        if not name.startswith("_") and isinstance(method, method_type):
            assert method.__doc__, name


def test_file_is_one_type_for_every_ffi():
    a, b = rcffi.FFI(), Backend.FFI()
    assert a.typeof("FILE *") is b.typeof("FILE *")
    a.cdef("int fputs(const char *, FILE *);")
    assert a.typeof("int(*)(const char *, FILE *)").args[1] is b.typeof("FILE *")


def test_cffi_complex_type_names():
    ffi = rcffi.FFI()
    assert ffi.typeof("_cffi_float_complex_t") is ffi.typeof("float _Complex")
    assert ffi.typeof("double _Complex").cname == "_cffi_double_complex_t"  # as in cffi 2.0
    assert ffi.sizeof("_cffi_double_complex_t") == 16
    ffi.cdef("_cffi_double_complex_t f(_cffi_float_complex_t);")


@pytest.mark.parametrize(
    ("text", "shown"),
    [("int(void)", "int()"), ("int (long, ...)", "int(long, ...)"), ("int(*(int))(long)", None)],
)
def test_function_types_are_not_pointer_types(text, shown):
    ffi = Backend.FFI()
    with pytest.raises(ffi.error) as e:
        ffi.typeof(text)
    message = f"the type '{shown or text}' is a function type, not a pointer-to-function type"
    assert str(e.value) == message


def test_type_errors_are_ffi_errors_too():
    ffi = Backend.FFI()
    assert issubclass(rcffi.CDefError, rcffi.FFIError)
    with pytest.raises(ffi.error) as e:
        ffi.cast("int(int)", 0)
    assert isinstance(e.value, rcffi.CDefError)
    for make in (lambda: ffi.cast("int[-5]", 0), lambda: ffi.typeof("int[10][]")):
        with pytest.raises(ValueError) as e:
            make()
        assert isinstance(e.value, ffi.error)
    with pytest.raises(ValueError) as e:
        ffi.sizeof("int[]")
    assert isinstance(e.value, ffi.error)
    # a cdef keeps CDefError for the same mistake
    with pytest.raises(rcffi.CDefError):
        rcffi.FFI().cdef("struct b; struct a { struct b x[2]; };")


def test_custom_allocator_without_clearing():
    ffi = rcffi.FFI()
    alloc = ffi.new_allocator(should_clear_after_alloc=False)
    p = alloc("int[]", 100)
    assert ffi.typeof(p) is ffi.typeof("int[]") and len(p) == 100
    p[99] = -5
    assert p[99] == -5
    q = alloc("int *", 7)  # an initializer is still applied
    assert q[0] == 7


def test_long_double_beyond_the_range_of_double():
    ffi = rcffi.FFI()
    if ffi.sizeof("long double") < 16:
        pytest.skip("long double is double here")
    ffi.cdef("long double ldexpl(long double, int);")
    lib = ffi.dlopen("libm.so.6")
    tiny = lib.ldexpl(1.0, -16000)
    assert repr(tiny) == "<cdata 'long double' 3.311840E-4817>"
    assert repr(lib.ldexpl(-1.5, 2000)) == "<cdata 'long double' -1.722196E+602>"
    assert repr(lib.ldexpl(1.5, 0)) == "<cdata 'long double' 1.500000E+00>"
    assert float(tiny) == 0.0
    assert int(ffi.cast("_Bool", tiny)) == 1
    assert int(ffi.cast("_Bool", ffi.cast("long double", 0.0))) == 0


def test_emit_code_to_file_objects():
    ffi = rcffi.FFI()
    ffi.cdef("int add(int, int);")
    ffi.set_source("_emit_to_file", "static int add(int a, int b) { return a + b; }")
    out = io.StringIO()
    ffi.emit_c_code(out)
    assert "_emit_to_file" in out.getvalue() and "add" in out.getvalue()
    abi = rcffi.FFI()
    abi.cdef("int abs(int);")
    abi.set_source("_emit_abi_to_file", None)
    out = io.StringIO()
    abi.emit_python_code(out)
    assert "ffi = _cffi_backend.FFI('_emit_abi_to_file'," in out.getvalue()
    scope: dict = {}
    exec(out.getvalue(), scope)
    assert scope["ffi"].dlopen(None).abs(-3) == 3


@pytest.mark.parametrize(
    ("cdef", "error", "message"),
    [
        ("#define FOO ...", rcffi.VerificationError, "macro FOO: cannot use the syntax '...'"),
        ("enum e { A, B, ... };", rcffi.VerificationMissing, "enum e"),
        ('extern "Python" int cb(int);', rcffi.VerificationError, "cannot use 'extern \"Python\"'"),
    ],
)
def test_abi_modules_refuse_what_only_a_compiler_knows(cdef, error, message):
    ffi = rcffi.FFI()
    ffi.cdef(cdef)
    ffi.set_source("_abi_refused", None)
    with pytest.raises(error, match=message):
        ffi.emit_python_code(io.StringIO())


class _FakePopen:
    result: tuple[bytes, bytes, int] | None = None

    def __init__(self, cmd, stdout, stderr):
        if self.result is None:
            raise OSError("no such program")
        assert cmd == ["pkg-config", "--print-errors", "--cflags", "libfoo"]
        self.returncode = 0

    def communicate(self):
        out, err, self.returncode = self.result
        return out, err


def test_pkgconfig_call(monkeypatch):
    fake = type("FakeSubprocess", (), {"PIPE": subprocess.PIPE, "Popen": _FakePopen})
    monkeypatch.setattr(pkgconfig, "subprocess", fake)
    with pytest.raises(rcffi.PkgConfigError, match="^cannot run pkg-config: no such program$"):
        pkgconfig.call("libfoo", "--cflags")
    _FakePopen.result = (b"", b"Package libfoo was not found\n", 1)
    with pytest.raises(rcffi.PkgConfigError, match="^Package libfoo was not found$"):
        pkgconfig.call("libfoo", "--cflags")
    _FakePopen.result = (b"-I/x -DA=1\n", b"", 0)
    assert pkgconfig.call("libfoo", "--cflags") == "-I/x -DA=1\n"
    _FakePopen.result = (b"-I/x\\ y\n", b"", 0)
    with pytest.raises(rcffi.PkgConfigError, match="backslash-escaped"):
        pkgconfig.call("libfoo", "--cflags")
    _FakePopen.result = (b"\xff\n", b"", 0)
    with pytest.raises(rcffi.PkgConfigError, match="cannot be decoded with encoding 'utf-8'"):
        pkgconfig.call("libfoo", "--cflags", encoding="utf-8")


def test_flags_from_pkgconfig_uses_call(monkeypatch):
    outputs = {"--cflags": "-I/inc -DX -DY=2 -O3\n", "--libs": "-L/lib -lfoo -pthread\n"}
    monkeypatch.setattr(pkgconfig, "call", lambda lib, flag: outputs[flag])
    assert pkgconfig.flags_from_pkgconfig(["foo"]) == {
        "include_dirs": ["/inc"],
        "define_macros": [("X", None), ("Y", "2")],
        "extra_compile_args": ["-O3"],
        "library_dirs": ["/lib"],
        "libraries": ["foo"],
        "extra_link_args": ["-pthread"],
    }
