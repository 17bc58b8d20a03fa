//! The functions of `_cffi_backend`, with cffi's names and meanings, on
//! top of the type model and the memory layer.  The `FFI` front end calls
//! the same Rust functions.

use crate::python::errors::CoreResult;
use std::sync::Mutex;

use pyo3::exceptions::{PyIndexError, PyKeyError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use super::ctype::{PyCType, ctype_obj};
use crate::errors::Error;
use crate::memory::cdata::{CData, CustomOwner, Owner, PyBufferHold};
use crate::memory::object::CDataClass;
use crate::memory::{convert, raw};
use crate::types::layout::{self, BitfieldRules, FieldDecl, StructOptions};
use crate::types::{self, Kind, PrimFamily, TypeRef, intern};

pub type CT<'py> = Bound<'py, PyCType>;

fn unknown_size(t: &TypeRef) -> PyErr {
    PyValueError::new_err(t.unknown_size_message())
}

#[pyfunction]
pub fn new_primitive_type<'py>(py: Python<'py>, name: &str) -> PyResult<CT<'py>> {
    match intern::primitive_named(name) {
        Some(t) => ctype_obj(py, &t),
        None => Err(PyKeyError::new_err(name.to_owned())),
    }
}

#[pyfunction]
pub fn new_void_type(py: Python<'_>) -> PyResult<CT<'_>> {
    ctype_obj(py, &intern::void())
}

#[pyfunction]
pub fn new_pointer_type<'py>(py: Python<'py>, ctype: &CT<'py>) -> PyResult<CT<'py>> {
    ctype_obj(py, &intern::pointer(&ctype.get().t))
}

#[pyfunction]
#[pyo3(signature = (ptrtype, length))]
pub fn new_array_type<'py>(
    py: Python<'py>,
    ptrtype: &CT<'py>,
    length: &Bound<'py, PyAny>,
) -> PyResult<CT<'py>> {
    let pt = &ptrtype.get().t;
    let Kind::Pointer(item) = &pt.kind else {
        return Err(PyTypeError::new_err("first arg must be a pointer ctype"));
    };
    let Some(isize_) = item.size() else {
        return Err(PyValueError::new_err(format!(
            "array item of unknown size: '{}'",
            item.cname()
        )));
    };
    let len = if length.is_none() {
        None
    } else {
        let n = convert::as_integer(length)?;
        if n < 0 {
            return Err(PyValueError::new_err("negative array length"));
        }
        match usize::try_from(n).ok().filter(|n| {
            isize_
                .checked_mul(*n)
                .is_some_and(|s| s <= isize::MAX as usize)
        }) {
            Some(n) => Some(n),
            None => {
                return Err(pyo3::exceptions::PyOverflowError::new_err(
                    "array size would overflow a ssize_t",
                ));
            }
        }
    };
    ctype_obj(py, &intern::array(item, len))
}

#[pyfunction]
pub fn new_struct_type<'py>(py: Python<'py>, name: &str) -> PyResult<CT<'py>> {
    ctype_obj(py, &types::new_struct(name, false))
}

#[pyfunction]
pub fn new_union_type<'py>(py: Python<'py>, name: &str) -> PyResult<CT<'py>> {
    ctype_obj(py, &types::new_struct(name, true))
}

const SF_MSVC_BITFIELDS: i64 = 0x01;
const SF_GCC_ARM_BITFIELDS: i64 = 0x02;
const SF_GCC_BIG_ENDIAN: i64 = 0x04;
const SF_PACKED: i64 = 0x08;
const SF_GCC_X86_BITFIELDS: i64 = 0x10;
const SF_GCC_LITTLE_ENDIAN: i64 = 0x40;

#[pyfunction]
#[pyo3(signature = (ctype, fields, ignored=None, totalsize=-1, totalalignment=-1, sflags=0, pack=0))]
#[allow(clippy::too_many_arguments)]
pub fn complete_struct_or_union(
    ctype: &CT<'_>,
    fields: &Bound<'_, PyAny>,
    ignored: Option<&Bound<'_, PyAny>>,
    totalsize: i64,
    totalalignment: i64,
    sflags: i64,
    pack: i64,
) -> PyResult<()> {
    let _ = ignored;
    let t = &ctype.get().t;
    let Some(info) = t.struct_info() else {
        return Err(PyTypeError::new_err(format!(
            "first arg must be a non-initialized struct or union ctype, not '{}'",
            t.cname()
        )));
    };
    if info.layout().is_some() {
        return Err(PyTypeError::new_err(format!(
            "'{}' is already completed",
            t.cname()
        )));
    }
    let mut decls = Vec::new();
    for item in fields.try_iter()? {
        let item = item?;
        let tuple = item
            .cast::<PyTuple>()
            .map_err(|_| PyTypeError::new_err("fields must be a list of tuples"))?;
        if tuple.len() < 2 || tuple.len() > 4 {
            return Err(PyTypeError::new_err(
                "a field is (name, ctype[, bitsize[, offset]])",
            ));
        }
        let name: String = tuple.get_item(0)?.extract()?;
        let fty = tuple.get_item(1)?.cast::<PyCType>()?.get().t.clone();
        let bits: i64 = if tuple.len() > 2 {
            tuple.get_item(2)?.extract()?
        } else {
            -1
        };
        let offset: i64 = if tuple.len() > 3 {
            tuple.get_item(3)?.extract()?
        } else {
            -1
        };
        if bits < -1 {
            return Err(PyValueError::new_err(format!(
                "negative bit size for field '{name}'"
            )));
        }
        decls.push(FieldDecl {
            name,
            ty: fty,
            bitsize: usize::try_from(bits).ok(),
            offset: usize::try_from(offset).ok(),
        });
    }
    let rules = if sflags & SF_MSVC_BITFIELDS != 0 {
        BitfieldRules::Msvc
    } else if sflags & SF_GCC_ARM_BITFIELDS != 0 {
        BitfieldRules::GccArm
    } else if sflags & SF_GCC_X86_BITFIELDS != 0 {
        BitfieldRules::GccX86
    } else {
        BitfieldRules::native()
    };
    let big_endian = sflags & SF_GCC_BIG_ENDIAN != 0
        || (sflags & SF_GCC_LITTLE_ENDIAN == 0 && cfg!(target_endian = "big"));
    let opts = StructOptions {
        rules,
        packed: sflags & SF_PACKED != 0,
        pack: usize::try_from(pack).unwrap_or(0),
        big_endian_bitfields: big_endian,
        total_size: usize::try_from(totalsize).ok(),
        total_align: usize::try_from(totalalignment).ok().filter(|a| *a > 0),
    };
    let lay = layout::compute(t.cname(), info.is_union, &decls, opts)
        .map_err(Error::from)
        .py()?;
    types::complete_struct(t, lay).map_err(Error::from).py()?;
    Ok(())
}

