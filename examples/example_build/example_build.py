"""The build script of an API-mode module, ``_example``.

``python example_build.py`` writes ``_example.c`` and compiles it into an
extension module next to this file; ``setup.py`` runs the same script
through ``rcffi_modules=["example_build.py:ffibuilder"]`` when the package
is installed.  ``use_example.py`` then imports it.
"""

import rcffi

ffibuilder = rcffi.FFI()

ffibuilder.set_source(
    "_example",
    r"""
    /* Given to the C compiler: implements what the cdef declares. */
    #include <sys/types.h>
    #include <pwd.h>

    struct passwd *get_pw_for_root(void) {
        return getpwuid(0);
    }
    """,
    libraries=[],  # libraries to link with, if any
)

ffibuilder.cdef(
    """
    struct passwd {
        char *pw_name;
        ...;     /* the compiler fills in the other fields */
    };
    struct passwd *getpwuid(int uid);     /* from <pwd.h> */
    struct passwd *get_pw_for_root(void); /* from set_source() above */
    """
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
