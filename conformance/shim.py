"""Make ``cffi`` and ``_cffi_backend`` resolve to rcffi inside the test process.

``install_rcffi()`` puts into ``sys.modules``:

* ``_cffi_backend``: ``rcffi._cffi_backend`` itself;
* ``cffi``: a shim package exposing the public names of ``import rcffi`` (``FFI``,
  ``CDefError``, ``FFIError``, ``VerificationError``, ``VerificationMissing``,
  ``PkgConfigError``, ``__version__``, ...);
* ``cffi.backend_ctypes``: a ``CTypesBackend`` class the tests compare against but never use;
* ``cffi._imp_emulation``: ``load_dynamic`` (imported by cffi's ``testing/support.py``);
  it loads the module that rcffi's ``compile()`` made;
* ``cffi.error``: the exception classes of rcffi;
* ``cffi.recompiler``: ``recompile``, ``make_py_source`` and ``NativeIO``, the helpers
  cffi's tests build modules with, translated to rcffi's public ``set_source()`` +
  ``compile()`` / ``emit_python_code()``;
* ``cffi.ffiplatform``: ``get_extension`` + ``compile``, which the tests use to build a
  plain C shared library (no cffi involved): here a ``cc -shared`` command;
* ``cffi.cffi_opcode`` and ``cffi.model``: only the tables of primitive type names that
  the tests iterate over (``PRIMITIVE_TO_INDEX``, ``PrimitiveType.ALL_PRIMITIVE_TYPES``),
  read as data out of the sdist's ``src/cffi`` with ``ast`` (no cffi code runs).

Any other ``cffi.X`` resolves to ``rcffi.X`` when rcffi has such a module, and is otherwise
missing: the real cffi is never importable while the shim is installed.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import os
import subprocess
import sys
import sysconfig
import types
from pathlib import Path

SHIM_SUBMODULES = (
    "backend_ctypes",
    "_imp_emulation",
    "error",
    "recompiler",
    "ffiplatform",
    "cffi_opcode",
    "model",
)
ERROR_NAMES = (
    "CDefError",
    "FFIError",
    "PkgConfigError",
    "VerificationError",
    "VerificationMissing",
)
RCFFI_LIBRARY_SUFFIX = ".rcffi.so"  # what rcffi's compile() returns: the .py is beside it
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
    """Load the module built at ``path`` (what ``cffi._imp_emulation`` provides).

    For a library made by rcffi's ``compile()`` (``X.rcffi.so``), the module is the
    ``X.py`` that ``compile()`` wrote beside it; any other path is a CPython extension.
    """
    del fp
    if path.endswith(RCFFI_LIBRARY_SUFFIX):
        py_path = os.path.join(os.path.dirname(path), name.rsplit(".", 1)[-1] + ".py")
        spec = importlib.util.spec_from_file_location(name, py_path)
        loader = spec.loader
    else:
        loader = importlib.machinery.ExtensionFileLoader(name, path)
        spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


_MISSING = object()


class _SourceFor:
    """``ffi.set_source(...)`` for the time of one build.

    cffi's ``recompile(ffi, name, preamble, ...)`` and ``make_py_source(ffi, name, path)``
    take the module's name and source as arguments, whether or not the test called
    ``ffi.set_source()`` before (test_recompiler.py's ``verify()`` does, with another
    preamble); rcffi's ``set_source()`` may be called once per ``FFI``. So the test's own
    ``set_source()``, if any, is put aside during the build and restored afterwards.
    """

    def __init__(self, ffi, module_name, source, source_extension=".c", **kwds) -> None:
        self.ffi = ffi
        self.args = (module_name, source, source_extension)
        self.kwds = kwds
        self.saved = _MISSING

    def __enter__(self):
        self.saved = self.ffi.__dict__.pop("_assigned_source", _MISSING)
        self.ffi.set_source(*self.args, **self.kwds)
        return self.ffi

    def __exit__(self, *exc: object) -> None:
        self.ffi.__dict__.pop("_assigned_source", None)
        if self.saved is not _MISSING:
            self.ffi._assigned_source = self.saved


def recompile(
    ffi,
    module_name,
    preamble,
    tmpdir=".",
    call_c_compiler=True,
    c_file=None,
    source_extension=".c",
    extradir=None,
    compiler_verbose=1,
    target=None,
    debug=None,
    uses_ffiplatform=True,
    **kwds,
):
    """cffi's ``recompiler.recompile()`` as rcffi's ``set_source()`` + ``compile()``.

    Returns what ``compile()`` returns: the path of the library (``load_dynamic`` above
    finds the module beside it), or of the ``.py`` for ``preamble=None``.
    """
    if not call_c_compiler or c_file is not None or extradir is not None:
        raise NotImplementedError("shim: recompile() with c_file/extradir/call_c_compiler")
    del uses_ffiplatform  # cffi's choice of build machinery; rcffi has one
    with _SourceFor(ffi, module_name, preamble, source_extension, **kwds):
        return ffi.compile(tmpdir=tmpdir, verbose=compiler_verbose, target=target, debug=debug)


def make_py_source(ffi, module_name, target_py_file, verbose=False):
    """cffi's ``recompiler.make_py_source()`` as ``set_source(name, None)`` +
    ``emit_python_code(path)``."""
    del verbose
    with _SourceFor(ffi, module_name, None):
        ffi.emit_python_code(target_py_file)


class _Extension:
    """What ``ffiplatform.get_extension()`` returns: the sources of a plain C library."""

    def __init__(self, name: str, sources: list[str], kwds: dict) -> None:
        self.name = name
        self.sources = sources
        self.kwds = kwds


def get_extension(srcfilename, modname, sources=(), **kwds):
    """``ffiplatform.get_extension()``: remember what to compile."""
    return _Extension(modname, [str(srcfilename), *map(str, sources)], kwds)


def compile_extension(tmpdir, ext, compiler_verbose=0, debug=None):
    """``ffiplatform.compile()`` for the plain C libraries of the tests: ``cc -shared``.

    ``export_symbols`` is a Windows matter; on Linux every global symbol is exported.
    """
    del compiler_verbose
    unsupported = set(ext.kwds) - {"export_symbols"}
    if unsupported:
        raise NotImplementedError(f"shim: ffiplatform.compile() with {sorted(unsupported)}")
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    output = os.path.join(str(tmpdir), ext.name.replace(".", os.sep) + suffix)
    os.makedirs(os.path.dirname(output), exist_ok=True)
    cmd = [os.environ.get("CC", "cc"), "-shared", "-fPIC", "-g" if debug else "-O2"]
    subprocess.run([*cmd, "-o", output, *ext.sources], check=True)
    return output


def _sdist_literals(path: Path, wanted: str, scope: str | None = None) -> object:
    """The value of the assignment ``wanted = {...}`` in ``path`` (inside class ``scope``),
    evaluated as data: names in it must be module-level ``NAME = <literal>`` assignments."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants: dict[str, object] = {}
    body = tree.body
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and isinstance(node.value, ast.Constant):
                constants[target.id] = node.value.value
        if scope is not None and isinstance(node, ast.ClassDef) and node.name == scope:
            body = node.body
    for node in body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == wanted
        ):
            value = ast.Expression(node.value)
            for name in ast.walk(value):
                if isinstance(name, ast.Name) and name.id not in constants:
                    raise ValueError(f"{path}: {wanted} uses {name.id}, not a literal")
            return eval(compile(value, str(path), "eval"), {"__builtins__": {}}, constants)  # noqa: S307
    raise ValueError(f"{path}: no assignment to {wanted}")


