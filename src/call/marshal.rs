//! Calling a C function from Python: converting the Python arguments into
//! the call's storage as the plan says, making the call, and converting
//! the result back.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::plan::{
    ArgConv, ArgPlan, CallPlan, Invoker, PointerArg, RetConv, TypePlan, plan_of, promoted_vararg,
};
use super::raw::{self, Frame};
use crate::memory::cdata::{CData, CDataOwn, Owner};
use crate::memory::convert;
use crate::types::{PrimFamily, TypeRef, intern};

/// `cdata(*args)` for a function pointer cdata.
pub fn call_cdata<'py>(
    slf: &Bound<'py, CData>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = slf.py();
    let me = slf.get();
    let fty = &me.ty;
    if fty.func_info().is_none() {
        return Err(PyTypeError::new_err(format!(
            "cdata '{}' is not callable",
            fty.cname()
        )));
    }
    let fnptr = me.ptr()?;
    if fnptr.is_null() {
        return Err(PyRuntimeError::new_err(format!(
            "cannot call null pointer pointer from cdata '{}'",
            fty.cname()
        )));
    }
    if kwargs.is_some_and(|k| !k.is_empty()) {
        return Err(PyTypeError::new_err(
            "a cdata function cannot be called with keyword arguments",
        ));
    }
    let nargs = args.len();
    match plan_of(fty) {
        TypePlan::Fixed(plan) => {
            if nargs != plan.args.len() {
                return Err(PyTypeError::new_err(format!(
                    "'{}' expects {} arguments, got {nargs}",
                    fty.cname(),
                    plan.args.len()
                )));
            }
            invoke(py, plan, fnptr, args)
        }
        TypePlan::Variadic(v) => {
            let fixed = v.fixed.len();
            if nargs < fixed {
                return Err(PyTypeError::new_err(format!(
                    "'{}' expects at least {fixed} arguments, got {nargs}",
                    fty.cname()
                )));
            }
            let mut extra = Vec::with_capacity(nargs - fixed);
            for i in fixed..nargs {
                let a = args.get_item(i)?;
                let Ok(cd) = a.cast::<CData>() else {
                    return Err(PyTypeError::new_err(format!(
                        "argument {} passed in the variadic part needs to be a cdata object (got {})",
                        i + 1,
                        a.get_type().name()?
                    )));
                };
                extra.push(promoted_vararg(&cd.get().ty));
            }
            let plan = v.plan_for(&extra)?;
            invoke(py, &plan, fnptr, args)
        }
        TypePlan::Failed(e) => Err(e.clone().into()),
    }
}

/// Converts the arguments, calls `fnptr` and converts the result.
pub fn invoke<'py>(
    py: Python<'py>,
    plan: &CallPlan,
    fnptr: *const u8,
    args: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut frame = Frame::new(&plan.layout);
    for (i, a) in plan.args.iter().enumerate() {
        put_arg(&mut frame, i, a, &*args.get_borrowed_item(i)?)?;
    }
    match &plan.invoker {
        Invoker::Libffi(cif) => frame.call(py, cif, fnptr),
    }
    result_object(py, plan, &frame)
}

fn put_arg(frame: &mut Frame<'_>, i: usize, a: &ArgPlan, v: &Bound<'_, PyAny>) -> PyResult<()> {
    match &a.conv {
        ArgConv::Int { size, lo, hi } => {
            if let Ok(int) = v.cast_exact::<PyInt>()
                && let Ok(x) = int.extract::<i64>()
                && x >= *lo
                && x <= *hi
            {
                frame.put_int(i, *size, x);
                return Ok(());
            }
            frame.put_value(i, &a.ty, v)
        }
        ArgConv::F64 => match v.cast_exact::<PyFloat>() {
            Ok(f) => {
                frame.put_f64(i, f.value());
                Ok(())
            }
            Err(_) => frame.put_value(i, &a.ty, v),
        },
        ArgConv::F32 => match v.cast_exact::<PyFloat>() {
            Ok(f) => {
                frame.put_f32(i, f.value() as f32);
                Ok(())
            }
            Err(_) => frame.put_value(i, &a.ty, v),
        },
        ArgConv::Value | ArgConv::FuncPtr => {
            if matches!(a.conv, ArgConv::FuncPtr) && v.is_none() {
                return Err(not_a_pointer(&a.ty, v));
            }
            frame.put_value(i, &a.ty, v)
        }
        ArgConv::Pointer(p) => put_pointer(frame, i, &a.ty, p, v),
    }
}

fn not_a_pointer(ty: &TypeRef, v: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "initializer for ctype '{}' must be a cdata pointer, not {}",
        ty.cname(),
        convert::describe(v)
    ))
}

/// A pointer argument: a cdata pointer or array, or a temporary array
/// made from a Python value (as cffi allows for calls).
fn put_pointer(
    frame: &mut Frame<'_>,
    i: usize,
    ty: &TypeRef,
    p: &PointerArg,
    v: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if v.is_instance_of::<CData>() {
        let (addr, _keep) = convert::pointer_value(ty, v)?;
        frame.put_ptr(i, addr as usize);
        return Ok(());
    }
    if v.is_none() {
        return Err(not_a_pointer(ty, v));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        if !p.takes_bytes {
            return Err(not_a_pointer(ty, v));
        }
        let bytes = b.as_bytes();
        if p.bool_items && bytes.iter().any(|c| *c > 1) {
            return Err(PyValueError::new_err(
                "an array of _Bool can only contain \\x00 or \\x01",
            ));
        }
        return frame.put_temp_bytes(i, bytes);
    }
    let Some(isize_) = p.item_size else {
        return file_or_default(frame, i, ty, p, v);
    };
    let len = if let Ok(l) = v.cast::<PyList>() {
        l.len()
    } else if let Ok(t) = v.cast::<PyTuple>() {
        t.len()
    } else if let Ok(s) = v.cast::<PyString>() {
        if !p.wide_items {
            let what = if p
                .item
                .primitive()
                .is_some_and(|q| q.family == PrimFamily::Char)
            {
                "bytes or list or tuple"
            } else {
                "list or tuple"
            };
            return Err(PyTypeError::new_err(format!(
                "initializer for ctype '{}' must be a {what}, not str",
                ty.cname()
            )));
        }
        let q = p
            .item
            .primitive()
            .ok_or_else(|| PyTypeError::new_err("bad wide char type"))?;
        convert::encode_wide(s, q)?.len() + 1
    } else {
        return file_or_default(frame, i, ty, p, v);
    };
    let arr = intern::array(&p.item, Some(len.max(1)));
    frame.put_temp_array(i, &arr, len.max(1), isize_, v)
}

