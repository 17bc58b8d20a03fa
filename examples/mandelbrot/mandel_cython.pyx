# cython: language_level=3
# The Cython contender of `make bench` (used only when Cython is
# installed): a `cdef extern` wrapper over this folder's C, compiled into a
# CPython extension module together with it.  The image is a Python
# object holding its pixels in a bytearray, the loop's output value a
# bytearray(1): Cython has no C-struct objects of its own.

cdef extern from "create_fractal.h":
    ctypedef struct Img:
        int width
        int height
        unsigned char *data
    int c_create_fractal "create_fractal"(Img img, int iters)
    int c_mandel "mandel"(float real, float imag, int max_iters, unsigned char *val)

cdef extern from "micro.h":
    int c_add "add"(int a, int b)
    double c_fma3 "fma3"(double a, double b, double c)
    void c_noop "noop"()
    int c_sum_bytes "sum_bytes"(const unsigned char *buf, int n)
    int c_area "area"(Img img)


class Image:
    """width, height and the pixels (a bytearray), as the loop uses them."""

    def __init__(self, width, height):
        self.width = width
        self.height = height
        self.data = bytearray(width * height)


cdef Img as_img(image):
    cdef Img img
    cdef unsigned char[::1] pixels = image.data
    img.width = image.width
    img.height = image.height
    img.data = &pixels[0] if pixels.shape[0] else NULL
    return img


def create_fractal(image, int iters):
    return c_create_fractal(as_img(image), iters)


cpdef int mandel(float real, float imag, int max_iters, unsigned char[::1] val):
    return c_mandel(real, imag, max_iters, &val[0])


def add(int a, int b):
    return c_add(a, b)


def fma3(double a, double b, double c):
    return c_fma3(a, b, c)


def noop():
    c_noop()


def sum_bytes(const unsigned char[::1] buf, int n):
    if n > buf.shape[0]:
        raise ValueError("sum_bytes: n is larger than the buffer")
    return c_sum_bytes(&buf[0], n)


def area(image):
    return c_area(as_img(image))
