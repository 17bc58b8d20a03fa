"""The runtime imports only itself: ``import rcffi``, an ABI-mode call and
importing a compiled module load no code generator, compiler driver or
setuptools (nor the standard modules those need); they load on the first
``set_source()``/``compile()``/``verify()``/``emit_*()``."""

from __future__ import annotations

import os
import subprocess
import sys

import rcffi

#: What only building modules needs.
BUILD_ONLY = [
    "rcffi._builder",
    "rcffi.build",
    "rcffi.setuptools_ext",
    "rcffi.pkgconfig",
    "rcffi.stubgen",
    "rcffi.cli",
    "setuptools",
    "distutils",
    "subprocess",
    "hashlib",
    "json",
    "shlex",
    "tempfile",
    "sysconfig",
    "dataclasses",
    "typing",
    "inspect",
    "ast",
    "tokenize",
    "threading",
]


def _loaded_by(code: str, cwd: str) -> set[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    program = code + "\nimport sys\n_loaded = sorted(sys.modules)\nprint(repr(_loaded))\n"
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=cwd
    )
    assert out.returncode == 0, out.stderr
    return set(eval(out.stdout.splitlines()[-1]))  # a list of names printed by repr()


def test_import_rcffi_and_an_abi_call(tmp_path):
    loaded = _loaded_by(
        "import rcffi\nffi = rcffi.FFI()\nffi.cdef('int abs(int);')\n"
        "assert ffi.dlopen(None).abs(-1) == 1",
        str(tmp_path),
    )
    assert "rcffi._rcffi" in loaded
    assert sorted(set(BUILD_ONLY) & loaded) == []


def test_import_a_compiled_module(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef("int add(int, int); struct pt { int x, y; };\n#define N ...\n")
    ffi.set_source(
        "_weight_mod",
        "int add(int a, int b) { return a + b; }\nstruct pt { int x, y; };\n#define N 3\n",
    )
    ffi.compile(tmpdir=str(tmp_path))
    loaded = _loaded_by(
        "import _weight_mod\nlib, ffi = _weight_mod.lib, _weight_mod.ffi\n"
        "assert lib.add(2, 3) == 5 and lib.N == 3 and ffi.sizeof('struct pt') == 8",
        str(tmp_path),
    )
    assert "rcffi._rcffi" in loaded
    assert sorted(set(BUILD_ONLY) & loaded) == []


def test_the_build_machinery_loads_on_first_use(tmp_path):
    loaded = _loaded_by(
        "import rcffi\nffi = rcffi.FFI()\nffi.cdef('int f(int);')\n"
        "ffi.set_source('_weight_src', 'int f(int x) { return x; }')",
        str(tmp_path),
    )
    assert {"rcffi._builder", "rcffi.build"} <= loaded
