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

from ._rcffi import VerificationError

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
    """Accumulates the two sections of the glue (the checks, compiled with
    the user's warning flags plus rcffi's; the rest, compiled quietly),
    the table layout and the line regions of each declaration."""

    def __init__(self) -> None:
        self.checks: list[str] = []
        self.glue: list[str] = []
        #: (section, first index, last index, what, origin)
        self._regions: list[tuple[str, int, int, str, str]] = []
        self.manifest: list[tuple[Any, ...]] = []
        #: Lines of the constructor that reads the values, each with the
        #: declaration it measures (for error messages).
        self.fill: list[tuple[str, dict[str, Any] | None]] = []
        self.count = 0
        self.static_assert = "_Static_assert"
        self.cplusplus = False

    @property
    def line(self) -> int:
        """Index of the next line of the checks section."""
        return len(self.checks)

    @property
    def gline(self) -> int:
        """Index of the next line of the glue section."""
        return len(self.glue)

    def w(self, *lines: str) -> None:
        """Writes to the checks section."""
        for text in lines:
            self.checks.extend(text.split("\n"))

    def g(self, *lines: str) -> None:
        """Writes to the glue section."""
        for text in lines:
            self.glue.extend(text.split("\n"))

    def f(self, text: str, item: dict[str, Any] | None = None) -> None:
        """Adds a line to the constructor that fills the table."""
        self.fill.append((text, item))

    def values(self, n: int) -> int:
        """Reserves ``n`` consecutive table values; returns the first index."""
        i = self.count
        self.count += n
        return i

    def region(self, item: dict[str, Any], start: int) -> None:
        """The checks lines from ``start`` on belong to ``item``."""
        if self.line > start:
            self._regions.append(("checks", start, self.line - 1, _what(item), item["origin"]))

    def gregion(self, item: dict[str, Any], start: int) -> None:
        """The glue lines from ``start`` on belong to ``item``."""
        if self.gline > start:
            self._regions.append(("glue", start, self.gline - 1, _what(item), item["origin"]))

    def regions(self, bases: dict[str, int]) -> list[Region]:
        """The regions, in lines of the whole file."""
        return [
            Region(bases[sec] + a, bases[sec] + b, what, origin)
            for sec, a, b, what, origin in self._regions
        ]


#: Before the set_source() code: what Python.h gives cffi's modules, so
#: that code written for cffi compiles unchanged.
_COMPAT_PROLOGUE = """\
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE 1
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <wchar.h>
#include <sys/types.h>
#if !defined(_WIN32)
#  include <unistd.h>
#endif
"""

