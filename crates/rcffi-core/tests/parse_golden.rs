//! Golden-file tests of the cdef parser.
//!
//! * `tests/parse_golden/NAME.c` is parsed with `parse_cdef`; `NAME.expected`
//!   holds the dump of its declarations, or `error: ` and the rendered
//!   error (message, file/line/column, source line, caret).
//! * `tests/parse_golden/NAME.types` holds one type string per line, parsed
//!   with `parse_type_name` (the name `Img` is declared as a typedef);
//!   `NAME.expected` has `input => dump` or `input => error: ...` per line.
//!
//! `RCFFI_BLESS=1 cargo test --test parse_golden` rewrites the expected
//! files; review every change by eye before committing it.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use rcffi_core::parse::typedefs::Predefined;
use rcffi_core::parse::{dump, parse_cdef, parse_type_name, render_error};

fn run_cdef(src: &str) -> String {
    match parse_cdef(src, &Predefined) {
        Ok(parsed) => dump::dump(&parsed.decls),
        Err(e) => format!("error: {}\n", render_error(src, &e)),
    }
}

fn run_types(src: &str) -> String {
    let mut names = HashSet::new();
    names.insert("Img".to_owned());
    let mut out = String::new();
    for line in src.lines() {
        let r = match parse_type_name(line, &names) {
            Ok(t) => dump::dump_type(&t),
            Err(e) => format!("error: {} (at {}..{})", e.message, e.span.start, e.span.end),
        };
        out.push_str(&format!("{line} => {r}\n"));
    }
    out
}

fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("tests/parse_golden exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("c" | "types")))
        .collect();
    v.sort();
    v
}

#[test]
fn golden_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parse_golden");
    let bless = std::env::var_os("RCFFI_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    let all = cases(&dir);
    for input in &all {
        let src = fs::read_to_string(input).expect("readable input");
        let actual = if input.extension().is_some_and(|e| e == "types") {
            run_types(&src)
        } else {
            run_cdef(&src)
        };
        let expected_path = input.with_extension("expected");
        if bless {
            fs::write(&expected_path, &actual).expect("writable expected file");
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "--- {}\n=== expected:\n{expected}=== actual:\n{actual}",
                input.display()
            ));
        }
    }
    assert!(all.len() >= 30, "only {} golden cases", all.len());
    assert!(
        failures.is_empty(),
        "{} golden mismatches (RCFFI_BLESS=1 to rewrite):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
