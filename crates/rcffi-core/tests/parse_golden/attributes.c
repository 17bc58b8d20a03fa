__extension__ typedef long long ll_t;
struct __attribute__((packed)) packed { char c; int i; };
struct aligned { int a __attribute__((aligned(16))); } __attribute__((aligned(16)));
int f(void) __attribute__((nothrow, visibility("default")));
int * __attribute__((unused)) p;
__attribute__((deprecated)) int old(int);
