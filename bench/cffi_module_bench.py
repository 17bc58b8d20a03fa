"""Modules built by the real cffi, run under rcffi and under cffi in the
same run.

    python3 bench/cffi_module_bench.py [--repeat N] [--imports N] [--copies N]

The modules are generated and compiled once by the real cffi 2.1.1 (its
private venv under ``.cache/``, see ``tests/cffi_built.py``); the same
compiled files are then imported by two interpreters: rcffi's (with rcffi
installed as ``cffi``/``_cffi_backend``) and the cffi venv's.

* Per call: ``int add(int, int)`` and ``size_t g(void *)``, timed with
  ``timeit`` on the CPU clock, best of ``--repeat`` runs, the two backends
  interleaved run by run; with the attribute lookup (``lib.add(1, 2)``)
  and without (``add(1, 2)``, the function bound to a local).  Targets:
  rcffi ≤ 0.6 × cffi.
* Import of a module of 1,200 declarations (400 functions, 100 structs,
  100 enums of 3 values, 200 integer constants, 100 typedefs, 100 global
  variables), in fresh processes, best of ``--imports`` runs: the
  ``import`` statement alone (the backend imported first), and the whole
  process (``import <backend>; import _cb_big``) minus a bare
  ``python -c pass``, both in CPU time (user + system, best of the runs:
  less disturbed by other processes than the wall clock); and "one more
  (warm)": the best
  time to import one more copy of the module (its own file, so its own
  tables) in a process importing ``--copies`` of them (best, wall clock).
  Target: rcffi ≤ 1.2 × cffi for the import.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import cffi_built  # noqa: E402

SMALL = r'''
import cffi
ffi = cffi.FFI()
ffi.cdef("int add(int, int); size_t g(void *); extern int counter;")
ffi.set_source("_cb_bench", """
static int add(int a, int b) { return a + b; }
static size_t g(void *p) { return (size_t)p; }
int counter = 5;
""")
ffi.compile(verbose=False)
'''


def big_script(n: int = 100) -> str:
    cdef, src = [], []
    for i in range(n):
        s = f"struct s{i} {{ int a; double b; char c[{i % 7 + 1}]; }};"
        cdef.append(s)
        src.append(s)
        e = f"enum e{i} {{ E{i}_A, E{i}_B = {i}, E{i}_C }};"
        cdef.append(e)
        src.append(e)
        t = f"typedef struct s{i} s{i}_t;"
        cdef.append(t)
        src.append(t)
        cdef.append(f"extern int v{i};")
        src.append(f"int v{i} = {i};")
        for k in range(2):
            cdef.append(f"#define K{i}_{k} {i * 10 + k}")
            src.append(f"#define K{i}_{k} {i * 10 + k}")
        for k in range(4):
            cdef.append(f"int f{i}_{k}(s{i}_t *, int);")
            src.append(f"static int f{i}_{k}(s{i}_t *p, int x) {{ return p->a + x + {k}; }}")
    return f"""
import cffi
ffi = cffi.FFI()
ffi.cdef({chr(10).join(cdef)!r})
ffi.set_source("_cb_big", {chr(10).join(src)!r})
ffi.compile(verbose=False)
"""


PRELUDE = {
    "rcffi": "import rcffi; rcffi.install_as_cffi(); import _cffi_backend\n",
    "cffi": "import _cffi_backend\n",
}


def interpreter(backend: str) -> list[str]:
    if backend == "rcffi":
        return [sys.executable]
    return [str(cffi_built.venv_python())]


def env_for(backend: str, *dirs: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    path = list(dirs)
    if backend == "rcffi":
        path.insert(0, os.path.join(ROOT, "python"))
    env["PYTHONPATH"] = os.pathsep.join(path)
    return env


CALLS = r"""
import time, timeit, json
from _cb_bench import ffi, lib
p = ffi.cast("void *", 1234)
add, g = lib.add, lib.g
cases = {
    "lib.add(1, 2)": ("lib.add(1, 2)", {"lib": lib}),
    "add(1, 2)": ("add(1, 2)", {"add": add}),
    "lib.g(p)": ("lib.g(p)", {"lib": lib, "p": p}),
    "g(p)": ("g(p)", {"g": g, "p": p}),
    "lib.counter": ("lib.counter", {"lib": lib}),
}
out = {}
for name, (stmt, ns) in cases.items():
    t = timeit.Timer(stmt, globals=ns, timer=time.process_time)
    n = NUMBER
    out[name] = min(t.repeat(repeat=3, number=n)) / n
