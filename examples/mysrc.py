"""Three C functions in examples/mysrc/, compiled with gcc into a shared
library in a temporary directory, declared from the header and called in
ABI mode -- including the calls that fail with TypeError because a Python
value does not convert to the C parameter type.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import rcffi

MYSRC = Path(__file__).resolve().parent / "mysrc"


def load(tmp: Path):
    """Compile mysrc.c and return (ffi, lib)."""
    so = tmp / "_mysrc.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", f"-I{MYSRC}", "-o", str(so), str(MYSRC / "mysrc.c")],
        check=True,
    )
    ffi = rcffi.FFI()
    ffi.cdef((MYSRC / "mysrc.h").read_text())  # the header is the cdef
    return ffi, ffi.dlopen(str(so))


def expect_type_error(func, *args) -> str:
    """Call ``func(*args)``, which must raise TypeError; return its message."""
    try:
        func(*args)
    except TypeError as e:
        return str(e)
    raise AssertionError(f"{func} {args!r} did not raise TypeError")


def main() -> None:
    """Call each function, then show three TypeErrors of wrong arguments."""
    with tempfile.TemporaryDirectory() as tmp:
        ffi, lib = load(Path(tmp))
        sys.stdout.flush()  # keep Python's and C's output in order
        lib.mybasic()
        assert lib.myadd(4, 9) == 13.0
        print("myadd(4, 9) =", lib.myadd(4, 9))
        sys.stdout.flush()
        assert lib.myprint(b"Hello World") == len("Hello World\n")

        # double cannot take a complex number,
        print("TypeError:", expect_type_error(lib.myadd, 4, 13j))
        # char * cannot take an int,
        print("TypeError:", expect_type_error(lib.myprint, 4))
        # nor a str: C wants bytes (encode it, e.g. "Hello".encode()).
        print("TypeError:", expect_type_error(lib.myprint, "Hello World"))
    print("ok")


if __name__ == "__main__":
    main()