fn file_or_default(
    frame: &mut Frame<'_>,
    i: usize,
    ty: &TypeRef,
    p: &PointerArg,
    v: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if p.file_items
        && let Some(f) = file_pointer(v)?
    {
        frame.put_ptr(i, f as usize);
        return Ok(());
    }
    let (addr, _keep) = convert::pointer_value(ty, v)?;
    frame.put_ptr(i, addr as usize);
    Ok(())
}

/// The C `FILE *` for a Python file object (an `io` object with a file
/// descriptor), or `None` if `v` is not a file.  The `FILE *` is made
/// once per file object (on a duplicate of its descriptor, unbuffered)
/// and closed when the file object dies.
pub fn file_pointer(v: &Bound<'_, PyAny>) -> PyResult<Option<*const u8>> {
    let py = v.py();
    let iobase = py.import("_io")?.getattr("_IOBase")?;
    if !v.is_instance(&iobase)? {
        return Ok(None);
    }
    v.call_method0("flush")?;
    if let Ok(h) = v.getattr("__cffi_FILE")
        && let Ok(h) = h.cast::<FileHolder>()
    {
        return Ok(Some(h.get().addr as *const u8));
    }
    let fd: i32 = v.call_method0("fileno")?.extract()?;
    let mode: String = v.getattr("mode")?.extract()?;
    let cmode = std::ffi::CString::new(mode)?;
    let file = raw::CFile::open_dup(fd, &cmode).map_err(|e| {
        pyo3::exceptions::PyOSError::new_err((e, std::io::Error::from_raw_os_error(e).to_string()))
    })?;
    let addr = file.as_ptr() as usize;
    let holder = FileHolder {
        addr,
        _file: Mutex::new(Some(file)),
    };
    v.setattr("__cffi_FILE", Bound::new(py, holder)?)?;
    Ok(Some(addr as *const u8))
}

/// `cast(FILE *, file)`: the C `FILE *` of a Python file object, if `t`
/// is a pointer to `FILE` and `v` a file.
pub fn cast_file(t: &TypeRef, v: &Bound<'_, PyAny>) -> PyResult<Option<*const u8>> {
    match t.item() {
        Some(item) if t.is_pointer() && super::plan::is_file_type(item) => file_pointer(v),
        _ => Ok(None),
    }
}

/// Kept on a Python file object as `__cffi_FILE`: the C `FILE *` made for
/// it, closed when the file object dies.
#[pyclass(frozen, module = "_cffi_backend")]
pub struct FileHolder {
    addr: usize,
    _file: Mutex<Option<raw::CFile>>,
}

fn result_object<'py>(
    py: Python<'py>,
    plan: &CallPlan,
    frame: &Frame<'_>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match plan.ret {
        RetConv::Void => py.None().into_bound(py),
        RetConv::Int { size, signed } => {
            let v = frame.result_int(size, signed);
            if signed {
                (v as i64).into_pyobject(py)?.into_any()
            } else {
                (v as u64).into_pyobject(py)?.into_any()
            }
        }
        RetConv::F64 => PyFloat::new(py, frame.result_f64(8)).into_any(),
        RetConv::F32 => PyFloat::new(py, frame.result_f64(4)).into_any(),
        RetConv::Pointer => {
            let p = frame.result_ptr();
            Bound::new(
                py,
                CData::new(plan.result.clone(), p, 0, Owner::Borrowed { base: None }),
            )?
            .into_any()
        }
        RetConv::Struct { size } => {
            owned_copy(py, &plan.result, frame.result_bytes(size))?.into_any()
        }
        RetConv::Value => frame.result_value(py, &plan.result)?,
    })
}

/// A new owning cdata of struct type `ty` holding a copy of `bytes`.
pub fn owned_copy<'py>(py: Python<'py>, ty: &TypeRef, bytes: &[u8]) -> PyResult<Bound<'py, CData>> {
    let align = ty.align().unwrap_or(1);
    let alloc = raw::allocation_with(bytes, align)
        .ok_or_else(|| PyMemoryError::new_err("cannot allocate a struct"))?;
    let ptr = alloc.ptr();
    let owner = Owner::Owned {
        alloc: Mutex::new(Some(alloc)),
        size: bytes.len(),
    };
    let cd = CData::new(ty.clone(), ptr, 0, owner);
    let init = PyClassInitializer::from(cd).add_subclass(CDataOwn);
    Ok(Bound::new(py, init)?.into_super())
}

/// The plan of a non-variadic function type, for callbacks.
pub fn fixed_plan(fty: &TypeRef) -> Option<Arc<CallPlan>> {
    match plan_of(fty) {
        TypePlan::Fixed(p) => Some(p.clone()),
        _ => None,
    }
}
