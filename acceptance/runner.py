"""Runs one package's own tests inside a private venv and writes the counts.

``python runner.py --impl rcffi|cffi --out RESULT.json --must-import M,...
pytest ARGS...`` or ``... unittest MODULE:FUNCTION``.  Only the standard
library and the runner's test tool are used: this file runs in the venvs of
the suite, not in the project's.

After the tests, the guard checks which cffi the process used: with
``--impl rcffi``, ``cffi`` and ``_cffi_backend`` (when imported) must be
rcffi's, and no module of the real cffi may have been imported; with
``--impl cffi``, they must be the real cffi's.  The modules of
``--must-import`` must have been imported (a package that falls back to
another backend would test nothing).  A guard failure is a failed run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback


def guard(impl: str, must_import: list[str]) -> list[str]:
    """Problems with the cffi this process used (empty: all is well)."""
    problems = []
    for name in must_import:
        if name not in sys.modules:
            problems.append(f"{name} was never imported: the package did not use cffi")
    backend = sys.modules.get("_cffi_backend")
    cffi = sys.modules.get("cffi")
    real = [
        n
        for n, m in list(sys.modules.items())
        if (n == "cffi" or n.startswith("cffi."))
        and m is not None
        and "site-packages/cffi/" in (getattr(m, "__file__", None) or "")
    ]
    if impl == "rcffi":
        rcffi_backend = sys.modules.get("rcffi._cffi_backend")
        if backend is not None and backend is not rcffi_backend:
            problems.append(f"_cffi_backend is {backend!r}, not rcffi's")
        if cffi is not None and not hasattr(cffi, "__rcffi__"):
            problems.append(f"cffi is {cffi!r}, not rcffi's")
        if real:
            problems.append(f"modules of the real cffi were imported: {real}")
    else:
        if "rcffi" in sys.modules:
            problems.append("rcffi was imported in the baseline run")
    return problems


class Counts:
    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        self.messages: dict[str, str] = {}

    def set(self, test_id: str, outcome: str, message: str = "") -> None:
        # A failure in any phase wins over a pass or a skip.
        if self.outcomes.get(test_id) == "failed":
            return
        self.outcomes[test_id] = outcome
        if message:
            self.messages[test_id] = message[-1500:]

    def summary(self) -> dict:
        out = {"passed": 0, "failed": 0, "skipped": 0, "xfailed": 0}
        for o in self.outcomes.values():
            out[o] = out.get(o, 0) + 1
        return out


def run_pytest(args: list[str], counts: Counts) -> int:
    import pytest

    class Plugin:
        def pytest_runtest_logreport(self, report):  # noqa: D401 - pytest hook
            nodeid = report.nodeid
            if report.failed:
                counts.set(nodeid, "failed", str(report.longrepr))
            elif report.skipped:
                if hasattr(report, "wasxfail"):
                    counts.set(nodeid, "xfailed")
                elif nodeid not in counts.outcomes:
                    counts.set(nodeid, "skipped", str(report.longrepr))
            elif report.when == "call":
                counts.set(nodeid, "passed")

        def pytest_collectreport(self, report):
            if report.failed:
                counts.set(f"{report.nodeid} (collection)", "failed", str(report.longrepr))

    argv = ["-q", "-p", "no:cacheprovider", "--continue-on-collection-errors", *args]
    return int(pytest.main(argv, plugins=[Plugin()]))


def run_unittest(spec: str, counts: Counts) -> int:
    import importlib
    import unittest

    module_name, _, func = spec.partition(":")
    suite = getattr(importlib.import_module(module_name), func)()
    if not isinstance(suite, unittest.TestSuite):
        suite = unittest.TestSuite(suite)

    class Result(unittest.TextTestResult):
        def addSuccess(self, test):
            super().addSuccess(test)
            counts.set(test.id(), "passed")

        def addFailure(self, test, err):
            super().addFailure(test, err)
            counts.set(test.id(), "failed", self._exc_info_to_string(err, test))

        def addError(self, test, err):
            super().addError(test, err)
            counts.set(
                getattr(test, "id", lambda: str(test))(),
                "failed",
                self._exc_info_to_string(err, test),
            )

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            counts.set(test.id(), "skipped", reason)

        def addExpectedFailure(self, test, err):
            super().addExpectedFailure(test, err)
            counts.set(test.id(), "xfailed")

        def addUnexpectedSuccess(self, test):
            super().addUnexpectedSuccess(test)
            counts.set(test.id(), "failed", "unexpected success")

    runner = unittest.TextTestRunner(resultclass=Result, verbosity=1, stream=sys.stderr)
    result = runner.run(suite)
    return 0 if result.wasSuccessful() else 1


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--impl", choices=("rcffi", "cffi"), required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--must-import", default="")
    p.add_argument("kind", choices=("pytest", "unittest"))
    p.add_argument("rest", nargs=argparse.REMAINDER)
    args = p.parse_args()
    counts = Counts()
    start = time.monotonic()
    error = ""
    try:
        if args.kind == "pytest":
            code = run_pytest(args.rest, counts)
            if code in (2, 3, 4) and not counts.outcomes:
                # Interrupted, internal error or usage error (a conftest that
                # does not import) before any test: the whole run failed.
                counts.set("(pytest session)", "failed", f"pytest exit status {code}")
        else:
            code = run_unittest(args.rest[0], counts)
    except BaseException:  # noqa: BLE001 - the runner itself broke: a failed run
        error = traceback.format_exc()
        code = -1
    problems = guard(args.impl, [m for m in args.must_import.split(",") if m])
    backend = sys.modules.get("_cffi_backend")
    result = {
        **counts.summary(),
        "exit": code,
        "error": error,
        "guard": problems,
        "backend": getattr(backend, "__file__", None) or repr(backend),
        "backend_version": getattr(backend, "__version__", None),
        "seconds": round(time.monotonic() - start, 1),
        "failures": {
            k: counts.messages.get(k, "") for k, v in counts.outcomes.items() if v == "failed"
        },
        "skips": {
            k: counts.messages.get(k, "") for k, v in counts.outcomes.items() if v == "skipped"
        },
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    sys.stdout.flush()
    os._exit(0)  # the counts are written; atexit handlers of the tests do not count


if __name__ == "__main__":
    sys.exit(main())
