/* Three tiny functions to call from Python. */
#include <stdio.h>
#include "mysrc.h"

void mybasic(void)
{
    printf("mybasic() called\n");
    fflush(stdout);
}

int myprint(char *message)
{
    int n = printf("%s\n", message);
    fflush(stdout);
    return n;
}

double myadd(double x, double y)
{
    return x + y;
}
