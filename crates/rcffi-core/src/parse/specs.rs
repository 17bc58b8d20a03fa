//! Declaration specifiers (storage words, qualifiers, primitive types,
//! typedef names, `...` types) and struct/union/enum specifiers with their
//! bodies.

use super::ast::{
    BaseType, CallConv, EnumBody, EnumDef, Enumerator, ExternPython, Field, Quals, Span, Storage,
    StructBody, StructDef, StructKind, TypeExpr,
};
use super::declarator::Mode;
use super::error::ParseError;
use super::lexer::{Kw, Punct, TokKind, Token};
use super::parser::{PResult, Parser};
use super::typedefs::TypedefNames;

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

    pub fn is_tag(&self) -> bool {
        matches!(self.base, BaseType::Struct(_) | BaseType::Enum(_))
    }
}

/// What the specifier loop has collected so far.
#[derive(Default)]
struct SpecState {
    storage: Storage,
    is_typedef: bool,
    extern_python: ExternPython,
    quals: Quals,
    conv: Option<CallConv>,
    prims: Vec<(Kw, Span)>,
    other: Option<(BaseType, u32, Span)>,
    dots: Option<Span>,
    type_span: Option<Span>,
}

impl SpecState {
    fn widen(&mut self, s: Span) {
        self.type_span = Some(self.type_span.map_or(s, |t| t.to(s)));
    }

    /// The span of the type already seen (for "cannot combine" errors).
    fn seen_type(&self) -> Option<Span> {
        self.other
            .as_ref()
            .map(|o| o.2)
            .or(self.prims.first().map(|p| p.1))
            .or(self.dots)
    }
}

