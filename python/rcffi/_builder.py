"""The API-mode methods of ``FFI`` (``set_source``, ``compile``, ``verify``,
``emit_c_code``, ``emit_python_code``, ``distutils_extension``): they tie
the code generator (in the core: ``_rcffi._generate_c`` and
``_generate_python``) and the compiler driver (:mod:`rcffi.build`)
together.  Loaded on first use: ``import rcffi`` does not import it.

Outputs of ``ffi.compile(tmpdir)`` for module ``pkg.mod``::

    tmpdir/pkg/mod.c            the generated C (.cpp with source_extension)
    tmpdir/pkg/mod.abi3.so      the extension module (no Python.h inside:
                                every CPython imports it), or
                                mod.cpython-3XX-....so when the user's C
                                code includes Python.h
    tmpdir/pkg/mod.rcffi.json   the stamp of the build (exact rebuilds)

and ``tmpdir/pkg/mod.py`` for ``set_source("pkg.mod", None)`` (an
out-of-line ABI module, cffi's format).
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

from . import _rcffi
from ._rcffi import VerificationError
from .build import (
    BuildRequest,
    Generated,
    Options,
    Region,
    build,
    extension_suffix,
    fresh_output,
    read_stamp,
    tool_id,
    write_if_changed,
)

_CXX_EXTENSIONS = (".cpp", ".cc", ".cxx", ".c++")


def check_module_name(module_name: Any) -> str:
    """A dotted name of Python identifiers, or an error."""
    if not isinstance(module_name, str):
        raise TypeError("'module_name' must be a string")
    if os.sep in module_name or (os.altsep and os.altsep in module_name):
        raise ValueError(
            "'module_name' must not contain '/': use a dotted name to make a "
            "'package.module' location"
        )
    parts = module_name.split(".")
    if not all(p.isidentifier() for p in parts):
        raise ValueError(
            f"'module_name' must be a dotted name of Python identifiers, not {module_name!r}"
        )
    return module_name


def is_cplusplus(source_extension: str) -> bool:
    return source_extension.lower() in _CXX_EXTENSIONS


def _assigned(ffi: Any, what: str) -> tuple[str, str | None, str, dict[str, Any]]:
    if not hasattr(ffi, "_assigned_source"):
        raise ValueError(f"set_source() must be called before {what}()")
    return ffi._assigned_source


def included_modules(ffi: Any) -> list[str]:
    """The module names of the FFIs ``ffi`` includes, in order."""
    names = []
    for other in ffi._included_ffis:
        assigned = getattr(other, "_assigned_source", None)
        name = assigned[0] if assigned is not None else _rcffi._module_name(other)
        if name is None:
            raise ValueError(
                "ffi.include(other): in API mode, 'other' must be an FFI of a module "
                "(call other.set_source() first, or include the 'ffi' of the other "
                "compiled module)"
            )
        names.append(name)
    return names


def _strict(options: Options | None) -> bool:
    """Whether the user compiles with ``-Werror``: then rcffi does not turn
    the compiler's conversion errors about the cdef into warnings."""
    words = list(options.extra_compile_args) if options is not None else []
    words += os.environ.get("CFLAGS", "").split()
    return "-Werror" in words


def generate_c(
    ffi: Any,
    module_name: str,
    source: str,
    source_extension: str,
    options: Options,
    c_path: str | None,
) -> Generated:
    """The C text of the module (see ``rcffi.build.Generated``)."""
    text, regions, user_file, glue_line = _rcffi._generate_c(
        ffi,
        module_name,
        source,
        included_modules(ffi),
        cplusplus=is_cplusplus(source_extension),
        strict=_strict(options),
        python_h=options.includes_python_h(source),
        c_path=c_path,
    )
    return Generated(
        c_source=text,
        regions=[Region(*r) for r in regions],
        user_file=user_file,
        glue_line=glue_line,
    )


def python_text(ffi: Any, module_name: str) -> str:
    """The Python text of an out-of-line ABI module (cffi's format)."""
    return _rcffi._generate_python(ffi, module_name, included_modules(ffi))


def _module_dir(tmpdir: str, module_name: str) -> tuple[str, str]:
    """(directory of the module's files, its last name)."""
    parts = module_name.split(".")
    return os.path.join(tmpdir, *parts[:-1]), parts[-1]


def _target_name(target: str | None, leaf: str, python_h: bool) -> str:
    """The file name of the module: ``leaf`` with the extension suffix, or
    what ``compile(target=...)`` says (``"name.*"``: ``name`` with this
    platform's shared-library suffix, as in cffi)."""
    if target is None or target == "*":
        return leaf + extension_suffix(python_h)
    if target.endswith(".*"):
        return target[:-2] + (".dylib" if sys.platform == "darwin" else ".so")
    return target


