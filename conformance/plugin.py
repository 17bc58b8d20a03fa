"""pytest plugin of the conformance harness (load with ``-p conformance.plugin``).

It does, inside the pytest process running cffi's own tests:

* the substitution of ``cffi`` / ``_cffi_backend`` by rcffi (``--conformance-backend=rcffi``),
  before the initial conftests and the test modules are imported;
* the marking of tests listed in an expected-failures file as ``xfail(strict=True)``
  (``--conformance-expected=FILE``);
* the writing of a JSON-lines report of collected ids and per-test outcomes, flushed after
  each test so it survives a crash (``--conformance-report=FILE``);
* optionally, running every test in a forked child process, so that a test crashing the
  interpreter is reported as ``crashed (signal N)`` instead of ending the run
  (``--conformance-forked``, with ``--conformance-timeout`` seconds per test);
* optionally, deselecting the node ids listed in a file (``--conformance-deselect=FILE``),
  used to re-run only the tests that had no result when a run crashed;
* optionally, deselecting the tests listed with a reason in a not-run file
  (``--conformance-not-run=FILE``, the format of expected_failures.txt): tests of cffi's
  internals that rcffi does not have.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from pathlib import Path

import pytest
from _pytest.runner import runtestprotocol

from conformance import harness, shim

_HEADER_KEY = pytest.StashKey[str]()
_LISTED_KEY = pytest.StashKey[str]()  # on items: the reason they are expected to fail


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--conformance-*`` options."""
    group = parser.getgroup("conformance", "rcffi conformance harness")
    group.addoption(
        "--conformance-backend",
        choices=("rcffi", "cffi"),
        default=None,
        help="rcffi: substitute rcffi for cffi/_cffi_backend; cffi: use the real one",
    )
    group.addoption(
        "--conformance-expected",
        default=None,
        metavar="FILE",
        help="mark the tests listed in FILE as xfail(strict=True)",
    )
    group.addoption(
        "--conformance-report",
        default=None,
        metavar="FILE",
        help="write a JSON-lines report of the results to FILE",
    )
    group.addoption(
        "--conformance-forked",
        action="store_true",
        default=False,
        help="run each test in a forked child process (crash isolation)",
    )
    group.addoption(
        "--conformance-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="with --conformance-forked: kill a test running longer than this",
    )
    group.addoption(
        "--conformance-not-run",
        default=None,
        metavar="FILE",
        help="deselect the tests listed (id  # reason) in FILE",
    )
    group.addoption(
        "--conformance-deselect",
        default=None,
        metavar="FILE",
        help="deselect the node ids listed (one a line) in FILE",
    )


# ---------------------------------------------------------------------------------------------
# Substitution of the backend


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Install the cffi substitution before any conftest or test module is imported."""
    backend = early_config.known_args_namespace.conformance_backend
    if backend == "rcffi":
        try:
            missing = shim.install_rcffi(early_config.rootpath)
        except shim.RcffiNotImportable as exc:
            raise pytest.UsageError(str(exc)) from None
        early_config.stash[_HEADER_KEY] = f"backend rcffi; rcffi lacks: {missing or 'nothing'}"
        shim.rcffi_for_child_processes()
    elif backend == "cffi":
        cffi, backend_mod = shim.import_real_cffi()
        early_config.stash[_HEADER_KEY] = (
            f"backend cffi {cffi.__version__} ({cffi.__file__}, {backend_mod.__file__})"
        )


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say which backend is under test."""
    info = config.stash.get(_HEADER_KEY, None)
    return f"conformance: {info}" if info else None


# ---------------------------------------------------------------------------------------------
# Collection: report, expected failures, deselection


def _read_lines(path: str) -> set[str]:
    """Non-blank lines of a text file."""
    return {line.strip() for line in Path(path).read_text().splitlines() if line.strip()}


