//! Dumps the declarations of a cdef source (a file, or stdin).
//!
//! `cargo run --example cdef_dump -- FILE` or `... -- --type "int(*)[5]"`.
//! `... -- --batch` reads NUL-separated sources from stdin and prints one
//! line per source, `OK` or `ERR message` (to compare with cffi).

use std::io::Read;

use rcffi_core::parse::{dump, parse_cdef, parse_type_name, render_error, typedefs::Predefined};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--type") {
        for t in &args[1..] {
            match parse_type_name(t, &Predefined) {
                Ok(ty) => println!("{t} => {}", dump::dump_type(&ty)),
                Err(e) => println!("{t} => error: {}", render_error(t, &e)),
            }
        }
        return;
    }
    if args.first().map(String::as_str) == Some("--batch") {
        let mut all = String::new();
        std::io::stdin()
            .read_to_string(&mut all)
            .expect("cannot read stdin");
        for src in all.split('\0') {
            match parse_cdef(src, &Predefined) {
                Ok(_) => println!("OK"),
                Err(e) => println!("ERR {}", e.message.replace('\n', " ")),
            }
        }
        return;
    }
    let src = match args.first() {
        Some(path) => std::fs::read_to_string(path).expect("cannot read the file"),
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .expect("cannot read stdin");
            s
        }
    };
    match parse_cdef(&src, &Predefined) {
        Ok(parsed) => print!("{}", dump::dump(&parsed.decls)),
        Err(e) => println!("error: {}", render_error(&src, &e)),
    }
}
