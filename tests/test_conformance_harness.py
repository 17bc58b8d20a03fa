"""Fast tests of the conformance harness (conformance/): no download, no rcffi build needed."""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
harness = importlib.import_module("conformance.harness")


# ---------------------------------------------------------------------------------------------
# expected_failures.txt lines


@pytest.mark.parametrize("line", ["", "   ", "# a comment", "   # indented comment", "#"])
def test_blank_and_comment_lines_are_skipped(line):
    assert harness.parse_expected_line(line, 1) is None


@pytest.mark.parametrize(
    ("line", "test_id", "reason"),
    [
        (
            "test_c.py::test_callback_exception  # callbacks not implemented yet (ABI issue)",
            "test_c.py::test_callback_exception",
            "callbacks not implemented yet (ABI issue)",
        ),
        ("test_c.py::test_x # r", "test_c.py::test_x", "r"),
        ("  test_c.py::test_x\t#\treason  ", "test_c.py::test_x", "reason"),
        (
            "test_ffi_backend.py::TestFFI::test_y  # why # with # hashes",
            "test_ffi_backend.py::TestFFI::test_y",
            "why # with # hashes",
        ),
        (
            "test_c.py::test_p[int-1 2]  # parametrized, space in id",
            "test_c.py::test_p[int-1 2]",
            "parametrized, space in id",
        ),
        (
            "test_c.py::test_p[a#b]  # '#' inside the id",
            "test_c.py::test_p[a#b]",
            "'#' inside the id",
        ),
    ],
)
def test_entry_lines(line, test_id, reason):
    entry = harness.parse_expected_line(line, 7)
    assert entry == harness.Entry(test_id, reason, 7)


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("test_c.py::test_x", "missing"),
        ("test_c.py::test_x#no space", "missing"),
        ("test_c.py::test_x  #   ", "empty reason"),
        ("test_c.py  # not a test", "not a test id"),
        ("::test_x  # no file", "not a test id"),
        ("src/c/test_c.py::test_x  # dir", "without directory"),
    ],
)
def test_bad_entry_lines(line, complaint):
    with pytest.raises(harness.ExpectedFileError, match=complaint) as info:
        harness.parse_expected_line(line, 12)
    assert "line 12" in str(info.value)


def test_parse_expected_file():
    text = textwrap.dedent("""\
        # header

        test_c.py::test_a  # reason a
        test_ffi_backend.py::TestFFI::test_b[x]  # reason b
    """)
    entries = harness.parse_expected(text)
    assert list(entries) == ["test_c.py::test_a", "test_ffi_backend.py::TestFFI::test_b[x]"]
    assert entries["test_c.py::test_a"].lineno == 3
    assert entries["test_ffi_backend.py::TestFFI::test_b[x]"].reason == "reason b"


def test_parse_expected_duplicate():
    with pytest.raises(harness.ExpectedFileError, match="already listed line 1"):
        harness.parse_expected("test_c.py::t  # a\ntest_c.py::t  # b\n")


def test_the_committed_expected_file_parses():
    expected = harness.parse_expected((REPO / "conformance" / "expected_failures.txt").read_text())
    not_run = harness.parse_expected((REPO / "conformance" / "not_run.txt").read_text())
    assert not set(expected) & set(not_run)


def test_format_entry_round_trips():
    line = harness.format_entry("test_c.py::test_p[a b]", "some reason")
    assert line == "test_c.py::test_p[a b]  # some reason"
    assert harness.parse_expected_line(line) == harness.Entry(
        "test_c.py::test_p[a b]", "some reason", 0
    )


# ---------------------------------------------------------------------------------------------
# Ids, stale and unknown entries


@pytest.mark.parametrize(
    ("nodeid", "expected"),
    [
        ("src/c/test_c.py::test_x", "test_c.py::test_x"),
        (
            "testing/cffi0/test_ffi_backend.py::TestFFI::test_y",
            "test_ffi_backend.py::TestFFI::test_y",
        ),
        ("test_c.py::test_p[a/b::c]", "test_c.py::test_p[a/b::c]"),
        ("src/c/test_c.py", "test_c.py"),
    ],
)
def test_short_id(nodeid, expected):
    assert harness.short_id(nodeid) == expected


