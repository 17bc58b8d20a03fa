"""Helpers of the API-mode tests: building and importing modules in a
temporary folder, and calling compiled functions (and their argument
stubs) with ctypes."""

from __future__ import annotations

import ctypes
import importlib
import os
import re
import sys
from typing import Any

import pytest

import rcffi

#: Calling function cdata needs the call layer (``load_library``,
#: ``callback``), built on another branch.
HAVE_CALLS = hasattr(rcffi._cffi_backend, "load_library")
needs_calls = pytest.mark.skipif(
    not HAVE_CALLS, reason="calling C functions needs rcffi's call layer (ABI-mode work)"
)


def module_name(request: Any, suffix: str = "") -> str:
    """A module name unique to the running test."""
    base = re.sub(r"\W", "_", request.node.name)
    return f"_api_{base}{suffix}"


class Builder:
    """Compiles FFIs into one temporary folder and imports their modules."""

    def __init__(self, tmp_path: Any, monkeypatch: Any) -> None:
        self.dir = str(tmp_path)
        self.names: list[str] = []
        monkeypatch.syspath_prepend(self.dir)

    def compile(self, ffi: Any, **kwargs: Any) -> str:
        return ffi.compile(tmpdir=self.dir, **kwargs)

    def load(self, ffi: Any, **kwargs: Any) -> Any:
        """``compile()`` then import the module."""
        self.compile(ffi, **kwargs)
        return self.import_(ffi._assigned_source[0])

    def import_(self, name: str) -> Any:
        self.names.append(name)
        importlib.invalidate_caches()
        return importlib.import_module(name)

    def cleanup(self) -> None:
        for name in self.names:
            sys.modules.pop(name, None)
            sys.modules.pop(name + ".lib", None)


def builder_fixture(tmp_path: Any, monkeypatch: Any) -> Any:
    """The body of the ``builder`` fixture of the test modules."""
    b = Builder(tmp_path, monkeypatch)
    yield b
    b.cleanup()


def address(ffi: Any, cdata: Any) -> int:
    return int(ffi.cast("uintptr_t", cdata))


def ctypes_function(ffi: Any, fn_cdata: Any, restype: Any, *argtypes: Any) -> Any:
    """A ctypes function calling the C function at ``fn_cdata``."""
    return ctypes.CFUNCTYPE(restype, *argtypes)(address(ffi, fn_cdata))


def load_extension(name: str, path: str) -> Any:
    """Imports the extension module at ``path`` as ``name``."""
    from rcffi._builder import load_extension as load

    return load(name, path)


def stub_addresses(c_file: str, workdir: str) -> Any:
    """The tables of a generated C file, built again with a function that
    returns its context (see ``cffi_tables``): ``.addresses[name][0]`` is
    the argument stub of function ``name``."""
    from pathlib import Path

    from cffi_tables import from_c_file

    return from_c_file(Path(c_file), Path(workdir))


def call_stub(tables: Any, name: str, restype: Any, args: list[Any]) -> Any:
    """Calls the argument stub ``void f(void **args, void *result)`` of
    ``name`` (the ``address`` of its global) with ctypes objects as
    arguments."""
    stub = tables.addresses[name][0]
    fn = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)(stub)
    ptrs = (ctypes.c_void_p * max(len(args), 1))(*[ctypes.addressof(a) for a in args])
    if restype is None:
        fn(ptrs, None)
        return None
    result = restype()
    fn(ptrs, ctypes.addressof(result))
    return result


def write(path: str, text: str) -> str:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path
