struct outer {
    int a;
    struct inner { int x; int y; } in;
    struct { int anon_a; int anon_b; };
    union { int u_int; float u_float; };
    unsigned int flag1 : 1, flag2 : 2;
    int : 0;
    signed char small : 3;
    char name[16];
    double matrix[2][3];
    void (*callback)(struct outer *self, int);
    int flexible[];
};
struct partial { int known; ...; };
struct partial_first { ...; int known; };
struct empty { };
