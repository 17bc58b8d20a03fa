//! Raw memory: every read, write, copy and allocation of C memory goes
//! through this module, so the `unsafe` of the memory layer lives here.
//!
//! Callers guarantee that addresses are valid for the access (they come
//! from live cdata whose size was checked); all accesses are unaligned-safe.

use std::alloc::{self, Layout};
use std::ptr;

/// Reads an integer of `size` bytes (1, 2, 4, 8 or 16) in host order.
///
/// # Safety
/// `addr` must be valid for reading `size` bytes.
pub unsafe fn read_int(addr: *const u8, size: usize, signed: bool) -> i128 {
    // SAFETY: the caller guarantees `size` readable bytes at `addr`;
    // read_unaligned has no alignment requirement.
    unsafe {
        match (size, signed) {
            (1, true) => i128::from(ptr::read_unaligned(addr as *const i8)),
            (1, false) => i128::from(ptr::read_unaligned(addr)),
            (2, true) => i128::from(ptr::read_unaligned(addr as *const i16)),
            (2, false) => i128::from(ptr::read_unaligned(addr as *const u16)),
            (4, true) => i128::from(ptr::read_unaligned(addr as *const i32)),
            (4, false) => i128::from(ptr::read_unaligned(addr as *const u32)),
            (8, true) => i128::from(ptr::read_unaligned(addr as *const i64)),
            (8, false) => i128::from(ptr::read_unaligned(addr as *const u64)),
            (_, true) => ptr::read_unaligned(addr as *const i128),
            (_, false) => ptr::read_unaligned(addr as *const u128) as i128,
        }
    }
}

/// Writes the low `size` bytes of `v` in host order.
///
/// # Safety
/// `addr` must be valid for writing `size` bytes.
pub unsafe fn write_int(addr: *mut u8, size: usize, v: i128) {
    // SAFETY: the caller guarantees `size` writable bytes at `addr`.
    unsafe {
        match size {
            1 => ptr::write_unaligned(addr, v as u8),
            2 => ptr::write_unaligned(addr as *mut u16, v as u16),
            4 => ptr::write_unaligned(addr as *mut u32, v as u32),
            8 => ptr::write_unaligned(addr as *mut u64, v as u64),
            _ => ptr::write_unaligned(addr as *mut u128, v as u128),
        }
    }
}

/// Reads `n` (at most 16) bytes as a little-endian unsigned number.
///
/// # Safety
/// `addr` must be valid for reading `n` bytes.
pub unsafe fn read_uint_le(addr: *const u8, n: usize) -> u128 {
    let mut b = [0u8; 16];
    // SAFETY: the caller guarantees n readable bytes; n <= 16.
    unsafe { ptr::copy_nonoverlapping(addr, b.as_mut_ptr(), n.min(16)) };
    if cfg!(target_endian = "big") {
        b[..n.min(16)].reverse();
    }
    u128::from_le_bytes(b)
}

/// Writes the low `n` (at most 16) bytes of `v`, little-endian.
///
/// # Safety
/// `addr` must be valid for writing `n` bytes.
pub unsafe fn write_uint_le(addr: *mut u8, n: usize, v: u128) {
    let mut b = v.to_le_bytes();
    if cfg!(target_endian = "big") {
        b[..n.min(16)].reverse();
    }
    // SAFETY: the caller guarantees n writable bytes; n <= 16.
    unsafe { ptr::copy_nonoverlapping(b.as_ptr(), addr, n.min(16)) };
}

/// Reads a `float` (size 4) or `double` (size 8).
///
/// # Safety
/// `addr` must be valid for reading `size` bytes.
pub unsafe fn read_float(addr: *const u8, size: usize) -> f64 {
    // SAFETY: as for read_int.
    unsafe {
        if size == 4 {
            f64::from(ptr::read_unaligned(addr as *const f32))
        } else {
            ptr::read_unaligned(addr as *const f64)
        }
    }
}

/// Writes a `float` (size 4) or `double` (size 8).
///
/// # Safety
/// `addr` must be valid for writing `size` bytes.
pub unsafe fn write_float(addr: *mut u8, size: usize, v: f64) {
    // SAFETY: as for write_int.
    unsafe {
        if size == 4 {
            ptr::write_unaligned(addr as *mut f32, v as f32);
        } else {
            ptr::write_unaligned(addr as *mut f64, v);
        }
    }
}