#[pyfunction]
#[pyo3(signature = (args, result, ellipsis=0, abi=types::ABI_DEFAULT))]
pub fn new_function_type<'py>(
    py: Python<'py>,
    args: &Bound<'py, PyTuple>,
    result: &CT<'py>,
    ellipsis: i64,
    abi: i32,
) -> PyResult<CT<'py>> {
    let mut list = Vec::with_capacity(args.len());
    for a in args.iter() {
        let t = a.cast::<PyCType>()?.get().t.clone();
        let t = match &t.kind {
            // C adjusts array parameters to pointers.
            Kind::Array { item, .. } => intern::pointer(item),
            Kind::Void => {
                return Err(PyTypeError::new_err(
                    "argument of type 'void' is not allowed (use an empty tuple)",
                ));
            }
            _ => t,
        };
        if t.is_opaque() {
            return Err(PyTypeError::new_err(format!(
                "argument of type '{}' is opaque or of unknown size",
                t.cname()
            )));
        }
        list.push(t);
    }
    let res = &result.get().t;
    if res.is_array() {
        return Err(PyTypeError::new_err(format!(
            "invalid result type: '{}'",
            res.cname()
        )));
    }
    ctype_obj(py, &intern::function(list, res, ellipsis != 0, abi))
}

#[pyfunction]
pub fn new_enum_type<'py>(
    py: Python<'py>,
    name: &str,
    enumerators: &Bound<'py, PyTuple>,
    values: &Bound<'py, PyTuple>,
    basetype: &CT<'py>,
) -> PyResult<CT<'py>> {
    if enumerators.len() != values.len() {
        return Err(PyValueError::new_err("tuple args must have the same size"));
    }
    let base = basetype.get().t.clone();
    let Some(p) = base.primitive().filter(|p| p.is_integer()) else {
        return Err(PyTypeError::new_err(
            "expected a primitive signed or unsigned base type",
        ));
    };
    let (lo, hi) = p.int_range();
    let mut items = Vec::with_capacity(values.len());
    for (n, v) in enumerators.iter().zip(values.iter()) {
        let name: String = n.extract()?;
        let v = convert::as_integer(&v)?;
        if v < lo || v > hi {
            return Err(pyo3::exceptions::PyOverflowError::new_err(format!(
                "enum value {v} does not fit the base type '{}'",
                p.name
            )));
        }
        items.push((name, v));
    }
    ctype_obj(py, &types::new_enum(name, items, base))
}

/// A ctype from a `CType` or the type of a cdata (for sizeof/alignof).
fn sizeof_target(obj: &Bound<'_, PyAny>) -> PyResult<Result<TypeRef, Py<CData>>> {
    if let Ok(t) = obj.cast::<PyCType>() {
        return Ok(Ok(t.get().t.clone()));
    }
    if let Ok(c) = obj.cast::<CData>() {
        return Ok(Err(c.clone().unbind()));
    }
    Err(PyTypeError::new_err("expected a 'cdata' or 'ctype' object"))
}

#[pyfunction]
pub fn sizeof(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    match sizeof_target(obj)? {
        Ok(t) => t.size().ok_or_else(|| unknown_size(&t)),
        Err(c) => {
            let c = c.get();
            c.sizeof().ok_or_else(|| unknown_size(&c.ty))
        }
    }
}

#[pyfunction]
pub fn alignof(ctype: &CT<'_>) -> PyResult<usize> {
    let t = &ctype.get().t;
    t.align().ok_or_else(|| {
        PyValueError::new_err(format!("ctype '{}' is of unknown alignment", t.cname()))
    })
}

#[pyfunction(name = "typeof")]
pub fn typeof_<'py>(py: Python<'py>, cdata: &Bound<'py, PyAny>) -> PyResult<CT<'py>> {
    let c = cdata
        .cast::<CData>()
        .map_err(|_| PyTypeError::new_err("expected a 'cdata' object"))?;
    ctype_obj(py, &c.get().ty)
}

#[pyfunction]
pub fn getcname(ctype: &CT<'_>, replace_with: &str) -> String {
    ctype.get().t.name_with(replace_with)
}

/// The field or item that `typeoffsetof(ctype, key)` designates, and its
/// offset.  A field name on a pointer to a struct goes to the struct's
/// field when `deref` is true (cffi's `following == 0`); an integer
/// `key` is an item index of an array or pointer type.
pub fn type_offset(t: &TypeRef, key: &Bound<'_, PyAny>, deref: bool) -> PyResult<(TypeRef, usize)> {
    if let Ok(name) = key.cast::<PyString>() {
        let st = match &t.kind {
            Kind::Pointer(i) if deref => i,
            _ => t,
        };
        if !st.is_struct() {
            return Err(PyTypeError::new_err(
                "with a field name argument, expected a struct or union ctype",
            ));
        }
        let Some(layout) = st.struct_info().and_then(|s| s.layout()) else {
            return Err(PyTypeError::new_err("struct/union is opaque"));
        };
        let f = layout
            .field(name.to_str()?)
            .ok_or_else(|| PyKeyError::new_err(name.clone().unbind()))?;
        if f.bitsize.is_some() {
            return Err(PyTypeError::new_err("not supported for bitfields"));
        }
        return Ok((f.ty.clone(), f.offset));
    }
    let not_index = || PyTypeError::new_err("field name or array index expected");
    if !key.hasattr("__index__")? {
        return Err(not_index());
    }
    let index: isize = key
        .call_method0("__index__")
        .map_err(|_| not_index())?
        .extract()
        .map_err(|_| {
            pyo3::exceptions::PyOverflowError::new_err(
                "Python int too large to convert to C ssize_t",
            )
        })?;
    let item = match &t.kind {
        Kind::Pointer(i) | Kind::Array { item: i, .. } if i.size().is_some() => i.clone(),
        _ => {
            return Err(PyTypeError::new_err(
                "with an integer argument, expected an array ctype or a pointer to non-opaque",
            ));
        }
    };
    let size = item.size().unwrap_or(0) as isize;
    let off = index.checked_mul(size).ok_or_else(|| {
        pyo3::exceptions::PyOverflowError::new_err("array offset would overflow a Py_ssize_t")
    })?;
    Ok((item, off as usize))
}

