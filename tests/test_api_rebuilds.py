"""Exact rebuilds of API-mode modules: a build is skipped only when nothing
that went into it changed, and checking that starts no process.

A fake compiler (a shell script set as ``$CC``) logs every invocation
before running the real one."""

from __future__ import annotations

import os
import stat
import time

import pytest
from api_support import write

import rcffi

REAL_CC = "/usr/bin/cc" if os.path.exists("/usr/bin/cc") else "cc"


def fake_cc(path: str, log: str, version_note: str = "") -> str:
    """A compiler wrapper that logs its arguments."""
    extra = f'echo "{version_note}"\n' if version_note else ""
    text = (
        "#!/bin/sh\n"
        f'echo "$@" >> "{log}"\n'
        'if [ "$1" = "--version" ]; then\n'
        f"  {REAL_CC} --version\n  {extra}  exit 0\nfi\n"
        f'exec {REAL_CC} "$@"\n'
    )
    write(path, text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class Project:
    """A module with a header and a C file in ``sources=``, built with the
    fake compiler."""

    def __init__(self, root: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.log = os.path.join(root, "cc.log")
        self.cc = fake_cc(os.path.join(root, "bin", "cc"), self.log)
        monkeypatch.setenv("CC", self.cc)
        self.src = write(
            os.path.join(root, "lib", "fmandel.c"),
            '#include "fmandel.h"\nint scale(int x) { return FACTOR * x; }\n',
        )
        self.header = write(os.path.join(root, "inc", "fmandel.h"), "#define FACTOR 2\n")
        self.out = os.path.join(root, "out")
        self.cdef = "int scale(int);"
        self.kwargs = {
            "sources": [self.src],
            "include_dirs": [os.path.dirname(self.header)],
            "extra_compile_args": ["-O2"],
        }

    def ffi(self) -> rcffi.FFI:
        ffi = rcffi.FFI()
        ffi.cdef(self.cdef)
        ffi.set_source("_rebuild_mod", '#include "fmandel.h"\nint scale(int);', **self.kwargs)
        return ffi

    def compile(self) -> str:
        return self.ffi().compile(tmpdir=self.out)

    def invocations(self) -> list[str]:
        try:
            with open(self.log) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def builds(self) -> int:
        """How many times the compiler compiled or linked (not --version)."""
        return sum(1 for line in self.invocations() if "--version" not in line)


@pytest.fixture
def project(tmp_path, monkeypatch):
    return Project(str(tmp_path), monkeypatch)


def edit(path: str, text: str) -> None:
    # Same size and (possibly) same mtime second: only the content changes.
    with open(path, "w") as f:
        f.write(text)


def test_second_compile_starts_no_process_and_is_fast(project):
    first = project.compile()
    assert project.builds() == 3  # the module, fmandel.c, the link
    logged = len(project.invocations())
    times = []
    for _ in range(5):
        t = time.perf_counter()
        again = project.compile()
        times.append(time.perf_counter() - t)
    assert again == first
    assert len(project.invocations()) == logged, "an unchanged build started the compiler"
    assert min(times) <= 0.050, f"compile() of an unchanged module took {min(times):.3f}s"


def test_editing_a_source_file_rebuilds(project):
    project.compile()
    edit(project.src, '#include "fmandel.h"\nint scale(int x) { return FACTOR + x; }\n')
    project.compile()
    assert project.builds() == 6


def test_touching_without_change_does_not_rebuild(project):
    project.compile()
    future = time.time() + 100
    for p in (project.src, project.header):
        os.utime(p, (future, future))
    project.compile()
    assert project.builds() == 3


def test_editing_a_header_the_compiler_read_rebuilds(project):
    project.compile()
    edit(project.header, "#define FACTOR 3\n")
    project.compile()
    assert project.builds() == 6


def test_flags_cdef_and_macros_rebuild(project):
    project.compile()
    project.kwargs["extra_compile_args"] = ["-O1"]
    project.compile()
    assert project.builds() == 6
    project.kwargs["define_macros"] = [("EXTRA", "1")]
    project.compile()
    assert project.builds() == 9
    project.cdef = "int scale(int);\n#define FACTOR ..."
    project.compile()
    assert project.builds() == 12
    project.compile()
    assert project.builds() == 12


def test_another_compiler_rebuilds(project):
    project.compile()
    fake_cc(project.cc, project.log, version_note="patched")
    project.compile()
    assert project.builds() == 6


def test_a_missing_output_rebuilds(project):
    path = project.compile()
    os.unlink(path)
    project.compile()
    assert project.builds() == 6
    assert os.path.exists(path)


def test_verify_picks_up_an_edited_source(tmp_path, monkeypatch):
    """Seed 001: the cache of verify() follows edits of ``sources=``."""
    monkeypatch.chdir(tmp_path)
    write("fmandel.h", "int value(void);\n")
    write("fmandel.c", "int value(void) { return 1; }\n")
    cache = str(tmp_path / "cache")

    def run():
        ffi = rcffi.FFI()
        ffi.cdef("int value(void);")
        lib = ffi.verify(
            "#include <fmandel.h>", include_dirs=["./"], sources=["fmandel.c"], tmpdir=cache
        )
        return ffi, lib

    import ctypes

    from api_support import ctypes_function

    ffi1, lib1 = run()
    v1 = ctypes_function(ffi1, lib1.value, ctypes.c_int)()
    path1 = ffi1.verifier.modulefilename
    ffi2, lib2 = run()
    assert ffi2.verifier.modulefilename == path1
    edit("fmandel.c", "int value(void) { return 2; }\n")
    ffi3, lib3 = run()
    assert ffi3.verifier.modulefilename != path1
    assert (v1, ctypes_function(ffi3, lib3.value, ctypes.c_int)()) == (1, 2)
    # Older builds of the same module are removed.
    assert not os.path.exists(path1)
