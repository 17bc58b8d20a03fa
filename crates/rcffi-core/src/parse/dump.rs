//! A compact, stable text form of parsed declarations, one line per
//! declaration (used by the golden-file tests and for debugging).
//!
//! Types are written as S-expressions around C-like base types:
//! `(ptr const char)` is a pointer to `const char`, `(ptr<const> char)` a
//! const pointer to `char`, `(array int 3)`, `(fn int (x: long, ...))`,
//! `(fn stdcall void ())`.  Expressions are prefix: `(<< 1 4)`, `(- 1)`.
//! Each declaration ends with its span, `@start..end`.

use std::fmt::Write;

use super::ast::{
    ArrayLen, BaseType, CallConv, Decl, DefineValue, Expr, ExprKind, ExternPython, Field, Quals,
    Span, Storage, StructKind, TypeExpr, UnaryOp,
};

/// Every declaration on its own line.
pub fn dump(decls: &[Decl]) -> String {
    let mut out = String::new();
    for d in decls {
        out.push_str(&dump_decl(d));
        out.push('\n');
    }
    out
}

/// One declaration.
pub fn dump_decl(d: &Decl) -> String {
    let mut s = String::new();
    match d {
        Decl::Typedef { name, ty, span } => {
            let _ = write!(s, "typedef {name}: {}{}", dump_type(ty), at(*span));
        }
        Decl::Function {
            name,
            ty,
            storage,
            extern_python,
            span,
        } => {
            let py = match extern_python {
                ExternPython::No => "",
                ExternPython::Python => " extern\"Python\"",
                ExternPython::PythonPlusC => " extern\"Python+C\"",
            };
            let _ = write!(
                s,
                "function {name}: {}{}{py}{}",
                dump_type(ty),
                storage_words(storage),
                at(*span)
            );
        }
        Decl::Variable {
            name,
            ty,
            storage,
            init,
            span,
        } => {
            let _ = write!(
                s,
                "variable {name}: {}{}",
                dump_type(ty),
                storage_words(storage)
            );
            if let Some(e) = init {
                let _ = write!(s, " = {}", dump_expr(e));
            }
            s.push_str(&at(*span));
        }
        Decl::Tag { ty, span } => {
            let _ = write!(s, "tag {}{}", dump_type(ty), at(*span));
        }
        Decl::Define { name, value, span } => {
            let v = match value {
                DefineValue::Int { text, value } => format!("{text} ({value})"),
                DefineValue::Dots => "...".to_owned(),
            };
            let _ = write!(s, "define {name} = {v}{}", at(*span));
        }
    }
    s
}

fn at(span: Span) -> String {
    format!(" @{}..{}", span.start, span.end)
}

fn storage_words(st: &Storage) -> String {
    let mut s = String::new();
    for (on, w) in [
        (st.is_static, " static"),
        (st.is_extern, " extern"),
        (st.is_inline, " inline"),
    ] {
        if on {
            s.push_str(w);
        }
    }
    if !s.is_empty() {
        s = format!(" [{}]", s.trim_start());
    }
    s
}

fn quals_prefix(q: &Quals) -> String {
    let mut s = String::new();
    for (on, w) in [
        (q.is_const, "const "),
        (q.is_volatile, "volatile "),
        (q.is_restrict, "restrict "),
    ] {
        if on {
            s.push_str(w);
        }
    }
    s
}

