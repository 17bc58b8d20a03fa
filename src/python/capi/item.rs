//! The item slots of the cdata classes (`mp_subscript`,
//! `mp_ass_subscript`) as plain C functions.
//!
//! `p[i]` and `p[i] = x` on pointers and arrays are the inner loop of
//! much cffi code.  The fast path here handles an int index with the same
//! checks as the general path (bounds of arrays, index 0 only for the
//! pointers `new` returned, NULL, released memory): reads of plain numbers
//! (integers of 1 to 8 bytes, `float`, `double`, enums), pointers and
//! struct or array views, writes of plain numbers.  Everything else —
//! slices, other item types, values that need a conversion or do not fit,
//! every error — goes to the general path (`cdata_py::getitem_slow`,
//! `setitem_slow`) through PyO3's trampoline.

use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::python::pyo3_internals::get_trampoline_function;
use pyo3::ffi;
use pyo3::prelude::*;

use super::attr::{read_pointer_field, read_scalar, write_scalar};
use crate::memory::cdata::CData;
use crate::memory::object::{CDataClass, cdata_of};
use crate::memory::raw::Scalar;
use crate::types::{Kind, TypeRef};

/// How the fast path reads an item.
enum ItemAccess<'a> {
    /// A plain number.
    Scalar(Scalar),
    /// A pointer of this type (with `convert::read`'s keep-alive lookup).
    Pointer(&'a TypeRef),
    /// A struct or array of this type: a view keeping the memory's owner
    /// alive; `true` for `p[0]` of the `struct *` that `new` returned,
    /// which cffi shows as the owner (`__CDataOwn`).
    View(&'a TypeRef, bool),
}

/// How to access item `key` of `cd` and its address, if the fast path
/// applies.
///
/// # Safety
/// `key` must be a live object; the GIL held.
#[inline]
unsafe fn fast_item(cd: &CData, key: *mut ffi::PyObject) -> Option<(ItemAccess<'_>, *mut u8)> {
    // SAFETY: key is a live object; an overflow error is cleared.
    let i = unsafe {
        if ffi::PyLong_CheckExact(key) == 0 {
            return None;
        }
        let mut overflow: c_int = 0;
        let i = ffi::PyLong_AsLongLongAndOverflow(key, &mut overflow);
        if overflow != 0 || (i == -1 && !ffi::PyErr_Occurred().is_null()) {
            ffi::PyErr_Clear();
            return None;
        }
        isize::try_from(i).ok()?
    };
    let (item, new_pointer) = match &cd.ty.kind {
        // `new` pointers only have item 0.
        Kind::Pointer(item) if i == 0 || !cd.is_new_owner() => (item, cd.is_new_owner()),
        Kind::Array { item, .. } if i >= 0 && (i as usize) < cd.array_len()? => (item, false),
        _ => return None,
    };
    let (access, size) = match &item.kind {
        Kind::Primitive(p) => {
            let s = Scalar::of(p)?;
            (ItemAccess::Scalar(s), s.size())
        }
        Kind::Enum(_) => {
            let s = Scalar::of(item.storage_primitive()?)?;
            (ItemAccess::Scalar(s), s.size())
        }
        Kind::Pointer(_) | Kind::Function(_) => (ItemAccess::Pointer(item), size_of::<usize>()),
        Kind::Struct(_) => (ItemAccess::View(item, new_pointer), item.size()?),
        Kind::Array { .. } => (ItemAccess::View(item, false), item.size()?),
        Kind::Void => return None,
    };
    // NULL and released memory: the general path gives the error.
    let base = cd.live_ptr().filter(|p| !p.is_null())?;
    Some((access, base.wrapping_offset(i.wrapping_mul(size as isize))))
}

/// `cdata[key]`.
///
/// # Safety
/// The `mp_subscript` slot of the cdata classes: `obj` a live cdata
/// object, `key` a live object, the thread attached to the interpreter.
pub unsafe extern "C" fn subscript(
    obj: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let fast = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: CPython calls this slot with a live cdata object and key,
        // with the GIL.
        let (cd, py) = unsafe { (cdata_of(obj), Python::assume_attached()) };
        // SAFETY: as above.
        let (access, at) = unsafe { fast_item(cd, key)? };
        // `at` is item `key`, checked as the general path does (bounds of
        // arrays, NULL, release); a pointer's items are the caller's
        // business, as in C and cffi.
        match access {
            // SAFETY: see above.
            ItemAccess::Scalar(s) => Some(unsafe { read_scalar(s, at) }),
            // SAFETY: see above; the GIL is held.
            ItemAccess::Pointer(ty) => unsafe { read_pointer_field(py, cd, ty, at) },
            ItemAccess::View(ty, of_new) => {
                // SAFETY: obj is a live cdata object.
                let me = unsafe { Borrowed::from_ptr(py, obj).cast_unchecked::<CData>() };
                let (cd, class) = if of_new {
                    let owner = me.to_owned().unbind();
                    (
                        CData::struct_of_owner(ty.clone(), at, owner),
                        CDataClass::Own,
                    )
                } else {
                    let keeper = CData::keeper_cdata(&me);
                    (CData::borrowed(ty.clone(), at, 0, keeper), CDataClass::Base)
                };
                // SAFETY: a view (its base a cdata); the GIL is held.
                Some(unsafe { cd.into_object_raw(class) })
            }
        }
    }));
    match fast {
        Ok(Some(r)) => r,
        // SAFETY: the general path through PyO3's trampoline, with the
        // slot's arguments.
        Ok(None) => unsafe { get_trampoline_function!(binaryfunc, getitem_general)(obj, key) },
        Err(_) => panicked(),
    }
}

