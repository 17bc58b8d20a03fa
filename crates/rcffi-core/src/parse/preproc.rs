//! Preprocessor directives: the few cdef() understands.
//!
//! * `#define NAME <integer literal>` and `#define NAME ...` become
//!   [`Decl::Define`];
//! * `#line N "file"`, `#line N` and GCC's `# N "file" flags` markers are
//!   recorded in the [`LineMap`];
//! * `#pragma` lines are ignored;
//! * anything else is an error.

use super::ast::{Decl, DefineValue, Span};
use super::error::{LineMap, ParseError};
use super::lexer::{Lexer, Punct, TokKind, Token, string_value};

/// Handles the directive whose `#` is at the lexer's position, up to (not
/// including) the end of its line.
pub fn directive(lx: &mut Lexer<'_>, map: &mut LineMap) -> Result<Option<Decl>, ParseError> {
    let hash = lx.bump_hash();
    let Some(first) = lx.directive_token()? else {
        return Err(ParseError::new(
            "empty preprocessor directive '#' is not supported in cdef()",
            hash,
        ));
    };
    let word = &lx.src[first.span.start as usize..first.span.end as usize];
    match first.kind {
        TokKind::Ident if word == "define" => define(lx, hash).map(Some),
        TokKind::Ident if word == "line" => {
            let number = lx.directive_token()?;
            line_marker(lx, map, hash, number, false)?;
            Ok(None)
        }
        TokKind::Int(_) => {
            line_marker(lx, map, hash, Some(first), true)?;
            Ok(None)
        }
        TokKind::Ident if word == "pragma" => {
            lx.skip_line();
            Ok(None)
        }
        _ => Err(ParseError::new(
            format!(
                "unsupported preprocessor directive '#{word}': cdef() only supports \
                 '#define NAME <integer>', '#define NAME ...', '#line' and '#pragma'"
            ),
            hash.to(first.span),
        )),
    }
}

/// `#line N "file"` (`gcc_style`: `# N "file" flags...`).
fn line_marker(
    lx: &mut Lexer<'_>,
    map: &mut LineMap,
    hash: Span,
    number: Option<Token>,
    gcc_style: bool,
) -> Result<(), ParseError> {
    let bad = |span: Span| {
        ParseError::new(
            "invalid line marker: expected '#line <line number> \"<file name>\"'",
            span,
        )
    };
    let Some(number) = number else {
        return Err(bad(hash));
    };
    let digits = &lx.src[number.span.start as usize..number.span.end as usize];
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(number.span));
    }
    let line = match digits.parse::<u32>() {
        Ok(n) if n <= i32::MAX as u32 => n,
        _ => return Err(ParseError::new("line number out of range", number.span)),
    };
    let mut file = None;
    if let Some(tok) = lx.directive_token()? {
        if tok.kind != TokKind::Str {
            return Err(bad(tok.span));
        }
        file = Some(string_value(
            &lx.src[tok.span.start as usize..tok.span.end as usize],
        ));
        // GCC appends flags (1 = entering a file, 2 = returning, 3, 4).
        while let Some(tok) = lx.directive_token()? {
            if !gcc_style || !matches!(tok.kind, TokKind::Int(_)) {
                return Err(ParseError::new(
                    "unexpected text after the file name of a line marker",
                    tok.span,
                ));
            }
        }
    }
    let marker_line = map.physical_line(hash.start);
    map.add_marker(marker_line, line, file);
    Ok(())
}

/// `#define NAME value`, `#` already consumed.
fn define(lx: &mut Lexer<'_>, hash: Span) -> Result<Decl, ParseError> {
    let name_tok = match lx.directive_token()? {
        Some(
            t @ Token {
                kind: TokKind::Ident | TokKind::Kw(_),
                ..
            },
        ) => t,
        Some(t) => {
            return Err(ParseError::new(
                "expected a macro name after '#define'",
                t.span,
            ));
        }
        None => {
            return Err(ParseError::new(
                "expected a macro name after '#define'",
                hash,
            ));
        }
    };
    let text = |s: Span| &lx.src[s.start as usize..s.end as usize];
    let name = text(name_tok.span).to_owned();
    let mut value = Vec::new();
    while let Some(t) = lx.directive_token()? {
        value.push(t);
    }
    let end = value.last().map_or(name_tok.span, |t| t.span);
    let span = hash.to(end);
    if let Some(open) = value.first()
        && open.kind == TokKind::Punct(Punct::LParen)
        && open.span.start == name_tok.span.end
    {
        return Err(ParseError::new(
            "function-like macros are not supported in cdef(): only \
             '#define NAME <integer literal>' and '#define NAME ...'",
            name_tok.span.to(open.span),
        ));
    }
    let parsed = match value.as_slice() {
        [
            Token {
                kind: TokKind::Punct(Punct::Ellipsis),
                ..
            },
        ] => Some(DefineValue::Dots),
        [
            Token {
                kind: TokKind::Int(v),
                span,
            },
        ] => Some(DefineValue::Int {
            text: text(*span).to_owned(),
            value: *v,
        }),
        [
            Token {
                kind: TokKind::Punct(Punct::Minus),
                span: minus,
            },
            Token {
                kind: TokKind::Int(v),
                span: lit,
            },
        ] if minus.end == lit.start => Some(DefineValue::Int {
            text: text(minus.to(*lit)).to_owned(),
            value: -*v,
        }),
        _ => None,
    };
    match parsed {
        Some(value) => Ok(Decl::Define { name, value, span }),
        None => {
            let written = match (value.first(), value.last()) {
                (Some(a), Some(b)) => {
                    let raw = text(a.span.to(b.span))
                        .replace("\\\r\n", " ")
                        .replace("\\\n", " ");
                    let mut s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
                    if s.chars().count() > 60 {
                        s = s.chars().take(57).collect::<String>() + "...";
                    }
                    format!("'#define {name} {s}'")
                }
                _ => format!("'#define {name}' with no value"),
            };
            let at = match (value.first(), value.last()) {
                (Some(a), Some(b)) => a.span.to(b.span),
                _ => name_tok.span,
            };
            Err(ParseError::new(
                format!(
                    "only supports one of the following syntax: '#define NAME <integer \
                     literal>' or '#define NAME ...' in cdef() (integer literals: decimal, \
                     hex or octal, optionally negative, with u/l suffixes); got {written}"
                ),
                at,
            ))
        }
    }
}
