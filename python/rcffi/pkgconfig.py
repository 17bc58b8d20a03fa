"""``pkg-config`` support for ``ffi.set_source_pkgconfig()``."""

from __future__ import annotations

import shlex
import subprocess
import sys
from typing import Any

from ._rcffi import PkgConfigError

__all__ = ["call", "flags_from_pkgconfig", "merge_flags"]


def merge_flags(cfg1: dict[str, Any], cfg2: dict[str, Any]) -> dict[str, Any]:
    """Appends the list values of ``cfg2`` to those of ``cfg1`` (in place)."""
    for key, value in cfg2.items():
        if not isinstance(value, list):
            raise TypeError(f"cfg2[{key!r}] must be a list, not {type(value).__name__}")
        cfg1.setdefault(key, [])
        if not isinstance(cfg1[key], list):
            raise TypeError(f"cfg1[{key!r}] must be a list, not {type(cfg1[key]).__name__}")
        cfg1[key] = list(cfg1[key]) + value
    return cfg1


def call(libname: str, flag: str, encoding: str = sys.getfilesystemencoding()) -> str:
    """The output of ``pkg-config --print-errors FLAG LIBNAME``, as text;
    a ``PkgConfigError`` with pkg-config's own message if it fails."""
    cmd = ["pkg-config", "--print-errors", flag, libname]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        raise PkgConfigError(f"cannot run pkg-config: {str(e).strip()}") from None
    out, err = proc.communicate()
    if proc.returncode != 0:
        if isinstance(err, bytes):
            err = err.decode(encoding, "replace")
        raise PkgConfigError(err.strip() or f"pkg-config {flag} {libname} failed")
    if isinstance(out, bytes):
        try:
            out = out.decode(encoding)
        except UnicodeDecodeError:
            raise PkgConfigError(
                f"pkg-config {flag} {libname} returned bytes that cannot be decoded with "
                f"encoding {encoding!r}:\n{out!r}"
            ) from None
    if "\\" in out:
        # shlex would read the escapes differently from the shell pkg-config
        # quoted for: refuse rather than guess.
        raise PkgConfigError(
            f"pkg-config {flag} {libname} returned an unsupported backslash-escaped output:\n"
            f"{out!r}"
        )
    return out


def flags_from_pkgconfig(libs: list[str]) -> dict[str, list[Any]]:
    """The setuptools ``Extension`` keywords ``pkg-config`` gives for
    ``libs``: include_dirs, define_macros, extra_compile_args,
    library_dirs, libraries, extra_link_args."""
    out: dict[str, list[Any]] = {}

    def add(key: str, value: Any) -> None:
        out.setdefault(key, []).append(value)

    for lib in libs:
        for word in shlex.split(call(lib, "--cflags")):
            if word.startswith("-I"):
                add("include_dirs", word[2:])
            elif word.startswith("-D"):
                name, _, value = word[2:].partition("=")
                add("define_macros", (name, value or None))
            else:
                add("extra_compile_args", word)
        for word in shlex.split(call(lib, "--libs")):
            if word.startswith("-L"):
                add("library_dirs", word[2:])
            elif word.startswith("-l"):
                add("libraries", word[2:])
            else:
                add("extra_link_args", word)
    return out
