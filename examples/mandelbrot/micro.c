/* Small functions whose calls measure what one call through a tool costs
 * (the "per call" rows of `make bench`).  micro.h uses Img, so
 * create_fractal.h comes first. */
#include "create_fractal.h"
#include "micro.h"

int add(int a, int b) { return a + b; }

double fma3(double a, double b, double c) { return a * b + c; }

void noop(void) { }

int sum_bytes(const unsigned char *buf, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++)
        s += buf[i];
    return s;
}

int area(Img img) { return img.width * img.height; }
