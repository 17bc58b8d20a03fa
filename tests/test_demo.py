"""`make demo` in its quick mode: the images equal C's, the two PNGs are
written, and a log gets no progress lines."""

import struct
import subprocess
import sys
import zlib
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"


def png_info(path: Path) -> tuple[int, int, int, bytes]:
    """Width, height, colour type and the decompressed rows of a PNG."""
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert depth == 8
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, colour, zlib.decompress(idat)


def test_demo_quick(tmp_path):
    png, bars = tmp_path / "m.png", tmp_path / "bars.png"
    out = subprocess.run(
        [sys.executable, str(DEMO), "--quick", "--png", str(png), "--bars", str(bars)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rcffi ABI" in out.stdout and "rcffi API" in out.stdout and "ctypes" in out.stdout
    assert "DIFFERENT" not in out.stdout
    assert out.stdout.count("equal to C") >= 3
    # Not a terminal: no carriage-return progress lines.
    assert "\r" not in out.stdout + out.stderr
    # Without the real cffi the demo says how to get its rows.
    if "cffi API" not in out.stdout:
        assert "make bench" in out.stdout and "pip install cffi" in out.stdout
    width, height, colour, rows = png_info(png)
    assert (width, height, colour) == (150, 100, 2)  # RGB
    pixels = {rows[r * (3 * width + 1) + 1 :][i : i + 3] for r in range(height) for i in (0, 99)}
    assert len(pixels) > 1
    assert b"\x00\x00\x00" in rows  # the set itself is black
    width, height, colour, _ = png_info(bars)
    assert colour == 2 and width > 300 and height > 100


def test_mandel_draws_the_set(tmp_path):
    """examples/mandelbrot/mandel.c is the real recurrence: points known to
    be in the set stay, points known to be outside escape when they should."""
    sys.path.insert(0, str(DEMO.parent / "mandelbrot"))
    try:
        import workload
    finally:
        sys.path.remove(str(DEMO.parent / "mandelbrot"))
    import rcffi

    ffi = rcffi.FFI()
    ffi.cdef(workload.cdef_text())
    lib = ffi.dlopen(str(workload.build_library(tmp_path)))
    val = ffi.new("unsigned char *")
    for inside in [(0.0, 0.0), (-1.0, 0.0), (-0.1, 0.6), (0.2, 0.0), (-0.12, 0.75)]:
        assert lib.mandel(*inside, 100, val) == 1 and val[0] == 100, inside
    # c = 1: z = 1, 2, 5 -> |z| >= 2 after the second step (i = 1).
    assert lib.mandel(1.0, 0.0, 100, val) == 0 and val[0] == 1
    # c = i: 0, i, -1+i, -i, -1+i, ... stays bounded (in the set).
    assert lib.mandel(0.0, 1.0, 100, val) == 1
    # c = 0.5i + 0.5: outside, escapes after a few steps.
    assert lib.mandel(0.5, 0.5, 100, val) == 0 and 2 < val[0] < 10
