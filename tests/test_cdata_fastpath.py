"""The fast paths of cdata (struct fields as plain numbers, the classes of
new objects) give the same results, errors and classes as the general
path."""

import gc
import sys
import weakref

import pytest

import rcffi
from rcffi import _cffi_backend as backend

CDEF = """
typedef struct _Img { int width; int height; unsigned char *data; } Img;
enum color { RED, GREEN = 5 };
struct all {
    signed char i8; unsigned char u8; short i16; unsigned short u16;
    int i32; unsigned int u32; long long i64; unsigned long long u64;
    float f32; double f64; _Bool b; char c; enum color e; int bits: 3;
    int *p;
};
"""


@pytest.fixture(scope="module")
def ffi():
    f = rcffi.FFI()
    f.cdef(CDEF)
    return f


INT_LIMITS = {
    "i8": (-(2**7), 2**7 - 1),
    "u8": (0, 2**8 - 1),
    "i16": (-(2**15), 2**15 - 1),
    "u16": (0, 2**16 - 1),
    "i32": (-(2**31), 2**31 - 1),
    "u32": (0, 2**32 - 1),
    "i64": (-(2**63), 2**63 - 1),
    "u64": (0, 2**64 - 1),
}


@pytest.mark.parametrize("name", sorted(INT_LIMITS))
def test_integer_fields_limits(ffi, name):
    lo, hi = INT_LIMITS[name]
    p = ffi.new("struct all *")
    for v in (lo, hi, 0, 1):
        setattr(p, name, v)
        assert getattr(p, name) == v
        assert type(getattr(p, name)) is int
    for bad in (lo - 1, hi + 1, 2**70, -(2**70)):
        with pytest.raises(OverflowError):
            setattr(p, name, bad)
        assert getattr(p, name) == 1  # unchanged


def test_other_values_take_the_general_path(ffi):
    p = ffi.new("struct all *")
    p.i32 = True  # bool is an int subclass: converted as cffi does
    assert p.i32 == 1
    with pytest.raises(TypeError):
        p.i32 = 1.5
    with pytest.raises(TypeError):
        p.i32 = "1"
    p.f64 = 3  # an int into a double
    assert p.f64 == 3.0 and type(p.f64) is float
    p.f32 = 0.1
    assert p.f32 == pytest.approx(0.1) and p.f32 != 0.1  # rounded to float
    p.f64 = float("inf")
    assert p.f64 == float("inf")
    p.b = True
    assert p.b is True
    p.c = b"x"
    assert p.c == b"x"
    p.e = 5
    assert p.e == 5
    p.bits = -3
    assert p.bits == -3
    x = ffi.new("int *", 42)
    p.p = x
    assert p.p[0] == 42


def test_names_that_only_compare_equal(ffi):
    p = ffi.new("Img *")
    name = "".join(["wid", "th"])  # not interned
    assert name is not "width"  # noqa: F632
    setattr(p, name, 7)
    assert getattr(p, name) == 7 and p.width == 7
    assert getattr(p, sys.intern(name)) == 7


def test_struct_and_pointer_to_struct(ffi):
    p = ffi.new("Img *")
    s = p[0]
    s.height = 9
    assert p.height == 9
    q = ffi.cast("Img *", p)
    q.width = 3
    assert s.width == 3


def test_errors_unchanged(ffi):
    p = ffi.new("Img *")
    with pytest.raises(AttributeError, match="cdata 'struct _Img \\*' has no field 'nope'"):
        _ = p.nope
    with pytest.raises(AttributeError, match="has no field 'nope'"):
        p.nope = 1
    with pytest.raises(AttributeError, match="cannot delete struct field"):
        del p.width
    n = ffi.cast("Img *", 0)
    with pytest.raises(RuntimeError, match="null pointer"):
        _ = n.width
    with pytest.raises(RuntimeError, match="null pointer"):
        n.width = 1
    i = ffi.new("int *")
    with pytest.raises(AttributeError, match="cdata 'int \\*' has no attribute 'width'"):
        _ = i.width
    assert p.__class__ is type(p)


