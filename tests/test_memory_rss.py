"""A million cycles of the memory operations keep the process's memory
flat: nothing rcffi allocates for a cdata outlives it.

The same loop runs under valgrind's leak checker (see the README,
"Development"): ``python3 tests/test_memory_rss.py --cycles 20000``.
"""

import gc
import os
import sys

import pytest

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def make_loop():
    import rcffi

    ffi = rcffi.FFI()
    ffi.cdef("struct node { int v; struct node *next; void *user; };")
    buf = bytearray(256)
    freed = [0]

    def destructor(p):
        freed[0] += 1

    class Holder:
        pass

    def cycle():
        # ffi.new, with keep-alive references between owners
        a = ffi.new("int[100]")
        n = ffi.new("struct node *")
        n.next = ffi.new("struct node *")
        n.next.next = n  # a cycle through keep-alive references
        a[99] = 7
        # ffi.from_buffer, released explicitly and not
        b = ffi.from_buffer(buf)
        b[0] = b"x"
        ffi.release(b)
        c = ffi.from_buffer("int[]", buf)
        c[1] = 2
        # ffi.gc, with its destructor called at release and at collection
        g = ffi.gc(ffi.new("char[32]"), destructor)
        ffi.release(g)
        ffi.gc(ffi.new("char[16]"), destructor)
        # ffi.release of new memory, and a `with` block
        with ffi.new("double[8]") as d:
            d[7] = 1.5
        ffi.release(a)
        # ffi.new_handle, also in a cycle with the object it refers to
        h = Holder()
        h.handle = ffi.new_handle(h)
        n.user = h.handle
        assert ffi.from_handle(n.user) is h

    return cycle, freed


def run(cycles):
    cycle, freed = make_loop()
    for _ in range(cycles):
        cycle()
    gc.collect()
    return freed[0]


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_million_cycles_keep_rss_flat():
    cycle, freed = make_loop()
    for _ in range(50_000):  # warm-up: caches, allocator arenas, code
        cycle()
    gc.collect()
    before = rss_bytes()
    for _ in range(1_000_000):
        cycle()
    gc.collect()
    growth = rss_bytes() - before
    assert freed[0] == 2 * 1_050_000  # every destructor ran once
    assert growth < 20 * 1024 * 1024, f"RSS grew by {growth / 1e6:.1f} MB"


if __name__ == "__main__":
    n = int(sys.argv[sys.argv.index("--cycles") + 1]) if "--cycles" in sys.argv else 10_000
    print(f"{n} cycles, {run(n)} destructors run")
