"""The ``FFI`` class: cffi's public API.

The methods on the hot path (``new``, ``cast``, ``typeof``, ``sizeof``,
``string``...) are native, inherited from ``_cffi_backend.FFI``; this module
adds the rest on top of the same backend.
"""

from __future__ import annotations

import os
import sys
from _thread import allocate_lock

from . import _rcffi
from ._rcffi import CDefError, FFIError, VerificationMissing

# The runtime imports no more than it needs (typing, collections, threading
# are a few ms): the annotations are only for type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_backend = _rcffi._cffi_backend

__all__ = ["FFI"]


def address_of_constant(lib: Any, name: str, ctype: Any) -> Any:
    """``ffi.addressof(lib, name)`` of ``const T name;``: as in cffi, such a
    global is a constant of ``lib`` (read, never written) without an
    address, except a constant function pointer, which is its own address
    (``f == &f``)."""
    if ctype.kind == "function":
        return getattr(lib, name)
    raise AttributeError(
        f"cannot take the address of the constant '{name}' (it is declared 'const' in the "
        "cdef; declare it without 'const' to take its address)"
    )


_NativeFFI = _backend.FFI
#: The tables of cffi's out-of-line ABI modules.
_CFFI_TABLES = frozenset({"_globals", "_struct_unions", "_enums", "_typenames", "_includes"})


