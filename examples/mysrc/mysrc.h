/* The functions mysrc.py declares and calls. */
void mybasic(void);
int myprint(char *);
double myadd(double, double);