def _mark_expected(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add ``xfail(strict=True)`` to each collected item listed in the expected file."""
    path = config.getoption("conformance_expected")
    if not path:
        return
    try:
        entries = harness.parse_expected(Path(path).read_text())
    except harness.ExpectedFileError as exc:
        raise pytest.UsageError(f"{path}: {exc}") from None
    for item in items:
        entry = entries.get(harness.short_id(item.nodeid))
        if entry is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=entry.reason))
            item.stash[_LISTED_KEY] = entry.reason


def _deselect(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Remove the items listed in the ``--conformance-deselect`` and ``--conformance-not-run``
    files."""
    unwanted: set[str] = set()
    path = config.getoption("conformance_deselect")
    if path:
        unwanted |= _read_lines(path)
    path = config.getoption("conformance_not_run")
    if path:
        try:
            entries = harness.parse_expected(Path(path).read_text())
        except harness.ExpectedFileError as exc:
            raise pytest.UsageError(f"{path}: {exc}") from None
        unwanted |= set(harness.not_run_ids(entries, [i.nodeid for i in items]))
    if not unwanted:
        return
    removed = [i for i in items if i.nodeid in unwanted]
    if removed:
        items[:] = [i for i in items if i.nodeid not in unwanted]
        config.hook.pytest_deselected(items=removed)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Record all collected ids (before ``-k``), mark expected failures, deselect."""
    _STATE.write("collected", ids=[i.nodeid for i in items])
    _mark_expected(config, items)
    _deselect(config, items)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Record the ids of the tests that will run (after ``-k`` and deselection)."""
    _STATE.write("selected", ids=[i.nodeid for i in session.items])


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """Record collection errors (e.g. a test module that fails to import)."""
    if report.failed:
        message = "collection error: " + _message(report)
        _STATE.write("collect_error", id=report.nodeid, outcome=harness.FAILED, message=message)


# ---------------------------------------------------------------------------------------------
# Report file


class _ReportState:
    """The open report file and the phase reports of the tests being run."""

    def __init__(self) -> None:
        self.file = None
        self.phases: dict[str, list[dict]] = {}

    def write(self, event: str, **data: object) -> None:
        """Append one event to the report file and flush it (it must survive a crash)."""
        if self.file is not None:
            self.file.write(harness.report_event(event, **data))
            self.file.flush()


_STATE = _ReportState()


def pytest_configure(config: pytest.Config) -> None:
    """Open the report file."""
    path = config.getoption("conformance_report")
    if path:
        _STATE.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in unconfigure


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the report file."""
    if _STATE.file is not None:
        _STATE.file.close()
        _STATE.file = None


def _message(report: pytest.TestReport | pytest.CollectReport) -> str:
    """A one-line message for a report."""
    longrepr = report.longrepr
    if longrepr is None:
        text = getattr(report, "wasxfail", "") or ""
    elif isinstance(longrepr, (tuple, list)):  # (path, lineno, message); a list once via JSON
        text = str(longrepr[2]).removeprefix("Skipped: ")
    elif getattr(longrepr, "reprcrash", None) is not None:
        text = longrepr.reprcrash.message
    else:
        lines = [line for line in str(longrepr).splitlines() if line.strip()]
        text = lines[-1] if lines else ""
    return harness.shorten(text)


def _phase(report: pytest.TestReport) -> dict:
    """The summary of one phase report that harness.combine_phases() needs."""
    longrepr = report.longrepr
    return {
        "when": report.when,
        "outcome": report.outcome,
        "xfail": hasattr(report, "wasxfail"),
        "strict_xpass": isinstance(longrepr, str) and longrepr.startswith("[XPASS(strict)]"),
        "message": _message(report),
    }


def pytest_runtest_logstart(nodeid: str) -> None:
    """Record that a test begins: if the process dies now, the report tells which test."""
    _STATE.write("start", id=nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Accumulate the phase reports of the running test."""
    _STATE.phases.setdefault(report.nodeid, []).append(_phase(report))


def pytest_runtest_logfinish(nodeid: str) -> None:
    """Write the combined outcome of a finished test."""
    outcome, message = harness.combine_phases(_STATE.phases.pop(nodeid, []))
    _STATE.write("result", id=nodeid, outcome=outcome, message=message)


def pytest_sessionfinish(exitstatus: int) -> None:
    """Mark the report complete (its absence means the process died)."""
    _STATE.write("finish", exitstatus=int(exitstatus))


# ---------------------------------------------------------------------------------------------
# Fork-per-test mode


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """With ``--conformance-forked``, run the test protocol in a child process."""
    config = item.config
    if not config.getoption("conformance_forked"):
        return None
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    for report in _run_forked(item, config.getoption("conformance_timeout")):
        ihook.pytest_runtest_logreport(report=report)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _child(item: pytest.Item, write_fd: int) -> None:
    """Child side: run setup/call/teardown, send the serialized reports, never return."""
    code = 0
    try:
        reports = runtestprotocol(item, log=False, nextitem=None)
        hook = item.config.hook
        data = [hook.pytest_report_to_serializable(config=item.config, report=r) for r in reports]
        payload = json.dumps(data, default=repr).encode()
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
    except BaseException:  # noqa: BLE001 - the child must always reach os._exit
        code = 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _read_child(read_fd: int, pid: int, timeout: float) -> tuple[bytes, int, bool]:
    """Read the child's payload until EOF or timeout; return (payload, wait status, timed out)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([read_fd], [], [], remaining)
        if ready:
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks), status, timed_out


def _run_forked(item: pytest.Item, timeout: float) -> list[pytest.TestReport]:
    """Fork, run the test in the child, and rebuild its reports in the parent."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(item, write_fd)
    os.close(write_fd)
    payload, status, timed_out = _read_child(read_fd, pid, timeout)
    code = os.waitstatus_to_exitcode(status)
    reports = None if timed_out or code != 0 else _load_reports(item.config, payload)
    if reports:
        return reports
    if timed_out:
        why = f"timed out after {timeout:g}s (killed)"
    elif code < 0:
        why = f"crashed (signal {-code})"
    else:
        why = f"child process exited with status {code} without a result"
    return [_crash_report(item, why)]


def _load_reports(config: pytest.Config, payload: bytes) -> list[pytest.TestReport] | None:
    """Rebuild the reports sent by a child, or None if the payload is unusable."""
    try:
        data = json.loads(payload)
        return [config.hook.pytest_report_from_serializable(config=config, data=d) for d in data]
    except (ValueError, TypeError, KeyError, AssertionError):
        return None


def _crash_report(item: pytest.Item, why: str) -> pytest.TestReport:
    """A report for a test whose child died: failed, or xfailed if it is listed."""
    path, lineno, _ = item.location
    listed = item.stash.get(_LISTED_KEY, None)
    if listed is None:
        return pytest.TestReport(item.nodeid, item.location, {}, "failed", why, "call")
    report = pytest.TestReport(
        item.nodeid, item.location, {}, "skipped", (path, (lineno or 0) + 1, why), "call"
    )
    report.wasxfail = listed
    return report
