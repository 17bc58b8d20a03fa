//! Direct calls: calling a C function whose arguments and result all
//! travel in registers without going through libffi.
//!
//! On x86-64 System V, integer-class arguments (integers of any size,
//! pointers, INTEGER eightbytes of small structs) take the integer
//! registers `rdi, rsi, rdx, rcx, r8, r9` in order, and SSE-class ones
//! (`double`, `float`, SSE eightbytes) take `xmm0`..`xmm7` in order, each
//! class independently of the other.  So every signature whose arguments
//! fit in those registers is called the same way once its arguments are
//! sorted into the two banks: a [`Regs`] holds the six integer and eight
//! SSE values, and one *stub* per kind of result loads all fourteen
//! registers and calls the function.  A callee reads the registers its
//! prototype names and ignores the others; this is exactly what libffi's
//! own `ffi_call_unix64` does (it loads every argument register from its
//! register area), without libffi's per-call classification and frame
//! building.
//!
//! Values are placed as the callee reads them: integers narrower than a
//! register are sign- or zero-extended to 64 bits (gcc reads the low
//! bits, clang relies on the extension to 32 bits), a `float` is the low
//! 32 bits of its SSE register, and a result is read from `rax`/`rdx`
//! and `xmm0`/`xmm1` as the psABI returns it.  Variadic functions, `long
//! double`, structs larger than 16 bytes or classified MEMORY, and calls
//! that need stack arguments keep using libffi (see `plan::direct_plan`).
//!
//! The API-mode stubs (`void _rcffi_call_NAME(void **args, void
//! *result)`, compiled with the user's C) have their own invoker,
//! [`ArgsStub`]: the C compiler did the classification for them.

use std::ffi::c_void;

use pyo3::Python;

/// Number of integer argument registers.
pub const INT_REGS: usize = 6;
/// Number of SSE argument registers.
pub const SSE_REGS: usize = 8;

/// Whether direct calls exist on this target.
pub const SUPPORTED: bool = cfg!(all(target_arch = "x86_64", unix, not(miri)));

/// The argument registers of one call.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct Regs {
    pub int: [u64; INT_REGS],
    pub sse: [f64; SSE_REGS],
}

/// The result registers of one call: `rax, rdx` and `xmm0, xmm1`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RetRegs {
    pub int: [u64; 2],
    pub sse: [f64; 2],
}

/// Which registers hold the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetKind {
    /// `rax` (integers, pointers, `void`, one INTEGER eightbyte).
    Int,
    /// `xmm0` (`double`, `float`, one SSE eightbyte).
    Sse,
    /// `rax, rdx`.
    IntInt,
    /// `xmm0, xmm1`.
    SseSse,
    /// `rax` then `xmm0`.
    IntSse,
    /// `xmm0` then `rax`.
    SseInt,
}

/// A stub: calls `f` with the registers of `regs` and returns the result
/// registers its kind of result uses.
///
/// # Safety
/// `f` must be the address of a non-variadic C function whose arguments,
/// sorted into integer and SSE registers as the psABI does, are the ones
/// `regs` holds, and whose result comes back in the registers of the
/// stub's [`RetKind`].
pub type Stub = unsafe fn(f: *const c_void, regs: &Regs) -> RetRegs;

/// The stub for results of kind `k`.
pub fn stub_for(k: RetKind) -> Stub {
    match k {
        RetKind::Int => stubs::int,
        RetKind::Sse => stubs::sse,
        RetKind::IntInt => stubs::int_int,
        RetKind::SseSse => stubs::sse_sse,
        RetKind::IntSse => stubs::int_sse,
        RetKind::SseInt => stubs::sse_int,
    }
}

/// `f64` whose low 32 bits are the `float` `v`, as a `float` argument
/// sits in an SSE register.
#[inline]
pub fn f32_in_sse(v: f32) -> f64 {
    f64::from_bits(u64::from(v.to_bits()))
}

/// The `float` in the low 32 bits of an SSE register.
#[inline]
pub fn f32_of_sse(v: f64) -> f32 {
    f32::from_bits(v.to_bits() as u32)
}

