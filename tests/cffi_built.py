"""Modules generated and compiled by the real cffi, imported with rcffi as
``_cffi_backend`` (support of ``test_cffi_built*.py`` and of
``bench/cffi_module_bench.py``).

The real cffi lives only in a private venv under ``.cache/`` (made once,
``pip install cffi==2.1.1``); it generates and compiles the modules, each
cached under ``.cache/cffi-built/`` by a hash of its build script.  The
code that imports them runs in a subprocess of rcffi's interpreter where
``_cffi_backend`` is rcffi's and the real cffi is never imported (checked
at the end of every run)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
CFFI_VERSION = "2.1.1"
VENV = CACHE / f"cffi-{CFFI_VERSION}-venv"
BUILT = CACHE / "cffi-built"


class Unavailable(Exception):
    """The real cffi could not be installed (no network, no pip)."""


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_cffi() -> Path:
    """The interpreter of the private venv with the real cffi (made once)."""
    done = VENV / ".rcffi-ready"
    if done.exists():
        return venv_python()
    CACHE.mkdir(exist_ok=True)
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(VENV)],
            check=True,
            capture_output=True,
        )
        r = subprocess.run(
            [
                str(venv_python()),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                f"cffi=={CFFI_VERSION}",
                "setuptools",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise Unavailable(f"cannot make the cffi venv: {e}") from e
    if r.returncode != 0:
        raise Unavailable(f"pip install cffi=={CFFI_VERSION} failed:\n{r.stderr[-2000:]}")
    done.write_text("ok\n")
    return venv_python()


def build(script: str, tag: str = "") -> Path:
    """Runs the build ``script`` (which calls ``ffi.compile()`` or
    ``ffi.emit_*``) with the real cffi in a directory of its own, cached by
    the script's hash; returns that directory."""
    script = textwrap.dedent(script)
    key = hashlib.sha256(f"{CFFI_VERSION}\n{sys.version}\n{tag}\n{script}".encode()).hexdigest()
    out = BUILT / key[:20]
    done = out / ".built"
    if done.exists():
        return out
    python = ensure_cffi()
    out.mkdir(parents=True, exist_ok=True)
    (out / "build.py").write_text(script)
    r = subprocess.run(
        [str(python), "build.py"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    if r.returncode != 0:
        raise RuntimeError(f"the cffi build failed:\n{r.stdout}\n{r.stderr}")
    done.write_text("ok\n")
    return out


PRELUDE = """
import sys
import rcffi
rcffi.install_as_cffi()
import _cffi_backend
assert _cffi_backend is rcffi._cffi_backend
"""

EPILOGUE = """
import sys as _sys
_real = {real!r}
for _m in list(_sys.modules.values()):
    _f = getattr(_m, "__file__", None) or ""
    assert not _f.startswith(_real), "the real cffi was imported: " + _f
# install_as_cffi()'s cffi is a module of its own (cffi 2.1.1's version) over rcffi.
assert getattr(_sys.modules["cffi"], "__rcffi__", None) is rcffi
assert _sys.modules["cffi"].FFI is rcffi.FFI
assert _sys.modules["_cffi_backend"] is rcffi._cffi_backend
"""


def run(
    code: str, *dirs: Path, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` in a fresh rcffi interpreter with ``dirs`` on its path
    and rcffi installed as ``cffi``/``_cffi_backend``."""
    src = PRELUDE + textwrap.dedent(code) + EPILOGUE.format(real=str(VENV))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "python"), *map(str, dirs)])
    with tempfile.TemporaryDirectory() as tmp:
        # A file, so that tracebacks show the failing line.
        script = Path(tmp) / "check.py"
        script.write_text(src)
        r = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    if check and r.returncode != 0:
        raise AssertionError(f"the rcffi run failed:\n{r.stdout}\n{r.stderr}")
    return r