#[pyfunction]
#[pyo3(signature = (ctype, fieldname, following=0))]
pub fn typeoffsetof<'py>(
    py: Python<'py>,
    ctype: &CT<'py>,
    fieldname: &Bound<'py, PyAny>,
    following: i64,
) -> PyResult<(CT<'py>, isize)> {
    let (t, off) = type_offset(&ctype.get().t, fieldname, following == 0)?;
    Ok((ctype_obj(py, &t)?, off as isize))
}

#[pyfunction]
pub fn rawaddressof<'py>(
    py: Python<'py>,
    ctype: &CT<'py>,
    cdata: &Bound<'py, CData>,
    offset: isize,
) -> PyResult<Bound<'py, CData>> {
    let t = &ctype.get().t;
    let c = cdata.get();
    if !(c.ty.is_struct() || c.ty.is_array() || c.ty.is_pointer()) {
        return Err(PyTypeError::new_err(
            "expected a cdata struct/union/array/pointer object",
        ));
    }
    if !t.is_pointer() {
        return Err(PyTypeError::new_err("expected a pointer ctype"));
    }
    let addr = c.ptr().py()?.wrapping_offset(offset);
    CData::borrowed(t.clone(), addr, 0, CData::keeper_cdata(cdata)).into_base_object(py)
}

/// Allocates and wraps owned memory for a new cdata (`__CDataOwn`):
/// `size` zeroed bytes aligned to `align`; `len` is the item count of
/// open arrays.
pub fn owned_cdata<'py>(
    py: Python<'py>,
    ty: TypeRef,
    size: usize,
    align: usize,
    len: usize,
) -> PyResult<Bound<'py, CData>> {
    match CData::owned(ty, size, align, len) {
        Ok(cd) => cd.into_object(py, CDataClass::Own),
        Err(ty) => Err(no_memory(size, &ty)),
    }
}

#[cold]
fn no_memory(size: usize, ty: &TypeRef) -> PyErr {
    pyo3::exceptions::PyMemoryError::new_err(format!(
        "cannot allocate {size} bytes for '{}'",
        ty.cname()
    ))
}

/// The size and alignment of `new(t)` without an initializer, for the
/// common types: `T[n]` and `T *` (not `void *`, a struct with an open
/// array, nor an enum, which API mode may still have to complete).
/// `None`: the general path ([`newp_layout`]) decides.
#[inline]
pub fn new_size_fast(t: &TypeRef) -> Option<(usize, usize)> {
    let (item, size) = match &t.kind {
        Kind::Array { item, len: Some(_) } => (item, t.size()?),
        Kind::Pointer(item) => (item, item.size()?),
        _ => return None,
    };
    match &item.kind {
        Kind::Struct(s) if s.layout()?.has_var_array => return None,
        Kind::Void | Kind::Enum(_) => return None,
        _ => {}
    }
    (size <= isize::MAX as usize).then_some((size, item.align()?))
}

/// `ffi.new` / `newp`: the allocation size, alignment and item count (of
/// open arrays) for type `t` initialised from `init`.
pub fn newp_layout(
    t: &TypeRef,
    init: Option<&Bound<'_, PyAny>>,
) -> PyResult<(usize, usize, usize)> {
    let init = init.filter(|i| !i.is_none());
    match &t.kind {
        Kind::Pointer(item) => {
            let Some(mut size) = item.size().filter(|_| !item.is_void()) else {
                let why = item
                    .struct_info()
                    .and_then(|s| s.problem())
                    .map(|p| format!(": {p}"))
                    .unwrap_or_default();
                return Err(PyTypeError::new_err(format!(
                    "cannot instantiate ctype '{}' of unknown size{why}",
                    item.cname()
                )));
            };
            let var = item
                .struct_info()
                .and_then(|s| s.layout())
                .is_some_and(|l| l.has_var_array);
            if var && let Some(init) = init {
                size = convert::struct_var_size(item, init)?;
            }
            Ok((size, item.align().unwrap_or(1), 0))
        }
        Kind::Array { item, len } => {
            let isz = item.size().ok_or_else(|| unknown_size(item))?;
            let n = match (len, init) {
                (Some(n), _) => *n,
                (None, Some(init)) => convert::new_array_length(item, init)?,
                (None, None) => {
                    return Err(PyTypeError::new_err(
                        "expected new array length or list/tuple/str, not NoneType",
                    ));
                }
            };
            let size = isz
                .checked_mul(n)
                .filter(|s| *s <= isize::MAX as usize)
                .ok_or_else(|| {
                    pyo3::exceptions::PyOverflowError::new_err(
                        "array size would overflow a Py_ssize_t",
                    )
                })?;
            Ok((size, item.align().unwrap_or(1), n))
        }
        _ => Err(PyTypeError::new_err(format!(
            "expected a pointer or array ctype, got '{}'",
            t.cname()
        ))),
    }
}

/// Writes the initializer of a freshly allocated `newp` cdata.
pub fn newp_init(cd: &Bound<'_, CData>, init: &Bound<'_, PyAny>) -> PyResult<()> {
    if init.is_none() {
        return Ok(());
    }
    let me = cd.get();
    let addr = me.raw_ptr();
    match &me.ty.kind {
        // SAFETY: the allocation holds one item (a struct with an open
        // array: sized for init); open arrays are bounded by cd's memory.
        Kind::Pointer(item) => unsafe { convert::write(item, addr, init, Some(cd)) },
        Kind::Array { len: None, .. } => {
            let sequence = init.is_instance_of::<PyList>()
                || init.is_instance_of::<PyTuple>()
                || init.is_instance_of::<PyBytes>()
                || init.is_instance_of::<PyString>();
            if !sequence {
                // Only a length: the memory stays zeroed.
                return Ok(());
            }
            // SAFETY: the write is bounded by cd's memory (me.len items).
            unsafe { convert::write(&me.ty, addr, init, Some(cd)) }
        }
        // SAFETY: the allocation holds the array.
        _ => unsafe { convert::write(&me.ty, addr, init, Some(cd)) },
    }
}