class _RuntimeFFI(_NativeFFI):
    """cffi's ``_cffi_backend.FFI``: everything of ``ffi`` but the
    declarations and the build (no ``cdef``, ``set_source``...).  rcffi
    installs it as ``_cffi_backend.FFI``; ``rcffi.FFI`` derives from it."""

    __slots__ = ("_libraries", "_init_once_cache", "_lock", "__weakref__")

    #: The exception raised for bad type strings and other ffi errors.
    error = FFIError
    #: The base class of every cdata object.
    CData = _backend._CDataBase
    #: The class of ctype objects.
    CType = _backend.CType
    #: ``void *`` NULL.
    NULL = _backend.cast(_backend.new_pointer_type(_backend.new_void_type()), 0)
    #: ``ffi.buffer(cdata, size=-1)``: the buffer type itself, as in cffi.
    buffer = _backend.buffer

    #: The ``flags`` of ``dlopen()``.
    RTLD_LAZY = _backend.RTLD_LAZY
    RTLD_NOW = _backend.RTLD_NOW
    RTLD_GLOBAL = _backend.RTLD_GLOBAL
    RTLD_LOCAL = _backend.RTLD_LOCAL
    RTLD_NODELETE = _backend.RTLD_NODELETE
    RTLD_NOLOAD = _backend.RTLD_NOLOAD
    RTLD_DEEPBIND = _backend.RTLD_DEEPBIND

    def __new__(cls, *args: Any, **kwds: Any) -> Any:
        # State set here, not in __init__: subclasses may define an
        # __init__ that does not call ours (cffi allows it).
        self = super().__new__(cls)
        self._libraries: list[Any] = []
        self._init_once_cache = {}
        self._lock = allocate_lock()
        return self

    def __init__(
        self,
        module_name: str | None = None,
        _version: int = -1,
        _types: bytes = b"",
        **tables: Any,
    ) -> None:
        """A new FFI without declarations (type strings of C's own types),
        or, with the arguments of the modules that ``emit_python_code()``
        writes (``ffi = _cffi_backend.FFI('name', _version=..., _types=...)``),
        the FFI of that out-of-line module, reading its type tables."""
        if module_name is not None and not isinstance(module_name, str):
            raise TypeError(f"FFI() argument 1 must be str, not {type(module_name).__name__}")
        unknown = set(tables) - _CFFI_TABLES
        if unknown:
            raise TypeError(f"FFI() got an unexpected keyword argument {sorted(unknown)[0]!r}")
        if self._rcffi_has_tables:
            raise ValueError("cannot call FFI.__init__() more than once")
        if _version == -1 and not _types:
            return
        if not isinstance(_types, bytes):
            raise TypeError(f"FFI() argument _types must be bytes, not {type(_types).__name__}")
        _backend._rcffi_init_tables(
            self,
            "?" if module_name is None else module_name,
            _version,
            _types,
            tables.get("_globals"),
            tables.get("_struct_unions"),
            tables.get("_enums"),
            tables.get("_typenames"),
            tables.get("_includes"),
        )

    # -- memory -----------------------------------------------------------

    def addressof(self, cdata: Any, *fields_or_indexes: Any) -> Any:
        """The address of a struct/array cdata, of a field or item in it,
        or of a global of a ``lib``."""
        if isinstance(cdata, _backend.Lib):
            if len(fields_or_indexes) != 1:
                raise TypeError("addressof(lib, name) takes exactly one name")
            return _backend._rcffi_lib_addressof(cdata, fields_or_indexes[0])
        if isinstance(cdata, _Lib):
            if len(fields_or_indexes) != 1:
                raise TypeError("addressof(lib, name) takes exactly one name")
            return cdata._addressof(fields_or_indexes[0])
        if not isinstance(cdata, self.CData):
            raise TypeError(f"expected a cdata, got {type(cdata).__name__!r}")
        return self._addressof_cdata(cdata, *fields_or_indexes)

    def new_allocator(
        self,
        alloc: Callable[[int], Any] | None = None,
        free: Callable[[Any], Any] | None = None,
        should_clear_after_alloc: bool = True,
    ) -> Callable[..., Any]:
        """An allocator like ``ffi.new`` using custom ``alloc``/``free``."""
        if alloc is None and free is not None:
            raise TypeError("cannot pass 'free' without 'alloc'")

        def allocator(cdecl: Any, init: Any = None) -> Any:
            if alloc is None:
                if should_clear_after_alloc:
                    return self.new(cdecl, init)
                # Memory that is not cleared: C's malloc, freed by C's free.
                libc = _libc()
                raw = libc.malloc(self._alloc_size(cdecl, init) or 1)
                if raw == self.NULL:
                    raise MemoryError("malloc() failed")
                return self._new_custom(cdecl, init, raw, libc.free, False)
            raw = alloc(self._alloc_size(cdecl, init))
            return self._new_custom(cdecl, init, raw, free, should_clear_after_alloc)

        return allocator

    def init_once(self, func: Callable[[], Any], tag: Any) -> Any:
        """Run ``func()`` once per ``tag`` and return its result."""
        try:
            done, result = self._init_once_cache[tag]
            if done:
                return result
        except KeyError:
            with self._lock:
                done, result = self._init_once_cache.setdefault(tag, (False, allocate_lock()))
            if done:
                return result
        lock = result
        with lock:
            done, result = self._init_once_cache[tag]
            if done:
                return result
            result = func()
            self._init_once_cache[tag] = (True, result)
        return result

    # -- ABI mode ---------------------------------------------------------

    def dlopen(self, name: Any, flags: int = 0) -> Any:
        """Load a shared library (ABI mode) and return its ``lib``."""
        if not (isinstance(name, str) or name is None or isinstance(name, self.CData)):
            raise TypeError("dlopen(name): name must be a file name, None, or a 'void *' handle")
        backendlib = _load_backend_lib(name, flags)
        if self._rcffi_has_tables:
            return _backend._rcffi_dlopen_lib(self, backendlib)
        lib = _Lib(self, backendlib, name)
        self._libraries.append(lib)
        return lib

    def dlclose(self, lib: Any) -> None:
        """Close a library opened with ``dlopen``."""
        if isinstance(lib, _backend.Lib):
            _backend._rcffi_dlclose_lib(lib)
            return
        if not isinstance(lib, _Lib):
            raise TypeError("dlclose() expects a library returned by dlopen()")
        object.__getattribute__(lib, "_backendlib").close_lib()

    def callback(
        self,
        cdecl: Any,
        python_callable: Callable[..., Any] | None = None,
        error: Any = None,
        onerror: Callable[..., Any] | None = None,
    ) -> Any:
        """A C function pointer calling ``python_callable`` (or a decorator)."""

        def make(fn: Callable[..., Any]) -> Any:
            if not callable(fn):
                raise TypeError("the 'python_callable' argument is not callable")
            return _backend.callback(self._callback_type(cdecl), fn, error, onerror)

        if python_callable is None:
            return make
        return make(python_callable)

    def def_extern(self, *args: Any, **kwds: Any) -> Callable[[Callable[..., Any]], Any]:
        """Decorator attaching a Python function to an ``extern "Python"``
        function of this API-mode module: ``@ffi.def_extern()`` or
        ``@ffi.def_extern(name=..., error=..., onerror=...)``."""
        if not self._rcffi_has_tables:
            raise ValueError("ffi.def_extern() is only available on API-mode FFI objects")
        return _table_def_extern(self, *args, **kwds)


