//! Times `parse_cdef` on ~3,000 lines of typical header declarations.
//!
//! `cargo run --release --example parse_speed`

use std::time::{Duration, Instant};

use rcffi_core::parse::parse_cdef;
use rcffi_core::parse::typedefs::Predefined;

/// About 3,000 lines: typedefs, structs, enums, prototypes, defines.
fn header(lines: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.lines().count() < lines {
        s.push_str(&format!(
            "/* block {i} */\n\
             #define LIB{i}_VERSION 0x{i:04x}\n\
             #define LIB{i}_FLAGS ...\n\
             typedef struct lib{i}_ctx lib{i}_ctx_t;\n\
             typedef int (*lib{i}_cb)(lib{i}_ctx_t *ctx, void *user, size_t len);\n\
             typedef enum {{ LIB{i}_OK = 0, LIB{i}_ERR = -1, LIB{i}_AGAIN = 1 << 2 }} lib{i}_status;\n\
             struct lib{i}_ctx {{\n    \
                 const char *name;\n    \
                 unsigned int flags;\n    \
                 uint32_t counts[16];\n    \
                 lib{i}_cb callback;\n    \
                 struct {{ int x, y; }} pos;\n    \
                 ...;\n\
             }};\n\
             lib{i}_ctx_t *lib{i}_open(const char *path, int mode);\n\
             lib{i}_status lib{i}_read(lib{i}_ctx_t *ctx, unsigned char *buf, size_t len);\n\
             int lib{i}_printf(lib{i}_ctx_t *ctx, const char *fmt, ...);\n\
             void lib{i}_close(lib{i}_ctx_t *ctx);\n\
             static const int LIB{i}_MAX = 4096;\n"
        ));
        i += 1;
    }
    s
}

fn main() {
    let src = header(3000);
    let n_lines = src.lines().count();
    let mut best = Duration::MAX;
    let mut decls = 0;
    for _ in 0..50 {
        let t = Instant::now();
        let parsed = parse_cdef(&src, &Predefined).expect("the generated header parses");
        best = best.min(t.elapsed());
        decls = parsed.decls.len();
    }
    println!(
        "{n_lines} lines, {} bytes, {decls} declarations: best of 50 = {:.3} ms",
        src.len(),
        best.as_secs_f64() * 1e3
    );
}
