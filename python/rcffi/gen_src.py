"""``python -m rcffi gen-src``: the C source of an API-mode module, for build
systems that compile it themselves (meson-python, scikit-build-core).

The command line of cffi 2.1's ``cffi-gen-src`` (``python -m cffi.gen_src``
after ``rcffi.install_as_cffi()``; the ``cffi-gen-src`` script of the wheel
``python -m rcffi cffi-wheel`` makes):

``exec-python [--ffi-var NAME] BUILD.py OUTPUT``
    run the build script ``BUILD.py`` (with ``__name__`` set to
    ``"cffi.gen_src"``, so its ``if __name__ == "__main__":`` part is
    skipped), take its FFI object ``NAME`` (``ffibuilder`` by default; a
    callable returning one is called) and write the module's C to
    ``OUTPUT`` (``-`` for standard output);

``read-sources MODULE CDEF_FILE CSRC_FILE OUTPUT``
    the FFI of ``cdef(CDEF_FILE)`` + ``set_source(MODULE, CSRC_FILE)``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from typing import Any


def ffi_from_script(path: str, ffi_var: str) -> Any:
    """Run the build script at ``path`` and return its FFI ``ffi_var``."""
    from .api import FFI

    path = os.path.abspath(path)
    with open(path, encoding="utf-8") as f:
        code = compile(f.read(), path, "exec")
    scope: dict[str, Any] = {"__name__": "cffi.gen_src", "__file__": path}
    saved = sys.path[:]
    sys.path.insert(0, os.path.dirname(path))
    try:
        exec(code, scope)
    finally:
        sys.path[:] = saved
    if ffi_var not in scope:
        raise NameError(f"{path}: the build script defines no {ffi_var!r} (the FFI object)")
    ffi = scope[ffi_var]
    if not isinstance(ffi, FFI) and callable(ffi):
        ffi = ffi()
    if not isinstance(ffi, FFI):
        raise TypeError(f"{path}: {ffi_var!r} is {type(ffi).__name__}, not an FFI object")
    return ffi


def ffi_from_sources(module_name: str, cdef: str, csrc: str) -> Any:
    """The FFI of ``cdef`` with ``set_source(module_name, csrc)``."""
    from .api import FFI

    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source(module_name, csrc)
    return ffi


def c_source(ffi: Any) -> str:
    """What ``ffi.emit_c_code()`` writes."""
    out = io.StringIO()
    ffi.emit_c_code(out)
    return out.getvalue()


def _write(output: str, text: str) -> None:
    if output == "-":
        sys.stdout.write(text)
    else:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def parser(prog: str = "python -m rcffi gen-src") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Write the C source of an API-mode module.")
    sub = p.add_subparsers(dest="mode", required=True)
    e = sub.add_parser("exec-python", help="run a build script that defines an FFI object")
    e.add_argument("--ffi-var", default="ffibuilder", help="the FFI's name (ffibuilder)")
    e.add_argument("pyfile", help="the build script")
    e.add_argument("output", help="where the C goes ('-': standard output)")
    r = sub.add_parser("read-sources", help="an FFI from a cdef file and a C source file")
    r.add_argument("module_name", help="the module's full name, packages included")
    r.add_argument("cdef", help="the file of C declarations (cdef)")
    r.add_argument("csrc", help="the file of C source put before the generated code")
    r.add_argument("output", help="where the C goes ('-': standard output)")
    return p


def main(argv: Sequence[str] | None = None, prog: str = "cffi-gen-src") -> int:
    p = parser(prog)
    args = p.parse_args(argv)
    if args.mode == "exec-python":
        ffi = ffi_from_script(args.pyfile, args.ffi_var)
    else:
        if os.path.exists(args.cdef) and os.path.exists(args.csrc):
            if os.path.samefile(args.cdef, args.csrc):
                p.error("the cdef file and the C source file are the same file")
        ffi = ffi_from_sources(args.module_name, _read(args.cdef), _read(args.csrc))
    _write(args.output, c_source(ffi))
    return 0


if __name__ == "__main__":
    sys.exit(main(prog=f"python -m {__spec__.name if __spec__ else 'rcffi.gen_src'}"))