def compile_module(
    ffi: Any,
    tmpdir: str,
    verbose: Any,
    target: str | None,
    debug: Any,
    output: str | None = None,
    module_name: str | None = None,
) -> str:
    """``ffi.compile()``: the path of the module built (of the ``.py`` for
    ABI mode).  ``output`` (setuptools) is the path of the module file,
    the generated C and the stamp staying in ``tmpdir``; ``module_name``
    overrides the name of ``set_source()`` (with the package that
    setuptools' ``ext_package`` adds)."""
    name, source, source_extension, kwds = _assigned(ffi, "compile")
    name = module_name or name
    moddir, leaf = _module_dir(tmpdir, name)
    if source is None:
        # The path as made from tmpdir (not absolute), as cffi returns it.
        py_path = output or os.path.join(moddir, leaf + ".py")
        write_if_changed(py_path, python_text(ffi, name), name)
        return py_path
    options = Options.from_kwargs(kwds)
    python_h = options.includes_python_h(source)
    if output is None:
        output = os.path.join(moddir, _target_name(target, leaf, python_h))
    c_path = os.path.join(moddir, leaf + source_extension)
    request = {
        "module_name": name,
        "c_path": c_path,
        "output": output,
        "stamp_path": os.path.join(moddir, leaf + ".rcffi.json"),
        "options": options,
        "cplusplus": is_cplusplus(source_extension),
        "verbose": bool(verbose),
        "debug": bool(debug),
        "python_h": python_h,
    }
    key = _generation_key(ffi, name, source, source_extension, options)
    # The fast path: the same declarations and source as the last build,
    # whose module is in place: check the build without generating it.
    extra = (read_stamp(request["stamp_path"]) or {}).get("extra") or {}
    if extra.get("key") == key:
        quick = BuildRequest(generated=None, c_hash=extra.get("c_hash"), **request)
        if fresh_output(quick) == os.path.abspath(output):
            return os.path.abspath(output)
    gen = generate_c(ffi, name, source, source_extension, options, c_path)
    req = BuildRequest(generated=gen, **request)
    req.extra = {"key": key, "c_hash": req.source_hash()}
    built, _rebuilt = build(req)
    return os.path.abspath(built)


