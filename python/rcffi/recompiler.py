"""API mode, step 1: the C source of a module.

The generated file is the user's ``set_source()`` code followed by rcffi's
glue, which needs no ``Python.h``:

* checks that make the C compiler confirm what the cdef says (struct
  layouts, field types, enumerator values, function signatures); a
  failing check is a compile error on a line this module knows, and
  :mod:`rcffi.build` turns it into an error naming the declaration;
* for each function, a wrapper with the declared signature
  (``_rcffi_d_NAME``: the address ``lib.NAME`` calls, whatever the header
  really says, even for function-like macros) and a direct-call stub with
  one uniform signature, ``void _rcffi_call_NAME(void **args, void *result)``;
* for each ``extern "Python"`` function, its C definition, which calls
  through a pointer slot that ``@ffi.def_extern()`` fills;
* a table of ``unsigned long long`` values measured by the compiler
  (sizes, offsets, constants, addresses), filled by a constructor when the
  library is loaded, and exported as the data symbol ``_rcffi_module``.

The *manifest* says what each value of the table means; it goes into the
generated Python module, so the table itself holds numbers only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: Version of the table layout shared by the generator and the loader.
TABLE_VERSION = 1
#: ``_rcffi_module.magic``: "rcffi-t1" in ASCII.
TABLE_MAGIC = 0x72636666692D7431
_ID_PLACEHOLDER = "@RCFFI_BUILD_ID@"


@dataclass
class Region:
    """Lines of the generated file that belong to one declaration."""

    first: int
    last: int
    what: str
    origin: str


@dataclass
class Generated:
    """The output of :func:`generate`."""

    c_source: str
    build_id: str
    manifest: list[tuple[Any, ...]]
    count: int
    #: Line of the generated file where rcffi's glue starts.
    glue_line: int
    regions: list[Region] = field(default_factory=list)

    def region_at(self, line: int) -> Region | None:
        """The declaration whose generated code holds ``line``."""
        for r in self.regions:
            if r.first <= line <= r.last:
                return r
        return None


def _c_string(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + out + '"'


def _abstract(spell: str) -> str:
    return spell.replace("@", "").strip()


def _decl(spell: str, declarator: str) -> str:
    return spell.replace("@", declarator)


def _what(item: dict[str, Any]) -> str:
    kind = item["kind"]
    name = item["name"]
    if kind == "function":
        return f"function '{name}'"
    if kind == "extern_python":
        return f"extern \"Python\" function '{name}'"
    if kind == "variable":
        return f"global variable '{name}'"
    if kind == "constant":
        if item["source"] == "define":
            return f"'#define {name} ...'"
        return f"constant '{name}'"
    if kind == "struct":
        return name
    if kind == "enum":
        return name
    if kind in ("dots_typedef", "dots_array_typedef"):
        return f"typedef '{name}'"
    return name


class _Writer:
    """Accumulates lines, the table layout and the line regions."""

    def __init__(self, first_line: int) -> None:
        self.lines: list[str] = []
        self.first_line = first_line
        self.regions: list[Region] = []
        self.manifest: list[tuple[Any, ...]] = []
        #: Lines of the constructor that reads the values, each with the
        #: declaration it measures (for error messages).
        self.fill: list[tuple[str, dict[str, Any] | None]] = []
        self.count = 0
        self.static_assert = "_Static_assert"

    @property
    def line(self) -> int:
        """The number of the next line written (1-based, in the whole file)."""
        return self.first_line + len(self.lines)

    def w(self, *lines: str) -> None:
        for text in lines:
            self.lines.extend(text.split("\n"))

    def f(self, text: str, item: dict[str, Any] | None = None) -> None:
        """Adds a line to the constructor that fills the table."""
        self.fill.append((text, item))

    def values(self, n: int) -> int:
        """Reserves ``n`` consecutive table values; returns the first index."""
        i = self.count
        self.count += n
        return i

    def region(self, item: dict[str, Any], start: int) -> None:
        if self.line > start:
            self.regions.append(Region(start, self.line - 1, _what(item), item["origin"]))


_PROLOGUE_C = """\
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <wchar.h>
#include <sys/types.h>
"""

_PROLOGUE_C_ONLY = """\
#include <stdbool.h>
#if defined(__has_include)
#  if __has_include(<uchar.h>)
#    include <uchar.h>
#  endif
#endif
"""

_PRAGMAS_QUIET = """\
#if defined(__clang__)
#  pragma clang diagnostic push
#  pragma clang diagnostic ignored "-Wunknown-warning-option"
#  pragma clang diagnostic ignored "-Wunused-function"
#  pragma clang diagnostic ignored "-Wunused-variable"
#  pragma clang diagnostic ignored "-Wunused-parameter"
#  pragma clang diagnostic ignored "-Wtautological-compare"
#  pragma clang diagnostic ignored "-Wtype-limits"
#  pragma clang diagnostic ignored "-Wsign-compare"
#  pragma clang diagnostic ignored "-Wconversion"
#  pragma clang diagnostic ignored "-Wsign-conversion"
#  pragma clang diagnostic ignored "-Wpedantic"
#  pragma clang diagnostic ignored "-Wcast-function-type"
#  pragma clang diagnostic ignored "-Wbad-function-cast"
#  pragma clang diagnostic ignored "-Wmissing-prototypes"
#  pragma clang diagnostic ignored "-Wfloat-equal"
#elif defined(__GNUC__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wpragmas"
#  pragma GCC diagnostic ignored "-Wunused-function"
#  pragma GCC diagnostic ignored "-Wunused-variable"
#  pragma GCC diagnostic ignored "-Wunused-parameter"
#  pragma GCC diagnostic ignored "-Wtype-limits"
#  pragma GCC diagnostic ignored "-Wsign-compare"
#  pragma GCC diagnostic ignored "-Wconversion"
#  pragma GCC diagnostic ignored "-Wsign-conversion"
#  pragma GCC diagnostic ignored "-Wpedantic"
#  pragma GCC diagnostic ignored "-Wcast-function-type"
#  pragma GCC diagnostic ignored "-Wbad-function-cast"
#  pragma GCC diagnostic ignored "-Wmissing-prototypes"
#  pragma GCC diagnostic ignored "-Wmissing-declarations"
#  pragma GCC diagnostic ignored "-Wfloat-equal"
#  pragma GCC diagnostic ignored "-Wdiscarded-qualifiers"
#  pragma GCC diagnostic ignored "-Wdiscarded-array-qualifiers"
#endif
"""

#: Around the function wrappers and the type checks.  Errors: an integer
#: where the C code has a pointer (or the reverse), a function the C code
#: does not declare.  Warnings: conversions between arithmetic types of
#: the same kind (``int`` for ``uid_t``, ``float`` for ``double``) and
#: pointers to other types, which the wrappers convert or pass unchanged
#: as cffi's API mode does.  Kind and size mismatches are caught by static
#: assertions instead.
_PRAGMAS_CHECKS = """\
#if defined(__clang__)
#  pragma clang diagnostic push
#  pragma clang diagnostic error "-Wint-conversion"
#  pragma clang diagnostic error "-Wimplicit-function-declaration"
#  pragma clang diagnostic warning "-Wconversion"
#  pragma clang diagnostic ignored "-Wsign-conversion"
#  pragma clang diagnostic warning "-Wdouble-promotion"
#  pragma clang diagnostic warning "-Wincompatible-pointer-types"
#  pragma clang diagnostic warning "-Wpointer-sign"
#elif defined(__GNUC__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic error "-Wint-conversion"
#  pragma GCC diagnostic error "-Wimplicit-function-declaration"
#  pragma GCC diagnostic warning "-Wconversion"
#  pragma GCC diagnostic ignored "-Wsign-conversion"
#  pragma GCC diagnostic warning "-Wdouble-promotion"
#  pragma GCC diagnostic warning "-Wincompatible-pointer-types"
#  pragma GCC diagnostic warning "-Wpointer-sign"
#endif
"""

#: Around checks whose failure is always an error (a struct field or
#: global of another struct type).
_PRAGMAS_EXACT = """\
#if defined(__clang__)
#  pragma clang diagnostic push
#  pragma clang diagnostic error "-Wint-conversion"
#  pragma clang diagnostic error "-Wincompatible-pointer-types"
#elif defined(__GNUC__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic error "-Wint-conversion"
#  pragma GCC diagnostic error "-Wincompatible-pointer-types"
#endif
"""

_PRAGMAS_POP = """\
#if defined(__clang__)
#  pragma clang diagnostic pop
#elif defined(__GNUC__)
#  pragma GCC diagnostic pop
#endif
"""


def generate(
    spec: list[dict[str, Any]],
    module_name: str,
    source: str,
    cplusplus: bool = False,
) -> Generated:
    """The C source of module ``module_name``: ``source`` then the glue for
    the declarations ``spec`` (``FFI._api_spec()``)."""
    head = (
        f"/* Generated by rcffi for module '{module_name}': the set_source() code,\n"
        f"   then rcffi's glue.  Do not edit. */\n"
        "#ifndef _CFFI_\n#define _CFFI_ 1\n#endif\n"
        "#ifndef _RCFFI_\n#define _RCFFI_ 1\n#endif\n"
    )
    user = source if source.endswith("\n") else source + "\n"
    before = head + user
    glue_line = before.count("\n") + 1
    out = _Writer(glue_line)
    out.w(f"/* ===== rcffi glue for module '{module_name}' ===== */")
    out.w(_PROLOGUE_C.rstrip("\n"))
    if not cplusplus:
        out.w(_PROLOGUE_C_ONLY.rstrip("\n"))
    out.w(_PRAGMAS_QUIET.rstrip("\n"))
    out.static_assert = "static_assert" if cplusplus else "_Static_assert"
    if cplusplus:
        out.w('#define _Bool bool\nextern "C" {')
    out.w(
        "#define _RCFFI_U64(x) ((unsigned long long)(x))",
        "#define _RCFFI_ADDR(x) ((unsigned long long)(uintptr_t)(x))",
        "static unsigned long long _rcffi_v[@RCFFI_COUNT@];",
        "static void _rcffi_extern_missing(const char *name) {",
        '    fprintf(stderr, "extern \\"Python\\": function %s() called, but no code was '
        'attached to it yet with @ffi.def_extern().  Returning 0.\\n", name);',
        "}",
    )
    for n, item in enumerate(spec):
        kind = item["kind"]
        if kind == "struct":
            _gen_struct(out, item, n, cplusplus)
        elif kind == "function":
            _gen_function(out, item, cplusplus)
        elif kind == "extern_python":
            _gen_extern_python(out, item, module_name)
        elif kind == "variable":
            _gen_variable(out, item, n)
        elif kind == "constant":
            _gen_constant(out, item)
        elif kind == "enum":
            _gen_enum(out, item)
        elif kind == "dots_typedef":
            _gen_dots_typedef(out, item)
        elif kind == "dots_array_typedef":
            _gen_dots_array_typedef(out, item, n)
    count = max(out.count, 1)
    out.w("static void _rcffi_fill(void) {")
    for text, item in out.fill:
        start = out.line
        out.w(text)
        if item is not None:
            out.region(item, start)
    out.w("}")
    out.w(
        "#if defined(__GNUC__) || defined(__clang__)",
        "__attribute__((constructor))",
        "#endif",
        "static void _rcffi_init(void) { _rcffi_fill(); }",
        "struct _rcffi_module_s {",
        "    unsigned long long magic, version;",
        "    const char *build_id;",
        "    unsigned long long count;",
        "    unsigned long long *values;",
        "};",
        "#if defined(__GNUC__) || defined(__clang__)",
        '__attribute__((visibility("default")))',
        "#endif",
        "struct _rcffi_module_s _rcffi_module = {",
        f"    {TABLE_MAGIC:#x}ULL, {TABLE_VERSION}, {_c_string(_ID_PLACEHOLDER)},",
        f"    {count}, _rcffi_v",
        "};",
    )
    if cplusplus:
        out.w('}  /* extern "C" */')
    out.w(_PRAGMAS_POP.rstrip("\n"))
    text = before + "\n".join(out.lines) + "\n"
    text = text.replace("@RCFFI_COUNT@", str(count))
    build_id = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    text = text.replace(_ID_PLACEHOLDER, build_id)
    return Generated(
        c_source=text,
        build_id=build_id,
        manifest=out.manifest,
        count=out.count,
        glue_line=glue_line,
        regions=out.regions,
    )


def _assert(out: _Writer, cond: str, message: str) -> None:
    out.w(f"{out.static_assert}({cond}, {_c_string('rcffi: ' + message)});")


# -- structs and unions -------------------------------------------------------


def _gen_struct(out: _Writer, item: dict[str, Any], n: int, cplusplus: bool) -> None:
    spell = item["spell"]
    key = item["key"]
    start = out.line
    if item["problem"] and item["partial"]:
        out.manifest.append(("error", key, f"{key}: {item['problem']} ({item['origin']})"))
        return
    if spell is None:
        # No C name: nothing can be checked or measured.
        return
    out.w(f"/* {key} ({item['origin']}) */")
    layout = item["layout"]
    measured = item["partial"] or layout is None
    fields = [f for f in item["fields"] if f["name"] and f["bitsize"] is None]
    if layout is not None and not item["partial"]:
        size, align, placed = layout
        fix = "fix the cdef, or declare the struct with '...;' to take the C layout"
        _assert(
            out,
            f"sizeof({spell}) == {size}",
            f"{key}: the cdef makes it {size} bytes, the C compiler does not; {fix}",
        )
        _assert(
            out,
            f"__alignof__({spell}) == {align}",
            f"{key}: the cdef aligns it on {align} bytes, the C compiler does not; {fix}",
        )
        for fname, off, fsize in placed:
            _assert(
                out,
                f"offsetof({spell}, {fname}) == {off}",
                f"{key}: field '{fname}' is at offset {off} in the cdef, elsewhere in C; {fix}",
            )
            _assert(
                out,
                f"sizeof((({spell} *)0)->{fname}) == {fsize}",
                f"{key}: field '{fname}' has {fsize} bytes in the cdef, another size in C; {fix}",
            )
    exact: list[str] = []
    loose: list[str] = []
    for f in fields:
        if f["type"] is not None:
            e, w = _value_checks(
                out, f"s->{f['name']}", f["type"], f["dots_length"], f"{key}: field '{f['name']}'"
            )
            exact += e
            loose += w
    _check_function(out, f"_rcffi_check_{n}", f"{spell} *s", exact, loose)
    out.region(item, start)
    if measured:
        first = out.values(2 + 2 * len(fields))
        out.f(f"    _rcffi_v[{first}] = sizeof({spell});", item)
        out.f(f"    _rcffi_v[{first + 1}] = __alignof__({spell});", item)
        names = []
        lengths = []
        for i, f in enumerate(fields):
            name = f["name"]
            j = first + 2 + 2 * i
            out.f(f"    _rcffi_v[{j}] = offsetof({spell}, {name});", item)
            out.f(f"    _rcffi_v[{j + 1}] = sizeof((({spell} *)0)->{name});", item)
            names.append(name)
            if f["dots_length"]:
                k = out.values(1)
                out.f(
                    f"    _rcffi_v[{k}] = sizeof((({spell} *)0)->{name}) / "
                    f"sizeof((({spell} *)0)->{name}[0]);",
                    item,
                )
                lengths.append((name, k))
        out.manifest.append(("struct", key, first, tuple(names), tuple(lengths)))


def _is_float(expr: str) -> str:
    """A C11 constant expression: 1 if ``expr`` has a floating-point type."""
    return f"_Generic(({expr}), float: 1, double: 1, long double: 1, default: 0)"


def _value_checks(
    out: _Writer, lvalue: str, ty: tuple[str, str, str], dots: bool, what: str
) -> tuple[list[str], list[str]]:
    """C statements checking that ``lvalue`` has the declared type ``ty``:
    (statements whose failure is an error, statements that may warn)."""
    spell, ptr, cls = ty
    decl = _abstract(spell)
    target = f"{lvalue}[0]" if dots else lvalue
    sa = out.static_assert
    exact: list[str] = []
    loose: list[str] = []
    if cls in ("int", "float", "enum", "pointer") or (cls == "array" and "[]" not in decl):
        message = _c_string(f"rcffi: {what}: its size in C is not the size of '{decl}'")
        exact.append(f"{sa}(sizeof({target}) == sizeof({decl}), {message});")
    if cls in ("int", "float") and sa == "_Static_assert":
        want = 1 if cls == "float" else 0
        kind = "a floating-point type" if cls == "float" else "an integer type"
        message = _c_string(f"rcffi: {what}: the cdef gives it {kind}, the C code does not")
        exact.append(f"{sa}({_is_float(target)} == {want}, {message});")
    if cls == "pointer":
        exact.append(f"{{ const volatile void *p = {target}; (void)p; }}")
    elif cls == "struct":
        exact.append(f"{{ {_decl(ptr, 'p')} = &{target}; (void)p; }}")
    elif cls in ("int", "float", "array") and sa == "_Static_assert":
        loose.append(f"{{ {_decl(ptr, 'p')} = &{target}; (void)p; }}")
    return exact, loose


def _check_function(
    out: _Writer, name: str, params: str, exact: list[str], loose: list[str]
) -> None:
    """Writes the checks in two functions: one where any diagnostic is an
    error, one where type differences of the same kind only warn."""
    if exact:
        out.w(_PRAGMAS_EXACT.rstrip("\n"))
        out.w(f"static void {name}({params}) {{")
        out.w(*(f"    {c}" for c in exact))
        out.w("}")
        out.w(_PRAGMAS_POP.rstrip("\n"))
    if loose:
        out.w(_PRAGMAS_CHECKS.rstrip("\n"))
        out.w(f"static void {name}_w({params}) {{")
        out.w(*(f"    {c}" for c in loose))
        out.w("}")
        out.w(_PRAGMAS_POP.rstrip("\n"))


# -- functions ------------------------------------------------------------------


def _gen_function(out: _Writer, item: dict[str, Any], cplusplus: bool) -> None:
    name = item["name"]
    start = out.line
    rspell, rptr, rcls = item["result"]
    params = item["params"]
    if item["variadic"]:
        # No wrapper can forward '...': lib.NAME calls the function itself.
        i = out.values(1)
        out.f(
            f"#if defined({name})\n    _rcffi_v[{i}] = 0;\n#else\n"
            f"    _rcffi_v[{i}] = _RCFFI_ADDR(&{name});\n#endif",
            item,
        )
        out.manifest.append(("function", name, i, True))
        return
    out.w(f"/* function {name} ({item['origin']}) */")
    out.w(_PRAGMAS_CHECKS.rstrip("\n"))
    args = ", ".join(f"x{i}" for i in range(len(params)))
    plist = ", ".join(_decl(p[0], f"x{i}") for i, p in enumerate(params)) or "void"
    out.w(f"static {_decl(rspell, f'_rcffi_d_{name}({plist})')} {{")
    if rcls in ("int", "float") and not cplusplus:
        want = 1 if rcls == "float" else 0
        kind = "a floating-point type" if rcls == "float" else "an integer type"
        message = _c_string(
            f"rcffi: function '{name}': the cdef says it returns {kind}, the C code does not"
        )
        out.w(f"    _Static_assert({_is_float(f'{name}({args})')} == {want}, {message});")
    if rcls == "void":
        out.w(f"    {name}({args});")
    else:
        out.w(f"    return {name}({args});")
    out.w("}")
    out.w(_PRAGMAS_POP.rstrip("\n"))
    out.region(item, start)
    cargs = ", ".join(f"*({_abstract(p[1])})a[{i}]" for i, p in enumerate(params))
    call = f"_rcffi_d_{name}({cargs})"
    body = call + ";" if rcls == "void" else f"*({_abstract(rptr)})r = {call};"
    out.w(f"static void _rcffi_call_{name}(void **a, void *r) {{ (void)a; (void)r; {body} }}")
    i = out.values(2)
    out.f(f"    _rcffi_v[{i}] = _RCFFI_ADDR(&_rcffi_d_{name});", item)
    out.f(f"    _rcffi_v[{i + 1}] = _RCFFI_ADDR(&_rcffi_call_{name});", item)
    out.manifest.append(("function", name, i, False))


def _gen_extern_python(out: _Writer, item: dict[str, Any], module_name: str) -> None:
    name = item["name"]
    start = out.line
    rspell, _rptr, rcls = item["result"]
    params = item["params"]
    if item["variadic"]:
        out.manifest.append(
            ("error", name, f"extern \"Python\" function '{name}' cannot be variadic")
        )
        return
    types = ", ".join(_abstract(p[0]) for p in params) or "void"
    plist = ", ".join(_decl(p[0], f"x{i}") for i, p in enumerate(params)) or "void"
    args = ", ".join(f"x{i}" for i in range(len(params)))
    slot = f"_rcffi_ep_{name}"
    storage = "" if item["plus_c"] else "static "
    out.w(f'/* extern "Python" {name} ({item["origin"]}) */')
    out.w(f"static {_decl(rspell, f'(*{slot})({types})')};")
    out.w(f"{storage}{_decl(rspell, f'{name}({plist})')} {{")
    if rcls == "void":
        out.w(f"    if ({slot}) {{ {slot}({args}); return; }}")
        out.w(f"    _rcffi_extern_missing({_c_string(module_name + '.' + name)});")
    else:
        out.w(f"    if ({slot}) return {slot}({args});")
        out.w(f"    _rcffi_extern_missing({_c_string(module_name + '.' + name)});")
        out.w(f"    {{ {_decl(rspell, 'r')}; memset(&r, 0, sizeof r); return r; }}")
    out.w("}")
    out.region(item, start)
    i = out.values(2)
    out.f(f"    _rcffi_v[{i}] = _RCFFI_ADDR(&{name});", item)
    out.f(f"    _rcffi_v[{i + 1}] = _RCFFI_ADDR(&{slot});", item)
    out.manifest.append(("extern_python", name, i))


# -- globals and constants ----------------------------------------------------


def _gen_variable(out: _Writer, item: dict[str, Any], n: int) -> None:
    name = item["name"]
    start = out.line
    if not item["problem"]:
        out.w(f"/* global {name} ({item['origin']}) */")
        exact, loose = _value_checks(
            out, name, item["type"], item["dots_length"], f"global variable '{name}'"
        )
        _check_function(out, f"_rcffi_check_{n}", "void", exact, loose)
        out.region(item, start)
    i = out.values(3)
    out.f(f"    _rcffi_v[{i}] = _RCFFI_ADDR(&{name});", item)
    out.f(f"    _rcffi_v[{i + 1}] = sizeof({name});", item)
    if item["dots_length"]:
        out.f(f"    _rcffi_v[{i + 2}] = sizeof({name}) / sizeof({name}[0]);", item)
    out.manifest.append(("variable", name, i, item["dots_length"]))


def _int_value(out: _Writer, expr: str, item: dict[str, Any]) -> int:
    i = out.values(2)
    out.f(
        f"    {{ _rcffi_v[{i + 1}] = ((({expr}) | 0) <= 0); _rcffi_v[{i}] = _RCFFI_U64({expr}); }}",
        item,
    )
    return i


def _gen_constant(out: _Writer, item: dict[str, Any]) -> None:
    name = item["name"]
    cls = item["type"][2] if item["type"] else "int"
    if item["problem"] or cls not in ("int", "enum", "float", "pointer"):
        why = item["problem"] or "only integer, float and pointer constants are supported"
        out.manifest.append(("error", name, f"constant '{name}': {why}"))
        return
    # The value is read by the constructor: a line of _rcffi_fill.  Its
    # region is recorded through a marker comment in the fill code.
    if cls in ("int", "enum"):
        i = _int_value(out, name, item)
        out.manifest.append(("int", name, i, item["value"]))
    elif cls == "float":
        i = out.values(1)
        out.f(
            f"    {{ double d = (double)({name}); memcpy(&_rcffi_v[{i}], &d, sizeof d); }}",
            item,
        )
        out.manifest.append(("float", name, i, item["value"]))
    else:
        i = out.values(1)
        out.f(f"    _rcffi_v[{i}] = _RCFFI_ADDR({name});", item)
        out.manifest.append(("pointer", name, i, None))


def _gen_enum(out: _Writer, item: dict[str, Any]) -> None:
    start = out.line
    key = item["key"]
    spell = item["spell"]
    if not item["partial"]:
        out.w(f"/* {key} ({item['origin']}) */")
        for name, value in item["items"]:
            lit = _int_literal(value)
            _assert(
                out,
                f"({name}) == {lit}",
                f"{key}: {name} is {value} in the cdef, another value in C",
            )
        out.region(item, start)
        return
    values = []
    for name, _ in item["items"]:
        values.append((name, _int_value(out, name, item)))
    base = None
    if spell is not None:
        base = out.values(2)
        out.f(f"    _rcffi_v[{base}] = sizeof({spell});", item)
        out.f(f"    _rcffi_v[{base + 1}] = ((({spell})-1) < 0);", item)
    out.manifest.append(("enum", key, tuple(values), base))


def _int_literal(v: int) -> str:
    if v < 0:
        if -v > 2**63 - 1:
            return "(-9223372036854775807LL - 1)"
        return f"(-{-v}LL)"
    if v > 2**63 - 1:
        return f"{v}ULL"
    if v > 2**31 - 1:
        return f"{v}LL"
    return str(v)


def _gen_dots_typedef(out: _Writer, item: dict[str, Any]) -> None:
    name = item["name"]
    kind = item["dots"]
    if kind == "opaque":
        return
    start = out.line
    out.w(f"/* typedef {kind}... {name} ({item['origin']}) */")
    if kind == "int":
        _assert(
            out,
            f"(({name})0.5) == 0",
            f"'typedef int... {name};' but {name} is not an integer type in C",
        )
    else:
        _assert(
            out,
            f"(({name})0.5) != 0",
            f"'typedef float... {name};' but {name} is not a floating-point type in C",
        )
    out.region(item, start)
    i = out.values(2)
    out.f(f"    _rcffi_v[{i}] = sizeof({name});", item)
    if kind == "int":
        out.f(f"    _rcffi_v[{i + 1}] = ((({name})-1) < 0);", item)
    out.manifest.append(("dots_typedef", name, i, kind))


def _gen_dots_array_typedef(out: _Writer, item: dict[str, Any], n: int) -> None:
    name = item["name"]
    start = out.line
    out.w(f"/* typedef {name}[...] ({item['origin']}) */")
    exact, loose = _value_checks(out, "(*x)", item["item"], True, f"typedef '{name}'")
    _check_function(out, f"_rcffi_check_{n}", f"{name} *x", exact, loose)
    out.region(item, start)
    i = out.values(1)
    out.f(f"    _rcffi_v[{i}] = sizeof({name}) / sizeof((*({name} *)0)[0]);", item)
    out.manifest.append(("dots_array_typedef", name, i))
