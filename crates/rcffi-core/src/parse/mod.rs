//! Layer 1 — parse: one hand-written C parser for `ffi.cdef()` sources and
//! for runtime type strings (`"int(*)[5]"`).  It yields declarations
//! ([`ast`]), never Python objects and never resolved types.
//!
//! Entry points: [`parse_cdef`] and [`parse_type_name`].  Errors are
//! [`ParseError`]s whose span [`LineMap`] turns into "line, column, source
//! line" text.

pub mod ast;
mod declarator;
pub mod dump;
mod error;
mod expr;
mod lexer;
mod parser;
mod preproc;
mod specs;
#[cfg(test)]
mod tests;
pub mod typedefs;

pub use error::{LineMap, ParseError, Position};
pub use typedefs::TypedefNames;

/// The declarations of one `cdef()` source, in source order.
#[derive(Debug)]
pub struct ParsedSource {
    pub decls: Vec<ast::Decl>,
    /// Maps spans of this source to lines and columns (honouring `#line`).
    pub lines: LineMap,
}

/// Parses a whole cdef source.  `typedefs` tells which identifiers already
/// name types (earlier cdefs, predefined names); typedefs declared inside
/// `src` are added while parsing.
pub fn parse_cdef(src: &str, typedefs: &dyn TypedefNames) -> Result<ParsedSource, ParseError> {
    parser::parse_cdef(src, typedefs)
}

/// Parses a type name as given to `ffi.new`, `ffi.cast`, `ffi.typeof`...:
/// an abstract declarator such as `"int(*)[5]"` or `"struct foo *"`.
pub fn parse_type_name(
    src: &str,
    typedefs: &dyn TypedefNames,
) -> Result<ast::TypeExpr, ParseError> {
    parser::parse_type_name(src, typedefs)
}

/// The line map of `src` with the `#line` markers found before the first
/// lexical error (if any): use it to render a [`ParseError`] of
/// [`parse_cdef`], so that positions honour `#line`.
pub fn line_map(src: &str) -> LineMap {
    let mut lines = LineMap::new(src);
    let _ = lexer::lex(src, Some(&mut lines));
    lines
}

/// The full text of a [`parse_cdef`] error: message, file/line/column and
/// the source line with a caret.
pub fn render_error(src: &str, err: &ParseError) -> String {
    line_map(src).render(&err.message, err.span)
}
