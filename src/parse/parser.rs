//! Declarations and type names (written by the parser work).

use super::ast::TypeExpr;
use super::{ParseError, ParsedSource, TypedefNames};

pub fn parse_cdef(_src: &str, _typedefs: &dyn TypedefNames) -> Result<ParsedSource, ParseError> {
    Err(ParseError::new("parser not written yet", Default::default()))
}

pub fn parse_type_name(_src: &str, _typedefs: &dyn TypedefNames) -> Result<TypeExpr, ParseError> {
    Err(ParseError::new("parser not written yet", Default::default()))
}
