"""The ABI-mode programs of the seeds, run on rcffi against C libraries
compiled during the test run (the C is in examples/mandelbrot/ and
tests/fixtures/)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rcffi

ROOT = Path(__file__).resolve().parent.parent
MANDEL = ROOT / "examples" / "mandelbrot"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CC = shutil.which("gcc") or shutil.which("cc")

pytestmark = pytest.mark.skipif(CC is None, reason="needs a C compiler")


def build_so(tmp_path: Path, name: str, sources: list[Path], *flags: str) -> Path:
    out = tmp_path / f"lib{name}.so"
    cmd = [CC, "-shared", "-fPIC", "-O2", "-ffp-contract=off", *flags, "-o", str(out)]
    subprocess.run(cmd + [str(s) for s in sources], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def fractal_lib(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("fractal")
    return build_so(
        tmp,
        "create_fractal",
        [MANDEL / "mandel.c", MANDEL / "create_fractal.c", MANDEL / "pycoords.c"],
        f"-I{MANDEL}",
    )


def _workload_module():
    """examples/mandelbrot/workload.py: the Python loop of the demo, shared here."""
    spec = importlib.util.spec_from_file_location("rcffi_workload", MANDEL / "workload.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


python_create_fractal = _workload_module().python_loop


def test_seed000_mandelbrot_abi(fractal_lib):
    width, height = 300, 200
    ffi = rcffi.FFI()
    ffi.cdef((MANDEL / "create_fractal.h").read_text())
    ffi.cdef("int create_fractal_pycoords(Img img, int iters);")
    dll = ffi.dlopen(str(fractal_lib))

    # One call: create_fractal(img[0], 20) with Img passed by value.
    img = ffi.new("Img[1]")
    img[0].width = width
    img[0].height = height
    data1 = ffi.new(f"unsigned char[{width * height}]")
    img[0].data = data1
    dll.create_fractal(img[0], 20)
    one_call = ffi.buffer(data1)[:]
    assert len(set(one_call)) > 5  # a real picture, not a blank one

    # Many calls: the Python loop calls mandel() for every pixel.
    data2 = ffi.new(f"unsigned char[{width * height}]")
    img[0].data = data2
    value = ffi.new("unsigned char[1]")
    assert python_create_fractal(img[0], 20, dll.mandel, value) == 0
    many_calls = ffi.buffer(data2)[:]

    # The loop computes coordinates in double, as the C reference does.
    data3 = ffi.new(f"unsigned char[{width * height}]")
    img[0].data = data3
    dll.create_fractal_pycoords(img[0], 20)
    assert many_calls == ffi.buffer(data3)[:]
    differing = sum(a != b for a, b in zip(one_call, many_calls, strict=True))
    assert differing < width * height // 100  # only float-rounding pixels


def test_seed000_no_no_no_is_fine_in_rcffi(fractal_lib):
    """The seed's "NO NO NO" line: in rcffi the struct keeps the buffer."""
    import gc

    ffi = rcffi.FFI()
    ffi.cdef((MANDEL / "create_fractal.h").read_text())
    dll = ffi.dlopen(str(fractal_lib))
    img = ffi.new("Img[1]")
    img[0].width, img[0].height = 30, 20
    img[0].data = ffi.new(f"unsigned char[{30 * 20}]")  # NO NO NO in cffi
    gc.collect()
    dll.create_fractal(img[0], 20)
    assert ffi.unpack(img[0].data, 30 * 20).count(20) > 0


def test_seed004_printf_through_dlopen_none(capfd):
    ffi = rcffi.FFI()
    ffi.cdef("int printf(const char *format, ...); int fflush(void *);")
    C = ffi.dlopen(None)
    arg = ffi.new("char[]", b"world")
    assert C.printf(b"hi there, %s.\n", arg) == 17
    C.fflush(ffi.NULL)  # C's stdio buffer, before the fd is read
    out = capfd.readouterr().out
    assert out == "hi there, world.\n"


def test_seed004_mysrc(tmp_path, capfd):
    lib_file = build_so(tmp_path, "mycffi", [FIXTURES / "mysrc.c"], f"-I{FIXTURES}")
    ffi = rcffi.FFI()
    ffi.cdef((FIXTURES / "mysrc.h").read_text())
    lib = ffi.dlopen(str(lib_file))
    ffi.cdef("int fflush(void *);")
    lib.mybasic()
    assert lib.myadd(4, 9) == 13.0
    assert lib.myprint(b"Hello World") == len("Hello World") + 1
    ffi.dlopen(None).fflush(ffi.NULL)
    out = capfd.readouterr().out
    assert "mybasic() called\n" in out and "Hello World\n" in out
    with pytest.raises(TypeError):
        lib.myadd(4, 13j)
    with pytest.raises(TypeError, match="char \\*"):
        lib.myprint(4)
    with pytest.raises(TypeError, match="char \\*"):
        lib.myprint("Hello World")


def test_seed002_diffusion_double_pointers(tmp_path):
    np = pytest.importorskip("numpy")
    lib_file = build_so(tmp_path, "diffusion", [FIXTURES / "diffusion.c"])
    ffi = rcffi.FFI()
    ffi.cdef(r""" void evolve(int Nx, int Ny, double **in, double **out, double D, double dt); """)
    lib = ffi.dlopen(str(lib_file))
    shape = (64, 48)
    grid = np.zeros(shape, dtype=np.double)
    scratch = np.zeros(shape, dtype=np.double)
    grid[20:30, 20:30] = 0.005

    def evolve(grid, dt, out, D=1.0):
        X, Y = shape
        pointer_grid = ffi.cast("double**", grid.ctypes.data)
        pointer_out = ffi.cast("double**", out.ctypes.data)
        lib.evolve(X, Y, pointer_grid, pointer_out, D, dt)

    expected = grid.copy()
    for _ in range(5):
        evolve(grid, 0.1, scratch)
        grid, scratch = scratch, grid
        nxt = expected.copy()
        lap = (
            expected[2:, 1:-1]
            + expected[:-2, 1:-1]
            + expected[1:-1, 2:]
            + expected[1:-1, :-2]
            - 4 * expected[1:-1, 1:-1]
        )
        nxt[1:-1, 1:-1] = expected[1:-1, 1:-1] + 1.0 * 0.1 * lap
        expected = nxt
    assert np.allclose(grid[1:-1, 1:-1], expected[1:-1, 1:-1])


PASSWD_CDEF = """
typedef unsigned int uid_t;
typedef unsigned int gid_t;
struct passwd {
    char   *pw_name;
    char   *pw_passwd;
    uid_t   pw_uid;
    gid_t   pw_gid;
    char   *pw_gecos;
    char   *pw_dir;
    char   *pw_shell;
};
struct passwd *getpwnam(const char *);
"""


def test_seed003_getpwnam_abi():
    ffi = rcffi.FFI()
    ffi.cdef(PASSWD_CDEF)
    lib = ffi.dlopen(None)
    p = lib.getpwnam(b"root")
    assert p != ffi.NULL
    assert p.pw_uid == 0
    assert ffi.string(p.pw_name) == b"root"
    assert lib.getpwnam(b"no-such-user-rcffi") == ffi.NULL
