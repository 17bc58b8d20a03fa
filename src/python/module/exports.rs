//! The exports table: the functions the C code of cffi-built modules
//! calls through `_cffi_exports[i]`, with exactly the signatures of
//! cffi's `_cffi_include.h` (see `module::format::EXPORT_NAMES`).
//!
//! They run with the GIL held (cffi's wrappers call them), except
//! `_cffi_save_errno`/`_cffi_restore_errno` (called around the C call,
//! GIL released) and `_cffi_call_python` (any thread, see
//! [`super::extern_py`]).  On error they leave a Python exception set and
//! return the error value the generated code checks (`-1`, `NULL`,
//! `(type)-1`).  A panic stops in each function and becomes a
//! `SystemError`.  A `struct _cffi_ctypedescr *` is the address of the
//! `CType` object the module's `_cffi_types[i]` holds (written back by
//! `ModuleState::prepare_wrapper`); anything else is refused with an
//! error, never dereferenced as a type.

use std::ffi::{c_char, c_int, c_uint, c_void};

use pyo3::exceptions::{PyOverflowError, PySystemError, PyTypeError};
use pyo3::ffi::{Py_ssize_t, PyObject};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyList, PyString, PyTuple};

use crate::call::marshal;
use crate::memory::cdata::CData;
use crate::memory::convert;
use crate::module::format::NUM_EXPORTS;
use crate::python::ctype::PyCType;
use crate::python::errors::CoreResult;
use crate::types::{Kind, PrimFamily, TypeRef, intern};

/// Runs an export's body with the GIL held (the caller's promise):
/// errors are restored as the current exception and `err` returned.
fn run<R>(err: R, f: impl FnOnce(Python<'_>) -> PyResult<R>) -> R {
    crate::python::capi::slot_guard(err, "an export of _cffi_backend", f)
}

/// A borrowed object passed by C.
///
/// # Safety
/// `o` must be a live object (or NULL, refused), with the GIL held.
unsafe fn obj<'py>(py: Python<'py>, o: *mut PyObject) -> PyResult<Bound<'py, PyAny>> {
    if o.is_null() {
        return Err(PySystemError::new_err(
            "rcffi: NULL object passed to an export",
        ));
    }
    // SAFETY: the caller's guarantee.
    Ok(unsafe { Bound::from_borrowed_ptr(py, o) })
}

/// [`run`] for an export taking an object `o` from C.
fn run_obj<R>(err: R, o: *mut PyObject, f: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<R>) -> R {
    run(err, |py| {
        // SAFETY: the exports are called by a module's C code with live
        // objects (or NULL, refused by `obj`).
        let o = unsafe { obj(py, o) }?;
        f(&o)
    })
}

/// The type of a `struct _cffi_ctypedescr *`.
fn ctype(py: Python<'_>, ct: *mut c_void) -> PyResult<TypeRef> {
    if ct.is_null() || (ct as usize) & 1 != 0 {
        return Err(PySystemError::new_err(
            "rcffi: a C wrapper read a type slot that holds no type object",
        ));
    }
    // SAFETY: an even, non-null value of a type slot is the address of
    // the CType object written back there (see the module docs).
    let o = unsafe { Bound::from_borrowed_ptr(py, ct.cast()) };
    let t = o
        .cast::<PyCType>()
        .map_err(|_| PySystemError::new_err("rcffi: a type slot holds no CType"))?;
    Ok(t.get().t.clone())
}

// ---------------------------------------------------------------- integers

/// cffi's `_convert_overflow`.
fn overflow(o: &Bound<'_, PyAny>, what: &str) -> PyErr {
    let shown = o.str().map(|s| s.to_string()).unwrap_or_default();
    PyOverflowError::new_err(format!("integer {shown} does not fit '{what}'"))
}

