//! The code generator of API mode and of out-of-line ABI modules:
//! declarations → cffi's tables ([`collect`]) → C text ([`ctext`]) or
//! Python text ([`python`]).
//!
//! The C text is an ordinary extension module without `Python.h`
//! (`PyInit_NAME` with hand-declared stable-ABI prototypes calls
//! `rcffi._cffi_backend._init_cffi_1_0_external_module`); the Python text
//! is cffi's `.py` format.  One reader serves both, and the modules cffi
//! builds (see [`crate::module::format`]).

pub mod aggregates;
pub mod checks;
pub mod collect;
pub mod ctext;
pub mod cwriter;
pub mod model;
pub mod prelude;
pub mod python;
pub mod types;

pub use ctext::{CModule, COptions};
pub use cwriter::Region;
pub use model::{Tables, Target};

use crate::errors::Error;
use crate::frontend::Declarations;

/// The C text of the module of `decls`; `includes` names the modules of
/// the FFIs it includes.
pub fn c_module(decls: &Declarations, includes: &[String], o: &COptions) -> Result<CModule, Error> {
    let tables = collect::collect(decls, Target::C, includes)?;
    ctext::write(decls, &tables, o)
}

/// The Python text of the out-of-line ABI module `module_name`.
pub fn python_module(
    decls: &Declarations,
    includes: &[String],
    module_name: &str,
) -> Result<String, Error> {
    let tables = collect::collect(decls, Target::Python, includes)?;
    python::write(&tables, module_name)
}

/// The integer constants whose value the cdef gives (the compiled module
/// checks them against the compiler's): `(name, value)`.
pub fn checked_constants(decls: &Declarations) -> Result<Vec<(String, i128)>, Error> {
    let tables = collect::collect(decls, Target::C, &[])?;
    Ok(tables
        .globals
        .into_iter()
        .filter_map(|g| Some((g.name, g.check?)))
        .collect())
}

#[cfg(test)]
mod tests;
