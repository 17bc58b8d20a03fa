//! API mode between Rust and Python: the recorded declarations of an FFI
//! as Python data for the code generator (`FFI._api_spec()`), and the
//! compiler's facts from Python into [`Completions`]
//! (`FFI._reset_declarations(completions)`).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::frontend::apimode::{
    ApiItem, ApiItemKind, Completions, ConstSource, FieldItem, Spelled, StructFacts,
};
use crate::frontend::{Constant, DotsKind};
use crate::types::{TypeRef, intern};

fn spelled<'py>(py: Python<'py>, s: &Spelled) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, [s.spell.as_str(), s.ptr.as_str(), s.class.name()])
}

fn spelled_list<'py>(py: Python<'py>, list: &[Spelled]) -> PyResult<Bound<'py, PyList>> {
    let items = list
        .iter()
        .map(|s| spelled(py, s))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

fn constant<'py>(py: Python<'py>, c: &Constant) -> PyResult<Bound<'py, PyAny>> {
    Ok(match c {
        Constant::Int(i) => i.into_pyobject(py)?.into_any(),
        Constant::Float(f) => f.into_pyobject(py)?.into_any(),
        Constant::Unresolved => py.None().into_bound(py),
    })
}

fn field<'py>(py: Python<'py>, f: &FieldItem) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &f.name)?;
    match &f.ty {
        Some(t) => d.set_item("type", spelled(py, t)?)?,
        None => d.set_item("type", py.None())?,
    }
    d.set_item("bitsize", f.bitsize)?;
    d.set_item("dots_length", f.shape.dots_depths())?;
    Ok(d)
}

fn dots_kind_name(k: DotsKind) -> &'static str {
    match k {
        DotsKind::Opaque => "opaque",
        DotsKind::Int => "int",
        DotsKind::Float => "float",
    }
}

/// One recorded declaration as a dict: `name`, `kind`, `origin`,
/// `problem` and the fields of its kind.  Types are
/// `(spelling, pointer spelling, class)` tuples with `@` where the
/// declarator goes.
pub fn item<'py>(py: Python<'py>, it: &ApiItem) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &it.name)?;
    d.set_item("origin", &it.origin)?;
    d.set_item("problem", it.problem.as_deref())?;
    match &it.kind {
        ApiItemKind::Function {
            result,
            params,
            variadic,
            ..
        } => {
            d.set_item("kind", "function")?;
            d.set_item("result", spelled(py, result)?)?;
            d.set_item("params", spelled_list(py, params)?)?;
            d.set_item("variadic", *variadic)?;
        }
        ApiItemKind::ExternPython {
            result,
            params,
            variadic,
            plus_c,
            ..
        } => {
            d.set_item("kind", "extern_python")?;
            d.set_item("result", spelled(py, result)?)?;
            d.set_item("params", spelled_list(py, params)?)?;
            d.set_item("variadic", *variadic)?;
            d.set_item("plus_c", *plus_c)?;
        }
        ApiItemKind::Variable {
            ty,
            shape,
            is_const,
            ..
        } => {
            d.set_item("kind", "variable")?;
            d.set_item("type", spelled(py, ty)?)?;
            d.set_item("dots_length", shape.dots_depths())?;
            d.set_item("is_const", *is_const)?;
        }
        ApiItemKind::Constant {
            source,
            ty,
            value,
            enum_spell,
            ..
        } => {
            d.set_item("kind", "constant")?;
            let src = match source {
                ConstSource::Define => "define",
                ConstSource::StaticConst => "static_const",
                ConstSource::Enumerator => "enumerator",
            };
            d.set_item("source", src)?;
            match ty {
                Some(t) => d.set_item("type", spelled(py, t)?)?,
                None => d.set_item("type", py.None())?,
            }
            match value {
                Some(v) => d.set_item("value", constant(py, v)?)?,
                None => d.set_item("value", py.None())?,
            }
            d.set_item("enum", enum_spell.as_deref())?;
        }
        ApiItemKind::Struct {
            key,
            spell,
            is_union,
            partial,
            fields,
            layout,
            ..
        } => {
            d.set_item("kind", "struct")?;
            d.set_item("key", key)?;
            d.set_item("spell", spell.as_deref())?;
            d.set_item("is_union", *is_union)?;
            d.set_item("partial", *partial)?;
            let fs = fields
                .iter()
                .map(|f| field(py, f))
                .collect::<PyResult<Vec<_>>>()?;
            d.set_item("fields", PyList::new(py, fs)?)?;
            match layout {
                Some((size, align, fields)) => {
                    d.set_item("layout", (*size, *align, fields.clone()))?
                }
                None => d.set_item("layout", py.None())?,
            }
        }
        ApiItemKind::Enum {
            key,
            spell,
            partial,
            items,
            ..
        } => {
            d.set_item("kind", "enum")?;
            d.set_item("key", key)?;
            d.set_item("spell", spell.as_deref())?;
            d.set_item("partial", *partial)?;
            d.set_item("items", items.clone())?;
        }
        ApiItemKind::DotsTypedef { kind, pointer, .. } => {
            d.set_item("kind", "dots_typedef")?;
            d.set_item("dots", dots_kind_name(*kind))?;
            d.set_item("pointer", *pointer)?;
        }
        ApiItemKind::DotsArrayTypedef { item, shape, .. } => {
            d.set_item("kind", "dots_array_typedef")?;
            d.set_item("item", spelled(py, item)?)?;
            d.set_item("dots_length", shape.dots_depths())?;
        }
    }
    Ok(d)
}

