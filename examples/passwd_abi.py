"""ABI mode: ``getpwnam`` from the C library, with the whole
``struct passwd`` written out in the cdef.

No compiler is involved, so the declaration must match glibc's layout on
this platform exactly (field order and types); a wrong guess here is not
detected, it just reads the wrong bytes.  passwd_api.py shows the safer way.
"""

from __future__ import annotations

import os
import pwd
import sys

import rcffi

ffi = rcffi.FFI()
ffi.cdef(
    """
    typedef unsigned int uid_t;   /* glibc, Linux */
    typedef unsigned int gid_t;
    struct passwd {
        char *pw_name;      /* username */
        char *pw_passwd;    /* user password */
        uid_t pw_uid;       /* user ID */
        gid_t pw_gid;       /* group ID */
        char *pw_gecos;     /* user information */
        char *pw_dir;       /* home directory */
        char *pw_shell;     /* shell program */
    };
    struct passwd *getpwnam(const char *);
    """
)
C = ffi.dlopen(None)  # the C library already loaded in the process


def lookup(name: str):
    """Return (uid, gid, home, shell) for ``name``, or None if unknown."""
    p = C.getpwnam(name.encode())
    if p == ffi.NULL:
        return None
    return p.pw_uid, p.pw_gid, ffi.string(p.pw_dir).decode(), ffi.string(p.pw_shell).decode()


def main() -> None:
    """Look up root and the current user; compare with Python's pwd module."""
    if not sys.platform.startswith("linux"):
        sys.exit("this struct passwd layout is glibc's (Linux)")
    names = ["root", pwd.getpwuid(os.getuid()).pw_name]
    for name in names:
        uid, gid, home, shell = lookup(name)
        ref = pwd.getpwnam(name)
        assert (uid, gid, home, shell) == (ref.pw_uid, ref.pw_gid, ref.pw_dir, ref.pw_shell)
        print(f"{name}: uid={uid} gid={gid} home={home} shell={shell}")
    assert lookup("no-such-user-rcffi") is None
    print("ok")


if __name__ == "__main__":
    main()
