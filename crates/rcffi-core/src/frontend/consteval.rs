//! Evaluation of constant expressions: array lengths, enum values, bitfield
//! widths and `static const` initialisers.

use super::resolve::{Located, Resolver};
use crate::errors::Error;
use crate::parse::ast::{BinaryOp, Expr, ExprKind, UnaryOp};

/// The value of a constant expression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Int(i128),
    Float(f64),
}

impl Value {
    fn truthy(self) -> bool {
        match self {
            Value::Int(i) => i != 0,
            Value::Float(f) => f != 0.0,
        }
    }
}

fn err(e: &Expr, msg: impl Into<String>) -> Located {
    Located::at(Error::cdef(msg), e.span)
}

impl Resolver<'_> {
    /// Evaluates `e` to an integer (array lengths, enum values...).
    pub fn eval_int(&mut self, e: &Expr) -> Result<i128, Located> {
        match self.eval(e)? {
            Value::Int(i) => Ok(i),
            Value::Float(_) => Err(err(e, "expected an integer constant expression")),
        }
    }

    pub fn eval(&mut self, e: &Expr) -> Result<Value, Located> {
        let overflow = || err(e, "integer overflow in constant expression");
        Ok(match &e.kind {
            ExprKind::Int(i) => Value::Int(*i),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::Ident(name) => match self.lookup_constant(name) {
                Some(v) => v,
                None => return Err(err(e, format!("unknown constant '{name}' in expression"))),
            },
            ExprKind::Unary(op, x) => match (op, self.eval(x)?) {
                (UnaryOp::Neg, Value::Int(i)) => Value::Int(i.checked_neg().ok_or_else(overflow)?),
                (UnaryOp::Neg, Value::Float(f)) => Value::Float(-f),
                (UnaryOp::Plus, v) => v,
                (UnaryOp::Not, v) => Value::Int(i128::from(!v.truthy())),
                (UnaryOp::BitNot, Value::Int(i)) => Value::Int(!i),
                (UnaryOp::BitNot, Value::Float(_)) => {
                    return Err(err(e, "'~' needs an integer operand"));
                }
            },
            ExprKind::Binary(op, a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                binary(*op, a, b).map_err(|m| err(e, m))?
            }
            ExprKind::Cond(c, a, b) => {
                if self.eval(c)?.truthy() {
                    self.eval(a)?
                } else {
                    self.eval(b)?
                }
            }
            ExprKind::SizeofType(t) => {
                let ty = self.resolve_type(t)?;
                match ty.size() {
                    Some(s) => Value::Int(s as i128),
                    None => {
                        return Err(err(e, format!("sizeof of '{}': unknown size", ty.cname())));
                    }
                }
            }
            ExprKind::AlignofType(t) => {
                let ty = self.resolve_type(t)?;
                match ty.align() {
                    Some(s) => Value::Int(s as i128),
                    None => {
                        return Err(err(
                            e,
                            format!("alignof of '{}': unknown alignment", ty.cname()),
                        ));
                    }
                }
            }
            ExprKind::SizeofExpr(_) => {
                return Err(err(
                    e,
                    "sizeof of an expression is not supported; use sizeof(type)",
                ));
            }
            ExprKind::Cast(t, x) => {
                let ty = self.resolve_type(t)?;
                let v = self.eval(x)?;
                match (ty.storage_primitive(), v) {
                    (Some(p), Value::Int(i)) if p.is_integer() || p.is_char_like() => {
                        Value::Int(wrap_to(i, p.size, p.is_signed()))
                    }
                    (Some(p), Value::Float(f)) if p.is_integer() => Value::Int(f as i128),
                    (Some(p), Value::Int(i)) if p.is_float() => Value::Float(i as f64),
                    (Some(_), v) => v,
                    (None, _) => {
                        return Err(err(
                            e,
                            format!("cannot cast a constant to '{}'", ty.cname()),
                        ));
                    }
                }
            }
        })
    }
}

/// Reduces `i` modulo 2**(8*size), as a C conversion to an integer type does.
pub fn wrap_to(i: i128, size: usize, signed: bool) -> i128 {
    if size >= 16 {
        return i;
    }
    let bits = size as u32 * 8;
    let m = i & ((1i128 << bits) - 1);
    if signed && m >= 1i128 << (bits - 1) {
        m - (1i128 << bits)
    } else {
        m
    }
}

fn binary(op: BinaryOp, a: Value, b: Value) -> Result<Value, String> {
    use BinaryOp::*;
    let overflow = || "integer overflow in constant expression".to_owned();
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        let v = match op {
            Mul => x.checked_mul(y).ok_or_else(overflow)?,
            Div | Mod if y == 0 => return Err("division by zero in constant expression".into()),
            // C division truncates toward zero, as i128's does.
            Div => x.checked_div(y).ok_or_else(overflow)?,
            Mod => x.checked_rem(y).ok_or_else(overflow)?,
            Add => x.checked_add(y).ok_or_else(overflow)?,
            Sub => x.checked_sub(y).ok_or_else(overflow)?,
            Shl | Shr if !(0..128).contains(&y) => {
                return Err(format!("invalid shift count {y} in constant expression"));
            }
            Shl => {
                let r = x.checked_shl(y as u32).ok_or_else(overflow)?;
                if r >> y != x {
                    return Err(overflow());
                }
                r
            }
            Shr => x >> y,
            Lt => i128::from(x < y),
            Gt => i128::from(x > y),
            Le => i128::from(x <= y),
            Ge => i128::from(x >= y),
            Eq => i128::from(x == y),
            Ne => i128::from(x != y),
            BitAnd => x & y,
            BitXor => x ^ y,
            BitOr => x | y,
            And => i128::from(x != 0 && y != 0),
            Or => i128::from(x != 0 || y != 0),
        };
        return Ok(Value::Int(v));
    }
    let f = |v: Value| match v {
        Value::Int(i) => i as f64,
        Value::Float(f) => f,
    };
    let (x, y) = (f(a), f(b));
    Ok(match op {
        Mul => Value::Float(x * y),
        Div => Value::Float(x / y),
        Add => Value::Float(x + y),
        Sub => Value::Float(x - y),
        Lt => Value::Int(i128::from(x < y)),
        Gt => Value::Int(i128::from(x > y)),
        Le => Value::Int(i128::from(x <= y)),
        Ge => Value::Int(i128::from(x >= y)),
        Eq => Value::Int(i128::from(x == y)),
        Ne => Value::Int(i128::from(x != y)),
        And => Value::Int(i128::from(x != 0.0 && y != 0.0)),
        Or => Value::Int(i128::from(x != 0.0 || y != 0.0)),
        Mod | Shl | Shr | BitAnd | BitXor | BitOr => {
            return Err("integer operator applied to a floating-point constant".into());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping() {
        assert_eq!(wrap_to(-1, 4, false), 0xffff_ffff);
        assert_eq!(wrap_to(0xff, 1, true), -1);
        assert_eq!(wrap_to(300, 1, false), 44);
    }

    #[test]
    fn arithmetic() {
        let i = |v| Value::Int(v);
        assert_eq!(binary(BinaryOp::Shl, i(1), i(4)), Ok(i(16)));
        assert_eq!(binary(BinaryOp::Div, i(-7), i(2)), Ok(i(-3)));
        assert!(binary(BinaryOp::Div, i(1), i(0)).is_err());
        assert!(binary(BinaryOp::Shl, i(1), i(200)).is_err());
    }
}
