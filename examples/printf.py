"""Call the C library's ``printf`` through ``ffi.dlopen(None)``.

ABI mode, no compiler: the declaration is the one from the man page.
Variadic arguments must be cdata of a definite C type (here ``char[]`` and
an ``int`` cast), since C's default promotions cannot be guessed from
Python values.
"""

from __future__ import annotations

import rcffi

ffi = rcffi.FFI()
ffi.cdef(
    """
    int printf(const char *format, ...);
    int fflush(void *stream);
    """
)
C = ffi.dlopen(None)  # everything already loaded in the process, libc included


def main() -> None:
    """Print twice from C and check the returned character counts."""
    arg = ffi.new("char[]", b"world")  # C: char arg[] = "world";
    n = C.printf(b"hi there, %s.\n", arg)
    assert n == len("hi there, world.\n"), n
    n = C.printf(b"%d + %d = %d\n", ffi.cast("int", 2), ffi.cast("int", 3), ffi.cast("int", 5))
    assert n == len("2 + 3 = 5\n"), n
    C.fflush(ffi.NULL)  # C's stdout buffer is separate from Python's
    print("printf returned", n)


if __name__ == "__main__":
    main()
