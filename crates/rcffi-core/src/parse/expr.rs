//! Constant expressions: array lengths, bitfield widths, enumerator values
//! and `static const` initialisers.  They are only parsed here; the front
//! end evaluates them (that needs types, for `sizeof`).
//!
//! Every function returns the expression with the height of its tree.

use super::ast::{BinaryOp, Expr, ExprKind, UnaryOp};
use super::lexer::{Kw, Punct, TokKind, Token};
use super::parser::{PResult, Parser};

/// Binary operators with their C precedence (higher binds tighter).
fn binary_op(k: TokKind) -> Option<(BinaryOp, u8)> {
    let TokKind::Punct(p) = k else {
        return None;
    };
    Some(match p {
        Punct::OrOr => (BinaryOp::Or, 1),
        Punct::AndAnd => (BinaryOp::And, 2),
        Punct::Pipe => (BinaryOp::BitOr, 3),
        Punct::Caret => (BinaryOp::BitXor, 4),
        Punct::Amp => (BinaryOp::BitAnd, 5),
        Punct::EqEq => (BinaryOp::Eq, 6),
        Punct::Ne => (BinaryOp::Ne, 6),
        Punct::Lt => (BinaryOp::Lt, 7),
        Punct::Gt => (BinaryOp::Gt, 7),
        Punct::Le => (BinaryOp::Le, 7),
        Punct::Ge => (BinaryOp::Ge, 7),
        Punct::Shl => (BinaryOp::Shl, 8),
        Punct::Shr => (BinaryOp::Shr, 8),
        Punct::Plus => (BinaryOp::Add, 9),
        Punct::Minus => (BinaryOp::Sub, 9),
        Punct::Star => (BinaryOp::Mul, 10),
        Punct::Slash => (BinaryOp::Div, 10),
        Punct::Percent => (BinaryOp::Mod, 10),
        _ => return None,
    })
}

