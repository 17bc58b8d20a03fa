//! C spellings of cdef types, for the code that API mode generates.
//!
//! Types are rendered from the syntax tree, not from resolved types, so
//! that what the C compiler sees is what the user wrote: typedef names
//! (`uid_t`, `Img`), `const`, `typedef int... t` names whose real type only
//! the compiler knows.  A spelling holds `@` where a declarator goes:
//! `int (*@)[5]`, `const char *@`.  The code generator substitutes a name
//! (`x0`), a function declarator (`f(int x0)`) or nothing (an abstract
//! type, as in a cast).  `@` never occurs in C type spellings otherwise.

use std::fmt::Write;

use crate::parse::ast::{ArrayLen, BaseType, Expr, ExprKind, Quals, StructKind, TypeExpr, UnaryOp};

/// Why a type has no C spelling (an anonymous struct only reachable
/// through its body, `...` where a type is needed).
pub type SpellError = String;

/// How names of the cdef are spelled in C.
pub trait AnonNames {
    /// An anonymous struct, union or enum, by the offset of its body in
    /// the cdef source: the typedef name (or `__typeof__` expression) that
    /// denotes it.
    fn anon_name(&self, span_start: u32) -> Option<String>;

    /// A typedef name of the cdef: what C should see instead (the type it
    /// stands for, as cffi does, so the C code need not define every
    /// typedef of the cdef), or `None` to keep the name (names whose type
    /// only the C code knows).
    fn typedef_spelling(&self, _name: &str) -> Option<String> {
        None
    }
}

impl<F: Fn(u32) -> Option<String>> AnonNames for F {
    fn anon_name(&self, span_start: u32) -> Option<String> {
        self(span_start)
    }
}

/// `t` with `@` where a declarator goes.
pub fn spell(t: &TypeExpr, anon: &dyn AnonNames) -> Result<String, SpellError> {
    render(t, "@".to_owned(), anon)
}

/// A pointer to `t`, with `@` where a declarator goes: `int (*@)[5]` for
/// `int[5]`.
pub fn spell_pointer_to(t: &TypeExpr, anon: &dyn AnonNames) -> Result<String, SpellError> {
    render(t, wrap_pointer(t, "@".to_owned(), &Quals::default()), anon)
}

/// A function parameter as C adjusts it: arrays and functions become
/// pointers.
pub fn spell_param(t: &TypeExpr, anon: &dyn AnonNames) -> Result<String, SpellError> {
    match t {
        TypeExpr::Array { item, .. } => spell_pointer_to(item, anon),
        TypeExpr::Function { .. } => spell_pointer_to(t, anon),
        _ => spell(t, anon),
    }
}

/// A pointer to the adjusted parameter type (for `*(T *)args[i]`).
pub fn spell_param_pointer(t: &TypeExpr, anon: &dyn AnonNames) -> Result<String, SpellError> {
    let adjusted;
    let t = match t {
        TypeExpr::Array { item, span, .. } => {
            adjusted = TypeExpr::Pointer {
                pointee: item.clone(),
                quals: Quals::default(),
                span: *span,
            };
            &adjusted
        }
        TypeExpr::Function { span, .. } => {
            adjusted = TypeExpr::Pointer {
                pointee: Box::new(t.clone()),
                quals: Quals::default(),
                span: *span,
            };
            &adjusted
        }
        _ => t,
    };
    spell_pointer_to(t, anon)
}

fn wrap_pointer(pointee: &TypeExpr, inner: String, quals: &Quals) -> String {
    let q = quals_words(quals);
    let star = if q.is_empty() {
        format!("*{inner}")
    } else {
        format!("* {q}{inner}")
    };
    if matches!(pointee, TypeExpr::Array { .. } | TypeExpr::Function { .. }) {
        format!("({star})")
    } else {
        star
    }
}

fn quals_words(q: &Quals) -> String {
    let mut s = String::new();
    if q.is_const {
        s.push_str("const ");
    }
    if q.is_volatile {
        s.push_str("volatile ");
    }
    if q.is_restrict {
        s.push_str("__restrict ");
    }
    s
}

fn render(t: &TypeExpr, inner: String, anon: &dyn AnonNames) -> Result<String, SpellError> {
    match t {
        TypeExpr::Base { base, quals, .. } => {
            let b = base_name(base, anon)?;
            let sep = if inner.is_empty() || inner.starts_with(['[', '(']) {
                if inner.starts_with('(') { " " } else { "" }
            } else {
                " "
            };
            Ok(format!("{}{b}{sep}{inner}", quals_words(quals)))
        }
        TypeExpr::Pointer { pointee, quals, .. } => {
            render(pointee, wrap_pointer(pointee, inner, quals), anon)
        }
        TypeExpr::Array { item, len, .. } => {
            let l = match len {
                ArrayLen::Open | ArrayLen::Dots => String::new(),
                ArrayLen::Expr(e) => expr(e, anon)?,
            };
            render(item, format!("{inner}[{l}]"), anon)
        }
        TypeExpr::Function {
            result,
            params,
            variadic,
            ..
        } => {
            let mut ps = Vec::with_capacity(params.len() + 1);
            for p in params {
                ps.push(spell_param(&p.ty, anon)?.replace('@', "").trim().to_owned());
            }
            if *variadic {
                ps.push("...".to_owned());
            }
            let list = if ps.is_empty() {
                "void".to_owned()
            } else {
                ps.join(", ")
            };
            render(result, format!("{inner}({list})"), anon)
        }
    }
}

