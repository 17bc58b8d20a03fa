"""``pip install .`` of a package whose ``setup.py`` uses ``cffi_modules``
(seed 004, with rcffi standing in for cffi; and with ``ext_package``) and
``rcffi_modules``: the API-mode modules are ordinary extension modules
built into the wheel, and import in a fresh venv.  In process: who builds
``cffi_modules`` (exactly once), ``distutils_extension()`` with any
``build_ext``, and a module that cannot be built failing the build.

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

PKG_BUILD = """
import cffi
ffibuilder = cffi.FFI()
ffibuilder.cdef("int triple(int);")
ffibuilder.set_source("_lib", "int triple(int x) { return 3 * x; }")
"""

ABI_BUILD = """
import cffi
ffibuilder = cffi.FFI()
ffibuilder.cdef("int abs(int);")
ffibuilder.set_source("ex._abi", None)
"""

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
    ext_package=EXT_PACKAGE,
    cffi_modules=CFFI_MODULES,
    rcffi_modules=["math_build.py:ffibuilder"],
)
"""

CHECK = """
import ex._example, ex._mathmod, ex._abi, os, sys
from ex._example import ffi, lib
assert ffi.sizeof("struct passwd") > ffi.sizeof("char *")
assert ffi.typeof(lib.get_pw_for_root) is ffi.typeof("struct passwd *(*)(void)")
assert ex._mathmod.lib.SCALE_FACTOR == 3
assert ex._abi.ffi.dlopen(None).abs(-4) == 4
here = os.path.dirname(ex._example.__file__)
names = sorted(os.listdir(here))
assert "_example.abi3.so" in names and "_mathmod.abi3.so" in names, names
assert "_abi.py" in names, names
assert not any(n.endswith((".c", ".json")) for n in names), names
assert "cffi" not in sys.modules or sys.modules["cffi"].__name__ == "rcffi"
print("installed:", " ".join(n for n in names if not n.startswith("__")))
"""

