"""``rcffi.install_as_cffi()`` makes unmodified cffi programs run on rcffi."""

import os
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import rcffi
    rcffi.install_as_cffi()

    # An unmodified cffi program from here on.
    import cffi
    import _cffi_backend
    from cffi import FFI, CDefError

    ffi = FFI()
    ffi.cdef("struct point { int x, y; };")
    p = ffi.new("struct point *", {"x": 1, "y": 2})
    assert (p.x, p.y) == (1, 2)
    assert cffi.FFI is rcffi.FFI
    assert _cffi_backend is rcffi._cffi_backend
    try:
        ffi.cdef("struct broken {")
    except CDefError as e:
        assert "line 1" in str(e)
    else:
        raise AssertionError("no CDefError")
    print("ok")
    """
)


def test_unmodified_program_runs_on_rcffi():
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
