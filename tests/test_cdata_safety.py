"""rcffi-specific safety of cdata: bad input raises instead of crashing.

cffi leaves these cases to the C programmer (they may crash the process);
rcffi raises a Python exception.  The tests use the backend directly.
"""

import gc
import weakref

import pytest

from rcffi._cffi_backend import (
    buffer,
    cast,
    complete_struct_or_union,
    from_buffer,
    gcp,
    new_array_type,
    new_pointer_type,
    new_primitive_type,
    new_struct_type,
    newp,
    release,
    string,
    unpack,
)

INT = new_primitive_type("int")
CHAR = new_primitive_type("char")
INT_P = new_pointer_type(INT)
INT_PP = new_pointer_type(INT_P)
CHAR_P = new_pointer_type(CHAR)
INT_A = new_array_type(INT_P, None)
CHAR_A = new_array_type(CHAR_P, None)


def struct_type(name, fields):
    st = new_struct_type(name)
    complete_struct_or_union(st, [(n, t, -1) for n, t in fields])
    return st, new_pointer_type(st)


# --- NULL -----------------------------------------------------------------


def test_null_pointer_index_raises():
    p = cast(INT_P, 0)
    with pytest.raises(RuntimeError):
        p[0]
    with pytest.raises(RuntimeError):
        p[0] = 1
    with pytest.raises(RuntimeError):
        p[0:2]


def test_null_struct_pointer_fields_raise():
    _, sp = struct_type("s_null", [("a", INT)])
    p = cast(sp, 0)
    with pytest.raises(RuntimeError):
        _ = p.a
    with pytest.raises(RuntimeError):
        p.a = 1


def test_null_string_unpack_buffer_raise():
    p = cast(CHAR_P, 0)
    with pytest.raises(RuntimeError):
        string(p)
    with pytest.raises(RuntimeError):
        unpack(p, 3)
    b = buffer(p, 4)
    with pytest.raises(RuntimeError):
        b[0]
    with pytest.raises(BufferError):
        bytes(b)


# --- released memory -------------------------------------------------------


def test_released_new_memory_cannot_be_used():
    p = newp(INT_P, 42)
    release(p)
    with pytest.raises(ValueError):
        p[0]
    with pytest.raises(ValueError):
        p[0] = 1
    a = newp(INT_A, [1, 2, 3])
    view = a + 1
    item_view = a[0:2]
    release(a)
    for bad in (lambda: a[0], lambda: view[0], lambda: item_view[0], lambda: list(a)):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError):
        unpack(a, 3)
    with pytest.raises(ValueError):
        buffer(a)


def test_released_struct_fields_cannot_be_used():
    _, sp = struct_type("s_rel", [("a", INT), ("b", INT)])
    p = newp(sp, [1, 2])
    s = p[0]
    release(p)
    with pytest.raises(ValueError):
        _ = p.a
    with pytest.raises(ValueError):
        s.b = 3


def test_released_with_block():
    with newp(CHAR_A, b"hello") as p:
        assert string(p) == b"hello"
    with pytest.raises(ValueError):
        string(p)


def test_buffer_export_keeps_memory_until_it_ends():
    p = newp(CHAR_A, b"abcd")
    m = memoryview(buffer(p))
    release(p)
    with pytest.raises(ValueError):
        p[0]
    # the memoryview still reads valid memory: freeing waits for it
    assert m.tobytes() == b"abcd\x00"
    m[0] = ord("z")
    assert m.tobytes() == b"zbcd\x00"
    m.release()


def test_buffer_over_released_memory_raises():
    p = newp(CHAR_A, b"abcd")
    b = buffer(p)
    release(p)
    with pytest.raises(ValueError):
        b[0]
    with pytest.raises(ValueError):
        b[0:2] = b"xy"
    with pytest.raises(BufferError):
        memoryview(b)


def test_from_buffer_released_then_resized():
    ba = bytearray(b"xyz" * 10)
    p = from_buffer(CHAR_A, ba)
    release(p)
    assert p[2] == b"z"  # same memory still there (as in cffi)
    ba.extend(b"w" * 100000)  # may move the bytes elsewhere
    ba[:] = b""
    with pytest.raises(ValueError):
        p[2]


def test_gc_release_calls_destructor_once():
    seen = []
    orig = newp(INT_P, 7)
    p = gcp(orig, seen.append)
    release(p)
    release(p)
    assert seen == [orig]
    assert p[0] == 7  # the memory belongs to `orig`, still alive
    release(orig)
    with pytest.raises(ValueError):
        p[0]


# --- bounds ----------------------------------------------------------------


def test_array_bounds():
    a = newp(new_array_type(INT_P, 5), None)
    for i in (5, 6, -1, 10**6):
        with pytest.raises(IndexError):
            a[i]
        with pytest.raises(IndexError):
            a[i] = 0
    with pytest.raises(IndexError):
        a[3:6]
    with pytest.raises(IndexError):
        a[-1:2]


def test_new_pointer_only_has_item_0():
    p = newp(INT_P, 1)
    with pytest.raises(IndexError):
        p[1]
    with pytest.raises(IndexError):
        p[-1] = 3


def test_unpack_and_string_stay_in_known_memory():
    a = newp(new_array_type(CHAR_P, 3), b"abc")  # no terminator
    assert string(a) == b"abc"
    with pytest.raises(IndexError):
        unpack(a, 4)
    q = newp(INT_A, [1, 2, 3]) + 1
    assert unpack(q, 2) == [2, 3]
    with pytest.raises(IndexError):
        unpack(q, 3)


def test_open_array_field_writes_are_bounded():
    _, sp = struct_type("s_var", [("n", INT), ("a", INT_A)])
    p = newp(sp, [1, 3])
    assert len(p.a) == 3
    p.a = [7, 8, 9]
    assert list(p.a) == [7, 8, 9]
    with pytest.raises(IndexError):
        p.a = [1, 2, 3, 4]
    with pytest.raises(IndexError):
        p.a[3]


def test_buffer_bounds():
    b = buffer(newp(CHAR_A, b"ab"))
    assert len(b) == 3
    with pytest.raises(IndexError):
        b[3]
    with pytest.raises(ValueError):
        b[0:2] = b"xyz"
    assert b[1:100] == b"b\x00"


# --- keep-alive ------------------------------------------------------------


def test_pointer_slot_keeps_owner_alive():
    pp = newp(INT_PP)
    p = newp(INT_P, 42)
    ref = weakref.ref(p)
    pp[0] = p
    del p
    gc.collect()
    assert ref() is not None
    assert pp[0][0] == 42
    pp[0] = cast(INT_P, 0)
    gc.collect()
    assert ref() is None


def test_views_keep_owner_alive():
    a = newp(INT_A, [1, 2, 3])
    s = a[1:3]
    q = a + 2
    del a
    gc.collect()
    assert list(s) == [2, 3]
    assert q[0] == 3


def test_cdata_cannot_be_subclassed():
    with pytest.raises(TypeError):
        type("X", (type(cast(INT, 1)),), {})
    with pytest.raises(TypeError):
        type("Y", (buffer,), {})


def test_buffer_larger_than_owned_memory_is_not_readable_beyond():
    import warnings

    p = newp(new_array_type(CHAR_P, 4), b"abcd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = buffer(p, 100)
    assert len(b) == 100
    assert b[0:4] == b"abcd"
    with pytest.raises(IndexError):
        b[50]
    with pytest.raises(IndexError):
        b[:]
    with pytest.raises(BufferError):
        memoryview(b)
