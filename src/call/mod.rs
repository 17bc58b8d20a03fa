//! Layer 4 — call: calling C functions (call plans and invokers) and C
//! calling Python (callbacks), with errno kept as cffi does.

pub mod errno;
