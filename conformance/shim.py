"""Make ``cffi`` and ``_cffi_backend`` resolve to rcffi inside the test process.

``install_rcffi()`` puts into ``sys.modules``:

* ``_cffi_backend``: ``rcffi._cffi_backend`` itself;
* ``cffi``: a shim package exposing the public names of ``import rcffi`` (``FFI``,
  ``CDefError``, ``FFIError``, ``VerificationError``, ``VerificationMissing``,
  ``PkgConfigError``, ``__version__``, ...);
* ``cffi.backend_ctypes``: a ``CTypesBackend`` class the tests compare against but never use;
* ``cffi._imp_emulation``: ``load_dynamic`` (imported by cffi's ``testing/support.py``).

Any other ``cffi.X`` resolves to ``rcffi.X`` when rcffi has such a module, and is otherwise
missing: the real cffi is never importable while the shim is installed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

SHIM_SUBMODULES = ("backend_ctypes", "_imp_emulation")
CORE_NAMES = (
    "FFI",
    "CDefError",
    "FFIError",
    "VerificationError",
    "VerificationMissing",
    "PkgConfigError",
    "__version__",
    "__version_info__",
)
BUILD_HINT = "build it with `maturin develop --release` (or `pip install .`) in the repo root"


class RcffiNotImportable(ImportError):
    """rcffi (or rcffi._cffi_backend) cannot be imported."""


class CTypesBackend:
    """Stand-in for ``cffi.backend_ctypes.CTypesBackend``; never the backend under test.

    cffi's test classes say ``Backend = CTypesBackend`` and later check
    ``self.Backend is CTypesBackend``; the tests we run override ``Backend``.
    """

    def __init__(self) -> None:
        raise NotImplementedError("the ctypes backend of cffi is not part of rcffi")


def load_dynamic(name: str, path: str, fp: object = None) -> types.ModuleType:
    """Load an extension module from ``path`` (what ``cffi._imp_emulation`` provides)."""
    del fp
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    sys.modules[name] = module
    return module


class _AliasLoader(importlib.abc.Loader):
    """Loader returning an already imported module object."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class RcffiAliasFinder(importlib.abc.MetaPathFinder):
    """Resolve ``cffi.X`` to ``rcffi.X`` when it exists (nothing else)."""

    def find_spec(self, fullname, path=None, target=None):
        """Return an alias spec for ``cffi.X`` if ``rcffi.X`` is importable, else None."""
        if not fullname.startswith("cffi.") or fullname.count(".") != 1:
            return None
        target_name = "rcffi." + fullname.split(".", 1)[1]
        try:
            if importlib.util.find_spec(target_name) is None:
                return None
            module = importlib.import_module(target_name)
        except ImportError:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module))


def import_rcffi() -> tuple[types.ModuleType, types.ModuleType]:
    """Import rcffi and rcffi._cffi_backend, or raise RcffiNotImportable with a hint."""
    try:
        rcffi = importlib.import_module("rcffi")
        backend = importlib.import_module("rcffi._cffi_backend")
    except ImportError as exc:
        raise RcffiNotImportable(f"rcffi is not importable: {BUILD_HINT} ({exc})") from exc
    return rcffi, backend


def public_names(module: types.ModuleType) -> list[str]:
    """Names a ``cffi`` shim should copy from rcffi: public ones plus version dunders."""
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    extra = [n for n in ("__version__", "__version_info__") if hasattr(module, n)]
    return sorted(set(names) | set(extra))


def build_cffi_shim(rcffi: types.ModuleType) -> dict[str, types.ModuleType]:
    """Build the ``cffi`` shim package and its shim submodules (not installed yet)."""
    cffi = types.ModuleType("cffi", "rcffi conformance shim standing in for cffi")
    cffi.__path__ = []  # a package, so `import cffi.X` goes through RcffiAliasFinder only
    cffi.__file__ = __file__
    for name in public_names(rcffi):
        setattr(cffi, name, getattr(rcffi, name))
    backend_ctypes = types.ModuleType("cffi.backend_ctypes")
    backend_ctypes.CTypesBackend = CTypesBackend
    imp_emulation = types.ModuleType("cffi._imp_emulation")
    imp_emulation.load_dynamic = load_dynamic
    cffi.backend_ctypes = backend_ctypes
    cffi._imp_emulation = imp_emulation
    return {
        "cffi": cffi,
        "cffi.backend_ctypes": backend_ctypes,
        "cffi._imp_emulation": imp_emulation,
    }


def forget_real_cffi() -> list[str]:
    """Remove any already imported cffi / _cffi_backend modules; return their names."""
    names = [n for n in sys.modules if n in ("cffi", "_cffi_backend") or n.startswith("cffi.")]
    for name in names:
        del sys.modules[name]
    return names


def install_rcffi() -> list[str]:
    """Install the rcffi substitution; return the core cffi names rcffi lacks."""
    rcffi, backend = import_rcffi()
    forget_real_cffi()
    modules = build_cffi_shim(rcffi)
    sys.modules.update(modules)
    sys.modules["_cffi_backend"] = backend
    if not any(isinstance(f, RcffiAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, RcffiAliasFinder())
    return [n for n in CORE_NAMES if not hasattr(modules["cffi"], n)]


def import_real_cffi() -> tuple[types.ModuleType, types.ModuleType]:
    """Import the installed cffi and _cffi_backend now (before a test edits sys.path)."""
    return importlib.import_module("cffi"), importlib.import_module("_cffi_backend")
