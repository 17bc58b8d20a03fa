//! Calling a C function from Python: converting the Python arguments as
//! the plan says (into registers for a direct call, into a [`Frame`] for
//! libffi or an argument stub), making the call, and converting the
//! result back.

use crate::python::errors::CoreResult;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3::{Borrowed, intern};

use super::direct::{self, Regs, RetKind, RetRegs};
use super::plan::{
    ArgConv, ArgPlan, CallPlan, DirectArg, DirectCall, Invoker, Part, PointerArg, RetConv, Slot,
    TypePlan, plan_of, promoted_vararg,
};
use super::pyconv;
use super::raw::{self, Frame, Small, Temps};
use crate::memory::cdata::CData;
use crate::memory::convert;
use crate::memory::object::{CDataClass, as_cdata};
use crate::types::{Kind, PrimFamily, TypeRef, intern};

/// The arguments of a call, however Python handed them over: a tuple
/// (`tp_call`) or an array (vectorcall).
pub trait ArgList<'py> {
    fn count(&self) -> usize;
    fn item(&self, i: usize) -> PyResult<Borrowed<'_, 'py, PyAny>>;
}

impl<'py> ArgList<'py> for Bound<'py, PyTuple> {
    #[inline]
    fn count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn item(&self, i: usize) -> PyResult<Borrowed<'_, 'py, PyAny>> {
        self.get_borrowed_item(i)
    }
}

impl<'py> ArgList<'py> for [Borrowed<'_, 'py, PyAny>] {
    #[inline]
    fn count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn item(&self, i: usize) -> PyResult<Borrowed<'_, 'py, PyAny>> {
        self.get(i)
            .copied()
            .ok_or_else(|| PyTypeError::new_err("internal error: argument index"))
    }
}

/// What is being called, for messages: the function's name when it has
/// one (`lib.add`), and its type.
#[derive(Clone, Copy)]
pub struct Callee<'a> {
    pub name: Option<&'a str>,
    pub fty: &'a TypeRef,
}

impl Callee<'_> {
    fn describe(&self) -> String {
        match self.name {
            Some(n) => format!("{n}()"),
            None => format!("'{}'", self.fty.cname()),
        }
    }
}

/// `cdata(*args)` for a function pointer cdata.
pub fn call_cdata<'py>(
    slf: &Bound<'py, CData>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let me = slf.get();
    let fty = &me.ty;
    if fty.func_info().is_none() {
        return Err(PyTypeError::new_err(format!(
            "cdata '{}' is not callable",
            fty.cname()
        )));
    }
    if kwargs.is_some_and(|k| !k.is_empty()) {
        return Err(PyTypeError::new_err(
            "a cdata function cannot be called with keyword arguments",
        ));
    }
    let fnptr = me.ptr().py()?;
    call_function(slf.py(), Callee { name: None, fty }, fnptr, args)
}

/// Calls the C function at `fnptr`, of function type `callee.fty`, with
/// the Python arguments `args`.
#[inline]
pub fn call_function<'py, A: ArgList<'py> + ?Sized>(
    py: Python<'py>,
    callee: Callee<'_>,
    fnptr: *const u8,
    args: &A,
) -> PyResult<Bound<'py, PyAny>> {
    let fty = callee.fty;
    if fnptr.is_null() {
        return Err(PyRuntimeError::new_err(format!(
            "cannot call null pointer pointer from cdata '{}'",
            fty.cname()
        )));
    }
    let nargs = args.count();
    match plan_of(fty) {
        TypePlan::Fixed(plan) => {
            if nargs != plan.args.len() {
                return Err(PyTypeError::new_err(match callee.name {
                    // A function of a lib: the wording of a builtin, as cffi's.
                    Some(n) => match plan.args.len() {
                        0 => format!("{n}() takes no arguments ({nargs} given)"),
                        1 => format!("{n}() takes exactly one argument ({nargs} given)"),
                        k => format!("{n}() takes exactly {k} arguments ({nargs} given)"),
                    },
                    None => format!(
                        "'{}' expects {} arguments, got {nargs}",
                        fty.cname(),
                        plan.args.len()
                    ),
                }));
            }
            invoke_plan(py, plan, callee, fnptr, args)
        }
        TypePlan::Variadic(v) => {
            let fixed = v.fixed.len();
            if nargs < fixed {
                return Err(PyTypeError::new_err(format!(
                    "{} expects at least {fixed} arguments, got {nargs}",
                    callee.describe()
                )));
            }
            let mut extra = Vec::with_capacity(nargs - fixed);
            for i in fixed..nargs {
                let a = args.item(i)?;
                let Ok(cd) = a.cast::<CData>() else {
                    return Err(PyTypeError::new_err(format!(
                        "argument {} passed in the variadic part needs to be a cdata object (got {})",
                        i + 1,
                        a.get_type().name()?
                    )));
                };
                extra.push(promoted_vararg(&cd.get().ty));
            }
            let plan = v.plan_for(&extra).py()?;
            invoke_plan(py, &plan, callee, fnptr, args)
        }
        TypePlan::Failed(e) => Err(crate::python::errors::to_py(e.clone())),
    }
}