def test_released_memory(ffi):
    p = ffi.new("Img *")
    p.width = 1
    ffi.release(p)
    with pytest.raises(ValueError, match="released"):
        _ = p.width
    with pytest.raises(ValueError, match="released"):
        p.width = 2
    q = ffi.new("Img *")
    view = q[0]
    ffi.release(q)
    with pytest.raises(ValueError, match="released"):
        _ = view.width


def test_classes_of_cdata(ffi):
    base = backend._CDataBase
    assert type(ffi.cast("int *", 0)) is base
    assert type(ffi.cast("int", 5)) is base
    assert type(ffi.new("int[3]")) is backend.__CDataOwn
    p = ffi.new("Img *")
    assert type(p) is backend.__CDataOwn
    assert type(p[0]) is backend.__CDataOwn
    assert type(p.data) is base
    assert type(ffi.new_handle(object())) is backend.__CDataOwnGC
    assert type(ffi.from_buffer(bytearray(4))) is backend.__CDataFromBuf
    assert type(ffi.gc(ffi.new("int *"), lambda _: None)) is backend.__CDataGCP
    for c in (base, backend.__CDataOwn, backend.__CDataOwnGC):
        assert c.__module__ == "_cffi_backend"
        assert issubclass(c, ffi.CData)
    assert ffi.CData is base
    with pytest.raises(TypeError):
        base()
    with pytest.raises(TypeError):

        class Sub(type(p)):
            pass


def test_gc_tracking(ffi):
    # Memory owners without keep-alive references and values stay out of
    # the cyclic GC; views, handles and owners holding references are in.
    assert not gc.is_tracked(ffi.new("int[10]"))
    assert not gc.is_tracked(ffi.cast("int", 1))
    assert not gc.is_tracked(ffi.cast("int *", 0))
    p = ffi.new("Img *")
    assert not gc.is_tracked(p)
    assert gc.is_tracked(p[0])
    assert gc.is_tracked(ffi.new_handle(p))
    p.data = ffi.new("unsigned char[]", 4)
    assert gc.is_tracked(p)


def test_cycle_through_keepalive_is_collected(ffi):
    class Holder:
        pass

    h = Holder()
    handle = ffi.new_handle(h)
    p = ffi.new("void *[1]")
    p[0] = handle
    h.p = p  # h -> p -> (keep-alive) handle -> h
    h.view = p + 0  # a view of p, referenced by h
    ref = weakref.ref(h)
    del h, handle, p
    gc.collect()
    assert ref() is None


def test_new_and_cast_arguments(ffi):
    import inspect

    assert str(inspect.signature(ffi.new)) == "(cdecl, init=None)"
    assert str(inspect.signature(ffi.cast)) == "(cdecl, source)"
    assert ffi.new(cdecl="int *", init=7)[0] == 7
    assert ffi.new("int *", None)[0] == 0
    assert ffi.new("int[]", 3)[2] == 0
    assert ffi.new("Img *", {"width": 4}).width == 4
    assert ffi.cast(source=3, cdecl="long") == 3
    t = ffi.typeof("int *")
    assert ffi.typeof(ffi.new(t)) is t
    assert ffi.typeof(ffi.cast(t, 0)) is t
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        ffi.new()
    with pytest.raises(TypeError, match="positional arguments but 3 were given"):
        ffi.new("int *", 1, 2)
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'source'"):
        ffi.cast("int *")
    with pytest.raises(TypeError, match="unknown size"):
        ffi.new("void *")
    with pytest.raises(rcffi.CDefError):
        ffi.new("no_such_t *")
    for _ in range(3):  # once resolved, the same strings take the fast path
        with pytest.raises(TypeError, match="unknown size"):
            ffi.new("void *")


