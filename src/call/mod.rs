//! Layer 4 — call: calling C functions (call plans and invokers) and C
//! calling Python (callbacks), with errno kept as cffi does.
//!
//! * [`abi`] describes C types as libffi types (the platform's calling
//!   convention for structs and unions lives there);
//! * [`plan`] builds and caches the call plan of each function type;
//! * [`marshal`] converts Python arguments and results through a plan;
//! * [`callback`] makes C function pointers that call Python;
//! * [`gil`] releases the GIL around C calls when another thread can use it;
//! * [`raw`] holds every `unsafe` operation of the layer.

pub mod abi;
pub mod callback;
pub mod direct;
pub mod errno;
pub mod gil;
pub mod marshal;
pub mod plan;
pub mod pyconv;
pub mod raw;

/// The address of the C test function `n` of `_testfunc`, if there is one.
pub fn testfunc(n: i32) -> Option<usize> {
    raw::testfunc(n)
}