/// A cdata of type `t` (`size` bytes, `len` items for open arrays) on
/// the memory that a custom allocator returned as the cdata `raw` (kept
/// alive, and passed to `free` at the end).
#[allow(clippy::too_many_arguments)]
pub fn new_custom<'py>(
    py: Python<'py>,
    t: TypeRef,
    size: usize,
    len: usize,
    raw: &Bound<'py, PyAny>,
    free: Option<Bound<'py, PyAny>>,
    clear: bool,
    init: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, CData>> {
    let Ok(rc) = raw.cast::<CData>() else {
        return Err(PyTypeError::new_err(format!(
            "alloc() must return a cdata object (got {})",
            raw.get_type().name()?
        )));
    };
    let me = rc.get();
    if !(me.ty.is_pointer() || me.ty.is_array()) {
        return Err(PyTypeError::new_err(format!(
            "alloc() must return a cdata pointer, not '{}'",
            me.ty.cname()
        )));
    }
    let ptr = me.ptr().py()?;
    if ptr.is_null() {
        return Err(pyo3::exceptions::PyMemoryError::new_err(format!(
            "alloc() returned NULL for {size} bytes"
        )));
    }
    if let Some(end) = known_end(rc)
        && (end as u128) < ptr as u128 + size as u128
    {
        return Err(PyValueError::new_err(format!(
            "alloc() returned {} bytes of memory, '{}' needs {size}",
            end.saturating_sub(ptr as usize),
            t.cname()
        )));
    }
    if clear {
        // SAFETY: the allocator's memory holds at least `size` bytes
        // (checked above when its size is known; the allocator's contract
        // otherwise, as in cffi).
        unsafe { raw::fill(ptr, 0, size) };
    }
    let free = match free {
        Some(f) => Some(super::finalizer::new(py, &f, raw)?),
        None => None,
    };
    let owner = Owner::Custom(Box::new(CustomOwner {
        inner: Mutex::new(Some(raw.clone().unbind())),
        free,
    }));
    let cd = CData::new(t, ptr, len, owner).into_object(py, CDataClass::Own)?;
    if let Some(init) = init {
        newp_init(&cd, init)?;
    }
    Ok(cd)
}

#[pyfunction]
#[pyo3(signature = (ctype, init=None))]
pub fn newp<'py>(
    py: Python<'py>,
    ctype: &CT<'py>,
    init: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, CData>> {
    let t = &ctype.get().t;
    let (size, align, len) = newp_layout(t, init)?;
    let cd = owned_cdata(py, t.clone(), size, align, len)?;
    if let Some(init) = init {
        newp_init(&cd, init)?;
    }
    Ok(cd)
}

/// `ffi.cast` / `cast`.
pub fn cast_to<'py>(
    py: Python<'py>,
    t: &TypeRef,
    v: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, CData>> {
    if !v.is_instance_of::<CData>()
        && let Some(cd) = convert::stand_in(v)
    {
        return cast_to(py, t, cd.as_any());
    }
    match &t.kind {
        Kind::Array { len: None, .. } => Err(PyTypeError::new_err(format!(
            "cannot cast to ctype '{}'",
            t.cname()
        ))),
        Kind::Pointer(_) | Kind::Function(_) | Kind::Array { .. } => {
            let cdv = crate::memory::object::as_cdata(v);
            let addr: usize = if let Some(c) = cdv {
                let c = c.get();
                match &c.ty.kind {
                    Kind::Pointer(_) | Kind::Function(_) | Kind::Array { .. } => {
                        c.ptr().py()? as usize
                    }
                    _ if c
                        .ty
                        .storage_primitive()
                        .is_some_and(|p| p.is_integer() || p.is_char_like()) =>
                    {
                        convert::as_integer(v)? as usize
                    }
                    _ => {
                        return Err(PyTypeError::new_err(format!(
                            "cannot cast ctype '{}' to ctype '{}'",
                            c.ty.cname(),
                            t.cname()
                        )));
                    }
                }
            } else if let Ok(f) = v.cast::<pyo3::types::PyFloat>() {
                f.value() as i128 as usize
            } else if let Some(f) = crate::call::marshal::cast_file(t, v)? {
                f as usize
            } else {
                convert::as_integer_wrapping(v, size_of::<usize>())? as usize
            };
            let keeper = cdv.and_then(CData::keeper_cdata);
            CData::borrowed(t.clone(), addr as *mut u8, 0, keeper).into_base_object(py)
        }
        Kind::Primitive(_) | Kind::Enum(_) => {
            let p = t
                .storage_primitive()
                .ok_or_else(|| PyTypeError::new_err("bad enum"))?;
            let mut bytes = [0u8; 16];
            cast_scalar(p, t, v, bytes.as_mut_ptr())?;
            CData::value(t.clone(), bytes).into_base_object(py)
        }
        Kind::Struct(_) | Kind::Void => Err(PyTypeError::new_err(format!(
            "cannot cast to ctype '{}'",
            t.cname()
        ))),
    }
}

