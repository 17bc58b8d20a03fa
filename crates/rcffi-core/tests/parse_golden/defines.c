#define DEC 42
#define NEG -1
#define HEX 0x7fffFFFF
#define OCT 0755
#define ZERO 0
#define U 10u
#define UL 10UL
#define LU 10lu
#define LL 10ll
#define ULL 0xffffffffffffffffULL
#define LLU 7LLU
#define BIN 0b1010
#define BIG 170141183460469231731687303715884105727
#define SPACED    5   
  #  define INDENTED 6
#define DOTS ...
#define KEYWORD_NAME_int 1
