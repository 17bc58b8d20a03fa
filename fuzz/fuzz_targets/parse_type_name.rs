//! Fuzzes `parse_type_name` (type strings given to `ffi.new`, `ffi.cast`...).
#![no_main]

use rcffi_core::parse::typedefs::Predefined;
use rcffi_core::parse::{LineMap, dump, parse_type_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match parse_type_name(src, &Predefined) {
        Ok(t) => {
            let s = t.span();
            assert!(s.start <= s.end && s.end as usize <= src.len());
            let _ = dump::dump_type(&t);
        }
        Err(e) => {
            assert!(src.is_char_boundary(e.span.start as usize));
            assert!(src.is_char_boundary(e.span.end as usize));
            let _ = LineMap::new(src).render(&e.message, e.span);
        }
    }
});
