//! Layer 3 — memory: cdata objects (typed views on C memory and who owns
//! it) and the conversions between Python values and C bytes.

pub mod cdata;
pub mod convert;
pub mod keep;
pub mod object;
pub mod raw;

pub use cdata::{CData, Owner};
pub use object::CDataClass;