/// Reads an x87 80-bit `long double` stored in 16 bytes, as a `double`.
///
/// # Safety
/// `addr` must be valid for reading 10 bytes.
pub unsafe fn read_long_double(addr: *const u8, size: usize) -> f64 {
    if size == 8 {
        // SAFETY: forwarded to the caller's guarantee.
        return unsafe { read_float(addr, 8) };
    }
    // SAFETY: forwarded to the caller's guarantee.
    x87_to_f64(&unsafe { read_x87(addr) })
}

/// The 10 bytes of an x87 80-bit `long double` (64-bit mantissa, then
/// sign and exponent), for what a `double` cannot show.
///
/// # Safety
/// `addr` must be valid for reading 10 bytes.
pub unsafe fn read_x87(addr: *const u8) -> [u8; 10] {
    let mut b = [0u8; 10];
    // SAFETY: the caller guarantees 10 readable bytes.
    unsafe { ptr::copy_nonoverlapping(addr, b.as_mut_ptr(), 10) };
    b
}

/// Writes a `double` as an x87 80-bit `long double` (16 bytes, the
/// padding zeroed).
///
/// # Safety
/// `addr` must be valid for writing `size` bytes.
pub unsafe fn write_long_double(addr: *mut u8, size: usize, v: f64) {
    if size == 8 {
        // SAFETY: forwarded to the caller's guarantee.
        return unsafe { write_float(addr, 8, v) };
    }
    let mut b = [0u8; 16];
    b[..10].copy_from_slice(&f64_to_x87(v));
    // SAFETY: the caller guarantees `size` (16) writable bytes.
    unsafe { ptr::copy_nonoverlapping(b.as_ptr(), addr, size.min(16)) };
}

fn x87_to_f64(b: &[u8; 10]) -> f64 {
    let mant = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let se = u16::from_le_bytes([b[8], b[9]]);
    let sign = if se & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from(se & 0x7fff);
    if exp == 0 && mant == 0 {
        return sign * 0.0;
    }
    if exp == 0x7fff {
        return if mant << 1 == 0 {
            sign * f64::INFINITY
        } else {
            f64::NAN
        };
    }
    // value = mant * 2^(exp - 16383 - 63), scaled in two steps so that
    // results near the subnormal range do not underflow early.
    let e = exp - 16383 - 63;
    let half = e / 2;
    sign * (mant as f64) * 2f64.powi(half) * 2f64.powi(e - half)
}

fn f64_to_x87(v: f64) -> [u8; 10] {
    let bits = v.to_bits();
    let sign = ((bits >> 63) as u16) << 15;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (e, m): (u16, u64) = if exp == 0 && frac == 0 {
        (0, 0)
    } else if exp == 0x7ff {
        (
            0x7fff,
            if frac == 0 {
                1 << 63
            } else {
                (1 << 63) | (1 << 62)
            },
        )
    } else if exp == 0 {
        // Subnormal double: normalise.
        let shift = frac.leading_zeros() - 11;
        let m = frac << (shift + 11);
        ((-1022 - shift as i32 + 16383) as u16, m)
    } else {
        ((exp - 1023 + 16383) as u16, (1 << 63) | (frac << 11))
    };
    let mut out = [0u8; 10];
    out[..8].copy_from_slice(&m.to_le_bytes());
    out[8..].copy_from_slice(&(sign | e).to_le_bytes());
    out
}

/// Reads a pointer.
///
/// # Safety
/// `addr` must be valid for reading a pointer.
pub unsafe fn read_ptr(addr: *const u8) -> *mut u8 {
    // SAFETY: forwarded to the caller's guarantee.
    unsafe { ptr::read_unaligned(addr as *const *mut u8) }
}

/// Writes a pointer.
///
/// # Safety
/// `addr` must be valid for writing a pointer.
pub unsafe fn write_ptr(addr: *mut u8, v: *const u8) {
    // SAFETY: forwarded to the caller's guarantee.
    unsafe { ptr::write_unaligned(addr as *mut *const u8, v) }
}

