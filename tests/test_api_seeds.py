"""The API-mode programs of the seeds, end to end (they call C functions,
so they need rcffi's call layer).

* seed 000: ``set_source('cffiAPI', code)`` with mandel.c + create_fractal.c,
  ``compile()``, import, one call of ``create_fractal`` and the Python loop
  calling ``lib.mandel``;
* seed 001: ``verify("#include <fmandel.h>", include_dirs=['./'],
  sources=['fmandel.c'])`` with a numpy float32 array, then an edit of
  fmandel.c that the next ``verify()`` picks up;
* seed 002: ``verify()`` of ``evolve`` with ``extra_compile_args=["-O3"]``;
* seed 003: ``_pwuid_cffi`` with ``typedef int... uid_t;`` and a partial
  ``struct passwd``;
* seed 004: ``example_build.py`` with ``get_pw_for_root`` (its setup.py is
  tested in test_api_setuptools.py).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from pathlib import Path

import pytest
from api_support import builder_fixture, needs_calls, write

import rcffi
from rcffi import VerificationWarning

pytestmark = needs_calls

MANDELBROT = Path(__file__).resolve().parent.parent / "examples" / "mandelbrot"
MANDEL_C = (MANDELBROT / "mandel.c").read_text()
CREATE_FRACTAL_C = (MANDELBROT / "create_fractal.c").read_text()
CREATE_FRACTAL_H = (MANDELBROT / "create_fractal.h").read_text()


@pytest.fixture
def builder(tmp_path, monkeypatch):
    yield from builder_fixture(tmp_path, monkeypatch)


def _workload_module():
    """examples/mandelbrot/workload.py: the Python loop of the demo, shared here."""
    spec = importlib.util.spec_from_file_location("rcffi_workload", MANDELBROT / "workload.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


python_create_fractal = _workload_module().python_loop


def test_seed_000_mandel_api_mode(builder, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    write("mandel.c", MANDEL_C)
    write("create_fractal.c", CREATE_FRACTAL_C)
    write("create_fractal.h", CREATE_FRACTAL_H)
    ffi_api = rcffi.FFI()
    with open("create_fractal.h") as fid:
        header = fid.read()
    with open("mandel.c") as fid:
        code = fid.read()
    with open("create_fractal.c") as fid:
        code += fid.read()
    ffi_api.cdef(header)
    ffi_api.set_source("cffiAPI", code)
    path = ffi_api.compile(verbose=True)
    assert path.endswith(".abi3.so")
    import cffiAPI

    builder.names.append("cffiAPI")
    width, height = 60, 40
    img = cffiAPI.ffi.new("Img[1]")
    img[0].width = width
    img[0].height = height
    data1 = cffiAPI.ffi.new(f"unsigned char[{width * height}]")
    img[0].data = data1
    assert cffiAPI.lib.create_fractal(img[0], 20) == 0
    data2 = cffiAPI.ffi.new(f"unsigned char[{width * height}]")
    img[0].data = data2
    value = cffiAPI.ffi.new("unsigned char[1]")
    assert python_create_fractal(img[0], 20, cffiAPI.lib.mandel, value) == 0
    # The C loop computes the coordinates in float, the Python one in
    # double: a few pixels on the border of the set may differ.
    c_image = bytes(cffiAPI.ffi.buffer(data1))
    py_image = bytes(cffiAPI.ffi.buffer(data2))
    assert sum(a != b for a, b in zip(c_image, py_image, strict=True)) < len(c_image) // 50
    assert len(set(c_image)) > 5


FMANDEL_H = """\
#include <stdlib.h>
float f(float, float, int);
void mandelbrot(float, float, float, float, int, int, float*);
"""

FMANDEL_C = """\
#include <stdlib.h>
float f(float x, float y, int max_iter) {
    float cr = x, ci = y, zr = 0, zi = 0;
    int n;
    for(n = 0; n < max_iter; n++) {
        float tzr = zr, tzi = zi;
        zr = tzr*tzr - tzi*tzi + cr;
        zi = 2*tzr*tzi + ci;
        if(zr*zr + zi*zi > 4.0) break;
    }
    return 1.0 - (float)n/(float)max_iter;
}
void mandelbrot(float x0, float y0, float x1, float y1, int grid, int max_iter, float* mv) {
    float dx = (x1 - x0)/(float)grid, dy = (y1 - y0)/(float)grid;
    for(int n=0; n < grid; n++)
        for(int m=0; m < grid; m++)
            mv[n * grid + m] = f(x0 + (float)m * dx, y0 + (float)n * dy, max_iter);
}
"""


def test_seed_001_verify_with_sources_and_numpy(monkeypatch, tmp_path):
    numpy = pytest.importorskip("numpy")
    monkeypatch.chdir(tmp_path)
    # verify() caches in __pycache__ next to its caller (this file), unless
    # CFFI_TMPDIR says otherwise.
    monkeypatch.setenv("CFFI_TMPDIR", str(tmp_path / "__pycache__"))
    write("fmandel.h", FMANDEL_H)
    write("fmandel.c", FMANDEL_C)

    def program():
        ffi = rcffi.FFI()
        ffi.cdef(
            """
            float f(float, float, int);
            void mandelbrot(float, float, float, float, int, int, float*);
            """
        )
        lib = ffi.verify("""#include <fmandel.h>""", include_dirs=["./"], sources=["fmandel.c"])

        def mandelbrot(x0=-2.0, y0=-1.5, x1=1.0, y1=1.5, grid=50, max_iter=1000):
            g = numpy.empty((grid, grid), dtype=numpy.float32)
            lib.mandelbrot(x0, y0, x1, y1, grid, max_iter, ffi.cast("float*", g.ctypes.data))
            return g

        return lib, mandelbrot

    lib, mandelbrot = program()
    g = mandelbrot(grid=30, max_iter=50)
    assert g.shape == (30, 30) and 0.0 <= g.min() and g.max() <= 1.0
    assert g[15, 20] == lib.f(-2.0 + 20 * 0.1, -1.5 + 15 * 0.1, 50)
    assert os.path.isdir(tmp_path / "__pycache__")
    # The blog's complaint: cffi ignores edits of the C sources.  rcffi
    # rebuilds when fmandel.c changes.
    with open("fmandel.c") as f:
        text = f.read()
    write("fmandel.c", text.replace("return 1.0 - (float)n/(float)max_iter;", "return 0.25f;"))
    lib2, mandelbrot2 = program()
    assert (mandelbrot2(grid=10, max_iter=50) == 0.25).all()