class _LazyTables(types.ModuleType):
    """A shim module whose attributes are read from the sdist when first used."""

    def __init__(self, name: str, loaders: dict) -> None:
        super().__init__(name)
        self._loaders = loaders

    def __getattr__(self, attr: str) -> object:
        loaders = self.__dict__.get("_loaders", {})
        if attr not in loaders:
            raise AttributeError(f"shim module {self.__name__!r} has no attribute {attr!r}")
        value = loaders[attr]()
        setattr(self, attr, value)
        return value


def _cffi_source_dir(sdist_root: Path | None) -> Path:
    if sdist_root is None:
        raise RuntimeError("shim: the sdist root was not given to install_rcffi()")
    return Path(sdist_root) / "src" / "cffi"


def _model_module(sdist_root: Path | None) -> types.ModuleType:
    """``cffi.model`` with only ``PrimitiveType.ALL_PRIMITIVE_TYPES`` (the names tests
    iterate over); cffi's type model itself is not part of rcffi."""

    def primitive_type():
        path = _cffi_source_dir(sdist_root) / "model.py"
        table = _sdist_literals(path, "ALL_PRIMITIVE_TYPES", scope="PrimitiveType")

        class PrimitiveType:
            ALL_PRIMITIVE_TYPES = table

            def __init__(self, *args: object) -> None:
                raise NotImplementedError("cffi's type model is not part of rcffi")

        return PrimitiveType

    return _LazyTables("cffi.model", {"PrimitiveType": primitive_type})