fn signed(o: &Bound<'_, PyAny>, bits: u32) -> PyResult<i64> {
    let v = convert::as_integer(o)?;
    let (lo, hi) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
    if v < lo || v > hi {
        return Err(overflow(o, &format!("{bits}-bit int")));
    }
    Ok(v as i64)
}

fn unsigned(o: &Bound<'_, PyAny>, bits: u32) -> PyResult<u64> {
    if o.is_instance_of::<CData>() || o.is_instance_of::<PyFloat>() {
        return Err(PyTypeError::new_err("an integer is required"));
    }
    let v = convert::as_integer(o)?;
    if v < 0 {
        return Err(PyOverflowError::new_err(
            "can't convert negative number to unsigned",
        ));
    }
    if v > u64::MAX as i128 {
        return Err(PyOverflowError::new_err("int too big to convert"));
    }
    if v >= 1i128 << bits {
        return Err(overflow(o, &format!("{bits}-bit unsigned int")));
    }
    Ok(v as u64)
}

macro_rules! to_c_int {
    ($name:ident, $ret:ty, signed, $bits:expr) => {
        unsafe extern "C" fn $name(o: *mut PyObject) -> $ret {
            run_obj(-1 as $ret, o, |o| Ok(signed(o, $bits)? as $ret))
        }
    };
    ($name:ident, $ret:ty, unsigned, $bits:expr) => {
        unsafe extern "C" fn $name(o: *mut PyObject) -> $ret {
            run_obj(!0 as $ret, o, |o| Ok(unsigned(o, $bits)? as $ret))
        }
    };
}

to_c_int!(to_c_i8, c_int, signed, 8);
to_c_int!(to_c_u8, c_int, unsigned, 8);
to_c_int!(to_c_i16, c_int, signed, 16);
to_c_int!(to_c_u16, c_int, unsigned, 16);
to_c_int!(to_c_i32, c_int, signed, 32);
to_c_int!(to_c_u32, c_uint, unsigned, 32);
to_c_int!(to_c_i64, i64, signed, 64);
to_c_int!(to_c_u64, u64, unsigned, 64);

unsafe extern "C" fn to_c_bool(o: *mut PyObject) -> bool {
    run_obj(true, o, |o| match convert::as_integer(o)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(overflow(o, "_Bool")),
    })
}

// ---------------------------------------------------------------- chars

/// Stores `o` as a value of the primitive `name` and reads it back as an
/// integer (the memory layer's conversion and messages).
fn as_char(o: &Bound<'_, PyAny>, name: &str) -> PyResult<i128> {
    let t = intern::prim(name);
    let p = t.primitive().unwrap_or_else(|| unreachable_prim());
    let mut buf = [0u8; 8];
    // SAFETY: `buf` holds any character type.
    unsafe { convert::write_primitive(p, &t, buf.as_mut_ptr(), o) }?;
    // SAFETY: as above.
    Ok(unsafe { crate::memory::raw::read_int(buf.as_ptr(), p.size, false) })
}

fn unreachable_prim() -> &'static crate::types::Primitive {
    &crate::types::primitive::PRIMITIVES[0]
}

fn char_object<'py>(py: Python<'py>, name: &str, v: u32) -> PyResult<Bound<'py, PyAny>> {
    let t = intern::prim(name);
    let p = t.primitive().unwrap_or_else(|| unreachable_prim());
    let bytes = v.to_ne_bytes();
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(&bytes);
    // SAFETY: `buf` holds a value of `p` (at most 4 bytes, little or big
    // endian as written by to_ne_bytes: the low bytes first on LE).
    let src = if cfg!(target_endian = "big") {
        buf[4 - p.size..].as_ptr()
    } else {
        buf.as_ptr()
    };
    // SAFETY: as above.
    unsafe { convert::read_primitive(py, p, &t, src) }
}

/// The primitive names of `wchar_t` and of the other wide type.
const WCHAR: &str = "wchar_t";
const WCHAR_OTHER: &str = if size_of::<libc::wchar_t>() == 4 {
    "char16_t"
} else {
    "char32_t"
};

