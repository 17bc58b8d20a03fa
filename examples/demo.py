"""The rcffi demo: the Mandelbrot set drawn through rcffi and its peers.

``make demo`` builds rcffi, compiles ``examples/mandelbrot/*.c`` into a
shared library and draws the set two ways for each tool (see
``examples/mandelbrot/workload.py``):

* **one call** — Python calls C ``create_fractal(img, iters)`` once
  (the ``Img`` struct passed by value);
* **many calls** — a Python loop calls C ``mandel()`` for every pixel
  (1.5 million calls at the default size).

Tools: rcffi ABI mode (``ffi.dlopen``), rcffi API mode (``set_source`` +
``compile``), ctypes, and cffi in ABI and API mode when it is installed.
Every image is compared with C's, pixel by pixel; the table gives CPU
milliseconds and ratios.  At the end the demo writes ``mandelbrot.png``
(the set in colour) and ``mandelbrot-bars.png`` (a bar chart of the
"many calls" column).

Options: ``--width``, ``--height``, ``--iters``, ``--quick`` (a small image,
what the test suite runs), ``--png PATH``, ``--bars PATH``, ``--quiet``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "mandelbrot"))

import pictures  # noqa: E402
import workload  # noqa: E402
from workload import python_loop  # noqa: E402, F401  (shared with the tests)


class Progress:
    """A progress line on stderr while the long loops run, only when stderr
    is a terminal (a log file gets no ``\\r`` lines)."""

    def __init__(self, quiet: bool) -> None:
        self.active = not quiet and sys.stderr.isatty()

    def show(self, text: str) -> None:
        if self.active:
            sys.stderr.write(f"\r  {text:<60}")
            sys.stderr.flush()

    def done(self) -> None:
        if self.active:
            sys.stderr.write("\r" + " " * 64 + "\r")
            sys.stderr.flush()


def measure(width: int, height: int, iters: int, progress: Progress):
    """C's images and one :class:`workload.Result` per contender."""
    with tempfile.TemporaryDirectory() as tmp:
        lib_path = workload.build_library(Path(tmp))
        ref = workload.c_images(lib_path, width, height, iters)
        results = []
        for make in workload.contenders(lib_path, Path(tmp)):
            contender = make()
            progress.show(f"{contender.name}: {width * height:,} calls of mandel() ...")
            one_ms, one = contender.one_call(width, height, iters)
            many_ms, many = contender.many_calls(width, height, iters)
            results.append(
                workload.Result(contender.name, one_ms, many_ms, one == ref.one, many == ref.loop)
            )
        progress.done()
    return ref, results


def print_table(ref, results, iters: int) -> None:
    base = next((r for r in results if r.name == "cffi API"), None)
    print(f"Mandelbrot {ref.width}x{ref.height}, {iters} iterations (CPU time, ms)")
    header = f"{'':22} {'one call':>9} {'x C':>6} {'many calls':>11}"
    print(header + (f" {'x cffi API':>11}" if base else "") + "  image")
    print(f"{'C (create_fractal)':22} {ref.c_ms:9.1f} {1:6.2f} {'(reference)':>11}")
    for r in results:
        line = f"{r.name:22} {r.one_ms:9.1f} {r.one_ms / ref.c_ms:6.2f} {r.many_ms:11.1f}"
        if base:
            line += f" {r.many_ms / base.many_ms:11.2f}"
        print(line + "  " + ("equal to C" if r.one_ok and r.many_ok else "DIFFERENT"))
    print(
        "Images: 'one call' must equal C's byte for byte; the Python loop computes the\n"
        "pixel coordinates in double precision, so 'many calls' is compared with a C\n"
        "reference that does the same (C's float coordinates differ on a few pixels)."
    )


def bar_rows(results) -> list[tuple[str, float, str]]:
    base = next((r for r in results if r.name == "cffi API"), None)
    rows = []
    for r in results:
        note = f"{r.many_ms / base.many_ms:.2f} x cffi API" if base else ""
        rows.append((r.name, r.many_ms, note))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=1500)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a 150x100 image (for tests)")
    parser.add_argument("--png", default="mandelbrot.png", help="the image of the set")
    parser.add_argument("--bars", default="mandelbrot-bars.png", help="the bar chart")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    width, height = (150, 100) if args.quick else (args.width, args.height)

    ref, results = measure(width, height, args.iters, Progress(args.quiet))
    print_table(ref, results, args.iters)
    if workload.real_cffi() is None:
        print(workload.CFFI_MISSING)
    pictures.write_fractal_png(Path(args.png), width, height, ref.one, args.iters)
    title = f"{width * height:,} calls of C mandel() from a Python loop (CPU ms, less is better)"
    pictures.write_bar_chart(Path(args.bars), title, bar_rows(results), "ms")
    print(f"wrote {args.png} and {args.bars}")
    failures = sum((not r.one_ok) + (not r.many_ok) for r in results)
    if failures:
        print(f"{failures} image(s) differ from C's")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