/// Copies `n` bytes; the ranges may overlap.
///
/// # Safety
/// Both ranges must be valid for `n` bytes.
pub unsafe fn copy(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: forwarded to the caller's guarantee.
    unsafe { ptr::copy(src, dst, n) }
}

/// Fills `n` bytes with `byte`.
///
/// # Safety
/// The range must be valid for writing `n` bytes.
pub unsafe fn fill(dst: *mut u8, byte: u8, n: usize) {
    // SAFETY: forwarded to the caller's guarantee.
    unsafe { ptr::write_bytes(dst, byte, n) }
}

/// Borrows `n` bytes as a slice.
///
/// # Safety
/// The range must be valid for reading `n` bytes for the lifetime `'a`,
/// and not written to meanwhile.
pub unsafe fn slice<'a>(addr: *const u8, n: usize) -> &'a [u8] {
    if n == 0 {
        return &[];
    }
    // SAFETY: forwarded to the caller's guarantee; n > 0 so addr is not
    // dangling.
    unsafe { std::slice::from_raw_parts(addr, n) }
}

/// Length of a NUL-terminated sequence of `unit`-byte items, reading at
/// most `max` items.
///
/// # Safety
/// Items must be readable up to the terminator or `max`.
pub unsafe fn strlen(addr: *const u8, unit: usize, max: usize) -> usize {
    let mut n = 0;
    while n < max {
        // SAFETY: item n is readable by the caller's guarantee.
        if unsafe { read_int(addr.add(n * unit), unit, false) } == 0 {
            break;
        }
        n += 1;
    }
    n
}

/// The plain numbers a fast path reads and writes directly: integers of
/// 1, 2, 4 or 8 bytes, `float` and `double`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

/// A number read by [`read_scalar`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScalarValue {
    Int(i64),
    UInt(u64),
    Float(f64),
}

impl Scalar {
    /// The scalar kind of a primitive, if it is a plain integer or float
    /// (not `_Bool`, characters, `long double`, complex numbers).
    #[inline]
    pub fn of(p: &crate::types::Primitive) -> Option<Scalar> {
        use crate::types::PrimFamily as F;
        Some(match (p.family, p.size) {
            (F::Signed, 1) => Scalar::I8,
            (F::Signed, 2) => Scalar::I16,
            (F::Signed, 4) => Scalar::I32,
            (F::Signed, 8) => Scalar::I64,
            (F::Unsigned, 1) => Scalar::U8,
            (F::Unsigned, 2) => Scalar::U16,
            (F::Unsigned, 4) => Scalar::U32,
            (F::Unsigned, 8) => Scalar::U64,
            (F::Float, 4) => Scalar::F32,
            (F::Float, 8) => Scalar::F64,
            _ => return None,
        })
    }

    pub fn is_float(self) -> bool {
        matches!(self, Scalar::F32 | Scalar::F64)
    }

    /// The size of a value of this kind.
    #[inline]
    pub fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::I64 | Scalar::U64 | Scalar::F64 => 8,
        }
    }
}

/// Reads a scalar.
///
/// # Safety
/// `addr` must be valid for reading a value of kind `s`.
#[inline]
pub unsafe fn read_scalar(s: Scalar, addr: *const u8) -> ScalarValue {
    // SAFETY: forwarded to the caller's guarantee; unaligned reads.
    unsafe {
        match s {
            Scalar::I8 => ScalarValue::Int(i64::from(ptr::read_unaligned(addr as *const i8))),
            Scalar::U8 => ScalarValue::Int(i64::from(ptr::read_unaligned(addr))),
            Scalar::I16 => ScalarValue::Int(i64::from(ptr::read_unaligned(addr as *const i16))),
            Scalar::U16 => ScalarValue::Int(i64::from(ptr::read_unaligned(addr as *const u16))),
            Scalar::I32 => ScalarValue::Int(i64::from(ptr::read_unaligned(addr as *const i32))),
            Scalar::U32 => ScalarValue::Int(i64::from(ptr::read_unaligned(addr as *const u32))),
            Scalar::I64 => ScalarValue::Int(ptr::read_unaligned(addr as *const i64)),
            Scalar::U64 => ScalarValue::UInt(ptr::read_unaligned(addr as *const u64)),
            Scalar::F32 => ScalarValue::Float(f64::from(ptr::read_unaligned(addr as *const f32))),
            Scalar::F64 => ScalarValue::Float(ptr::read_unaligned(addr as *const f64)),
        }
    }
}