def test_stale_and_unknown_entries():
    entries = harness.parse_expected(
        "test_c.py::gone  # a\ntest_c.py::here  # b\ntest_ffi_backend.py::T::t  # c\n"
        "test_other.py::t  # d\n"
    )
    stale = harness.stale_entries(entries, ["test_c.py::here", "test_c.py::more"], {"test_c.py"})
    assert [e.test_id for e in stale] == ["test_c.py::gone"]
    # a file that collected nothing (import error) is not checked
    assert harness.stale_entries(entries, [], {"test_c.py"}) == []
    unknown = harness.unknown_file_entries(entries, {"test_c.py", "test_ffi_backend.py"})
    assert [e.test_id for e in unknown] == ["test_other.py::t"]


# ---------------------------------------------------------------------------------------------
# Outcomes, counts and summary lines


def phase(when, outcome, **extra):
    return {"when": when, "outcome": outcome, "message": extra.pop("message", ""), **extra}


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        ([phase("setup", "passed"), phase("call", "passed"), phase("teardown", "passed")],
         (harness.PASSED, "")),
        ([phase("setup", "passed"), phase("call", "failed", message="boom")],
         (harness.FAILED, "boom")),
        (
            [phase("setup", "failed", message="fixture")],
            (harness.FAILED, "error in setup: fixture"),
        ),
        ([phase("call", "passed"), phase("teardown", "failed", message="td")],
         (harness.FAILED, "error in teardown: td")),
        ([phase("setup", "skipped", message="win32 only")], (harness.SKIPPED, "win32 only")),
        ([phase("call", "skipped", xfail=True, message="E")], (harness.XFAILED, "E")),
        ([phase("call", "passed", xfail=True)], (harness.XPASSED, "")),
        ([phase("call", "failed", strict_xpass=True, message="[XPASS(strict)] r")],
         (harness.XPASS_STRICT, "listed as expected failure but passed: [XPASS(strict)] r")),
        ([], (harness.FAILED, "no result reported")),
    ],
)  # fmt: skip
def test_combine_phases(phases, expected):
    assert harness.combine_phases(phases) == expected


def results(**outcomes):
    return {k: harness.Result(k, v) for k, v in outcomes.items()}


def test_count_results():
    res = results(a="passed", b="xpassed", c="failed", d="xpass_strict", e="xfailed", f="skipped")
    assert harness.count_results(res) == harness.Counts(2, 2, 1, 1)
    assert harness.count_results(res, extra_failures=3) == harness.Counts(2, 5, 1, 1)
    assert harness.count_results({}) == harness.Counts()


def test_format_summary():
    assert harness.format_summary("test_c", harness.Counts(227, 0, 0, 2)) == (
        "test_c: 227 passed, 0 failed, 0 xfailed, 2 skipped"
    )
    total = harness.Counts(1, 2, 3, 4) + harness.Counts(10, 20, 30, 40)
    assert harness.format_summary("conformance", total) == (
        "conformance: 11 passed, 22 failed, 33 xfailed, 44 skipped"
    )


def test_not_run_tests_are_counted_apart():
    total = harness.Counts(1, 0, 0, 0, 3) + harness.Counts(1, 0, 0, 0, 2)
    assert harness.format_summary("cffi1", total) == (
        "cffi1: 2 passed, 0 failed, 0 xfailed, 0 skipped, 5 not run"
    )
    entries = harness.parse_expected("t.py::b  # cffi internals\n")
    ids = ["testing/x/t.py::a", "testing/x/t.py::b", "testing/x/u.py::b"]
    assert harness.not_run_ids(entries, ids) == ["testing/x/t.py::b"]


def test_plugin_not_run_file(tmp_path):
    not_run = tmp_path / "not_run.txt"
    not_run.write_text("test_synthetic.py::test_crash  # would crash\n")
    code, report = run_plugin(tmp_path, f"--conformance-not-run={not_run}", "-k", "not listed")
    assert report.finished
    assert "test_crash" not in outcomes_of(report)
    assert "test_synthetic.py::test_crash" in report.collected  # deselected after collection


def test_summary_line_has_the_required_prefix():
    line = harness.format_summary("cffi0", harness.Counts(5, 1))
    assert line.startswith("cffi0: 5 passed, 1 failed")


def test_unexpected_failures_sorted():
    res = results(b="failed", a="xpass_strict", c="passed", d="xfailed")
    assert [r.test_id for r in harness.unexpected_failures(res)] == ["a", "b"]


