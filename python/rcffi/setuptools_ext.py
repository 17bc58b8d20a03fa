"""Setuptools support: ``setup(rcffi_modules=["build.py:ffibuilder"])``.

Each item names a build script and the ``FFI`` object (or a function
returning one) it defines, as cffi's ``cffi_modules`` does.  During
``build_ext`` (so during ``pip install .`` and ``pip wheel .``), rcffi
compiles each API-mode module into the build directory: the small
generated ``.py`` and its ``.rcffi.so`` go into the wheel, the generated C
and the build stamp stay in the temporary build directory.  Modules of
``set_source(name, None)`` (ABI mode, Python only) are written by
``build_py``.

The keyword ``cffi_modules`` is handled too when rcffi stands in for cffi,
that is when the real cffi is not installed: the build scripts then get
rcffi when they ``import cffi``.  When cffi is installed, its own
``cffi_modules`` support does the work.

Both keywords are registered as ``distutils.setup_keywords`` entry points
of the rcffi distribution.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["RcffiExtension", "cffi_modules", "rcffi_modules"]


def _error(message: str) -> Exception:
    try:
        from setuptools.errors import SetupError

        return SetupError(message)
    except ImportError:  # pragma: no cover - very old setuptools
        return ValueError(message)


def _load_builder(spec: str) -> Any:
    """Runs the build script of ``"path/build.py:name"`` and returns its FFI."""
    from .api import FFI

    if not isinstance(spec, str) or ":" not in spec:
        raise _error(
            f"argument to 'rcffi_modules' must be a 'path/build.py:ffi_variable' string, "
            f"not {spec!r}"
        )
    path, _, var = spec.rpartition(":")
    if not path.endswith(".py"):
        raise _error(f"{spec!r}: the build script must be a '.py' file")
    if not os.path.exists(path):
        raise _error(f"{spec!r}: {path!r} does not exist (paths are relative to setup.py)")
    with open(path, encoding="utf-8") as f:
        code = compile(f.read(), path, "exec")
    scope = {"__name__": "__cffi__", "__file__": path}
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    try:
        exec(code, scope)
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    if var not in scope:
        raise _error(f"{spec!r}: {path!r} defines no {var!r}")
    ffi = scope[var]
    if not isinstance(ffi, FFI) and callable(ffi):
        ffi = ffi()
    if not isinstance(ffi, FFI):
        raise _error(f"{spec!r}: {var!r} is not an rcffi FFI object, but {ffi!r}")
    if not hasattr(ffi, "_assigned_source"):
        raise _error(f"{spec!r}: the FFI has no set_source()")
    return ffi


def _extension_base() -> type:
    try:
        from setuptools import Extension

        return Extension
    except ImportError:  # pragma: no cover - no setuptools
        return object


class RcffiExtension(_extension_base()):  # type: ignore[misc]
    """A module built by rcffi (what ``ffi.distutils_extension()`` returns).

    It is not a CPython extension: put it in ``ext_modules`` together with
    ``cmdclass={"build_ext": rcffi.setuptools_ext.build_ext}`` (or use the
    ``rcffi_modules`` keyword, which needs neither).
    """

    def __init__(self, ffi: Any, name: str, c_path: str, kwds: dict[str, Any]) -> None:
        if _extension_base() is not object:
            super().__init__(name, [c_path])
        self.ffi = ffi
        self.name = name
        self.sources = [c_path]
        self.kwds = dict(kwds)

    def __repr__(self) -> str:
        return f"<RcffiExtension {self.name!r}>"


def _module_dir(cmd: Any, module_name: str, base: str | None) -> str:
    """Where the files of ``pkg.mod`` go: under ``base`` (a build
    directory), or in the package's source folder for ``--inplace``."""
    parts = module_name.split(".")
    if base is not None:
        return base
    build_py = cmd.get_finalized_command("build_py")
    package_dir = build_py.get_package_dir(".".join(parts[:-1]))
    # compile_module() adds the package folders itself.
    depth = len(parts) - 1
    root = os.path.abspath(package_dir or ".")
    for _ in range(depth):
        root = os.path.dirname(root)
    return root


def _compile_into(ffi: Any, libdir: str, tmpdir: str, verbose: bool) -> list[str]:
    from . import _builder

    return _builder.compile_module(
        ffi, tmpdir, verbose, None, None, libdir=libdir, return_outputs=True
    )


