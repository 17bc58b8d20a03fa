"""Generate a large cdef by mechanically expanding a set of header-like
declaration templates (structs, unions, enums, typedefs, function
pointers, functions, globals): the kind of text real bindings feed to
``ffi.cdef``.  Both cffi and rcffi accept every line of it."""

from __future__ import annotations

TEMPLATE = """\
typedef struct mod{i}_point {{
    int x;
    int y;
    double weight;
}} mod{i}_point_t;
struct mod{i}_node {{
    struct mod{i}_node *next;
    mod{i}_point_t pos;
    unsigned char flags[8];
    unsigned int kind : 4;
    unsigned int live : 1;
    const char *name;
}};
union mod{i}_value {{
    long long i;
    double d;
    void *p;
}};
enum mod{i}_state {{
    MOD{i}_IDLE,
    MOD{i}_RUNNING = 4,
    MOD{i}_DONE = 0x10,
    MOD{i}_FAILED = -1
}};
typedef int (*mod{i}_callback_t)(void *userdata, int code, const char *msg);
typedef enum mod{i}_state mod{i}_state_t;
typedef unsigned long mod{i}_size_t;
#define MOD{i}_VERSION {i}
#define MOD{i}_MASK 0xff
struct mod{i}_ctx {{
    mod{i}_callback_t cb;
    union mod{i}_value values[4];
    struct mod{i}_node *head;
    mod{i}_state_t state;
    size_t count;
    char buffer[64];
}};
int mod{i}_init(struct mod{i}_ctx *ctx, mod{i}_callback_t cb, void *userdata);
void mod{i}_free(struct mod{i}_ctx *ctx);
int mod{i}_push(struct mod{i}_ctx *ctx, const mod{i}_point_t *p, double weight);
mod{i}_point_t mod{i}_centroid(const struct mod{i}_ctx *ctx);
const char *mod{i}_strerror(int code);
int mod{i}_printf(struct mod{i}_ctx *ctx, const char *fmt, ...);
extern int mod{i}_debug_level;
"""

LINES_PER_MODULE = TEMPLATE.count("\n")


def generate(lines: int = 2800) -> str:
    """About ``lines`` lines of declarations."""
    modules = max(1, round(lines / LINES_PER_MODULE))
    return "".join(TEMPLATE.format(i=i) for i in range(modules))


if __name__ == "__main__":
    print(generate(), end="")