fn primitive(name: &str) -> PyResult<TypeRef> {
    intern::primitive_named(name)
        .ok_or_else(|| PyValueError::new_err(format!("unknown primitive type '{name}'")))
}

fn dict_of<'py>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => {
            Ok(Some(v.cast_into::<PyDict>().map_err(|_| {
                PyTypeError::new_err(format!("completions['{key}'] must be a dict"))
            })?))
        }
        _ => Ok(None),
    }
}

/// Reads the completions dict the loader builds from a module's table:
/// `{"typedefs": {name: primitive name}, "structs": {key: (size, align,
/// {field: (offset, size)})}, "lengths": {key: n}, "constants": {name:
/// int or float}, "enum_bases": {key: primitive name}}`.
pub fn completions(d: &Bound<'_, PyDict>) -> PyResult<Completions> {
    let mut c = Completions::default();
    if let Some(t) = dict_of(d, "typedefs")? {
        for (k, v) in t.iter() {
            c.typedefs
                .insert(k.extract()?, primitive(&v.extract::<String>()?)?);
        }
    }
    if let Some(t) = dict_of(d, "structs")? {
        for (k, v) in t.iter() {
            let (size, align, fields): (usize, usize, Bound<'_, PyDict>) = v.extract()?;
            let mut facts = StructFacts {
                size,
                align,
                ..StructFacts::default()
            };
            for (f, pos) in fields.iter() {
                facts.fields.insert(f.extract()?, pos.extract()?);
            }
            c.structs.insert(k.extract()?, facts);
        }
    }
    if let Some(t) = dict_of(d, "lengths")? {
        for (k, v) in t.iter() {
            c.lengths.insert(k.extract()?, v.extract()?);
        }
    }
    if let Some(t) = dict_of(d, "constants")? {
        for (k, v) in t.iter() {
            let value = if let Ok(i) = v.extract::<i128>() {
                Constant::Int(i)
            } else {
                Constant::Float(v.extract::<f64>()?)
            };
            c.constants.insert(k.extract()?, value);
        }
    }
    if let Some(t) = dict_of(d, "enum_bases")? {
        for (k, v) in t.iter() {
            c.enum_bases
                .insert(k.extract()?, primitive(&v.extract::<String>()?)?);
        }
    }
    Ok(c)
}