EVOLVE = r"""
void evolve(int Nx, int Ny, double in[][Ny], double out[][Ny], double D, double dt) {
    int i, j;
    double laplacian;
    for (i=1; i<Nx-1; i++) {
        for (j=1; j<Ny-1; j++) {
            laplacian = in[i+1][j] + in[i-1][j] + in[i][j+1] + in[i][j-1] - 4 * in[i][j];
            out[i][j] = in[i][j] + D * dt * laplacian;
        }
    }
}
"""


def test_seed_002_verify_evolve(tmp_path):
    numpy = pytest.importorskip("numpy")
    grid_shape = (64, 64)
    ffi = rcffi.FFI()
    ffi.cdef(r"""void evolve(int Nx, int Ny, double **in, double **out, double D, double dt);""")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerificationWarning)
        lib = ffi.verify(EVOLVE, extra_compile_args=["-O3"], tmpdir=str(tmp_path))

    def evolve(grid, dt, out, D=1.0):
        X, Y = grid_shape
        pointer_grid = ffi.cast("double**", grid.ctypes.data)
        pointer_out = ffi.cast("double**", out.ctypes.data)
        lib.evolve(X, Y, pointer_grid, pointer_out, D, dt)

    scratch = numpy.zeros(grid_shape, dtype=numpy.double)
    grid = numpy.zeros(grid_shape, dtype=numpy.double)
    grid[25:32, 25:32] = 0.005
    expected = grid.copy()
    for _ in range(10):
        evolve(grid, 0.1, scratch)
        grid, scratch = scratch, grid
        lap = (
            expected[2:, 1:-1] + expected[:-2, 1:-1] + expected[1:-1, 2:] + expected[1:-1, :-2]
        ) - 4 * expected[1:-1, 1:-1]
        nxt = expected.copy()
        nxt[1:-1, 1:-1] = expected[1:-1, 1:-1] + 0.1 * lap
        expected = nxt
    assert numpy.allclose(grid[1:-1, 1:-1], expected[1:-1, 1:-1])


def test_seed_003_pwuid(builder):
    ffibuilder = rcffi.FFI()
    ffibuilder.cdef(
        """
        typedef int... uid_t;
        struct passwd {
            uid_t pw_uid;
            ...;
        };
        struct passwd *getpwnam(const char *);
        """
    )
    ffibuilder.set_source(
        "_pwuid_cffi",
        """
        #include <sys/types.h>
        #include <pwd.h>
        """,
    )
    builder.compile(ffibuilder)
    mod = builder.import_("_pwuid_cffi")
    from _pwuid_cffi import lib

    assert lib.getpwnam(b"root").pw_uid == 0
    assert mod.ffi.typeof(lib.getpwnam(b"root")).cname == "struct passwd *"


def test_seed_004_example_build(builder, monkeypatch, tmp_path):
    from test_api_setuptools import EXAMPLE_BUILD

    monkeypatch.chdir(tmp_path)
    source = EXAMPLE_BUILD.replace('set_source("ex._example"', 'set_source("_example"')
    source = source.replace("from cffi import FFI", "from rcffi import FFI")
    write("example_build.py", source)
    scope = {"__name__": "__main__"}
    exec(compile(source, "example_build.py", "exec"), scope)
    builder.names.append("_example")
    from _example import ffi, lib

    p = lib.getpwuid(0)
    assert ffi.string(p.pw_name) == b"root"
    p = lib.get_pw_for_root()
    assert ffi.string(p.pw_name) == b"root"