print(json.dumps(out))
"""


def per_call(small: str, repeat: int, number: int) -> dict[str, dict[str, float]]:
    import json

    best: dict[str, dict[str, float]] = {"rcffi": {}, "cffi": {}}
    for _ in range(repeat):
        for backend in ("rcffi", "cffi"):
            code = PRELUDE[backend] + CALLS.replace("NUMBER", str(number))
            r = subprocess.run(
                [*interpreter(backend), "-c", code],
                env=env_for(backend, small),
                capture_output=True,
                text=True,
                check=True,
            )
            for k, v in json.loads(r.stdout).items():
                best[backend][k] = min(v, best[backend].get(k, v))
    return best


def child_cpu(cmd: list[str], env: dict[str, str]) -> float:
    """The CPU time (user + system) of one child process running ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_times(big: str, runs: int) -> dict[str, dict[str, float]]:
    res: dict[str, dict[str, list[float]]] = {
        b: {"import": [], "process": [], "bare": []} for b in ("rcffi", "cffi")
    }
    timed = (
        "import time\nt0 = time.process_time()\nimport _cb_big\nprint(time.process_time() - t0)\n"
    )
    for _ in range(runs):
        for backend in ("rcffi", "cffi"):
            env = env_for(backend, big)
            cmd = interpreter(backend)
            r = subprocess.run(
                [*cmd, "-c", PRELUDE[backend] + timed],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            res[backend]["import"].append(float(r.stdout))
            res[backend]["process"].append(
                child_cpu([*cmd, "-c", PRELUDE[backend] + "import _cb_big\n"], env)
            )
            res[backend]["bare"].append(child_cpu([*cmd, "-c", "pass"], env))
    return {b: {k: min(v) for k, v in d.items()} for b, d in res.items()}


WARM = r"""
import importlib.machinery, importlib.util, json, sys, time
paths = json.loads(sys.argv[1])
ts = []
for path in paths:
    loader = importlib.machinery.ExtensionFileLoader("_cb_big", path)
    spec = importlib.util.spec_from_file_location("_cb_big", path, loader=loader)
    t0 = time.perf_counter()
    loader.create_module(spec)
    ts.append(time.perf_counter() - t0)
    del sys.modules["_cb_big"], sys.modules["_cb_big.lib"]
print(min(ts))
"""


def warm_imports(big: str, copies: int) -> dict[str, float]:
    """The best time to import one more copy of the big module (its own
    file, so its own tables) in a process that imported others before."""
    import json
    import shutil

    so = next(f for f in os.listdir(big) if f.startswith("_cb_big.") and f.endswith(".so"))
    paths = []
    for i in range(copies):
        d = os.path.join(big, "copies", str(i))
        os.makedirs(d, exist_ok=True)
        target = os.path.join(d, so)
        if not os.path.exists(target):
            shutil.copy(os.path.join(big, so), target)
        paths.append(target)
    out = {}
    for backend in ("rcffi", "cffi"):
        r = subprocess.run(
            [*interpreter(backend), "-c", PRELUDE[backend] + WARM, json.dumps(paths)],
            env=env_for(backend),
            capture_output=True,
            text=True,
            check=True,
        )
        out[backend] = float(r.stdout)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--number", type=int, default=200_000)
    ap.add_argument("--imports", type=int, default=15)
    ap.add_argument("--copies", type=int, default=100)
    args = ap.parse_args()
    try:
        small = str(cffi_built.build(SMALL))
        big = str(cffi_built.build(big_script()))
    except cffi_built.Unavailable as e:
        sys.exit(f"cffi_module_bench: {e}")
    calls = per_call(small, args.repeat, args.number)
    print(f"per call (best of {args.repeat} x 3 runs, CPU clock, incl. the timeit loop)")
    print(f"{'':16}{'rcffi':>10}{'cffi':>10}{'rcffi/cffi':>12}")
    for k in calls["rcffi"]:
        r, c = calls["rcffi"][k] * 1e9, calls["cffi"][k] * 1e9
        print(f"{k:16}{r:>8.1f}ns{c:>8.1f}ns{r / c:>11.2f}x")
    imp = import_times(big, args.imports)
    print(
        f"\nimport of a module of 1,200 declarations "
        f"(CPU time, best of {args.imports} fresh processes)"
    )
    print(f"{'':22}{'rcffi':>10}{'cffi':>10}{'rcffi/cffi':>12}")
    r, c = imp["rcffi"]["import"] * 1e3, imp["cffi"]["import"] * 1e3
    print(f"{'import _cb_big':22}{r:>8.2f}ms{c:>8.2f}ms{r / c:>11.2f}x")
    r = (imp["rcffi"]["process"] - imp["rcffi"]["bare"]) * 1e3
    c = (imp["cffi"]["process"] - imp["cffi"]["bare"]) * 1e3
    print(f"{'process - bare python':22}{r:>8.2f}ms{c:>8.2f}ms{r / c:>11.2f}x")
    warm = warm_imports(big, args.copies)
    r, c = warm["rcffi"] * 1e3, warm["cffi"] * 1e3
    print(f"{'one more (warm)':22}{r:>8.2f}ms{c:>8.2f}ms{r / c:>11.2f}x")


if __name__ == "__main__":
    main()
