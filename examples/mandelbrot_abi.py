"""The Mandelbrot of examples/mandelbrot/ in rcffi ABI mode (``ffi.dlopen``,
no compiler for the binding), next to ctypes.

The C is compiled with the system's C compiler into a temporary directory.
rcffi reads the C header itself as its declarations; ctypes needs every
struct and signature declared again by hand (``CtypesContender`` in
examples/mandelbrot/workload.py).  Both draw the same image twice: one call
to C ``create_fractal`` (the ``Img`` struct passed by value), and a Python
loop calling C ``mandel`` per pixel.  The images must agree.  Run ``python
examples/mandelbrot_abi.py --width 1500 --height 1000`` for the full size of
``make demo`` (the default is small).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import rcffi

CSRC = Path(__file__).resolve().parent / "mandelbrot"
sys.path.insert(0, str(CSRC))

from workload import CtypesContender, build_library, python_loop  # noqa: E402


def with_rcffi(libpath: Path, width: int, height: int, iters: int):
    """rcffi ABI mode: the C header itself is the declaration."""
    ffi = rcffi.FFI()
    ffi.cdef((CSRC / "create_fractal.h").read_text())
    lib = ffi.dlopen(str(libpath))

    img = ffi.new("Img[1]")  # a pointer: img[0] is the struct
    img[0].width = width
    img[0].height = height
    # rcffi: the struct keeps the buffer it points to alive (cffi would
    # free it at once unless a variable also held it).
    img[0].data = ffi.new("unsigned char[]", width * height)
    t0 = time.process_time()
    lib.create_fractal(img[0], iters)  # <- one C call draws the image
    one = (time.process_time() - t0) * 1e3
    one_image = ffi.buffer(img[0].data, width * height)[:]

    img[0].data = ffi.new("unsigned char[]", width * height)
    value = ffi.new("unsigned char[1]")
    t0 = time.process_time()
    python_loop(img[0], iters, lib.mandel, value)  # <- a C call per pixel
    many = (time.process_time() - t0) * 1e3
    return one, one_image, many, ffi.buffer(img[0].data, width * height)[:]


def with_ctypes(libpath: Path, width: int, height: int, iters: int):
    tool = CtypesContender(libpath)
    one, one_image = tool.one_call(width, height, iters)
    many, many_image = tool.many_calls(width, height, iters)
    return one, one_image, many, many_image


def main() -> None:
    """Build, run both tools, compare the images and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=150)
    parser.add_argument("--height", type=int, default=100)
    parser.add_argument("--iters", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        libpath = build_library(Path(tmp))
        results = {
            "ctypes": with_ctypes(libpath, args.width, args.height, args.iters),
            "rcffi ABI": with_rcffi(libpath, args.width, args.height, args.iters),
        }
    reference = results["ctypes"]
    for name, (one, img1, many, img2) in results.items():
        # The C loop computes the coordinates in float, the Python loop in
        # double: each tool's two images differ on a few border pixels, and
        # the tools' images must be equal.
        assert img1 == reference[1], f"{name}: create_fractal image differs"
        assert img2 == reference[3], f"{name}: Python-loop image differs"
        same = sum(a == b for a, b in zip(img1, img2, strict=True)) / len(img1)
        assert same > 0.95, f"{name}: Python-loop image differs too much"
        print(
            f"{name:10s} create_fractal: {one:8.2f} ms   "
            f"{args.width * args.height} mandel calls: {many:8.2f} ms (CPU time)"
        )
    print("images agree")


if __name__ == "__main__":
    main()
