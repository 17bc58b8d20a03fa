"""When C calls release the GIL (``rcffi.set_gil_release``, ``call::gil``).

``PyGILState_Check()``, called through rcffi itself, tells whether the
thread held the GIL during the call: in ``"auto"`` mode only when no other
thread could take it (no other thread in the interpreter, no rcffi
callback alive); in ``"always"`` mode never, as in cffi.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading

import pytest

import rcffi

CC = shutil.which("gcc") or shutil.which("cc")
THREAD_SOURCE = r"""
#include <pthread.h>
static void *run(void *cb) { ((void (*)(void))cb)(); return 0; }
/* Calls cb() from a new thread and waits for it. */
int call_in_thread(void (*cb)(void)) {
    pthread_t t;
    if (pthread_create(&t, 0, run, (void *)cb) != 0) return -1;
    return pthread_join(t, 0);
}
"""


@pytest.fixture
def api():
    ffi = rcffi.FFI()
    ffi.cdef("int PyGILState_Check(void); unsigned int usleep(unsigned int);")
    return ffi, ffi.dlopen(None)


@pytest.fixture
def mode():
    before = rcffi.set_gil_release("auto")
    yield
    rcffi.set_gil_release(before)


def test_mode_switch_and_bad_mode(mode):
    assert rcffi.set_gil_release("always") == "auto"
    assert rcffi.set_gil_release("auto") == "always"
    with pytest.raises(ValueError, match="'always' or 'auto'"):
        rcffi.set_gil_release("never")
    assert rcffi.set_gil_release("auto") == "auto"


def run_child(code: str, **env_changes: str) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter (no thread or callback left by
    other tests), without RCFFI_RELEASE_GIL unless given."""
    env = dict(os.environ)
    env.pop("RCFFI_RELEASE_GIL", None)
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


CHECK = """
    import gc, threading, rcffi
    ffi = rcffi.FFI()
    ffi.cdef("int PyGILState_Check(void);")
    check = ffi.dlopen(None).PyGILState_Check
"""


def test_held_only_while_no_other_thread_could_take_it():
    out = run_child(
        CHECK
        + """
    seen = [check()]                    # alone: kept
    cb = ffi.callback("void(void)", lambda: None)
    seen.append(check())                # a callback alive: released
    del cb; gc.collect()
    seen.append(check())                # kept again
    rcffi.set_gil_release("always")
    seen.append(check())                # released, as in cffi
    rcffi.set_gil_release("auto")
    stop = threading.Event()
    t = threading.Thread(target=stop.wait); t.start()
    seen.append(check())                # another thread: released
    stop.set(); t.join()
    seen.append(check())                # alone again: kept
    print(seen)
    """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[1, 0, 1, 0, 0, 1]"


def test_always_releases(api, mode):
    ffi, lib = api
    rcffi.set_gil_release("always")
    assert lib.PyGILState_Check() == 0


def test_another_thread_releases_and_runs_during_the_call(api, mode):
    ffi, lib = api
    stop = threading.Event()
    ticks = [0]

    def spin():
        while not stop.is_set():
            ticks[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        assert lib.PyGILState_Check() == 0
        before = ticks[0]
        lib.usleep(100_000)  # the other thread runs Python meanwhile
        assert ticks[0] > before
    finally:
        stop.set()
        t.join()


@pytest.mark.skipif(CC is None, reason="needs a C compiler")
def test_callback_from_a_thread_that_the_call_waits_for(tmp_path, mode):
    # C starts a thread that calls back into Python and waits for it: the
    # callback being alive, the GIL is released and nothing deadlocks.
    # Run in a child process so that a deadlock fails instead of hanging.
    lib_path = tmp_path / "libthr.so"
    src = tmp_path / "thr.c"
    src.write_text(THREAD_SOURCE)
    subprocess.run([CC, "-shared", "-fPIC", "-pthread", str(src), "-o", str(lib_path)], check=True)
    out = run_child(
        f"""
        import rcffi
        ffi = rcffi.FFI()
        ffi.cdef("int call_in_thread(void (*cb)(void));")
        lib = ffi.dlopen({str(lib_path)!r})
        seen = []
        cb = ffi.callback("void(void)", lambda: seen.append(1))
        assert lib.call_in_thread(cb) == 0
        assert seen == [1]
        print("ok")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_environment_variable_sets_the_mode():
    out = run_child(CHECK + "    print(check())", RCFFI_RELEASE_GIL="always")
    assert out.stdout.strip() == "0", out.stderr
    code = "import warnings, rcffi; print(rcffi.set_gil_release('auto'))"
    out = run_child(code, RCFFI_RELEASE_GIL="sometimes")
    assert out.stdout.strip() == "auto"
    assert "RCFFI_RELEASE_GIL ignored" in out.stderr
