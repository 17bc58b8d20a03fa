"""``python -m rcffi``: ``check`` of headers and ``stub`` of build scripts,
and the stub generator behind it (rcffi.stubgen)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import rcffi
from rcffi import stubgen

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rcffi args...`` in ``cwd``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(ROOT / "python"), env.get("PYTHONPATH", "")] if p
    )
    return subprocess.run(
        [sys.executable, "-m", "rcffi", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


HEADER = """\
typedef struct _Img { int width; int height; unsigned char *data; } Img;
union u { int i; float f; };
enum color { RED, GREEN = 5 };
#define SIZE 42
int create_fractal(Img img, int iters);
int mandel(float real, float imag, int max_iters, unsigned char *val);
extern int counter;
"""


def test_check_lists_declarations(tmp_path):
    (tmp_path / "img.h").write_text(HEADER)
    out = cli("check", "img.h", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "img.h: ok" in text
    assert "functions (2):" in text
    assert "create_fractal: int(*)(Img, int)" in text or "create_fractal:" in text
    assert "mandel:" in text
    assert "struct _Img" in text
    assert "union u" in text
    assert "enum color" in text
    assert "Img = " in text
    assert "RED = 0" in text and "GREEN = 5" in text and "SIZE = 42" in text
    assert "counter: int" in text


def test_check_reports_error_with_position(tmp_path):
    (tmp_path / "bad.h").write_text("int ok(void);\nint broken(int x;\n")
    out = cli("check", "bad.h", cwd=tmp_path)
    assert out.returncode == 1
    # FILE:LINE:COL as CDefError gives them, then the parser's message.
    assert out.stderr.startswith("bad.h:2:17: error:"), out.stderr
    assert "int broken(int x;" in out.stderr


def test_check_missing_file(tmp_path):
    out = cli("check", "nope.h", cwd=tmp_path)
    assert out.returncode == 1
    assert "nope.h" in out.stderr


def test_stub_text_types():
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        struct point { int x, y; };
        #define N 3
        enum e { A, B };
        static const double PI;
        int add(int, long long);
        double scale(float, double);
        char first(const char *);
        _Bool flag(void);
        void nothing(struct point *);
        struct point make(int);
        int printf(const char *, ...);
        extern unsigned short counter;
        """
    )
    text = stubgen.stub_text(ffi)
    assert "ffi: FFI" in text
    assert "lib: _Lib" in text
    assert "def add(arg0: int, arg1: int, /) -> int: ..." in text
    assert "def scale(arg0: float, arg1: float, /) -> float: ..." in text
    assert "def first(arg0: Any, /) -> bytes: ..." in text
    assert "def flag() -> bool: ..." in text
    assert "def nothing(arg0: Any, /) -> None: ..." in text
    assert "def make(arg0: int, /) -> CData: ..." in text
    assert "def printf(arg0: Any, /, *args: Any) -> int: ..." in text
    assert "N: ClassVar[int]" in text
    assert "A: ClassVar[int]" in text
    assert "counter: int" in text
    compile(text, "<stub>", "exec")  # valid Python syntax


def test_stub_keeps_parameter_names():
    """Parameters are named as in the cdef; ``argI`` only where it names none
    (or where the name cannot be a Python parameter)."""
    ffi = rcffi.FFI()
    ffi.cdef(
        """
        int add(int x, int y);
        int half(int, long count);
        typedef int unary_t(int value);
        unary_t neg;
        int odd(int lambda, int arg1, int, int args);
        int fmt(const char *format, ...);
        """
    )
    text = stubgen.stub_text(ffi)
    assert "def add(x: int, y: int, /) -> int: ..." in text
    assert "def half(arg0: int, count: int, /) -> int: ..." in text
    assert "def neg(arg0: int, /) -> int: ..." in text
    assert "def odd(arg0: int, arg1: int, arg2: int, arg3: int, /) -> int: ..." in text
    assert "def fmt(format: Any, /, *args: Any) -> int: ..." in text


def test_version(tmp_path):
    out = cli("--version", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"rcffi {rcffi.__version__}\n"


def test_stub_command(tmp_path):
    build = tmp_path / "example_build.py"
    build.write_text(
        textwrap.dedent(
            """
            import rcffi
            ffibuilder = rcffi.FFI()
            ffibuilder.set_source("_example", "#include <pwd.h>")
            ffibuilder.cdef('''
                struct passwd { char *pw_name; ...; };
                struct passwd *getpwuid(int uid);
                int getpid(void);
            ''')
            """
        )
    )
    out = cli("stub", "example_build.py:ffibuilder", "-o", "_example.pyi", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "_example.pyi").read_text()
    assert "def getpwuid(uid: int, /) -> CData: ..." in text
    assert "def getpid() -> int: ..." in text
    # Without -o the stub is named after set_source()'s module.
    out = cli("stub", "example_build.py", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "_example.pyi").exists()


def test_stub_passes_mypy(tmp_path):
    """The generated stub type-checks a user of the module."""
    import pytest

    mypy_api = pytest.importorskip("mypy.api")
    ffi = rcffi.FFI()
    ffi.cdef("int add(int, int); double half(double); extern int counter;\n#define K 7\n")
    stubgen.emit_stub(ffi, tmp_path / "_mod.pyi")
    (tmp_path / "user.py").write_text(
        "from _mod import ffi, lib\n"
        "x: int = lib.add(1, 2) + lib.K + lib.counter\n"
        "y: float = lib.half(1.5)\n"
    )
    (tmp_path / "bad.py").write_text("from _mod import lib\nlib.add('a', 2)\n")
    env_path = str(ROOT / "python")
    old = os.environ.get("MYPYPATH")
    os.environ["MYPYPATH"] = os.pathsep.join([str(tmp_path), env_path])
    try:
        ok = mypy_api.run([str(tmp_path / "user.py"), "--no-incremental"])
        bad = mypy_api.run([str(tmp_path / "bad.py"), "--no-incremental"])
    finally:
        if old is None:
            del os.environ["MYPYPATH"]
        else:
            os.environ["MYPYPATH"] = old
    assert ok[2] == 0, ok[0]
    assert bad[2] == 1 and "arg-type" in bad[0], bad[0]


def test_ffi_emit_stub_writes_the_lib_stub(tmp_path):
    import rcffi

    ffi = rcffi.FFI()
    ffi.cdef("int add(int, int); double scale(double);\n#define N 3\n")
    out = tmp_path / "_m.pyi"
    ffi.emit_stub(out)
    text = out.read_text()
    assert "def add(" in text and "def scale(" in text