CHECK_EXT_PACKAGE = """
import ex._lib, os
assert ex._lib.lib.triple(5) == 15
assert os.path.basename(ex._lib.__file__) == "_lib.abi3.so"
print("installed:", ex._lib.__name__)
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


def _fake_cffi_distribution(site: str) -> None:
    """A distribution named ``cffi`` whose ``import cffi`` gives rcffi, and
    which registers the ``cffi_modules`` keyword (as a cffi stand-in
    would): setuptools then calls two handlers of the keyword."""
    info = os.path.join(site, "cffi-2.1.1.dist-info")
    write(os.path.join(info, "METADATA"), "Metadata-Version: 2.1\nName: cffi\nVersion: 2.1.1\n")
    write(
        os.path.join(info, "entry_points.txt"),
        "[distutils.setup_keywords]\ncffi_modules = cffi.setuptools_ext:cffi_modules\n",
    )
    write(os.path.join(site, "cffi", "__init__.py"), "import rcffi\nrcffi.install_as_cffi()\n")


def _venv(tmp_path) -> tuple[str, str]:
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
    return py, site


def _package(tmp_path, name: str, ext_package: str | None, cffi_modules: list[str]) -> str:
    pkg = tmp_path / name
    write(str(pkg / "example_build.py"), EXAMPLE_BUILD)
    write(str(pkg / "pkg_build.py"), PKG_BUILD)
    write(str(pkg / "abi_build.py"), ABI_BUILD)
    write(str(pkg / "math_build.py"), MATH_BUILD)
    setup = textwrap.dedent(SETUP).replace("EXT_PACKAGE", repr(ext_package))
    write(str(pkg / "setup.py"), setup.replace("CFFI_MODULES", repr(cffi_modules)))
    write(str(pkg / "src" / "ex" / "__init__.py"), "")
    write(str(pkg / "csrc" / "scale.h"), "#define SCALE_FACTOR 3\nint scale(int);\n")
    write(str(pkg / "csrc" / "scale.c"), '#include "scale.h"\nint scale(int x) { return 3 * x; }\n')
    return str(pkg)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CC", "CFFI_TMPDIR")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONWARNINGS="ignore")
    return env


def _pip_install(py: str, pkg: str) -> None:
    install = subprocess.run(
        [py, "-m", "pip", "install", "--no-build-isolation", pkg],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert install.returncode == 0, install.stdout + install.stderr


def _run(py: str, code: str, cwd: str) -> str:
    check = subprocess.run([py, "-c", code], capture_output=True, text=True, env=_env(), cwd=cwd)
    assert check.returncode == 0, check.stdout + check.stderr
    return check.stdout


def test_pip_install_builds_api_modules_into_the_wheel(tmp_path):
    py, _site = _venv(tmp_path)
    pkg = _package(
        tmp_path, "pkg", None, ["example_build.py:ffibuilder", "abi_build.py:ffibuilder"]
    )
    _pip_install(py, pkg)
    out = _run(py, CHECK, str(tmp_path))
    assert "_example.abi3.so" in out
    # The real cffi is not in the venv, so rcffi stood in for it.
    no_cffi = subprocess.run([py, "-c", "import cffi"], capture_output=True, env=_env())
    assert no_cffi.returncode != 0


def test_pip_install_with_a_cffi_distribution_that_is_rcffi(tmp_path):
    """A distribution named cffi is installed, and ``import cffi`` gives
    rcffi: the module is built (once, though two handlers of the keyword
    run), and ``ext_package`` puts it into the package."""
    py, site = _venv(tmp_path)
    _fake_cffi_distribution(site)
    pkg = _package(tmp_path, "pkg2", "ex", ["pkg_build.py:ffibuilder"])
    _pip_install(py, pkg)
    assert "ex._lib" in _run(py, CHECK_EXT_PACKAGE, str(tmp_path))


def _distribution(tmp_path, **attrs):
    from setuptools import Distribution

    write(str(tmp_path / "ex" / "__init__.py"), "")
    return Distribution({"name": "ex", "version": "0.1", "packages": ["ex"], **attrs})


def test_cffi_modules_is_built_by_whoever_cffi_is(tmp_path, monkeypatch):
    from rcffi import setuptools_ext

    monkeypatch.chdir(tmp_path)
    write(str(tmp_path / "b.py"), PKG_BUILD)
    # rcffi is the cffi of this process: rcffi builds, once for the two
    # handlers setuptools calls when a distribution named cffi is there.
    monkeypatch.setitem(sys.modules, "cffi", rcffi)
    dist = _distribution(tmp_path)
    setuptools_ext.cffi_modules(dist, "cffi_modules", ["b.py:ffibuilder"])
    setuptools_ext.cffi_modules(dist, "cffi_modules", ["b.py:ffibuilder"])
    assert [e.name for e in dist.ext_modules] == ["_lib"]
    # The real cffi is: its own handler builds, not rcffi's.
    fake_cffi = type(sys)("cffi")
    fake_cffi.FFI = type("FFI", (), {})
    monkeypatch.setitem(sys.modules, "cffi", fake_cffi)
    other = _distribution(tmp_path)
    setuptools_ext.cffi_modules(other, "cffi_modules", ["b.py:ffibuilder"])
    assert not other.ext_modules
    # rcffi_modules is always rcffi's.
    monkeypatch.setitem(sys.modules, "cffi", rcffi)
    setuptools_ext.rcffi_modules(other, "rcffi_modules", ["b.py:ffibuilder"])
    assert [e.name for e in other.ext_modules] == ["_lib"]


def test_a_module_that_cannot_be_built_fails_the_build(tmp_path, monkeypatch):
    from rcffi import setuptools_ext

    monkeypatch.chdir(tmp_path)
    write(
        str(tmp_path / "bad.py"),
        "import rcffi\nffibuilder = rcffi.FFI()\nffibuilder.cdef('int f(int);')\n"
        "ffibuilder.set_source('ex._bad', 'int f(int x) { return x }')\n",
    )
    dist = _distribution(tmp_path, script_args=["build_ext", "--inplace"])
    setuptools_ext.rcffi_modules(dist, "rcffi_modules", ["bad.py:ffibuilder"])
    dist.parse_command_line()
    with pytest.raises(rcffi.VerificationError) as info:
        dist.run_commands()
    message = str(info.value)
    assert "error: expected" in message and "(an error in the set_source() code)" in message
    assert "generated file: " in message and message.rstrip(")").endswith(".c")
    assert not [n for n in os.listdir(tmp_path / "ex") if n.endswith(".so")]


def test_distutils_extension_with_any_build_ext(tmp_path, monkeypatch):
    """``ext_modules=[ffi.distutils_extension()]``: a setuptools Extension
    that setuptools' own ``build_ext`` builds, in process."""
    from setuptools import Distribution, Extension

    monkeypatch.chdir(tmp_path)
    ffi = rcffi.FFI()
    ffi.cdef("#define ANSWER ...")
    ffi.set_source("pkg_dx.mod", "#define ANSWER 42")
    ext = ffi.distutils_extension(tmpdir="build", verbose=False)
    assert isinstance(ext, Extension) and ext.py_limited_api
    assert ext.sources == [os.path.join("build", "pkg_dx", "mod.c")]
    assert os.path.exists(ext.sources[0])
    write(str(tmp_path / "pkg_dx" / "__init__.py"), "")
    dist = Distribution(
        {
            "name": "dx",
            "packages": ["pkg_dx"],
            "ext_modules": [ext],
            "script_args": ["build_ext", "--inplace"],
        }
    )
    dist.parse_command_line()
    dist.run_commands()
    names = os.listdir(tmp_path / "pkg_dx")
    assert "mod.abi3.so" in names and "mod.py" not in names
    monkeypatch.syspath_prepend(str(tmp_path))
    import pkg_dx.mod

    try:
        assert pkg_dx.mod.lib.ANSWER == 42
    finally:
        for name in ("pkg_dx", "pkg_dx.mod", "pkg_dx.mod.lib"):
            sys.modules.pop(name, None)