impl Parser<'_> {
    /// A conditional expression (`a ? b : c` and everything tighter).
    pub fn expr(&mut self) -> PResult<(Expr, u32)> {
        self.enter()?;
        let r = self.conditional();
        self.leave();
        r
    }

    fn conditional(&mut self) -> PResult<(Expr, u32)> {
        let (cond, ch) = self.binary(1)?;
        if !self.eat_punct(Punct::Question) {
            return Ok((cond, ch));
        }
        let (then, th) = self.expr()?;
        self.expect_punct(Punct::Colon, ":", "in conditional expression")?;
        let (other, oh) = self.expr()?;
        let span = cond.span.to(other.span);
        let h = self.check_height(ch.max(th).max(oh) + 1, span)?;
        let kind = ExprKind::Cond(Box::new(cond), Box::new(then), Box::new(other));
        Ok((Expr { kind, span }, h))
    }

    /// Precedence climbing: operators binding at least as tight as `min`.
    fn binary(&mut self, min: u8) -> PResult<(Expr, u32)> {
        let (mut lhs, mut h) = self.unary()?;
        while let Some((op, prec)) = binary_op(self.peek().kind) {
            if prec < min {
                break;
            }
            self.bump();
            self.enter()?;
            let r = self.binary(prec + 1);
            self.leave();
            let (rhs, rh) = r?;
            let span = lhs.span.to(rhs.span);
            h = self.check_height(h.max(rh) + 1, span)?;
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span,
            };
        }
        Ok((lhs, h))
    }

    fn unary(&mut self) -> PResult<(Expr, u32)> {
        let t = self.peek();
        let op = match t.kind {
            TokKind::Punct(Punct::Minus) => UnaryOp::Neg,
            TokKind::Punct(Punct::Plus) => UnaryOp::Plus,
            TokKind::Punct(Punct::Bang) => UnaryOp::Not,
            TokKind::Punct(Punct::Tilde) => UnaryOp::BitNot,
            TokKind::Kw(Kw::Sizeof) => return self.sizeof(t),
            TokKind::Kw(Kw::Alignof) => return self.alignof(t),
            TokKind::Punct(Punct::LParen) if self.is_type_start(self.peek_at(1)) => {
                return self.cast(t);
            }
            _ => return self.primary(),
        };
        self.bump();
        let (e, h) = self.nested_unary()?;
        let span = t.span.to(e.span);
        let h = self.check_height(h + 1, span)?;
        let kind = ExprKind::Unary(op, Box::new(e));
        Ok((Expr { kind, span }, h))
    }

    /// `sizeof(type)` or `sizeof expr`.
    fn sizeof(&mut self, t: Token) -> PResult<(Expr, u32)> {
        self.bump();
        if self.is_punct(Punct::LParen) && self.is_type_start(self.peek_at(1)) {
            let (ty, th) = self.parenthesized_type("sizeof")?;
            let span = self.span_from(t.span.start);
            let h = self.check_height(th + 1, span)?;
            let kind = ExprKind::SizeofType(Box::new(ty));
            return Ok((Expr { kind, span }, h));
        }
        let (e, h) = self.nested_unary()?;
        let span = t.span.to(e.span);
        let h = self.check_height(h + 1, span)?;
        let kind = ExprKind::SizeofExpr(Box::new(e));
        Ok((Expr { kind, span }, h))
    }

    /// `alignof(type)` in its various spellings.
    fn alignof(&mut self, t: Token) -> PResult<(Expr, u32)> {
        self.bump();
        if !(self.is_punct(Punct::LParen) && self.is_type_start(self.peek_at(1))) {
            let word = self.text(t.span);
            return Err(self.unexpected(&format!("'(' and a type name after '{word}'")));
        }
        let (ty, th) = self.parenthesized_type("alignof")?;
        let span = self.span_from(t.span.start);
        let h = self.check_height(th + 1, span)?;
        let kind = ExprKind::AlignofType(Box::new(ty));
        Ok((Expr { kind, span }, h))
    }

    /// `(type) operand`.
    fn cast(&mut self, t: Token) -> PResult<(Expr, u32)> {
        let (ty, th) = self.parenthesized_type("cast")?;
        let (e, eh) = self.nested_unary()?;
        let span = t.span.to(e.span);
        let h = self.check_height(th.max(eh) + 1, span)?;
        let kind = ExprKind::Cast(Box::new(ty), Box::new(e));
        Ok((Expr { kind, span }, h))
    }

    /// A unary operand, one recursion level deeper.
    fn nested_unary(&mut self) -> PResult<(Expr, u32)> {
        self.enter()?;
        let r = self.unary();
        self.leave();
        r
    }

    /// `( type-name )`.
    fn parenthesized_type(&mut self, what: &str) -> PResult<(super::ast::TypeExpr, u32)> {
        self.bump(); // '('
        self.enter()?;
        let r = self.type_name();
        self.leave();
        let r = r?;
        self.expect_punct(Punct::RParen, ")", &format!("after the type in {what}"))?;
        Ok(r)
    }

    fn primary(&mut self) -> PResult<(Expr, u32)> {
        let t = self.peek();
        let kind = match t.kind {
            TokKind::Int(v) | TokKind::Char(v) => ExprKind::Int(v),
            TokKind::Float(f) => ExprKind::Float(f),
            TokKind::Ident => ExprKind::Ident(self.text(t.span).to_owned()),
            TokKind::Punct(Punct::LParen) => return self.parenthesized(t),
            TokKind::Kw(Kw::Extension) => {
                self.bump();
                return self.nested_unary();
            }
            _ => return Err(self.not_an_expression(t)),
        };
        self.bump();
        Ok((Expr { kind, span: t.span }, 1))
    }

    /// `( expr )`: the expression, its span widened to the parentheses.
    fn parenthesized(&mut self, open: Token) -> PResult<(Expr, u32)> {
        self.bump();
        let (mut e, h) = self.expr()?;
        self.expect_punct(Punct::RParen, ")", "to close the parenthesized expression")?;
        e.span = self.span_from(open.span.start);
        Ok((e, h))
    }

    #[cold]
    fn not_an_expression(&self, t: Token) -> super::error::ParseError {
        if t.kind == TokKind::Str {
            self.err_at(
                t,
                "string literals are not supported in constant expressions",
            )
        } else {
            self.unexpected("an expression")
        }
    }
}
