"""``python -m rcffi cffi-wheel -o DIR``: rcffi as the ``cffi`` of an environment.

Writes two wheels into ``DIR``:

* ``rcffi-VERSION-cp3X-abi3-PLATFORM.whl``: this rcffi (its package folder
  as installed or built here, native module included), with rcffi's
  ``distutils.setup_keywords`` entry points ``rcffi_modules`` and
  ``cffi_modules``;
* ``cffi-2.1.1+rcffi.VERSION-py3-none-any.whl``: a distribution named
  ``cffi`` whose version is the cffi rcffi implements, with a local version
  label saying it is rcffi (PEP 440: ``cffi==2.1.1`` and ``cffi>=1.0``
  accept it).  It requires ``rcffi==VERSION``; its ``cffi`` package runs
  ``rcffi.install_as_cffi()`` and its ``_cffi_backend`` module is
  ``rcffi._cffi_backend``.  Its console script ``cffi-gen-src`` is
  ``python -m rcffi gen-src``.  It registers no ``cffi_modules`` keyword of
  its own: rcffi's distribution registers it, so setuptools calls it once.

``pip install --find-links DIR cffi`` then makes rcffi the ``cffi`` of the
environment; with ``PIP_FIND_LINKS=DIR`` and a constraints file holding
``cffi==2.1.1+rcffi.VERSION`` (``PIP_CONSTRAINT``), pip's isolated builds
(``build-system.requires = ["cffi"]``) get it too.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sysconfig
import zipfile
from collections.abc import Iterable
from pathlib import Path

from . import _as_cffi

# The oldest CPython the native module's stable ABI targets (pyo3's
# ``abi3-py3XX`` feature in Cargo.toml).
ABI3_MIN = "cp310"

_CFFI_INIT = '''\
"""cffi, provided by rcffi: ``import cffi`` gives rcffi (see rcffi._as_cffi)."""

import rcffi as _rcffi

_rcffi.install_as_cffi()
'''

_BACKEND = '''\
"""_cffi_backend, provided by rcffi: this module is rcffi._cffi_backend."""

import sys

import rcffi

sys.modules[__name__] = rcffi._cffi_backend
'''


def write_stand_in(folder: Path) -> None:
    """Writes the ``cffi`` package and ``_cffi_backend`` module of the cffi
    wheel into ``folder`` (for a ``PYTHONPATH`` entry)."""
    (folder / "cffi").mkdir(parents=True, exist_ok=True)
    (folder / "cffi" / "__init__.py").write_text(_CFFI_INIT)
    (folder / "_cffi_backend.py").write_text(_BACKEND)


def rcffi_version() -> str:
    from . import __version__

    return __version__


def cffi_version() -> str:
    """The version of the ``cffi`` distribution: cffi's, labelled rcffi."""
    return f"{_as_cffi.CFFI_VERSION}+rcffi.{rcffi_version()}"


def _platform_tag() -> str:
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _write_wheel(path: Path, files: Iterable[tuple[str, bytes]], dist_info: str) -> None:
    """A wheel from ``(arcname, bytes)`` pairs; RECORD is added last."""
    records = []
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, data in files:
            info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
            records.append(_record_line(arcname, data))
        record = f"{dist_info}/RECORD"
        records.append(f"{record},,")
        z.writestr(zipfile.ZipInfo(record, date_time=(2020, 1, 1, 0, 0, 0)), "\n".join(records))
    os.replace(tmp, path)


def _metadata(name: str, version: str, summary: str, requires: list[str]) -> bytes:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
        "License: MIT",
        "Requires-Python: >=3.10",
        *(f"Requires-Dist: {r}" for r in requires),
    ]
    return ("\n".join(lines) + "\n").encode()


def _wheel_file(tag: str, purelib: bool) -> bytes:
    return (
        "Wheel-Version: 1.0\n"
        "Generator: rcffi cffi-wheel\n"
        f"Root-Is-Purelib: {'true' if purelib else 'false'}\n"
        f"Tag: {tag}\n"
    ).encode()


def _package_files(folder: Path, prefix: str) -> list[tuple[str, bytes]]:
    out = []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        rel = path.relative_to(folder).as_posix()
        out.append((f"{prefix}/{rel}", path.read_bytes()))
    return out


def build_rcffi_wheel(out: Path) -> Path:
    """The wheel of this rcffi (its installed package folder)."""
    import rcffi

    folder = Path(rcffi.__file__).parent
    if not any(folder.glob("_rcffi*.so")):
        raise SystemExit(f"{folder}: no native module _rcffi*.so (build rcffi first)")
    version = rcffi_version()
    tag = f"{ABI3_MIN}-abi3-{_platform_tag()}"
    dist_info = f"rcffi-{version}.dist-info"
    files = _package_files(folder, "rcffi")
    files += [
        (
            f"{dist_info}/METADATA",
            _metadata("rcffi", version, "CFFI rebuilt with a Rust core", []),
        ),
        (f"{dist_info}/WHEEL", _wheel_file(tag, purelib=False)),
        (
            f"{dist_info}/entry_points.txt",
            b"[distutils.setup_keywords]\n"
            b"cffi_modules = rcffi.setuptools_ext:cffi_modules\n"
            b"rcffi_modules = rcffi.setuptools_ext:rcffi_modules\n",
        ),
    ]
    path = out / f"rcffi-{version}-{tag}.whl"
    _write_wheel(path, files, dist_info)
    return path


def build_cffi_wheel(out: Path) -> Path:
    """The wheel of the distribution ``cffi`` that is rcffi."""
    version = cffi_version()
    dist_info = f"cffi-{version}.dist-info"
    summary = f"rcffi standing in for cffi {_as_cffi.CFFI_VERSION} (cffi, _cffi_backend)"
    files = [
        ("cffi/__init__.py", _CFFI_INIT.encode()),
        ("_cffi_backend.py", _BACKEND.encode()),
        (
            f"{dist_info}/METADATA",
            _metadata("cffi", version, summary, [f"rcffi=={rcffi_version()}"]),
        ),
        (f"{dist_info}/WHEEL", _wheel_file("py3-none-any", purelib=True)),
        (
            f"{dist_info}/entry_points.txt",
            b"[console_scripts]\ncffi-gen-src = rcffi.gen_src:main\n",
        ),
        (f"{dist_info}/top_level.txt", b"_cffi_backend\ncffi\n"),
    ]
    path = out / f"cffi-{version}-py3-none-any.whl"
    _write_wheel(path, files, dist_info)
    return path


def cmd_cffi_wheel(output: str) -> int:
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    for path in (build_rcffi_wheel(out), build_cffi_wheel(out)):
        print(f"wrote {path}")
    constraints = out / "constraints.txt"
    constraints.write_text(f"cffi=={cffi_version()}\nrcffi=={rcffi_version()}\n")
    print(f"wrote {constraints}")
    return 0
