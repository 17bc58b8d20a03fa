"""The text of messages a newcomer meets first (each says what and where,
once)."""

from __future__ import annotations

import pytest

import rcffi


def test_dlopen_missing_library_says_it_once():
    ffi = rcffi.FFI()
    with pytest.raises(OSError) as e:
        ffi.dlopen("x_no_such_library.so")
    text = str(e.value)
    assert text.startswith(
        "cannot load library 'x_no_such_library.so': x_no_such_library.so: cannot open shared"
    )
    assert text.count("cannot load library") == 1
    assert text.endswith(
        "Additionally, ctypes.util.find_library() did not manage to locate a library "
        "called 'x_no_such_library.so'"
    )


def test_dlopen_missing_path():
    ffi = rcffi.FFI()
    with pytest.raises(OSError) as e:
        ffi.dlopen("./x_no_such_library.so")
    assert str(e.value) == (
        "cannot load library './x_no_such_library.so': ./x_no_such_library.so: "
        "cannot open shared object file: No such file or directory"
    )


def test_undeclared_name_of_dlopen_none():
    ffi = rcffi.FFI()
    ffi.cdef("int abs(int);")
    lib = ffi.dlopen(None)
    with pytest.raises(AttributeError) as e:
        lib.strlen  # noqa: B018
    assert str(e.value) == (
        "lib has no attribute 'strlen' (not declared in the cdef of the C library "
        "of the process (ffi.dlopen(None)))"
    )
    assert "library None" not in lib.abs.__doc__


def test_undeclared_name_of_a_library(tmp_path):
    ffi = rcffi.FFI()
    ffi.cdef("int abs(int);")
    lib = ffi.dlopen("libc.so.6")
    with pytest.raises(AttributeError) as e:
        lib.strlen  # noqa: B018
    assert str(e.value) == (
        "lib has no attribute 'strlen' (not declared in the cdef of library 'libc.so.6')"
    )
