/* create_fractal: one C call draws the whole image, -2 < real < 1 across
 * and -1 < imag < 1 down, calling mandel() for each pixel. */
#include "create_fractal.h"

int create_fractal(Img img, int iters) {
    float pixel_size_x = 3.0 / img.width;
    float pixel_size_y = 2.0 / img.height;
    int x, y;
    for (y=0; y < img.height; y++) {
        float imag = y * pixel_size_y - 1;
        int yy = y * img.width;
        for (x=0; x < img.width; x++) {
            float real = x * pixel_size_x - 2;
            unsigned char color;
            mandel(real, imag, iters, &color);
            img.data[yy + x] = color;
        }
    }
    return 0;
}
