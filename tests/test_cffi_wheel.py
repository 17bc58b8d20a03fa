"""rcffi as the ``cffi`` of an environment: ``python -m rcffi cffi-wheel``,
``install_as_cffi()``'s versions and ``gen-src``."""

import os
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BUILD_SCRIPT = textwrap.dedent(
    """
    from cffi import FFI
    ffibuilder = FFI()
    ffibuilder.cdef("int add(int, int);")
    ffibuilder.set_source("_gen_x", "static int add(int a, int b) { return a + b; }")
    if __name__ == "__main__":
        raise SystemExit("the __main__ part of a build script must not run")
    """
)


def run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    assert out.returncode == 0, f"{cmd}\n{out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheels")
    run([sys.executable, "-m", "rcffi", "cffi-wheel", "-o", str(out)])
    return out


@pytest.fixture(scope="module")
def env(wheels, tmp_path_factory):
    """A venv with the cffi wheel installed offline (no PYTHONPATH)."""
    where = tmp_path_factory.mktemp("venv") / "v"
    venv.create(where, with_pip=True)
    py = where / "bin" / "python"
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run(
        [py, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels), "cffi"],
        env=environ,
    )
    return py, environ


def test_wheel_names_and_contents(wheels):
    from rcffi import __version__

    names = sorted(p.name for p in wheels.glob("*.whl"))
    assert names == [
        f"cffi-2.1.1+rcffi.{__version__}-py3-none-any.whl",
        f"rcffi-{__version__}-cp310-abi3-linux_x86_64.whl",
    ]
    with zipfile.ZipFile(wheels / names[0]) as z:
        assert "cffi/__init__.py" in z.namelist()
        assert "_cffi_backend.py" in z.namelist()
        meta = z.read(f"cffi-2.1.1+rcffi.{__version__}.dist-info/METADATA").decode()
        assert f"Requires-Dist: rcffi=={__version__}" in meta
    with zipfile.ZipFile(wheels / names[1]) as z:
        assert any(n.startswith("rcffi/_rcffi") and n.endswith(".so") for n in z.namelist())
    assert (wheels / "constraints.txt").read_text().startswith("cffi==2.1.1+rcffi.")


def test_environment_cffi_is_rcffi(env, tmp_path):
    py, environ = env
    program = textwrap.dedent(
        """
        import importlib.metadata as md
        import cffi, _cffi_backend, rcffi
        assert cffi.__version__ == "2.1.1" and cffi.__version_info__ == (2, 1, 1)
        assert cffi.FFI is rcffi.FFI and _cffi_backend is rcffi._cffi_backend
        import cffi.setuptools_ext, rcffi.setuptools_ext
        assert cffi.setuptools_ext is rcffi.setuptools_ext
        ffi = cffi.FFI()
        ffi.cdef("int abs(int);")
        assert ffi.dlopen(None).abs(-7) == 7
        assert md.version("cffi").startswith("2.1.1+rcffi.")
        eps = [e for e in md.entry_points(group="distutils.setup_keywords")
               if e.name == "cffi_modules"]
        assert [e.value for e in eps] == ["rcffi.setuptools_ext:cffi_modules"], eps
        print("ok")
        """
    )
    assert run([py, "-c", program], env=environ, cwd=tmp_path).strip() == "ok"


def test_gen_src_three_ways(env, tmp_path):
    py, environ = env
    script = tmp_path / "build_x.py"
    script.write_text(BUILD_SCRIPT)
    outputs = []
    for cmd in (
        [py, "-m", "rcffi", "gen-src", "exec-python", str(script), "-"],
        [py, "-m", "cffi.gen_src", "exec-python", str(script), "-"],
        [py.parent / "cffi-gen-src", "exec-python", str(script), "-"],
    ):
        outputs.append(run(cmd, env=environ, cwd=tmp_path))
    assert outputs[0] == outputs[1] == outputs[2]
    assert "add" in outputs[0]


def test_gen_src_read_sources(tmp_path):
    (tmp_path / "x.cdef").write_text("int add(int, int);\n")
    (tmp_path / "x.c").write_text("static int add(int a, int b) { return a + b; }\n")
    out = tmp_path / "out.c"
    run(
        [sys.executable, "-m", "rcffi", "gen-src", "read-sources", "pkg._x"]
        + [str(tmp_path / "x.cdef"), str(tmp_path / "x.c"), str(out)]
    )
    assert "static int add(int a, int b)" in out.read_text()


def test_gen_src_errors(tmp_path):
    script = tmp_path / "b.py"
    script.write_text("x = 1\n")
    out = subprocess.run(
        [sys.executable, "-m", "rcffi", "gen-src", "exec-python", str(script), "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode != 0
    assert "defines no 'ffibuilder'" in out.stderr
    (tmp_path / "same.h").write_text("int f(void);\n")
    same = str(tmp_path / "same.h")
    out = subprocess.run(
        [sys.executable, "-m", "rcffi", "gen-src", "read-sources", "m", same, same, "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2 and "same file" in out.stderr


def test_install_as_cffi_versions():
    program = textwrap.dedent(
        """
        import rcffi
        rcffi.install_as_cffi()
        import cffi, cffi.error
        assert cffi.__version__ == "2.1.1", cffi.__version__
        assert cffi.__version_info__ == (2, 1, 1)
        assert cffi.__version_verifier_modules__ == "0.8.6"
        assert sorted(cffi.__all__) == sorted(
            ["FFI", "VerificationError", "VerificationMissing", "CDefError", "FFIError"])
        assert cffi.error.CDefError is rcffi.CDefError
        assert rcffi.__version__ != cffi.__version__  # rcffi keeps its own
        try:
            import cffi.vengine_gen
        except ImportError:
            pass
        else:
            raise AssertionError("the real cffi's modules must stay unreachable")
        print("ok")
        """
    )
    assert run([sys.executable, "-c", program]).strip() == "ok"