/// Converts the arguments, calls `fnptr` and converts the result; `args`
/// must have as many items as the plan has arguments.
#[inline]
pub fn invoke_plan<'py, A: ArgList<'py> + ?Sized>(
    py: Python<'py>,
    plan: &CallPlan,
    callee: Callee<'_>,
    fnptr: *const u8,
    args: &A,
) -> PyResult<Bound<'py, PyAny>> {
    match &plan.invoker {
        Invoker::Direct(d) => invoke_direct(py, plan, d, callee, fnptr, args),
        Invoker::Libffi(cif) => {
            invoke_frame(py, plan, callee, args, |frame| frame.call(py, cif, fnptr))
        }
        Invoker::Stub(stub) => {
            let stub = *stub;
            invoke_frame(py, plan, callee, args, |frame| frame.call_stub(py, stub))
        }
    }
}

/// `err` with a note naming the argument and the function.
#[cold]
#[inline(never)]
fn arg_error(py: Python<'_>, err: PyErr, i: usize, callee: Callee<'_>) -> PyErr {
    let note = format!("in argument {} of {}", i + 1, callee.describe());
    let _ = err.value(py).call_method1(intern!(py, "add_note"), (note,));
    err
}

// ---------------------------------------------------------------- direct

fn invoke_direct<'py, A: ArgList<'py> + ?Sized>(
    py: Python<'py>,
    plan: &CallPlan,
    d: &DirectCall,
    callee: Callee<'_>,
    fnptr: *const u8,
    args: &A,
) -> PyResult<Bound<'py, PyAny>> {
    let mut regs = Regs::default();
    // Must live (unmoved) until the call returns: pointer arguments may
    // point into it.
    let mut scratch = Temps::scratch();
    let mut temps = Temps::new(&mut scratch);
    for (i, (a, da)) in plan.args.iter().zip(d.args.iter()).enumerate() {
        let v = args.item(i)?;
        if let Err(e) = put_register(&mut regs, &mut temps, a, *da, &v) {
            return Err(arg_error(py, e, i, callee));
        }
    }
    let out = direct::call(py, d.stub, fnptr, &regs);
    drop(temps);
    direct_result(py, plan, d.ret, &out)
}

/// Converts `v` into the register(s) of argument `d`: the common cases
/// here, inlined, the others in [`put_register_slow`].
#[inline(always)]
fn put_register(
    regs: &mut Regs,
    temps: &mut Temps<'_>,
    a: &ArgPlan,
    d: DirectArg,
    v: &Bound<'_, PyAny>,
) -> PyResult<()> {
    match d {
        DirectArg::Int { reg, lo, hi, .. } => {
            if let Some(x) = pyconv::exact_i64(v)
                && x >= lo
                && x <= hi
            {
                regs.int[usize::from(reg)] = x as u64;
                return Ok(());
            }
        }
        DirectArg::F64 { reg } => {
            if let Some(x) = pyconv::exact_f64(v) {
                regs.sse[usize::from(reg)] = x;
                return Ok(());
            }
        }
        DirectArg::F32 { reg } => {
            if let Some(x) = pyconv::exact_f64(v) {
                regs.sse[usize::from(reg)] = direct::f32_in_sse(x as f32);
                return Ok(());
            }
        }
        DirectArg::Pointer { reg } => {
            if let ArgConv::Pointer(p) = &a.conv
                && let Some(x) = same_type_pointer(&a.ty, p, v)
            {
                regs.int[usize::from(reg)] = x as u64;
                return Ok(());
            }
        }
        DirectArg::Struct { size, parts } => {
            if let Some(cd) = as_cdata(v)
                && Arc::ptr_eq(&cd.get().ty, &a.ty)
            {
                let s = Small::of_cdata(cd.get(), usize::from(size))?;
                put_eightbytes(regs, &s, size, parts);
                return Ok(());
            }
        }
        DirectArg::Other(_) => {}
    }
    put_register_slow(regs, temps, a, d.slot(), v)
}