unsafe extern "C" fn to_c_char(o: *mut PyObject) -> c_int {
    run_obj(-1, o, |o| Ok(as_char(o, "char")? as c_int))
}

unsafe extern "C" fn from_c_char(x: c_char) -> *mut PyObject {
    run(std::ptr::null_mut(), |py| {
        Ok(PyBytes::new(py, &[x as u8]).into_any().into_ptr())
    })
}

unsafe extern "C" fn to_c_wchar_t(o: *mut PyObject) -> libc::wchar_t {
    run_obj(-1 as libc::wchar_t, o, |o| {
        Ok(as_char(o, WCHAR)? as libc::wchar_t)
    })
}

unsafe extern "C" fn from_c_wchar_t(x: libc::wchar_t) -> *mut PyObject {
    run(std::ptr::null_mut(), |py| {
        Ok(char_object(py, WCHAR, x as u32)?.into_ptr())
    })
}

unsafe extern "C" fn to_c_wchar3216_t(o: *mut PyObject) -> c_int {
    run_obj(-1, o, |o| Ok(as_char(o, WCHAR_OTHER)? as c_int))
}

unsafe extern "C" fn from_c_wchar3216_t(x: c_int) -> *mut PyObject {
    run(std::ptr::null_mut(), |py| {
        Ok(char_object(py, WCHAR_OTHER, x as u32)?.into_ptr())
    })
}

// ---------------------------------------------------------------- long double

/// The bytes of the `long double` value of `o` (cffi: a long double cdata
/// as is, else `float(o)`), for `exports.c`'s `_cffi_to_c_long_double`.
/// Returns 0, or -1 with an exception set.
#[unsafe(no_mangle)]
unsafe extern "C" fn rcffi_long_double_of(o: *mut PyObject, out: *mut u8) -> c_int {
    run(-1, |py| {
        // SAFETY: called by exports.c with a live object.
        let o = unsafe { obj(py, o) }?;
        let t = intern::prim("long double");
        let p = t.primitive().unwrap_or_else(|| unreachable_prim());
        if let Ok(c) = o.cast::<CData>()
            && c.get()
                .ty
                .primitive()
                .is_some_and(|q| q.family == PrimFamily::LongDouble)
        {
            // SAFETY: `out` holds a long double (16 bytes, exports.c); the
            // cdata holds one.
            unsafe { crate::memory::raw::copy(out, c.get().ptr().py()?, p.size) };
            return Ok(0);
        }
        let f = o.extract::<f64>()?;
        // SAFETY: `out` holds a long double.
        unsafe { crate::memory::raw::write_long_double(out, p.size, f) };
        Ok(0)
    })
}

unsafe extern "C" {
    /// In `exports.c`: `long double f(PyObject *)` (Rust has no long
    /// double); only its address is taken.
    fn rcffi_export_to_c_long_double();
}

// ---------------------------------------------------------------- pointers

unsafe extern "C" fn from_c_pointer(p: *mut c_char, ct: *mut c_void) -> *mut PyObject {
    run(std::ptr::null_mut(), |py| {
        let t = ctype(py, ct)?;
        let slot = p;
        // SAFETY: `slot` is a local holding a pointer value of type `t`.
        unsafe { convert::read(py, &t, &slot as *const _ as *mut u8, None) }.map(Bound::into_ptr)
    })
}

unsafe extern "C" fn to_c_pointer(o: *mut PyObject, ct: *mut c_void) -> *mut c_char {
    run(std::ptr::null_mut(), |py| {
        // SAFETY: called by a module's C code with a live object.
        let o = unsafe { obj(py, o) }?;
        let t = ctype(py, ct)?;
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: `out` holds a pointer of type `t`.
        let r = unsafe { convert::write(&t, &mut out as *mut _ as *mut u8, &o, None) };
        match r {
            Ok(()) => Ok(out),
            Err(e) => {
                if t.item().is_some_and(crate::call::plan::is_file_type)
                    && let Some(f) = marshal::file_pointer(&o)?
                {
                    return Ok(f as *mut c_char);
                }
                Err(e)
            }
        }
    })
}

