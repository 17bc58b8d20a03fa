//! Compiles the C functions behind `_cffi_backend._testfunc` (cffi's test
//! suite calls them through function pointers).

fn main() {
    println!("cargo:rerun-if-changed=src/call/testfuncs.c");
    cc::Build::new()
        .file("src/call/testfuncs.c")
        .warnings(true)
        .compile("rcffi_testfuncs");
}
