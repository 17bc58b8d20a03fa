"""API mode, step 3: loading a compiled module.

A module built by ``ffi.compile()`` is a small generated ``NAME.py`` next to
its library ``NAME.rcffi.so`` (a name CPython never imports as an
extension).  The ``.py`` holds the cdefs and the *manifest* of the
library's table; importing it calls :func:`load_module`, which

1. opens the library and reads the table of values the compiler measured
   (``_rcffi_module``, filled by a constructor when the library loads);
2. turns them into *completions*: the real types of ``typedef int... t``,
   the layouts of partial structs, ``[...]`` lengths, the values of
   ``#define X ...`` and of enumerators;
3. replays the cdefs on a fresh ``FFI`` seeded with the completions, so
   every ``...`` declaration resolves as the compiler says;
4. builds ``lib``: functions (the declared-signature wrappers of the
   library), global variables, constants, ``extern "Python"`` functions.

``ffi.verify()`` uses the same steps on the builder ``FFI`` itself.
"""

from __future__ import annotations

import importlib
import os
import re
import struct
import sys
import types
from typing import Any

from . import _rcffi
from ._rcffi import FFIError
from .recompiler import TABLE_MAGIC, TABLE_VERSION

_backend = _rcffi._cffi_backend

_INT_NAMES = {
    (1, True): "int8_t",
    (2, True): "int16_t",
    (4, True): "int32_t",
    (8, True): "int64_t",
    (1, False): "uint8_t",
    (2, False): "uint16_t",
    (4, False): "uint32_t",
    (8, False): "uint64_t",
}
_ENUM_BASES = {
    (1, True): "signed char",
    (2, True): "short",
    (4, True): "int",
    (8, True): "long",
    (1, False): "unsigned char",
    (2, False): "unsigned short",
    (4, False): "unsigned int",
    (8, False): "unsigned long",
}
_FLOAT_NAMES = {4: "float", 8: "double"}


class Table:
    """The values of a library's ``_rcffi_module`` table."""

    def __init__(self, handle: Any, build_id: str, values: tuple[int, ...]) -> None:
        self.handle = handle
        self.build_id = build_id
        self.values = values


def _rt() -> Any:
    """A private FFI for reading raw memory (created once)."""
    global _RT
    try:
        return _RT
    except NameError:
        from .api import FFI

        _RT = FFI()
        return _RT


def _symbol_address(handle: Any, path: str, name: str) -> int:
    if hasattr(handle, "load_function"):
        rt = _rt()
        p = handle.load_function(rt.typeof("char *"), name)
        return int(rt.cast("uintptr_t", p))
    import ctypes

    return ctypes.addressof(ctypes.c_char.in_dll(handle, name))


def open_library(path: str, flags: int = 0) -> Any:
    """Opens a compiled library: with the backend's ``load_library`` when the
    call layer provides it, else with ctypes."""
    # As CPython loads extension modules: with sys.getdlopenflags()
    # (RTLD_NOW by default), so sys.setdlopenflags(RTLD_GLOBAL | ...) lets
    # later modules see a module's symbols.
    flags = flags or sys.getdlopenflags()
    load = getattr(_backend, "load_library", None)
    if load is not None:
        return load(path, flags)
    import ctypes

    return ctypes.CDLL(path, mode=flags)


def read_table(path: str, flags: int = 0) -> Table:
    """Opens the library at ``path`` and reads its table."""
    try:
        handle = open_library(path, flags)
    except OSError as e:
        raise ImportError(f"cannot load the library of an rcffi module: {e}") from None
    try:
        addr = _symbol_address(handle, path, "_rcffi_module")
    except (AttributeError, ValueError, OSError, FFIError) as e:
        raise ImportError(f"{path} is not a library built by rcffi: {e}") from None
    rt = _rt()
    header = rt.cast("unsigned long long *", addr)
    magic, version = int(header[0]), int(header[1])
    if magic != TABLE_MAGIC or version != TABLE_VERSION:
        raise ImportError(
            f"{path} was built by another version of rcffi (table {magic:#x} v{version}); "
            "rebuild it"
        )
    build_id = rt.string(rt.cast("char *", int(header[2]))).decode("ascii")
    count = int(header[3])
    values_ptr = rt.cast("unsigned long long *", int(header[4]))
    values = tuple(rt.unpack(values_ptr, count))
    return Table(handle, build_id, values)


