typedef ... ok_t;
int f(...);
