//! Layer 5 — library: shared libraries opened with `dlopen` and the
//! addresses of their symbols.  No Python here: the Python layer turns
//! these into `CLibrary` objects and cdata.

pub mod dl;

pub use dl::{Library, SymbolError};