def _signed(u: int, negative: int) -> int:
    return u - (1 << 64) if negative and u else u


class Facts:
    """What a table says, decoded with the manifest."""

    def __init__(self) -> None:
        self.completions: dict[str, dict[str, Any]] = {
            "typedefs": {},
            "structs": {},
            "lengths": {},
            "constants": {},
            "enum_bases": {},
        }
        #: name → (wrapper or real address, stub address or 0, variadic)
        self.functions: dict[str, tuple[int, int, bool]] = {}
        #: name → (C function address, slot address)
        self.externs: dict[str, tuple[int, int]] = {}
        #: name → (address of ``void *get(void)``, which gives the
        #: variable's address, size)
        self.variables: dict[str, tuple[int, int]] = {}
        #: ``const`` pointer globals, read by value: name → value.
        self.value_variables: dict[str, int] = {}
        #: Constants whose value in C differs from the cdef's, in cffi's
        #: ``verify()`` wording.
        self.mismatches: list[str] = []
        self.pointer_constants: dict[str, int] = {}
        #: name → message: accessing it raises ffi.error.
        self.errors: dict[str, str] = {}


def _length_key(key: str, depth: int) -> str:
    """The key of a ``[...]`` length in the completions: the front end's
    ``length_key_at`` (depth 0 is the outermost dimension)."""
    return key if depth == 0 else f"{key}#{depth}"


def decode(manifest: list[tuple[Any, ...]], values: tuple[int, ...]) -> Facts:
    """The facts of a table, according to the manifest that describes it."""
    f = Facts()
    c = f.completions
    v = values
    for entry in manifest:
        kind, name = entry[0], entry[1]
        if kind == "function":
            i, variadic = entry[2], entry[3]
            f.functions[name] = (v[i], 0 if variadic else v[i + 1], variadic)
        elif kind == "extern_python":
            i = entry[2]
            f.externs[name] = (v[i], v[i + 1])
        elif kind == "variable":
            i, lengths = entry[2], entry[3]
            f.variables[name] = (v[i], v[i + 1])
            if entry[4]:
                f.value_variables[name] = v[i]
            for depth, k in lengths:
                c["lengths"][_length_key(f"var {name}", depth)] = v[k]
        elif kind == "int":
            i, declared = entry[2], entry[3]
            value = _signed(v[i], v[i + 1])
            if declared is None:
                c["constants"][name] = value
            elif declared != value:
                f.mismatches.append(f"{name} has the real value {value}, not {declared}")
                shown = f"{value} ({value:#x})" if value > 0 else str(value)
                f.errors[name] = (
                    f"the C compiler says '{name}' is equal to {shown}, but the cdef disagrees"
                )
        elif kind == "float":
            i, declared = entry[2], entry[3]
            value = struct.unpack("=d", struct.pack("=Q", v[i]))[0]
            if declared is None:
                c["constants"][name] = value
            elif declared != value:
                f.mismatches.append(f"{name} has the real value {value!r}, not {declared!r}")
                f.errors[name] = (
                    f"the C compiler says '{name}' is equal to {value!r}, but the cdef disagrees"
                )
        elif kind == "pointer":
            f.pointer_constants[name] = v[entry[2]]
        elif kind == "enum":
            items, base = entry[2], entry[3]
            decoded = [(n, _signed(v[i], v[i + 1])) for n, i in items]
            for n, value in decoded:
                c["constants"][n] = value
            if base is not None:
                c["enum_bases"][name] = _ENUM_BASES.get((v[base], bool(v[base + 1])), "int")
            else:
                neg = any(x < 0 for _, x in decoded)
                big = any(not (-(2**31) <= x < 2**32) for _, x in decoded)
                c["enum_bases"][name] = {
                    (True, False): "int",
                    (True, True): "long",
                    (False, False): "unsigned int",
                    (False, True): "unsigned long",
                }[(neg, big)]
        elif kind == "struct":
            first, names, lengths = entry[2], entry[3], entry[4]
            fields = {n: (v[first + 2 + 2 * k], v[first + 3 + 2 * k]) for k, n in enumerate(names)}
            c["structs"][name] = (v[first], v[first + 1], fields)
            for fname, depth, k in lengths:
                c["lengths"][_length_key(f"field {name}.{fname}", depth)] = v[k]
        elif kind == "dots_typedef":
            i, dots = entry[2], entry[3]
            size = v[i]
            if dots == "int":
                prim = _INT_NAMES.get((size, bool(v[i + 1])))
                if prim is None:
                    f.errors[name] = f"'{name}' is an integer type of unexpected size {size}"
                else:
                    c["typedefs"][name] = prim
            else:
                prim = _FLOAT_NAMES.get(size)
                if prim is None:
                    # cffi's words: the C type of this typedef is 'long double'.
                    f.errors[name] = (
                        "primitive floating-point type is 'long double', not supported for "
                        "now with the syntax 'typedef double... xxx;'"
                    )
                else:
                    c["typedefs"][name] = prim
        elif kind == "dots_array_typedef":
            for depth, k in entry[2]:
                c["lengths"][_length_key(f"typedef {name}", depth)] = v[k]
        elif kind == "error":
            f.errors[name] = entry[2]
    return f