_PROLOGUE_C = """\
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <wchar.h>
#include <sys/types.h>
typedef float _Complex _cffi_float_complex_t;
typedef double _Complex _cffi_double_complex_t;
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


#: Around the checks and the function wrappers: the user's warning flags
#: apply, plus rcffi's.  Errors: an integer where the C code has a pointer
#: (or the reverse), a function the C code does not declare.  Unless the
#: user compiles with -Werror, warnings: conversions between arithmetic
#: types of the same kind (``float`` for ``double``) and pointers to other
#: types, which the wrappers convert or pass unchanged as cffi's API mode
#: does; ``int`` for ``unsigned int`` is silent.  Kind and size mismatches
#: are caught by static assertions.
def _checks_prologue(strict: bool) -> str:
    gcc = [
        "push",
        'ignored "-Wpragmas"',
        'ignored "-Wunused-function"',
        'ignored "-Wunused-variable"',
        'ignored "-Wunused-parameter"',
        'ignored "-Wmissing-prototypes"',
        'ignored "-Wmissing-declarations"',
        'ignored "-Wpedantic"',
        'ignored "-Waddress-of-packed-member"',
        'ignored "-Wpointer-sign"',
        'error "-Wint-conversion"',
        'error "-Wimplicit-function-declaration"',
    ]
    clang = [
        "push",
        'ignored "-Wunknown-warning-option"',
        'ignored "-Wunused-function"',
        'ignored "-Wunused-variable"',
        'ignored "-Wunused-parameter"',
        'ignored "-Wmissing-prototypes"',
        'ignored "-Wpedantic"',
        'ignored "-Waddress-of-packed-member"',
        'ignored "-Wpointer-sign"',
        'error "-Wint-conversion"',
        'error "-Wimplicit-function-declaration"',
    ]
    if not strict:
        loose = [
            'warning "-Wconversion"',
            'ignored "-Wsign-conversion"',
            'warning "-Wdouble-promotion"',
            'warning "-Wincompatible-pointer-types"',
        ]
        gcc += loose
        clang += loose
    lines = ["#if defined(__clang__)"]
    lines += [f"#  pragma clang diagnostic {x}" for x in clang]
    lines += ["#elif defined(__GNUC__)"]
    lines += [f"#  pragma GCC diagnostic {x}" for x in gcc]
    lines += ["#endif"]
    return "\n".join(lines)


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
    strict: bool = False,
) -> Generated:
    """The C source of module ``module_name``: ``source`` then the glue for
    the declarations ``spec`` (``FFI._api_spec()``).  ``strict`` (the user
    compiles with ``-Werror``) leaves the conversion warnings of the checks
    to the user's flags instead of making them warnings."""
    head = (
        f"/* Generated by rcffi for module '{module_name}': the set_source() code,\n"
        f"   then rcffi's glue.  Do not edit. */\n"
        "#ifndef _CFFI_\n#define _CFFI_ 1\n#endif\n"
        "#ifndef _RCFFI_\n#define _RCFFI_ 1\n#endif\n" + _COMPAT_PROLOGUE
    )
    user = source if source.endswith("\n") else source + "\n"
    out = _Writer()
    out.static_assert = "static_assert" if cplusplus else "_Static_assert"
    out.cplusplus = cplusplus
    _check_enumerators(spec)
    #: 'typedef ... t;': types whose kind only C knows (maybe arrays).
    opaque = {i["name"] for i in spec if i["kind"] == "dots_typedef" and i["dots"] == "opaque"}
    for n, item in enumerate(spec):
        kind = item["kind"]
        if kind == "struct":
            _gen_struct(out, item, n, cplusplus)
        elif kind == "function":
            _gen_function(out, item, cplusplus)
        elif kind == "extern_python":
            _gen_extern_python(out, item, module_name)
        elif kind == "variable":
            _gen_variable(out, item, n, opaque)
        elif kind == "constant":
            _gen_constant(out, item)
        elif kind == "enum":
            _gen_enum(out, item)
        elif kind == "dots_typedef":
            _gen_dots_typedef(out, item)
        elif kind == "dots_array_typedef":
            _gen_dots_array_typedef(out, item, n)
    count = max(out.count, 1)
    out.g("static void _rcffi_fill(void) {")
    for text, item in out.fill:
        start = out.gline
        out.g(text)
        if item is not None:
            out.gregion(item, start)
    out.g(
        "}",
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
    intro = [f"/* ===== rcffi glue for module '{module_name}' ===== */", _PROLOGUE_C.rstrip()]
    if not cplusplus:
        intro.append(_PROLOGUE_C_ONLY.rstrip())
    if cplusplus:
        intro.append('#define _Bool bool\nextern "C" {')
        intro.append(
            'extern "C++" { template <typename T> static inline void _rcffi_is_pointer(T *) {} }'
        )
    intro.append("/* -- checks of the cdef against the C code, and function wrappers -- */")
    intro.append(_checks_prologue(strict))
    middle = [
        _PRAGMAS_POP.rstrip(),
        '/* -- stubs, extern "Python" functions, the table -- */',
        _PRAGMAS_QUIET.rstrip(),
        "#define _RCFFI_U64(x) ((unsigned long long)(x))",
        "#define _RCFFI_ADDR(x) ((unsigned long long)(uintptr_t)(x))",
        "#if defined(__cplusplus)",
        "#  define _RCFFI_TLS thread_local",
        "#elif defined(_MSC_VER)",
        "#  define _RCFFI_TLS __declspec(thread)",
        "#else",
        "#  define _RCFFI_TLS _Thread_local",
        "#endif",
        "#define _RCFFI_ALIGNED long double ld; long long ll; void *p; double d",
        f"static unsigned long long _rcffi_v[{count}];",
        "static void _rcffi_extern_missing(const char *name) {",
        '    fprintf(stderr, "extern \\"Python\\": function %s() called, but no code was '
        'attached to it yet with @ffi.def_extern().  Returning 0.\\n", name);',
        "}",
    ]
    tail = [_PRAGMAS_POP.rstrip()]
    if cplusplus:
        tail.append('}  /* extern "C" */')
    intro_text = "\n".join(intro) + "\n"
    middle_text = "\n".join(middle) + "\n"
    before = head + user + intro_text
    checks_line = before.count("\n") + 1
    glue_line = checks_line + len(out.checks) + middle_text.count("\n")
    text = (
        before
        + "".join(line + "\n" for line in out.checks)
        + middle_text
        + "".join(line + "\n" for line in out.glue)
        + "\n".join(tail)
        + "\n"
    )
    build_id = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    text = text.replace(_ID_PLACEHOLDER, build_id)
    return Generated(
        c_source=text,
        build_id=build_id,
        manifest=out.manifest,
        count=out.count,
        glue_line=(head + user).count("\n") + 1,
        regions=out.regions({"checks": checks_line, "glue": glue_line}),
    )


def _check_enumerators(spec: list[dict[str, Any]]) -> None:
    """An enumerator of an enum declared with '...' is a constant whose
    value only C knows: it must not be declared twice (as in cffi)."""
    seen: dict[str, str] = {}
    for item in spec:
        if item["kind"] != "enum":
            continue
        for name, _value in item["items"]:
            first = seen.setdefault(name, item["key"])
            if first != item["key"] and item["partial"]:
                raise VerificationError(
                    f"duplicate declaration of constant '{name}' ({first} and "
                    f"{item['key']}, declared with '...' on {item['origin']})"
                )


def _assert(out: _Writer, cond: str, message: str) -> None:
    out.w(f"{out.static_assert}({cond}, {_c_string('rcffi: ' + message)});")


# -- structs and unions -------------------------------------------------------


def _gen_struct(out: _Writer, item: dict[str, Any], n: int, cplusplus: bool) -> None:
    spell = item["spell"]
    key = item["key"]
    start = out.line
    if item["problem"] and item["partial"]:
        raise VerificationError(f"{key} ({item['origin']}): {item['problem']}")
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
            if f["type"] is not None and f["type"][0].endswith("@[]"):
                out.f(f"    _rcffi_v[{j + 1}] = 0;", item)  # a flexible array member
            else:
                out.f(f"    _rcffi_v[{j + 1}] = sizeof((({spell} *)0)->{name});", item)
            names.append(name)
            for depth, k in _fill_lengths(out, f"(({spell} *)0)->{name}", f["dots_length"], item):
                lengths.append((name, depth, k))
        out.manifest.append(("struct", key, first, tuple(names), tuple(lengths)))


def _item_at(expr: str, depth: int) -> str:
    """``expr[0]...[0]``: the first item ``depth`` array dimensions down."""
    return expr + "[0]" * depth


def _fill_lengths(
    out: _Writer, expr: str, dims: list[int], item: dict[str, Any]
) -> list[tuple[int, int]]:
    """Table values for the ``[...]`` lengths of ``expr`` at depths
    ``dims``: ``[(depth, index)]``."""
    found = []
    for depth in dims:
        k = out.values(1)
        outer, inner = _item_at(expr, depth), _item_at(expr, depth + 1)
        out.f(f"    _rcffi_v[{k}] = sizeof({outer}) / sizeof({inner});", item)
        found.append((depth, k))
    return found


def _is_float(expr: str) -> str:
    """A C11 constant expression: 1 if ``expr`` has a floating-point type."""
    return (
        f"_Generic(({expr}), float: 1, double: 1, long double: 1, float _Complex: 1, "
        f"double _Complex: 1, long double _Complex: 1, default: 0)"
    )


def _value_checks(
    out: _Writer,
    lvalue: str,
    ty: tuple[str, str, str],
    dots: list[int],
    what: str,
    by_value: bool = False,
) -> tuple[list[str], list[str]]:
    """C statements checking that ``lvalue`` has the declared type ``ty``:
    (statements whose failure is an error, statements that may warn).
    ``dots``: the depths of the ``[...]`` lengths of ``lvalue`` (``ty`` is
    then the item type after the deepest).  ``by_value``: a ``const``
    global, which C may define as a function or a macro: only its value is
    checked, never its address."""
    spell, ptr, cls = ty
    decl = _abstract(spell)
    target = _item_at(lvalue, dots[-1] + 1) if dots else lvalue
    sa = out.static_assert
    exact: list[str] = []
    loose: list[str] = []
    sized = cls in ("int", "float", "enum") or (cls == "pointer" and not by_value)
    if sized or (cls == "array" and "[]" not in decl):
        message = _c_string(f"rcffi: {what}: its size in C is not the size of '{decl}'")
        exact.append(f"{sa}(sizeof({target}) == sizeof({decl}), {message});")
    if cls in ("int", "float") and sa == "_Static_assert":
        want = 1 if cls == "float" else 0
        kind = "a floating-point type" if cls == "float" else "an integer type"
        message = _c_string(f"rcffi: {what}: the cdef gives it {kind}, the C code does not")
        exact.append(f"{sa}({_is_float(target)} == {want}, {message});")
    if cls == "pointer" and out.cplusplus:
        # C++ converts no function pointer to 'void *': a template takes
        # any pointer (and refuses integers).
        exact.append(f"_rcffi_is_pointer({target});")
    elif cls == "pointer":
        exact.append(f"{{ const volatile void *p = {target}; (void)p; }}")
        if sa == "_Static_assert" and not by_value:
            loose.append(f"{{ {_decl(ptr, 'p')} = &{target}; (void)p; }}")
    elif cls == "struct" and by_value:
        exact.append(f"{{ {_decl(spell, 'v')} = {target}; (void)v; }}")
    elif cls == "struct":
        exact.append(f"{{ {_decl(ptr, 'p')} = &{target}; (void)p; }}")
    elif cls in ("int", "float", "array") and sa == "_Static_assert" and not by_value:
        loose.append(f"{{ {_decl(ptr, 'p')} = &{target}; (void)p; }}")
    return exact, loose


def _check_function(
    out: _Writer, name: str, params: str, exact: list[str], loose: list[str]
) -> None:
    """Writes the checks in two functions: one where any diagnostic of
    pointer types is an error, one under the rules of the checks section
    (type differences of the same kind warn)."""
    if exact:
        out.w(_PRAGMAS_EXACT.rstrip("\n"))
        out.w(f"static void {name}({params}) {{")
        out.w(*(f"    {c}" for c in exact))
        out.w("}")
        out.w(_PRAGMAS_POP.rstrip("\n"))
    if loose:
        out.w(f"static void {name}_w({params}) {{")
        out.w(*(f"    {c}" for c in loose))
        out.w("}")


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
    out.region(item, start)
    cargs = ", ".join(f"*({_abstract(p[1])})a[{i}]" for i, p in enumerate(params))
    call = f"_rcffi_d_{name}({cargs})"
    body = call + ";" if rcls == "void" else f"*({_abstract(rptr)})r = {call};"
    out.g(f"static void _rcffi_call_{name}(void **a, void *r) {{ (void)a; (void)r; {body} }}")
    i = out.values(2)
    out.f(f"    _rcffi_v[{i}] = _RCFFI_ADDR(&_rcffi_d_{name});", item)
    out.f(f"    _rcffi_v[{i + 1}] = _RCFFI_ADDR(&_rcffi_call_{name});", item)
    out.manifest.append(("function", name, i, False))


def _gen_extern_python(out: _Writer, item: dict[str, Any], module_name: str) -> None:
    name = item["name"]
    start = out.gline
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
    out.g(f'/* extern "Python" {name} ({item["origin"]}) */')
    out.g(f"static {_decl(rspell, f'(*{slot})({types})')};")
    out.g(f"{storage}{_decl(rspell, f'{name}({plist})')} {{")
    if rcls == "void":
        out.g(f"    if ({slot}) {{ {slot}({args}); return; }}")
        out.g(f"    _rcffi_extern_missing({_c_string(module_name + '.' + name)});")
    else:
        out.g(f"    if ({slot}) return {slot}({args});")
        out.g(f"    _rcffi_extern_missing({_c_string(module_name + '.' + name)});")
        out.g(f"    {{ {_decl(rspell, 'r')}; memset(&r, 0, sizeof r); return r; }}")
    out.g("}")
    out.gregion(item, start)
    i = out.values(2)
    out.f(f"    _rcffi_v[{i}] = _RCFFI_ADDR(&{name});", item)
    out.f(f"    _rcffi_v[{i + 1}] = _RCFFI_ADDR(&{slot});", item)
    out.manifest.append(("extern_python", name, i))


# -- globals and constants ----------------------------------------------------


def _gen_variable(out: _Writer, item: dict[str, Any], n: int, opaque: set[str]) -> None:
    name = item["name"]
    start = out.line
    cls = item["type"][2]
    by_value = item["is_const"] and cls == "pointer"
    # A constant (declared 'const'): read by value, through a copy, as C
    # may define it as a macro ('#define K ((T)42)'); not a 'typedef ...'
    # type, which may be an array in C (and cannot be read anyway).
    base = item["type"][0].split("@", 1)[0].replace("const", "").strip()
    copied = (
        item["is_const"]
        and cls not in ("pointer", "array")
        and not item["dots_length"]
        and base not in opaque
    )
    if not item["problem"]:
        out.w(f"/* global {name} ({item['origin']}) */")
        exact, loose = _value_checks(
            out,
            name,
            item["type"],
            item["dots_length"],
            f"global variable '{name}'",
            by_value=by_value or copied,
        )
        _check_function(out, f"_rcffi_check_{n}", "void", exact, loose)
        out.region(item, start)
    i = out.values(2)
    if by_value:
        out.f(f"    _rcffi_v[{i}] = _RCFFI_ADDR({name});", item)
    elif copied:
        out.g(
            f"static void *_rcffi_a_{n}(void) {{",
            "    static _RCFFI_TLS union {",
            f"        _RCFFI_ALIGNED; unsigned char b[sizeof({name})];",
            "    } c;",
            f"    {_decl(item['type'][0], 'v')} = {name};",
            "    memcpy(c.b, &v, sizeof(v));",
            "    return c.b;",
            "}",
        )
        out.f(f"    _rcffi_v[{i}] = _RCFFI_ADDR(&_rcffi_a_{n});", item)
        out.f(f"    _rcffi_v[{i + 1}] = sizeof({name});", item)
    else:
        # The address is asked for at each access, as cffi does: the name
        # may be a macro ('#define v (*get_v())') or thread-local.
        out.g(f"static void *_rcffi_a_{n}(void) {{ return (void *)&{name}; }}")
        out.f(f"    _rcffi_v[{i}] = _RCFFI_ADDR(&_rcffi_a_{n});", item)
        out.f(f"    _rcffi_v[{i + 1}] = sizeof({name});", item)
    lengths = tuple(_fill_lengths(out, name, item["dots_length"], item))
    out.manifest.append(("variable", name, i, lengths, by_value))


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
    dims = item["dots_length"]
    out.w(f"/* typedef {name}[...] ({item['origin']}) */")
    exact, loose = _value_checks(out, "(*x)", item["item"], dims, f"typedef '{name}'")
    _check_function(out, f"_rcffi_check_{n}", f"{name} *x", exact, loose)
    out.region(item, start)
    lengths = _fill_lengths(out, f"(*({name} *)0)", dims, item)
    out.manifest.append(("dots_array_typedef", name, tuple(lengths)))