# ``_cffi_backend.FFI`` is this class, named as in cffi.
_RuntimeFFI.__name__ = _RuntimeFFI.__qualname__ = "FFI"
_RuntimeFFI.__module__ = "_cffi_backend"
_backend.FFI = _RuntimeFFI


class FFI(_RuntimeFFI):
    """The entry point: declare C with ``cdef``, then ``dlopen`` a library
    (ABI mode) or ``set_source`` + ``compile`` (API mode)."""

    def __init__(self, backend: Any = None) -> None:
        # ``backend`` exists for cffi compatibility: rcffi has one backend.
        self._backend = _backend
        self._cdefsources: list[str] = []
        #: ("cdef", source, options) and ("include", ffi) in call order:
        #: what API mode replays once the compiler has completed the `...`.
        self._api_ops: list[tuple[Any, ...]] = []
        self._included_ffis: list[FFI] = []
        self._windows_unicode = None
        #: None, or the Python code of ``embedding_init_code()`` ("" once
        #: ``embedding_api()`` was called).
        self._embedding: str | None = None

    # -- declarations ---------------------------------------------------

    def cdef(
        self,
        csource: str,
        override: bool = False,
        packed: bool = False,
        pack: int | None = None,
        dllexport: bool = False,
    ) -> None:
        """Parse the C declarations in ``csource`` (cffi's ``ffi.cdef``)."""
        if not isinstance(csource, str):
            raise TypeError("cdef() argument must be a string")
        if packed:
            if packed is not True:
                raise ValueError(
                    "'packed' should be False or True; use 'pack' to give another value"
                )
            if pack is not None:
                raise ValueError("cannot give both 'pack' and 'packed'")
        with self._lock:
            self._cdef(csource, override=bool(override), packed=bool(packed), pack=pack)
            self._cdefsources.append(csource)
            opts = {"override": bool(override), "packed": bool(packed), "pack": pack}
            self._api_ops.append(("cdef", csource, opts))

    def embedding_api(self, csource: str, packed: bool = False, pack: int | None = None) -> None:
        """Declare the functions a C program calls in the library
        (embedding): functions defined in Python with ``@ffi.def_extern()``
        and exported by the library, as cffi's ``extern "Python+C"``."""
        if not isinstance(csource, str):
            raise TypeError("embedding_api() argument must be a string")
        self.cdef('extern "Python+C" {\n' + csource + "\n}", packed=packed, pack=pack)
        if self._embedding is None:
            self._embedding = ""

    def _apply_embedding_fix(self, kwds: dict[str, Any]) -> None:
        """Adds to ``set_source()`` keywords what a library embedding Python
        links with: ``-lpython3.X`` (with the ABI flags), and the folder of a
        shared libpython (setuptools' ``build_ext`` adds it for cffi)."""
        import sysconfig

        def ensure(key: str, value: str) -> None:
            items = kwds.setdefault(key, [])
            if value not in items:
                items.append(value)

        name = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        name += sysconfig.get_config_var("DEBUG_EXT") or ""
        name += getattr(sys, "abiflags", "")
        ensure("libraries", name)
        libdir = sysconfig.get_config_var("LIBDIR")
        if sysconfig.get_config_var("Py_ENABLE_SHARED") and libdir:
            ensure("library_dirs", libdir)

    def embedding_init_code(self, pysource: str) -> None:
        """The Python code the library runs when a C program first calls
        one of the ``embedding_api()`` functions (once per library)."""
        import re
        import textwrap

        if self._embedding:
            raise ValueError("embedding_init_code() can only be called once")
        # Starts at "line 1" (leading empty lines dropped), dedented.
        match = re.match(r"\s*\n", pysource)
        if match:
            pysource = pysource[match.end() :]
        pysource = textwrap.dedent(pysource)
        if pysource and not pysource.endswith("\n"):
            pysource += "\n"
        compile(pysource, "cffi_init", "exec")  # a SyntaxError now, not in the C program
        self._embedding = pysource

    def include(self, ffi_to_include: FFI) -> None:
        """Make the declarations of another FFI available in this one."""
        # The ffi of a compiled module (its tables) may be included too.
        compiled = isinstance(ffi_to_include, _RuntimeFFI) and ffi_to_include._rcffi_has_tables
        if not isinstance(ffi_to_include, FFI) and not compiled:
            raise TypeError(
                "ffi.include() expects an argument that is also of type rcffi.FFI, "
                f"not {type(ffi_to_include).__name__!r}"
            )
        if ffi_to_include is self:
            raise ValueError("self.include(self)")
        with self._lock:
            self._include(ffi_to_include)
            self._cdefsources.append("[")
            self._cdefsources.extend(getattr(ffi_to_include, "_cdefsources", ()))
            self._cdefsources.append("]")
            self._included_ffis.append(ffi_to_include)
            if compiled:
                self._api_ops.append(("include", _rcffi._module_name(ffi_to_include)))
            else:
                self._api_ops.append(("include", ffi_to_include))

    def _api_ops_fingerprint(self) -> str:
        """A text that changes whenever the declarations of this FFI (and
        of the FFIs it includes) do."""
        parts = []
        for op in self._api_ops:
            if op[0] == "include" and isinstance(op[1], str):
                parts.append(f"include({op[1]!r})")  # a compiled module, by name
            elif op[0] == "include":
                parts.append("include(" + op[1]._api_ops_fingerprint() + ")")
            else:
                parts.append(repr(op))
        return "\n".join(parts)

    def set_unicode(self, enabled_flag: bool) -> None:
        """Declare the Windows ``TCHAR`` family of types (as cffi does)."""
        if self._windows_unicode is not None:
            raise ValueError("set_unicode() can only be called once")
        self._windows_unicode = bool(enabled_flag)
        char = "wchar_t" if enabled_flag else "char"
        self.cdef(
            f"typedef {char} TBYTE; typedef {char} TCHAR; "
            f"typedef const {char} *LPCTSTR; typedef const {char} *PCTSTR; "
            f"typedef {char} *LPTSTR; typedef {char} *PTSTR; "
            f"typedef TBYTE *PTBYTE; typedef TCHAR *PTCHAR;"
        )

    def emit_stub(self, path: str | os.PathLike[str]) -> None:
        """Write a ``.pyi`` type stub for the ``lib`` this FFI declares, so
        editors complete ``lib.mandel(``."""
        from .stubgen import emit_stub

        emit_stub(self, path)

    # -- API mode -------------------------------------------------------------

    def set_source(
        self, module_name: str, source: str | None, source_extension: str = ".c", **kwds: Any
    ) -> None:
        """Declare the module that ``compile()`` builds: ``source`` is C code
        (``None`` for an ABI-mode module made of Python only), ``kwds`` are
        the setuptools ``Extension`` keywords (``sources``,
        ``include_dirs``, ``libraries``...)."""
        from . import _builder
        from .build import Options

        if hasattr(self, "_assigned_source"):
            raise ValueError("set_source() cannot be called several times per ffi object")
        _builder.check_module_name(module_name)
        if source is not None and not isinstance(source, str):
            raise TypeError("'source' must be a string of C code, or None")
        Options.from_kwargs(kwds)
        self._assigned_source = (str(module_name), source, source_extension, kwds)

    def set_source_pkgconfig(
        self,
        module_name: str,
        pkgconfig_libs: list[str],
        source: str | None,
        source_extension: str = ".c",
        **kwds: Any,
    ) -> None:
        """``set_source()`` with the compile and link flags that
        ``pkg-config`` gives for ``pkgconfig_libs``."""
        from . import pkgconfig

        if not isinstance(pkgconfig_libs, list):
            raise TypeError("the pkgconfig_libs argument must be a list of package names")
        pkgconfig.merge_flags(kwds, pkgconfig.flags_from_pkgconfig(pkgconfig_libs))
        self.set_source(module_name, source, source_extension, **kwds)

    def compile(
        self, tmpdir: str = ".", verbose: Any = 0, target: str | None = None, debug: Any = None
    ) -> str:
        """Generate the C of ``set_source()``, build it (unless an exact
        earlier build exists) and write the importable module; returns the
        path of the library built (of the ``.py`` module for ABI mode)."""
        from . import _builder

        self._check_no_embedding("compile")
        return _builder.compile_module(self, tmpdir, verbose, target, debug)

    def _check_no_embedding(self, what: str) -> None:
        if self._embedding is not None:
            raise NotImplementedError(
                f"ffi.{what}(): this FFI uses embedding_api()/embedding_init_code() "
                "(a library that starts Python when a C program calls it); rcffi does "
                "not generate the C of such libraries yet"
            )

    def getwinerror(self, code: int = -1) -> Any:
        """Windows only (the text of ``GetLastError()``); as cffi elsewhere,
        calling it raises ``AttributeError``."""
        raise AttributeError("getwinerror() exists only on Windows")

    def emit_c_code(self, filename: Any) -> None:
        """Write the C that ``compile()`` would build (to a file name or a
        file object)."""
        from . import _builder

        self._check_no_embedding("emit_c_code")
        _builder.emit_c_code(self, filename)

    def emit_python_code(self, filename: Any) -> None:
        """Write the Python module of ``set_source(name, None)`` (to a file
        name or a file object)."""
        from . import _builder

        _builder.emit_python_code(self, filename)

    def distutils_extension(self, tmpdir: str = "build", verbose: bool = True) -> Any:
        """Write the C file and return an ``Extension`` for rcffi's
        ``build_ext`` (see ``rcffi.setuptools_ext``)."""
        from . import _builder

        return _builder.distutils_extension(self, tmpdir, verbose)

    def verify(self, source: str = "", tmpdir: str | None = None, **kwargs: Any) -> Any:
        """Compile ``source`` with the declarations of this FFI (cached in
        ``__pycache__`` next to the caller, rebuilt only when something that
        went into the build changed), complete the ``...`` declarations of
        this FFI from the compiler, and return the ``lib``."""
        import os
        import sys

        from . import _builder

        if tmpdir is None:
            tmpdir = os.environ.get("CFFI_TMPDIR")
        if tmpdir is None:
            caller = sys._getframe(1).f_code.co_filename
            tmpdir = os.path.join(os.path.dirname(os.path.abspath(caller)), "__pycache__")
        with self._lock:
            return _builder.verify(self, source, tmpdir, kwargs)