/// [`put_register`] for everything but exact ints, floats and cdata of
/// the very pointer type.
#[inline(never)]
fn put_register_slow(
    regs: &mut Regs,
    temps: &mut Temps<'_>,
    a: &ArgPlan,
    slot: Slot,
    v: &Bound<'_, PyAny>,
) -> PyResult<()> {
    match (&a.conv, slot) {
        (ArgConv::Pointer(p), Slot::Int { reg, .. }) => {
            regs.int[usize::from(reg)] = pointer_arg(temps, &a.ty, p, v)? as u64;
        }
        (ArgConv::FuncPtr, Slot::Int { reg, .. }) => {
            regs.int[usize::from(reg)] = function_arg(&a.ty, v)? as u64;
        }
        (_, Slot::Struct { size, parts }) => {
            let s = struct_arg(&a.ty, usize::from(size), v)?;
            put_eightbytes(regs, &s, size, parts);
        }
        // Everything else: the general conversion, then the register.
        (_, Slot::Int { reg, size, signed }) => {
            let s = Small::from_value(&a.ty, v)?;
            regs.int[usize::from(reg)] = s.int(usize::from(size), signed);
        }
        (_, Slot::F64(reg)) => {
            let s = Small::from_value(&a.ty, v)?;
            regs.sse[usize::from(reg)] = f64::from_bits(s.eightbyte(0));
        }
        (_, Slot::F32(reg)) => {
            let s = Small::from_value(&a.ty, v)?;
            regs.sse[usize::from(reg)] = f64::from_bits(s.eightbyte(0) & 0xffff_ffff);
        }
    }
    Ok(())
}

/// The eightbytes of a struct of `size` bytes into their registers.
#[inline(always)]
fn put_eightbytes(regs: &mut Regs, s: &Small, size: u8, parts: [Part; 2]) {
    for (k, part) in parts.iter().enumerate().take(usize::from(size).div_ceil(8)) {
        match *part {
            Part::Int(r) => regs.int[usize::from(r)] = s.eightbyte(k),
            Part::Sse(r) => regs.sse[usize::from(r)] = f64::from_bits(s.eightbyte(k)),
        }
    }
}

/// The bytes of a struct argument of `size` (at most 16) bytes.
#[inline]
fn struct_arg(ty: &TypeRef, size: usize, v: &Bound<'_, PyAny>) -> PyResult<Small> {
    if let Some(cd) = as_cdata(v) {
        let c = cd.get();
        if Arc::ptr_eq(&c.ty, ty) {
            return Small::of_cdata(c, size);
        }
    }
    Small::from_value(ty, v)
}

/// The Python result of a direct call.
fn direct_result<'py>(
    py: Python<'py>,
    plan: &CallPlan,
    kind: RetKind,
    out: &RetRegs,
) -> PyResult<Bound<'py, PyAny>> {
    match plan.ret {
        RetConv::Void => Ok(py.None().into_bound(py)),
        RetConv::Int { size, signed } => {
            let bits = (size.min(8) * 8) as u32;
            let x = out.int[0];
            if signed {
                let shift = 64 - bits;
                pyconv::int_i64(py, ((x << shift) as i64) >> shift)
            } else {
                let mask = if bits == 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                };
                pyconv::int_u64(py, x & mask)
            }
        }
        RetConv::F64 => pyconv::float(py, out.sse[0]),
        RetConv::F32 => pyconv::float(py, f64::from(direct::f32_of_sse(out.sse[0]))),
        RetConv::Pointer => pointer_result(py, plan, out.int[0] as usize as *mut u8),
        RetConv::Struct { size } => {
            let words = match kind {
                RetKind::Int => [out.int[0], 0],
                RetKind::Sse => [out.sse[0].to_bits(), 0],
                RetKind::IntInt => out.int,
                RetKind::SseSse => [out.sse[0].to_bits(), out.sse[1].to_bits()],
                RetKind::IntSse => [out.int[0], out.sse[0].to_bits()],
                RetKind::SseInt => [out.sse[0].to_bits(), out.int[0]],
            };
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&words[0].to_ne_bytes());
            bytes[8..].copy_from_slice(&words[1].to_ne_bytes());
            Ok(owned_copy(py, &plan.result, &bytes[..size.min(16)])?.into_any())
        }
        RetConv::Value => {
            let word = match kind {
                RetKind::Sse => out.sse[0].to_bits(),
                _ => out.int[0],
            };
            let mut s = Small([0; 16]);
            s.0[..8].copy_from_slice(&word.to_ne_bytes());
            s.value(py, &plan.result)
        }
    }
}

