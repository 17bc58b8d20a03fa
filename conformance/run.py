#!/usr/bin/env python3
"""Run cffi's own test suites against rcffi (or the real cffi, to validate the harness).

Usage: ``python3 conformance/run.py [--suite test_c|cffi0|all] [--backend rcffi|cffi]
[-k EXPR] [--update-expected] [-- EXTRA PYTEST ARGS]``. See conformance/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import harness  # sys.path[0] is this folder when run as a script
import sdist
import shim

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
WORK = CACHE / "conformance"
EXPECTED = REPO / "conformance" / "expected_failures.txt"
NOT_RUN = REPO / "conformance" / "not_run.txt"
CORE = shim.CORE_NAMES
SUITE_TIMEOUT = 600.0  # seconds, for the whole normal (non-forked) pytest run of a suite


@dataclass(frozen=True)
class Suite:
    """A suite: a name and the test files (relative to the sdist root) it runs."""

    name: str
    files: tuple[str, ...]

    @property
    def file_names(self) -> set[str]:
        """The file names as written in test ids."""
        return {f.rsplit("/", 1)[-1] for f in self.files}


SUITES = {
    "test_c": Suite("test_c", ("src/c/test_c.py",)),
    "cffi0": Suite("cffi0", ("testing/cffi0/test_ffi_backend.py",)),
    "cffi1": Suite(
        "cffi1",
        tuple(
            f"testing/cffi1/{name}.py"
            for name in (
                "test_ffi_obj",
                "test_new_ffi_1",
                "test_realize_c_type",
                "test_re_python",
                "test_dlopen",
                "test_dlopen_unicode_literals",
                "test_unicode_literals",
                "test_commontypes",
                "test_pkgconfig",
                "test_function_args",
                "test_recompiler",
                "test_verify1",
                "test_zdist",
            )
        ),
    ),
    # Libraries that start Python when a C program calls them
    # (ffi.embedding_api / embedding_init_code).
    "embedding": Suite(
        "embedding",
        tuple(
            f"testing/embedding/{name}.py"
            for name in (
                "test_basic",
                "test_performance",
                "test_recursive",
                "test_thread",
                "test_tlocal",
            )
        ),
    ),
}


@dataclass
class SuiteOutcome:
    """Everything learnt from running one suite."""

    suite: Suite
    results: dict[str, harness.Result] = field(default_factory=dict)
    collected: list[str] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)
    stale: list[harness.Entry] = field(default_factory=list)
    stale_not_run: list[harness.Entry] = field(default_factory=list)
    not_run: int = 0

    @property
    def counts(self) -> harness.Counts:
        """Summary counts, stale entries (of either list) counted as failures."""
        stale = len(self.stale) + len(self.stale_not_run)
        counts = harness.count_results(self.results, extra_failures=stale)
        counts.not_run = self.not_run
        return counts


# ---------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; arguments after ``--`` go to pytest."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=(*SUITES, "all"), default="all")
    parser.add_argument(
        "--backend",
        choices=("rcffi", "cffi"),
        default="rcffi",
        help="rcffi (default) or the real installed cffi (harness validation)",
    )
    parser.add_argument("-k", dest="keyword", metavar="EXPR", help="pytest -k expression")
    parser.add_argument(
        "--expected",
        type=Path,
        default=None,
        metavar="FILE",
        help="expected failures file (default: conformance/expected_failures.txt"
        " with --backend rcffi, none with --backend cffi)",
    )
    parser.add_argument(
        "--not-run",
        type=Path,
        default=None,
        metavar="FILE",
        help="tests not to run, with reasons (default: conformance/not_run.txt"
        " with --backend rcffi, none with --backend cffi)",
    )
    parser.add_argument(
        "--update-expected",
        action="store_true",
        help="rewrite the expected failures file from this run's results",
    )
    parser.add_argument(
        "--forked", action="store_true", help="always run each test in its own forked process"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="per-test timeout in seconds in forked mode (default 120)",
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    if args.expected is None and args.backend == "rcffi":
        args.expected = EXPECTED
    if args.not_run is None and args.backend == "rcffi":
        args.not_run = NOT_RUN
    if args.update_expected and args.expected is None:
        parser.error("--update-expected needs --backend rcffi or an explicit --expected FILE")
    return args


# ---------------------------------------------------------------------------------------------
# Running pytest


def pytest_env() -> dict[str, str]:
    """Environment of the pytest processes: our package importable, no plugin autoload."""
    env = dict(os.environ)
    user_path = [os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    path = [str(REPO), *user_path]  # absolute: pytest runs in another directory
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["TMPDIR"] = str(WORK / "tmp")  # cffi's testing/udir.py and gcc put files there
    env["CFFI_TMPDIR"] = str(WORK / "tmp" / "verify")  # ffi.verify(): never reuse old builds
    return env


RCFFI_PROBE = """
import json, sys, rcffi, rcffi._cffi_backend as backend
core, probed = json.loads(sys.argv[1])
print(json.dumps({
    "missing_rcffi": [n for n in core if not hasattr(rcffi, n)],
    "missing_backend": [n for n in probed if not hasattr(backend, n)],
    "backend_version": str(getattr(backend, "__version__", None)),
}))
"""


def probe_output(stdout: str) -> dict | None:
    """The JSON object printed by RCFFI_PROBE, or None if rcffi could not be imported."""
    lines = stdout.strip().splitlines()
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


def check_rcffi_importable() -> str | None:
    """Return an error message if rcffi cannot be imported; print probe warnings otherwise."""
    proc = subprocess.run(
        [sys.executable, "-c", RCFFI_PROBE, json.dumps([CORE, harness.PROBED_BACKEND_NAMES])],
        env=pytest_env(),
        cwd=WORK,
        capture_output=True,
        text=True,
        check=False,
    )
    info = probe_output(proc.stdout)
    if info is not None:
        warnings = harness.probe_warnings(info)
        if proc.returncode != 0:
            warnings.append(f"the probe process ended with {describe_exit(proc.returncode)}")
        for warning in warnings:
            print(f"conformance: WARNING: {warning}", flush=True)
        return None
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    detail = lines[-1] if lines else f"import failed with {describe_exit(proc.returncode)}"
    return f"rcffi is not importable: {shim.BUILD_HINT}\n  ({detail})"


def pytest_command(
    suite: Suite,
    root: Path,
    args: argparse.Namespace,
    report: Path,
    forked: bool,
    deselect: Path | None,
) -> list[str]:
    """The pytest command line for one run of a suite."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "conformance.plugin",
        f"--rootdir={root}",
        f"--confcutdir={root}",
        "-c",
        os.devnull,
        "--disable-warnings",
        "--continue-on-collection-errors",  # a file that does not import fails alone
        f"--conformance-backend={args.backend}",
        f"--conformance-report={report}",
    ]
    if args.expected is not None and args.expected.exists():
        cmd.append(f"--conformance-expected={args.expected}")
    if args.not_run is not None and args.not_run.exists():
        cmd.append(f"--conformance-not-run={args.not_run}")
    if forked:
        cmd += ["--conformance-forked", f"--conformance-timeout={args.timeout:g}"]
    if deselect is not None:
        cmd.append(f"--conformance-deselect={deselect}")
    if args.keyword:
        cmd += ["-k", args.keyword]
    cmd += args.pytest_args
    cmd += [str(root / f) for f in suite.files]
    return cmd


