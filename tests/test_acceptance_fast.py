"""The fast package of the real-package suite (``make acceptance`` runs them
all): soundfile built from its sdist with rcffi as the environment's cffi,
its own tests run, and the same on the real cffi 2.1.1; the counts must be
equal.  See acceptance/README.md."""

import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prereq import need

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / ".cache" / "acceptance" / "results"
COUNTS = ("passed", "failed", "skipped")


@pytest.fixture(scope="module")
def results():
    need(ctypes.util.find_library("sndfile") is not None, "Debian package libsndfile1")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    out = subprocess.run(
        [sys.executable, str(ROOT / "acceptance" / "run.py"), "--fast"],
        capture_output=True, text=True, env=env, check=False, timeout=1500,
    )  # fmt: skip
    print(out.stdout[-4000:], out.stderr[-4000:])
    return {
        impl: json.loads((RESULTS / f"source-{impl}-soundfile.json").read_text())
        for impl in ("rcffi", "cffi")
    }


def test_baseline_on_the_real_cffi(results):
    cffi = results["cffi"]
    assert cffi["status"] == "ok", cffi.get("status")
    assert cffi["failed"] == 0 and cffi["passed"] > 300, [cffi[k] for k in COUNTS]


def test_rcffi_same_counts_as_cffi(results):
    rcffi, cffi = results["rcffi"], results["cffi"]
    assert rcffi["status"] == "ok", rcffi.get("status")
    assert [rcffi[k] for k in COUNTS] == [cffi[k] for k in COUNTS]
