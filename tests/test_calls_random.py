"""Random structs and unions passed and returned by value, checked against gcc.

A seeded generator makes aggregates mixing every scalar kind, arrays,
nested structs, unions, bitfields, `packed` and `#pragma pack`.  For each, gcc compiles a
function that builds a value from a seed, one that checks a value field by
field, one taking it after the registers are used up, and one passing it
through a callback.  rcffi must agree with gcc on every field: this is the
test of the calling-convention classification in `src/call/abi.rs` (cffi
refuses most of these aggregates).
"""

from __future__ import annotations

import random
import shutil
import subprocess
from dataclasses import dataclass, field

import pytest

from rcffi import _cffi_backend as B

CC = shutil.which("gcc") or shutil.which("cc")
pytestmark = pytest.mark.skipif(CC is None, reason="needs a C compiler")

SF_PACKED = 0x08
COUNT = 150

INTS = {
    "char": (8, False),
    "signed char": (8, True),
    "unsigned char": (8, False),
    "short": (16, True),
    "unsigned short": (16, False),
    "int": (32, True),
    "unsigned int": (32, False),
    "long": (64, True),
    "unsigned long long": (64, False),
}
FLOATS = ["float", "double"]


@dataclass
class Leaf:
    """One scalar place of an aggregate: its access path and type."""

    path: list  # attribute names and array indexes
    ctype: str
    bits: int | None = None  # for bitfields


@dataclass
class Agg:
    name: str
    union: bool
    packed: bool
    fields: list = field(default_factory=list)  # (name, kind, spec)
    pack: int = 0  # #pragma pack(N)


def gen_agg(rng, name, depth, registry):
    union = depth > 0 and rng.random() < 0.4
    agg = Agg(name, union, packed=(depth == 0 and not union and rng.random() < 0.2))
    if depth == 0 and not agg.packed and rng.random() < 0.2:
        agg.pack = rng.choice([1, 2, 4])
    nfields = rng.randint(1, 4 if depth == 0 else 3)
    for i in range(nfields):
        fname = f"f{i}"
        r = rng.random()
        if r < 0.45 or (union and i == 0 and r < 0.7):
            agg.fields.append((fname, "scalar", rng.choice(list(INTS) + FLOATS * 2)))
        elif r < 0.6 and not agg.packed and not union:
            t = rng.choice(["int", "unsigned int", "short", "long"])
            width = INTS[t][0]
            agg.fields.append((fname, "bits", (t, rng.randint(1, min(width - 1, 20)))))
        elif r < 0.75:
            agg.fields.append(
                (fname, "array", (rng.choice(list(INTS) + FLOATS), rng.randint(1, 3)))
            )
        elif depth < 2:
            sub = gen_agg(rng, f"{name}_{i}", depth + 1, registry)
            agg.fields.append((fname, "agg", sub))
        else:
            agg.fields.append((fname, "scalar", rng.choice(FLOATS)))
    registry.append(agg)
    return agg


def c_decl(agg):
    kw = "union" if agg.union else "struct"
    attr = " __attribute__((packed))" if agg.packed else ""
    lines = [f"{kw}{attr} {agg.name} {{"]
    for fname, kind, spec in agg.fields:
        if kind == "scalar":
            lines.append(f"    {spec} {fname};")
        elif kind == "bits":
            lines.append(f"    {spec[0]} {fname} : {spec[1]};")
        elif kind == "array":
            lines.append(f"    {spec[0]} {fname}[{spec[1]}];")
        else:
            lines.append(f"    {'union' if spec.union else 'struct'} {spec.name} {fname};")
    lines.append("};")
    if agg.pack:
        lines = [f"#pragma pack(push, {agg.pack})", *lines, "#pragma pack(pop)"]
    return "\n".join(lines)


def leaves(agg, prefix=()):
    """The scalar places a value sets and checks (the first member of
    unions only)."""
    out = []
    fields = agg.fields[:1] if agg.union else agg.fields
    for fname, kind, spec in fields:
        p = [*prefix, fname]
        if kind == "scalar":
            out.append(Leaf(p, spec))
        elif kind == "bits":
            out.append(Leaf(p, spec[0], spec[1]))
        elif kind == "array":
            out += [Leaf([*p, j], spec[0]) for j in range(spec[1])]
        else:
            out += leaves(spec, p)
    return out


def value(leaf, k, seed):
    """The value of leaf number `k` for `seed` (the C code computes the same)."""
    if leaf.ctype in FLOATS:
        return (seed % 100) + k * 0.25
    width, signed = INTS[leaf.ctype]
    if leaf.bits is not None:
        width = leaf.bits
    m = 1 << (width - 1 if signed else width)
    m = min(m, 1 << 31)
    return (seed * 37 + k * 11 + 3) % m


def c_value(leaf, k):
    if leaf.ctype in FLOATS:
        return f"({leaf.ctype})(seed % 100) + {k} * 0.25"
    width, signed = INTS[leaf.ctype]
    if leaf.bits is not None:
        width = leaf.bits
    m = min(1 << (width - 1 if signed else width), 1 << 31)
    return f"(({leaf.ctype})(((long long)seed * 37 + {k * 11 + 3}) % {m}LL))"


def c_path(leaf):
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in leaf.path)