fn cast_scalar(
    p: &'static types::Primitive,
    t: &TypeRef,
    v: &Bound<'_, PyAny>,
    out: *mut u8,
) -> PyResult<()> {
    // The source value as an integer or a float.
    enum Num {
        I(i128),
        F(f64),
        C(f64, f64),
    }
    let num = if let Ok(c) = v.cast::<CData>() {
        let c = c.get();
        match c.ty.storage_primitive() {
            Some(q) => {
                let addr = c.ptr().py()?;
                match q.family {
                    PrimFamily::LongDouble if p.family == PrimFamily::Bool && q.size >= 10 => {
                        // Tested on the x87 bits: a value too small for a
                        // double is still true.
                        // SAFETY: a long double cdata holds 16 bytes.
                        let b = unsafe { raw::read_x87(addr) };
                        let nonzero = b[..8].iter().any(|&x| x != 0) || (b[8] | (b[9] & 0x7f)) != 0;
                        Num::I(i128::from(nonzero))
                    }
                    PrimFamily::Float | PrimFamily::LongDouble => {
                        // SAFETY: a primitive cdata holds a value of its type.
                        Num::F(unsafe { convert::read_primitive_f64(q, addr) })
                    }
                    PrimFamily::Complex => {
                        let (re, im) = convert::as_complex(v)?;
                        Num::C(re, im)
                    }
                    // SAFETY: as above.
                    _ => Num::I(unsafe { raw::read_int(addr, q.size, q.reads_signed()) }),
                }
            }
            None if matches!(
                c.ty.kind,
                Kind::Pointer(_) | Kind::Function(_) | Kind::Array { .. }
            ) && (p.is_integer() || p.is_char_like()) =>
            {
                Num::I(c.ptr().py()? as usize as i128)
            }
            None => {
                return Err(PyTypeError::new_err(format!(
                    "cannot cast ctype '{}' to ctype '{}'",
                    c.ty.cname(),
                    t.cname()
                )));
            }
        }
    } else if let Ok(f) = v.cast::<pyo3::types::PyFloat>() {
        Num::F(f.value())
    } else if let Ok(c) = v.cast::<pyo3::types::PyComplex>() {
        Num::C(c.real(), c.imag())
    } else if let Ok(b) = v.cast::<PyBytes>() {
        match b.as_bytes() {
            [c] => Num::I(i128::from(*c)),
            _ => {
                return Err(PyTypeError::new_err(
                    "initializer for ctype 'char' must be a bytes of length 1, not bytes",
                ));
            }
        }
    } else if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_cow()?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Num::I(i128::from(u32::from(c))),
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "cannot cast unicode string of length {} to ctype '{}'",
                    s.chars().count(),
                    t.cname()
                )));
            }
        }
    } else if p.family == PrimFamily::Bool
        && let Ok(i) = v.cast::<PyInt>()
    {
        // Casting to _Bool tests the whole value, not its low bits.
        Num::I(convert::int_value(i)?)
    } else if p.family == PrimFamily::Complex {
        let (re, im) = convert::as_complex(v)?;
        Num::C(re, im)
    } else if p.is_float() {
        Num::F(v.extract::<f64>()?)
    } else {
        Num::I(convert::as_integer_wrapping(v, p.size)?)
    };
    // SAFETY: (all writes below) `out` is a 16-byte buffer, enough for
    // any primitive.
    unsafe {
        match p.family {
            PrimFamily::Float => match num {
                Num::I(i) => raw::write_float(out, p.size, i as f64),
                Num::F(f) => raw::write_float(out, p.size, f),
                Num::C(..) => {
                    return Err(PyTypeError::new_err(format!(
                        "cannot cast a complex to ctype '{}'",
                        t.cname()
                    )));
                }
            },
            PrimFamily::LongDouble => match num {
                Num::I(i) => raw::write_long_double(out, p.size, i as f64),
                Num::F(f) => raw::write_long_double(out, p.size, f),
                Num::C(..) => {
                    return Err(PyTypeError::new_err(format!(
                        "cannot cast a complex to ctype '{}'",
                        t.cname()
                    )));
                }
            },
            PrimFamily::Complex => {
                let (re, im) = match num {
                    Num::I(i) => (i as f64, 0.0),
                    Num::F(f) => (f, 0.0),
                    Num::C(re, im) => (re, im),
                };
                raw::write_float(out, p.size / 2, re);
                raw::write_float(out.add(p.size / 2), p.size / 2, im);
            }
            PrimFamily::Bool => {
                let b = match num {
                    Num::I(i) => i != 0,
                    Num::F(f) => f != 0.0,
                    Num::C(re, im) => re != 0.0 || im != 0.0,
                };
                raw::write_int(out, 1, i128::from(b));
            }
            _ => {
                let i = match num {
                    Num::I(i) => i,
                    Num::F(f) if f.is_nan() => {
                        return Err(PyValueError::new_err("cannot convert float NaN to integer"));
                    }
                    Num::F(f) if f.is_infinite() => {
                        return Err(pyo3::exceptions::PyOverflowError::new_err(
                            "cannot convert float infinity to integer",
                        ));
                    }
                    // Beyond 2**127 a double is a multiple of 2**75: its low
                    // 64 bits (all a C integer keeps) are zero.
                    Num::F(f) if f.abs() >= 2f64.powi(127) => 0,
                    Num::F(f) => f as i128,
                    Num::C(..) => {
                        return Err(PyTypeError::new_err(format!(
                            "cannot cast a complex to ctype '{}'",
                            t.cname()
                        )));
                    }
                };
                raw::write_int(out, p.size, i);
            }
        }
    }
    Ok(())
}

#[pyfunction]
pub fn cast<'py>(
    py: Python<'py>,
    ctype: &CT<'py>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, CData>> {
    cast_to(py, &ctype.get().t, value)
}

/// The end of the memory a pointer or array cdata is known to point into
/// (its own items for arrays, the memory rcffi allocated or the Python
/// buffer otherwise): reads that would go beyond fail.
pub fn known_end(c: &Bound<'_, CData>) -> Option<usize> {
    let me = c.get();
    let own = match &me.ty.kind {
        Kind::Array { item, .. } => item
            .size()
            .and_then(|s| s.checked_mul(me.array_len()?))
            .map(|n| me.raw_ptr() as usize + n),
        _ => None,
    };
    let outer = CData::container(c)
        .and_then(|o| o.get().known_range())
        .map(|(start, len)| start + len);
    match (own, outer) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn null_use(what: &str, c: &Bound<'_, CData>) -> PyResult<PyErr> {
    Ok(PyRuntimeError::new_err(format!(
        "cannot use {what}() on {}",
        super::cdata_py::cdata_repr(c)?
    )))
}

/// A Python string from `n` wide characters of `unit` bytes at `addr`.
///
/// # Safety
/// `addr` must be valid for reading `n` items.
unsafe fn read_wide<'py>(
    py: Python<'py>,
    addr: *const u8,
    n: usize,
    unit: usize,
) -> PyResult<Bound<'py, PyString>> {
    let units: Vec<u32> = (0..n)
        // SAFETY: item i < n is readable by the caller's guarantee.
        .map(|i| unsafe { raw::read_int(addr.add(i * unit), unit, false) } as u32)
        .collect();
    convert::wide_to_string(py, &units, unit)
}