/// `cdata[key] = value` and `del cdata[key]` (`value` NULL).
///
/// # Safety
/// The `mp_ass_subscript` slot of the cdata classes: as for
/// [`subscript`], `value` NULL or a live object.
pub unsafe extern "C" fn ass_subscript(
    obj: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    let fast = catch_unwind(AssertUnwindSafe(|| {
        if value.is_null() {
            return false;
        }
        // SAFETY: as in subscript.
        let Some((ItemAccess::Scalar(s), at)) = (unsafe { fast_item(cdata_of(obj), key) }) else {
            return false;
        };
        // SAFETY: as in subscript; value is a live object.
        unsafe { write_scalar(s, at, value) }
    }));
    match fast {
        Ok(true) => 0,
        // SAFETY: as in subscript (the setattro trampoline has the shape
        // of mp_ass_subscript: object, key, value or NULL -> int).
        Ok(false) => unsafe {
            get_trampoline_function!(setattrofunc, setitem_general)(obj, key, value)
        },
        Err(_) => {
            panicked();
            -1
        }
    }
}

#[cold]
fn panicked() -> *mut ffi::PyObject {
    // SAFETY: sets the current exception with a static message.
    unsafe {
        ffi::PyErr_SetString(
            ffi::PyExc_SystemError,
            c"rcffi: internal error (panic) in a cdata item access".as_ptr(),
        );
    }
    std::ptr::null_mut()
}

/// The general path of `cdata[key]`.
///
/// # Safety
/// Called by the trampoline with the slot's arguments.
unsafe fn getitem_general(
    py: Python<'_>,
    obj: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: live objects borrowed for the call; obj is a cdata.
    let (slf, key) = unsafe {
        (
            Borrowed::from_ptr(py, obj).cast_unchecked::<CData>(),
            Borrowed::from_ptr(py, key),
        )
    };
    crate::python::cdata_py::getitem_slow(&slf, &key).map(Bound::into_ptr)
}

/// The general path of `cdata[key] = value` / `del cdata[key]`.
///
/// # Safety
/// Called by the trampoline with the slot's arguments.
unsafe fn setitem_general(
    py: Python<'_>,
    obj: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> PyResult<c_int> {
    // SAFETY: as in getitem_general; value is NULL or a live object.
    let (slf, key, value) = unsafe {
        (
            Borrowed::from_ptr(py, obj).cast_unchecked::<CData>(),
            Borrowed::from_ptr(py, key),
            Borrowed::from_ptr_or_opt(py, value),
        )
    };
    crate::python::cdata_py::setitem_slow(&slf, &key, value.as_deref())?;
    Ok(0)
}
