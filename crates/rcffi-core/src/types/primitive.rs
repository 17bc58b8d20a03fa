//! The primitive C types: their names, sizes, alignments and the family of
//! values they hold.  Sizes come from Rust's view of the platform C ABI, so
//! there is one table for every target.

use std::ffi::{c_int, c_long, c_longlong, c_short};
use std::mem::{align_of, size_of};

/// What kind of value a primitive holds; decides conversions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrimFamily {
    /// Signed integers (`int`, `long`, `int8_t`, `ptrdiff_t`, ...).
    Signed,
    /// Unsigned integers (`unsigned int`, `size_t`, `uint8_t`, ...).
    Unsigned,
    /// `_Bool`: an unsigned byte that only holds 0 or 1.
    Bool,
    /// `char`: one byte, converted from/to a length-1 `bytes`.
    Char,
    /// `char16_t`, or `wchar_t` where it is 2 bytes: one UTF-16 unit.
    Char16,
    /// `char32_t`, or `wchar_t` where it is 4 bytes: one code point.
    Char32,
    /// `float` and `double`.
    Float,
    /// `long double`.
    LongDouble,
    /// `_cffi_float_complex_t` and `_cffi_double_complex_t` (`float _Complex`
    /// and `double _Complex`).
    Complex,
}

/// One primitive type.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Primitive {
    pub name: &'static str,
    pub size: usize,
    pub align: usize,
    pub family: PrimFamily,
}

impl Primitive {
    pub fn is_integer(&self) -> bool {
        matches!(
            self.family,
            PrimFamily::Signed | PrimFamily::Unsigned | PrimFamily::Bool
        )
    }

    pub fn is_signed(&self) -> bool {
        self.family == PrimFamily::Signed
    }

    pub fn is_float(&self) -> bool {
        matches!(self.family, PrimFamily::Float | PrimFamily::LongDouble)
    }

    pub fn is_char_like(&self) -> bool {
        matches!(
            self.family,
            PrimFamily::Char | PrimFamily::Char16 | PrimFamily::Char32
        )
    }

    /// Whether the value reads as a signed number when converted to an
    /// integer: signed integers, and `wchar_t` where C makes it signed
    /// (Linux on x86, macOS).
    pub fn reads_signed(&self) -> bool {
        self.is_signed() || (self.name == "wchar_t" && WCHAR_SIGNED)
    }

    /// Smallest and largest value of an integer primitive.
    pub fn int_range(&self) -> (i128, i128) {
        let bits = self.size as u32 * 8;
        match self.family {
            PrimFamily::Signed => (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1),
            PrimFamily::Bool => (0, 1),
            _ => (0, (1i128 << bits) - 1),
        }
    }
}

const fn p(name: &'static str, size: usize, align: usize, family: PrimFamily) -> Primitive {
    Primitive {
        name,
        size,
        align,
        family,
    }
}

macro_rules! int {
    ($name:literal, $t:ty, signed) => {
        p($name, size_of::<$t>(), align_of::<$t>(), PrimFamily::Signed)
    };
    ($name:literal, $t:ty, unsigned) => {
        p(
            $name,
            size_of::<$t>(),
            align_of::<$t>(),
            PrimFamily::Unsigned,
        )
    };
}

/// `wchar_t` is 4 bytes on Linux and macOS, 2 on Windows.
const WCHAR_SIZE: usize = if cfg!(windows) { 2 } else { 4 };
const WCHAR_FAMILY: PrimFamily = if WCHAR_SIZE == 2 {
    PrimFamily::Char16
} else {
    PrimFamily::Char32
};

/// `wchar_t` is signed except on Windows and on Linux for ARM.
const WCHAR_SIGNED: bool = !cfg!(windows)
    && !cfg!(all(
        target_os = "linux",
        any(target_arch = "arm", target_arch = "aarch64")
    ));

/// `long double`: x86-64 System V keeps the 80-bit format in 16 bytes.
#[cfg(all(target_arch = "x86_64", not(windows)))]
const LONG_DOUBLE: (usize, usize) = (16, 16);
#[cfg(all(target_arch = "aarch64", not(any(windows, target_os = "macos"))))]
const LONG_DOUBLE: (usize, usize) = (16, 16);
#[cfg(not(any(
    all(target_arch = "x86_64", not(windows)),
    all(target_arch = "aarch64", not(any(windows, target_os = "macos")))
)))]
const LONG_DOUBLE: (usize, usize) = (8, 8);

