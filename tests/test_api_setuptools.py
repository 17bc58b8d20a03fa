"""``pip install .`` of a package whose ``setup.py`` uses ``cffi_modules``
(seed 004, with rcffi standing in for cffi) and ``rcffi_modules``: the
API-mode modules are built into the wheel and import in a fresh venv.

The venv has no network: rcffi comes from this checkout through a ``.pth``
file and a minimal ``dist-info`` carrying rcffi's entry points (read from
pyproject.toml), and setuptools' ``bdist_wheel`` from the ``wheel``
package of the running interpreter (a dev dependency)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
import tomllib

import pytest
from api_support import write

import rcffi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EXAMPLE_BUILD = '''
from cffi import FFI
ffibuilder = FFI()

ffibuilder.set_source("ex._example",
   r""" // passed to the real C compiler,
        // contains implementation of things declared in cdef()
        #include <sys/types.h>
        #include <pwd.h>

        struct passwd *get_pw_for_root(void) {
            return getpwuid(0);
        }
    """,
    libraries=[])   # or a list of libraries to link with

ffibuilder.cdef("""
    // declarations that are shared between Python and C
    struct passwd {
        char *pw_name;
        ...;     // literally dot-dot-dot
    };
    struct passwd *getpwuid(int uid);     // defined in <pwd.h>
    struct passwd *get_pw_for_root(void); // defined in set_source()
