//! Declarators (`*p`, `a[3]`, `(*f)(int)`, abstract ones like `(*)[5]`)
//! and their application to a base type.
//!
//! A declarator is parsed into a flat list of [`Op`]s in *application
//! order*: the first op wraps the base type, the last one is the outermost
//! node of the resulting [`TypeExpr`].  For `P ( D ) S` (pointer prefix,
//! nested declarator, suffixes) the order is: `P` left to right, the
//! suffixes `S` right to left, then the ops of `D`.

use super::ast::{ArrayLen, CallConv, Param, Quals, Span, TypeExpr};
use super::lexer::{Kw, Punct, TokKind};
use super::parser::{PResult, Parser};
use super::specs::Ctx;

/// Whether a declarator names something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// A name is required (declarations, struct members).
    Named,
    /// No name (casts, `sizeof`).
    Abstract,
    /// Either (parameters, type strings).
    Either,
}

/// One derivation step of a declarator.
pub(super) enum Op {
    Ptr {
        quals: Quals,
        span: Span,
    },
    Array {
        len: ArrayLen,
        /// Height of the length expression.
        h: u32,
        span: Span,
    },
    Func {
        params: Vec<Param>,
        /// Height of the tallest parameter type.
        h: u32,
        variadic: bool,
        span: Span,
    },
    /// A calling-convention keyword: it applies to the first function op
    /// at or after it, or else to the last function op before it.
    Conv(CallConv),
}

/// A parsed declarator.
pub(super) struct Declarator {
    pub name: Option<(String, Span)>,
    pub ops: Vec<Op>,
}

fn conv_of(k: TokKind) -> Option<CallConv> {
    match k {
        TokKind::Kw(Kw::Stdcall) => Some(CallConv::Stdcall),
        TokKind::Kw(Kw::Cdecl) => Some(CallConv::Cdecl),
        _ => None,
    }
}

