"""Every Python example of README.md and docs/*.md runs (a doctest-style
runner over the Markdown), so the documentation cannot drift from the code.

Per page, the ```` ```python ```` blocks run in order in one namespace (so a
block may use what an earlier one defined), with a fresh temporary
directory as the working directory and on ``sys.path`` (so a build script's
module can be imported by the next block), in a fresh interpreter.  Two
HTML comments, invisible on the rendered page, steer it; each stands alone
on the line(s) just above a block:

* ``<!-- docs-test: skip (REASON) -->`` — the next block is not run; the
  reason is required, and such blocks stay few.
* ``<!-- docs-test: setup`` ... ``-->`` — the Python between the two lines
  runs first (it writes the files or builds the library the next block
  uses, without cluttering the page).

A ```` ```pycon ```` block is an interactive session (``>>>`` prompts and
the output they print, tracebacks included): it runs in the page's
namespace through :mod:`doctest`, and its output must match (``...``
stands for any text).  Blocks in other languages (``sh``, ``c``,
``toml``, plain text) are not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Few blocks may be skipped; raise this only for a good reason.
MAX_SKIPPED = 4

FENCE = re.compile(r"^```(\w*)\s*$")
SKIP = re.compile(r"^<!-- docs-test: skip \((.+)\) -->$")
SETUP_START = "<!-- docs-test: setup"


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    code: str
    setup: str = ""
    skip: str | None = None
    session: bool = False  # a pycon block, checked by doctest


def blocks(page: Path) -> list[Block]:
    """The Python blocks of ``page``, with their setup code or skip reason."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    pending_setup, pending_skip = "", None
    while i < len(lines):
        line = lines[i]
        if line.startswith(SETUP_START):
            end = lines.index("-->", i)
            pending_setup = "\n".join(lines[i + 1 : end]) + "\n"
            i = end + 1
            continue
        m = SKIP.match(line)
        if m:
            pending_skip = m.group(1)
            i += 1
            continue
        m = FENCE.match(line)
        if m:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            if m.group(1) in ("python", "pycon"):
                code = "\n".join(lines[i + 1 : end]) + "\n"
                session = m.group(1) == "pycon"
                found.append(Block(page, i + 1, code, pending_setup, pending_skip, session))
            pending_setup, pending_skip = "", None
            i = end + 1
            continue
        if line.startswith("<!-- docs-test"):
            raise AssertionError(f"{page.name}:{i + 1}: unknown docs-test comment: {line}")
        i += 1
    return found


def page_script(page_blocks: list[Block]) -> str:
    """One script running the page's blocks in order; a failure names the
    page and the line of the block."""
    parts = [
        "import doctest, sys, traceback",
        "ns = {'__name__': '__main__'}",
        "def session(text, where, line):",
        "    test = doctest.DocTestParser().get_doctest(text, ns, where, where, line)",
        "    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)",
        "    runner.run(test, clear_globs=False)",
        "    if runner.failures:",
        "        raise AssertionError(f'{runner.failures} example(s) of the session failed')",
    ]
    for b in page_blocks:
        if b.skip is not None:
            continue
        where = f"{b.page.relative_to(ROOT)}:{b.line}"
        for kind, code in (("setup of the block at", b.setup), ("block at", b.code)):
            if not code:
                continue
            run = f"exec(compile({code!r}, {where!r}, 'exec'), ns)"
            if b.session and kind == "block at":
                run = f"session({code!r}, {where!r}, {b.line})"
            parts.append(
                textwrap.dedent(
                    f"""
                    try:
                        {run}
                    except BaseException:
                        traceback.print_exc()
                        print("docs-test: the {kind} {where} failed", file=sys.stderr)
                        sys.exit(1)
                    """
                )
            )
    return "\n".join(parts)


def test_pages_are_found():
    assert (ROOT / "README.md") in PAGES and len(PAGES) > 5
    assert sum(len(blocks(p)) for p in PAGES) >= 8


def test_skipped_blocks_are_few_and_say_why():
    skipped = [b for p in PAGES for b in blocks(p) if b.skip is not None]
    assert len(skipped) <= MAX_SKIPPED, [f"{b.page.name}:{b.line}" for b in skipped]
    assert all(len(b.skip.split()) >= 3 for b in skipped)


def test_markers_are_read(tmp_path):
    """The parser sees setup and skip comments (on a page made here)."""
    page = tmp_path / "sample.md"
    page.write_text(
        "<!-- docs-test: setup\nx = 1\n-->\n```python\nprint(x)\n```\n"
        "<!-- docs-test: skip (it is only an illustration) -->\n```python\nboom\n```\n"
        "```sh\nnot python\n```\n"
    )
    found = blocks(page)
    assert [(b.setup, b.code, b.skip) for b in found] == [
        ("x = 1\n", "print(x)\n", None),
        ("", "boom\n", "it is only an illustration"),
    ]


# The pages with a block to run (the others have only shell, C or prose).
RUNNABLE = [p for p in PAGES if any(b.skip is None for b in blocks(p))]


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page, tmp_path):
    page_blocks = blocks(page)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(tmp_path), str(ROOT / "python"), env.get("PYTHONPATH", "")] if p
    )
    env["RCFFI_DOCS_ROOT"] = str(ROOT)  # for setup blocks that need the repository's files
    out = subprocess.run(
        [sys.executable, "-c", page_script(page_blocks)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
