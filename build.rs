//! Compiles the C functions behind `_cffi_backend._testfunc` (cffi's test
//! suite calls them through function pointers) and the one export of
//! `_cffi_backend` returning a `long double`, and tells the code which
//! PyO3 Cargo.lock holds (`src/python/pyo3_internals.rs` checks it).

fn main() {
    println!("cargo:rerun-if-changed=src/call/testfuncs.c");
    cc::Build::new()
        .file("src/call/testfuncs.c")
        .warnings(true)
        .compile("rcffi_testfuncs");
    println!("cargo:rerun-if-changed=src/python/module/exports.c");
    cc::Build::new()
        .file("src/python/module/exports.c")
        .warnings(true)
        .compile("rcffi_exports");

    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut lines = lock.lines();
    let mut pyo3 = "unknown";
    while let Some(line) = lines.next() {
        if line == "name = \"pyo3\"" {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = ")) {
                pyo3 = v.trim_matches('"');
            }
            break;
        }
    }
    println!("cargo:rustc-env=RCFFI_PYO3_LOCKED={pyo3}");
}
