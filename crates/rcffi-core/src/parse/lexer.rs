//! Tokens of cdef sources and type strings.
//!
//! [`lex`] turns the whole source into a vector of [`Token`]s up front.
//! Comments, whitespace and backslash-newline continuations are skipped.
//! Preprocessor directives (a `#` first on its line) never reach the token
//! stream: they are handed to [`super::preproc`], which turns `#define`s
//! into declarations and `#line` markers into [`LineMap`] entries.

use super::ast::{Decl, Span};
use super::error::{LineMap, ParseError};
use super::preproc;

/// Keywords, including the compiler extensions cdef() understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kw {
    Typedef,
    Extern,
    Static,
    Inline,
    Auto,
    Register,
    Const,
    Volatile,
    Restrict,
    Void,
    Char,
    Short,
    Int,
    Long,
    Float,
    Double,
    Signed,
    Unsigned,
    Bool,
    Complex,
    Struct,
    Union,
    Enum,
    Sizeof,
    Alignof,
    /// `__stdcall` or `WINAPI`.
    Stdcall,
    /// `__cdecl`.
    Cdecl,
    /// `__attribute__` / `__attribute`.
    Attribute,
    /// `__extension__`.
    Extension,
}

impl Kw {
    fn from_ident(s: &str) -> Option<Kw> {
        Some(match s {
            "typedef" => Kw::Typedef,
            "extern" => Kw::Extern,
            "static" => Kw::Static,
            "inline" => Kw::Inline,
            "auto" => Kw::Auto,
            "register" => Kw::Register,
            "const" => Kw::Const,
            "volatile" => Kw::Volatile,
            "restrict" | "__restrict" | "__restrict__" => Kw::Restrict,
            "void" => Kw::Void,
            "char" => Kw::Char,
            "short" => Kw::Short,
            "int" => Kw::Int,
            "long" => Kw::Long,
            "float" => Kw::Float,
            "double" => Kw::Double,
            "signed" => Kw::Signed,
            "unsigned" => Kw::Unsigned,
            "_Bool" => Kw::Bool,
            "_Complex" => Kw::Complex,
            "struct" => Kw::Struct,
            "union" => Kw::Union,
            "enum" => Kw::Enum,
            "sizeof" => Kw::Sizeof,
            "_Alignof" | "alignof" | "__alignof__" | "__alignof" => Kw::Alignof,
            "__stdcall" | "WINAPI" => Kw::Stdcall,
            "__cdecl" => Kw::Cdecl,
            "__attribute__" | "__attribute" => Kw::Attribute,
            "__extension__" => Kw::Extension,
            _ => return None,
        })
    }
}

/// Punctuators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Punct {
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Semi,
    Comma,
    Star,
    Assign,
    Colon,
    Question,
    Plus,
    Minus,
    Slash,
    Percent,
    Shl,
    Shr,
    Lt,
    Gt,
    Le,
    Ge,
    EqEq,
    Ne,
    Amp,
    Pipe,
    Caret,
    AndAnd,
    OrOr,
    Bang,
    Tilde,
    Dot,
    Ellipsis,
}

/// What a token is.  Identifier, string and literal texts are read back
/// from the source through the token's span.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TokKind {
    Ident,
    Kw(Kw),
    /// An integer literal, suffix dropped.
    Int(i128),
    /// A character literal's value.
    Char(i128),
    Float(f64),
    /// A string literal (text with quotes in the span).
    Str,
    Punct(Punct),
    Eof,
}

/// A token and where it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Token {
    pub kind: TokKind,
    pub span: Span,
}

/// The token stream of a source, and the `#define`s found in it.
pub struct Lexed {
    /// The tokens, ending with one [`TokKind::Eof`].
    pub tokens: Vec<Token>,
    /// `#define` declarations, each with the index of the first token that
    /// follows it (they are emitted in order between declarations).
    pub defines: Vec<(usize, Decl)>,
}