def run_pytest(cmd: list[str], report: Path, timeout: float) -> tuple[int, harness.Report]:
    """Run pytest (output streamed to our stdout); return (exit code, parsed report)."""
    report.unlink(missing_ok=True)
    # A session of its own, so that a hung run is killed with its children (forked tests, gcc).
    proc = subprocess.Popen(cmd, cwd=WORK, env=pytest_env(), start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"\nconformance: pytest still running after {timeout:g}s, killing it", flush=True)
        os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    sys.stdout.flush()
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    return code, harness.parse_report(text)


def describe_exit(code: int) -> str:
    """Human description of an abnormal pytest exit code."""
    return f"signal {-code}" if code < 0 else f"exit status {code}"


def run_suite(
    suite: Suite,
    root: Path,
    args: argparse.Namespace,
    expected: dict[str, harness.Entry] | None = None,
) -> SuiteOutcome:
    """Run a suite; if pytest dies, count the death as a failure (unless the test that died is
    an expected failure) and re-run the tests without a result one process each."""
    outcome = SuiteOutcome(suite)
    report = WORK / f"{suite.name}.report.jsonl"
    print(f"===== conformance suite {suite.name} (backend {args.backend}) =====", flush=True)
    cmd = pytest_command(suite, root, args, report, args.forked, None)
    code, rep = run_pytest(cmd, report, SUITE_TIMEOUT)
    outcome.collected = rep.collected or []
    outcome.selected = rep.selected or []
    outcome.results.update(rep.results)
    if rep.finished:
        if code < 0:  # e.g. a crash in a finalizer at interpreter exit
            message = f"pytest crashed after the tests finished ({describe_exit(code)})"
        elif code not in (0, 1, 2, 5):  # internal or usage error: no usable results
            message = f"pytest failed ({describe_exit(code)})"
        else:
            return outcome
        outcome.results[suite.name] = harness.Result(suite.name, harness.FAILED, message)
        return outcome
    if rep.selected is None:
        outcome.results[suite.name] = harness.Result(
            suite.name, harness.FAILED, f"pytest died during collection ({describe_exit(code)})"
        )
        return outcome
    crash = harness.crash_result(
        suite.name, describe_exit(code), harness.crashed_test(rep), expected or {}
    )
    rerun_remaining(suite, root, args, outcome, code)
    if crash is not None:
        outcome.results[crash.test_id] = crash
    return outcome


