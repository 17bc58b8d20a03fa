"""`make demo` in its quick mode: the images equal C's and a PNG is written."""

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"


def test_demo_quick(tmp_path):
    png = tmp_path / "m.png"
    out = subprocess.run(
        [sys.executable, str(DEMO), "--quick", "--quiet", "--png", str(png)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rcffi ABI" in out.stdout and "rcffi API" in out.stdout
    assert "DIFFERENT" not in out.stdout
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