def _make_build_ext(base: type) -> type:
    class rcffi_build_ext(base):  # type: ignore[misc, valid-type]
        """``build_ext`` that also builds the rcffi modules."""

        _rcffi = True

        def run(self) -> None:
            mine = [e for e in self.extensions if isinstance(e, RcffiExtension)]
            others = [e for e in self.extensions if not isinstance(e, RcffiExtension)]
            self.extensions = others
            if others:
                base.run(self)
            self._rcffi_outputs = []
            ffis = _builders(self.distribution, api=True) + [e.ffi for e in mine]
            for ffi in ffis:
                module_name = ffi._assigned_source[0]
                libdir = _module_dir(self, module_name, None if self.inplace else self.build_lib)
                tmpdir = os.path.join(self.build_temp, "rcffi")
                outs = _compile_into(ffi, libdir, tmpdir, bool(self.verbose))
                self._rcffi_outputs.extend(outs)

        def get_outputs(self) -> list[str]:
            outs = list(base.get_outputs(self)) if self.extensions else []
            return outs + list(getattr(self, "_rcffi_outputs", []))

    rcffi_build_ext.__name__ = "build_ext"
    return rcffi_build_ext


def _make_build_py(base: type) -> type:
    class rcffi_build_py(base):  # type: ignore[misc, valid-type]
        """``build_py`` that also writes the ABI-mode rcffi modules."""

        _rcffi = True

        def run(self) -> None:
            base.run(self)
            from . import _builder

            for ffi in _builders(self.distribution, api=False):
                path = _builder.compile_module(ffi, self.build_lib, False, None, None)
                self._rcffi_outputs = [*getattr(self, "_rcffi_outputs", []), path]

        def get_outputs(self, include_bytecode: bool = True) -> list[str]:
            return list(base.get_outputs(self, include_bytecode)) + list(
                getattr(self, "_rcffi_outputs", [])
            )

    rcffi_build_py.__name__ = "build_py"
    return rcffi_build_py


def _builders(dist: Any, api: bool) -> list[Any]:
    found = getattr(dist, "_rcffi_builders", [])
    return [ffi for ffi in found if (ffi._assigned_source[1] is not None) == api]


def _add_modules(dist: Any, attr: str, value: Any) -> None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise _error(f"'{attr}' must be a list of 'path/build.py:ffi_variable' strings")
    builders = list(getattr(dist, "_rcffi_builders", []))
    for spec in value:
        builders.append(_load_builder(spec))
    dist._rcffi_builders = builders
    cmdclass = dist.cmdclass
    if any(ffi._assigned_source[1] is not None for ffi in builders):
        current = cmdclass.get("build_ext") or dist.get_command_class("build_ext")
        if not getattr(current, "_rcffi", False):
            cmdclass["build_ext"] = _make_build_ext(current)
        # The wheel holds a native library: it is platform-specific.
        dist.has_ext_modules = lambda: True
        _retag_wheel(dist)
    if any(ffi._assigned_source[1] is None for ffi in builders):
        current = cmdclass.get("build_py") or dist.get_command_class("build_py")
        if not getattr(current, "_rcffi", False):
            cmdclass["build_py"] = _make_build_py(current)


def _retag_wheel(dist: Any) -> None:
    """The libraries rcffi builds need no Python.h: when they are the only
    native code, the wheel works with every CPython 3 (``py3-none-PLAT``)."""
    if dist.ext_modules:
        return
    try:
        current = dist.cmdclass.get("bdist_wheel") or dist.get_command_class("bdist_wheel")
    except Exception:  # noqa: BLE001 - no wheel support installed
        return
    if getattr(current, "_rcffi", False):
        return

    class rcffi_bdist_wheel(current):  # type: ignore[misc, valid-type]
        _rcffi = True

        def get_tag(self) -> tuple[str, str, str]:
            _impl, _abi, plat = current.get_tag(self)
            return "py3", "none", plat

    rcffi_bdist_wheel.__name__ = "bdist_wheel"
    dist.cmdclass["bdist_wheel"] = rcffi_bdist_wheel


def rcffi_modules(dist: Any, attr: str, value: Any) -> None:
    """The ``rcffi_modules`` setup keyword."""
    _add_modules(dist, attr, value)


def _real_cffi_installed() -> bool:
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        try:
            distribution("cffi")
        except PackageNotFoundError:
            return False
        return True
    except ImportError:  # pragma: no cover
        return False


def cffi_modules(dist: Any, attr: str, value: Any) -> None:
    """The ``cffi_modules`` setup keyword, when rcffi stands in for cffi (the
    real cffi is not installed): build scripts importing ``cffi`` get rcffi."""
    if _real_cffi_installed():
        return
    from . import install_as_cffi

    install_as_cffi()
    _add_modules(dist, attr, value)


def __getattr__(name: str) -> Any:
    # ``rcffi.setuptools_ext.build_ext``: made on first use, from the
    # installed setuptools' command.
    if name == "build_ext":
        from setuptools.command.build_ext import build_ext as base

        cls = _make_build_ext(base)
        globals()["build_ext"] = cls
        return cls
    raise AttributeError(name)