def test_cast_sources(ffi):
    a = ffi.new("int[4]")
    p = ffi.cast("unsigned char *", a)
    assert int(ffi.cast("intptr_t", p)) == int(ffi.cast("intptr_t", a))
    assert ffi.cast("int *", -1) == ffi.cast("int *", 2**64 - 1)
    assert int(ffi.cast("uintptr_t", ffi.cast("int *", 2**64 + 5))) == 5
    assert ffi.cast("int *", 0) == ffi.NULL
    assert ffi.cast("int *", True) == ffi.cast("int *", 1)
    assert ffi.cast("int *", ffi.cast("long", 8)) == ffi.cast("int *", 8)
    with pytest.raises(TypeError):
        ffi.cast("int *", ffi.new("Img *")[0])
    with pytest.raises(TypeError):
        ffi.cast("int *", "x")
    # The cast keeps the memory of its source alive.
    q = ffi.cast("int *", ffi.new("int[1]", [42]))
    gc.collect()
    assert q[0] == 42
    ffi.release(a)
    with pytest.raises(ValueError, match="released"):
        ffi.cast("char *", a)


def test_items_fast_and_general(ffi):
    a = ffi.new("int[4]", [1, 2, 3, 4])
    assert [a[i] for i in range(4)] == [1, 2, 3, 4]
    a[3] = -5
    assert a[3] == -5
    with pytest.raises(IndexError, match="index too large"):
        a[4]
    with pytest.raises(IndexError, match="index too large"):
        a[4] = 0
    with pytest.raises(IndexError, match="negative index"):
        a[-1]
    with pytest.raises(OverflowError):
        a[0] = 2**31
    with pytest.raises(TypeError):
        a[0] = 1.5
    with pytest.raises(IndexError):
        a[2**70]
    assert a[True] == 2  # bool is an int: the general path
    assert list(a[1:3]) == [2, 3]
    a[0:2] = [7, 8]
    assert a[0] == 7 and a[1] == 8
    p = a + 2
    assert p[-1] == 8 and p[0] == 3  # pointers take any index
    p[-1] = 9
    assert a[1] == 9
    n = ffi.new("int *", 5)
    assert n[0] == 5
    with pytest.raises(IndexError, match="can only be indexed by 0"):
        n[1]
    d = ffi.new("double[2]")
    d[1] = 2.5
    d[0] = 3  # an int into a double: the general path
    assert d[1] == 2.5 and d[0] == 3.0 and type(d[0]) is float
    u = ffi.new("unsigned long long[1]")
    u[0] = 2**64 - 1
    assert u[0] == 2**64 - 1
    with pytest.raises(OverflowError):
        u[0] = -1
    e = ffi.new("enum color[2]")
    e[1] = 5
    assert e[1] == 5
    c = ffi.new("char[2]")
    c[0] = b"z"
    assert c[0] == b"z"
    with pytest.raises(RuntimeError, match="null pointer"):
        ffi.cast("int *", 0)[0]
    ffi.release(a)
    with pytest.raises(ValueError, match="released"):
        a[0]
    with pytest.raises(ValueError, match="released"):
        p[0] = 1
    with pytest.raises(TypeError):
        del d[0]


def test_pointer_fields(ffi):
    p = ffi.new("struct all *")
    assert p.p == ffi.NULL
    x = ffi.new("int *", 42)
    p.p = x
    del x
    gc.collect()
    assert p.p[0] == 42  # kept alive by p, read through the fast path
    q = p.p
    assert ffi.typeof(q) is ffi.typeof("int *")
    s = p[0]
    assert s.p[0] == 42  # a view: the owner keeps it
    p.p = ffi.NULL
    assert p.p == ffi.NULL
    img = ffi.new("Img[1]")
    img[0].data = ffi.new("unsigned char[]", 10)
    gc.collect()
    img[0].data[9] = 200
    assert img[0].data[9] == 200


def test_kept_pointer_is_one_object_while_the_slot_is_unchanged(ffi):
    img = ffi.new("Img *")
    data = ffi.new("unsigned char[]", 10)
    img.data = data
    first = img.data
    # The same pointer object again (fast path, general path, and through
    # a view of the struct), as long as the slot holds the same address.
    assert img.data is first
    assert getattr(img, "".join(["da", "ta"])) is first  # a non-interned name: general path
    assert img[0].data is first
    assert ffi.typeof(first) is ffi.typeof("unsigned char *")
    assert first == data
    # Stored again: a new entry, a new pointer object.
    other = ffi.new("unsigned char[]", 3)
    img.data = other
    assert img.data is not first and img.data == other
    assert first == data  # the old pointer object still points to data
    # The slot changed behind rcffi's back (as C code would do it): the
    # cached object is not given for another address.
    raw = ffi.cast("uintptr_t *", img)
    before = img.data
    raw[1] = int(ffi.cast("uintptr_t", data))
    assert img.data == data and img.data is not before
    # Read as another pointer type: an object of that type.
    as_chars = ffi.cast("struct { int w, h; char *data; } *", img)
    assert ffi.typeof(as_chars.data) is ffi.typeof("char *")