fn pointer_result<'py>(
    py: Python<'py>,
    plan: &CallPlan,
    p: *mut u8,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(borrowed_cdata(py, &plan.result, p)?.into_any())
}

/// A new non-owning cdata of type `ty` (a pointer or function pointer)
/// with the value `p`.
pub fn borrowed_cdata<'py>(
    py: Python<'py>,
    ty: &TypeRef,
    p: *mut u8,
) -> PyResult<Bound<'py, CData>> {
    CData::borrowed(ty.clone(), p, 0, None).into_base_object(py)
}

// ---------------------------------------------------------------- frame

/// A call through a [`Frame`]: libffi or an argument stub (`call`).
fn invoke_frame<'py, A: ArgList<'py> + ?Sized>(
    py: Python<'py>,
    plan: &CallPlan,
    callee: Callee<'_>,
    args: &A,
    call: impl FnOnce(&mut Frame<'_>),
) -> PyResult<Bound<'py, PyAny>> {
    let mut frame = Frame::new(&plan.layout);
    // Must live (unmoved) until the call returns: pointer arguments may
    // point into it.
    let mut scratch = Temps::scratch();
    let mut temps = Temps::new(&mut scratch);
    for (i, a) in plan.args.iter().enumerate() {
        let v = args.item(i)?;
        if let Err(e) = put_arg(&mut frame, &mut temps, i, a, &v) {
            return Err(arg_error(py, e, i, callee));
        }
    }
    call(&mut frame);
    drop(temps);
    result_object(py, plan, &frame)
}