/// Writes the integer `v` as an integer scalar if it fits; returns false
/// (writing nothing) if it does not fit or `s` is a float kind.
///
/// # Safety
/// `addr` must be valid for writing a value of kind `s`.
#[inline]
pub unsafe fn write_scalar_int(s: Scalar, addr: *mut u8, v: i64) -> bool {
    // SAFETY: forwarded to the caller's guarantee; unaligned writes.
    unsafe {
        match s {
            Scalar::I8 => i8::try_from(v).map(|x| ptr::write_unaligned(addr as *mut i8, x)),
            Scalar::U8 => u8::try_from(v).map(|x| ptr::write_unaligned(addr, x)),
            Scalar::I16 => i16::try_from(v).map(|x| ptr::write_unaligned(addr as *mut i16, x)),
            Scalar::U16 => u16::try_from(v).map(|x| ptr::write_unaligned(addr as *mut u16, x)),
            Scalar::I32 => i32::try_from(v).map(|x| ptr::write_unaligned(addr as *mut i32, x)),
            Scalar::U32 => u32::try_from(v).map(|x| ptr::write_unaligned(addr as *mut u32, x)),
            Scalar::I64 => {
                ptr::write_unaligned(addr as *mut i64, v);
                Ok(())
            }
            Scalar::U64 => u64::try_from(v).map(|x| ptr::write_unaligned(addr as *mut u64, x)),
            Scalar::F32 | Scalar::F64 => return false,
        }
        .is_ok()
    }
}

/// Writes `v` as a float scalar; returns false (writing nothing) if `s`
/// is an integer kind.
///
/// # Safety
/// `addr` must be valid for writing a value of kind `s`.
#[inline]
pub unsafe fn write_scalar_float(s: Scalar, addr: *mut u8, v: f64) -> bool {
    // SAFETY: forwarded to the caller's guarantee; unaligned writes.
    unsafe {
        match s {
            Scalar::F32 => ptr::write_unaligned(addr as *mut f32, v as f32),
            Scalar::F64 => ptr::write_unaligned(addr as *mut f64, v),
            _ => return false,
        }
    }
    true
}

/// Memory owned by a cdata: zero-filled, freed on drop.
pub struct Allocation {
    ptr: *mut u8,
    layout: Layout,
}

// SAFETY: the allocation is plain memory with no thread affinity; access is
// serialised by the GIL in the layers above.
unsafe impl Send for Allocation {}
// SAFETY: as above.
unsafe impl Sync for Allocation {}

impl Allocation {
    /// Allocates `size` bytes aligned to `align` (at least 16), zeroed if
    /// `clear`, followed by a few zero bytes (so that a string filling the
    /// memory exactly is still terminated, as cffi does for `char *`).
    /// `None` when the size cannot be allocated.
    pub fn zeroed(size: usize, align: usize, clear: bool) -> Option<Allocation> {
        const PAD: usize = 4;
        let layout = Layout::from_size_align(size.checked_add(PAD)?, align.max(16)).ok()?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe {
            if clear {
                alloc::alloc_zeroed(layout)
            } else {
                alloc::alloc(layout)
            }
        };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: the allocation has size + PAD bytes.
        unsafe { ptr::write_bytes(ptr.add(size), 0, PAD) };
        Some(Allocation { ptr, layout })
    }

    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn size(&self) -> usize {
        self.layout.size()
    }
}

impl Drop for Allocation {
    fn drop(&mut self) {
        // SAFETY: ptr was returned by alloc with this very layout and is
        // freed only here.
        unsafe { alloc::dealloc(self.ptr, self.layout) }
    }
}

/// Zero bytes after the memory of `new` (see [`Allocation::zeroed`]).
const OWNED_PAD: usize = 4;

/// Below this size, `malloc` + clearing beats `calloc` (glibc's `calloc`
/// skips the thread cache); from it on, `calloc` gets fresh zero pages
/// from the system without clearing them.
const CALLOC_FROM: usize = 64 * 1024;