impl Parser<'_> {
    /// Declaration specifiers: storage words, qualifiers, and one type
    /// (primitive words, a typedef name, a struct/union/enum, or `...`).
    ///
    /// (Split in small functions: this recursion — struct bodies hold
    /// specifiers — must use little stack per level.)
    pub fn specs(&mut self, ctx: Ctx) -> PResult<Specs> {
        let mut st = SpecState::default();
        loop {
            let t = self.peek();
            if matches!(t.kind, TokKind::Kw(Kw::Struct | Kw::Union | Kw::Enum)) {
                if let Some(s) = st.seen_type() {
                    return Err(self.cannot_combine(t, s));
                }
                let (b, h, s) = self.tag_specifier()?;
                st.widen(s);
                st.other = Some((b, h, s));
            } else if !self.spec_word(&mut st, t, ctx)? {
                break;
            }
        }
        self.finish_specs(st, ctx)
    }

    fn cannot_combine(&self, t: Token, prev: Span) -> ParseError {
        self.err_at(
            t,
            format!(
                "cannot combine '{}' with '{}'",
                self.text(t.span),
                self.text(prev)
            ),
        )
    }

    /// Handles one specifier token other than struct/union/enum; `false`
    /// when `t` ends the specifiers.
    fn spec_word(&mut self, st: &mut SpecState, t: Token, ctx: Ctx) -> PResult<bool> {
        let k = match t.kind {
            TokKind::Kw(k) => k,
            TokKind::Punct(Punct::Ellipsis) if st.other.is_none() && st.dots.is_none() => {
                st.dots = Some(t.span);
                st.widen(t.span);
                self.bump();
                return Ok(true);
            }
            TokKind::Ident if st.seen_type().is_none() => {
                let name = self.text(t.span);
                if !self.scope.is_typedef(name) {
                    return Err(self.err_at(t, format!("unknown type name '{name}'")));
                }
                self.bump();
                st.widen(t.span);
                st.other = Some((BaseType::Named(name.to_owned()), 1, t.span));
                return Ok(true);
            }
            _ => return Ok(false),
        };
        match k {
            Kw::Typedef | Kw::Extern | Kw::Static | Kw::Inline | Kw::Auto | Kw::Register => {
                if matches!(ctx, Ctx::Field | Ctx::TypeName) {
                    return Err(self.err_at(
                        t,
                        format!("storage class '{}' is not allowed here", self.text(t.span)),
                    ));
                }
                self.bump();
                if ctx == Ctx::Param {
                    return Ok(true);
                }
                match k {
                    Kw::Typedef => st.is_typedef = true,
                    Kw::Extern if self.peek().kind == TokKind::Str => {
                        let s = self.bump();
                        st.extern_python = self.extern_flavour(s)?;
                    }
                    Kw::Extern => st.storage.is_extern = true,
                    Kw::Static => st.storage.is_static = true,
                    Kw::Inline => st.storage.is_inline = true,
                    _ => {}
                }
            }
            Kw::Const | Kw::Volatile | Kw::Restrict => {
                match k {
                    Kw::Const => st.quals.is_const = true,
                    Kw::Volatile => st.quals.is_volatile = true,
                    _ => st.quals.is_restrict = true,
                }
                st.widen(t.span);
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
                if let Some((_, _, s)) = &st.other {
                    return Err(self.cannot_combine(t, *s));
                }
                if st.dots.is_some() {
                    return Ok(false);
                }
                st.prims.push((k, t.span));
                st.widen(t.span);
                self.bump();
            }
            Kw::Stdcall | Kw::Cdecl => {
                st.conv = Some(if k == Kw::Stdcall {
                    CallConv::Stdcall
                } else {
                    CallConv::Cdecl
                });
                self.bump();
            }
            Kw::Attribute => self.skip_attributes()?,
            Kw::Extension => {
                self.bump();
            }
            Kw::Struct | Kw::Union | Kw::Enum | Kw::Sizeof | Kw::Alignof => return Ok(false),
        }
        Ok(true)
    }

    fn finish_specs(&self, st: SpecState, ctx: Ctx) -> PResult<Specs> {
        let (base, base_h) = if let Some(d) = st.dots {
            if !(ctx == Ctx::TopLevel && st.is_typedef) {
                return Err(ParseError::new(
                    "'...' as a type is only allowed in a typedef \
                     ('typedef ... t;', 'typedef int... t;', 'typedef float... t;')",
                    d,
                ));
            }
            (dots_type(&st.prims, d)?, 1)
        } else if let Some((b, h, _)) = st.other {
            (b, h)
        } else if !st.prims.is_empty() {
            (self.primitive(&st.prims)?, 1)
        } else {
            return Err(self.unexpected("a type name"));
        };
        Ok(Specs {
            storage: st.storage,
            is_typedef: st.is_typedef,
            extern_python: st.extern_python,
            quals: st.quals,
            base,
            base_h,
            base_span: st.type_span.unwrap_or_default(),
            conv: st.conv,
        })
    }

    /// Normalises primitive type words (in any order) to cffi's names.
    fn primitive(&self, words: &[(Kw, Span)]) -> PResult<BaseType> {
        let span = words.iter().fold(words[0].1, |s, w| s.to(w.1));
        let count = |k: Kw| words.iter().filter(|w| w.0 == k).count();
        let (void, ch, short, int, long) = (
            count(Kw::Void),
            count(Kw::Char),
            count(Kw::Short),
            count(Kw::Int),
            count(Kw::Long),
        );
        let (float, double, signed, unsigned) = (
            count(Kw::Float),
            count(Kw::Double),
            count(Kw::Signed),
            count(Kw::Unsigned),
        );
        let (boolean, complex) = (count(Kw::Bool), count(Kw::Complex));
        let bad = || {
            let written: Vec<&str> = words.iter().map(|w| self.text(w.1)).collect();
            Err(ParseError::new(
                format!(
                    "invalid combination of type specifiers '{}'",
                    written.join(" ")
                ),
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
                let (ty, th) =
                    self.apply(specs.base_type(first), specs.base_h, specs.conv, d.ops)?;
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
    if all(&[
        Kw::Int,
        Kw::Long,
        Kw::Short,
        Kw::Signed,
        Kw::Unsigned,
        Kw::Char,
    ]) {
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
