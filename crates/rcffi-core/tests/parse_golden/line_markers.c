# 1 "main.c"
# 1 "<built-in>"
# 1 "foo.h" 1 3 4
typedef int foo_t;
#line 40 "bar.h"
foo_t bar(foo_t);
#line 7
int baz;
#pragma once
