//! Declarations and type names: a hand-written recursive-descent parser
//! over the tokens of [`super::lexer`].
//!
//! This file holds the parser state, the top level (declarations,
//! `extern "Python"` blocks) and declaration specifiers (storage words,
//! qualifiers, primitive types, struct/union/enum specifiers).
//! Declarators live in [`super::declarator`], constant expressions in
//! [`super::expr`].

use std::iter::Peekable;
use std::vec::IntoIter;

use super::ParsedSource;
use super::ast::{
    BaseType, CallConv, Decl, EnumBody, EnumDef, Enumerator, ExternPython, Field, Quals, Span,
    Storage, StructBody, StructDef, StructKind, TypeExpr,
};
use super::declarator::Mode;
use super::error::{LineMap, ParseError};
use super::lexer::{self, Kw, Punct, TokKind, Token};
use super::typedefs::{Scope, TypedefNames};

/// Result of the parser's functions.
pub(super) type PResult<T> = Result<T, ParseError>;

/// Deepest recursion allowed (nested parentheses, declarators, struct
/// bodies, parameter lists, unary operators...).
pub(super) const MAX_DEPTH: u32 = 200;
/// Tallest [`TypeExpr`] / [`super::ast::Expr`] tree the parser builds
/// (pointer chains and operator chains are built by loops, not recursion,
/// so their height is limited separately).
pub(super) const MAX_HEIGHT: u32 = 256;

/// Where declaration specifiers are parsed: decides which words are
/// allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ctx {
    /// A top-level declaration: storage classes, `extern "Python"`, and
    /// (in a typedef) the `...` types.
    TopLevel,
    /// A struct or union member.
    Field,
    /// A function parameter (storage words are accepted and ignored).
    Param,
    /// A type name (`sizeof`, casts, type strings).
    TypeName,
}

/// The declaration specifiers in front of declarators.
pub(super) struct Specs {
    pub storage: Storage,
    pub is_typedef: bool,
    pub extern_python: ExternPython,
    pub quals: Quals,
    pub base: BaseType,
    /// Height of the base type's tree (struct bodies nest).
    pub base_h: u32,
    /// The type specifiers and qualifiers.
    pub base_span: Span,
    /// A calling convention written among the specifiers.
    pub conv: Option<CallConv>,
}

impl Specs {
    /// The base as a type.  Only the first declarator of a declaration
    /// carries a struct/enum body; later ones refer to it (same name and
    /// span, no body).
    pub fn base_type(&self, first: bool) -> TypeExpr {
        let base = if first {
            self.base.clone()
        } else {
            match &self.base {
                BaseType::Struct(def) => BaseType::Struct(Box::new(StructDef {
                    kind: def.kind,
                    name: def.name.clone(),
                    body: None,
                    span: def.span,
                })),
                BaseType::Enum(def) => BaseType::Enum(Box::new(EnumDef {
                    name: def.name.clone(),
                    body: None,
                    span: def.span,
                })),
                other => other.clone(),
            }
        };
        TypeExpr::Base {
            base,
            quals: self.quals,
            span: self.base_span,
        }
    }