/// Calls `f` through `stub` with the GIL released and C's errno swapped
/// in and out as cffi does.
///
/// `f` comes from a non-NULL function-pointer cdata of the type the
/// call's plan was built from (that the C function has this type is the
/// promise the user made by declaring it, the contract of cffi), and the
/// plan chose `stub` and filled `regs` from that type.
#[inline]
pub fn call(py: Python<'_>, stub: Stub, f: *const u8, regs: &Regs) -> RetRegs {
    let addr = f as usize;
    super::gil::without_gil(py, move || {
        super::errno::around_c_call(|| {
            // SAFETY: see above: `stub` and `regs` were made from the
            // function's type for this address.
            unsafe { stub(addr as *const c_void, regs) }
        })
    })
}

#[cfg(all(target_arch = "x86_64", unix, not(miri)))]
mod stubs {
    use super::{Regs, RetRegs};
    use std::ffi::c_void;

    /// The prototype every function is called through: all argument
    /// registers, the result as `R` (which `extern "C"` returns in the
    /// registers a C function with that result uses).
    type Proto<R> = unsafe extern "C" fn(
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
    ) -> R;

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct II(u64, u64);
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SS(f64, f64);
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct IS(u64, f64);
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SI(f64, u64);

    /// Calls `f` with every argument register loaded from `r`.
    ///
    /// # Safety
    /// As for [`super::Stub`], with `R` returned in the registers the
    /// function's result uses.
    #[inline(always)]
    unsafe fn go<R>(f: *const c_void, r: &Regs) -> R {
        // SAFETY: a function pointer and a data pointer have the same size
        // and representation on this target; see `super::Stub` for why
        // calling the function through this prototype passes its
        // arguments in the registers it reads them from.
        unsafe {
            let f: Proto<R> = std::mem::transmute::<*const c_void, Proto<R>>(f);
            f(
                r.int[0], r.int[1], r.int[2], r.int[3], r.int[4], r.int[5], r.sse[0], r.sse[1],
                r.sse[2], r.sse[3], r.sse[4], r.sse[5], r.sse[6], r.sse[7],
            )
        }
    }

    pub unsafe fn int(f: *const c_void, r: &Regs) -> RetRegs {
        // SAFETY: forwarded to the caller's guarantee.
        let x: u64 = unsafe { go(f, r) };
        RetRegs {
            int: [x, 0],
            sse: [0.0; 2],
        }
    }

    pub unsafe fn sse(f: *const c_void, r: &Regs) -> RetRegs {
        // SAFETY: forwarded to the caller's guarantee.
        let x: f64 = unsafe { go(f, r) };
        RetRegs {
            int: [0; 2],
            sse: [x, 0.0],
        }
    }

    pub unsafe fn int_int(f: *const c_void, r: &Regs) -> RetRegs {
        // SAFETY: forwarded to the caller's guarantee.
        let x: II = unsafe { go(f, r) };
        RetRegs {
            int: [x.0, x.1],
            sse: [0.0; 2],
        }
    }

    pub unsafe fn sse_sse(f: *const c_void, r: &Regs) -> RetRegs {
        // SAFETY: forwarded to the caller's guarantee.
        let x: SS = unsafe { go(f, r) };
        RetRegs {
            int: [0; 2],
            sse: [x.0, x.1],
        }
    }

    pub unsafe fn int_sse(f: *const c_void, r: &Regs) -> RetRegs {
        // SAFETY: forwarded to the caller's guarantee.
        let x: IS = unsafe { go(f, r) };
        RetRegs {
            int: [x.0, 0],
            sse: [x.1, 0.0],
        }
    }

    pub unsafe fn sse_int(f: *const c_void, r: &Regs) -> RetRegs {
        // SAFETY: forwarded to the caller's guarantee.
        let x: SI = unsafe { go(f, r) };
        RetRegs {
            int: [x.1, 0],
            sse: [x.0, 0.0],
        }
    }
}

