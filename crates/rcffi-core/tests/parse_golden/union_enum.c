union value { int i; double d; char *s; void *p; };
enum color { RED, GREEN = 5, BLUE };
enum flags { F_A = 1 << 0, F_B = 1 << 1, F_AB = F_A | F_B, F_C = 'c', F_NEG = -2 };
enum trailing { T1, T2, };
enum partial1 { P1, P2, ... };
enum partial2 { Q1 = ..., Q2 };
enum partial3 { ... };
enum { ANON_A, ANON_B } anon_var;
typedef enum { TE_A = 0x10, TE_B } te_t;
