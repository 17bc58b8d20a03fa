"""Calling C from Python: rcffi against ctypes and cffi, in the same run.

    make bench                       # makes .cache/bench-venv with cffi, then runs this
    python bench/mandel_bench.py [--runs N] [--repeat N] [--width W --height H]

The workload of ``make demo`` (``examples/mandelbrot/workload.py``):

* **one call** — C ``create_fractal()`` draws a 1500x1000 image in one call;
* **many calls** — a Python loop calls C ``mandel()`` 1.5 million times,
  storing each result into the image (what a call through the tool costs,
  plus reading and writing the image's C memory);
* **per call** — small C functions timed with ``timeit``: ``add(1, 2)``,
  ``noop()``, ``fma3(1.0, 2.0, 3.0)``, ``sum_bytes(b, 64)`` (a 64-byte
  ``bytes`` for ``const unsigned char *``) and ``area(img)`` (a struct by
  value).

Contenders: rcffi ABI mode (``dlopen``), rcffi API mode (``set_source`` +
``compile``), ctypes, and cffi ABI and API mode when the real cffi is
importable (``make bench`` installs it into its own virtualenv; without it
the script says so and prints the other rows), and Cython, a ``cdef
extern`` wrapper (``examples/mandelbrot/mandel_cython.pyx``), when Cython is
installed (``make bench`` installs it too).  Times are CPU time
(``time.process_time``): medians of ``--runs`` runs for the Mandelbrot,
best of ``--repeat`` for the per-call rows (ns, the timeit loop included),
the contenders interleaved run by run.  Every image is checked against
C's.  Ratios are against cffi API mode, or ctypes without cffi.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "examples" / "mandelbrot"))

import workload  # noqa: E402


def per_call_ns(stmt: str, namespace: dict, repeat: int, target: float) -> float:
    """The best of ``repeat`` timeit runs of ``stmt``, in ns per execution;
    each run lasts about ``target`` seconds of CPU time."""
    timer = timeit.Timer(stmt, globals=namespace, timer=time.process_time)
    number, _ = timer.autorange()
    number = max(1, int(number * target / 0.2))
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=1500)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="Mandelbrot runs (median)")
    parser.add_argument("--repeat", type=int, default=5, help="per-call runs (best)")
    parser.add_argument("--target", type=float, default=0.1, help="seconds per per-call run")
    args = parser.parse_args(argv)
    w, h, iters = args.width, args.height, args.iters

    if workload.real_cffi() is None:
        print(workload.CFFI_MISSING, file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        lib_path = workload.build_library(Path(tmp))
        ref = workload.c_images(lib_path, w, h, iters, runs=max(3, args.runs))
        makers = workload.contenders(lib_path, Path(tmp), with_cython=True)
        contenders = [make() for make in makers]
        one = {c.name: [] for c in contenders}
        many = {c.name: [] for c in contenders}
        ok = {c.name: True for c in contenders}
        for _ in range(args.runs):
            for c in contenders:
                ms, image = c.one_call(w, h, iters)
                one[c.name].append(ms)
                ok[c.name] &= image == ref.one
                ms, image = c.many_calls(w, h, iters)
                many[c.name].append(ms)
                ok[c.name] &= image == ref.loop
        micro: dict[str, dict[str, float]] = {c.name: {} for c in contenders}
        for label in contenders[0].micro():
            for c in contenders:
                stmt, ns = c.micro()[label]
                micro[c.name][label] = per_call_ns(stmt, ns, args.repeat, args.target)

    names = [c.name for c in contenders]
    base = "cffi API" if "cffi API" in names else "ctypes"
    med = {n: statistics.median(many[n]) for n in names}
    print(f"Mandelbrot {w}x{h}, {iters} iterations: CPU ms, median of {args.runs} runs")
    print()
    print(f"| contender | many calls (ms) | x {base} | one call (ms) | x C | image |")
    print("|---|---|---|---|---|---|")
    print(f"| C (create_fractal) | - | - | {ref.c_ms:.1f} | 1.00 | reference |")
    for n in names:
        o = statistics.median(one[n])
        image = "equal to C" if ok[n] else "DIFFERENT"
        print(
            f"| {n} | {med[n]:.0f} | {med[n] / med[base]:.2f} | {o:.1f} | "
            f"{o / ref.c_ms:.2f} | {image} |"
        )
    print()
    labels = list(micro[names[0]])
    print(f"Per call: ns (best of {args.repeat}, timeit loop included), x {base} in brackets")
    print()
    print("| contender | " + " | ".join(f"`{label}`" for label in labels) + " |")
    print("|---|" + "---|" * len(labels))
    for n in names:
        cells = [f"{micro[n][lb]:.0f} ({micro[n][lb] / micro[base][lb]:.2f})" for lb in labels]
        print(f"| {n} | " + " | ".join(cells) + " |")
    if not all(ok.values()):
        print("some images differ from C's")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
