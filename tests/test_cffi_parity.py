"""cffi 2.1.1 parity: the public names of ``cffi.FFI``, versions, integer
constants with literal initialisers, ``getwinerror``, the Python side of
embedding, ``_cffi_backend._testbuff`` (issue 10)."""

import subprocess
import sys
import textwrap

import pytest

import rcffi
from rcffi import FFI

# dir(cffi.FFI) of cffi 2.1.1 without dunders and private names.
CFFI_FFI_PUBLIC = """
CData CType NULL RTLD_DEEPBIND RTLD_GLOBAL RTLD_LAZY RTLD_LOCAL RTLD_NODELETE
RTLD_NOLOAD RTLD_NOW addressof alignof buffer callback cast cdef compile def_extern
distutils_extension dlclose dlopen embedding_api embedding_init_code emit_c_code
emit_python_code errno from_buffer from_handle gc getctype getwinerror include
init_once integer_const list_types memmove new new_allocator new_handle offsetof
release set_source set_source_pkgconfig set_unicode sizeof string typeof unpack
verify
""".split()


def test_every_public_name_of_cffi_ffi():
    missing = [n for n in CFFI_FFI_PUBLIC if not hasattr(FFI, n)]
    assert missing == []


def test_backend_version_is_cffis():
    assert rcffi._cffi_backend.__version__ == "2.1.1"


def test_getwinerror_raises_as_cffi_on_linux():
    with pytest.raises(AttributeError, match="only on Windows"):
        FFI().getwinerror()


@pytest.mark.parametrize(
    ("decl", "name", "value"),
    [
        ("const unsigned int NAME = 0x0FFFFFFF;", "NAME", 0x0FFFFFFF),
        ("const int NEG = -42;", "NEG", -42),
        ("int PLAIN = 5;", "PLAIN", 5),
        ("static const long LL = 7L;", "LL", 7),
        ("const unsigned char UC = 0xff;", "UC", 255),
        ("const long long BIG = -0x7fffffffffffffff;", "BIG", -0x7FFFFFFFFFFFFFFF),
        ("typedef enum { A, B } e_t; const e_t E = 1;", "E", 1),
    ],
)
def test_integer_literal_initialisers_are_constants(decl, name, value):
    ffi = FFI()
    ffi.cdef(decl)
    # No symbol of that name exists: dlopen(None) finds none.
    assert getattr(ffi.dlopen(None), name) == value


def test_non_literal_initialiser_stays_a_variable():
    ffi = FFI()
    ffi.cdef("const char C = 3; int X = 1 + 2;")
    lib = ffi.dlopen(None)
    for name in ("C", "X"):
        with pytest.raises((AttributeError, KeyError, NotImplementedError)):
            getattr(lib, name)


def test_embedding_api_declares_extern_python_c():
    ffi = FFI()
    ffi.embedding_api("int add(int, int);")
    assert ffi._embedding == ""
    assert "add" in ffi._declarations()[3]  # an extern "Python" function
    ffi.embedding_init_code(
        """
        from _x import ffi
        @ffi.def_extern()
        def add(a, b):
            return a + b
        """
    )
    assert ffi._embedding.startswith("from _x import ffi\n@ffi.def_extern()\n")
    with pytest.raises(ValueError, match="only be called once"):
        ffi.embedding_init_code("x = 1")


def test_embedding_init_code_syntax_error_is_early():
    with pytest.raises(SyntaxError):
        FFI().embedding_init_code("def (")


def test_embedding_compile_is_a_clear_error(tmp_path):
    ffi = FFI()
    ffi.embedding_api("int add(int, int);")
    ffi.set_source("_emb", "")
    with pytest.raises(NotImplementedError, match="does not generate the C"):
        ffi.compile(tmpdir=str(tmp_path))


def test_testbuff():
    b = rcffi._cffi_backend

    class W:
        pass

    class R:
        pass

    b._testbuff(W, 8)
    b._testbuff(R, 16 | 2)
    assert bytes(memoryview(W())) == b"GTB" and not memoryview(W()).readonly
    assert bytes(memoryview(R())) == b"ROB" and memoryview(R()).readonly
    with pytest.raises(TypeError):
        b._testbuff(int, 8)
    with pytest.raises(TypeError):
        b._testbuff(42, 8)


def test_compiled_module_ffi_is_a_backend_ffi(tmp_path):
    program = textwrap.dedent(
        """
        import sys, rcffi
        ffi = rcffi.FFI()
        ffi.cdef("int add(int, int);")
        ffi.set_source("_parity_ffi", "static int add(int a, int b) { return a + b; }")
        ffi.compile(tmpdir=sys.argv[1])
        sys.path.insert(0, sys.argv[1])
        import _parity_ffi
        assert type(_parity_ffi.ffi) is rcffi._cffi_backend.FFI, type(_parity_ffi.ffi)
        assert repr(_parity_ffi.ffi).startswith("<_cffi_backend.FFI object at 0x")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr


def test_apply_embedding_fix_links_libpython(tmp_path):
    kwds = {"libraries": ["m"]}
    FFI()._apply_embedding_fix(kwds)
    name = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    assert kwds["libraries"][0] == "m" and kwds["libraries"][1].startswith(name)
    FFI()._apply_embedding_fix(kwds)  # nothing twice
    assert len(kwds["libraries"]) == 2
    ffi = FFI()
    ffi.set_source("_links_libpython", "", **kwds)
    ffi.compile(tmpdir=str(tmp_path))  # the link succeeds