def rerun_remaining(
    suite: Suite, root: Path, args: argparse.Namespace, outcome: SuiteOutcome, code: int
) -> None:
    """Re-run, one forked process per test, the tests that got no result in a dead run."""
    done = set(outcome.results)
    missing = [i for i in outcome.selected if i not in done]
    print(
        f"\nconformance: {suite.name}: pytest died ({describe_exit(code)}) with "
        f"{len(missing)} tests without result; re-running them one process per test",
        flush=True,
    )
    deselect = WORK / f"{suite.name}.deselect.txt"
    deselect.write_text("".join(f"{n}\n" for n in done_nodeids(suite, done)))
    report = WORK / f"{suite.name}.forked.report.jsonl"
    cmd = pytest_command(suite, root, args, report, True, deselect)
    code2, rep = run_pytest(cmd, report, SUITE_TIMEOUT)
    outcome.results.update(rep.results)
    for test_id in missing:
        if test_id not in outcome.results:
            message = f"no result: test process died ({describe_exit(code2)})"
            outcome.results[test_id] = harness.Result(test_id, harness.FAILED, message)


def done_nodeids(suite: Suite, done: set[str]) -> list[str]:
    """Full node ids (relative to the sdist root) of the tests in ``done``."""
    by_name = {f.rsplit("/", 1)[-1]: f for f in suite.files}
    out = []
    for test_id in done:
        name, sep, rest = test_id.partition("::")
        if sep and name in by_name:
            out.append(f"{by_name[name]}::{rest}")
    return out


# ---------------------------------------------------------------------------------------------
# Reporting


