"""``python -m rcffi``: command-line helpers (``--version`` prints rcffi's).

``check FILE.h``
    Parse the C declarations of ``FILE.h`` as ``ffi.cdef()`` would and list
    what they declare; on a parse error print it (with the line and column
    the parser gives) and exit with status 1.

``stub BUILD.py:VAR -o OUT.pyi``
    Import the build script ``BUILD.py``, take its FFI object ``VAR`` and
    write a type stub for the module it builds (see :mod:`rcffi.stubgen`).

``gen-src exec-python BUILD.py OUT.c`` / ``gen-src read-sources MOD CDEF CSRC OUT.c``
    Write the C source of an API-mode module, as cffi 2.1's
    ``cffi-gen-src`` (see :mod:`rcffi.gen_src`).

``cffi-wheel -o DIR``
    Write a wheel of a distribution named ``cffi`` that is rcffi, and one of
    rcffi itself (see :mod:`rcffi.cffi_wheel`).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from . import stubgen

_ENUM_RE = re.compile(r"\benum\s+([A-Za-z_]\w*)")
_POSITION_RE = re.compile(r"at line (\d+), column (\d+)")


def _enums(ffi: Any, source: str) -> list[str]:
    """The enum tags named in ``source`` that ``ffi`` knows as enums."""
    names = set()
    for tag in _ENUM_RE.findall(source):
        try:
            if ffi.typeof(f"enum {tag}").kind == "enum":
                names.add(f"enum {tag}")
        except Exception:  # not declared after all (e.g. in a comment)
            pass
    return sorted(names)


def _describe(ffi: Any, source: str = "") -> list[str]:
    """Lines listing the declarations of ``ffi`` (parsed from ``source``),
    grouped by kind."""
    typedefs, structs, unions = ffi.list_types()
    funcs, variables, consts, externs = ffi._declarations()
    out: list[str] = []

    def group(title: str, items: list[str]) -> None:
        out.append(f"{title} ({len(items)}):")
        out.extend(f"  {item}" for item in items)

    group("functions", [f"{n}: {funcs[n].cname}" for n in sorted(funcs)])
    if externs:
        group('extern "Python"', [f"{n}: {externs[n].cname}" for n in sorted(externs)])
    group("structs", sorted(f"struct {n}" for n in structs))
    group("unions", sorted(f"union {n}" for n in unions))
    group("enums", _enums(ffi, source))
    group("typedefs", [f"{n} = {ffi.typeof(n).cname}" for n in sorted(typedefs)])
    group("constants and enum values", [f"{n} = {consts[n]!r}" for n in sorted(consts)])
    group(
        "globals",
        [
            f"{n}: {variables[n][0].cname}{' (const)' if variables[n][1] else ''}"
            for n in sorted(variables)
        ],
    )
    return out


def cmd_check(path: str) -> int:
    """The ``check`` command: 0 if ``path`` parses, 1 if not."""
    from . import FFI, CDefError, FFIError

    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except OSError as e:
        print(f"{path}: {e.strerror}", file=sys.stderr)
        return 1
    ffi = FFI()
    try:
        ffi.cdef(source)
    except (CDefError, FFIError) as e:
        # ``FILE:LINE:COL: error: ...`` as compilers write it, when the
        # parser says where; its message (with the source line) follows.
        m = _POSITION_RE.search(str(e))
        where = f"{path}:{m.group(1)}:{m.group(2)}" if m else path
        print(f"{where}: error: {e}", file=sys.stderr)
        return 1
    print(f"{path}: ok")
    print("\n".join(_describe(ffi, source)))
    return 0


def load_ffi(spec: str) -> Any:
    """Import ``BUILD.py:VAR`` (a path to a build script and the name of
    its FFI object, ``ffibuilder`` if left out) and return the object."""
    filename, _, var = spec.rpartition(":")
    if not filename or "/" in var or os.sep in var:
        filename, var = spec, "ffibuilder"
    if not os.path.isfile(filename):
        raise SystemExit(f"{filename}: no such build script")
    module_spec = importlib.util.spec_from_file_location("_rcffi_stub_build", filename)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    # The build script may import its neighbours, as setuptools allows.
    sys.path.insert(0, os.path.dirname(os.path.abspath(filename)))
    try:
        module_spec.loader.exec_module(module)
    finally:
        del sys.path[0]
    try:
        return getattr(module, var)
    except AttributeError:
        raise SystemExit(f"{filename}: no variable named {var!r}") from None


def cmd_stub(spec: str, output: str | None) -> int:
    """The ``stub`` command: write the stub of the build script's FFI."""
    ffi = load_ffi(spec)
    if output is None:
        module_name = getattr(ffi, "_assigned_source", None)
        name = module_name[0] if isinstance(module_name, tuple) else None
        output = f"{(name or 'lib').rpartition('.')[2]}.pyi"
    stubgen.emit_stub(ffi, output)
    print(f"wrote {output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (``sys.argv[1:]`` by default)."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="python -m rcffi", description="rcffi helpers")
    parser.add_argument("--version", action="version", version=f"rcffi {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="parse a header as ffi.cdef() does and list its declarations")
    p.add_argument("header")
    p = sub.add_parser("stub", help="write a .pyi stub for a build script's lib")
    p.add_argument("build", metavar="BUILD.py:VAR")
    p.add_argument("-o", "--output", metavar="OUT.pyi")
    sub.add_parser("gen-src", help="write the C source of an API-mode module", add_help=False)
    p = sub.add_parser("cffi-wheel", help="write a wheel of a 'cffi' distribution that is rcffi")
    p.add_argument("-o", "--output", metavar="DIR", required=True)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gen-src"]:
        from . import gen_src

        return gen_src.main(argv[1:], prog="python -m rcffi gen-src")
    args = parser.parse_args(argv)
    if args.command == "cffi-wheel":
        from . import cffi_wheel

        return cffi_wheel.cmd_cffi_wheel(args.output)
    if args.command == "check":
        return cmd_check(args.header)
    return cmd_stub(args.build, args.output)