impl Parser<'_> {
    /// Parses a declarator.
    pub fn declarator(&mut self, mode: Mode) -> PResult<Declarator> {
        self.enter()?;
        let r = self.declarator_inner(mode);
        self.leave();
        r
    }

    fn declarator_inner(&mut self, mode: Mode) -> PResult<Declarator> {
        let mut ops = Vec::new();
        // Pointer prefix, with qualifiers and calling conventions.
        loop {
            let t = self.peek();
            if let Some(c) = conv_of(t.kind) {
                self.bump();
                ops.push(Op::Conv(c));
            } else if t.kind == TokKind::Kw(Kw::Attribute) {
                self.skip_attributes()?;
            } else if t.kind == TokKind::Punct(Punct::Star) {
                self.bump();
                let mut quals = Quals::default();
                let mut convs = Vec::new();
                loop {
                    let q = self.peek();
                    match q.kind {
                        TokKind::Kw(Kw::Const) => quals.is_const = true,
                        TokKind::Kw(Kw::Volatile) => quals.is_volatile = true,
                        TokKind::Kw(Kw::Restrict) => quals.is_restrict = true,
                        TokKind::Kw(Kw::Attribute) => {
                            self.skip_attributes()?;
                            continue;
                        }
                        k => match conv_of(k) {
                            Some(c) => convs.push(Op::Conv(c)),
                            None => break,
                        },
                    }
                    self.bump();
                }
                ops.push(Op::Ptr {
                    quals,
                    span: self.span_from(t.span.start),
                });
                ops.extend(convs);
            } else {
                break;
            }
            if ops.len() > super::parser::MAX_HEIGHT as usize {
                let t = self.peek();
                return Err(self.err_at(t, "declarator too long"));
            }
        }
        // The direct declarator: a name, a parenthesized declarator, or
        // nothing (abstract).
        let mut name = None;
        let mut inner = None;
        let t = self.peek();
        match t.kind {
            TokKind::Ident if mode != Mode::Abstract => {
                self.bump();
                name = Some((self.text(t.span).to_owned(), t.span));
            }
            TokKind::Punct(Punct::LParen) if self.nested_declarator_follows(mode) => {
                self.bump();
                // `(__stdcall *p)`: the convention belongs to the type
                // built so far (cffi's reading), i.e. before the suffixes.
                while let Some(c) = conv_of(self.peek().kind) {
                    self.bump();
                    ops.push(Op::Conv(c));
                }
                inner = Some(self.declarator(mode)?);
                self.expect_punct(Punct::RParen, ")", "to close the declarator")?;
            }
            _ if mode == Mode::Named => {
                return Err(self.unexpected("a name in the declaration"));
            }
            _ => {}
        }
        // Suffixes.
        let mut suffixes = Vec::new();
        loop {
            if self.is_punct(Punct::LBracket) {
                suffixes.push(self.array_suffix()?);
            } else if self.is_punct(Punct::LParen) {
                suffixes.push(self.param_suffix()?);
            } else {
                break;
            }
            if suffixes.len() > super::parser::MAX_HEIGHT as usize {
                let t = self.peek();
                return Err(self.err_at(t, "declarator too long"));
            }
        }
        ops.extend(suffixes.into_iter().rev());
        if let Some(inner) = inner {
            ops.extend(inner.ops);
            name = inner.name;
        }
        Ok(Declarator { name, ops })
    }

    /// After a `(` in declarator position: is it a nested declarator
    /// (`(*p)`, `(name)`) rather than a parameter list?
    fn nested_declarator_follows(&self, mode: Mode) -> bool {
        let t = self.peek_at(1);
        match t.kind {
            TokKind::Punct(Punct::Star | Punct::LParen | Punct::LBracket) => true,
            TokKind::Kw(Kw::Stdcall | Kw::Cdecl | Kw::Attribute) => true,
            TokKind::Ident => match mode {
                Mode::Named => true,
                Mode::Abstract => false,
                // In a parameter, `(T)` with T a typedef name is a
                // parameter list (C's rule).
                Mode::Either => !self.scope_is_typedef(t.span),
            },
            _ => false,
        }
    }

    fn scope_is_typedef(&self, span: Span) -> bool {
        use super::typedefs::TypedefNames;
        self.scope.is_typedef(self.text(span))
    }

    /// `[ length ]`.
    fn array_suffix(&mut self) -> PResult<Op> {
        let open = self.bump();
        // C99 `[static 3]`, `[const]` in parameters.
        while matches!(
            self.peek().kind,
            TokKind::Kw(Kw::Static | Kw::Const | Kw::Volatile | Kw::Restrict)
        ) {
            self.bump();
        }
        let (len, h) = if self.is_punct(Punct::RBracket) {
            (ArrayLen::Open, 0)
        } else if self.is_punct(Punct::Ellipsis)
            && self.peek_at(1).kind == TokKind::Punct(Punct::RBracket)
        {
            self.bump();
            (ArrayLen::Dots, 0)
        } else {
            let (e, h) = self.expr()?;
            (ArrayLen::Expr(e), h)
        };
        self.expect_punct(Punct::RBracket, "]", "after the array length")?;
        Ok(Op::Array {
            len,
            h,
            span: self.span_from(open.span.start),
        })
    }

    /// `( parameters )`.
    fn param_suffix(&mut self) -> PResult<Op> {
        let open = self.bump();
        self.enter()?;
        let r = self.params();
        self.leave();
        let (params, h, variadic) = r?;
        Ok(Op::Func {
            params,
            h,
            variadic,
            span: self.span_from(open.span.start),
        })
    }

    fn params(&mut self) -> PResult<(Vec<Param>, u32, bool)> {
        let mut params: Vec<Param> = Vec::new();
        let mut h = 0;
        let mut variadic = false;
        if self.eat_punct(Punct::RParen) {
            return Ok((params, h, variadic));
        }
        loop {
            if self.is_punct(Punct::Ellipsis) {
                let e = self.bump();
                if params.is_empty() {
                    return Err(self.err_at(
                        e,
                        "a function with only '(...)' as parameters is not correct C",
                    ));
                }
                variadic = true;
                self.expect_punct(Punct::RParen, ")", "after '...'")?;
                break;
            }
            let start = self.peek().span.start;
            let specs = self.specs(Ctx::Param)?;
            let d = self.declarator(Mode::Either)?;
            self.skip_attributes()?;
            let (ty, th) = self.apply(specs.base_type(true), specs.base_h, specs.conv, d.ops)?;
            h = h.max(th);
            params.push(Param {
                name: d.name.map(|n| n.0),
                ty,
                span: self.span_from(start),
            });
            if self.eat_punct(Punct::Comma) {
                continue;
            }
            if self.eat_punct(Punct::RParen) {
                break;
            }
            return Err(self.unexpected("',' or ')' in the parameter list"));
        }
        // `(void)` means no parameters.
        if let [p] = params.as_slice()
            && !variadic
            && p.name.is_none()
            && matches!(
                p.ty,
                TypeExpr::Base {
                    base: super::ast::BaseType::Void,
                    ..
                }
            )
        {
            params.clear();
        }
        Ok((params, h, variadic))
    }

    /// Builds the type: `base` wrapped by `ops` in order.  `conv` is a
    /// calling convention written among the specifiers.  Returns the type
    /// and its height.
    pub fn apply(
        &self,
        base: TypeExpr,
        base_h: u32,
        conv: Option<CallConv>,
        ops: Vec<Op>,
    ) -> PResult<(TypeExpr, u32)> {
        // Which function op each calling convention belongs to.
        let mut convs: Vec<Option<CallConv>> = vec![None; ops.len()];
        let mut pending = conv;
        let mut last_func = None;
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::Conv(c) => pending = Some(*c),
                Op::Func { .. } => {
                    if let Some(c) = pending.take() {
                        convs[i] = Some(c);
                    }
                    last_func = Some(i);
                }
                _ => {}
            }
        }
        if let (Some(c), Some(i)) = (pending, last_func) {
            convs[i] = Some(c);
        }
        let mut t = base;
        let mut h = base_h;
        for (op, conv) in ops.into_iter().zip(convs) {
            let span;
            match op {
                Op::Conv(_) => continue,
                Op::Ptr { quals, span: s } => {
                    span = t.span().to(s);
                    t = TypeExpr::Pointer {
                        pointee: Box::new(t),
                        quals,
                        span,
                    };
                    h += 1;
                }
                Op::Array {
                    len,
                    h: lh,
                    span: s,
                } => {
                    span = t.span().to(s);
                    t = TypeExpr::Array {
                        item: Box::new(t),
                        len,
                        span,
                    };
                    h = h.max(lh) + 1;
                }
                Op::Func {
                    params,
                    h: ph,
                    variadic,
                    span: s,
                } => {
                    span = t.span().to(s);
                    t = TypeExpr::Function {
                        result: Box::new(t),
                        params,
                        variadic,
                        callconv: conv.unwrap_or_default(),
                        span,
                    };
                    h = h.max(ph) + 1;
                }
            }
            self.check_height(h, span)?;
        }
        Ok((t, h))
    }

    /// A type name: specifiers and an abstract declarator (for casts,
    /// `sizeof` and `alignof`).
    pub fn type_name(&mut self) -> PResult<(TypeExpr, u32)> {
        let specs = self.specs(Ctx::TypeName)?;
        let d = self.declarator(Mode::Abstract)?;
        self.skip_attributes()?;
        self.apply(specs.base_type(true), specs.base_h, specs.conv, d.ops)
    }
}
