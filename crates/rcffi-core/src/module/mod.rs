//! Compiled and out-of-line modules: cffi's table format (see [`format`]),
//! read for modules built by cffi and by rcffi alike.
//!
//! * [`tables`] — a checked view of one module's tables (compiled, or
//!   built in memory for out-of-line modules: [`tables::OwnedTables`]);
//! * [`realize`] — type slots realised lazily into the type model, and the
//!   names of the tables as a [`Namespace`](crate::frontend::namespace::Namespace)
//!   for type strings;
//! * [`globals`] — the entries of the global table, decoded;
//! * [`generator`] (in `gen/`) — the code generator: declarations to
//!   tables, C text and Python text.

pub mod format;
// `gen` is a reserved word in Rust 2024: the folder keeps the short name.
#[path = "gen/mod.rs"]
pub mod generator;
pub mod globals;
pub mod outofline;
pub mod realize;
pub mod tables;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::errors::Error;
use realize::ModuleTypes;
use tables::Tables;

/// The types of compiled modules by the address of their context: a
/// module initialised twice (its shared library is loaded once per
/// process, with the slots already written back) gets the same types.
static LOADED: Mutex<Option<HashMap<usize, Arc<ModuleTypes>>>> = Mutex::new(None);

/// The types of the compiled module `name` whose context is at `ctx`,
/// its tables checked (see [`Tables::check`]) the first time.
///
/// # Safety
/// As [`Tables::from_static`].
pub unsafe fn load_static(
    name: &str,
    ctx: *const format::TypeContext,
) -> Result<Arc<ModuleTypes>, Error> {
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    let map = loaded.get_or_insert_with(HashMap::new);
    if let Some(m) = map.get(&(ctx as usize)) {
        return Ok(m.clone());
    }
    // SAFETY: forwarded to the caller's guarantee.
    let tables = unsafe { Tables::from_static(name, ctx) }?;
    tables.check()?;
    let m = ModuleTypes::new(tables);
    map.insert(ctx as usize, m.clone());
    Ok(m)
}

/// The types of tables built in memory (an out-of-line module), checked.
pub fn load_owned(name: &str, owned: tables::OwnedTables) -> Result<Arc<ModuleTypes>, Error> {
    let tables = Tables::from_owned(name, owned)?;
    tables.check()?;
    Ok(ModuleTypes::new(tables))
}

#[cfg(test)]
mod tests;
