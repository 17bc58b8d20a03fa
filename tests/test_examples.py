"""Every script in examples/ runs to the end and prints what it should.

Each example runs in a fresh interpreter with ``PYTHONPATH`` pointing at
``python/`` and a temporary working directory (``verify()`` caches its
modules under the working directory)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run(args: list[str], cwd: Path) -> str:
    """Run ``python args...`` in ``cwd``; return its stdout, fail on error."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(ROOT / "python"), env.get("PYTHONPATH", "")] if p
    )
    out = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("mandelbrot_abi.py", ["rcffi ABI", "ctypes", "images agree"]),
        ("fmandel_verify.py", ["###", "ok"]),
        ("diffusion.py", ["evolve:", "total heat"]),
        ("passwd_abi.py", ["root: uid=0", "ok"]),
        ("passwd_api.py", ["root: uid=0", "ok"]),
        ("printf.py", ["hi there, world.", "2 + 3 = 5", "printf returned 10"]),
        (
            "mysrc.py",
            [
                "mybasic() called",
                "myadd(4, 9) = 13.0",
                "Hello World",
                "TypeError:",
                "ok",
            ],
        ),
    ],
)
def test_example(script, expected, tmp_path):
    stdout = run([str(EXAMPLES / script)], tmp_path)
    for text in expected:
        assert text in stdout, f"{text!r} not in the output of {script}:\n{stdout}"


def test_mysrc_type_errors(tmp_path):
    """The three failing calls of the seed each raise TypeError."""
    stdout = run([str(EXAMPLES / "mysrc.py")], tmp_path)
    assert stdout.count("TypeError:") == 3
    # C's output comes in order with Python's.
    assert stdout.index("mybasic() called") < stdout.index("myadd(4, 9)")


def test_example_build(tmp_path):
    """example_build.py compiles ``_example`` and use_example.py uses it."""
    work = tmp_path / "example_build"
    shutil.copytree(EXAMPLES / "example_build", work)
    run(["example_build.py"], work)
    assert list(work.glob("_example*.so"))
    stdout = run(["use_example.py"], work)
    assert "root is root" in stdout