def print_suite_report(outcome: SuiteOutcome) -> None:
    """Print the unexpected failures and the skips of a suite, then its summary line.

    Skips are listed because cffi's tests skip (rather than fail) on some NotImplementedError
    and when ``_cffi_backend._testfunc`` is missing: more skips than with the real cffi mean
    hidden non-conformance.
    """
    for result in harness.unexpected_failures(outcome.results):
        print(f"FAILED {result.test_id} - {result.message}")
    for result in outcome.results.values():
        if result.outcome == harness.SKIPPED:
            print(f"SKIPPED {result.test_id} - {result.message}")
    for entry in outcome.stale:
        print(
            f"FAILED {entry.test_id} - listed in expected failures (line {entry.lineno}) "
            "but no such test"
        )
    for entry in outcome.stale_not_run:
        print(
            f"FAILED {entry.test_id} - listed in the not-run list (line {entry.lineno}) "
            "but no such test"
        )
    print(harness.format_summary(outcome.suite.name, outcome.counts), flush=True)


def update_expected(path: Path, outcomes: list[SuiteOutcome]) -> None:
    """Rewrite the expected failures file from the results of this run."""
    results: dict[str, harness.Result] = {}
    stale: set[str] = set()
    for outcome in outcomes:
        results.update(outcome.results)
        stale.update(e.test_id for e in outcome.stale)
    old = path.read_text() if path.exists() else ""
    new, added, removed = harness.update_expected_text(old, results, stale)
    path.write_text(new)
    print(f"conformance: updated {path}: {len(added)} added, {len(removed)} removed")
    unlistable = [r.test_id for r in harness.unexpected_failures(results) if "::" not in r.test_id]
    for test_id in unlistable:
        print(f"conformance: WARNING: {test_id} failed as a whole; it cannot be listed")
    if added:
        print(
            f"conformance: WARNING: write the reasons of the {len(added)} new entries "
            f"marked '# {harness.TODO_REASON}' in {path}"
        )


def load_entries(path: Path | None) -> dict[str, harness.Entry]:
    """Parse the expected failures file (an absent file means no entries)."""
    if path is None or not path.exists():
        return {}
    return harness.parse_expected(path.read_text())


def load_list(path: Path | None, known_files: set[str]) -> dict[str, harness.Entry] | None:
    """Parse an expected-failures or not-run file; print the errors and return None if it is
    malformed or names a file of no suite."""
    try:
        entries = load_entries(path)
    except harness.ExpectedFileError as exc:
        print(f"conformance: {path}: {exc}", file=sys.stderr)
        return None
    unknown = harness.unknown_file_entries(entries, known_files)
    for e in unknown:
        print(
            f"conformance: {path}:{e.lineno}: unknown test file in {e.test_id!r}", file=sys.stderr
        )
    return None if unknown else entries


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    suites = list(SUITES.values()) if args.suite == "all" else [SUITES[args.suite]]
    known = set().union(*(s.file_names for s in SUITES.values()))
    entries = load_list(args.expected, known)
    not_run = load_list(args.not_run, known)
    if entries is None or not_run is None:
        return 2
    both = sorted(set(entries) & set(not_run))
    if both:
        print(f"conformance: listed as expected failure and as not run: {both}", file=sys.stderr)
        return 2
    shutil.rmtree(WORK / "tmp", ignore_errors=True)
    (WORK / "tmp").mkdir(parents=True)
    if args.backend == "rcffi":
        error = check_rcffi_importable()
        if error:
            print(f"conformance: {error}", file=sys.stderr)
            return 2
    try:
        root = sdist.ensure_sdist(CACHE)
    except sdist.SdistError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    outcomes = []
    for suite in suites:
        outcome = run_suite(suite, root, args, entries)
        outcome.stale = harness.stale_entries(entries, outcome.collected, suite.file_names)
        outcome.stale_not_run = harness.stale_entries(not_run, outcome.collected, suite.file_names)
        outcome.not_run = len(harness.not_run_ids(not_run, outcome.collected))
        outcomes.append(outcome)
    print()
    for outcome in outcomes:
        print_suite_report(outcome)
    total = sum((o.counts for o in outcomes), harness.Counts())
    print(harness.format_summary("conformance", total), flush=True)
    if args.update_expected:
        update_expected(args.expected, outcomes)
    return 0 if total.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