def _generation_key(
    ffi: Any, module_name: str, source: str, source_extension: str, options: Options
) -> str:
    """What the generated code depends on: the declarations (with those of
    the included FFIs), the source, the names, rcffi's generator."""
    h = hashlib.sha256()
    h.update(repr((tool_id(), module_name, source_extension, _strict(options))).encode())
    h.update(source.encode("utf-8", "surrogateescape"))
    h.update(ffi._api_ops_fingerprint().encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _write_text_to(target: Any, text: str) -> None:
    """Writes ``text`` to a file object (anything with ``write``) or to the
    file named ``target``."""
    if hasattr(target, "write"):
        target.write(text)
        return
    with open(target, "w", encoding="utf-8") as f:
        f.write(text)


def emit_c_code(ffi: Any, filename: Any) -> None:
    """``ffi.emit_c_code(filename)``."""
    name, source, source_extension, kwds = _assigned(ffi, "emit_c_code")
    if source is None:
        raise TypeError(
            "emit_c_code() is only for C extension modules, not for dlopen()-style pure "
            "Python modules"
        )
    c_path = os.fspath(filename) if isinstance(filename, (str, os.PathLike)) else None
    gen = generate_c(ffi, name, source, source_extension, Options.from_kwargs(kwds), c_path)
    _write_text_to(filename, gen.c_source)


def emit_python_code(ffi: Any, filename: Any) -> None:
    """``ffi.emit_python_code(filename)``."""
    name, source, _ext, _kwds = _assigned(ffi, "emit_python_code")
    if source is not None:
        raise TypeError(
            "emit_python_code() is only for dlopen()-style pure Python modules, not for C "
            "extension modules"
        )
    _write_text_to(filename, python_text(ffi, name))


def distutils_extension(ffi: Any, tmpdir: str, verbose: bool) -> Any:
    """``ffi.distutils_extension()``: writes the C file and returns a
    ``setuptools.Extension`` that builds the module (any ``build_ext``)."""
    name, source, source_extension, kwds = _assigned(ffi, "distutils_extension")
    if source is None:
        raise TypeError(
            "distutils_extension() is only for C extension modules, not for dlopen()-style "
            "pure Python modules"
        )
    options = Options.from_kwargs(kwds)
    moddir, leaf = _module_dir(tmpdir, name)
    c_path = os.path.join(moddir, leaf + source_extension)
    gen = generate_c(ffi, name, source, source_extension, options, c_path)
    updated = write_if_changed(c_path, gen.c_source, name)
    if verbose:
        sys.stderr.write(("regenerated: %r\n" if updated else "not modified: %r\n") % c_path)
    return make_extension(name, [c_path], options, options.includes_python_h(source))


def make_extension(name: str, generated: list[str], options: Options, python_h: bool) -> Any:
    """The ``setuptools.Extension`` of a module whose generated C files are
    ``generated``: the user's keywords, and the stable ABI unless the C
    code includes ``Python.h``."""
    from setuptools import Extension

    o = options
    return Extension(
        name,
        [*generated, *o.sources],
        include_dirs=list(o.include_dirs),
        define_macros=list(o.define_macros),
        undef_macros=list(o.undef_macros),
        library_dirs=list(o.library_dirs),
        libraries=list(o.libraries),
        runtime_library_dirs=list(o.runtime_library_dirs),
        extra_objects=list(o.extra_objects),
        extra_compile_args=list(o.extra_compile_args),
        extra_link_args=list(o.extra_link_args),
        depends=list(o.depends),
        language=o.language,
        py_limited_api=not python_h,
    )


def _verify_name(ffi: Any, source: str, kwargs: dict[str, Any], ext: str) -> str:
    from . import __version__

    h = hashlib.sha256()
    h.update(repr((__version__, sys.platform, ext, source, sorted(kwargs.items()))).encode())
    h.update(ffi._api_ops_fingerprint().encode("utf-8", "surrogateescape"))
    return "_rcffi_v_" + h.hexdigest()[:20]


def load_extension(name: str, path: str) -> Any:
    """Imports the extension module at ``path`` as ``name``."""
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def verify(ffi: Any, source: str, tmpdir: str, kwargs: dict[str, Any]) -> Any:
    """``ffi.verify(source, **kwargs)``: compile (or reuse an exact earlier
    build) into ``tmpdir``, load the module, make ``ffi`` itself read its
    types from the module's tables (the sizes of ``...`` structs, ``[...]``
    lengths, ``#define X ...`` values, ``typedef int...`` types) and
    return the ``lib``."""
    kwargs = dict(kwargs)
    flags = kwargs.pop("flags", None) or 0
    modulename = kwargs.pop("modulename", None)
    relative_to = kwargs.pop("relative_to", None)
    source_extension = kwargs.pop("source_extension", ".c")
    verbose = kwargs.pop("compiler_verbose", False) or kwargs.pop("verbose", False)
    for ignored in ("tag", "ext_package", "force_generic_engine"):
        kwargs.pop(ignored, None)
    base = os.path.dirname(relative_to) if relative_to else ""
    if base:
        for key in ("sources", "include_dirs", "library_dirs", "extra_objects", "depends"):
            if key in kwargs:
                value = kwargs[key]
                value = [value] if isinstance(value, str) else value
                kwargs[key] = [os.path.join(base, s) for s in value]
    options = Options.from_kwargs(kwargs, "verify()")
    name = modulename or _verify_name(ffi, source, kwargs, source_extension)
    check_module_name(name)
    python_h = options.includes_python_h(source)
    request = {
        "module_name": name,
        "c_path": os.path.join(tmpdir, name + source_extension),
        "output": os.path.join(tmpdir, name + extension_suffix(python_h)),
        "stamp_path": os.path.join(tmpdir, name + ".rcffi.json"),
        "options": options,
        "cplusplus": is_cplusplus(source_extension),
        "verbose": bool(verbose),
        "unique_output": True,
        "python_h": python_h,
    }
    key = _generation_key(ffi, name, source, source_extension, options)
    extra = (read_stamp(request["stamp_path"]) or {}).get("extra") or {}
    built = None
    if extra.get("key") == key:
        quick = BuildRequest(generated=None, c_hash=extra.get("c_hash"), **request)
        built = fresh_output(quick)
    if built is None:
        gen = generate_c(ffi, name, source, source_extension, options, request["c_path"])
        req = BuildRequest(generated=gen, **request)
        req.extra = {"key": key, "c_hash": req.source_hash()}
        built, _rebuilt = build(req)
    old_flags = sys.getdlopenflags()
    if flags:
        sys.setdlopenflags(flags)
    try:
        module = load_extension(name, built)
    finally:
        sys.setdlopenflags(old_flags)
    mismatches = _rcffi._constant_mismatches(ffi, module.ffi)
    if mismatches:
        raise VerificationError("; ".join(mismatches))
    _rcffi._complete_from_module(ffi, module.ffi)
    ffi._rcffi_verified_lib = module.lib
    ffi.verifier = _Verified(name, built, request["c_path"])
    return module.lib


class _Verified:
    """``ffi.verifier`` after ``verify()`` (what cffi keeps there)."""

    def __init__(self, modulename: str, modulefilename: str, sourcefilename: str) -> None:
        self.modulename = modulename
        self.modulefilename = modulefilename
        self.sourcefilename = sourcefilename

    def get_module_name(self) -> str:
        return self.modulename
