"""Start-up benchmarks: rcffi against the real cffi, measured in the same
run, each figure in fresh processes.

    python bench/import_bench.py [--runs N]

1. **Import of a compiled module** with 1,200 cdef lines (360
   functions, 90 structs and unions, enums, constants, globals; generated
   below),
   built once by rcffi and once by cffi from the same cdef and C source:
   the time of ``import NAME`` in a fresh process, measured inside it, so
   it is the whole import (rcffi or ``_cffi_backend`` included) without
   the interpreter's own start-up.  Target: rcffi ≤ 1.0 × cffi.
2. **A first ABI-mode call**: the wall time of ``python -c "import
   rcffi; ffi = rcffi.FFI(); ffi.cdef('int abs(int);');
   ffi.dlopen(None).abs(-1)"`` minus that of ``python -c pass``, against
   the same with cffi.  Target: ≤ 0.5 ×.
3. **The first ``lib.f``** of the compiled module (after its import), in
   a fresh process.  Target: ≤ 1 × cffi.

Medians (and minimums) of ``--runs`` processes per figure, the contenders
interleaved.  The real cffi lives in a private venv under ``.cache/``
(made on first use with ``pip install cffi==2.1.1``); byte-code caches are
on, as for an installed package.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

UNITS = 30  # x 40 lines: 12 functions, 3 structs, 1 enum, 2 defines, 1 global, 2 typedefs

CDEF_UNIT = """\
typedef struct u{i}_point {{
    int x;
    int y;
    double w;
}} u{i}_point_t;
struct u{i}_box {{
    u{i}_point_t lo;
    u{i}_point_t hi;
    unsigned char tag[8];
    const char *name;
    struct u{i}_box *next;
    int (*visit)(struct u{i}_box *, void *);
}};
enum u{i}_kind {{
    U{i}_A,
    U{i}_B = 4,
    U{i}_C = -1
}};
typedef int (*u{i}_cb_t)(int, void *);
union u{i}_value {{
    long long i;
    double d;
    void *p;
    char bytes[8];
}};
#define U{i}_VERSION {i}
#define U{i}_LIMIT ...
extern int u{i}_counter;
int u{i}_add(int a, int b);
int u{i}_sub(int a, int b);
long u{i}_mul(long a, long b);
double u{i}_scale(double x, double f);
int u{i}_len(const char *s);
void u{i}_reset(struct u{i}_box *b);
int u{i}_area(const struct u{i}_box *b);
u{i}_point_t u{i}_mid(u{i}_point_t a, u{i}_point_t b);
enum u{i}_kind u{i}_kind_of(int v);
void *u{i}_identity(void *p);
int u{i}_call(u{i}_cb_t cb, void *data);
double u{i}_get(union u{i}_value *v);
"""

SOURCE_UNIT = """\
typedef struct u{i}_point {{ int x; int y; double w; }} u{i}_point_t;
struct u{i}_box {{
    u{i}_point_t lo, hi;
    unsigned char tag[8];
    const char *name;
    struct u{i}_box *next;
    int (*visit)(struct u{i}_box *, void *);
}};
typedef int (*u{i}_cb_t)(int, void *);
enum u{i}_kind {{ U{i}_A, U{i}_B = 4, U{i}_C = -1 }};
#define U{i}_VERSION {i}
union u{i}_value {{ long long i; double d; void *p; char bytes[8]; }};
#define U{i}_LIMIT ({i} * 10)
int u{i}_counter = {i};
int u{i}_add(int a, int b) {{ return a + b; }}
int u{i}_sub(int a, int b) {{ return a - b; }}
long u{i}_mul(long a, long b) {{ return a * b; }}
double u{i}_scale(double x, double f) {{ return x * f; }}
int u{i}_len(const char *s) {{ return (int)strlen(s); }}
void u{i}_reset(struct u{i}_box *b) {{ memset(b, 0, sizeof *b); }}
int u{i}_area(const struct u{i}_box *b) {{
    return (b->hi.x - b->lo.x) * (b->hi.y - b->lo.y);
}}
u{i}_point_t u{i}_mid(u{i}_point_t a, u{i}_point_t b) {{
    u{i}_point_t r = {{ (a.x + b.x) / 2, (a.y + b.y) / 2, (a.w + b.w) / 2 }};
    return r;
}}
enum u{i}_kind u{i}_kind_of(int v) {{ return v > 0 ? U{i}_B : U{i}_C; }}
void *u{i}_identity(void *p) {{ return p; }}
int u{i}_call(u{i}_cb_t cb, void *data) {{ return cb({i}, data); }}
double u{i}_get(union u{i}_value *v) {{ return v->d; }}
"""


def cdef_and_source() -> tuple[str, str]:
    cdef = "".join(CDEF_UNIT.format(i=i) for i in range(UNITS))
    source = "#include <string.h>\n" + "".join(SOURCE_UNIT.format(i=i) for i in range(UNITS))
    return cdef, source


BUILD = """
import sys
sys.path[:0] = {paths!r}
import {package} as cffi
ffi = cffi.FFI()
ffi.cdef(open({cdef!r}).read())
ffi.set_source({name!r}, open({source!r}).read())
print(ffi.compile(tmpdir={tmpdir!r}))
"""

IMPORT = """
import time
t = time.perf_counter()
import {name}
d = time.perf_counter() - t
print(d)
"""

FIRST_ATTR = """
import {name}, time
lib = {name}.lib
t = time.perf_counter()
f = lib.u7_add
d = time.perf_counter() - t
assert f(2, 3) == 5
print(d)
"""

ABI_CALL = "import {pkg}; ffi = {pkg}.FFI(); ffi.cdef('int abs(int);'); ffi.dlopen(None).abs(-1)"


def _env(paths: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _run(py: str, code: str, env: dict[str, str], cwd: str) -> str:
    out = subprocess.run(
        [py, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{py} -c ...: {out.stderr}")
    return out.stdout.strip()


def _wall(py: str, code: str, env: dict[str, str], cwd: str) -> float:
    t = time.perf_counter()
    subprocess.run([py, "-c", code], env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t


def _stats(xs: list[float]) -> tuple[float, float]:
    return statistics.median(xs), min(xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="processes per figure")
    args = parser.parse_args()
    from cffi_tables import cffi_python

    cffi_py = cffi_python()
    if cffi_py is None:
        sys.exit("the real cffi could not be installed in a private venv (offline?)")
    rcffi_py = sys.executable
    rcffi_paths = [os.path.join(ROOT, "python")]
    with tempfile.TemporaryDirectory(prefix="rcffi-import-bench-") as tmp:
        cdef, source = cdef_and_source()
        cdef_file = os.path.join(tmp, "big.cdef")
        source_file = os.path.join(tmp, "big.c")
        with open(cdef_file, "w") as f:
            f.write(cdef)
        with open(source_file, "w") as f:
            f.write(source)
        dirs = {"rcffi": os.path.join(tmp, "r"), "cffi": os.path.join(tmp, "c")}
        pys = {"rcffi": rcffi_py, "cffi": str(cffi_py)}
        envs = {"rcffi": _env(rcffi_paths + [dirs["rcffi"]]), "cffi": _env([dirs["cffi"]])}
        for who in ("rcffi", "cffi"):
            os.makedirs(dirs[who])
            paths = rcffi_paths if who == "rcffi" else []
            build = BUILD.format(
                paths=paths,
                package=who,
                cdef=cdef_file,
                source=source_file,
                name="bigmod",
                tmpdir=dirs[who],
            )
            built = _run(pys[who], build, _env(paths), dirs[who])
            print(f"{who}: built {os.path.basename(built.splitlines()[-1])}")
        lines = cdef.count("\n")
        print(
            f"cdef: {lines} lines, {12 * UNITS} functions, {3 * UNITS} structs/unions, "
            f"{UNITS} enums, {2 * UNITS} constants, {UNITS} globals; {args.runs} runs each"
        )
        # Warm the byte-code caches and the page cache.
        for who in ("rcffi", "cffi"):
            _run(pys[who], IMPORT.format(name="bigmod"), envs[who], dirs[who])
        imports = {"rcffi": [], "cffi": []}
        first = {"rcffi": [], "cffi": []}
        abi = {"rcffi": [], "cffi": []}
        bare = {"rcffi": [], "cffi": []}
        for _ in range(args.runs):
            for who in ("rcffi", "cffi"):
                imports[who].append(
                    float(_run(pys[who], IMPORT.format(name="bigmod"), envs[who], dirs[who]))
                )
                first[who].append(
                    float(_run(pys[who], FIRST_ATTR.format(name="bigmod"), envs[who], dirs[who]))
                )
                abi_env = _env(rcffi_paths) if who == "rcffi" else _env([])
                abi[who].append(_wall(pys[who], ABI_CALL.format(pkg=who), abi_env, tmp))
                bare[who].append(_wall(pys[who], "pass", abi_env, tmp))
        print()
        print(f"{'figure':44} {'rcffi':>11} {'cffi':>11} {'ratio':>7}  target")

        def row(what: str, r: list[float], c: list[float], target: str) -> None:
            (rm, rmin), (cm, cmin) = _stats(r), _stats(c)
            print(
                f"{what:44} {rm * 1e3:8.3f} ms {cm * 1e3:8.3f} ms {rm / cm:7.2f}  {target}"
                f"   (min {rmin * 1e3:.3f} / {cmin * 1e3:.3f} ms)"
            )

        row(
            "import bigmod (whole, in a fresh process)", imports["rcffi"], imports["cffi"], "<= 1.0"
        )
        abi_r = [a - b for a, b in zip(abi["rcffi"], bare["rcffi"], strict=True)]
        abi_c = [a - b for a, b in zip(abi["cffi"], bare["cffi"], strict=True)]
        row("cdef + dlopen + abs(-1), minus 'pass'", abi_r, abi_c, "<= 0.5")
        row("first lib.u7_add of the compiled module", first["rcffi"], first["cffi"], "<= 1.0")
        print(
            f"\n('pass' alone: rcffi's python {statistics.median(bare['rcffi']) * 1e3:.1f} ms,"
            f" cffi's venv {statistics.median(bare['cffi']) * 1e3:.1f} ms)"
        )


if __name__ == "__main__":
    main()
