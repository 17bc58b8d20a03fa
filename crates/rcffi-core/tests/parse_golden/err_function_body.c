# 1 "main.c"
# 1 "lib.h" 1
struct s { int x; };
# 3 "main.c" 2

int f(int x) { return x; }
