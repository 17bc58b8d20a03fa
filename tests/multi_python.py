"""``make multi-python``: the one abi3 wheel of rcffi on CPython 3.10 to 3.13.

For each interpreter pyenv has (3.10, 3.11, 3.12, 3.13), a venv under
``.cache/multi-python/`` gets the rcffi wheel that ``python -m rcffi
cffi-wheel`` writes (the same file for all), installed offline, and runs the
smoke program below in it: an ABI-mode call, a callback (qsort), the buffer protocol both ways,
an API-mode build and import.  Prints one line per version; exit status 1 if any fails.
Only the standard library is used.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "multi-python"
VERSIONS = ("3.10", "3.11", "3.12", "3.13")

SMOKE = textwrap.dedent(
    """
    import os, sys, tempfile
    import rcffi

    ffi = rcffi.FFI()
    ffi.cdef("int abs(int);"
             "void qsort(void *, size_t, size_t, int (*)(const void *, const void *));")
    lib = ffi.dlopen(None)
    assert lib.abs(-5) == 5

    @ffi.callback("int(const void *, const void *)")
    def cmp(a, b):
        x, y = ffi.cast("int *", a)[0], ffi.cast("int *", b)[0]
        return (x > y) - (x < y)

    arr = ffi.new("int[]", [5, 3, 9, 1])
    lib.qsort(arr, 4, ffi.sizeof("int"), cmp)
    assert list(arr) == [1, 3, 5, 9]

    # The buffer protocol both ways (rcffi's own slots, the stable ABI of 3.10).
    view = memoryview(ffi.buffer(arr))
    assert view.nbytes == 4 * ffi.sizeof("int") and not view.readonly
    ba = bytearray(b"xyz")
    p = ffi.from_buffer(ba)
    p[0] = b"a"
    assert ba == bytearray(b"ayz")
    del view

    api = rcffi.FFI()
    api.cdef("int add(int, int);")
    api.set_source("_mp_smoke", "static int add(int a, int b) { return a + b; }")
    d = tempfile.mkdtemp()
    api.compile(tmpdir=d)
    sys.path.insert(0, d)
    import _mp_smoke
    assert _mp_smoke.lib.add(2, 3) == 5
    print("smoke ok", sys.version.split()[0])
    """
)


def interpreter(version: str) -> str | None:
    found = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python3")))
    return found[-1] if found else None


def run(cmd: list, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False, **kw)


def main() -> int:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    wheels = CACHE / "wheels"
    build = run(
        [sys.executable, "-m", "rcffi", "cffi-wheel", "-o", wheels],
        env=dict(os.environ, PYTHONPATH=str(ROOT / "python")),
    )
    if build.returncode != 0:
        print(build.stdout, build.stderr)
        return 1
    wheel = next(wheels.glob("rcffi-*.whl"))
    print(f"wheel: {wheel.name}")
    ok = True
    for version in VERSIONS:
        py = interpreter(version)
        if py is None:
            # As tests/prereq.py: a skip here, a failure in CI.
            if os.environ.get("RCFFI_REQUIRE_ALL") == "1":
                print(f"{version}: FAILED (no such interpreter under pyenv)")
                ok = False
            else:
                print(f"{version}: skipped (no such interpreter under pyenv)")
            continue
        venv = CACHE / f"venv-{version}"
        if not (venv / "bin" / "python").exists():
            r = run([py, "-m", "venv", venv], env=env)
            if r.returncode != 0:
                print(f"{version}: FAILED (venv: {r.stderr.strip()[-300:]})")
                ok = False
                continue
        vpy = venv / "bin" / "python"
        r = run(
            [vpy, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", "--no-index",
             wheel],
            env=env,
        )  # fmt: skip
        if r.returncode != 0:
            print(f"{version}: FAILED (install: {r.stderr.strip().splitlines()[-1][:300]})")
            ok = False
            continue
        r = run([vpy, "-c", SMOKE], env=env, cwd=CACHE)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{version}: FAILED ({last[:300]})")
            ok = False
        else:
            print(f"{version}: {r.stdout.strip()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