    fn is_tag(&self) -> bool {
        matches!(self.base, BaseType::Struct(_) | BaseType::Enum(_))
    }
}

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
        Err(self.err_at(t, format!("expected '{what}' {context}, found {}", self.describe(t))))
    }

    /// The source text of a span.
    pub fn text(&self, span: Span) -> &'a str {
        self.src.get(span.start as usize..span.end as usize).unwrap_or("")
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

    pub fn err_at(&self, t: Token, msg: impl Into<String>) -> ParseError {
        ParseError::new(msg, t.span)
    }

    /// An "expected X, found Y" error at the current token.
    pub fn unexpected(&self, expected: &str) -> ParseError {
        let t = self.peek();
        self.err_at(t, format!("expected {expected}, found {}", self.describe(t)))
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
            return Err(self.err_at(t, format!("nesting too deep (more than {MAX_DEPTH} levels)")));
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
    fn extern_flavour(&self, s: Token) -> PResult<ExternPython> {
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
            return Err(ParseError::new("declaration does not declare anything", span));
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
                return Err(self.err_at(t, "function definitions are not supported in cdef(), only declarations"));
            }
            let mut init = None;
            if self.is_punct(Punct::Assign) {
                let eq = self.bump();
                if specs.is_typedef {
                    return Err(self.err_at(eq, "a typedef cannot have an initializer"));
                }
                if is_function {
                    return Err(self.err_at(eq, "a function declaration cannot have an initializer"));
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

    /// The value after `=`: a constant expression; string literals and
    /// `{ ... }` initializers are skipped (cdef() ignores them), giving
    /// `None`.
    fn initializer(&mut self) -> PResult<Option<super::ast::Expr>> {
        if self.peek().kind == TokKind::Str {
            while self.peek().kind == TokKind::Str {
                self.bump();
            }
            return Ok(None);
        }
        if self.is_punct(Punct::LBrace) {
            let open = self.bump();
            let mut level = 1usize;
            while level > 0 {
                let t = self.bump();
                match t.kind {
                    TokKind::Punct(Punct::LBrace) => level += 1,
                    TokKind::Punct(Punct::RBrace) => level -= 1,
                    TokKind::Eof => return Err(self.err_at(open, "unterminated '{' initializer")),
                    _ => {}
                }
            }
            return Ok(None);
        }
        Ok(Some(self.expr()?.0))
    }

    // ----- specifiers -----

    /// Declaration specifiers: storage words, qualifiers, and one type
    /// (primitive words, a typedef name, a struct/union/enum, or `...`).
    pub fn specs(&mut self, ctx: Ctx) -> PResult<Specs> {
        let mut storage = Storage::default();
        let mut is_typedef = false;
        let mut extern_python = ExternPython::No;
        let mut quals = Quals::default();
        let mut conv = None;
        let mut prims: Vec<(Kw, Span)> = Vec::new();
        let mut other: Option<(BaseType, u32, Span)> = None;
        let mut dots: Option<Span> = None;
        let mut type_span: Option<Span> = None;
        let widen = |ts: &mut Option<Span>, s: Span| *ts = Some(ts.map_or(s, |t| t.to(s)));
        loop {
            let t = self.peek();
            match t.kind {
                TokKind::Kw(k) => match k {
                    Kw::Typedef | Kw::Extern | Kw::Static | Kw::Inline | Kw::Auto | Kw::Register => {
                        if matches!(ctx, Ctx::Field | Ctx::TypeName) {
                            return Err(self.err_at(
                                t,
                                format!("storage class '{}' is not allowed here", self.text(t.span)),
                            ));
                        }
                        self.bump();
                        if ctx == Ctx::Param {
                            continue;
                        }
                        match k {
                            Kw::Typedef => is_typedef = true,
                            Kw::Extern if self.peek().kind == TokKind::Str => {
                                let s = self.bump();
                                extern_python = self.extern_flavour(s)?;
                            }
                            Kw::Extern => storage.is_extern = true,
                            Kw::Static => storage.is_static = true,
                            Kw::Inline => storage.is_inline = true,
                            _ => {}
                        }
                    }
                    Kw::Const | Kw::Volatile | Kw::Restrict => {
                        match k {
                            Kw::Const => quals.is_const = true,
                            Kw::Volatile => quals.is_volatile = true,
                            _ => quals.is_restrict = true,
                        }
                        widen(&mut type_span, t.span);
                        self.bump();
                    }
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
                    | Kw::Complex => {
                        if let Some((_, _, s)) = &other {
                            return Err(self.err_at(
                                t,
                                format!(
                                    "cannot combine '{}' with '{}'",
                                    self.text(t.span),
                                    self.text(*s)
                                ),
                            ));
                        }
                        if dots.is_some() {
                            break;
                        }
                        prims.push((k, t.span));
                        widen(&mut type_span, t.span);
                        self.bump();
                    }
                    Kw::Struct | Kw::Union | Kw::Enum => {
                        if let Some(s) = other.as_ref().map(|o| o.2).or(prims.first().map(|p| p.1)) {
                            return Err(self.err_at(
                                t,
                                format!(
                                    "cannot combine '{}' with '{}'",
                                    self.text(t.span),
                                    self.text(s)
                                ),
                            ));
                        }
                        let (b, h, s) = self.tag_specifier()?;
                        widen(&mut type_span, s);
                        other = Some((b, h, s));
                    }
                    Kw::Stdcall | Kw::Cdecl => {
                        conv = Some(if k == Kw::Stdcall { CallConv::Stdcall } else { CallConv::Cdecl });
                        self.bump();
                    }
                    Kw::Attribute => self.skip_attributes()?,
                    Kw::Extension => {
                        self.bump();
                    }
                    Kw::Sizeof | Kw::Alignof => break,
                },
                TokKind::Punct(Punct::Ellipsis) if other.is_none() && dots.is_none() => {
                    dots = Some(t.span);
                    widen(&mut type_span, t.span);
                    self.bump();
                }
                TokKind::Ident if other.is_none() && prims.is_empty() && dots.is_none() => {
                    let name = self.text(t.span);
                    if !self.scope.is_typedef(name) {
                        return Err(self.err_at(t, format!("unknown type name '{name}'")));
                    }
                    self.bump();
                    widen(&mut type_span, t.span);
                    other = Some((BaseType::Named(name.to_owned()), 1, t.span));
                }
                _ => break,
            }
        }
        let (base, base_h) = if let Some(d) = dots {
            if !(ctx == Ctx::TopLevel && is_typedef) {
                return Err(ParseError::new(
                    "'...' as a type is only allowed in a typedef \
                     ('typedef ... t;', 'typedef int... t;', 'typedef float... t;')",
                    d,
                ));
            }
            (dots_type(&prims, d)?, 1)
        } else if let Some((b, h, _)) = other {
            (b, h)
        } else if !prims.is_empty() {
            (self.primitive(&prims)?, 1)
        } else {
            return Err(self.unexpected("a type name"));
        };
        Ok(Specs {
            storage,
            is_typedef,
            extern_python,
            quals,
            base,
            base_h,
            base_span: type_span.unwrap_or_default(),
            conv,
        })
    }

    /// Normalises primitive type words (in any order) to cffi's names.
    fn primitive(&self, words: &[(Kw, Span)]) -> PResult<BaseType> {
        let span = words.iter().fold(words[0].1, |s, w| s.to(w.1));
        let count = |k: Kw| words.iter().filter(|w| w.0 == k).count();
        let (void, ch, short, int, long) =
            (count(Kw::Void), count(Kw::Char), count(Kw::Short), count(Kw::Int), count(Kw::Long));
        let (float, double, signed, unsigned) =
            (count(Kw::Float), count(Kw::Double), count(Kw::Signed), count(Kw::Unsigned));
        let (boolean, complex) = (count(Kw::Bool), count(Kw::Complex));
        let bad = || {
            let written: Vec<&str> = words.iter().map(|w| self.text(w.1)).collect();
            Err(ParseError::new(
                format!("invalid combination of type specifiers '{}'", written.join(" ")),
                span,
            ))
        };
        let n = words.len();
        let sign = signed + unsigned;
        if signed > 1 || unsigned > 1 || sign > 1 || int > 1 || long > 2 {
            return bad();
        }
        let u = unsigned > 0;
        let pick = |s: &'static str, us: &'static str| BaseType::Primitive(if u { us } else { s });
        Ok(if void > 0 {
            if n != 1 {
                return bad();
            }
            BaseType::Void
        } else if boolean > 0 {
            if n != 1 {
                return bad();
            }
            BaseType::Primitive("_Bool")
        } else if complex > 0 {
            match (n, float, double) {
                (2, 1, 0) => BaseType::Primitive("float _Complex"),
                (2, 0, 1) => BaseType::Primitive("double _Complex"),
                _ => return bad(),
            }
        } else if float > 0 {
            if n != 1 {
                return bad();
            }
            BaseType::Primitive("float")
        } else if double > 0 {
            match (n, long) {
                (1, 0) => BaseType::Primitive("double"),
                (2, 1) => BaseType::Primitive("long double"),
                _ => return bad(),
            }
        } else if ch > 0 {
            if n != 1 + sign {
                return bad();
            }
            BaseType::Primitive(match (signed, unsigned) {
                (0, 0) => "char",
                (_, 0) => "signed char",
                _ => "unsigned char",
            })
        } else if short > 0 {
            if short > 1 || long > 0 {
                return bad();
            }
            pick("short", "unsigned short")
        } else if long == 2 {
            pick("long long", "unsigned long long")
        } else if long == 1 {
            pick("long", "unsigned long")
        } else {
            pick("int", "unsigned int")
        })
    }

    // ----- struct, union, enum -----

    /// `struct/union/enum [name] [{ body }]`.
    fn tag_specifier(&mut self) -> PResult<(BaseType, u32, Span)> {
        let kw = self.bump();
        self.skip_attributes()?;
        let mut name = None;
        if self.peek().kind == TokKind::Ident {
            let t = self.bump();
            name = Some(self.text(t.span).to_owned());
            self.skip_attributes()?;
        }
        let is_enum = kw.kind == TokKind::Kw(Kw::Enum);
        let kind = if kw.kind == TokKind::Kw(Kw::Union) {
            StructKind::Union
        } else {
            StructKind::Struct
        };
        let mut h = 1;
        let (sbody, ebody) = if self.is_punct(Punct::LBrace) {
            self.enter()?;
            let r = if is_enum {
                let (b, bh) = self.enum_body()?;
                h = bh;
                (None, Some(b))
            } else {
                let (b, bh) = self.struct_body(kind)?;
                h = bh;
                (Some(b), None)
            };
            self.leave();
            self.skip_attributes()?;
            r
        } else {
            if name.is_none() {
                let word = self.text(kw.span);
                return Err(self.unexpected(&format!("a name or '{{' after '{word}'")));
            }
            (None, None)
        };
        let span = self.span_from(kw.span.start);
        self.check_height(h, span)?;
        let base = if is_enum {
            BaseType::Enum(Box::new(EnumDef {
                name,
                body: ebody,
                span,
            }))
        } else {
            BaseType::Struct(Box::new(StructDef {
                kind,
                name,
                body: sbody,
                span,
            }))
        };
        Ok((base, h, span))
    }

    fn struct_body(&mut self, kind: StructKind) -> PResult<(StructBody, u32)> {
        self.bump(); // '{'
        let what = match kind {
            StructKind::Struct => "struct",
            StructKind::Union => "union",
        };
        let mut fields = Vec::new();
        let mut partial = false;
        let mut h = 1;
        loop {
            let t = self.peek();
            match t.kind {
                TokKind::Punct(Punct::RBrace) => {
                    self.bump();
                    break;
                }
                TokKind::Eof => {
                    return Err(self.err_at(t, format!("unexpected end of input in {what} body")));
                }
                TokKind::Punct(Punct::Semi) => {
                    self.bump();
                }
                TokKind::Punct(Punct::Ellipsis) => {
                    self.bump();
                    self.expect_punct(Punct::Semi, ";", &format!("after '...' in {what} body"))?;
                    partial = true;
                }
                _ => {
                    let fh = self.member_declaration(&mut fields)?;
                    h = h.max(fh + 1);
                }
            }
        }
        Ok((StructBody { fields, partial }, h))
    }

    /// One member declaration (possibly several declarators); returns the
    /// tallest member type.
    fn member_declaration(&mut self, fields: &mut Vec<Field>) -> PResult<u32> {
        let start = self.peek().span.start;
        let specs = self.specs(Ctx::Field)?;
        if self.eat_punct(Punct::Semi) {
            if let BaseType::Struct(_) = specs.base {
                fields.push(Field {
                    name: None,
                    ty: specs.base_type(true),
                    bitsize: None,
                    span: self.span_from(start),
                });
                return Ok(specs.base_h);
            }
            return Err(ParseError::new(
                "member declaration does not declare anything",
                self.span_from(start),
            ));
        }
        let mut first = true;
        let mut h = 1;
        loop {
            let (name, ty, th) = if self.is_punct(Punct::Colon) {
                (None, specs.base_type(first), specs.base_h)
            } else {
                let d = self.declarator(Mode::Named)?;
                self.skip_attributes()?;
                let (ty, th) = self.apply(specs.base_type(first), specs.base_h, specs.conv, d.ops)?;
                (d.name.map(|n| n.0), ty, th)
            };
            h = h.max(th);
            let mut bitsize = None;
            if self.eat_punct(Punct::Colon) {
                let (e, eh) = self.expr()?;
                h = h.max(eh);
                bitsize = Some(e);
                self.skip_attributes()?;
            }
            fields.push(Field {
                name,
                ty,
                bitsize,
                span: self.span_from(start),
            });
            first = false;
            if self.eat_punct(Punct::Comma) {
                continue;
            }
            if self.eat_punct(Punct::Semi) {
                return Ok(h);
            }
            return Err(self.unexpected("';' after struct member"));
        }
    }

    fn enum_body(&mut self) -> PResult<(EnumBody, u32)> {
        self.bump(); // '{'
        let mut items = Vec::new();
        let mut partial = false;
        let mut h = 1;
        loop {
            let t = self.peek();
            match t.kind {
                TokKind::Punct(Punct::RBrace) => {
                    if items.is_empty() && !partial {
                        return Err(self.err_at(t, "an enum must have at least one enumerator"));
                    }
                    self.bump();
                    break;
                }
                TokKind::Punct(Punct::Ellipsis) => {
                    self.bump();
                    partial = true;
                    self.expect_punct(Punct::RBrace, "}", "after '...' in enum")?;
                    break;
                }
                TokKind::Ident => {
                    self.bump();
                    let mut value = None;
                    if self.eat_punct(Punct::Assign) {
                        if self.eat_punct(Punct::Ellipsis) {
                            partial = true;
                        } else {
                            let (e, eh) = self.expr()?;
                            h = h.max(eh + 1);
                            value = Some(e);
                        }
                    }
                    items.push(Enumerator {
                        name: self.text(t.span).to_owned(),
                        value,
                        span: self.span_from(t.span.start),
                    });
                    if !self.eat_punct(Punct::Comma) && !self.is_punct(Punct::RBrace) {
                        return Err(self.unexpected("',' or '}' after enumerator"));
                    }
                }
                TokKind::Eof => {
                    return Err(self.err_at(t, "unexpected end of input in enum body"));
                }
                _ => return Err(self.unexpected("an enumerator name")),
            }
        }
        Ok((EnumBody { items, partial }, h))
    }
}

/// The type of `typedef <words>... t;`.
fn dots_type(prims: &[(Kw, Span)], at: Span) -> PResult<BaseType> {
    if prims.is_empty() {
        return Ok(BaseType::Dots);
    }
    let all = |ks: &[Kw]| prims.iter().all(|p| ks.contains(&p.0));
    if all(&[Kw::Int, Kw::Long, Kw::Short, Kw::Signed, Kw::Unsigned, Kw::Char]) {
        Ok(BaseType::DotsInt)
    } else if prims.len() == 1 && all(&[Kw::Float, Kw::Double]) {
        Ok(BaseType::DotsFloat)
    } else {
        Err(ParseError::new(
            "unsupported '...' type: use 'typedef int... t;' for an integer type \
             or 'typedef float... t;' for a floating-point type",
            at,
        ))
    }
}