def c_functions(agg):
    t = f"{'union' if agg.union else 'struct'} {agg.name}"
    ls = leaves(agg)
    make = [f"{t} make_{agg.name}(int seed) {{", f"    {t} v; memset(&v, 0, sizeof v);"]
    make += [f"    v{c_path(leaf)} = {c_value(leaf, k)};" for k, leaf in enumerate(ls)]
    make += ["    return v;", "}"]
    check = [f"int check_{agg.name}({t} v, int seed) {{", f"    {t} e = make_{agg.name}(seed);"]
    check += ["    int bad = 0;"]
    check += [
        f"    if (v{c_path(x)} != e{c_path(x)}) bad |= 1 << {k % 30};" for k, x in enumerate(ls)
    ]
    check += ["    return bad;", "}"]
    late = [
        f"int late_{agg.name}(double a, double b, double c, double d, double e, double f,",
        f"        double g, long x1, long x2, long x3, long x4, long x5, {t} v, int seed) {{",
        "    if (a + b + c + d + e + f + g != 28.0 || x1 + x2 + x3 + x4 + x5 != 15) return -1;",
        f"    return check_{agg.name}(v, seed);",
        "}",
    ]
    via = [
        f"int via_{agg.name}({t} (*cb)({t}, int), int seed) {{",
        f"    {t} r = cb(make_{agg.name}(seed), seed);",
        f"    return check_{agg.name}(r, seed + 1);",
        "}",
    ]
    return "\n".join(make + check + late + via)


def generate():
    rng = random.Random(20260521)
    registry = []
    tops = [gen_agg(rng, f"r{i}", 0, registry) for i in range(COUNT)]
    src = ["#include <string.h>"]
    src += [c_decl(a) for a in registry]
    src += [c_functions(a) for a in tops]
    return tops, "\n\n".join(src)


TOPS, SOURCE = generate()


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    d = tmp_path_factory.mktemp("random_aggregates")
    (d / "agg.c").write_text(SOURCE)
    so = d / "libagg.so"
    subprocess.run([CC, "-O1", "-shared", "-fPIC", "-o", str(so), str(d / "agg.c")], check=True)
    return B.load_library(str(so))


_TYPES = {}


def ctype_of(agg):
    if agg.name in _TYPES:
        return _TYPES[agg.name]
    kw = "union" if agg.union else "struct"
    t = (B.new_union_type if agg.union else B.new_struct_type)(f"{kw} {agg.name}")
    fields = []
    for fname, kind, spec in agg.fields:
        if kind == "scalar":
            fields.append((fname, B.new_primitive_type(spec), -1))
        elif kind == "bits":
            fields.append((fname, B.new_primitive_type(spec[0]), spec[1]))
        elif kind == "array":
            item = B.new_primitive_type(spec[0])
            fields.append((fname, B.new_array_type(B.new_pointer_type(item), spec[1]), -1))
        else:
            fields.append((fname, ctype_of(spec), -1))
    sflags = SF_PACKED if agg.packed else 0
    B.complete_struct_or_union(t, fields, None, -1, -1, sflags, agg.pack)
    _TYPES[agg.name] = t
    return t


def get(v, path):
    for p in path:
        v = v[p] if isinstance(p, int) else getattr(v, p)
    return v


def put(v, path, x):
    for p in path[:-1]:
        v = v[p] if isinstance(p, int) else getattr(v, p)
    last = path[-1]
    if isinstance(last, int):
        v[last] = x
    else:
        setattr(v, last, x)


def py_value(leaf, k, seed):
    x = value(leaf, k, seed)
    return bytes([x]) if leaf.ctype == "char" else x


def build(t, agg, seed):
    p = B.newp(B.new_pointer_type(t))
    for k, leaf in enumerate(leaves(agg)):
        put(p, leaf.path, py_value(leaf, k, seed))
    return p[0]


def mismatches(v, agg, seed):
    return [
        (leaf.path, get(v, leaf.path), py_value(leaf, k, seed))
        for k, leaf in enumerate(leaves(agg))
        if get(v, leaf.path) != py_value(leaf, k, seed)
    ]


@pytest.mark.parametrize("agg", TOPS, ids=[a.name for a in TOPS])
def test_random_aggregate(lib, agg):
    t = ctype_of(agg)
    INT = B.new_primitive_type("int")
    DOUBLE = B.new_primitive_type("double")
    LONG = B.new_primitive_type("long")
    fn = B.new_function_type
    make = lib.load_function(fn((INT,), t), f"make_{agg.name}")
    check = lib.load_function(fn((t, INT), INT), f"check_{agg.name}")
    late = lib.load_function(fn((DOUBLE,) * 7 + (LONG,) * 5 + (t, INT), INT), f"late_{agg.name}")
    cb_t = fn((t, INT), t)
    via = lib.load_function(fn((cb_t, INT), INT), f"via_{agg.name}")
    for seed in (1, 77, 12345):
        got = make(seed)
        assert mismatches(got, agg, seed) == [], c_decl(agg)
        assert check(build(t, agg, seed), seed) == 0, c_decl(agg)
        assert check(got, seed) == 0
        assert late(*[4.0] * 7, *[3] * 5, build(t, agg, seed), seed) == 0, c_decl(agg)
        errors = []

        def cb(v, s, errors=errors):
            errors.extend(mismatches(v, agg, s))
            return build(t, agg, s + 1)

        assert via(B.callback(cb_t, cb), seed) == 0, c_decl(agg)
        assert errors == [], c_decl(agg)
