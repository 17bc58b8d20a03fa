char t1; signed char t2; unsigned char t3; char signed t4; char unsigned t5;
short t6; short int t7; signed short t8; int short t9; unsigned short t10; short unsigned int t11;
int t12; signed t13; signed int t14; unsigned t15; unsigned int t16; int unsigned t17;
long t18; long int t19; signed long t20; unsigned long t21; long unsigned int t22; int long unsigned t23;
long long t24; long long int t25; unsigned long long t26; long unsigned long t27; signed long long int t28;
float t29; double t30; long double t31; double long t32;
_Bool t33; float _Complex t34; double _Complex t35; _Complex double t36;
void *t37;
