//! rcffi's checks of the cdef against the C code: C that fails to compile
//! (a static assertion, or an error the pragmas raise) when a declaration
//! contradicts the C code, on lines the writer attributes to the
//! declaration.  Same-kind differences (`int` for `uid_t`, `double **`
//! for `double (*)[n]`) only warn: the wrappers convert them.

use super::cwriter::{CWriter, c_string};
use super::prelude::{PRAGMAS_EXACT, PRAGMAS_POP};
use crate::frontend::apimode::{Spelled, TypeClass};

/// What the checks are compiled as.
#[derive(Clone, Copy)]
pub struct Lang {
    pub cplusplus: bool,
}

impl Lang {
    fn static_assert(self) -> &'static str {
        if self.cplusplus {
            "static_assert"
        } else {
            "_Static_assert"
        }
    }

    /// `static_assert(cond, "rcffi: message");`
    pub fn assert(self, cond: &str, message: &str) -> String {
        format!(
            "{}({cond}, {});",
            self.static_assert(),
            c_string(&format!("rcffi: {message}"))
        )
    }
}

/// The spelling without its declarator: an abstract type.
pub fn abstract_type(spell: &str) -> String {
    spell.replace('@', "").trim().to_owned()
}

/// The spelling with `declarator` in place.
pub fn declare(spell: &str, declarator: &str) -> String {
    spell.replace('@', declarator)
}

/// A C11 constant expression: 1 if `expr` has a floating-point type.
pub fn is_float(expr: &str) -> String {
    format!(
        "_Generic(({expr}), float: 1, double: 1, long double: 1, float _Complex: 1, \
         double _Complex: 1, long double _Complex: 1, default: 0)"
    )
}

/// `expr[0]...[0]`: the first item `depth` array dimensions down.
pub fn item_at(expr: &str, depth: usize) -> String {
    format!("{expr}{}", "[0]".repeat(depth))
}

/// Checks that `lvalue` has the declared type `ty`: (statements whose
/// failure is an error, statements that may only warn).  `dots`: the
/// depths of the `[...]` lengths of `lvalue` (`ty` is then the item type
/// after the deepest).  `by_value`: a `const` global, which C may define
/// as a function or a macro: only its value is checked, never its address.
/// `sized`: the size is not checked here (the layout assertions of a
/// complete struct do it).
pub fn value_checks(
    lang: Lang,
    lvalue: &str,
    ty: &Spelled,
    dots: &[usize],
    what: &str,
    by_value: bool,
    sized: bool,
) -> (Vec<String>, Vec<String>) {
    let decl = abstract_type(&ty.spell);
    let target = match dots.last() {
        Some(d) => item_at(lvalue, d + 1),
        None => lvalue.to_owned(),
    };
    let c11 = !lang.cplusplus;
    let cls = ty.class;
    let mut exact = Vec::new();
    let mut loose = Vec::new();
    let scalar = matches!(cls, TypeClass::Int | TypeClass::Float | TypeClass::Enum)
        || (cls == TypeClass::Pointer && !by_value);
    if !sized && (scalar || (cls == TypeClass::Array && !decl.contains("[]"))) {
        exact.push(lang.assert(
            &format!("sizeof({target}) == sizeof({decl})"),
            &format!("{what}: its size in C is not the size of '{decl}'"),
        ));
    }
    if matches!(cls, TypeClass::Int | TypeClass::Float) && c11 {
        let (want, kind) = if cls == TypeClass::Float {
            (1, "a floating-point type")
        } else {
            (0, "an integer type")
        };
        exact.push(lang.assert(
            &format!("{} == {want}", is_float(&target)),
            &format!("{what}: the cdef gives it {kind}, the C code does not"),
        ));
    }
    let pointer_to = |name: &str| declare(&ty.ptr, name);
    match cls {
        TypeClass::Pointer if lang.cplusplus => {
            // C++ converts no function pointer to 'void *': a template
            // takes any pointer (and refuses integers).
            exact.push(format!("_rcffi_is_pointer({target});"));
        }
        TypeClass::Pointer => {
            exact.push(format!("{{ const volatile void *p = {target}; (void)p; }}"));
            if !by_value {
                loose.push(format!("{{ {} = &{target}; (void)p; }}", pointer_to("p")));
            }
        }
        TypeClass::Struct if by_value => {
            exact.push(format!(
                "{{ {} = {target}; (void)v; }}",
                declare(&ty.spell, "v")
            ));
        }
        TypeClass::Struct => {
            exact.push(format!("{{ {} = &{target}; (void)p; }}", pointer_to("p")));
        }
        TypeClass::Int | TypeClass::Float | TypeClass::Array if c11 && !by_value => {
            loose.push(format!("{{ {} = &{target}; (void)p; }}", pointer_to("p")));
        }
        _ => {}
    }
    (exact, loose)
}

/// Writes checks in two functions: one where any diagnostic about
/// pointer types is an error, one under the rules of the checks section
/// (type differences of the same kind warn).
pub fn check_function(
    out: &mut CWriter,
    name: &str,
    params: &str,
    exact: &[String],
    loose: &[String],
) {
    if !exact.is_empty() {
        out.w(PRAGMAS_EXACT);
        out.w(format!("static void {name}({params}) {{"));
        for c in exact {
            out.w(format!("    {c}"));
        }
        out.w("}");
        out.w(PRAGMAS_POP);
    }
    if !loose.is_empty() {
        out.w(format!("static void {name}_w({params}) {{"));
        for c in loose {
            out.w(format!("    {c}"));
        }
        out.w("}");
    }
}

/// A C integer literal of `v` with the suffix its size needs.
pub fn int_literal(v: i128) -> String {
    if v < 0 {
        if -v > i64::MAX as i128 {
            return "(-9223372036854775807LL - 1)".to_owned();
        }
        return format!("(-{}LL)", -v);
    }
    if v > i64::MAX as i128 {
        return format!("{v}ULL");
    }
    if v > i32::MAX as i128 {
        return format!("{v}LL");
    }
    v.to_string()
}
