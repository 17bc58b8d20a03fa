"""Setuptools support: ``setup(cffi_modules=[...])`` and
``setup(rcffi_modules=["build.py:ffibuilder"])``.

Each item names a build script and the ``FFI`` object (or a function
returning one) it defines, as cffi's ``cffi_modules`` does.  An API-mode
module becomes an ordinary ``setuptools.Extension`` of the distribution
(so ``ext_package`` applies: ``set_source("_lib")`` with
``ext_package="pkg"`` is ``pkg._lib``); rcffi's ``build_ext`` writes its C
file into the build directory and compiles it (exact rebuilds, errors
naming the cdef declaration and the generated file), and the module goes
into the wheel as ``NAME.abi3.so``.  A module of ``set_source(name,
None)`` (ABI mode, Python only) is written by ``build_py``.  A module that
cannot be built fails the build: there is never a wheel without it.

``cffi_modules``: whoever ``cffi`` is in the building process builds, and
exactly once.  When ``import cffi`` gives the real cffi, its own handler
of the keyword builds and this one does nothing; otherwise (rcffi stands
in for cffi, or there is no cffi) this one builds, and build scripts that
``import cffi`` get rcffi.  setuptools calls every handler registered for
a keyword (a distribution named ``cffi`` may register one that resolves
to this module): a second call for the same distribution does nothing.

Both keywords are registered as ``distutils.setup_keywords`` entry points
of the rcffi distribution.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["cffi_modules", "rcffi_modules"]

_PLACEHOLDER = "$RCFFI_GENERATED_SOURCE"


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
            f"argument to 'cffi_modules' must be a 'path/build.py:ffi_variable' string, "
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


def _make_build_ext(base: type) -> type:
    class rcffi_build_ext(base):  # type: ignore[misc, valid-type]
        """``build_ext`` that builds the rcffi modules with rcffi's driver
        (other extensions as ``base`` does)."""

        _rcffi = True

        def build_extension(self, ext: Any) -> None:
            ffi = getattr(ext, "_rcffi_ffi", None)
            if ffi is None:
                base.build_extension(self, ext)
                return
            from . import _builder

            fullname = self.get_ext_fullname(ext.name)
            output = self.get_ext_fullpath(ext.name)
            tmpdir = os.path.join(self.build_temp, "rcffi")
            _builder.compile_module(
                ffi, tmpdir, self.verbose, None, self.debug, output=output, module_name=fullname
            )
            # What sdist and `build_ext --inplace` see as the module's source.
            ext.sources[0] = os.path.join(
                tmpdir, *fullname.split(".")[:-1], fullname.split(".")[-1] + ".c"
            )

        def run(self) -> None:
            base.run(self)
            if self.inplace:
                from . import _builder

                build_py = self.get_finalized_command("build_py")
                for ffi in _abi_builders(self.distribution):
                    name = ffi._assigned_source[0]
                    parts = name.split(".")
                    folder = build_py.get_package_dir(".".join(parts[:-1]))
                    out = os.path.join(folder, parts[-1] + ".py")
                    _builder.compile_module(ffi, "", False, None, None, output=out)

    rcffi_build_ext.__name__ = "build_ext"
    return rcffi_build_ext


def _make_build_py(base: type) -> type:
    class rcffi_build_py(base):  # type: ignore[misc, valid-type]
        """``build_py`` that also writes the ABI-mode rcffi modules."""

        _rcffi = True

        def run(self) -> None:
            base.run(self)
            from . import _builder

            outs = []
            for ffi in _abi_builders(self.distribution):
                outs.append(_builder.compile_module(ffi, self.build_lib, False, None, None))
            self._rcffi_outputs = outs

        def get_outputs(self, include_bytecode: bool = True) -> list[str]:
            return list(base.get_outputs(self, include_bytecode)) + list(
                getattr(self, "_rcffi_outputs", [])
            )

    rcffi_build_py.__name__ = "build_py"
    return rcffi_build_py


def _abi_builders(dist: Any) -> list[Any]:
    return list(getattr(dist, "_rcffi_abi_builders", []))


def _add_c_module(dist: Any, ffi: Any) -> None:
    from ._builder import make_extension
    from .build import Options

    name, source, _ext, kwds = ffi._assigned_source
    options = Options.from_kwargs(kwds)
    ext = make_extension(name, [_PLACEHOLDER], options, options.includes_python_h(source))
    ext._rcffi_ffi = ffi
    if dist.ext_modules is None:
        dist.ext_modules = []
    dist.ext_modules.append(ext)
    current = dist.cmdclass.get("build_ext") or dist.get_command_class("build_ext")
    if not getattr(current, "_rcffi", False):
        dist.cmdclass["build_ext"] = _make_build_ext(current)
    _retag_wheel(dist)


def _add_py_module(dist: Any, ffi: Any) -> None:
    dist._rcffi_abi_builders = [*_abi_builders(dist), ffi]
    for command in ("build_py", "build_ext"):
        current = dist.cmdclass.get(command) or dist.get_command_class(command)
        if not getattr(current, "_rcffi", False):
            make = _make_build_py if command == "build_py" else _make_build_ext
            dist.cmdclass[command] = make(current)


def _add_modules(dist: Any, attr: str, value: Any) -> None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise _error(f"'{attr}' must be a list of 'path/build.py:ffi_variable' strings")
    done = dist.__dict__.setdefault("_rcffi_keywords_done", set())
    if attr in done:
        return
    done.add(attr)
    for spec in value:
        ffi = _load_builder(spec)
        if ffi._assigned_source[1] is None:
            _add_py_module(dist, ffi)
        else:
            _add_c_module(dist, ffi)


def _retag_wheel(dist: Any) -> None:
    """The modules rcffi builds without Python.h work with every CPython 3:
    when they are all the native code of the wheel, it is tagged
    ``py3-none-PLATFORM``."""
    try:
        current = dist.cmdclass.get("bdist_wheel") or dist.get_command_class("bdist_wheel")
    except Exception:  # noqa: BLE001 - no wheel support installed
        return
    if getattr(current, "_rcffi", False):
        return

    class rcffi_bdist_wheel(current):  # type: ignore[misc, valid-type]
        _rcffi = True

        def get_tag(self) -> tuple[str, str, str]:
            impl, abi, plat = current.get_tag(self)
            exts = self.distribution.ext_modules or []
            mine = all(
                getattr(e, "_rcffi_ffi", None) is not None and e.py_limited_api for e in exts
            )
            if exts and mine:
                return "py3", "none", plat
            return impl, abi, plat

    rcffi_bdist_wheel.__name__ = "bdist_wheel"
    dist.cmdclass["bdist_wheel"] = rcffi_bdist_wheel


def rcffi_modules(dist: Any, attr: str, value: Any) -> None:
    """The ``rcffi_modules`` setup keyword."""
    _add_modules(dist, attr, value)


def cffi_is_rcffi() -> bool:
    """Whether ``import cffi`` in this process gives rcffi (or nothing)."""
    from .api import FFI

    try:
        import cffi
    except ImportError:
        return True
    return getattr(cffi, "FFI", None) is FFI


def cffi_modules(dist: Any, attr: str, value: Any) -> None:
    """The ``cffi_modules`` setup keyword, when rcffi is the ``cffi`` of the
    building process (see the module's documentation)."""
    if not cffi_is_rcffi():
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