/// A type.
pub fn dump_type(t: &TypeExpr) -> String {
    match t {
        TypeExpr::Base { base, quals, .. } => format!("{}{}", quals_prefix(quals), dump_base(base)),
        TypeExpr::Pointer { pointee, quals, .. } => {
            let q = quals_prefix(quals);
            if q.is_empty() {
                format!("(ptr {})", dump_type(pointee))
            } else {
                format!("(ptr<{}> {})", q.trim_end(), dump_type(pointee))
            }
        }
        TypeExpr::Array { item, len, .. } => {
            let l = match len {
                ArrayLen::Open => "[]".to_owned(),
                ArrayLen::Dots => "...".to_owned(),
                ArrayLen::Expr(e) => dump_expr(e),
            };
            format!("(array {} {l})", dump_type(item))
        }
        TypeExpr::Function {
            result,
            params,
            variadic,
            callconv,
            ..
        } => {
            let cc = match callconv {
                CallConv::Default => "",
                CallConv::Cdecl => "cdecl ",
                CallConv::Stdcall => "stdcall ",
            };
            let mut ps: Vec<String> = params
                .iter()
                .map(|p| match &p.name {
                    Some(n) => format!("{n}: {}", dump_type(&p.ty)),
                    None => dump_type(&p.ty),
                })
                .collect();
            if *variadic {
                ps.push("...".to_owned());
            }
            format!("(fn {cc}{} ({}))", dump_type(result), ps.join(", "))
        }
    }
}

fn dump_base(b: &BaseType) -> String {
    match b {
        BaseType::Void => "void".to_owned(),
        BaseType::Primitive(p) => (*p).to_owned(),
        BaseType::Named(n) => n.clone(),
        BaseType::Dots => "...".to_owned(),
        BaseType::DotsInt => "int...".to_owned(),
        BaseType::DotsFloat => "float...".to_owned(),
        BaseType::Struct(def) => {
            let kw = match def.kind {
                StructKind::Struct => "struct",
                StructKind::Union => "union",
            };
            let mut s = format!("{kw} {}", def.name.as_deref().unwrap_or("<anon>"));
            if let Some(body) = &def.body {
                let mut items: Vec<String> = body.fields.iter().map(dump_field).collect();
                if body.partial {
                    items.push("...".to_owned());
                }
                let _ = write!(s, " {{{}}}", items.join("; "));
            }
            s
        }
        BaseType::Enum(def) => {
            let mut s = format!("enum {}", def.name.as_deref().unwrap_or("<anon>"));
            if let Some(body) = &def.body {
                let mut items: Vec<String> = body
                    .items
                    .iter()
                    .map(|e| match &e.value {
                        Some(v) => format!("{} = {}", e.name, dump_expr(v)),
                        None => e.name.clone(),
                    })
                    .collect();
                if body.partial {
                    items.push("...".to_owned());
                }
                let _ = write!(s, " {{{}}}", items.join(", "));
            }
            s
        }
    }
}

fn dump_field(f: &Field) -> String {
    let mut s = match &f.name {
        Some(n) => format!("{n}: {}", dump_type(&f.ty)),
        None => dump_type(&f.ty),
    };
    if let Some(b) = &f.bitsize {
        let _ = write!(s, " : {}", dump_expr(b));
    }
    s
}

/// An expression in prefix form.
pub fn dump_expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(f) => format!("{f:?}"),
        ExprKind::Ident(n) => n.clone(),
        ExprKind::Unary(op, x) => {
            let o = match op {
                UnaryOp::Neg => "-",
                UnaryOp::Plus => "+",
                UnaryOp::Not => "!",
                UnaryOp::BitNot => "~",
            };
            format!("({o} {})", dump_expr(x))
        }
        ExprKind::Binary(op, a, b) => {
            format!("({} {} {})", op.symbol(), dump_expr(a), dump_expr(b))
        }
        ExprKind::Cond(c, a, b) => {
            format!("(? {} {} {})", dump_expr(c), dump_expr(a), dump_expr(b))
        }
        ExprKind::SizeofType(t) => format!("(sizeof {})", dump_type(t)),
        ExprKind::SizeofExpr(x) => format!("(sizeof-expr {})", dump_expr(x)),
        ExprKind::AlignofType(t) => format!("(alignof {})", dump_type(t)),
        ExprKind::Cast(t, x) => format!("(cast {} {})", dump_type(t), dump_expr(x)),
    }
}