/// `ffi.string` / `string`.
#[pyfunction]
#[pyo3(signature = (cdata, maxlen=-1))]
pub fn string<'py>(
    py: Python<'py>,
    cdata: &Bound<'py, PyAny>,
    maxlen: isize,
) -> PyResult<Bound<'py, PyAny>> {
    let c = cdata
        .cast::<CData>()
        .map_err(|_| PyTypeError::new_err("expected a 'cdata' object"))?;
    let me = c.get();
    let bad = || {
        PyTypeError::new_err(format!(
            "string(): unexpected cdata '{}' argument",
            me.ty.cname()
        ))
    };
    if let Some(item) = me.ty.item() {
        let Some(p) = item
            .primitive()
            .filter(|p| (p.is_char_like() || p.is_integer()) && p.family != PrimFamily::Bool)
        else {
            return Err(bad());
        };
        let addr = me.ptr().py()?;
        if addr.is_null() {
            return Err(null_use("string", c)?);
        }
        if !(p.size == 1 || p.is_char_like()) {
            return Err(bad());
        }
        let mut max = if maxlen >= 0 {
            maxlen as usize
        } else {
            me.array_len().unwrap_or(usize::MAX)
        };
        // rcffi: never scan beyond memory whose end is known.
        if let Some(end) = known_end(c) {
            max = max.min(end.saturating_sub(addr as usize) / p.size);
        }
        // SAFETY: reading stops at the terminator, at `max`, or at the end
        // of the memory when it is known.
        let n = unsafe { raw::strlen(addr, p.size, max) };
        if p.size == 1 {
            // SAFETY: n bytes were just scanned.
            return Ok(PyBytes::new(py, unsafe { raw::slice(addr, n) }).into_any());
        }
        // SAFETY: n items were just scanned.
        return Ok(unsafe { read_wide(py, addr, n, p.size) }?.into_any());
    }
    match &me.ty.kind {
        Kind::Enum(e) => {
            let p = me.ty.storage_primitive().ok_or_else(bad)?;
            let addr = me.ptr().py()?;
            // SAFETY: an enum cdata holds an integer of its base type.
            let v = unsafe { raw::read_int(addr, p.size, p.is_signed()) };
            Ok(match e.name_of(v) {
                Some(n) => PyString::new(py, n).into_any(),
                None => PyString::new(py, &v.to_string()).into_any(),
            })
        }
        Kind::Primitive(p)
            if p.family != PrimFamily::Bool
                && (p.is_char_like() || (p.is_integer() && p.size == 1)) =>
        {
            let addr = me.ptr().py()?;
            if p.size == 1 {
                // SAFETY: a one-byte cdata holds one byte.
                return Ok(PyBytes::new(py, unsafe { raw::slice(addr, 1) }).into_any());
            }
            // SAFETY: a character cdata holds one character.
            Ok(unsafe { read_wide(py, addr, 1, p.size) }?.into_any())
        }
        _ => Err(bad()),
    }
}

/// `ffi.unpack` / `unpack`.
#[pyfunction]
pub fn unpack<'py>(
    py: Python<'py>,
    cdata: &Bound<'py, PyAny>,
    length: isize,
) -> PyResult<Bound<'py, PyAny>> {
    let c = cdata
        .cast::<CData>()
        .map_err(|_| PyTypeError::new_err("expected a 'cdata' object"))?;
    let me = c.get();
    let Some(item) = me.ty.item().cloned() else {
        return Err(PyTypeError::new_err(format!(
            "expected a pointer or array, got '{}'",
            me.ty.cname()
        )));
    };
    if length < 0 {
        return Err(PyValueError::new_err("'length' cannot be negative"));
    }
    let n = length as usize;
    let addr = me.ptr().py()?;
    if addr.is_null() {
        return Err(null_use("unpack", c)?);
    }
    let Some(size) = item.size().filter(|_| !item.is_void()) else {
        return Err(PyValueError::new_err(format!(
            "'{}' points to items of unknown size",
            me.ty.cname()
        )));
    };
    // rcffi: never read beyond memory whose end is known.
    if let Some(end) = known_end(c) {
        let room = end.saturating_sub(addr as usize) / size.max(1);
        if n > room {
            return Err(PyIndexError::new_err(format!(
                "unpack() of {n} items beyond the end of cdata '{}' ({room} items)",
                me.ty.cname()
            )));
        }
    }
    if let Some(p) = item.primitive()
        && p.is_char_like()
    {
        if p.size == 1 {
            // SAFETY: the caller asked for n items at addr (checked against
            // the end of known memory).
            return Ok(PyBytes::new(py, unsafe { raw::slice(addr, n) }).into_any());
        }
        // SAFETY: as above.
        return Ok(unsafe { read_wide(py, addr, n, p.size) }?.into_any());
    }
    let list = PyList::empty(py);
    for i in 0..n {
        // SAFETY: as above.
        list.append(unsafe { convert::read(py, &item, addr.add(i * size), Some(c))? })?;
    }
    Ok(list.into_any())
}

/// `ffi.from_buffer` / `from_buffer`.
#[pyfunction]
#[pyo3(signature = (ctype, obj, require_writable=false))]
pub fn from_buffer<'py>(
    py: Python<'py>,
    ctype: &CT<'py>,
    obj: &Bound<'py, PyAny>,
    require_writable: bool,
) -> PyResult<Bound<'py, CData>> {
    from_buffer_impl(py, &ctype.get().t, obj, require_writable)
}

