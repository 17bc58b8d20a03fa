typedef int a, *b, c[3];
typedef int (*fnptr)(int), fn(long), **pp;
typedef a a2;
typedef b *b2;
typedef const char *cstr, cstr_arr[4];
typedef fnptr fnptrs[2];
int use(a x, b y, cstr z, fnptr cb);
