"""The rcffi demo: the seed-000 Mandelbrot declarations, on rcffi.

Run with ``make demo``.  It parses the talk's ``create_fractal.h`` with
rcffi, shows the C types and layouts rcffi computed, and fills an image
struct through C memory.
"""

from __future__ import annotations

import time

import rcffi

HEADER = """
typedef struct _Img{
    int width;
    int height;
    unsigned char * data;
} Img;
int create_fractal(Img img, int iters);
int mandel(float real, float imag, int max_iters, unsigned char * val);
"""


def main() -> None:
    t0 = time.perf_counter()
    ffi = rcffi.FFI()
    ffi.cdef(HEADER)
    t1 = time.perf_counter()
    print(f"rcffi {rcffi.__version__}: cdef of create_fractal.h in {(t1 - t0) * 1e6:.0f} us")
    img_t = ffi.typeof("Img")
    print(f"  {img_t.cname}: {ffi.sizeof(img_t)} bytes, aligned to {ffi.alignof(img_t)}")
    for name, field in img_t.fields:
        print(f"    {ffi.getctype(field.type, name):28} offset {field.offset}")
    width, height = 1500, 1000
    img = ffi.new("Img[1]")
    img[0].width, img[0].height = width, height
    data = ffi.new("unsigned char[]", width * height)
    img[0].data = data
    print(f"  {img!r}, data {data!r}")
    print(f"  img[0].width = {img[0].width}, img[0].height = {img[0].height}")


if __name__ == "__main__":
    main()