pub fn from_buffer_impl<'py>(
    py: Python<'py>,
    t: &TypeRef,
    obj: &Bound<'py, PyAny>,
    require_writable: bool,
) -> PyResult<Bound<'py, CData>> {
    let item = match &t.kind {
        Kind::Array { item, .. } | Kind::Pointer(item) => item.clone(),
        _ => {
            return Err(PyTypeError::new_err(format!(
                "expected a pointer or array ctype, got '{}'",
                t.cname()
            )));
        }
    };
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "from_buffer() cannot return the address of a unicode object",
        ));
    }
    let buf = crate::python::capi::pybuffer::PyBuf::get(obj)?;
    if require_writable && buf.readonly() {
        return Err(pyo3::exceptions::PyBufferError::new_err(
            "Object is not writable.",
        ));
    }
    if !(buf.is_c_contiguous() || buf.is_fortran_contiguous()) {
        return Err(PyTypeError::new_err("contiguous buffer expected"));
    }
    let nbytes = buf.len_bytes();
    let ptr = buf.buf_ptr() as *mut u8;
    let len = match &t.kind {
        Kind::Array { len: Some(n), .. } => {
            let need = t.size().unwrap_or(0);
            if nbytes < need {
                return Err(PyValueError::new_err(format!(
                    "buffer is too small ({nbytes} bytes) for '{}' ({need} bytes)",
                    t.cname()
                )));
            }
            *n
        }
        Kind::Array { len: None, .. } => match item.size() {
            Some(s) if s > 0 => nbytes / s,
            _ => {
                return Err(pyo3::exceptions::PyZeroDivisionError::new_err(format!(
                    "from_buffer('{}', ..): the actual length of the array cannot be computed",
                    t.cname()
                )));
            }
        },
        _ => 0,
    };
    let owner = Owner::buffer(PyBufferHold(buf), obj.clone().unbind(), nbytes);
    CData::new(t.clone(), ptr, len, owner).into_object(py, CDataClass::FromBuf)
}

/// `ffi.gc(cdata, destructor)`: a new cdata on the same memory that calls
/// `destructor(cdata)` when it dies or is released.  With `destructor`
/// None, detaches the destructor of an earlier `ffi.gc()` object and
/// returns that object (the Python-level `gcp` returns None then, see
/// [`gc_detach`]).
pub fn gcp<'py>(
    py: Python<'py>,
    cdata: &Bound<'py, CData>,
    destructor: &Bound<'py, PyAny>,
    size: isize,
) -> PyResult<Bound<'py, CData>> {
    let _ = size;
    if destructor.is_none() {
        gc_detach(cdata)?;
        return Ok(cdata.clone());
    }
    let me = cdata.get();
    let finalizer = super::finalizer::new(py, destructor, cdata.as_any())?;
    let owner = Owner::gc(cdata.clone().unbind(), finalizer);
    CData::new(me.ty.clone(), me.raw_ptr(), me.len, owner).into_object(py, CDataClass::Gcp)
}

/// `ffi.gc(cdata, None)`: removes the destructor of an `ffi.gc()` object.
pub fn gc_detach(cdata: &Bound<'_, CData>) -> PyResult<()> {
    let Owner::Gc(g) = &cdata.get().owner else {
        return Err(PyTypeError::new_err(
            "Can remove destructor only on a object previously returned by ffi.gc()",
        ));
    };
    let old = g.destructor.lock().ok().and_then(|mut d| d.take());
    if let Some(f) = old {
        // Disarmed: dropping it calls nothing.
        f.bind(cdata.py()).setattr("fn", cdata.py().None())?;
    }
    Ok(())
}

/// `gcp(cdata, destructor, size=0)`.
#[pyfunction(name = "gcp")]
#[pyo3(signature = (cdata, destructor, size=0))]
fn gcp_py<'py>(
    py: Python<'py>,
    cdata: &Bound<'py, CData>,
    destructor: &Bound<'py, PyAny>,
    size: isize,
) -> PyResult<Option<Bound<'py, CData>>> {
    if destructor.is_none() {
        gc_detach(cdata)?;
        return Ok(None);
    }
    gcp(py, cdata, destructor, size).map(Some)
}

/// Fails unless `release()` and `with` apply to this cdata: memory from
/// `new`, `gc`, `from_buffer` or a custom allocator.
pub fn check_releasable(me: &CData) -> PyResult<()> {
    match &me.owner {
        Owner::Owned { .. } | Owner::Custom(_) | Owner::Buffer(_) | Owner::Gc(_) => Ok(()),
        _ => Err(PyValueError::new_err(
            "only 'cdata' object from ffi.new(), ffi.gc(), ffi.from_buffer() or ffi.new_allocator()() can be \
             used with the 'with' keyword or ffi.release()",
        )),
    }
}

/// `ffi.release` / `release` and the end of a `with` block.
pub fn release_cdata(cdata: &Bound<'_, CData>) -> PyResult<()> {
    let me = cdata.get();
    check_releasable(me)?;
    me.release(cdata.py())
}

#[pyfunction]
pub fn release(cdata: &Bound<'_, PyAny>) -> PyResult<()> {
    let c = cdata
        .cast::<CData>()
        .map_err(|_| PyTypeError::new_err("expected a 'cdata' object"))?;
    release_cdata(c)
}

#[pyfunction]
pub fn newp_handle<'py>(
    py: Python<'py>,
    ctype: &CT<'py>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, CData>> {
    let t = &ctype.get().t;
    if !t.item().is_some_and(|i| i.is_void()) || !t.is_pointer() {
        return Err(PyTypeError::new_err(format!(
            "needs 'void *', got '{}'",
            t.cname()
        )));
    }
    let owner = Owner::Handle {
        obj: obj.clone().unbind(),
    };
    let cd =
        CData::new(t.clone(), std::ptr::null_mut(), 0, owner).into_object(py, CDataClass::OwnGc)?;
    let addr = cd.as_ptr() as usize;
    cd.get().set_ptr(addr as *mut u8);
    crate::memory::cdata::register_handle(addr);
    Ok(cd)
}

