"""The rcffi demo: seed 000's Mandelbrot, drawn through rcffi and its peers.

``make demo`` builds rcffi, compiles ``examples/mandelbrot/*.c`` into a
shared library and draws the fractal two ways for each tool:

* **one call** — Python calls C ``create_fractal(img, iters)`` once
  (the ``Img`` struct passed by value);
* **many calls** — seed 000's Python loop calls C ``mandel()`` for every
  pixel (1.5 million calls at the default size).

Tools: rcffi ABI mode (``ffi.dlopen``), rcffi API mode (``set_source`` +
``compile``), ctypes, and cffi when it is installed.  Every
image is compared with C's and the table gives milliseconds, the ratio to
pure C and the ratio to cffi.  ``mandelbrot.png`` is written at the end.

Options: ``--width``, ``--height``, ``--iters``, ``--quick`` (a small image,
what the test suite runs), ``--png PATH``.
"""

from __future__ import annotations

import argparse
import ctypes
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import rcffi

HERE = Path(__file__).resolve().parent
CSRC = HERE / "mandelbrot"
SOURCES = [CSRC / "mandel.c", CSRC / "create_fractal.c"]


def build_library(outdir: Path) -> Path:
    """Compile the seed's C code into a shared library (and the reference
    that computes pixel coordinates as the Python loop does)."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        sys.exit("the demo needs a C compiler (gcc or cc) on PATH")
    lib = outdir / "libcreate_fractal.so"
    ref = outdir / "pycoords.c"
    ref.write_text(
        '#include "create_fractal.h"\n'
        "int create_fractal_pycoords(Img img, int iters) {\n"
        "  double sx = 3.0 / img.width, sy = 2.0 / img.height;\n"
        "  for (int y = 0; y < img.height; y++) {\n"
        "    double imag = y * sy - 1;\n"
        "    for (int x = 0; x < img.width; x++) {\n"
        "      double real = x * sx - 2; unsigned char c;\n"
        "      mandel((float)real, (float)imag, iters, &c);\n"
        "      img.data[y * img.width + x] = c; } }\n"
        "  return 0; }\n"
    )
    cmd = [cc, "-shared", "-fPIC", "-O3", "-ffp-contract=off", f"-I{CSRC}", "-o", str(lib)]
    subprocess.run(cmd + [str(s) for s in SOURCES] + [str(ref)], check=True)
    return lib


def python_loop(image, iters, func, oneval) -> int:
    """Seed 000's looping function: one C call per pixel."""
    pixel_size_x = 3.0 / image.width
    pixel_size_y = 2.0 / image.height
    for y in range(image.height):
        imag = y * pixel_size_y - 1
        yy = y * image.width
        for x in range(image.width):
            real = x * pixel_size_x - 2
            ret = func(real, imag, iters, oneval)
            if ret < 0:
                return ret
            image.data[yy + x] = oneval[0]
    return 0


class Progress:
    """A progress line on stderr while the long loops run."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def show(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"\r  {text:<60}")
            sys.stderr.flush()

    def done(self) -> None:
        if not self.quiet:
            sys.stderr.write("\r" + " " * 64 + "\r")
            sys.stderr.flush()


def run_cffi_like(mod, lib_path: Path, width: int, height: int, iters: int):
    """ABI mode through an ``FFI`` of cffi's API (rcffi or cffi)."""
    ffi = mod.FFI()
    ffi.cdef((CSRC / "create_fractal.h").read_text())
    return run_ffi_lib(ffi, ffi.dlopen(str(lib_path)), width, height, iters)


def run_rcffi_api(build_dir: Path, width: int, height: int, iters: int):
    """rcffi API mode: the C sources compiled with the declarations
    (``set_source`` + ``compile``), then ``from _demo_api import ffi, lib``."""
    import importlib

    builder = rcffi.FFI()
    builder.cdef((CSRC / "create_fractal.h").read_text())
    builder.set_source(
        "_demo_api",
        '#include "create_fractal.h"',
        sources=[str(src) for src in SOURCES],
        include_dirs=[str(CSRC)],
        extra_compile_args=["-O3", "-ffp-contract=off"],
    )
    builder.compile(tmpdir=str(build_dir))
    sys.path.insert(0, str(build_dir))
    try:
        module = importlib.import_module("_demo_api")
    finally:
        sys.path.remove(str(build_dir))
    return run_ffi_lib(module.ffi, module.lib, width, height, iters)


def run_ffi_lib(ffi, lib, width: int, height: int, iters: int):
    """One call and many calls through ``ffi``/``lib``.  Returns
    (one_ms, one_image, many_ms, many_image)."""
    img = ffi.new("Img[1]")
    img[0].width, img[0].height = width, height
    data = ffi.new(f"unsigned char[{width * height}]")
    img[0].data = data
    t0 = time.process_time()
    lib.create_fractal(img[0], iters)
    one_ms = (time.process_time() - t0) * 1e3
    one = ffi.buffer(data)[:]
    data2 = ffi.new(f"unsigned char[{width * height}]")
    img[0].data = data2
    value = ffi.new("unsigned char[1]")
    t0 = time.process_time()
    python_loop(img[0], iters, lib.mandel, value)
    many_ms = (time.process_time() - t0) * 1e3
    return one_ms, one, many_ms, ffi.buffer(data2)[:]


