struct point { int x, y; } origin, *cursor;
typedef struct { int w, h; } size_t_like, *size_ptr;
struct { int anon; } anon_var;
union u { int i; float f; } uv;
enum e { E1, E2 } ev, *evp;
struct s { int a; } typedef s_t;
