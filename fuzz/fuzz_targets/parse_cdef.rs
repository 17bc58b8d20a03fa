//! Fuzzes `parse_cdef`: it must never panic, overflow the stack or hang,
//! and its spans must always be usable to render errors.
#![no_main]

use rcffi_core::parse::typedefs::Predefined;
use rcffi_core::parse::{dump, parse_cdef, render_error};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match parse_cdef(src, &Predefined) {
        Ok(parsed) => {
            for d in &parsed.decls {
                let s = d.span();
                assert!(s.start <= s.end && s.end as usize <= src.len());
                assert!(src.is_char_boundary(s.start as usize));
                assert!(src.is_char_boundary(s.end as usize));
                let _ = parsed.lines.describe(s);
            }
            let _ = dump::dump(&parsed.decls);
        }
        Err(e) => {
            assert!(e.span.start <= e.span.end && e.span.end as usize <= src.len());
            assert!(src.is_char_boundary(e.span.start as usize));
            assert!(src.is_char_boundary(e.span.end as usize));
            let _ = render_error(src, &e);
        }
    }
});
