//! The Python text of out-of-line ABI modules against golden files: each
//! `gen_golden/NAME.cdef` is generated as module `NAME` and compared with
//! `gen_golden/NAME.py`.  `RCFFI_BLESS=1` rewrites the golden files (check
//! the difference before committing it).

use std::path::Path;

use rcffi_core::frontend::{CdefOptions, Declarations};
use rcffi_core::module::generator::python_module;

#[test]
fn python_text_matches_the_golden_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gen_golden");
    let bless = std::env::var_os("RCFFI_BLESS").is_some();
    let mut cdefs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cdef"))
        .collect();
    cdefs.sort();
    assert!(!cdefs.is_empty());
    for cdef in cdefs {
        let name = cdef.file_stem().unwrap().to_str().unwrap().to_owned();
        let mut d = Declarations::new();
        d.cdef(
            &std::fs::read_to_string(&cdef).unwrap(),
            CdefOptions::default(),
        )
        .unwrap();
        let text = python_module(&d, &[], &name).unwrap();
        let golden = cdef.with_extension("py");
        if bless {
            std::fs::write(&golden, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("{} is missing (RCFFI_BLESS=1)", golden.display()));
        assert_eq!(
            text,
            want,
            "{name}: the text differs from {}",
            golden.display()
        );
    }
}
