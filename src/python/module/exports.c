/* The one export of _cffi_backend that Rust cannot write: it returns a
   `long double` (cffi's `_cffi_to_c_long_double`, slot 21 of the exports
   table).  The conversion itself is rcffi_long_double_of, in Rust. */

typedef struct _object PyObject;

extern int rcffi_long_double_of(PyObject *o, unsigned char *out);

long double rcffi_export_to_c_long_double(PyObject *o)
{
    union {
        long double value;
        unsigned char bytes[sizeof(long double) < 16 ? 16 : sizeof(long double)];
    } u;
    u.value = 0;
    if (rcffi_long_double_of(o, u.bytes) < 0)
        return -1;
    return u.value;
}
