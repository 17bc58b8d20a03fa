"""rcffi standing in for cffi: the ``cffi`` module of ``install_as_cffi()``.

After ``install_as_cffi()``:

* ``import cffi`` gives a module holding rcffi's public names (``FFI``,
  the exception classes ...) with the version of the cffi rcffi implements
  (``cffi.__version__ == "2.1.1"``): real code branches on it;
* ``import _cffi_backend`` gives ``rcffi._cffi_backend``;
* ``import cffi.X`` gives the module ``rcffi.X`` itself (one module object
  under two names, so classes stay the same), ``cffi.error`` the exception
  classes, and names rcffi has no module for are missing: the real cffi is
  never importable afterwards.

The ``cffi`` distribution that ``python -m rcffi cffi-wheel`` makes runs
``install_as_cffi()`` when ``cffi`` is imported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

# The cffi release whose behaviour rcffi implements.
CFFI_VERSION = "2.1.1"
CFFI_VERSION_INFO = (2, 1, 1)
# cffi's version of the module names of verify(); unchanged since cffi 0.8.6.
CFFI_VERIFIER_MODULES_VERSION = "0.8.6"

ERROR_NAMES = (
    "CDefError",
    "FFIError",
    "PkgConfigError",
    "VerificationError",
    "VerificationMissing",
)
# cffi's ``__all__``.
CFFI_ALL = ["FFI", "VerificationError", "VerificationMissing", "CDefError", "FFIError"]


class _AliasLoader(importlib.abc.InspectLoader):
    """Gives an already imported module of rcffi under its ``cffi.`` name.

    ``get_code`` lets ``python -m cffi.X`` run ``rcffi.X`` as ``__main__``.
    """

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        return None

    def is_package(self, fullname: str) -> bool:
        return hasattr(self.module, "__path__")

    def get_source(self, fullname: str) -> str | None:
        loader = getattr(self.module.__spec__, "loader", None)
        if isinstance(loader, importlib.abc.InspectLoader):
            return loader.get_source(self.module.__name__)
        return None

    def get_code(self, fullname: str) -> Any:
        loader = getattr(self.module.__spec__, "loader", None)
        if isinstance(loader, importlib.abc.InspectLoader):
            return loader.get_code(self.module.__name__)
        return None


class CffiAliasFinder(importlib.abc.MetaPathFinder):
    """Resolves ``cffi.X`` to ``rcffi.X`` when rcffi has that module."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if not fullname.startswith("cffi.") or sys.modules.get("cffi") is not _installed():
            return None
        rest = fullname[len("cffi.") :]
        target_name = "rcffi." + rest
        try:
            if importlib.util.find_spec(target_name) is None:
                return None
            module = importlib.import_module(target_name)
        except (ImportError, ValueError):
            return None
        spec = importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(module), is_package=hasattr(module, "__path__")
        )
        spec.origin = getattr(module, "__file__", None)
        return spec


_state: dict[str, types.ModuleType] = {}


def _installed() -> types.ModuleType | None:
    return _state.get("cffi")


def _make_cffi_module(rcffi: types.ModuleType) -> types.ModuleType:
    cffi: Any = types.ModuleType("cffi", "rcffi standing in for cffi " + CFFI_VERSION)
    cffi.__file__ = rcffi.__file__
    cffi.__path__ = []  # a package: `import cffi.X` goes through CffiAliasFinder
    cffi.__rcffi__ = rcffi
    for name in ("FFI", *ERROR_NAMES):
        setattr(cffi, name, getattr(rcffi, name))
    cffi.__version__ = CFFI_VERSION
    cffi.__version_info__ = CFFI_VERSION_INFO
    cffi.__version_verifier_modules__ = CFFI_VERIFIER_MODULES_VERSION
    cffi.__all__ = list(CFFI_ALL)
    error = types.ModuleType("cffi.error", "cffi's exception classes (rcffi's)")
    for name in ERROR_NAMES:
        setattr(error, name, getattr(rcffi, name))
    cffi.error = error
    cffi.api = rcffi.api
    return cffi


def install_as_cffi() -> types.ModuleType:
    """Make ``cffi`` and ``_cffi_backend`` rcffi in this process; returns
    the ``cffi`` module.  Calling it again changes nothing."""
    rcffi = sys.modules["rcffi"]
    cffi = _state.get("cffi")
    if cffi is None:
        cffi = _state["cffi"] = _make_cffi_module(rcffi)
    # A real cffi imported earlier is forgotten (its classes stay with the
    # code that imported it).
    for name in [n for n in sys.modules if n == "cffi" or n.startswith("cffi.")]:
        if not (sys.modules[name] is cffi or name == "cffi.error"):
            del sys.modules[name]
    sys.modules["cffi"] = cffi
    sys.modules["cffi.error"] = cffi.error
    sys.modules["cffi.api"] = rcffi.api
    sys.modules["_cffi_backend"] = rcffi._cffi_backend
    if not any(isinstance(f, CffiAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, CffiAliasFinder())
    return cffi