def _opcode_module(sdist_root: Path | None) -> types.ModuleType:
    """``cffi.cffi_opcode`` with only ``PRIMITIVE_TO_INDEX`` (a table of names)."""

    def primitive_to_index():
        path = _cffi_source_dir(sdist_root) / "cffi_opcode.py"
        return _sdist_literals(path, "PRIMITIVE_TO_INDEX")

    return _LazyTables("cffi.cffi_opcode", {"PRIMITIVE_TO_INDEX": primitive_to_index})


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


def _try_import(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def build_cffi_shim(
    rcffi: types.ModuleType, sdist_root: Path | None = None
) -> dict[str, types.ModuleType]:
    """Build the ``cffi`` shim package and its shim submodules (not installed yet)."""
    cffi = types.ModuleType("cffi", "rcffi conformance shim standing in for cffi")
    cffi.__path__ = []  # a package, so `import cffi.X` goes through RcffiAliasFinder only
    cffi.__file__ = __file__
    for name in public_names(rcffi):
        setattr(cffi, name, getattr(rcffi, name))
    # The version of the cffi rcffi implements, as after install_as_cffi().
    as_cffi = sys.modules.get("rcffi._as_cffi") or _try_import("rcffi._as_cffi")
    if as_cffi is not None:
        cffi.__version__ = as_cffi.CFFI_VERSION
        cffi.__version_info__ = as_cffi.CFFI_VERSION_INFO
    backend_ctypes = types.ModuleType("cffi.backend_ctypes")
    backend_ctypes.CTypesBackend = CTypesBackend
    imp_emulation = types.ModuleType("cffi._imp_emulation")
    imp_emulation.load_dynamic = load_dynamic
    error = types.ModuleType("cffi.error")
    for name in ERROR_NAMES:
        if hasattr(rcffi, name):
            setattr(error, name, getattr(rcffi, name))
    recompiler = types.ModuleType("cffi.recompiler")
    recompiler.recompile = recompile
    recompiler.make_py_source = make_py_source
    recompiler.NativeIO = io.StringIO
    ffiplatform = types.ModuleType("cffi.ffiplatform")
    ffiplatform.get_extension = get_extension
    ffiplatform.compile = compile_extension
    submodules = {
        "backend_ctypes": backend_ctypes,
        "_imp_emulation": imp_emulation,
        "error": error,
        "recompiler": recompiler,
        "ffiplatform": ffiplatform,
        "cffi_opcode": _opcode_module(sdist_root),
        "model": _model_module(sdist_root),
    }
    modules = {"cffi": cffi}
    for name, module in submodules.items():
        setattr(cffi, name, module)
        modules[f"cffi.{name}"] = module
    return modules


def forget_real_cffi() -> list[str]:
    """Remove any already imported cffi / _cffi_backend modules; return their names."""
    names = [n for n in sys.modules if n in ("cffi", "_cffi_backend") or n.startswith("cffi.")]
    for name in names:
        del sys.modules[name]
    return names


def install_rcffi(sdist_root: Path | None = None) -> list[str]:
    """Install the rcffi substitution; return the core cffi names rcffi lacks.

    ``sdist_root`` is where ``cffi.model`` / ``cffi.cffi_opcode`` read their tables.
    """
    rcffi, backend = import_rcffi()
    forget_real_cffi()
    modules = build_cffi_shim(rcffi, sdist_root)
    sys.modules.update(modules)
    sys.modules["_cffi_backend"] = backend
    if not any(isinstance(f, RcffiAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, RcffiAliasFinder())
    return [n for n in CORE_NAMES if not hasattr(modules["cffi"], n)]


def rcffi_for_child_processes() -> None:
    """Child Pythons the tests start (the embedding suite runs build scripts
    that ``import cffi``) get rcffi as ``cffi`` too: the ``cffi`` package and
    ``_cffi_backend`` module of ``python -m rcffi cffi-wheel``, written into
    a folder put first on ``PYTHONPATH``."""
    import tempfile

    try:
        from rcffi import cffi_wheel
    except ImportError:  # a stand-in rcffi without it (the harness's own tests)
        return
    folder = Path(tempfile.mkdtemp(prefix="rcffi-as-cffi-"))
    cffi_wheel.write_stand_in(folder)
    path = [str(folder), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    os.environ["PYTHONPATH"] = os.pathsep.join(path)


def import_real_cffi() -> tuple[types.ModuleType, types.ModuleType]:
    """Import the installed cffi and _cffi_backend now (before a test edits sys.path)."""
    return importlib.import_module("cffi"), importlib.import_module("_cffi_backend")
