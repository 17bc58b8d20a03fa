"""Parsing benchmarks, rcffi against cffi measured
in the same run (ratios, not absolute times alone).

    python3 bench/parse_bench.py

1. ``ffi.cdef`` of a ~2,800-line generated header (bench/gen_cdef.py);
2. ``import rcffi`` plus a first small cdef, in a fresh interpreter;
3. ``ffi.typeof`` of a type string not seen before, after the big cdef.
cffi rows show up when cffi is installed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_cdef import generate  # noqa: E402


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_cdef(mod, source: str, repeat: int) -> float:
    def run() -> None:
        ffi = mod.FFI()
        ffi.cdef(source)

    return _median_time(run, repeat)


def bench_import(modname: str, repeat: int) -> float:
    code = (
        f"import time; t = time.perf_counter(); import {modname}; ffi = {modname}.FFI(); "
        "ffi.cdef('int add(int, int); typedef struct { int x, y; } pt;'); "
        "print(time.perf_counter() - t)"
    )
    # Bytecode caching as in normal use (some environments turn it off);
    # the first, untimed run writes the .pyc files.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for i in range(repeat + 1):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
        if i:
            times.append(float(out.stdout))
    return statistics.median(times)


def bench_typeof(mod, source: str, n: int) -> float:
    ffi = mod.FFI()
    ffi.cdef(source)
    names = [f"struct mod{i % 100}_node *[{i + 1}]" for i in range(n)]
    t0 = time.perf_counter()
    for name in names:
        ffi.typeof(name)
    return (time.perf_counter() - t0) / n


def main() -> None:
    source = generate(2800)
    nlines = source.count("\n")
    contenders = []
    import rcffi

    contenders.append(("rcffi", rcffi))
    try:
        import cffi

        contenders.append(("cffi", cffi))
    except ImportError:
        print("(cffi is not installed: no cffi rows, no ratios)")
    results: dict[str, dict[str, float]] = {}
    for name, mod in contenders:
        slow = name == "cffi"
        results[name] = {
            "cdef": bench_cdef(mod, source, 3 if slow else 15),
            "import": bench_import(name, 3 if slow else 7),
            "typeof": bench_typeof(mod, source, 20 if slow else 2000),
        }
    print(f"cdef of {nlines} lines; import + first small cdef; typeof of a new type string")
    print(f"{'':8} {'cdef (ms)':>12} {'import+cdef (ms)':>18} {'typeof (us)':>14}")
    for name, r in results.items():
        print(
            f"{name:8} {r['cdef'] * 1e3:12.2f} {r['import'] * 1e3:18.2f} {r['typeof'] * 1e6:14.2f}"
        )
    if "cffi" in results:
        a, b = results["rcffi"], results["cffi"]
        print(
            f"{'ratio':8} {a['cdef'] / b['cdef']:12.4f} {a['import'] / b['import']:18.4f} "
            f"{a['typeof'] / b['typeof']:14.5f}   (rcffi / cffi, lower is better)"
        )
    targets = [
        ("cdef", 20e-3, "ms", 1e3),
        ("import", 5e-3, "ms", 1e3),
        ("typeof", 10e-6, "us", 1e6),
    ]
    for key, limit, unit, scale in targets:
        value = results["rcffi"][key]
        verdict = "ok" if value <= limit else "OVER"
        print(f"target {key}: {value * scale:.2f} {unit} <= {limit * scale:.0f} {unit}: {verdict}")


if __name__ == "__main__":
    main()