def _table_def_extern(
    ffi: Any,
    name: str | None = None,
    error: Any = None,
    onerror: Callable[..., Any] | None = None,
) -> Callable[[Callable[..., Any]], Any]:
    """``@ffi.def_extern()`` of the ``ffi`` of a compiled module (a bad
    name is refused when the decorator is applied, as in cffi)."""

    def attach(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"def_extern(name=...) must be a string, not {type(name).__name__}")
        return _backend._rcffi_def_extern(ffi, fn, name, error, onerror)

    return attach


_LIBC: list[Any] = []


def _libc() -> Any:
    """C's ``malloc`` and ``free`` (through a private FFI, made once)."""
    if not _LIBC:
        ffi = FFI()
        ffi.cdef("void *malloc(size_t); void free(void *);")
        _LIBC.append(ffi.dlopen(None))
    return _LIBC[0]


def _array_length(init: Any) -> int:
    if isinstance(init, int):
        return init
    if isinstance(init, (bytes, str)):
        return len(init) + 1
    return len(init)


def _load_backend_lib(name: Any, flags: int) -> Any:
    """``load_library`` with cffi's search rules: a name without a slash
    that is not found as given is looked up with ``ctypes.util``."""
    load = _backend.load_library
    if name is None or not isinstance(name, str) or "/" in name:
        return load(name, flags)
    try:
        return load(name, flags)
    except OSError as first:
        import ctypes.util

        path = ctypes.util.find_library(name)
        if path is None:
            # ``first`` already says "cannot load library 'NAME': ...".
            raise OSError(
                f"{first}.  Additionally, "
                f"ctypes.util.find_library() did not manage to locate a library called {name!r}"
            ) from None
        return load(path, flags)