/// Elsewhere no plan uses a direct invoker ([`SUPPORTED`] is false); the
/// stubs exist so that the code above compiles.
#[cfg(not(all(target_arch = "x86_64", unix, not(miri))))]
mod stubs {
    use super::{Regs, RetRegs};
    use std::ffi::c_void;

    fn never() -> RetRegs {
        unreachable!("direct calls are not supported on this target")
    }
    pub unsafe fn int(_: *const c_void, _: &Regs) -> RetRegs {
        never()
    }
    pub unsafe fn sse(_: *const c_void, _: &Regs) -> RetRegs {
        never()
    }
    pub unsafe fn int_int(_: *const c_void, _: &Regs) -> RetRegs {
        never()
    }
    pub unsafe fn sse_sse(_: *const c_void, _: &Regs) -> RetRegs {
        never()
    }
    pub unsafe fn int_sse(_: *const c_void, _: &Regs) -> RetRegs {
        never()
    }
    pub unsafe fn sse_int(_: *const c_void, _: &Regs) -> RetRegs {
        never()
    }
}

/// An API-mode call stub: `void stub(void **args, void *result)`, which
/// calls the C function with `*(T_i *)args[i]` and stores its result at
/// `result`.
pub type ArgsStub = unsafe extern "C" fn(args: *mut *mut c_void, result: *mut c_void);

#[cfg(all(test, target_arch = "x86_64", unix))]
mod tests {
    use super::*;

    extern "C" fn mix(a: i32, x: f32, b: i8, y: f64, p: *const u8, c: u16) -> f64 {
        f64::from(a) + f64::from(x) + f64::from(b) + y + p as usize as f64 + f64::from(c)
    }

    extern "C" fn small(a: u8, b: i16) -> i16 {
        i16::from(a) + b
    }

    extern "C" fn fl(x: f32, y: f32) -> f32 {
        x * y
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct P {
        a: i32,
        b: i32,
        x: f64,
    }

    extern "C" fn pair(p: P, k: i64) -> P {
        P {
            a: p.a + k as i32,
            b: p.b * 2,
            x: p.x / 2.0,
        }
    }

    fn regs(int: &[u64], sse: &[f64]) -> Regs {
        let mut r = Regs::default();
        r.int[..int.len()].copy_from_slice(int);
        r.sse[..sse.len()].copy_from_slice(sse);
        r
    }

    #[test]
    fn calls_by_register_class() {
        let r = regs(&[5, (-3i64) as u64, 1000, 7], &[f32_in_sse(0.5), 0.25]);
        // SAFETY: `mix` takes 4 integer-class and 2 SSE-class arguments,
        // in that order within each class, and returns a double.
        let out = unsafe { stub_for(RetKind::Sse)(mix as *const c_void, &r) };
        assert_eq!(out.sse[0], 5.0 + 0.5 - 3.0 + 0.25 + 1000.0 + 7.0);

        let r = regs(&[200, (-7i64) as u64], &[]);
        // SAFETY: two integer arguments, an integer result.
        let out = unsafe { stub_for(RetKind::Int)(small as *const c_void, &r) };
        assert_eq!(out.int[0] as u16 as i16, 193);

        let r = regs(&[], &[f32_in_sse(1.5), f32_in_sse(4.0)]);
        // SAFETY: two float arguments, a float result.
        let out = unsafe { stub_for(RetKind::Sse)(fl as *const c_void, &r) };
        assert_eq!(f32_of_sse(out.sse[0]), 6.0);
    }

    #[test]
    fn small_structs() {
        // P is INTEGER (a, b) then SSE (x); the result comes back in rax
        // and xmm0.
        let a: i32 = 3;
        let b: i32 = -4;
        let lo = u64::from(a as u32) | (u64::from(b as u32) << 32);
        let r = regs(&[lo, 10], &[9.0]);
        // SAFETY: the struct's eightbytes and `k` in their registers.
        let out = unsafe { stub_for(RetKind::IntSse)(pair as *const c_void, &r) };
        assert_eq!(out.int[0] as u32 as i32, 13);
        assert_eq!((out.int[0] >> 32) as u32 as i32, -8);
        assert_eq!(out.sse[0], 4.5);
    }
}
