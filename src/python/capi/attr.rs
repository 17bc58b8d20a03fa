//! The attribute slots of the cdata classes (`tp_getattro`,
//! `tp_setattro`) as plain C functions.
//!
//! `p.field` on a struct or a pointer to a struct is the hot path of
//! much cffi code.  The fast path here handles the common case without
//! PyO3's slot trampoline: the attribute name is found by identity among
//! the interned field names of the struct (attribute names in Python code
//! are interned too), and a plain number (integer of 1 to 8 bytes,
//! `float`, `double`) is read or written directly.  Everything else —
//! other names, other field types, NULL pointers, released memory, values
//! that need a conversion or do not fit, names that only compare equal —
//! goes to the general path (`cdata_py::getattr_slow` and
//! `setattr_slow`), through PyO3's trampoline, which gives cffi's
//! results, checks and messages.  A panic never unwinds into C.

use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::python::pyo3_internals::get_trampoline_function;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::memory::cdata::{CData, Owner};
use crate::memory::object::{CDataClass, cdata_of};
use crate::memory::raw::{self, Scalar, ScalarValue};
use crate::python::ctype::{FastField, FieldAccess, fast_fields};
use crate::types::{Kind, TypeRef};

/// The field named by the object `name` (by identity), and the address
/// of the struct it belongs to, if the fast path applies.
#[inline]
fn fast_field(cd: &CData, name: *mut ffi::PyObject) -> Option<(&FastField, *mut u8)> {
    let st = match &cd.ty.kind {
        Kind::Struct(_) => &cd.ty,
        Kind::Pointer(item) if item.is_struct() => item,
        _ => return None,
    };
    let f = fast_fields(st)?.iter().find(|f| f.name.as_ptr() == name)?;
    if matches!(f.access, FieldAccess::Other) {
        return None;
    }
    // NULL and released memory: the general path gives the error.
    let addr = cd.live_ptr().filter(|a| !a.is_null())?;
    Some((f, addr))
}

/// Reads the pointer at `at` in the memory of `cd` (a field or an item)
/// as a new cdata of type `ty`, as `convert::read` does: a pointer that
/// rcffi stored with a keep-alive reference keeps it alive again.
/// `None`: the general path (memory of a view of a view).
///
/// # Safety
/// `at` must hold a pointer inside the live struct of `cd`; the GIL held.
pub(super) unsafe fn read_pointer_field(
    py: Python<'_>,
    cd: &CData,
    ty: &TypeRef,
    at: *mut u8,
) -> Option<*mut ffi::PyObject> {
    let owner = if cd.owns_memory() {
        Some(cd)
    } else {
        match &cd.owner {
            Owner::Borrowed { base: Some(b) } => Some(b.get()).filter(|b| b.owns_memory()),
            Owner::Borrowed { base: None } => None,
            _ => return None,
        }
    };
    // SAFETY: by the caller's guarantee.
    let v = unsafe { raw::read_ptr(at) };
    if let Some(p) = owner.and_then(|o| o.kept_pointer(py, at as usize, ty, v)) {
        // A failure goes to the general path, which fails the same way.
        return p.ok().map(Bound::into_ptr);
    }
    // SAFETY: a pointer without a base; the GIL is held.
    Some(unsafe { CData::borrowed(ty.clone(), v, 0, None).into_object_raw(CDataClass::Base) })
}

/// `getattr(cdata, name)`.
///
/// # Safety
/// The `tp_getattro` slot of the cdata classes: `obj` is a live cdata
/// object, `name` a str, the thread attached to the interpreter.
pub unsafe extern "C" fn getattro(
    obj: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let fast = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: CPython calls this slot with a live object of a cdata
        // class, with the GIL.
        let (cd, py) = unsafe { (cdata_of(obj), Python::assume_attached()) };
        let (f, addr) = fast_field(cd, name)?;
        // SAFETY: the field lies inside the live struct at addr (the
        // struct is complete; NULL and release were checked).
        let at = unsafe { addr.add(f.offset) };
        match &f.access {
            // SAFETY: as above; NULL with an exception set on failure,
            // which this slot returns then.
            FieldAccess::Scalar(s) => Some(unsafe { read_scalar(*s, at) }),
            // SAFETY: as above.
            FieldAccess::Pointer(ty) => unsafe { read_pointer_field(py, cd, ty, at) },
            FieldAccess::Other => None,
        }
    }));
    match fast {
        Ok(Some(r)) => r,
        // SAFETY: the general path, through PyO3's trampoline (GIL count,
        // panics, errors), with the arguments CPython gave.
        Ok(None) => unsafe { get_trampoline_function!(getattrofunc, getattr_general)(obj, name) },
        Err(_) => panic_error(),
    }
}

