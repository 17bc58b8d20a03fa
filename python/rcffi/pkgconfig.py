"""``pkg-config`` support for ``ffi.set_source_pkgconfig()``."""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

from ._rcffi import PkgConfigError

__all__ = ["flags_from_pkgconfig", "merge_flags"]


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


def _call(libname: str, flag: str) -> str:
    cmd = ["pkg-config", flag, libname]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise PkgConfigError(
            f"cannot run pkg-config ({e}): install it (e.g. 'apt-get install pkg-config') or "
            "pass the flags to set_source() yourself"
        ) from None
    if result.returncode != 0:
        raise PkgConfigError(result.stderr.strip() or f"pkg-config {flag} {libname} failed")
    return result.stdout


def flags_from_pkgconfig(libs: list[str]) -> dict[str, list[Any]]:
    """The setuptools ``Extension`` keywords ``pkg-config`` gives for
    ``libs``: include_dirs, define_macros, extra_compile_args,
    library_dirs, libraries, extra_link_args."""
    out: dict[str, list[Any]] = {}

    def add(key: str, value: Any) -> None:
        out.setdefault(key, []).append(value)

    for lib in libs:
        for word in shlex.split(_call(lib, "--cflags")):
            if word.startswith("-I"):
                add("include_dirs", word[2:])
            elif word.startswith("-D"):
                name, _, value = word[2:].partition("=")
                add("define_macros", (name, value or None))
            else:
                add("extra_compile_args", word)
        for word in shlex.split(_call(lib, "--libs")):
            if word.startswith("-L"):
                add("library_dirs", word[2:])
            elif word.startswith("-l"):
                add("libraries", word[2:])
            else:
                add("extra_link_args", word)
    return out
