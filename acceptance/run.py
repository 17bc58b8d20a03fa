"""The real-package suite: packages from PyPI on rcffi and on the real cffi.

    python acceptance/run.py                       # every package, both, source mode
    python acceptance/run.py -p soundfile -p lmdb  # some packages
    python acceptance/run.py --impl rcffi          # one implementation
    python acceptance/run.py --mode wheel          # upstream wheels (built by cffi)
    python acceptance/run.py --table               # print the last results only

Everything lives under ``.cache/acceptance/`` (ignored by git): the sdists
(sha256-checked), one private venv per implementation (``venv-rcffi`` has
the ``cffi`` wheel of ``python -m rcffi cffi-wheel``, so ``cffi``,
``_cffi_backend`` and the ``cffi_modules`` keyword are rcffi's and the real
cffi is not installed; ``venv-cffi`` has ``cffi==2.1.1``), the built wheels,
the logs and one JSON result per package, implementation and mode.  The
exit status is 0 when every package run has rcffi's counts equal to cffi's.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from packages import PACKAGES, WHEEL_ONLY, Package, by_name  # noqa: E402
from services import SERVICES  # noqa: E402

CACHE = ROOT / ".cache" / "acceptance"
CFFI_VERSION = "2.1.1"
IMPLS = ("rcffi", "cffi")
TEST_TIMEOUT = 1800


def log(msg: str) -> None:
    print(f"[acceptance] {msg}", flush=True)


def dev_pins(*names: str) -> list[str]:
    """The pins of requirements-dev.txt for these distributions."""
    pins = {}
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        req = line.split("#", 1)[0].strip()
        if "==" in req:
            pins[req.split("==")[0].lower()] = req
    return [pins[n] for n in names]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a venv's processes: no PYTHONPATH (the project's
    python/ must not be importable there), no user site."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra or {})
    return env


def sh(cmd: list, logfile: Path | None = None, timeout: int | None = None, **kw) -> int:
    """Run ``cmd``, output to ``logfile`` (appended) or inherited."""
    if logfile is None:
        return subprocess.run([str(c) for c in cmd], check=False, timeout=timeout, **kw).returncode
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logfile, "a", encoding="utf-8") as f:
        f.write(f"$ {' '.join(str(c) for c in cmd)}\n")
        f.flush()
        try:
            return subprocess.run(
                [str(c) for c in cmd],
                stdout=f,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=timeout,
                **kw,
            ).returncode
        except subprocess.TimeoutExpired:
            f.write(f"timed out after {timeout} s\n")
            return -9


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- prerequisites -----------------------------------------------------------


def missing_apt(pkgs: tuple[str, ...]) -> list[str]:
    missing = []
    for p in pkgs:
        r = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True, check=False
        )
        if "install ok installed" not in r.stdout:
            missing.append(p)
    return missing


def ensure_apt(pkgs: tuple[str, ...]) -> list[str]:
    """Install missing Debian packages when root; return those still missing."""
    missing = missing_apt(pkgs)
    if missing and os.geteuid() == 0:
        log(f"apt-get install {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
        if sh(cmd, CACHE / "logs" / "apt.log", env=env) != 0:
            sh(["apt-get", "update", "-qq"], CACHE / "logs" / "apt.log", env=env)
            sh(cmd, CACHE / "logs" / "apt.log", env=env)
        missing = missing_apt(pkgs)
    return missing


def sdist(pkg: Package) -> Path:
    """The extracted, sha256-checked sdist of ``pkg``."""
    dest = CACHE / "src" / f"{pkg.name}-{pkg.version}"
    if (dest / ".complete").exists():
        return _tree(dest)
    dl = CACHE / "sdist"
    dl.mkdir(parents=True, exist_ok=True)
    found = [p for p in dl.iterdir() if _is_sdist_of(p.name, pkg)]
    if not found:
        # The file itself, from the index's simple API: `pip download` of an
        # sdist would prepare its metadata, running setup.py and fetching
        # its setup_requires (the real cffi among them).
        try:
            _fetch_sdist(pkg, dl)
        except OSError as e:
            raise RuntimeError(f"download of {pkg.name} {pkg.version} failed: {e}") from e
        found = [p for p in dl.iterdir() if _is_sdist_of(p.name, pkg)]
        if not found:
            raise RuntimeError(f"download of {pkg.name} {pkg.version}: no sdist on the index")
    archive = found[0]
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if pkg.sha256 and digest != pkg.sha256:
        raise RuntimeError(f"{archive.name}: sha256 {digest}, expected {pkg.sha256}")
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "tree").mkdir(parents=True)
    with tarfile.open(archive) as t:
        t.extractall(dest / "tree", filter="data")
    (dest / ".complete").write_text(archive.name)
    return _tree(dest)


def _fetch_sdist(pkg: Package, dl: Path) -> None:
    """Downloads the ``.tar.gz`` sdist of ``pkg`` into ``dl`` (PEP 691 JSON)."""
    import urllib.request

    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    req = urllib.request.Request(
        f"{index}/{pkg.name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        files = json.load(r)["files"]
    for f in files:
        if _is_sdist_of(f["filename"], pkg):
            with urllib.request.urlopen(f["url"], timeout=300) as r:
                data = r.read()
            tmp = dl / (f["filename"] + ".part")
            tmp.write_bytes(data)
            tmp.rename(dl / f["filename"])
            return


def _tree(dest: Path) -> Path:
    return next((dest / "tree").iterdir())


def _is_sdist_of(filename: str, pkg: Package) -> bool:
    norm = filename.lower().replace("-", "_")
    want = f"{pkg.name}-{pkg.version}.".lower().replace("-", "_")
    return norm.startswith(want) and norm.endswith(".tar.gz")


# -- venvs ---------------------------------------------------------------------


def base_python() -> str:
    return getattr(sys, "_base_executable", None) or sys.executable


def venv_python(impl: str) -> Path:
    return CACHE / f"venv-{impl}" / "bin" / "python"


def rcffi_wheels() -> Path:
    """The wheels of ``python -m rcffi cffi-wheel`` for this tree's rcffi."""
    out = CACHE / "wheels"
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    r = subprocess.run(
        [sys.executable, "-m", "rcffi", "cffi-wheel", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise RuntimeError(f"python -m rcffi cffi-wheel failed:\n{r.stdout}{r.stderr}")
    return out


def make_venv(impl: str) -> Path:
    py = venv_python(impl)
    logfile = CACHE / "logs" / f"venv-{impl}.log"
    common = dev_pins("setuptools", "wheel", "pytest")
    if not py.exists():
        sh([base_python(), "-m", "venv", py.parent.parent], logfile)
        if sh([py, "-m", "pip", "install", "-q", *common], logfile, env=clean_env()) != 0:
            raise RuntimeError(f"venv-{impl}: pip install failed ({logfile})")
    if impl == "rcffi":
        # Always this tree's rcffi, as the cffi of the venv.
        wheels = rcffi_wheels()
        cmd = [
            py,
            "-m",
            "pip",
            "install",
            "-q",
            "--force-reinstall",
            "--no-deps",
            *sorted(wheels.glob("*.whl")),
        ]
    else:
        cmd = [py, "-m", "pip", "install", "-q", f"cffi=={CFFI_VERSION}"]
    if sh(cmd, logfile, env=clean_env()) != 0:
        raise RuntimeError(f"venv-{impl}: installing {impl} failed ({logfile})")
    return py


def pip_install(py: Path, reqs: tuple[str, ...], logfile: Path, impl: str) -> bool:
    if not reqs:
        return True
    cmd = [py, "-m", "pip", "install", "-q", *reqs]
    if impl == "rcffi":
        # The venv's cffi stays rcffi's whatever a requirement asks for.
        cmd += [
            "--constraint",
            str(CACHE / "wheels" / "constraints.txt"),
            "--find-links",
            str(CACHE / "wheels"),
        ]
    return sh(cmd, logfile, env=clean_env()) == 0


# -- one package -----------------------------------------------------------------


def result_path(mode: str, impl: str, pkg: Package) -> Path:
    return CACHE / "results" / f"{mode}-{impl}-{pkg.name}.json"


def build_source(py: Path, impl: str, pkg: Package, src: Path, logfile: Path) -> Path | None:
    """``pip wheel`` of the sdist without build isolation (the build sees the
    venv's cffi); the wheel's path, or None."""
    out = CACHE / "built" / impl / pkg.name
    shutil.rmtree(out, ignore_errors=True)
    archive = (
        CACHE / "sdist" / (CACHE / "src" / f"{pkg.name}-{pkg.version}" / ".complete").read_text()
    )
    code = sh(
        [py, "-m", "pip", "wheel", "-v", "--no-build-isolation", "--no-deps", "-w", out, archive],
        logfile,
        env=clean_env(pkg.env),
        cwd=CACHE,
        timeout=TEST_TIMEOUT,
    )
    wheels = sorted(out.glob("*.whl")) if out.exists() else []
    if code != 0 or not wheels:
        return None
    return wheels[0]


def install_wheel_mode(py: Path, impl: str, pkg: Package, logfile: Path) -> bool:
    req = f"{pkg.name}=={pkg.wheel_version}"
    return pip_install(py, ("--only-binary", pkg.name, "--force-reinstall", req), logfile, impl)


def make_test_copy(impl: str, pkg: Package, src: Path) -> Path:
    work = CACHE / "work" / impl / pkg.name
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(src, work, symlinks=True)
    for d in pkg.drop:
        target = work / d
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for name, version, sha, member, dest in pkg.test_data:
        data = sdist(Package(name, version, sha, covers=()))
        shutil.copytree(data / member, work / dest, dirs_exist_ok=True)
    shutil.copytree(HERE / "server", work / "_acceptance_server")
    if not has_pytest_config(work):
        # Else pytest would take this repository's configuration (the copy
        # lives under its .cache/), and the rootdir with it.
        (work / "pytest.ini").write_text("[pytest]\n")
    return work


def has_pytest_config(folder: Path) -> bool:
    """Whether the package configures pytest itself (pytest's own rules)."""
    sections = {
        "pytest.ini": "",
        "pyproject.toml": "[tool.pytest.ini_options]",
        "tox.ini": "[pytest]",
        "setup.cfg": "[tool:pytest]",
    }
    for name, section in sections.items():
        path = folder / name
        if path.is_file() and section in path.read_text(errors="replace"):
            return True
    return False


def run_package(mode: str, impl: str, pkg: Package) -> dict:
    logfile = CACHE / "logs" / f"{mode}-{impl}-{pkg.name}.log"
    logfile.unlink(missing_ok=True)
    result: dict = {"package": pkg.name, "version": pkg.version, "impl": impl, "mode": mode}
    missing = ensure_apt(pkg.apt)
    if missing:
        result["status"] = f"missing Debian packages: {' '.join(missing)}"
        return result
    py = venv_python(impl)
    if not pip_install(py, pkg.build_requires + pkg.test_requires, logfile, impl):
        result["status"] = "pip install of the requirements failed"
        result["log"] = tail(logfile)
        return result
    src = sdist(pkg)
    # A copy installed by an earlier run must not take part in the build.
    sh([py, "-m", "pip", "uninstall", "-y", "-q", pkg.name], logfile, env=clean_env())
    if mode == "source":
        wheel = build_source(py, impl, pkg, src, logfile)
        if wheel is None:
            result["status"] = "build failed"
            result["log"] = tail(logfile, 40)
            return result
        result["wheel"] = wheel.name
        cmd = [py, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", wheel]
        if sh(cmd, logfile, env=clean_env()) != 0:
            result["status"] = "install of the built wheel failed"
            result["log"] = tail(logfile)
            return result
    else:
        if not install_wheel_mode(py, impl, pkg, logfile):
            result["status"] = "install of the upstream wheel failed"
            result["log"] = tail(logfile)
            return result
    work = make_test_copy(impl, pkg, src)
    out = CACHE / "results" / f"raw-{mode}-{impl}-{pkg.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    if pkg.runner == "pytest":
        args = [f"--rootdir={work}"]
        args += [a.replace("@server/", "_acceptance_server/") for a in pkg.test_args]
        for test_id in pkg.deselect:
            args += ["--deselect", test_id]
        test_cmd = ["pytest", *args]
    else:
        test_cmd = ["unittest", pkg.suite]
    cmd = [
        py,
        HERE / "runner.py",
        "--impl",
        impl,
        "--out",
        out,
        "--must-import",
        ",".join(pkg.must_import),
        *test_cmd,
    ]
    with contextlib.ExitStack() as stack:
        env = dict(pkg.env)
        if pkg.service:
            env.update(stack.enter_context(SERVICES[pkg.service]()))
        code = sh(cmd, logfile, env=clean_env(env), cwd=work, timeout=TEST_TIMEOUT)
    if not out.exists():
        result["status"] = f"test process died (exit {code}) before writing its counts"
        result["log"] = tail(logfile, 40)
        return result
    counts = json.loads(out.read_text())
    result.update(counts)
    if counts.get("error"):
        result["status"] = "test runner error"
    elif counts["guard"]:
        result["status"] = "guard: " + "; ".join(counts["guard"])
    else:
        result["status"] = "ok"
    return result


# -- the table -------------------------------------------------------------------


def load(mode: str, impl: str, pkg: Package) -> dict | None:
    p = result_path(mode, impl, pkg)
    return json.loads(p.read_text()) if p.exists() else None


def cell(r: dict | None) -> str:
    if r is None:
        return "not run"
    if "passed" not in r:
        return r.get("status", "?")[:34]
    counts = f"{r['passed']} / {r['failed']} / {r['skipped']}"
    return counts if r.get("status") == "ok" else f"{counts} ({r['status'][:24]})"


def verdict(a: dict | None, b: dict | None) -> str:
    if a is None or b is None:
        return "-"
    if b.get("status") != "ok":
        return "baseline broken"
    if a.get("status") != "ok":
        return "FAIL"
    same = all(a[k] == b[k] for k in ("passed", "failed", "skipped"))
    return "same" if same else "FAIL (counts differ)"


def table(mode: str, pkgs: list[Package]) -> tuple[str, bool]:
    rows = [("package", "version", "rcffi p/f/s", "cffi 2.1.1 p/f/s", "verdict")]
    ok = True
    for pkg in pkgs:
        a, b = load(mode, "rcffi", pkg), load(mode, "cffi", pkg)
        v = verdict(a, b)
        ok = ok and v == "same"
        version = pkg.version if mode == "source" else (pkg.wheel_version or "")
        rows.append((pkg.name, version, cell(a), cell(b), v))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return f"{mode} mode (p/f/s = passed / failed / skipped)\n" + "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("-p", "--package", action="append", default=[])
    p.add_argument("--impl", choices=(*IMPLS, "both"), default="both")
    p.add_argument("--mode", choices=("source", "wheel"), default="source")
    p.add_argument("--fast", action="store_true", help="only the package `make test` runs")
    p.add_argument("--table", action="store_true", help="print the last results, run nothing")
    args = p.parse_args(argv)
    if args.mode == "source":
        candidates = list(PACKAGES)
    else:
        candidates = [q for q in PACKAGES + WHEEL_ONLY if q.wheel_version]
    pkgs = [by_name(n) for n in args.package] if args.package else candidates
    if args.fast:
        pkgs = [q for q in pkgs if q.fast]
    impls = IMPLS if args.impl == "both" else (args.impl,)
    if not args.table:
        for impl in impls:
            log(f"venv-{impl}")
            make_venv(impl)
        for pkg in pkgs:
            for impl in impls:
                log(f"{args.mode} {pkg.name} {pkg.version} on {impl}")
                try:
                    r = run_package(args.mode, impl, pkg)
                except Exception as e:  # noqa: BLE001 - recorded as the package's result
                    import traceback

                    r = {
                        "package": pkg.name,
                        "impl": impl,
                        "mode": args.mode,
                        "status": f"suite error: {e}",
                        "log": traceback.format_exc(),
                    }
                path = result_path(args.mode, impl, pkg)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(r, indent=1, sort_keys=True))
                log(f"  {impl}: {cell(r)}")
    text, ok = table(args.mode, pkgs)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