def replay(ffi: Any, ops: list[tuple[Any, ...]], completions: dict[str, Any] | None) -> None:
    """Resolves the cdefs again on ``ffi``, with the compiler's facts."""
    ffi._reset_declarations(completions)
    for op in ops:
        if op[0] == "cdef":
            opts = op[2]
            ffi._cdef(
                op[1],
                override=opts.get("override", False),
                packed=opts.get("packed", False),
                pack=opts.get("pack"),
            )
        elif op[0] == "include":
            other = op[1]
            if isinstance(other, str):
                other = importlib.import_module(other).ffi
            ffi._include(other)


class Lib(types.ModuleType):
    """The ``lib`` of an API-mode module: its functions, global variables
    and constants."""

    def __init__(self, module_name: str, ffi: Any, facts: Facts, table: Table) -> None:
        super().__init__(module_name + ".lib")
        d = self.__dict__
        d["_rcffi_ffi"] = ffi
        d["_rcffi_facts"] = facts
        d["_rcffi_table"] = table
        d["_rcffi_module_name"] = module_name
        funcs, variables, consts, externs = ffi._declarations()
        d["_rcffi_decls"] = (funcs, variables, consts, externs)
        d["_rcffi_const_types"] = ffi._const_types()
        #: Global variable name → ``void *(*)(void)`` giving its address.
        d["_rcffi_getters"] = {}
        #: What ``from module.lib import *`` gives: as in cffi, functions and
        #: constants, not global variables (a copy would not follow them).
        d["__all__"] = sorted(set(funcs) | set(consts) | set(externs))
        #: Direct-call stubs ``void f(void **args, void *result)`` by name,
        #: for the call layer.
        d["_rcffi_stubs"] = {n: s for n, (_a, s, _v) in facts.functions.items() if s}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = self._rcffi_lookup(name)
        return value

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        """``types.ModuleType``, as in cffi (``help(lib)`` shows a module)."""
        return types.ModuleType

    def _rcffi_lookup(self, name: str) -> Any:
        d = self.__dict__
        ffi = d["_rcffi_ffi"]
        facts: Facts = d["_rcffi_facts"]
        funcs, variables, consts, externs = d["_rcffi_decls"]
        if name in facts.errors:
            raise FFIError(facts.errors[name])
        if name in funcs:
            _raise_typedef_error(facts, funcs[name], name)
            addr, _stub, variadic = facts.functions.get(name, (0, 0, False))
            if not addr:
                raise FFIError(
                    f"cannot call '{name}': it is a variadic function-like macro, which has "
                    "no address (declare a wrapper function in set_source())"
                )
            fn = _function(
                ffi,
                funcs[name],
                addr,
                _stub,
                name,
                facts.completions["structs"],
                d["_rcffi_module_name"],
            )
            d[name] = fn
            return fn
        if name in externs:
            addr, _slot = facts.externs[name]
            fn = ffi.cast(externs[name], addr)
            d[name] = fn
            return fn
        if name in variables:
            ctype, const = variables[name]
            if name in facts.value_variables:
                value = ffi.cast(ctype, facts.value_variables[name])
                d[name] = value
                return value
            if _is_opaque(ffi, ctype):
                if const:
                    raise FFIError(
                        f"constant '{name}' is of type '{ctype.cname}', whose size is not known"
                    )
                # As in cffi: only its address can be taken.
                raise TypeError(f"cdata '{ctype.cname}' is opaque")
            addr = self._rcffi_address(name)
            if ctype.kind == "array" and ctype.length is None:
                # `extern int a[];`: a pointer to its first item.
                return ffi.cast(ffi.getctype(ctype.item, "*"), addr)
            return ffi.cast(ffi.getctype(ctype, "*"), addr)[0]
        if name in consts:
            value = consts[name]
            if value is None:
                if name in facts.pointer_constants:
                    value = ffi.cast(d["_rcffi_const_types"][name], facts.pointer_constants[name])
                else:
                    raise FFIError(f"the value of '{name}' is unknown (rebuild the module)")
            d[name] = value
            return value
        for other in _included_libs(ffi):
            # As in cffi: the functions, globals and constants of the
            # modules this one ffi.include()s are reachable through it.
            try:
                return getattr(other, name)
            except AttributeError:
                pass
        raise AttributeError(
            f"cffi library '{d['_rcffi_module_name']}' has no function, constant "
            f"or global variable named '{name}'"
        )

    def _rcffi_address(self, name: str) -> Any:
        """The address of global variable ``name`` now (a ``void *``)."""
        d = self.__dict__
        getters = d["_rcffi_getters"]
        get = getters.get(name)
        if get is None:
            addr = d["_rcffi_facts"].variables[name][0]
            get = getters[name] = d["_rcffi_ffi"].cast("void *(*)(void)", addr)
        p = get()
        if p == d["_rcffi_ffi"].NULL:
            raise FFIError(f"global variable '{name}' is at address NULL")
        return p

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        ffi = d["_rcffi_ffi"]
        _funcs, variables, consts, _externs = d["_rcffi_decls"]
        if name in variables:
            ctype, const = variables[name]
            if const:
                raise AttributeError(f"cannot write to the constant global variable {name!r}")
            if _is_opaque(ffi, ctype):
                raise TypeError(f"'{ctype.cname}' is opaque")
            addr = self._rcffi_address(name)
            if ctype.kind == "array":
                target = ffi.cast(ffi.getctype(ctype, "*"), addr)[0]
                target[0 : len(target)] = value
                return
            ffi.cast(ffi.getctype(ctype, "*"), addr)[0] = value
            return
        if name in consts or name in _funcs:
            raise AttributeError(f"cannot set attribute {name!r}: it is not a global variable")
        raise AttributeError(
            f"cffi library '{d['_rcffi_module_name']}' has no global variable named '{name}'"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete attribute {name!r} of a lib")

    def __dir__(self) -> list[str]:
        funcs, variables, consts, externs = self.__dict__["_rcffi_decls"]
        return sorted(set(funcs) | set(variables) | set(consts) | set(externs))

    def __repr__(self) -> str:
        return f"<Lib object for '{self.__dict__['_rcffi_module_name']}'>"

    def _addressof(self, name: str) -> Any:
        d = self.__dict__
        ffi = d["_rcffi_ffi"]
        funcs, variables, _consts, externs = d["_rcffi_decls"]
        if name in variables:
            ctype, const = variables[name]
            if const:
                from .api import address_of_constant

                return address_of_constant(self, name, ctype)
            return ffi.cast(ffi.getctype(ctype, "*"), self._rcffi_address(name))
        if name in funcs or name in externs:
            fn = self._rcffi_lookup(name)
            # A builtin made by _api_function stands for its cdata.
            holder = getattr(fn, "__self__", None)
            if isinstance(holder, getattr(_backend, "__CFunction")):
                return holder.cdata
            return fn
        raise AttributeError(f"lib has no global named {name!r}")


def _raise_typedef_error(facts: Facts, fntype: Any, name: str) -> None:
    """``ffi.error`` if the type of function ``name`` uses a typedef that
    the compiler could not complete (its message says why)."""
    words = set(re.findall(r"\w+", fntype.cname))
    for typedef, message in facts.errors.items():
        if typedef != name and typedef in words:
            raise FFIError(message)


def _is_opaque(ffi: Any, ctype: Any) -> bool:
    """Whether values of ``ctype`` (a struct or union) have no known size."""
    if ctype.kind not in ("struct", "union"):
        return False
    try:
        ffi.sizeof(ctype)
    except (ValueError, TypeError):
        return True
    return False


def _included_libs(ffi: Any) -> list[Any]:
    """The ``lib`` of each API-mode module ``ffi`` includes (those loaded)."""
    libs = []
    for op in getattr(ffi, "_api_ops", ()):
        if op[0] != "include":
            continue
        other = op[1]
        if isinstance(other, str):
            module = sys.modules.get(other)
            lib = getattr(module, "lib", None)
        else:
            lib = next((x for x in reversed(other._libraries) if isinstance(x, Lib)), None)
        if lib is not None:
            libs.append(lib)
    return libs


class _FFIGlobSupport:
    """cffi's ``_cffi_backend.__FFIGlobSupport`` (the type of global
    variables in a ``lib``'s namespace); rcffi reads globals directly."""


def _register_backend_names() -> None:
    """``_cffi_backend.Lib`` and ``_cffi_backend.__FFIGlobSupport``, named as
    in cffi."""
    for cls, name in ((Lib, "Lib"), (_FFIGlobSupport, "__FFIGlobSupport")):
        cls.__module__ = "_cffi_backend"
        cls.__name__ = cls.__qualname__ = name
        # The native Lib of table-backed modules keeps the name.
        if not hasattr(_backend, name):
            setattr(_backend, name, cls)


_register_backend_names()


def _function(
    ffi: Any,
    fntype: Any,
    addr: int,
    stub: int,
    name: str,
    measured: dict[str, Any],
    module_name: str,
) -> Any:
    """The object ``lib.NAME`` gives for a function: a function-pointer
    cdata on the declared-signature wrapper.  When the call layer offers
    ``_cffi_backend._api_function(fntype, address, stub, name, module)``, it gets
    the direct-call stub (``void stub(void **args, void *result)``) too,
    to call without libffi."""
    make = getattr(_backend, "_api_function", None)
    if make is not None and stub:
        return make(fntype, addr, stub, name, module_name)
    fn = ffi.cast(fntype, addr)
    types = (*fntype.args, fntype.result)
    if stub and any(_needs_stub(t, measured) for t in types):
        return _StubFunction(ffi, fntype, fn, stub, name)
    return fn


def _needs_stub(t: Any, measured: dict[str, Any]) -> bool:
    """Whether libffi refuses ``t`` by value where the compiler does not:
    structs declared with '...;' (their hidden fields decide the calling
    convention) and complex numbers."""
    if t.kind in ("struct", "union"):
        return t.cname in measured
    return t.kind == "primitive" and t.cname in ("_cffi_float_complex_t", "_cffi_double_complex_t")


class _StubFunction:
    """A function of ``lib`` whose calls libffi may refuse (a struct by
    value): the first refusal switches to the direct-call stub
    ``void stub(void **args, void *result)``."""

    def __init__(self, ffi: Any, fntype: Any, fn: Any, stub: int, name: str) -> None:
        self._ffi = ffi
        self._fn = fn
        self._args = fntype.args
        self._result = fntype.result
        self._stub = ffi.cast("void(*)(void **, void *)", stub)
        self._use_stub = False
        self.__name__ = name

    def __call__(self, *args: Any) -> Any:
        if not self._use_stub:
            try:
                return self._fn(*args)
            except NotImplementedError as e:
                if "not supported as" not in str(e):
                    raise
                self._use_stub = True
        return self._call_stub(args)

    def _call_stub(self, args: tuple[Any, ...]) -> Any:
        ffi = self._ffi
        if len(args) != len(self._args):
            raise TypeError(
                f"{self.__name__}() takes {len(self._args)} arguments ({len(args)} given)"
            )
        boxes = []
        for t, value in zip(self._args, args, strict=True):
            if t.kind == "pointer" and not isinstance(value, ffi.CData):
                # bytes, str, lists: a temporary array, as for any call
                value = ffi.new(ffi.getctype(t.item, "[]"), value) if value is not None else 0
            boxes.append(ffi.new(ffi.getctype(t, "*"), value))
        slots = ffi.new("void *[]", [ffi.cast("void *", b) for b in boxes] or [ffi.NULL])
        if self._result.kind == "void":
            self._stub(slots, ffi.NULL)
            return None
        result = ffi.new(ffi.getctype(self._result, "*"))
        self._stub(slots, result)
        return result[0]

    def __repr__(self) -> str:
        return f"<rcffi function {self.__name__} (through its direct-call stub)>"


def attach(ffi: Any, module_name: str, table: Table, facts: Facts) -> Lib:
    """Makes the ``lib`` of a loaded table and connects ``extern "Python"``
    slots to ``ffi.def_extern``."""
    lib = Lib(module_name, ffi, facts, table)
    _, _, _, externs = ffi._declarations()
    slots = dict(getattr(ffi, "_rcffi_extern_slots", {}))
    for name, (_cfunc, slot) in facts.externs.items():
        slots[name] = (externs[name], slot, module_name)
    ffi._rcffi_extern_slots = slots
    ffi._libraries.append(lib)
    return lib


def load_module(module_name: str, module_file: str, spec: dict[str, Any]) -> tuple[Any, Lib]:
    """Called by a generated module: its ``ffi`` and ``lib``."""
    from .api import FFI

    here = os.path.dirname(os.path.abspath(module_file))
    path = os.path.join(here, spec["library"])
    table = read_table(path)
    if table.build_id != spec["build_id"]:
        raise ImportError(
            f"module '{module_name}': {path} does not belong to {module_file} (a rebuild was "
            "interrupted, or an older copy of the library is already loaded in this "
            "process); build the module again, in a fresh process"
        )
    facts = decode(spec["manifest"], table.values)
    ffi = FFI()
    ops = spec["ops"]
    replay(ffi, ops, facts.completions)
    ffi._api_ops = list(ops)
    ffi._rcffi_module_name = module_name
    lib = attach(ffi, module_name, table, facts)
    sys.modules[module_name + ".lib"] = lib
    return ffi, lib


def load_abi_module(module_name: str, ops: list[tuple[Any, ...]]) -> Any:
    """Called by a module generated for ``set_source(name, None)``: its
    ``ffi`` (ABI mode: use ``ffi.dlopen()``)."""
    from .api import FFI

    ffi = FFI()
    replay(ffi, ops, None)
    ffi._api_ops = list(ops)
    ffi._rcffi_module_name = module_name
    return ffi
