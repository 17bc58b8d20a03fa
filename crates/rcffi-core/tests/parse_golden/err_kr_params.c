int f(int a, b);