fn put_arg(
    frame: &mut Frame<'_>,
    temps: &mut Temps<'_>,
    i: usize,
    a: &ArgPlan,
    v: &Bound<'_, PyAny>,
) -> PyResult<()> {
    match &a.conv {
        ArgConv::Int { size, lo, hi } => {
            if let Some(x) = pyconv::exact_i64(v)
                && x >= *lo
                && x <= *hi
            {
                frame.put_int(i, *size, x);
                return Ok(());
            }
            frame.put_value(i, &a.ty, v)
        }
        ArgConv::F64 => match pyconv::exact_f64(v) {
            Some(f) => {
                frame.put_f64(i, f);
                Ok(())
            }
            None => frame.put_value(i, &a.ty, v),
        },
        ArgConv::F32 => match pyconv::exact_f64(v) {
            Some(f) => {
                frame.put_f32(i, f as f32);
                Ok(())
            }
            None => frame.put_value(i, &a.ty, v),
        },
        ArgConv::FuncPtr => {
            frame.put_ptr(i, function_arg(&a.ty, v)?);
            Ok(())
        }
        ArgConv::Value => {
            if let Some(cd) = as_cdata(v) {
                let c = cd.get();
                if a.ty.is_struct() && Arc::ptr_eq(&c.ty, &a.ty) {
                    return frame.put_cdata(i, c);
                }
            }
            frame.put_value(i, &a.ty, v)
        }
        ArgConv::Pointer(p) => {
            frame.put_ptr(i, pointer_arg(temps, &a.ty, p, v)?);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------- pointers

fn not_a_pointer(ty: &TypeRef, v: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "initializer for ctype '{}' must be a cdata pointer, not {}",
        ty.cname(),
        convert::describe(v)
    ))
}

/// The address `v` gives a pointer argument of type `ty`, through the
/// general checks.  The argument keeps its memory alive during the call;
/// the keeper the memory layer returns is released at once, as a `Bound`
/// (a dropped `Py` would wait in PyO3's pool: this path does not count as
/// attached for PyO3, see `python::function`).
fn pointer_address(ty: &TypeRef, v: &Bound<'_, PyAny>) -> PyResult<usize> {
    let (addr, keep) = convert::pointer_value(ty, v)?;
    drop(keep.map(|k| k.into_bound(v.py())));
    Ok(addr as usize)
}

/// A function-pointer argument: a cdata (or a function of a `lib`).
fn function_arg(ty: &TypeRef, v: &Bound<'_, PyAny>) -> PyResult<usize> {
    if v.is_none() {
        return Err(not_a_pointer(ty, v));
    }
    pointer_address(ty, v)
}

/// A pointer argument: the address of a cdata pointer or array, or of a
/// temporary array made from a Python value (as cffi allows for calls).
#[inline]
fn pointer_arg(
    temps: &mut Temps<'_>,
    ty: &TypeRef,
    p: &PointerArg,
    v: &Bound<'_, PyAny>,
) -> PyResult<usize> {
    if let Some(addr) = same_type_pointer(ty, p, v) {
        return Ok(addr);
    }
    if as_cdata(v).is_some() {
        return pointer_address(ty, v);
    }
    pointer_from_python(temps, ty, p, v)
}

/// The address of `v` for a pointer argument of type `ty` in the common
/// cases that need none of the general checks: a live cdata of the very
/// pointer type, or an array of its items.
#[inline(always)]
fn same_type_pointer(ty: &TypeRef, p: &PointerArg, v: &Bound<'_, PyAny>) -> Option<usize> {
    // The cdata classes by identity: cheaper than PyO3's subclass check.
    let cd = as_cdata(v)?;
    let c = cd.get();
    let same = Arc::ptr_eq(&c.ty, ty)
        || matches!(&c.ty.kind, Kind::Array { item, .. } if Arc::ptr_eq(item, &p.item));
    if same {
        c.ptr().ok().map(|p| p as usize)
    } else {
        None
    }
}

fn pointer_from_python(
    temps: &mut Temps<'_>,
    ty: &TypeRef,
    p: &PointerArg,
    v: &Bound<'_, PyAny>,
) -> PyResult<usize> {
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
        return Ok(temps.bytes(bytes)? as usize);
    }
    let Some(isize_) = p.item_size else {
        return file_or_default(ty, p, v);
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
        return file_or_default(ty, p, v);
    };
    let arr = intern::array(&p.item, Some(len.max(1)));
    Ok(temps.array(&arr, len.max(1), isize_, v)? as usize)
}

fn file_or_default(ty: &TypeRef, p: &PointerArg, v: &Bound<'_, PyAny>) -> PyResult<usize> {
    if p.file_items
        && let Some(f) = file_pointer(v)?
    {
        return Ok(f as usize);
    }
    pointer_address(ty, v)
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
                pyconv::int_i64(py, v as i64)?
            } else {
                pyconv::int_u64(py, v as u64)?
            }
        }
        RetConv::F64 => pyconv::float(py, frame.result_f64(8))?,
        RetConv::F32 => pyconv::float(py, frame.result_f64(4))?,
        RetConv::Pointer => pointer_result(py, plan, frame.result_ptr())?,
        RetConv::Struct { size } => {
            owned_copy(py, &plan.result, frame.result_bytes(size))?.into_any()
        }
        RetConv::Value => frame.result_value(py, &plan.result)?,
    })
}

/// A new owning cdata of struct type `ty` holding a copy of `bytes`.
pub fn owned_copy<'py>(py: Python<'py>, ty: &TypeRef, bytes: &[u8]) -> PyResult<Bound<'py, CData>> {
    let align = ty.align().unwrap_or(1);
    let cd = CData::owned_copy(ty.clone(), bytes, align)
        .map_err(|_| PyMemoryError::new_err("cannot allocate a struct"))?;
    cd.into_object(py, CDataClass::Own)
}

/// The plan of a non-variadic function type, for callbacks.
pub fn fixed_plan(fty: &TypeRef) -> Option<Arc<CallPlan>> {
    match plan_of(fty) {
        TypePlan::Fixed(p) => Some(p.clone()),
        _ => None,
    }
}