/// Lexes a whole source.  With `lines`, `#` at the start of a line begins
/// a directive; without, `#` is an ordinary (and always invalid) token.
pub fn lex(src: &str, lines: Option<&mut LineMap>) -> Result<Lexed, ParseError> {
    let mut lx = Lexer::new(src);
    let mut tokens = Vec::with_capacity(src.len() / 4 + 1);
    let mut defines = Vec::new();
    let mut lines = lines;
    loop {
        lx.skip_trivia(false)?;
        if lx.pos >= lx.bytes.len() {
            break;
        }
        if lx.bytes[lx.pos] == b'#'
            && lx.at_line_start
            && let Some(map) = lines.as_deref_mut()
        {
            if let Some(d) = preproc::directive(&mut lx, map)? {
                defines.push((tokens.len(), d));
            }
            continue;
        }
        lx.at_line_start = false;
        tokens.push(lx.token()?);
    }
    tokens.push(Token {
        kind: TokKind::Eof,
        span: Span::new(src.len(), src.len()),
    });
    Ok(Lexed { tokens, defines })
}

/// The cursor over the source bytes.
pub struct Lexer<'s> {
    pub src: &'s str,
    bytes: &'s [u8],
    pub pos: usize,
    at_line_start: bool,
}

fn err<T>(msg: impl Into<String>, start: usize, end: usize) -> Result<T, ParseError> {
    Err(ParseError::new(msg, Span::new(start, end)))
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'s> Lexer<'s> {
    fn new(src: &'s str) -> Self {
        Lexer {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            at_line_start: true,
        }
    }

    fn peek_byte(&self, off: usize) -> u8 {
        self.bytes.get(self.pos + off).copied().unwrap_or(0)
    }

    /// The length of a backslash-newline at `pos` (0 if there is none).
    fn continuation_len(&self, pos: usize) -> usize {
        match (
            self.bytes.get(pos),
            self.bytes.get(pos + 1),
            self.bytes.get(pos + 2),
        ) {
            (Some(b'\\'), Some(b'\n'), _) => 2,
            (Some(b'\\'), Some(b'\r'), Some(b'\n')) => 3,
            _ => 0,
        }
    }

    /// The character at `pos` (for error messages; never splits a char).
    fn char_at(&self, pos: usize) -> (char, usize) {
        match self.src.get(pos..).and_then(|s| s.chars().next()) {
            Some(c) => (c, pos + c.len_utf8()),
            None => ('\0', pos),
        }
    }

    /// Skips whitespace, comments and continuations.  With
    /// `stop_at_newline` (inside a directive) it stops before a newline
    /// that is not inside a comment; otherwise newlines mark the start of a
    /// line.
    pub fn skip_trivia(&mut self, stop_at_newline: bool) -> Result<(), ParseError> {
        while self.pos < self.bytes.len() {
            match self.bytes[self.pos] {
                b'\n' => {
                    if stop_at_newline {
                        return Ok(());
                    }
                    self.at_line_start = true;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => self.pos += 1,
                b'\\' => match self.continuation_len(self.pos) {
                    0 => return Ok(()),
                    n => self.pos += n,
                },
                b'/' if self.peek_byte(1) == b'*' => {
                    let start = self.pos;
                    match self.src[self.pos + 2..].find("*/") {
                        Some(i) => {
                            let body = &self.src[self.pos + 2..self.pos + 2 + i];
                            if !stop_at_newline && body.contains('\n') {
                                self.at_line_start = true;
                            }
                            self.pos += i + 4;
                        }
                        None => return err("unterminated /* comment", start, start + 2),
                    }
                }
                b'/' if self.peek_byte(1) == b'/' => {
                    // To the end of the line; a backslash-newline continues it.
                    while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
                        let n = self.continuation_len(self.pos);
                        self.pos += n.max(1);
                    }
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// Inside a directive: the next token, or `None` at the end of the line.
    pub fn directive_token(&mut self) -> Result<Option<Token>, ParseError> {
        self.skip_trivia(true)?;
        if self.pos >= self.bytes.len() || self.bytes[self.pos] == b'\n' {
            return Ok(None);
        }
        self.token().map(Some)
    }

    /// Skips the rest of a directive line (honouring continuations).
    pub fn skip_line(&mut self) {
        while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
            let n = self.continuation_len(self.pos);
            self.pos += n.max(1);
        }
    }

    /// Consumes the `#` of a directive and returns its span.
    pub fn bump_hash(&mut self) -> Span {
        self.pos += 1;
        Span::new(self.pos - 1, self.pos)
    }

    /// Lexes one token at `pos` (trivia already skipped, not at the end).
    fn token(&mut self) -> Result<Token, ParseError> {
        let start = self.pos;
        let b = self.bytes[start];
        let kind = if is_ident_start(b) {
            while self.pos < self.bytes.len() && is_ident_char(self.bytes[self.pos]) {
                self.pos += 1;
            }
            match Kw::from_ident(&self.src[start..self.pos]) {
                Some(k) => TokKind::Kw(k),
                None => TokKind::Ident,
            }
        } else if b.is_ascii_digit() || (b == b'.' && self.peek_byte(1).is_ascii_digit()) {
            self.number()?
        } else if b == b'\'' {
            self.char_literal()?
        } else if b == b'"' {
            self.string_literal()?
        } else {
            TokKind::Punct(self.punct()?)
        };
        Ok(Token {
            kind,
            span: Span::new(start, self.pos),
        })
    }

    fn punct(&mut self) -> Result<Punct, ParseError> {
        let start = self.pos;
        let b0 = self.bytes[start];
        let b1 = self.peek_byte(1);
        let (p, len) = match (b0, b1) {
            (b'.', b'.') if self.peek_byte(2) == b'.' => (Punct::Ellipsis, 3),
            (b'<', b'<') => (Punct::Shl, 2),
            (b'>', b'>') => (Punct::Shr, 2),
            (b'<', b'=') => (Punct::Le, 2),
            (b'>', b'=') => (Punct::Ge, 2),
            (b'=', b'=') => (Punct::EqEq, 2),
            (b'!', b'=') => (Punct::Ne, 2),
            (b'&', b'&') => (Punct::AndAnd, 2),
            (b'|', b'|') => (Punct::OrOr, 2),
            (b'(', _) => (Punct::LParen, 1),
            (b')', _) => (Punct::RParen, 1),
            (b'[', _) => (Punct::LBracket, 1),
            (b']', _) => (Punct::RBracket, 1),
            (b'{', _) => (Punct::LBrace, 1),
            (b'}', _) => (Punct::RBrace, 1),
            (b';', _) => (Punct::Semi, 1),
            (b',', _) => (Punct::Comma, 1),
            (b'*', _) => (Punct::Star, 1),
            (b'=', _) => (Punct::Assign, 1),
            (b':', _) => (Punct::Colon, 1),
            (b'?', _) => (Punct::Question, 1),
            (b'+', _) => (Punct::Plus, 1),
            (b'-', _) => (Punct::Minus, 1),
            (b'/', _) => (Punct::Slash, 1),
            (b'%', _) => (Punct::Percent, 1),
            (b'<', _) => (Punct::Lt, 1),
            (b'>', _) => (Punct::Gt, 1),
            (b'&', _) => (Punct::Amp, 1),
            (b'|', _) => (Punct::Pipe, 1),
            (b'^', _) => (Punct::Caret, 1),
            (b'!', _) => (Punct::Bang, 1),
            (b'~', _) => (Punct::Tilde, 1),
            (b'.', _) => (Punct::Dot, 1),
            (b'#', _) => {
                return err(
                    "unexpected '#' (a preprocessor directive must start a line)",
                    start,
                    start + 1,
                );
            }
            _ => {
                let (c, end) = self.char_at(start);
                return err(format!("unexpected character {c:?}"), start, end);
            }
        };
        self.pos += len;
        Ok(p)
    }

    /// A preprocessing number: digits, letters, `_`, `.`, and a sign after
    /// an exponent letter.
    fn number(&mut self) -> Result<TokKind, ParseError> {
        let start = self.pos;
        let is_hex = self.bytes[start] == b'0' && matches!(self.peek_byte(1), b'x' | b'X');
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            let exp = if is_hex {
                matches!(b, b'p' | b'P')
            } else {
                matches!(b, b'e' | b'E')
            };
            if exp && matches!(self.peek_byte(1), b'+' | b'-') {
                self.pos += 2;
            } else if is_ident_char(b) || b == b'.' {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text = &self.src[start..self.pos];
        let is_float = text.contains('.')
            || if is_hex {
                text.contains(['p', 'P'])
            } else {
                text.contains(['e', 'E'])
            };
        if is_float {
            if is_hex {
                return err(
                    format!("hexadecimal floating literals are not supported: '{text}'"),
                    start,
                    self.pos,
                );
            }
            parse_float(text).map(TokKind::Float).ok_or_else(|| {
                ParseError::new(
                    format!("invalid floating literal '{text}'"),
                    Span::new(start, self.pos),
                )
            })
        } else {
            parse_int(text)
                .map(TokKind::Int)
                .map_err(|m| ParseError::new(m, Span::new(start, self.pos)))
        }
    }

    fn char_literal(&mut self) -> Result<TokKind, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut values = Vec::new();
        loop {
            match self.bytes.get(self.pos) {
                None | Some(b'\n') => {
                    return err("unterminated character literal", start, self.pos);
                }
                Some(b'\'') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => values.push(self.escape()?),
                Some(_) => {
                    let (c, end) = self.char_at(self.pos);
                    self.pos = end;
                    values.push(c as u32);
                }
            }
        }
        match values.as_slice() {
            [v] => Ok(TokKind::Char(*v as i128)),
            [] => err("empty character literal", start, self.pos),
            _ => err(
                "multi-character character literals are not supported",
                start,
                self.pos,
            ),
        }
    }

    /// An escape sequence at `pos` (the backslash), in a char literal.
    fn escape(&mut self) -> Result<u32, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let Some(&b) = self.bytes.get(self.pos) else {
            return err("unterminated escape sequence", start, self.pos);
        };
        self.pos += 1;
        let v = match b {
            b'n' => 10,
            b't' => 9,
            b'r' => 13,
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            b'\\' | b'\'' | b'"' | b'?' => b as u32,
            b'0'..=b'7' => {
                let mut v = (b - b'0') as u32;
                for _ in 0..2 {
                    match self.bytes.get(self.pos) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + (d - b'0') as u32;
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                v
            }
            b'x' => {
                let mut v: u32 = 0;
                let digits_start = self.pos;
                while let Some(d) = self
                    .bytes
                    .get(self.pos)
                    .and_then(|&d| (d as char).to_digit(16))
                {
                    v = v.saturating_mul(16).saturating_add(d);
                    self.pos += 1;
                }
                if self.pos == digits_start {
                    return err("\\x used with no following hex digits", start, self.pos);
                }
                if v > 0xff {
                    return err("hex escape sequence out of range", start, self.pos);
                }
                v
            }
            _ => {
                let (c, end) = self.char_at(self.pos - 1);
                self.pos = end;
                return err(format!("unknown escape sequence '\\{c}'"), start, end);
            }
        };
        Ok(v)
    }

    fn string_literal(&mut self) -> Result<TokKind, ParseError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.bytes.get(self.pos) {
                None | Some(b'\n') => return err("unterminated string literal", start, self.pos),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(TokKind::Str);
                }
                Some(b'\\') => {
                    // Skip the escaped character whole (it may be non-ASCII).
                    let (_, end) = self.char_at(self.pos + 1);
                    self.pos = end.max(self.pos + 1);
                }
                Some(_) => self.pos += 1,
            }
        }
    }
}

/// Parses an integer literal with optional `u`/`l`/`ll` suffixes
/// (decimal, `0x` hex, `0b` binary, leading-`0` octal).
pub fn parse_int(text: &str) -> Result<i128, String> {
    let lower = text.to_ascii_lowercase();
    let (digits_and_suffix, radix) = if let Some(r) = lower.strip_prefix("0x") {
        (r, 16)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (r, 2)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.as_bytes()[1].is_ascii_digit() {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    let ndigits = digits_and_suffix
        .bytes()
        .take_while(|b| {
            if radix == 16 {
                b.is_ascii_hexdigit()
            } else {
                b.is_ascii_digit()
            }
        })
        .count();
    let (digits, suffix) = digits_and_suffix.split_at(ndigits);
    if digits.is_empty() {
        return Err(format!("invalid integer literal '{text}'"));
    }
    if !matches!(suffix, "" | "u" | "l" | "ul" | "lu" | "ll" | "ull" | "llu") {
        return Err(format!("invalid suffix on integer literal '{text}'"));
    }
    let mut value: i128 = 0;
    for d in digits.chars() {
        let d = d.to_digit(16).unwrap_or(99);
        if d >= radix {
            let kind = if radix == 8 { "octal" } else { "binary" };
            return Err(format!("invalid digit in {kind} literal '{text}'"));
        }
        value = value
            .checked_mul(radix as i128)
            .and_then(|v| v.checked_add(d as i128))
            .ok_or_else(|| format!("integer literal '{text}' is too large"))?;
    }
    Ok(value)
}

/// Parses a decimal floating literal with an optional `f`/`l` suffix.
fn parse_float(text: &str) -> Option<f64> {
    let body = text.strip_suffix(['f', 'F', 'l', 'L']).unwrap_or(text);
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    body.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The contents of a string literal's source text (quotes included), with
/// simple escapes resolved.
pub fn string_value(text: &str) -> String {
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokKind> {
        lex(src, None)
            .unwrap()
            .tokens
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn integers() {
        assert_eq!(parse_int("42"), Ok(42));
        assert_eq!(parse_int("0x10UL"), Ok(16));
        assert_eq!(parse_int("010"), Ok(8));
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(parse_int("0u"), Ok(0));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(parse_int("1LLU"), Ok(1));
        assert_eq!(parse_int("0xffffffffffffffff"), Ok(u64::MAX as i128));
        assert!(parse_int("099").is_err());
        assert!(parse_int("0x").is_err());
        assert!(parse_int("1uu").is_err());
        assert!(parse_int("1x").is_err());
        assert!(parse_int("999999999999999999999999999999999999999999").is_err());
    }

    #[test]
    fn tokens() {
        use Punct::*;
        assert_eq!(
            kinds("a...b<<=1.5e+3'x'\"s\\\"\""),
            vec![
                TokKind::Ident,
                TokKind::Punct(Ellipsis),
                TokKind::Ident,
                TokKind::Punct(Shl),
                TokKind::Punct(Assign),
                TokKind::Float(1500.0),
                TokKind::Char(120),
                TokKind::Str,
                TokKind::Eof
            ]
        );
        assert_eq!(
            kinds("'\\n' '\\x41' '\\101' 'é'")[..4],
            [
                TokKind::Char(10),
                TokKind::Char(65),
                TokKind::Char(65),
                TokKind::Char(233)
            ]
        );
        assert_eq!(kinds("/* a */ x // b \\\n still comment\n y").len(), 3);
    }

    #[test]
    fn lexer_errors() {
        for bad in [
            "'ab'", "''", "'a", "\"abc", "/* x", "@", "é", "1.5.5e", "0x1p3", "'\\q'", "a # b",
        ] {
            assert!(lex(bad, None).is_err(), "{bad}");
        }
    }
}
