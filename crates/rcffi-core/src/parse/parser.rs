//! Declarations and type names: a hand-written recursive-descent parser
//! over the tokens of [`super::lexer`].
//!
//! This file holds the parser state and the top level (declarations,
//! `extern "Python"` blocks).  Specifiers and struct/union/enum bodies
//! live in [`super::specs`], declarators in [`super::declarator`],
//! constant expressions in [`super::expr`].

use std::iter::Peekable;
use std::vec::IntoIter;

use super::ParsedSource;
use super::ast::{BaseType, Decl, ExternPython, Span, StructKind, TypeExpr};
use super::declarator::Mode;
use super::error::{LineMap, ParseError};
use super::lexer::{self, Kw, Punct, TokKind, Token};
use super::specs::Ctx;
use super::typedefs::{Scope, TypedefNames};

/// Result of the parser's functions.
pub(super) type PResult<T> = Result<T, ParseError>;

/// Deepest recursion allowed (nested parentheses, declarators, struct
/// bodies, parameter lists, unary operators...).
pub(super) const MAX_DEPTH: u32 = 100;
/// Tallest [`TypeExpr`] / [`super::ast::Expr`] tree the parser builds
/// (pointer chains and operator chains are built by loops, not recursion,
/// so their height is limited separately).
pub(super) const MAX_HEIGHT: u32 = 256;

/// The parser state.
pub(super) struct Parser<'a> {
    pub src: &'a str,
    toks: Vec<Token>,
    pub pos: usize,
    pub scope: Scope<'a>,
    depth: u32,
    defines: Peekable<IntoIter<(usize, Decl)>>,
}

/// Parses a whole cdef source.
pub fn parse_cdef(src: &str, typedefs: &dyn TypedefNames) -> PResult<ParsedSource> {
    let mut lines = LineMap::new(src);
    let lexed = lexer::lex(src, Some(&mut lines))?;
    let mut p = Parser::new(src, lexed.tokens, typedefs);
    p.defines = lexed.defines.into_iter().peekable();
    let mut decls = Vec::new();
    loop {
        p.flush_defines(&mut decls);
        if p.at_eof() {
            break;
        }
        p.top_item(&mut decls, ExternPython::No)?;
    }
    Ok(ParsedSource { decls, lines })
}