def test_shorten():
    assert harness.shorten("a\n  b\tc") == "a b c"
    assert harness.shorten("x" * 50, limit=10) == "xxxxxxx..."


# ---------------------------------------------------------------------------------------------
# --update-expected


def test_update_expected_text():
    old = textwrap.dedent("""\
        # header comment

        # group 1
        test_c.py::still_fails  # known reason
        test_c.py::now_passes  # fixed
        test_c.py::not_run  # kept: not run this time
        test_c.py::skipped_now  # kept: skipped
        test_c.py::gone  # stale

    """)
    res = {
        "test_c.py::still_fails": harness.Result("test_c.py::still_fails", harness.XFAILED),
        "test_c.py::now_passes": harness.Result("test_c.py::now_passes", harness.XPASS_STRICT),
        "test_c.py::skipped_now": harness.Result("test_c.py::skipped_now", harness.SKIPPED),
        "test_c.py::new_z": harness.Result("test_c.py::new_z", harness.FAILED),
        "test_c.py::new_a": harness.Result("test_c.py::new_a", harness.FAILED, "crashed"),
        "test_c.py::ok": harness.Result("test_c.py::ok", harness.PASSED),
        "test_c.py": harness.Result("test_c.py", harness.FAILED, "collection error"),
    }
    new, added, removed = harness.update_expected_text(old, res, {"test_c.py::gone"})
    assert added == ["test_c.py::new_a", "test_c.py::new_z"]
    assert removed == ["test_c.py::now_passes", "test_c.py::gone"]
    assert new == textwrap.dedent("""\
        # header comment

        # group 1
        test_c.py::still_fails  # known reason
        test_c.py::not_run  # kept: not run this time
        test_c.py::skipped_now  # kept: skipped

        test_c.py::new_a  # TODO reason
        test_c.py::new_z  # TODO reason
    """)
    assert set(harness.parse_expected(new)) == {
        "test_c.py::still_fails", "test_c.py::not_run", "test_c.py::skipped_now",
        "test_c.py::new_a", "test_c.py::new_z",
    }  # fmt: skip


def test_update_expected_text_from_empty_file():
    res = {"test_c.py::t": harness.Result("test_c.py::t", harness.FAILED)}
    assert harness.update_expected_text("", res, set()) == (
        "test_c.py::t  # TODO reason\n",
        ["test_c.py::t"],
        [],
    )
    assert harness.update_expected_text("", {}, set()) == ("", [], [])


def test_probe_warnings():
    assert harness.probe_warnings({"missing_rcffi": [], "missing_backend": []}) == []
    assert harness.probe_warnings({"backend_version": "2.1.1"}) == []
    warnings = harness.probe_warnings(
        {
            "missing_rcffi": ["PkgConfigError"],
            "missing_backend": ["_testfunc", "_get_types"],
            "backend_version": "0.1.0",
        }
    )
    assert len(warnings) == 4
    assert "PkgConfigError" in warnings[0]
    assert "_testfunc" in warnings[1]
    assert "cannot be collected" in warnings[2]
    assert "'0.1.0'" in warnings[3]


# ---------------------------------------------------------------------------------------------
# Report file


def test_parse_report_tolerates_a_truncated_last_line():
    text = (
        harness.report_event("collected", ids=["src/c/test_c.py::a", "src/c/test_c.py::b"])
        + harness.report_event("selected", ids=["src/c/test_c.py::a"])
        + harness.report_event("result", id="src/c/test_c.py::a", outcome="passed", message="")
        + '{"event": "result", "id": "src/c/te'
    )
    report = harness.parse_report(text)
    assert report.collected == ["test_c.py::a", "test_c.py::b"]
    assert report.selected == ["test_c.py::a"]
    assert report.results == {"test_c.py::a": harness.Result("test_c.py::a", "passed", "")}
    assert not report.finished
    report = harness.parse_report(text + "\n" + harness.report_event("finish", exitstatus=1))
    assert report.finished and report.exitstatus == 1


# ---------------------------------------------------------------------------------------------
# The pytest plugin, on a synthetic test file (a few subprocess runs, about a second each)

SYNTHETIC_TESTS = """\
import os, signal
import pytest

def test_pass():
    pass

def test_fail():
    assert 0, "plain failure"

def test_listed_fail():
    raise ValueError("expected")

def test_listed_pass():
    pass

def test_crash():
    os.kill(os.getpid(), signal.SIGSEGV)

def test_listed_crash():
    os.kill(os.getpid(), signal.SIGSEGV)

@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n == 1

def test_skip():
    pytest.skip("not here")
"""

