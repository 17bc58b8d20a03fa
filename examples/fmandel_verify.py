"""``ffi.verify`` compiles fmandel.c, and C writes straight into a numpy
float32 array (cast to ``float *`` from ``g.ctypes.data``).  Needs numpy
(``pip install ".[examples]"`` or ``pip install numpy``).

``verify`` builds and imports a C extension from the header and the source
file in examples/fmandel/; the module is cached, keyed on the C text.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import numpy
except ImportError:
    sys.exit('this example needs numpy: pip install numpy (or pip install ".[examples]")')

import rcffi

FMANDEL = Path(__file__).resolve().parent / "fmandel"

ffi = rcffi.FFI()
ffi.cdef(
    """
    float f(float, float, int);
    void mandelbrot(float, float, float, float, int, int, float*);
    """
)
lib = ffi.verify(
    "#include <fmandel.h>",
    include_dirs=[str(FMANDEL)],
    sources=[str(FMANDEL / "fmandel.c")],
)


def mandelbrot(x0=-2.0, y0=-1.5, x1=1.0, y1=1.5, grid=50, max_iter=1000):
    """Return a ``grid`` x ``grid`` float32 image of the Mandelbrot set.

    numpy owns the memory; C only gets its address, so nothing is copied.
    """
    g = numpy.empty((grid, grid), dtype=numpy.float32)
    lib.mandelbrot(x0, y0, x1, y1, grid, max_iter, ffi.cast("float*", g.ctypes.data))
    return g


def main() -> None:
    """Draw a small image as text and check a few known points."""
    g = mandelbrot(grid=24, max_iter=100)
    for row in g:
        print("".join("#" if v == 0.0 else "." for v in row))
    # f() returns 0 for points in the set and about 1 far outside it.
    assert lib.f(0.0, 0.0, 100) == 0.0
    assert lib.f(2.0, 2.0, 100) > 0.9
    assert g.dtype == numpy.float32 and g.shape == (24, 24)
    assert (g == 0.0).any() and (g > 0.5).any()
    print("ok")


if __name__ == "__main__":
    main()
