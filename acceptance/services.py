"""Services some packages' tests need, started by the suite itself on loopback."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the user postgres."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@contextlib.contextmanager
def postgresql() -> Iterator[dict[str, str]]:
    """A throw-away PostgreSQL server on 127.0.0.1 (trust authentication, a
    database ``acceptance``); yields the libpq environment to reach it."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL's server is not installed (Debian package postgresql)")
    data = tempfile.mkdtemp(prefix="rcffi-acc-pg-")
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    log = os.path.join(data, "server.log")
    try:
        subprocess.run(
            _as_postgres([f"{bindir}/initdb", "-D", f"{data}/db", "-A", "trust", "-U", "postgres"]),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_postgres(
                [
                    f"{bindir}/pg_ctl",
                    "-D",
                    f"{data}/db",
                    "-l",
                    log,
                    "-w",
                    "-o",
                    f"-h 127.0.0.1 -p {port} -k {data} -c fsync=off",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        env = {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(port),
            "PGUSER": "postgres",
            "PGDATABASE": "acceptance",
        }
        for _ in range(50):
            r = subprocess.run(
                [
                    f"{bindir}/createdb",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "postgres",
                    "acceptance",
                ],
                capture_output=True,
                check=False,
            )
            if r.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"createdb failed: {r.stderr.decode(errors='replace')}")
        yield env
    finally:
        subprocess.run(
            _as_postgres([f"{bindir}/pg_ctl", "-D", f"{data}/db", "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(data, ignore_errors=True)


SERVICES = {"postgresql": postgresql}
