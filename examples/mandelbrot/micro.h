int add(int a, int b);
double fma3(double a, double b, double c);
void noop(void);
int sum_bytes(const unsigned char *buf, int n);
int area(Img img);
