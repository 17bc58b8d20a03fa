int a;
#line 100 "foo.h"
int b;
int c d;