fn base_name(b: &BaseType, anon: &dyn AnonNames) -> Result<String, SpellError> {
    Ok(match b {
        BaseType::Void => "void".to_owned(),
        BaseType::Primitive(p) => (*p).to_owned(),
        BaseType::Named(n) => anon.typedef_spelling(n).unwrap_or_else(|| n.clone()),
        BaseType::Struct(def) => {
            let kw = match def.kind {
                StructKind::Struct => "struct",
                StructKind::Union => "union",
            };
            match &def.name {
                Some(n) => format!("{kw} {n}"),
                None => anon.anon_name(def.span.start).ok_or_else(|| {
                    format!("an anonymous {kw} has no name in C (give it a tag or a typedef)")
                })?,
            }
        }
        BaseType::Enum(def) => match &def.name {
            Some(n) => format!("enum {n}"),
            None => anon.anon_name(def.span.start).ok_or_else(|| {
                "an anonymous enum has no name in C (give it a tag or a typedef)".to_owned()
            })?,
        },
        BaseType::Dots | BaseType::DotsInt | BaseType::DotsFloat => {
            return Err("'...' is not a type".to_owned());
        }
    })
}

/// A constant expression in C syntax, fully parenthesised.
pub fn expr(e: &Expr, anon: &dyn AnonNames) -> Result<String, SpellError> {
    Ok(match &e.kind {
        ExprKind::Int(v) => int_literal(*v),
        ExprKind::Float(f) => {
            let mut s = format!("{f:?}");
            if !s.contains(['.', 'e', 'E', 'n', 'i']) {
                s.push_str(".0");
            }
            s
        }
        ExprKind::Ident(n) => n.clone(),
        ExprKind::Unary(op, x) => {
            let o = match op {
                UnaryOp::Neg => "-",
                UnaryOp::Plus => "+",
                UnaryOp::Not => "!",
                UnaryOp::BitNot => "~",
            };
            format!("({o}{})", expr(x, anon)?)
        }
        ExprKind::Binary(op, a, b) => {
            format!("({} {} {})", expr(a, anon)?, op.symbol(), expr(b, anon)?)
        }
        ExprKind::Cond(c, a, b) => format!(
            "({} ? {} : {})",
            expr(c, anon)?,
            expr(a, anon)?,
            expr(b, anon)?
        ),
        ExprKind::SizeofType(t) => format!("sizeof({})", spell(t, anon)?.replace('@', "")),
        ExprKind::SizeofExpr(x) => format!("sizeof({})", expr(x, anon)?),
        ExprKind::AlignofType(t) => {
            format!("__alignof__({})", spell(t, anon)?.replace('@', ""))
        }
        ExprKind::Cast(t, x) => {
            format!("(({}){})", spell(t, anon)?.replace('@', ""), expr(x, anon)?)
        }
    })
}

/// An integer literal C reads with the same value: suffixes keep large
/// values out of `int`, and the most negative value is written as an
/// expression.
pub fn int_literal(v: i128) -> String {
    let mut s = String::new();
    if v < 0 {
        let m = v.unsigned_abs();
        if m > i64::MAX as u128 {
            let _ = write!(s, "(-{}LL - 1)", i64::MAX);
        } else {
            let _ = write!(s, "(-{m}LL)");
        }
    } else if v > i64::MAX as i128 {
        let _ = write!(s, "{v}ULL");
    } else if v > i32::MAX as i128 {
        let _ = write!(s, "{v}LL");
    } else {
        let _ = write!(s, "{v}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{self, ast::Decl};

    fn no_anon(_: u32) -> Option<String> {
        None
    }

    fn spelled(src: &str) -> Vec<String> {
        let parsed = parse::parse_cdef(src, &crate::frontend::Declarations::new()).unwrap();
        parsed
            .decls
            .iter()
            .map(|d| match d {
                Decl::Function { ty, .. } | Decl::Variable { ty, .. } => {
                    spell(ty, &no_anon).unwrap()
                }
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn declarators() {
        assert_eq!(
            spelled(
                "int (*fp)(long, char *); const char *s; int a[5]; int (*pa)[5]; \
                 double f(double x[], int (*g)(void), ...); unsigned long long u;"
            ),
            vec![
                "int (*@)(long, char *)",
                "const char *@",
                "int @[5]",
                "int (*@)[5]",
                "double @(double *, int (*)(void), ...)",
                "unsigned long long @",
            ]
        );
    }

    #[test]
    fn pointers_to_arrays_and_functions() {
        let parsed = parse::parse_cdef(
            "int a[5]; int f(int);",
            &crate::frontend::Declarations::new(),
        )
        .unwrap();
        let Decl::Variable { ty, .. } = &parsed.decls[0] else {
            panic!()
        };
        assert_eq!(spell_pointer_to(ty, &no_anon).unwrap(), "int (*@)[5]");
        let Decl::Function { ty, .. } = &parsed.decls[1] else {
            panic!()
        };
        assert_eq!(spell_pointer_to(ty, &no_anon).unwrap(), "int (*@)(int)");
    }

    #[test]
    fn literals() {
        assert_eq!(int_literal(5), "5");
        assert_eq!(int_literal(-5), "(-5LL)");
        assert_eq!(
            int_literal(i64::MIN as i128),
            "(-9223372036854775807LL - 1)"
        );
        assert_eq!(int_literal(u64::MAX as i128), "18446744073709551615ULL");
    }
}