SYNTHETIC_EXPECTED = """\
test_synthetic.py::test_listed_fail  # raises
test_synthetic.py::test_listed_pass  # should be reported as a strict XPASS
test_synthetic.py::test_listed_crash  # crashes
test_synthetic.py::test_param[2]  # parametrized
"""


def run_plugin(tmp_path: Path, *args: str) -> tuple[int, object]:
    """Run pytest with our plugin on the synthetic tests; return (exit code, report)."""
    (tmp_path / "test_synthetic.py").write_text(SYNTHETIC_TESTS)
    (tmp_path / "expected.txt").write_text(SYNTHETIC_EXPECTED)
    report = tmp_path / "report.jsonl"
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:faulthandler",
        "-p", "conformance.plugin", "-c", os.devnull, f"--rootdir={tmp_path}",
        f"--conformance-expected={tmp_path / 'expected.txt'}", f"--conformance-report={report}",
        *args, str(tmp_path / "test_synthetic.py"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    return proc.returncode, harness.parse_report(report.read_text())


def outcomes_of(report) -> dict[str, str]:
    return {k.split("::", 1)[1]: v.outcome for k, v in report.results.items()}


def test_plugin_forked_mode(tmp_path):
    code, report = run_plugin(tmp_path, "--conformance-forked")
    assert code == 1 and report.finished
    assert len(report.collected) == 9
    assert outcomes_of(report) == {
        "test_pass": "passed",
        "test_fail": "failed",
        "test_listed_fail": "xfailed",
        "test_listed_pass": "xpass_strict",
        "test_crash": "failed",
        "test_listed_crash": "xfailed",
        "test_param[1]": "passed",
        "test_param[2]": "xfailed",
        "test_skip": "skipped",
    }
    assert report.results["test_synthetic.py::test_skip"].message == "not here"
    assert report.results["test_synthetic.py::test_crash"].message == "crashed (signal 11)"
    assert report.results["test_synthetic.py::test_listed_crash"].message == "crashed (signal 11)"
    assert "plain failure" in report.results["test_synthetic.py::test_fail"].message


def test_plugin_in_process_crash_leaves_a_partial_report(tmp_path):
    code, report = run_plugin(tmp_path, "-k", "not listed_crash")
    assert code == -11 and not report.finished
    assert len(report.collected) == 9  # all, before -k deselection
    assert len(report.selected) == 8
    assert outcomes_of(report) == {
        "test_pass": "passed",
        "test_fail": "failed",
        "test_listed_fail": "xfailed",
        "test_listed_pass": "xpass_strict",
    }


def test_plugin_records_the_test_that_died(tmp_path):
    code, report = run_plugin(tmp_path, "-k", "not listed_crash")
    assert code == -11
    assert harness.crashed_test(report) == "test_synthetic.py::test_crash"


def test_crash_result():
    listed = harness.parse_expected("t.py::b  # crashes\n")
    died = harness.crash_result("s", "signal 11", "t.py::a", listed)
    assert died == harness.Result(
        "s", harness.FAILED, "pytest died (signal 11) while running t.py::a"
    )
    assert harness.crash_result("s", "signal 11", "t.py::b", listed) is None
    between = harness.crash_result("s", "signal 9", None, listed)
    assert between.message == "pytest died (signal 9) between two tests"


def load_run_module():
    """conformance/run.py as a module (it imports its neighbours as top-level modules)."""
    sys.path.insert(0, str(REPO / "conformance"))
    try:
        return importlib.import_module("run")
    finally:
        sys.path.remove(str(REPO / "conformance"))


@pytest.mark.skipif(importlib.util.find_spec("rcffi") is None, reason="needs rcffi importable")
@pytest.mark.parametrize(
    ("keyword", "suite_failure"),
    [
        ("not listed_crash", "pytest died (signal 11) while running test_synthetic.py::test_crash"),
        ("listed_crash or test_pass", None),  # a listed test that crashes is an expected failure
    ],
)
def test_run_suite_counts_the_crash_and_reruns_the_rest(
    tmp_path, monkeypatch, keyword, suite_failure
):
    run = load_run_module()
    (tmp_path / "test_synthetic.py").write_text(SYNTHETIC_TESTS)
    (tmp_path / "expected.txt").write_text(SYNTHETIC_EXPECTED)
    monkeypatch.setattr(run, "WORK", tmp_path / "work")
    (tmp_path / "work").mkdir()
    args = run.parse_args(["-k", keyword, "--expected", str(tmp_path / "expected.txt")])
    entries = run.load_entries(args.expected)
    suite = run.Suite("synthetic", ("test_synthetic.py",))
    outcome = run.run_suite(suite, tmp_path, args, entries)
    results = {k: (r.outcome, r.message) for k, r in outcome.results.items()}
    if suite_failure is None:
        assert "synthetic" not in results
        assert results["test_synthetic.py::test_listed_crash"] == ("xfailed", "crashed (signal 11)")
        assert outcome.counts.failed == 0
    else:
        assert results["synthetic"] == ("failed", suite_failure)
        # the test that crashed ran again alone, and the tests after it ran too
        assert results["test_synthetic.py::test_crash"] == ("failed", "crashed (signal 11)")
        assert results["test_synthetic.py::test_skip"][0] == "skipped"
        # test_fail, test_listed_pass (strict XPASS), test_crash, and the crash itself
        assert outcome.counts.failed == 4


def test_plugin_forked_timeout(tmp_path):
    (tmp_path / "test_hang.py").write_text("import time\ndef test_hang():\n    time.sleep(60)\n")
    code, report = run_plugin(
        tmp_path,
        "--conformance-forked",
        "--conformance-timeout=0.5",
        str(tmp_path / "test_hang.py"),
    )
    assert code == 1 and report.finished
    hang = report.results["test_hang.py::test_hang"]
    assert (hang.outcome, hang.message) == ("failed", "timed out after 0.5s (killed)")


def test_plugin_deselect_file(tmp_path):
    deselect = tmp_path / "deselect.txt"
    deselect.write_text("test_synthetic.py::test_crash\ntest_synthetic.py::test_listed_crash\n")
    code, report = run_plugin(tmp_path, f"--conformance-deselect={deselect}")
    assert code == 1 and report.finished
    assert "test_crash" not in outcomes_of(report)
    assert outcomes_of(report)["test_param[2]"] == "xfailed"


# ---------------------------------------------------------------------------------------------
# The cffi substitution, with a tiny fake rcffi

FAKE_RCFFI_INIT = """\
class FFI: pass
class CDefError(Exception): pass
__version__ = "2.0.0"
"""

SHIM_TESTS = """\
import importlib, pytest

def test_shim():
    import cffi, _cffi_backend
    import rcffi, rcffi._cffi_backend
    assert cffi.FFI is rcffi.FFI and cffi.CDefError is rcffi.CDefError
    assert cffi.__version__ == "2.0.0"
    assert _cffi_backend is rcffi._cffi_backend
    from cffi.backend_ctypes import CTypesBackend
    with pytest.raises(NotImplementedError):
        CTypesBackend()
    from cffi._imp_emulation import load_dynamic
    import cffi.extra  # an rcffi submodule
    assert cffi.extra is importlib.import_module("rcffi.extra")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("cffi.api")  # the real cffi stays out of reach
"""


def run_shim_tests(tmp_path: Path, pythonpath: str) -> subprocess.CompletedProcess:
    """Run SHIM_TESTS with --conformance-backend=rcffi."""
    (tmp_path / "test_shim.py").write_text(SHIM_TESTS)
    env = dict(os.environ, PYTHONPATH=pythonpath, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conformance.plugin",
        "-c", os.devnull, f"--rootdir={tmp_path}", "--conformance-backend=rcffi",
        str(tmp_path / "test_shim.py"),
    ]  # fmt: skip
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)


def test_shim_substitutes_rcffi(tmp_path):
    fake = tmp_path / "fake" / "rcffi"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(FAKE_RCFFI_INIT)
    (fake / "_cffi_backend.py").write_text('__version__ = "2.0.0"\n')
    (fake / "extra.py").write_text("")
    proc = run_shim_tests(tmp_path, os.pathsep.join([str(REPO), str(tmp_path / "fake")]))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("rcffi") is not None, reason="rcffi is importable here"
)
def test_shim_without_rcffi_is_a_clear_usage_error(tmp_path):
    proc = run_shim_tests(tmp_path, str(REPO))
    assert proc.returncode == 4  # pytest's usage error
    assert "rcffi is not importable: build it with" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