unsafe extern "C" fn from_c_deref(data: *mut c_char, ct: *mut c_void) -> *mut PyObject {
    run(std::ptr::null_mut(), |py| {
        let t = ctype(py, ct)?;
        // SAFETY: the module's C code passes the address of a value of `t`.
        unsafe { convert::read(py, &t, data.cast(), None) }.map(Bound::into_ptr)
    })
}

unsafe extern "C" fn to_c(data: *mut c_char, ct: *mut c_void, o: *mut PyObject) -> c_int {
    run(-1, |py| {
        // SAFETY: called by a module's C code with a live object.
        let o = unsafe { obj(py, o) }?;
        let t = ctype(py, ct)?;
        // SAFETY: the module's C code passes storage for a value of `t`.
        unsafe { convert::write(&t, data.cast(), &o, None) }?;
        Ok(0)
    })
}

unsafe extern "C" fn from_c_struct(data: *mut c_char, ct: *mut c_void) -> *mut PyObject {
    run(std::ptr::null_mut(), |py| {
        let t = ctype(py, ct)?;
        let size = t
            .size()
            .ok_or_else(|| PyTypeError::new_err(t.unknown_size_message()))?;
        // SAFETY: the module's C code passes a struct of type `t`.
        let bytes = unsafe { crate::memory::raw::slice(data.cast(), size) };
        Ok(marshal::owned_copy(py, &t, bytes)?.into_any().into_ptr())
    })
}

/// How many items a list, tuple or str initialiser of `T *` gives (cffi:
/// a str has one more for its NUL), or `None` for other objects.
fn items_of(item: &TypeRef, o: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
    if let Ok(l) = o.cast::<PyList>() {
        return Ok(Some(l.len()));
    }
    if let Ok(t) = o.cast::<PyTuple>() {
        return Ok(Some(t.len()));
    }
    if let Ok(s) = o.cast::<PyString>()
        && let Some(p) = item.primitive()
        && p.is_char_like()
        && p.size > 1
    {
        return Ok(Some(convert::encode_wide(s, p)?.len() + 1));
    }
    if o.is_instance_of::<PyString>() {
        return Ok(Some(convert::code_points(o.cast::<PyString>()?)?.len() + 1));
    }
    Ok(None)
}

unsafe extern "C" fn prepare_pointer_call_argument(
    ct: *mut c_void,
    o: *mut PyObject,
    out: *mut *mut c_char,
) -> Py_ssize_t {
    run(-1, |py| {
        // SAFETY: called by a module's C code with a live object.
        let o = unsafe { obj(py, o) }?;
        let t = ctype(py, ct)?;
        let item = t.item().cloned().unwrap_or_else(intern::void);
        let write_default = |o: &Bound<'_, PyAny>| -> PyResult<Py_ssize_t> {
            // SAFETY: `out` is the C code's pointer variable of type `t`.
            unsafe { convert::write(&t, out.cast(), o, None) }?;
            Ok(0)
        };
        if o.is_instance_of::<CData>() {
            return write_default(&o);
        }
        if let Ok(b) = o.cast::<PyBytes>() {
            let p = item.primitive();
            let bytes_ok = item.is_void()
                || p.is_some_and(|p| {
                    p.size == 1 && (p.is_integer() || p.family == PrimFamily::Char)
                });
            if !bytes_ok {
                return write_default(&o);
            }
            if p.is_some_and(|p| p.family == PrimFamily::Bool)
                && b.as_bytes().iter().any(|&c| c > 1)
            {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "an array of _Bool can only contain \\x00 or \\x01",
                ));
            }
            // SAFETY: `out` is the C code's pointer variable; the bytes
            // stay alive for the call (the argument object holds them),
            // and C is not to modify them (as in cffi).
            unsafe { *out = b.as_bytes().as_ptr() as *mut c_char };
            return Ok(0);
        }
        if t.item().is_some_and(crate::call::plan::is_file_type)
            && let Some(f) = marshal::file_pointer(&o)?
        {
            // SAFETY: as above.
            unsafe { *out = f as *mut c_char };
            return Ok(0);
        }
        let Some(n) = items_of(&item, &o)? else {
            return write_default(&o);
        };
        let Some(size) = item.size().filter(|s| *s > 0) else {
            return write_default(&o);
        };
        let bytes = n
            .checked_mul(size)
            .filter(|b| *b <= isize::MAX as usize)
            .ok_or_else(|| PyOverflowError::new_err("array size would overflow a Py_ssize_t"))?;
        Ok(bytes.max(1) as Py_ssize_t)
    })
}

