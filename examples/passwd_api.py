"""API mode: ``typedef int... uid_t;`` and a partial
``struct passwd { uid_t pw_uid; ...; }`` that the C compiler completes.

``set_source`` + ``compile`` build the extension module ``_pwuid_cffi`` in a
temporary directory (what a ``pwuid_build.py`` build script would do), then it is
imported like any module.  Only the field we use is declared: the compiler
finds its offset and the real size of ``uid_t``.
"""

from __future__ import annotations

import importlib
import os
import pwd
import sys
import tempfile

import rcffi

ffibuilder = rcffi.FFI()
ffibuilder.cdef(
    """
    typedef int... uid_t;
    struct passwd {
        uid_t pw_uid;
        ...;
    };
    struct passwd *getpwnam(const char *);
    """
)
ffibuilder.set_source(
    "_pwuid_cffi",
    """
    #include <sys/types.h>
    #include <pwd.h>
    """,
)


def main() -> None:
    """Compile, import, and look up root and the current user."""
    with tempfile.TemporaryDirectory() as tmp:
        ffibuilder.compile(tmpdir=tmp)
        sys.path.insert(0, tmp)
        try:
            mod = importlib.import_module("_pwuid_cffi")
        finally:
            sys.path.remove(tmp)
        ffi, lib = mod.ffi, mod.lib
        print("sizeof(uid_t) =", ffi.sizeof("uid_t"))
        for name in ["root", pwd.getpwuid(os.getuid()).pw_name]:
            uid = lib.getpwnam(name.encode()).pw_uid
            assert uid == pwd.getpwnam(name).pw_uid
            print(f"{name}: uid={uid}")
        assert lib.getpwnam(b"no-such-user-rcffi") == ffi.NULL
    print("ok")


if __name__ == "__main__":
    main()
