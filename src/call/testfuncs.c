/* C functions behind `_cffi_backend._testfunc(n)`: small functions with
 * one signature each, called by cffi's test suite through function
 * pointers of the matching type.  Only used by tests. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static char tf_add_chars(char x, char y) { return (char)(x + y); }

static long tf_int_plus_long(int x, long y) { return y + x; }

static long long tf_add_longlongs(long long x, long long y) { return x + y; }

static double tf_float_plus_double(float x, double y) { return y + x; }

static float tf_float_plus_double_as_float(float x, double y) {
    double sum = y + x;
    return (float)sum;
}

static void tf_bump_errno(void) { errno += 15; }

static int tf_static_int;

static int *tf_minus_thousand(int *p) {
    tf_static_int = p[0] - 1000;
    return &tf_static_int;
}

struct tf_uchar_short { unsigned char c; short s; };

static short tf_sum_uchar_short(struct tf_uchar_short v) {
    return (short)(v.s + v.c);
}

/* Sums `count` int varargs; a 0 counts as -66666666. */
static int tf_sum_varargs(int count, ...) {
    int sum = 0;
    va_list ap;
    va_start(ap, count);
    while (count-- > 0) {
        int x = va_arg(ap, int);
        sum += x ? x : -66666666;
    }
    va_end(ap);
    return sum;
}

static struct tf_uchar_short tf_make_uchar_short(int k) {
    struct tf_uchar_short r;
    r.c = (unsigned char)k;
    r.s = (short)(k * k);
    return r;
}

struct tf_two_ints { int x, y; };
static struct tf_two_ints tf_make_two_ints(int k) {
    struct tf_two_ints r = { k, k * k };
    return r;
}

struct tf_one_double { double d; };
static struct tf_one_double tf_make_one_double(int k) {
    struct tf_one_double r = { (double)k };
    return r;
}

struct tf_three_ints { int x, y, z; };
static struct tf_three_ints tf_make_three_ints(int k) {
    struct tf_three_ints r = { k, k * k, k * k * k };
    return r;
}

struct tf_one_float { float f; };
static struct tf_one_float tf_make_one_float(int k) {
    struct tf_one_float r = { (float)k };
    return r;
}

struct tf_float_int { float f; int i; };
static struct tf_float_int tf_make_float_int(int k) {
    struct tf_float_int r = { (float)k, k * k };
    return r;
}

struct tf_two_floats { float f, g; };
static struct tf_two_floats tf_make_two_floats(int k) {
    struct tf_two_floats r = { (float)k, -(float)k };
    return r;
}

struct tf_int_float { int i; float f; };
static struct tf_int_float tf_make_int_float(int k) {
    struct tf_int_float r;
    r.i = k;
    r.f = (float)k * (float)k;
    return r;
}

static int tf_read_int_float(struct tf_int_float *p) {
    return (int)p->f + p->i;
}

/* Iterates the logistic-like map x -> 4x - x*x in long double. */
static long double tf_iterate_long_double(long double x, int rounds) {
    for (int k = 0; k < rounds; k++)
        x = x * 4 - x * x;
    return x;
}

static short tf_read_uchar_short(struct tf_uchar_short *p) {
    return (short)(p->s + p->c);
}

struct tf_ten_ints { int v[10]; };

static int tf_weighted_ten(struct tf_ten_ints s) {
    int total = 0;
    for (int k = 9; k >= 0; k--)
        total += s.v[k] << k;
    return total;
}

static struct tf_ten_ints tf_subtract_ten(struct tf_ten_ints a,
                                          struct tf_ten_ints b) {
    struct tf_ten_ints r;
    for (int k = 0; k < 10; k++)
        r.v[k] = a.v[k] - b.v[k];
    return r;
}

static int tf_first_char_times_1000(char *s) {
    return s == NULL ? -42 : s[0] * 1000;
}

/* The address of test function `n` in *out; returns 0 for an unknown n. */
int rcffi_testfunc(int n, void **out) {
    void *f;
    switch (n) {
    case 0: f = (void *)tf_add_chars; break;
    case 1: f = (void *)tf_int_plus_long; break;
    case 2: f = (void *)tf_add_longlongs; break;
    case 3: f = (void *)tf_float_plus_double; break;
    case 4: f = (void *)tf_float_plus_double_as_float; break;
    case 5: f = (void *)tf_bump_errno; break;
    case 6: f = (void *)tf_minus_thousand; break;
    case 7: f = (void *)tf_sum_uchar_short; break;
    case 8: f = (void *)stderr; break;
    case 9: f = (void *)tf_sum_varargs; break;
    case 10: f = (void *)tf_make_uchar_short; break;
    case 11: f = (void *)tf_make_two_ints; break;
    case 12: f = (void *)tf_make_one_double; break;
    case 13: f = (void *)tf_make_three_ints; break;
    case 14: f = (void *)tf_make_one_float; break;
    case 15: f = (void *)tf_make_float_int; break;
    case 16: f = (void *)tf_make_two_floats; break;
    case 17: f = (void *)tf_make_int_float; break;
    case 18: f = (void *)tf_read_int_float; break;
    case 19: f = (void *)tf_iterate_long_double; break;
    case 20: f = (void *)tf_read_uchar_short; break;
    case 21: f = (void *)tf_weighted_ten; break;
    case 22: f = (void *)tf_subtract_ten; break;
    case 23: f = (void *)tf_first_char_times_1000; break;
    default: return 0;
    }
    *out = f;
    return 1;
}