def _library_title(name: Any) -> str:
    """How messages name the library ``ffi.dlopen(name)`` opened."""
    if name is None:
        return "the C library of the process (ffi.dlopen(None))"
    return f"library {name!r}"


class _Lib:
    """A library opened by ``ffi.dlopen``: functions, global variables and
    constants of the cdefs, resolved when first used."""

    def __init__(self, ffi: FFI, backendlib: Any, name: Any) -> None:
        object.__setattr__(self, "_ffi", ffi)
        object.__setattr__(self, "_backendlib", backendlib)
        object.__setattr__(self, "_name", name)

    def _decls(self) -> tuple[dict, dict, dict, dict]:
        return object.__getattribute__(self, "_ffi")._declarations()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        funcs, variables, consts, _ = self._decls()
        backendlib = object.__getattribute__(self, "_backendlib")
        if name in funcs:
            # A builtin (vectorcall) standing for the function-pointer cdata,
            # as cffi's API mode gives.
            fn = _backend._rcffi_function(
                backendlib.load_function(funcs[name], name),
                name,
                _library_title(object.__getattribute__(self, "_name")),
                0,
                backendlib,
            )
            object.__setattr__(self, name, fn)
            return fn
        if name in variables:
            ctype, _const = variables[name]
            return backendlib.read_variable(ctype, name)
        if name in consts:
            value = consts[name]
            if value is None:
                raise VerificationMissing(
                    f"the value of {name!r} is only known in API mode "
                    "(ffi.set_source() or ffi.verify())"
                )
            if isinstance(value, float):
                # As cffi: a 'static const double' has no address to read in
                # ABI mode.
                raise NotImplementedError(
                    f"{name!r}: non-integer constants are only available in API mode"
                )
            object.__setattr__(self, name, value)
            return value
        raise AttributeError(
            f"lib has no attribute {name!r} (not declared in the cdef of "
            f"{_library_title(object.__getattribute__(self, '_name'))})"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        _, variables, _, _ = self._decls()
        if name in variables:
            ctype, const = variables[name]
            if const:
                raise AttributeError(f"cannot write to the constant global variable {name!r}")
            object.__getattribute__(self, "_backendlib").write_variable(ctype, name, value)
            return
        raise AttributeError(f"cannot set attribute {name!r} of lib: not a global variable")

    def __dir__(self) -> list[str]:
        funcs, variables, consts, _ = self._decls()
        return sorted(set(funcs) | set(variables) | set(consts))

    def _addressof(self, name: str) -> Any:
        funcs, variables, _, _ = self._decls()
        ffi = object.__getattribute__(self, "_ffi")
        backendlib = object.__getattribute__(self, "_backendlib")
        if name in variables:
            ctype, const = variables[name]
            if const:
                return address_of_constant(self, name, ctype)
            ptr = backendlib.load_function(ffi.typeof(ffi.getctype(ctype, "*")), name)
            return ptr
        if name in funcs:
            return getattr(self, name).__self__.cdata
        raise AttributeError(f"lib has no global named {name!r}")

    def __repr__(self) -> str:
        return f"<rcffi lib {object.__getattribute__(self, '_name')!r}>"


if not isinstance(CDefError, type):  # pragma: no cover - sanity check
    raise ImportError("rcffi native module is broken")