def test_cached_kept_pointer_keeps_its_memory_and_is_collected(ffi):
    class Holder:
        pass

    img = ffi.new("Img *")
    img.data = ffi.new("unsigned char[]", 10)
    gc.collect()
    img.data[9] = 7
    assert img.data[9] == 7  # the array lives through the cached pointer
    # A cycle through the cached pointer object: img -> handle -> h ->
    # cached pointer -> array, and the handle stored in the array.
    h = Holder()
    arr = ffi.new("unsigned char[16]")
    img.data = arr
    slots = ffi.cast("void **", arr)
    slots[0] = ffi.new_handle(h)  # kept by arr
    h.ptr = img.data
    gc.collect()
    assert ffi.from_handle(ffi.cast("void **", img.data)[0]) is h  # the handle is kept
    assert img.data is h.ptr
    ref = weakref.ref(h)
    del h, arr, img, slots
    gc.collect()
    assert ref() is None


def test_item_views(ffi):
    p = ffi.new("Img *")
    s = p[0]
    assert type(s) is backend.__CDataOwn
    assert repr(s) == "<cdata 'struct _Img' owning 16 bytes>"
    arr = ffi.new("Img[3]")
    arr[2].width = 7
    v = arr[2]
    assert type(v) is backend._CDataBase and v.width == 7
    assert repr(v).startswith("<cdata 'struct _Img &'")
    del arr
    gc.collect()
    assert v.width == 7  # the view keeps the array alive
    m = ffi.new("int[2][3]")
    m[1][2] = 5
    row = m[1]
    assert ffi.typeof(row) is ffi.typeof("int[3]") and row[2] == 5
    q = ffi.new("int(*)[3]")
    assert type(q[0]) is backend._CDataBase and len(q[0]) == 3
    pp = ffi.new("int *[2]")
    x = ffi.new("int *", 9)
    pp[1] = x
    del x
    gc.collect()
    assert pp[1][0] == 9 and pp[0] == ffi.NULL


def test_new_of_partial_types_stays_an_error():
    f = rcffi.FFI()
    f.cdef("enum e { A, B, ... }; struct s { int x; ...; };")
    for _ in range(3):  # also once the type strings are remembered
        for t in ("enum e *", "enum e[2]", "struct s *"):
            with pytest.raises(rcffi.VerificationMissing):
                f.new(t)


def test_plain_char_bitfields_hold_unsigned_values():
    # As in cffi: `char` bitfields hold 0 .. 2**bits - 1 (the same bits C
    # stores for the signed values of its `char`).
    ffi = rcffi.FFI()
    ffi.cdef("struct cb { char b: 8; char c: 3; signed char d: 3; };")
    p = ffi.new("struct cb *")
    p.b, p.c, p.d = 200, 7, -4
    assert (p.b, p.c, p.d) == (200, 7, -4)
    raw = ffi.unpack(ffi.cast("unsigned char *", p), ffi.sizeof("struct cb"))
    assert raw[0] == 200
    with pytest.raises(OverflowError, match="0 <= x <= 7"):
        p.c = -1
    with pytest.raises(OverflowError, match="-4 <= x <= 3"):
        p.d = 4


def test_opaque_enum_warns_once_when_first_used():
    import warnings

    ffi = rcffi.FFI()
    ffi.cdef("enum opaque_e;")
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        p = ffi.new("enum opaque_e *", 7)
        assert int(ffi.cast("enum opaque_e", -1)) == 2**32 - 1
        ffi.new("enum opaque_e[2]")
    assert p[0] == 7
    assert [str(w.message) for w in log] == [
        "'enum opaque_e' has no values explicitly defined; "
        "guessing that it is equivalent to 'unsigned int'"
    ]
    assert log[0].category is UserWarning