/// The layout of an [`alloc_owned`] block.
fn owned_layout(size: usize, align: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(OWNED_PAD)?, align.max(16)).ok()
}

/// Allocates the memory of `ffi.new`: `size` zeroed bytes aligned to
/// `align` (at least 16), followed by a few zero bytes, as
/// [`Allocation::zeroed`] does, without a handle that frees it: the owner
/// calls [`free_owned`] with the same `size` and `align`.  `None` when the
/// size cannot be allocated.
pub fn alloc_owned(size: usize, align: usize) -> Option<*mut u8> {
    let layout = owned_layout(size, align)?;
    // SAFETY: the layout has a non-zero size; the whole block is cleared
    // (by calloc or write_bytes) before it is handed out.  A cached block
    // was allocated with this very layout (same size, alignment 16).
    unsafe {
        if layout.size() >= CALLOC_FROM {
            let p = alloc::alloc_zeroed(layout);
            return (!p.is_null()).then_some(p);
        }
        let p = match cached_block(layout) {
            Some(p) => p,
            // black_box: LLVM would merge malloc + clear into calloc.
            None => std::hint::black_box(alloc::alloc(layout)),
        };
        if p.is_null() {
            return None;
        }
        clear(p, layout.size());
        Some(p)
    }
}

/// Clears `n` bytes at `p`.  For the sizes of `new` below
/// [`CALLOC_FROM`], 32-byte stores beat `memset`'s `rep stosb` (which
/// glibc uses from 2 KiB on) on the machines measured.
///
/// # Safety
/// The range must be valid for writing `n` bytes.
#[inline]
unsafe fn clear(p: *mut u8, n: usize) {
    #[cfg(target_arch = "x86_64")]
    if n >= 256 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is available; the range is the caller's.
        unsafe { clear_avx2(p, n) };
        return;
    }
    // SAFETY: forwarded to the caller's guarantee.
    unsafe { ptr::write_bytes(p, 0, n) }
}

/// [`clear`] with AVX2 stores, for `n >= 32`.
///
/// # Safety
/// AVX2 must be available; the range must be valid for writing `n` bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn clear_avx2(p: *mut u8, n: usize) {
    use std::arch::x86_64::{__m256i, _mm256_setzero_si256, _mm256_storeu_si256};
    let z = _mm256_setzero_si256();
    let at = |i: usize| p.wrapping_add(i).cast::<__m256i>();
    // SAFETY: every store covers 32 bytes inside [p, p + n) (n >= 32),
    // unaligned stores.  The empty asm keeps LLVM from turning the loop
    // back into a call to memset.
    unsafe {
        // One unaligned store, then 32-aligned ones (no cache line split).
        _mm256_storeu_si256(at(0), z);
        let mut i = 32 - (p as usize & 31);
        while i + 128 <= n {
            _mm256_storeu_si256(at(i), z);
            _mm256_storeu_si256(at(i + 32), z);
            _mm256_storeu_si256(at(i + 64), z);
            _mm256_storeu_si256(at(i + 96), z);
            std::arch::asm!("", options(nostack, preserves_flags));
            i += 128;
        }
        while i + 32 <= n {
            _mm256_storeu_si256(at(i), z);
            std::arch::asm!("", options(nostack, preserves_flags));
            i += 32;
        }
        if i < n {
            _mm256_storeu_si256(at(n - 32), z);
        }
    }
}

/// Frees a block from [`alloc_owned`].
///
/// # Safety
/// `p` must come from `alloc_owned(size, align)` and not be freed yet.
pub unsafe fn free_owned(p: *mut u8, size: usize, align: usize) {
    if let Some(layout) = owned_layout(size, align)
        && !keep_block(layout, p)
    {
        // SAFETY: by the caller's guarantee, p was allocated with this
        // layout and is live.
        unsafe { alloc::dealloc(p, layout) }
    }
}

/// How many freed blocks of `ffi.new` memory a thread keeps for reuse.
const CACHED_BLOCKS: usize = 8;