""")

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
'''

MATH_BUILD = """
import rcffi
ffibuilder = rcffi.FFI()
ffibuilder.cdef("int scale(int);\\n#define SCALE_FACTOR ...")
ffibuilder.set_source(
    "ex._mathmod",
    '#include "scale.h"',
    sources=["csrc/scale.c"],
    include_dirs=["csrc"],
)
"""

SETUP = """
from setuptools import setup
setup(
    name="ex",
    version="0.1",
    packages=["ex"],
    package_dir={"": "src"},
    cffi_modules=["example_build.py:ffibuilder"],
    rcffi_modules=["math_build.py:ffibuilder"],
)
"""

CHECK = """
import ex._example, ex._mathmod, os
from ex._example import ffi, lib
assert ffi.sizeof("struct passwd") > ffi.sizeof("char *")
assert ffi.typeof(lib.get_pw_for_root) is ffi.typeof("struct passwd *(*)(void)")
assert ex._mathmod.lib.SCALE_FACTOR == 3
here = os.path.dirname(ex._example.__file__)
names = sorted(os.listdir(here))
assert "_example.rcffi.so" in names and "_mathmod.rcffi.so" in names, names
assert not any(n.endswith((".c", ".json")) for n in names), names
print("installed:", " ".join(n for n in names if not n.startswith("__")))
"""


def _expose(site: str, names: list[str], into: str) -> None:
    """Makes the installed distributions ``names`` of this interpreter
    importable in the venv (through symlinks and a .pth file)."""
    os.makedirs(into, exist_ok=True)
    for name in names:
        dist = importlib.metadata.distribution(name)
        info = str(dist._path)  # the dist-info folder
        top = os.path.dirname(info)
        os.symlink(info, os.path.join(into, os.path.basename(info)))
        for pkg in (dist.read_text("top_level.txt") or name).split():
            os.symlink(os.path.join(top, pkg), os.path.join(into, pkg))
    write(os.path.join(site, "_test_exposed.pth"), into + "\n")


def _install_rcffi(site: str) -> None:
    """rcffi from this checkout, with its entry points."""
    package_dir = os.path.dirname(os.path.dirname(rcffi.__file__))
    write(os.path.join(site, "rcffi.pth"), package_dir + "\n")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    info = os.path.join(site, f"rcffi-{rcffi.__version__}.dist-info")
    write(
        os.path.join(info, "METADATA"),
        f"Metadata-Version: 2.1\nName: rcffi\nVersion: {rcffi.__version__}\n",
    )
    lines = []
    for group, entries in project["entry-points"].items():
        lines.append(f"[{group}]")
        lines.extend(f"{k} = {v}" for k, v in entries.items())
    write(os.path.join(info, "entry_points.txt"), "\n".join(lines) + "\n")


def test_pip_install_builds_api_modules_into_the_wheel(tmp_path):
    try:
        importlib.metadata.distribution("wheel")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the 'wheel' package is needed (pip install -r requirements-dev.txt)")
    venv = str(tmp_path / "venv")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    py = os.path.join(venv, "bin", "python")
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    _install_rcffi(site)
    _expose(site, ["wheel", "packaging"], str(tmp_path / "exposed"))

    pkg = tmp_path / "pkg"
    write(str(pkg / "example_build.py"), EXAMPLE_BUILD)
    write(str(pkg / "math_build.py"), MATH_BUILD)
    write(str(pkg / "setup.py"), textwrap.dedent(SETUP))
    write(str(pkg / "src" / "ex" / "__init__.py"), "")
    write(str(pkg / "csrc" / "scale.h"), "#define SCALE_FACTOR 3\nint scale(int);\n")
    write(str(pkg / "csrc" / "scale.c"), '#include "scale.h"\nint scale(int x) { return 3 * x; }\n')

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CC", "CFFI_TMPDIR")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONWARNINGS="ignore")
    install = subprocess.run(
        [py, "-m", "pip", "install", "--no-build-isolation", str(pkg)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run(
        [py, "-c", CHECK], capture_output=True, text=True, env=env, cwd=str(tmp_path)
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "_example.py" in check.stdout
    # The real cffi is not in the venv, so rcffi stood in for it.
    no_cffi = subprocess.run([py, "-c", "import cffi"], capture_output=True, env=env)
    assert no_cffi.returncode != 0


def test_cffi_modules_defers_to_an_installed_cffi(monkeypatch):
    from rcffi import setuptools_ext

    calls = []
    monkeypatch.setattr(setuptools_ext, "_real_cffi_installed", lambda: True)
    monkeypatch.setattr(setuptools_ext, "_add_modules", lambda *a: calls.append(a))
    setuptools_ext.cffi_modules(object(), "cffi_modules", ["x.py:ffi"])
    assert calls == []
    setuptools_ext.rcffi_modules(object(), "rcffi_modules", ["x.py:ffi"])
    assert len(calls) == 1


def test_distutils_extension_with_rcffi_build_ext(tmp_path, monkeypatch):
    """``ext_modules=[ffi.distutils_extension()]`` built by rcffi's
    ``build_ext`` command, in process."""
    from setuptools import Distribution

    from rcffi import setuptools_ext

    monkeypatch.chdir(tmp_path)
    ffi = rcffi.FFI()
    ffi.cdef("#define ANSWER ...")
    ffi.set_source("pkg_dx.mod", "#define ANSWER 42")
    ext = ffi.distutils_extension(tmpdir="build", verbose=False)
    assert ext.sources == [os.path.join("build", "pkg_dx", "mod.c")]
    assert os.path.exists(ext.sources[0])
    write(str(tmp_path / "pkg_dx" / "__init__.py"), "")
    dist = Distribution(
        {
            "name": "dx",
            "packages": ["pkg_dx"],
            "ext_modules": [ext],
            "cmdclass": {"build_ext": setuptools_ext.build_ext},
            "script_args": ["build_ext", "--inplace"],
        }
    )
    dist.parse_command_line()
    dist.run_commands()
    names = os.listdir(tmp_path / "pkg_dx")
    assert "mod.rcffi.so" in names and "mod.py" in names
    monkeypatch.syspath_prepend(str(tmp_path))
    import pkg_dx.mod

    try:
        assert pkg_dx.mod.lib.ANSWER == 42
    finally:
        for name in ("pkg_dx", "pkg_dx.mod", "pkg_dx.mod.lib"):
            sys.modules.pop(name, None)