unsafe extern "C" fn convert_array_from_object(
    data: *mut c_char,
    ct: *mut c_void,
    o: *mut PyObject,
) -> c_int {
    run(-1, |py| {
        // SAFETY: called by a module's C code with a live object.
        let o = unsafe { obj(py, o) }?;
        let t = ctype(py, ct)?;
        let (item, len) = match &t.kind {
            Kind::Pointer(item) => (item.clone(), items_of(item, &o)?),
            Kind::Array { item, len } => (item.clone(), *len),
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "expected a pointer or array, not '{}'",
                    t.cname()
                )));
            }
        };
        let arr = intern::array(&item, len);
        // SAFETY: the C code passes `datasize` bytes, as
        // prepare_pointer_call_argument computed from the same object.
        unsafe { convert::write(&arr, data.cast(), &o, None) }?;
        Ok(0)
    })
}

// ---------------------------------------------------------------- errno

unsafe extern "C" fn restore_errno() {
    crate::call::raw::set_c_errno(crate::call::errno::get());
}

unsafe extern "C" fn save_errno() {
    crate::call::errno::set(crate::call::raw::c_errno());
}

unsafe extern "C" fn get_struct_layout(_nums: *mut Py_ssize_t) -> *mut PyObject {
    run(std::ptr::null_mut(), |_| {
        Err(pyo3::exceptions::PyNotImplementedError::new_err(
            "_cffi_get_struct_layout is not used any more",
        ))
    })
}

/// The table copied into a module's `_cffi_exports` (its first `n`
/// entries, as the module's version asks).
pub fn table() -> [*mut c_void; NUM_EXPORTS] {
    [
        std::ptr::null_mut(),
        to_c_i8 as *mut c_void,
        to_c_u8 as *mut c_void,
        to_c_i16 as *mut c_void,
        to_c_u16 as *mut c_void,
        to_c_i32 as *mut c_void,
        to_c_u32 as *mut c_void,
        to_c_i64 as *mut c_void,
        to_c_u64 as *mut c_void,
        to_c_char as *mut c_void,
        from_c_pointer as *mut c_void,
        to_c_pointer as *mut c_void,
        get_struct_layout as *mut c_void,
        restore_errno as *mut c_void,
        save_errno as *mut c_void,
        from_c_char as *mut c_void,
        from_c_deref as *mut c_void,
        to_c as *mut c_void,
        from_c_struct as *mut c_void,
        to_c_wchar_t as *mut c_void,
        from_c_wchar_t as *mut c_void,
        rcffi_export_to_c_long_double as *mut c_void,
        to_c_bool as *mut c_void,
        prepare_pointer_call_argument as *mut c_void,
        convert_array_from_object as *mut c_void,
        super::extern_py::call_python as *mut c_void,
        to_c_wchar3216_t as *mut c_void,
        from_c_wchar3216_t as *mut c_void,
    ]
}