/// Freed `ffi.new` blocks of middle sizes (beyond the malloc's thread
/// cache, below [`CALLOC_FROM`]), kept per thread for the next allocation
/// of the same size: `ffi.new` of a temporary buffer in a loop then costs
/// no trip through the general allocator.  At most [`CACHED_BLOCKS`]
/// blocks (512 KiB) per thread, freed when the thread ends.
struct BlockCache {
    blocks: [(usize, *mut u8); CACHED_BLOCKS],
    len: usize,
}

impl Drop for BlockCache {
    fn drop(&mut self) {
        for &(size, p) in &self.blocks[..self.len] {
            if let Ok(layout) = Layout::from_size_align(size, 16) {
                // SAFETY: the cache owns its blocks, each allocated with
                // this layout (see keep_block).
                unsafe { alloc::dealloc(p, layout) }
            }
        }
    }
}

thread_local! {
    static BLOCKS: std::cell::RefCell<BlockCache> = const {
        std::cell::RefCell::new(BlockCache {
            blocks: [(0, ptr::null_mut()); CACHED_BLOCKS],
            len: 0,
        })
    };
}

/// Whether blocks of this layout go through the cache.
fn cacheable(layout: Layout) -> bool {
    layout.align() == 16 && layout.size() > 1024 && layout.size() < CALLOC_FROM
}

/// A cached block of exactly this layout, now the caller's.
fn cached_block(layout: Layout) -> Option<*mut u8> {
    if !cacheable(layout) {
        return None;
    }
    BLOCKS
        .try_with(|c| {
            let mut c = c.try_borrow_mut().ok()?;
            let n = c.len;
            let i = c.blocks[..n].iter().rposition(|b| b.0 == layout.size())?;
            let p = c.blocks[i].1;
            c.blocks[i] = c.blocks[n - 1];
            c.len = n - 1;
            Some(p)
        })
        .ok()
        .flatten()
}

/// Keeps the freed block `p` of this layout in the cache if there is
/// room; false if the caller must free it.
fn keep_block(layout: Layout, p: *mut u8) -> bool {
    if !cacheable(layout) {
        return false;
    }
    BLOCKS
        .try_with(|c| {
            let Ok(mut c) = c.try_borrow_mut() else {
                return false;
            };
            let n = c.len;
            if n == CACHED_BLOCKS {
                return false;
            }
            c.blocks[n] = (layout.size(), p);
            c.len = n + 1;
            true
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x87_round_trip() {
        for v in [0.0, 1.0, -2.5, 1e300, 1e-310, 1234.5678, f64::INFINITY] {
            assert_eq!(x87_to_f64(&f64_to_x87(v)), v, "{v}");
        }
        assert!(x87_to_f64(&f64_to_x87(f64::NAN)).is_nan());
    }

    #[test]
    fn clear_covers_exactly_the_range() {
        let mut buf = vec![0xAAu8; 5000];
        for start in [0usize, 1, 7, 16, 31, 32, 33] {
            for n in [0usize, 1, 31, 32, 255, 256, 257, 300, 4004, 4020] {
                buf.fill(0xAA);
                // SAFETY: start + n <= 5000 - 8.
                unsafe { clear(buf.as_mut_ptr().add(start), n) };
                assert!(buf[..start].iter().all(|b| *b == 0xAA), "{start} {n}");
                assert!(buf[start..start + n].iter().all(|b| *b == 0), "{start} {n}");
                assert!(buf[start + n..].iter().all(|b| *b == 0xAA), "{start} {n}");
            }
        }
    }

    #[test]
    fn owned_blocks_are_zeroed_when_reused() {
        for _ in 0..3 {
            let p = alloc_owned(4000, 4).expect("alloc");
            // SAFETY: the block holds 4000 bytes (+ padding).
            unsafe {
                assert!(slice(p, 4004).iter().all(|b| *b == 0));
                fill(p, 0x55, 4000);
                free_owned(p, 4000, 4);
            }
        }
    }

    #[test]
    fn ints() {
        let mut buf = [0u8; 16];
        // SAFETY: buf has 16 bytes.
        unsafe {
            write_int(buf.as_mut_ptr(), 2, -2);
            assert_eq!(read_int(buf.as_ptr(), 2, true), -2);
            assert_eq!(read_int(buf.as_ptr(), 2, false), 0xfffe);
        }
    }
}
