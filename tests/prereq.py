"""Prerequisites of tests that the machine may lack (a Debian package, a
tool, a Python version).  On a developer's machine a missing prerequisite
skips the test with its name; under ``RCFFI_REQUIRE_ALL=1`` (set by
``.ci/run``) it fails, so CI never passes by skipping."""

import os

import pytest

REQUIRE_ALL = os.environ.get("RCFFI_REQUIRE_ALL") == "1"


def need(present: bool, what: str) -> None:
    """Skip (or, in CI, fail) the calling test unless ``present``."""
    if present:
        return
    if REQUIRE_ALL:
        pytest.fail(f"missing prerequisite (RCFFI_REQUIRE_ALL=1): {what}", pytrace=False)
    pytest.skip(f"missing prerequisite: {what}")
