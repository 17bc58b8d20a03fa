"""Pure logic of the conformance harness (no pytest, no subprocess, no I/O besides text).

Everything here is imported both by ``conformance/run.py`` (the driver) and by
``conformance/plugin.py`` (the pytest plugin running inside the test process), and is
unit-tested by ``tests/test_conformance_harness.py``.

Vocabulary:

* a *node id* is what pytest prints, relative to its rootdir, e.g.
  ``src/c/test_c.py::test_new_handle`` or ``testing/cffi0/test_ffi_backend.py::TestFFI::test_x``;
* a *test id* is the short form used in ``expected_failures.txt``: the node id with the
  directory part of the file dropped, e.g. ``test_c.py::test_new_handle``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

# Final outcomes of one test, as computed by combine_phases().
PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
XFAILED = "xfailed"
XPASSED = "xpassed"  # non-strict xpass (a test's own xfail marker): counted as passed
XPASS_STRICT = "xpass_strict"  # listed as expected failure but passed: counted as failed

PASSING_OUTCOMES = frozenset({PASSED, XPASSED, XPASS_STRICT})
CFFI_VERSION = "2.1.1"
# Names of _cffi_backend that test_c.py imports at module level or skips tests without.
PROBED_BACKEND_NAMES = ("__version__", "_get_types", "_get_common_types", "_testfunc")
TODO_REASON = "TODO reason"
MESSAGE_MAX = 300

_ENTRY_RE = re.compile(r"^(?P<id>\S(?:.*?\S)?)\s+#(?P<reason>.*)$")


class ExpectedFileError(ValueError):
    """A malformed line (or duplicate entry) in an expected-failures file."""


@dataclass(frozen=True)
class Entry:
    """One expected failure: a test id, why it fails, and where it is written."""

    test_id: str
    reason: str
    lineno: int


@dataclass(frozen=True)
class Result:
    """The final outcome of one test (or collection error) and a one-line message."""

    test_id: str
    outcome: str
    message: str = ""


@dataclass
class Counts:
    """Counters printed in a summary line."""

    passed: int = 0
    failed: int = 0
    xfailed: int = 0
    skipped: int = 0
    not_run: int = 0  # listed in not_run.txt (cffi internals...): deselected, not counted above

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.passed + other.passed,
            self.failed + other.failed,
            self.xfailed + other.xfailed,
            self.skipped + other.skipped,
            self.not_run + other.not_run,
        )


@dataclass
class Report:
    """What the plugin wrote in its JSON-lines report file (see plugin.py)."""

    collected: list[str] | None = None
    selected: list[str] | None = None
    started: list[str] = field(default_factory=list)
    results: dict[str, Result] = field(default_factory=dict)
    finished: bool = False
    exitstatus: int | None = None


# ---------------------------------------------------------------------------------------------
# Test ids


def short_id(nodeid: str) -> str:
    """Drop the directory part of the file in a pytest node id.

    >>> short_id("testing/cffi0/test_ffi_backend.py::TestFFI::test_x[a/b]")
    'test_ffi_backend.py::TestFFI::test_x[a/b]'
    """
    path, sep, rest = nodeid.partition("::")
    return path.rsplit("/", 1)[-1] + sep + rest


def id_file(test_id: str) -> str:
    """Return the file part (before the first ``::``) of a test or node id."""
    return test_id.partition("::")[0]


# ---------------------------------------------------------------------------------------------
# expected_failures.txt


def parse_expected_line(line: str, lineno: int = 0) -> Entry | None:
    """Parse one line of an expected-failures file.

    Returns None for blank and comment lines. An entry is ``<test id>  # <reason>``: the id
    ends at the first ``#`` preceded by whitespace, and the reason must not be empty.
    """
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    match = _ENTRY_RE.match(text)
    if match is None:
        raise ExpectedFileError(f"line {lineno}: missing '  # reason' after the test id: {text!r}")
    test_id, reason = match["id"], match["reason"].strip()
    if "::" not in test_id or not id_file(test_id):
        raise ExpectedFileError(f"line {lineno}: not a test id (want FILE.py::NAME): {test_id!r}")
    if "/" in id_file(test_id):
        raise ExpectedFileError(
            f"line {lineno}: write the file name without directory: {test_id!r}"
        )
    if not reason:
        raise ExpectedFileError(f"line {lineno}: empty reason for {test_id!r}")
    return Entry(test_id, reason, lineno)


def parse_expected(text: str) -> dict[str, Entry]:
    """Parse a whole expected-failures file into ``{test id: Entry}``; duplicates are errors."""
    entries: dict[str, Entry] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        entry = parse_expected_line(line, lineno)
        if entry is None:
            continue
        if entry.test_id in entries:
            first = entries[entry.test_id].lineno
            raise ExpectedFileError(f"line {lineno}: {entry.test_id!r} already listed line {first}")
        entries[entry.test_id] = entry
    return entries


def not_run_ids(entries: dict[str, Entry], nodeids: list[str]) -> list[str]:
    """The node ids among ``nodeids`` whose test id is listed in ``entries`` (not_run.txt)."""
    return [n for n in nodeids if short_id(n) in entries]


def format_entry(test_id: str, reason: str) -> str:
    """Format one expected-failures line (without the newline)."""
    return f"{test_id}  # {reason}"


def unknown_file_entries(entries: dict[str, Entry], known_files: set[str]) -> list[Entry]:
    """Entries whose file is not one of the test files of any suite."""
    return [e for e in entries.values() if id_file(e.test_id) not in known_files]


def stale_entries(
    entries: dict[str, Entry], collected_ids: list[str], files: set[str]
) -> list[Entry]:
    """Entries naming a test that does not exist (any more) in a collected suite file.

    Only entries of ``files`` (the suite's file names) whose file did collect at least one test
    are checked: a file that failed to import is reported as a collection error instead.
    """
    collected = set(collected_ids)
    seen_files = {id_file(i) for i in collected}
    return [
        e
        for e in entries.values()
        if id_file(e.test_id) in files & seen_files and e.test_id not in collected
    ]


def update_expected_text(
    old_text: str, results: dict[str, Result], stale_ids: set[str]
) -> tuple[str, list[str], list[str]]:
    """Rewrite an expected-failures file after a run.

    Entries whose test passed (or is stale) are dropped; every other line (comments, blank
    lines, entries of tests that failed, were skipped or not run) is kept as is; tests that
    failed and were not listed are appended with ``# TODO reason``. Results without ``::``
    (collection errors) cannot be listed and are ignored. Returns (new text, added, removed).
    """
    kept: list[str] = []
    listed: set[str] = set()
    removed: list[str] = []
    for lineno, line in enumerate(old_text.splitlines(), start=1):
        entry = parse_expected_line(line, lineno)
        if entry is not None:
            result = results.get(entry.test_id)
            if entry.test_id in stale_ids or (result and result.outcome in PASSING_OUTCOMES):
                removed.append(entry.test_id)
                continue
            listed.add(entry.test_id)
        kept.append(line)
    added = sorted(
        r.test_id
        for r in results.values()
        if r.outcome == FAILED and "::" in r.test_id and r.test_id not in listed
    )
    while kept and not kept[-1].strip():
        kept.pop()
    if added and kept:
        kept.append("")
    kept.extend(format_entry(test_id, TODO_REASON) for test_id in added)
    return "".join(line + "\n" for line in kept), added, removed


# ---------------------------------------------------------------------------------------------
# Outcomes and summaries


def combine_phases(phases: list[dict]) -> tuple[str, str]:
    """Combine the setup/call/teardown reports of one test into (outcome, message).

    Each phase is a dict with keys ``when``, ``outcome`` (pytest's passed/failed/skipped),
    ``xfail`` (True if the report has ``wasxfail``), ``strict_xpass`` and ``message``.
    """
    for phase in phases:
        if phase["outcome"] == "failed":
            if phase.get("strict_xpass"):
                return XPASS_STRICT, "listed as expected failure but passed: " + phase["message"]
            where = "" if phase["when"] == "call" else f"error in {phase['when']}: "
            return FAILED, where + phase["message"]
    for phase in phases:
        if phase["outcome"] == "skipped":
            return (XFAILED if phase.get("xfail") else SKIPPED), phase["message"]
    if any(p.get("xfail") for p in phases):
        return XPASSED, ""
    if any(p["when"] == "call" for p in phases):
        return PASSED, ""
    return FAILED, "no result reported"


def count_results(results: dict[str, Result], extra_failures: int = 0) -> Counts:
    """Count results by category; ``extra_failures`` adds e.g. stale expected entries."""
    counts = Counts(failed=extra_failures)
    for result in results.values():
        if result.outcome in (PASSED, XPASSED):
            counts.passed += 1
        elif result.outcome in (FAILED, XPASS_STRICT):
            counts.failed += 1
        elif result.outcome == XFAILED:
            counts.xfailed += 1
        else:
            counts.skipped += 1
    return counts


def format_summary(label: str, counts: Counts) -> str:
    """The final line printed for a suite (or ``conformance`` overall).

    >>> format_summary("test_c", Counts(3, 1, 2, 0))
    'test_c: 3 passed, 1 failed, 2 xfailed, 0 skipped'
    >>> format_summary("cffi1", Counts(3, 1, 2, 0, 5))
    'cffi1: 3 passed, 1 failed, 2 xfailed, 0 skipped, 5 not run'
    """
    line = (
        f"{label}: {counts.passed} passed, {counts.failed} failed, "
        f"{counts.xfailed} xfailed, {counts.skipped} skipped"
    )
    return line + (f", {counts.not_run} not run" if counts.not_run else "")


def unexpected_failures(results: dict[str, Result]) -> list[Result]:
    """The results counted as failures, sorted by test id."""
    bad = (r for r in results.values() if r.outcome in (FAILED, XPASS_STRICT))
    return sorted(bad, key=lambda r: r.test_id)


def shorten(message: str, limit: int = MESSAGE_MAX) -> str:
    """Squeeze a message onto one line of at most ``limit`` characters."""
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# The plugin's report file (JSON lines)


def report_event(event: str, **data: object) -> str:
    """Serialize one report event as a JSON line (with the newline)."""
    return json.dumps({"event": event, **data}) + "\n"


def parse_report(text: str) -> Report:
    """Parse a report file; a truncated last line (crashed writer) is ignored.

    Events: ``collected`` (ids: all node ids before deselection), ``selected`` (ids of the
    tests to run, after ``-k`` and deselection), ``start`` (id: a test begins), ``result``
    (id, outcome, message), ``collect_error`` (id, message) and ``finish`` (exitstatus). Ids
    are converted to short test ids.
    """
    report = Report()
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        kind = event.get("event")
        if kind in ("collected", "selected"):
            setattr(report, kind, [short_id(i) for i in event["ids"]])
        elif kind == "start":
            report.started.append(short_id(event["id"]))
        elif kind in ("result", "collect_error"):
            test_id = short_id(event["id"])
            outcome = event.get("outcome", FAILED)
            report.results[test_id] = Result(test_id, outcome, event.get("message", ""))
        elif kind == "finish":
            report.finished = True
            report.exitstatus = event.get("exitstatus")
    return report


def crashed_test(report: Report) -> str | None:
    """The test that was running when the pytest process died: the last one started without a
    result (None if the process died between tests)."""
    if report.started and report.started[-1] not in report.results:
        return report.started[-1]
    return None


def crash_result(
    suite: str, how: str, crashed: str | None, expected: dict[str, Entry]
) -> Result | None:
    """The failure that stands for the death of a suite's pytest process (``how``: "signal
    11"), counted besides the results of the re-run; None when the test that died is listed
    as an expected failure (a listed test that crashes counts as xfailed).

    >>> crash_result("cffi1", "signal 11", "t.py::a", {}).message
    'pytest died (signal 11) while running t.py::a'
    """
    if crashed is not None and crashed in expected:
        return None
    where = f"while running {crashed}" if crashed else "between two tests"
    return Result(suite, FAILED, f"pytest died ({how}) {where}")


# ---------------------------------------------------------------------------------------------
# Probing rcffi before a run


def probe_warnings(info: dict) -> list[str]:
    """Warnings about what rcffi lacks, from the JSON printed by run.py's RCFFI_PROBE."""
    warnings = []
    if info.get("missing_rcffi"):
        names = ", ".join(info["missing_rcffi"])
        warnings.append(f"rcffi lacks {names} (the cffi shim will miss them)")
    missing = info.get("missing_backend") or []
    if "_testfunc" in missing:
        warnings.append("rcffi._cffi_backend lacks _testfunc: test_c.py skips the tests using it")
    if {"_get_types", "_get_common_types", "__version__"} & set(missing):
        warnings.append("rcffi._cffi_backend lacks names test_c.py imports: it cannot be collected")
    version = info.get("backend_version")
    if version not in (None, "None", CFFI_VERSION):
        warnings.append(
            f"rcffi._cffi_backend.__version__ is {version!r}: test_c.py asserts {CFFI_VERSION!r}"
        )
    return warnings
