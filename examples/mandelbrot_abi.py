"""The Mandelbrot of examples/mandelbrot/, called through ctypes
and through rcffi in ABI mode (``ffi.dlopen``, no compiler for the binding).

The C is compiled with gcc into a temporary directory.  Both tools then
draw the same image twice: one call to C ``create_fractal`` (the ``Img``
struct passed by value), and a Python loop calling C ``mandel`` per pixel.
The images must agree.  Run ``python examples/mandelbrot_abi.py --width
1500 --height 1000`` for the full size of ``make demo`` (the default is small).
"""

from __future__ import annotations

import argparse
import ctypes
import subprocess
import tempfile
import time
from pathlib import Path

import rcffi

CSRC = Path(__file__).resolve().parent / "mandelbrot"


def build(outdir: Path) -> Path:
    """Compile mandel.c and create_fractal.c into a shared library."""
    lib = outdir / "libcreate_fractal.so"
    sources = [str(CSRC / "mandel.c"), str(CSRC / "create_fractal.c")]
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O3", f"-I{CSRC}", "-o", str(lib), *sources],
        check=True,
    )
    return lib


def create_fractal(image, iters, func, oneval) -> int:
    """The Python loop: call ``func`` (C ``mandel``) for each pixel,
    with -2 < real < 1 across and -1 < imag < 1 down."""
    pixel_size_x = 3.0 / image.width
    pixel_size_y = 2.0 / image.height
    for y in range(image.height):
        imag = y * pixel_size_y - 1
        yy = y * image.width
        for x in range(image.width):
            real = x * pixel_size_x - 2
            ret = func(real, imag, iters, oneval)  # <- the C call
            if ret < 0:
                return ret
            image.data[yy + x] = oneval[0]
    return 0


def with_ctypes(libpath: Path, width: int, height: int, iters: int):
    """ctypes: every struct and signature is redeclared by hand."""

    class CtypesImg(ctypes.Structure):
        _fields_ = [
            ("width", ctypes.c_int),
            ("height", ctypes.c_int),
            ("data", ctypes.POINTER(ctypes.c_uint8)),
        ]

    dll = ctypes.CDLL(str(libpath))
    dll.create_fractal.argtypes = [CtypesImg, ctypes.c_int]
    dll.mandel.argtypes = [
        ctypes.c_float,
        ctypes.c_float,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_uint8),
    ]
    buf1 = (ctypes.c_uint8 * (width * height))()
    img = CtypesImg(width, height, buf1)
    t0 = time.perf_counter()
    dll.create_fractal(img, iters)
    one = time.perf_counter() - t0

    buf2 = (ctypes.c_uint8 * (width * height))()
    img.data = buf2
    value = (ctypes.c_uint8 * 1)()
    t0 = time.perf_counter()
    create_fractal(img, iters, dll.mandel, value)
    many = time.perf_counter() - t0
    return one, bytes(buf1), many, bytes(buf2)


def with_rcffi(libpath: Path, width: int, height: int, iters: int):
    """rcffi ABI mode: the C header itself is the declaration."""
    ffi = rcffi.FFI()
    ffi.cdef((CSRC / "create_fractal.h").read_text())
    dll = ffi.dlopen(str(libpath))

    img = ffi.new("Img[1]")  # a pointer: img[0] is the struct
    img[0].width = width
    img[0].height = height
    # Keep the pixel buffer in a variable: the struct only holds a raw
    # pointer, so the memory would be freed if nothing else referenced it.
    data1 = ffi.new("unsigned char[]", width * height)
    img[0].data = data1
    t0 = time.perf_counter()
    dll.create_fractal(img[0], iters)
    one = time.perf_counter() - t0

    data2 = ffi.new("unsigned char[]", width * height)
    img[0].data = data2
    value = ffi.new("unsigned char[1]")
    t0 = time.perf_counter()
    create_fractal(img[0], iters, dll.mandel, value)
    many = time.perf_counter() - t0
    return one, ffi.buffer(data1)[:], many, ffi.buffer(data2)[:]


def main() -> None:
    """Build, run both tools, compare the images and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=150)
    parser.add_argument("--height", type=int, default=100)
    parser.add_argument("--iters", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        libpath = build(Path(tmp))
        results = {
            "ctypes": with_ctypes(libpath, args.width, args.height, args.iters),
            "rcffi ABI": with_rcffi(libpath, args.width, args.height, args.iters),
        }
    reference = results["ctypes"][1]
    for name, (one, img1, many, img2) in results.items():
        # The C loop and the Python loop compute coordinates the same way
        # up to float rounding, so only the one-call images are compared
        # across tools; each tool's two images are compared loosely.
        assert img1 == reference, f"{name}: create_fractal image differs"
        same = sum(a == b for a, b in zip(img1, img2, strict=True)) / len(img1)
        assert same > 0.95, f"{name}: Python-loop image differs too much"
        print(
            f"{name:10s} create_fractal: {one * 1e3:8.2f} ms   "
            f"{args.width * args.height} mandel calls: {many * 1e3:8.2f} ms"
        )
    print("images agree")


if __name__ == "__main__":
    main()
