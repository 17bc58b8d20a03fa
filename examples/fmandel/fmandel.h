/* The declarations fmandel_verify.py puts in its cdef(). */
#include <stdlib.h>
float f(float, float, int);
void mandelbrot(float, float, float, float, int, int, float *);