/// Every primitive type cffi knows, by cffi's spelling.
pub static PRIMITIVES: &[Primitive] = &[
    p("char", 1, 1, PrimFamily::Char),
    int!("signed char", i8, signed),
    int!("unsigned char", u8, unsigned),
    int!("short", c_short, signed),
    int!("unsigned short", c_short, unsigned),
    int!("int", c_int, signed),
    int!("unsigned int", c_int, unsigned),
    int!("long", c_long, signed),
    int!("unsigned long", c_long, unsigned),
    int!("long long", c_longlong, signed),
    int!("unsigned long long", c_longlong, unsigned),
    p("float", 4, align_of::<f32>(), PrimFamily::Float),
    p("double", 8, align_of::<f64>(), PrimFamily::Float),
    p(
        "long double",
        LONG_DOUBLE.0,
        LONG_DOUBLE.1,
        PrimFamily::LongDouble,
    ),
    p("_Bool", 1, 1, PrimFamily::Bool),
    p("wchar_t", WCHAR_SIZE, WCHAR_SIZE, WCHAR_FAMILY),
    p("char16_t", 2, 2, PrimFamily::Char16),
    p("char32_t", 4, 4, PrimFamily::Char32),
    int!("int8_t", i8, signed),
    int!("uint8_t", u8, unsigned),
    int!("int16_t", i16, signed),
    int!("uint16_t", u16, unsigned),
    int!("int32_t", i32, signed),
    int!("uint32_t", u32, unsigned),
    int!("int64_t", i64, signed),
    int!("uint64_t", u64, unsigned),
    int!("int_least8_t", i8, signed),
    int!("uint_least8_t", u8, unsigned),
    int!("int_least16_t", i16, signed),
    int!("uint_least16_t", u16, unsigned),
    int!("int_least32_t", i32, signed),
    int!("uint_least32_t", u32, unsigned),
    int!("int_least64_t", i64, signed),
    int!("uint_least64_t", u64, unsigned),
    // glibc: int_fast8_t is a char, the wider fast types are `long`.
    int!("int_fast8_t", i8, signed),
    int!("uint_fast8_t", u8, unsigned),
    int!("int_fast16_t", isize, signed),
    int!("uint_fast16_t", isize, unsigned),
    int!("int_fast32_t", isize, signed),
    int!("uint_fast32_t", isize, unsigned),
    int!("int_fast64_t", i64, signed),
    int!("uint_fast64_t", u64, unsigned),
    int!("intptr_t", isize, signed),
    int!("uintptr_t", usize, unsigned),
    int!("intmax_t", i64, signed),
    int!("uintmax_t", u64, unsigned),
    int!("ptrdiff_t", isize, signed),
    int!("size_t", usize, unsigned),
    int!("ssize_t", isize, signed),
    // Named as in cffi 2.0 (its C headers typedef them to `float _Complex`
    // and `double _Complex`).
    p(
        "_cffi_float_complex_t",
        8,
        align_of::<f32>(),
        PrimFamily::Complex,
    ),
    p(
        "_cffi_double_complex_t",
        16,
        align_of::<f64>(),
        PrimFamily::Complex,
    ),
];

/// Looks a primitive up by name.  Also accepts C's spellings of the
/// complex types, `float _Complex` and `double _Complex`.
pub fn find(name: &str) -> Option<&'static Primitive> {
    let name = match name {
        "float _Complex" => "_cffi_float_complex_t",
        "double _Complex" => "_cffi_double_complex_t",
        other => other,
    };
    PRIMITIVES.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for prim in PRIMITIVES {
            assert!(prim.size.is_power_of_two(), "{}", prim.name);
            assert!(prim.align <= prim.size, "{}", prim.name);
        }
        assert_eq!(find("long").unwrap().size, size_of::<c_long>());
        assert_eq!(find("int8_t").unwrap().int_range(), (-128, 127));
        assert_eq!(find("_Bool").unwrap().int_range(), (0, 1));
        assert!(find("_cffi_double_complex_t").is_some());
        assert_eq!(
            find("float _Complex").unwrap().name,
            "_cffi_float_complex_t"
        );
        assert!(find("foo").is_none());
    }
}