def run_ctypes(lib_path: Path, width: int, height: int, iters: int):
    class CImg(ctypes.Structure):
        _fields_ = [
            ("width", ctypes.c_int),
            ("height", ctypes.c_int),
            ("data", ctypes.POINTER(ctypes.c_uint8)),
        ]

    dll = ctypes.CDLL(str(lib_path))
    dll.create_fractal.argtypes = [CImg, ctypes.c_int]
    dll.mandel.argtypes = [
        ctypes.c_float,
        ctypes.c_float,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_uint8),
    ]
    buf = (ctypes.c_uint8 * (width * height))()
    img = CImg(width, height, buf)
    t0 = time.process_time()
    dll.create_fractal(img, iters)
    one_ms = (time.process_time() - t0) * 1e3
    one = bytes(buf)
    buf2 = (ctypes.c_uint8 * (width * height))()
    img.data = buf2
    value = (ctypes.c_uint8 * 1)()
    t0 = time.process_time()
    python_loop(img, iters, dll.mandel, value)
    many_ms = (time.process_time() - t0) * 1e3
    return one_ms, one, many_ms, bytes(buf2)


def c_references(lib_path: Path, width: int, height: int, iters: int):
    """C's image, the image of the Python loop's coordinates, and C's time."""
    ffi = rcffi.FFI()
    ffi.cdef((CSRC / "create_fractal.h").read_text())
    ffi.cdef("int create_fractal_pycoords(Img img, int iters);")
    lib = ffi.dlopen(str(lib_path))
    img = ffi.new("Img[1]", [{"width": width, "height": height}])
    data = ffi.new(f"unsigned char[{width * height}]")
    img[0].data = data
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        lib.create_fractal(img[0], iters)
        best = min(best, (time.process_time() - t0) * 1e3)
    c_image = ffi.buffer(data)[:]
    lib.create_fractal_pycoords(img[0], iters)
    return best, c_image, ffi.buffer(data)[:]


def write_png(path: Path, width: int, height: int, pixels: bytes, iters: int) -> None:
    """A grey PNG (no Pillow needed): bright where the point escapes late."""
    scale = 255 // max(iters, 1)
    rows = b"".join(
        b"\x00" + bytes(min(255, p * scale) for p in pixels[y * width : (y + 1) * width])
        for y in range(height)
    )

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    png += chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=1500)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a 150x100 image (for tests)")
    parser.add_argument("--png", default="mandelbrot.png")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    width, height = (150, 100) if args.quick else (args.width, args.height)
    progress = Progress(args.quiet)

    with tempfile.TemporaryDirectory() as tmp:
        lib_path = build_library(Path(tmp))
        c_ms, c_image, loop_reference = c_references(lib_path, width, height, args.iters)
        rows = [("C (one create_fractal call)", c_ms, None, None)]
        contenders = [
            ("rcffi ABI", lambda: run_cffi_like(rcffi, lib_path, width, height, args.iters)),
            ("rcffi API", lambda: run_rcffi_api(Path(tmp), width, height, args.iters)),
        ]
        contenders.append(("ctypes", lambda: run_ctypes(lib_path, width, height, args.iters)))
        try:
            import cffi
        except ImportError:
            cffi = None
        if cffi is not None and cffi is not rcffi:
            contenders.append(
                ("cffi ABI", lambda: run_cffi_like(cffi, lib_path, width, height, args.iters))
            )
        failures = 0
        results = {}
        for name, run in contenders:
            progress.show(f"{name}: {width * height:,} calls of mandel() ...")
            one_ms, one, many_ms, many = run()
            results[name] = (one_ms, many_ms)
            ok_one = one == c_image
            ok_many = many == loop_reference
            failures += (not ok_one) + (not ok_many)
            rows.append((name, one_ms, many_ms, (ok_one, ok_many)))
        progress.done()

    print(f"Mandelbrot {width}x{height}, {args.iters} iterations (CPU time, ms)")
    cffi_times = results.get("cffi ABI")
    header = f"{'':30} {'one call':>10} {'x C':>6} {'many calls':>11} {'x C':>6}"
    if cffi_times:
        header += f" {'x cffi':>7}"
    print(header + "  image")
    for name, one_ms, many_ms, checks in rows:
        line = f"{name:30} {one_ms:10.1f} {one_ms / c_ms:6.2f}"
        if many_ms is None:
            print(line + "  (reference)")
            continue
        line += f" {many_ms:11.1f} {many_ms / c_ms:6.1f}"
        if cffi_times:
            line += f" {many_ms / cffi_times[1]:7.2f}"
        ok_one, ok_many = checks
        line += "  " + ("equal to C" if ok_one and ok_many else "DIFFERENT")
        print(line)
    print(
        "Images: 'one call' must equal C's byte for byte; the Python loop computes the\n"
        "pixel coordinates in double precision, so 'many calls' is compared with a C\n"
        "reference that does the same (C's float coordinates differ on a few pixels)."
    )
    write_png(Path(args.png), width, height, c_image, args.iters)
    print(f"wrote {args.png}")
    if failures:
        print(f"{failures} image(s) differ from C's")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
