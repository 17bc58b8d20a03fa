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
    let mut b = [0u8; 10];
    // SAFETY: the caller guarantees 10 readable bytes.
    unsafe { ptr::copy_nonoverlapping(addr, b.as_mut_ptr(), 10) };
    x87_to_f64(&b)
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