#[pyfunction]
pub fn from_handle<'py>(py: Python<'py>, cdata: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let c = cdata
        .cast::<CData>()
        .map_err(|_| PyTypeError::new_err("expected a 'cdata' object"))?;
    let me = c.get();
    if !me.ty.is_pointer() && !me.ty.is_array() {
        return Err(PyTypeError::new_err(format!(
            "expected a 'cdata' pointer, got '{}'",
            me.ty.cname()
        )));
    }
    let addr = me.ptr().py()? as usize;
    if addr == 0 {
        return Err(PyRuntimeError::new_err(
            "cannot use from_handle() on NULL pointer",
        ));
    }
    if !crate::memory::cdata::is_live_handle(addr) {
        return Err(PyRuntimeError::new_err(format!(
            "from_handle(): {} is not a live handle made by ffi.new_handle()",
            super::cdata_py::cdata_repr(c)?
        )));
    }
    super::capi::handle_object(py, addr)
}

#[pyfunction]
pub fn get_errno() -> i32 {
    crate::call::errno::get()
}

#[pyfunction]
pub fn set_errno(value: i32) {
    crate::call::errno::set(value)
}

#[pyfunction]
pub fn _get_types(
    py: Python<'_>,
) -> (
    Bound<'_, pyo3::types::PyType>,
    Bound<'_, pyo3::types::PyType>,
) {
    (
        crate::memory::object::class_object(py, CDataClass::Base),
        py.get_type::<PyCType>(),
    )
}

#[pyfunction]
pub fn _get_common_types(d: &Bound<'_, PyDict>) -> PyResult<()> {
    d.set_item("FILE", "struct _IO_FILE")?;
    d.set_item("bool", "_Bool")?;
    Ok(())
}

/// `memmove(dest, src, n)`: `dest` and `src` are cdata pointers/arrays or
/// Python buffers (`dest` writable).
#[pyfunction]
pub fn memmove(dest: &Bound<'_, PyAny>, src: &Bound<'_, PyAny>, n: isize) -> PyResult<()> {
    if n < 0 {
        return Err(PyValueError::new_err("negative size"));
    }
    let n = n as usize;
    let (d, _dh) = buffer_address(dest, true, n)?;
    let (s, _sh) = buffer_address(src, false, n)?;
    // SAFETY: both ranges were checked to hold n bytes (buffers) or are
    // cdata the caller vouches for, as in C.
    unsafe { raw::copy(d, s, n) };
    Ok(())
}

/// The address behind a cdata or a buffer object, checking its size for
/// buffers.  The returned hold keeps a buffer exported during the copy.
fn buffer_address(
    obj: &Bound<'_, PyAny>,
    writable: bool,
    n: usize,
) -> PyResult<(*mut u8, Option<crate::python::capi::pybuffer::PyBuf>)> {
    if let Ok(c) = obj.cast::<CData>() {
        let me = c.get();
        if !(me.ty.is_pointer() || me.ty.is_array()) {
            return Err(PyTypeError::new_err(format!(
                "expected a pointer or array ctype, got '{}'",
                me.ty.cname()
            )));
        }
        let p = me.ptr().py()?;
        if p.is_null() && n > 0 {
            return Err(PyRuntimeError::new_err(
                "cannot use memmove() on a NULL pointer",
            ));
        }
        // rcffi: never copy beyond memory whose end is known.
        if let Some(end) = known_end(c) {
            let room = end.saturating_sub(p as usize);
            if n > room {
                return Err(PyValueError::new_err(format!(
                    "memmove() of {n} bytes goes beyond the end of cdata '{}' ({room} bytes)",
                    me.ty.cname()
                )));
            }
        }
        return Ok((p, None));
    }
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "a bytes-like object is required, not 'str'",
        ));
    }
    let buf = crate::python::capi::pybuffer::PyBuf::get(obj)?;
    if writable && buf.readonly() {
        return Err(pyo3::exceptions::PyBufferError::new_err(
            "Object is not writable.",
        ));
    }
    if buf.len_bytes() < n {
        return Err(PyValueError::new_err(format!(
            "buffer of {} bytes is too small for memmove() of {n} bytes",
            buf.len_bytes()
        )));
    }
    Ok((buf.buf_ptr() as *mut u8, Some(buf)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(new_primitive_type, m)?)?;
    m.add_function(wrap_pyfunction!(super::capi::testbuff::_testbuff, m)?)?;
    m.add_function(wrap_pyfunction!(new_void_type, m)?)?;
    m.add_function(wrap_pyfunction!(new_pointer_type, m)?)?;
    m.add_function(wrap_pyfunction!(new_array_type, m)?)?;
    m.add_function(wrap_pyfunction!(new_struct_type, m)?)?;
    m.add_function(wrap_pyfunction!(new_union_type, m)?)?;
    m.add_function(wrap_pyfunction!(complete_struct_or_union, m)?)?;
    m.add_function(wrap_pyfunction!(new_function_type, m)?)?;
    m.add_function(wrap_pyfunction!(new_enum_type, m)?)?;
    m.add_function(wrap_pyfunction!(sizeof, m)?)?;
    m.add_function(wrap_pyfunction!(alignof, m)?)?;
    m.add_function(wrap_pyfunction!(typeof_, m)?)?;
    m.add_function(wrap_pyfunction!(getcname, m)?)?;
    m.add_function(wrap_pyfunction!(typeoffsetof, m)?)?;
    m.add_function(wrap_pyfunction!(rawaddressof, m)?)?;
    m.add_function(wrap_pyfunction!(newp, m)?)?;
    m.add_function(wrap_pyfunction!(cast, m)?)?;
    m.add_function(wrap_pyfunction!(string, m)?)?;
    m.add_function(wrap_pyfunction!(unpack, m)?)?;
    m.add_function(wrap_pyfunction!(from_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(gcp_py, m)?)?;
    m.add_function(wrap_pyfunction!(release, m)?)?;
    m.add_function(wrap_pyfunction!(newp_handle, m)?)?;
    m.add_function(wrap_pyfunction!(from_handle, m)?)?;
    m.add_function(wrap_pyfunction!(get_errno, m)?)?;
    m.add_function(wrap_pyfunction!(set_errno, m)?)?;
    m.add_function(wrap_pyfunction!(memmove, m)?)?;
    m.add_function(wrap_pyfunction!(_get_types, m)?)?;
    m.add_function(wrap_pyfunction!(_get_common_types, m)?)?;
    Ok(())
}
