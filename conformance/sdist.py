"""Download and unpack cffi's sdist (its test suites) into the ignored ``.cache/`` folder.

Nothing from cffi is ever committed: the tests are fetched from PyPI with pip at test time.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

CFFI_VERSION = "2.1.1"
SDIST_NAME = f"cffi-{CFFI_VERSION}.tar.gz"
SDIST_SHA256 = "dd31f52ea1086513bb9df30f8fcee9b8918323ae067a3d5b78bc826a000712be"
MARKER = ".rcffi-conformance-extracted"


class SdistError(RuntimeError):
    """The sdist could not be downloaded, verified or extracted."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def download(sdist_dir: Path) -> Path:
    """Make sure ``sdist_dir`` holds the verified sdist archive (pip download if missing)."""
    archive = sdist_dir / SDIST_NAME
    if archive.is_file() and sha256_of(archive) == SDIST_SHA256:
        return archive
    archive.unlink(missing_ok=True)
    sdist_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"cffi=={CFFI_VERSION}",
        "-d",
        str(sdist_dir),
    ]
    print("conformance: downloading the cffi sdist:", " ".join(cmd[2:]), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not archive.is_file():
        raise SdistError(f"pip download failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    actual = sha256_of(archive)
    if actual != SDIST_SHA256:
        archive.unlink()
        raise SdistError(f"{SDIST_NAME}: unexpected sha256 {actual}")
    return archive


def extract(archive: Path, cache: Path) -> Path:
    """Extract the archive to ``cache/cffi-VERSION`` via a temporary folder, then mark it."""
    target = cache / f"cffi-{CFFI_VERSION}"
    tmp = cache / f".extract-{CFFI_VERSION}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tmp, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            tar.extractall(tmp)
    (tmp / target.name).rename(target)
    shutil.rmtree(tmp, ignore_errors=True)
    (target / MARKER).write_text(SDIST_SHA256 + "\n")
    return target


def ensure_sdist(cache: Path) -> Path:
    """Return the extracted sdist folder, downloading/extracting it unless already complete."""
    target = cache / f"cffi-{CFFI_VERSION}"
    marker = target / MARKER
    if marker.is_file() and marker.read_text().strip() == SDIST_SHA256:
        return target
    archive = download(cache / "sdist")
    print(f"conformance: extracting {archive.name} to {target}", flush=True)
    return extract(archive, cache)