/// `setattr(cdata, name, value)` and `del cdata.name` (`value` NULL).
///
/// # Safety
/// The `tp_setattro` slot of the cdata classes: as for [`getattro`],
/// `value` being NULL or a live object.
pub unsafe extern "C" fn setattro(
    obj: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    let fast = catch_unwind(AssertUnwindSafe(|| {
        if value.is_null() {
            return false;
        }
        // SAFETY: CPython calls this slot with a live object of a cdata
        // class.
        let cd = unsafe { cdata_of(obj) };
        let Some((f, addr)) = fast_field(cd, name) else {
            return false;
        };
        let FieldAccess::Scalar(s) = f.access else {
            return false;
        };
        // SAFETY: value is a live object; the field lies inside the live
        // struct at addr.
        unsafe { write_scalar(s, addr.add(f.offset), value) }
    }));
    match fast {
        Ok(true) => 0,
        // SAFETY: as in getattro.
        Ok(false) => unsafe {
            get_trampoline_function!(setattrofunc, setattr_general)(obj, name, value)
        },
        Err(_) => {
            panic_error();
            -1
        }
    }
}

/// Writes `value` into the scalar at `at` if it is an int (for integer
/// kinds) or a float (for float kinds) that fits; false (nothing written,
/// no exception) otherwise: the general path converts or raises cffi's
/// error.
///
/// # Safety
/// `at` must be valid for writing a value of kind `s`; `value` a live
/// object; the GIL held.
#[inline]
pub(super) unsafe fn write_scalar(s: Scalar, at: *mut u8, value: *mut ffi::PyObject) -> bool {
    // SAFETY: by the caller's guarantee; the C-API calls only read the
    // number, an overflow error being cleared.
    unsafe {
        if ffi::PyLong_CheckExact(value) != 0 && !s.is_float() {
            let mut overflow: c_int = 0;
            let v = ffi::PyLong_AsLongLongAndOverflow(value, &mut overflow);
            if overflow != 0 || (v == -1 && !ffi::PyErr_Occurred().is_null()) {
                ffi::PyErr_Clear();
                return false;
            }
            return raw::write_scalar_int(s, at, v);
        }
        if ffi::PyFloat_CheckExact(value) != 0 && s.is_float() {
            return raw::write_scalar_float(s, at, ffi::PyFloat_AsDouble(value));
        }
    }
    false
}

/// Reads the scalar at `at` as a Python number (NULL with an exception
/// set if Python is out of memory).
///
/// # Safety
/// `at` must hold a value of kind `s`; the GIL held.
#[inline]
pub(super) unsafe fn read_scalar(s: Scalar, at: *const u8) -> *mut ffi::PyObject {
    // SAFETY: by the caller's guarantee.
    unsafe {
        match raw::read_scalar(s, at) {
            ScalarValue::Int(i) => ffi::PyLong_FromLongLong(i),
            ScalarValue::UInt(u) => ffi::PyLong_FromUnsignedLongLong(u),
            ScalarValue::Float(x) => ffi::PyFloat_FromDouble(x),
        }
    }
}

/// Sets a SystemError for a panic caught in a fast path; returns NULL.
#[cold]
fn panic_error() -> *mut ffi::PyObject {
    // SAFETY: sets the current exception with a static message.
    unsafe {
        ffi::PyErr_SetString(
            ffi::PyExc_SystemError,
            c"rcffi: internal error (panic) in a cdata attribute access".as_ptr(),
        );
    }
    std::ptr::null_mut()
}

/// The general path of `getattr`: PyO3 holds the GIL count.
///
/// # Safety
/// Called by the trampoline with the slot's arguments.
unsafe fn getattr_general(
    py: Python<'_>,
    obj: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: both are live objects borrowed for the call; obj is a cdata
    // and CPython passes a str name.
    let (slf, name) = unsafe {
        (
            Borrowed::from_ptr(py, obj).cast_unchecked::<CData>(),
            Borrowed::from_ptr(py, name).cast::<PyString>()?,
        )
    };
    crate::python::cdata_py::getattr_slow(&slf, &name).map(Bound::into_ptr)
}

/// The general path of `setattr` / `delattr`.
///
/// # Safety
/// Called by the trampoline with the slot's arguments.
unsafe fn setattr_general(
    py: Python<'_>,
    obj: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> PyResult<c_int> {
    // SAFETY: as in getattr_general; value is NULL or a live object.
    let (slf, name, value) = unsafe {
        (
            Borrowed::from_ptr(py, obj).cast_unchecked::<CData>(),
            Borrowed::from_ptr(py, name).cast::<PyString>()?,
            Borrowed::from_ptr_or_opt(py, value),
        )
    };
    crate::python::cdata_py::setattr_slow(&slf, &name, value.as_deref())?;
    Ok(0)
}