/// Parses a type name such as `int(*)[5]`.  A declarator name is
/// accepted and ignored (`int x`), as cdef() does.
pub fn parse_type_name(src: &str, typedefs: &dyn TypedefNames) -> PResult<TypeExpr> {
    let lexed = lexer::lex(src, None)?;
    let mut p = Parser::new(src, lexed.tokens, typedefs);
    let specs = p.specs(Ctx::TypeName)?;
    let d = p.declarator(Mode::Either)?;
    p.skip_attributes()?;
    let (ty, _) = p.apply(specs.base_type(true), specs.base_h, specs.conv, d.ops)?;
    if !p.at_eof() {
        let t = p.peek();
        return Err(p.err_at(t, format!("unexpected {} after the type", p.describe(t))));
    }
    Ok(ty)
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, toks: Vec<Token>, typedefs: &'a dyn TypedefNames) -> Self {
        Parser {
            src,
            toks,
            pos: 0,
            scope: Scope::new(typedefs),
            depth: 0,
            defines: Vec::new().into_iter().peekable(),
        }
    }

    // ----- tokens -----

    /// The current token (the final `Eof` once the end is reached).
    pub fn peek(&self) -> Token {
        self.peek_at(0)
    }

    /// The token `n` places ahead.
    pub fn peek_at(&self, n: usize) -> Token {
        let last = self.toks.len() - 1;
        self.toks[(self.pos + n).min(last)]
    }

    /// Consumes and returns the current token.
    pub fn bump(&mut self) -> Token {
        let t = self.peek();
        if t.kind != TokKind::Eof {
            self.pos += 1;
        }
        t
    }

    pub fn at_eof(&self) -> bool {
        self.peek().kind == TokKind::Eof
    }

    pub fn is_punct(&self, p: Punct) -> bool {
        self.peek().kind == TokKind::Punct(p)
    }

    pub fn is_kw(&self, k: Kw) -> bool {
        self.peek().kind == TokKind::Kw(k)
    }

    pub fn eat_punct(&mut self, p: Punct) -> bool {
        let yes = self.is_punct(p);
        if yes {
            self.bump();
        }
        yes
    }

    /// Consumes `p` or fails with "expected 'p' `context`, found X".
    pub fn expect_punct(&mut self, p: Punct, what: &str, context: &str) -> PResult<Token> {
        if self.is_punct(p) {
            return Ok(self.bump());
        }
        let t = self.peek();
        Err(self.err_at(
            t,
            format!("expected '{what}' {context}, found {}", self.describe(t)),
        ))
    }

    /// The source text of a span.
    pub fn text(&self, span: Span) -> &'a str {
        self.src
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// A token for humans: `'foo'` or `end of input`.
    pub fn describe(&self, t: Token) -> String {
        if t.kind == TokKind::Eof {
            return "end of input".to_owned();
        }
        let text = self.text(t.span);
        if text.chars().count() > 40 {
            format!("'{}...'", text.chars().take(37).collect::<String>())
        } else {
            format!("'{text}'")
        }
    }

    /// An error at token `t`; at the end of input, the error points just
    /// after the last token (more useful than a trailing empty line).
    pub fn err_at(&self, t: Token, msg: impl Into<String>) -> ParseError {
        let span = if t.kind == TokKind::Eof {
            let end = self.prev_end() as usize;
            Span::new(end, end)
        } else {
            t.span
        };
        ParseError::new(msg, span)
    }

    /// An "expected X, found Y" error at the current token.
    pub fn unexpected(&self, expected: &str) -> ParseError {
        let t = self.peek();
        self.err_at(
            t,
            format!("expected {expected}, found {}", self.describe(t)),
        )
    }

    /// End offset of the last consumed token.
    pub fn prev_end(&self) -> u32 {
        match self.pos {
            0 => 0,
            n => self.toks[n - 1].span.end,
        }
    }

    /// Span from `start` to the end of the last consumed token.
    pub fn span_from(&self, start: u32) -> Span {
        Span {
            start,
            end: self.prev_end().max(start),
        }
    }

    /// Enters one level of recursion, failing past [`MAX_DEPTH`].
    pub fn enter(&mut self) -> PResult<()> {
        if self.depth >= MAX_DEPTH {
            let t = self.peek();
            return Err(self.err_at(
                t,
                format!("nesting too deep (more than {MAX_DEPTH} levels)"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Checks a tree height against [`MAX_HEIGHT`].
    pub fn check_height(&self, h: u32, span: Span) -> PResult<u32> {
        if h > MAX_HEIGHT {
            return Err(ParseError::new(
                format!("type or expression too deeply nested (more than {MAX_HEIGHT} levels)"),
                span,
            ));
        }
        Ok(h)
    }

    /// Skips `__attribute__((...))` groups.
    pub fn skip_attributes(&mut self) -> PResult<()> {
        while self.is_kw(Kw::Attribute) {
            let kw = self.bump();
            if !self.is_punct(Punct::LParen) {
                return Err(self.unexpected("'(' after __attribute__"));
            }
            let mut level = 0usize;
            loop {
                let t = self.bump();
                match t.kind {
                    TokKind::Punct(Punct::LParen) => level += 1,
                    TokKind::Punct(Punct::RParen) => {
                        level -= 1;
                        if level == 0 {
                            break;
                        }
                    }
                    TokKind::Eof => {
                        return Err(self.err_at(kw, "unterminated __attribute__((...))"));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Can the current token start a (named) declarator?
    fn declarator_may_start(&self) -> bool {
        matches!(
            self.peek().kind,
            TokKind::Ident
                | TokKind::Punct(Punct::Star | Punct::LParen)
                | TokKind::Kw(Kw::Stdcall | Kw::Cdecl | Kw::Attribute)
        )
    }

    /// Is `t` the start of a type name (for casts and `sizeof(type)`)?
    pub fn is_type_start(&self, t: Token) -> bool {
        match t.kind {
            TokKind::Kw(k) => matches!(
                k,
                Kw::Void
                    | Kw::Char
                    | Kw::Short
                    | Kw::Int
                    | Kw::Long
                    | Kw::Float
                    | Kw::Double
                    | Kw::Signed
                    | Kw::Unsigned
                    | Kw::Bool
                    | Kw::Complex
                    | Kw::Const
                    | Kw::Volatile
                    | Kw::Restrict
                    | Kw::Struct
                    | Kw::Union
                    | Kw::Enum
            ),
            TokKind::Ident => self.scope.is_typedef(self.text(t.span)),
            _ => false,
        }
    }

    fn flush_defines(&mut self, out: &mut Vec<Decl>) {
        while let Some((at, _)) = self.defines.peek()
            && *at <= self.pos
        {
            if let Some((_, d)) = self.defines.next() {
                out.push(d);
            }
        }
    }

    // ----- top level -----

    fn top_item(&mut self, out: &mut Vec<Decl>, block: ExternPython) -> PResult<()> {
        if self.eat_punct(Punct::Semi) {
            return Ok(());
        }
        if self.is_kw(Kw::Extern)
            && self.peek_at(1).kind == TokKind::Str
            && self.peek_at(2).kind == TokKind::Punct(Punct::LBrace)
        {
            let kw = self.bump();
            if block != ExternPython::No {
                return Err(self.err_at(kw, "nested extern \"Python\" blocks are not supported"));
            }
            let s = self.bump();
            let flavour = self.extern_flavour(s)?;
            let open = self.bump();
            loop {
                self.flush_defines(out);
                if self.eat_punct(Punct::RBrace) {
                    return Ok(());
                }
                if self.at_eof() {
                    return Err(self.err_at(open, "unterminated extern \"Python\" { ... } block"));
                }
                self.top_item(out, flavour)?;
            }
        }
        self.declaration(out, block)
    }

    /// `"Python"`, `"Python+C"` or `"C+Python"` after `extern`.
    pub fn extern_flavour(&self, s: Token) -> PResult<ExternPython> {
        let value: String = lexer::string_value(self.text(s.span))
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        match value.as_str() {
            "Python" => Ok(ExternPython::Python),
            "Python+C" | "C+Python" => Ok(ExternPython::PythonPlusC),
            _ => Err(self.err_at(
                s,
                format!(
                    "unsupported extern {}: cdef() only accepts extern \"Python\" \
                     and extern \"Python+C\"",
                    self.text(s.span)
                ),
            )),
        }
    }

    /// One declaration with its declarators, up to and including `;`.
    fn declaration(&mut self, out: &mut Vec<Decl>, block: ExternPython) -> PResult<()> {
        let start = self.peek().span.start;
        let specs = self.specs(Ctx::TopLevel)?;
        let extern_python = match specs.extern_python {
            ExternPython::No => block,
            e => e,
        };
        if self.is_punct(Punct::Semi) {
            let span = self.span_from(start);
            self.bump();
            if specs.is_tag() {
                out.push(Decl::Tag {
                    ty: specs.base_type(true),
                    span,
                });
                return Ok(());
            }
            return Err(ParseError::new(
                "declaration does not declare anything",
                span,
            ));
        }
        if specs.is_tag() && !self.declarator_may_start() {
            let what = match &specs.base {
                BaseType::Enum(_) => "enum",
                BaseType::Struct(d) if d.kind == StructKind::Union => "union",
                _ => "struct",
            };
            return Err(self.unexpected(&format!("';' after {what} declaration")));
        }
        let mut first = true;
        loop {
            let d = self.declarator(Mode::Named)?;
            self.skip_attributes()?;
            let Some((name, name_span)) = d.name else {
                return Err(self.unexpected("a name in the declaration"));
            };
            let (ty, _) = self.apply(specs.base_type(first), specs.base_h, specs.conv, d.ops)?;
            let is_function = matches!(ty, TypeExpr::Function { .. });
            if is_function && self.is_punct(Punct::LBrace) {
                let t = self.peek();
                return Err(self.err_at(
                    t,
                    "function definitions are not supported in cdef(), only declarations",
                ));
            }
            let mut init = None;
            if self.is_punct(Punct::Assign) {
                let eq = self.bump();
                if specs.is_typedef {
                    return Err(self.err_at(eq, "a typedef cannot have an initializer"));
                }
                if is_function {
                    return Err(
                        self.err_at(eq, "a function declaration cannot have an initializer")
                    );
                }
                init = self.initializer()?;
            }
            let span = self.span_from(start);
            let decl = if specs.is_typedef {
                self.scope.declare(&name);
                Decl::Typedef { name, ty, span }
            } else if is_function {
                Decl::Function {
                    name,
                    ty,
                    storage: specs.storage,
                    extern_python,
                    span,
                }
            } else {
                if extern_python != ExternPython::No {
                    return Err(ParseError::new(
                        "cannot declare constants or variables with extern \"Python\"",
                        name_span,
                    ));
                }
                Decl::Variable {
                    name,
                    ty,
                    storage: specs.storage,
                    init,
                    span,
                }
            };
            out.push(decl);
            first = false;
            if self.eat_punct(Punct::Comma) {
                continue;
            }
            if self.eat_punct(Punct::Semi) {
                return Ok(());
            }
            return Err(self.unexpected("';' after declaration"));
        }
    }

    /// The value after `=`.  A constant expression gives `Some`.
    /// Initializers that cdef() ignores — strings, `{ ... }` lists, `&x`,
    /// `a.b`, `a[1]` — are skipped up to the next `,` or `;` outside
    /// brackets, giving `None`.
    fn initializer(&mut self) -> PResult<Option<super::ast::Expr>> {
        let (pos, depth) = (self.pos, self.depth);
        let err = match self.expr() {
            Ok((e, _)) => return Ok(Some(e)),
            Err(e) => e,
        };
        self.pos = pos;
        self.depth = depth;
        let mut closers: Vec<Punct> = Vec::new();
        let mut ignorable = false;
        loop {
            let t = self.peek();
            match t.kind {
                TokKind::Punct(Punct::Comma | Punct::Semi) if closers.is_empty() => break,
                TokKind::Punct(Punct::LParen) => closers.push(Punct::RParen),
                TokKind::Punct(Punct::LBracket) => {
                    ignorable = true;
                    closers.push(Punct::RBracket);
                }
                TokKind::Punct(Punct::LBrace) => {
                    ignorable = true;
                    closers.push(Punct::RBrace);
                }
                TokKind::Punct(p @ (Punct::RParen | Punct::RBracket | Punct::RBrace))
                    if closers.pop() != Some(p) =>
                {
                    return Err(err);
                }
                TokKind::Punct(Punct::Amp | Punct::Dot) | TokKind::Str => ignorable = true,
                TokKind::Eof => return Err(err),
                _ => {}
            }
            self.bump();
        }
        if !ignorable {
            return Err(err);
        }
        Ok(None)
    }
}
