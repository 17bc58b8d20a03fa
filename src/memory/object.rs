//! The Python objects of cdata: which class each gets, and making them.
//!
//! The Rust struct [`CData`] is a pyclass; the classes Python code sees
//! (`_cffi_backend._CDataBase`, `__CDataOwn`, `__CDataOwnGC`,
//! `__CDataFromBuf`, `__CDataGCP`, with cffi's names) are heap subtypes
//! of it that the Python layer makes at import (`python::capi::
//! cdata_types`) and registers here with [`set_classes`].
//!
//! [`CData::into_object`] makes a cdata object: one allocation of its
//! class, the `CData` written where the pyclass keeps its value, and a
//! cdata that cannot take part in a reference cycle is left out of the
//! cyclic garbage collector (see [`CData::needs_gc`]).  Every cdata
//! object is made here: `Bound::new(py, cdata)` would make an object of
//! the bare pyclass instead of cffi's classes.

use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use crate::python::pyo3_internals::get_trampoline_function;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

use super::cdata::CData;

/// The class of a cdata (cffi's classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CDataClass {
    /// `_CDataBase`: views, pointers, values.
    Base = 0,
    /// `__CDataOwn`: memory from `ffi.new`.
    Own = 1,
    /// `__CDataOwnGC`: handles (`ffi.new_handle`).
    OwnGc = 2,
    /// `__CDataFromBuf`: `ffi.from_buffer`.
    FromBuf = 3,
    /// `__CDataGCP`: `ffi.gc`.
    Gcp = 4,
}

impl CDataClass {
    pub const ALL: [CDataClass; 5] = [
        CDataClass::Base,
        CDataClass::Own,
        CDataClass::OwnGc,
        CDataClass::FromBuf,
        CDataClass::Gcp,
    ];
}

struct Classes {
    types: [Py<PyType>; 5],
    /// `types` as addresses, for comparisons.
    raw: [usize; 5],
    layout: ObjectLayout,
}

/// Where a cdata object keeps what, from its start.
#[derive(Clone, Copy, Debug)]
pub struct ObjectLayout {
    /// The size of an object (`__basicsize__`).
    pub size: usize,
    /// Where the pyclass keeps the `CData`.
    pub value: usize,
    /// Where an object keeps the list of its weak references.
    pub weaklist: usize,
}

static CLASSES: OnceLock<Classes> = OnceLock::new();

#[inline]
fn classes() -> &'static Classes {
    CLASSES
        .get()
        .expect("rcffi: the cdata classes are registered when the module is imported")
}

/// Registers the classes (in the order of [`CDataClass`]) and the layout
/// of their objects.
///
/// # Safety
/// The classes must be heap subtypes of the CData pyclass adding no data,
/// with [`dealloc`] as `tp_dealloc`; `layout` must be that of the
/// pyclass's objects, every byte of a new object after the object header
/// and outside the value being zero (the caller checks that an object made
/// by [`CData::into_object`] is laid out as PyO3 lays out its own).
pub unsafe fn set_classes(types: [Py<PyType>; 5], layout: ObjectLayout) {
    let raw = std::array::from_fn(|i| types[i].as_ptr() as usize);
    let _ = CLASSES.set(Classes { types, raw, layout });
}

/// The Python class of `class`.
pub fn class_object(py: Python<'_>, class: CDataClass) -> Bound<'_, PyType> {
    classes().types[class as usize].bind(py).clone()
}

/// The class of `obj` if it is one of the cdata classes.
#[inline]
pub fn class_of(obj: &Bound<'_, PyAny>) -> Option<CDataClass> {
    let t = obj.get_type_ptr() as usize;
    let raw = &classes().raw;
    CDataClass::ALL.into_iter().find(|c| raw[*c as usize] == t)
}

/// `obj` as a cdata, if it is one.  Every cdata Python code sees is of
/// one of the cdata classes (made by [`CData::into_object`]; Python code
/// cannot subclass them), so the class is checked by identity: cheaper
/// than the subclass check of `cast::<CData>()`, above all for the
/// objects that are not cdata (`bytes`, lists... given to pointer
/// arguments).
#[inline]
pub fn as_cdata<'a, 'py>(obj: &'a Bound<'py, PyAny>) -> Option<&'a Bound<'py, CData>> {
    class_of(obj)?;
    // SAFETY: the object is of one of the cdata classes, subclasses of
    // the CData pyclass.
    Some(unsafe { obj.cast_unchecked::<CData>() })
}

/// Where the `CData` of a cdata object is, from the object's start.
#[inline]
pub fn value_offset() -> usize {
    classes().layout.value
}

/// A new object of class `class` holding `cd`, or `cd` back when Python
/// is out of memory (the exception set).
#[inline]
fn alloc_raw(class: CDataClass, cd: CData) -> Result<*mut ffi::PyObject, CData> {
    let c = classes();
    let l = c.layout;
    let tp = c.raw[class as usize] as *mut ffi::PyTypeObject;
    let gc = cd.needs_gc();
    // SAFETY: tp is a registered class (a heap GC type of `l.size` bytes
    // per object, see set_classes).  PyObject_GC_New gives an untracked
    // object with its header set (its type increfed) and the rest
    // uninitialised, or NULL with an exception set.  The bytes around the
    // value are zeroed and the CData written at its place, which makes it
    // a fully initialised pyclass object (set_classes' requirement), before
    // the GC may see it.
    unsafe {
        let obj: *mut ffi::PyObject = ffi::PyObject_GC_New(tp);
        if obj.is_null() {
            return Err(cd);
        }
        let base = obj.cast::<u8>();
        let header = size_of::<ffi::PyObject>();
        zero_words(base.add(header), l.value - header);
        let end = l.value + size_of::<CData>();
        zero_words(base.add(end), l.size - end);
        std::ptr::write(base.add(l.value).cast::<CData>(), cd);
        if gc {
            ffi::PyObject_GC_Track(obj.cast());
        }
        Ok(obj)
    }
}

/// Zeroes `n` bytes (a multiple of 8, a few words: the object's fields
/// around the value) word by word, without a call to `memset`.
///
/// # Safety
/// `p` must be valid for writing `n` bytes and 8-aligned.
#[inline]
unsafe fn zero_words(p: *mut u8, n: usize) {
    for i in 0..n / 8 {
        // SAFETY: word i lies in the n bytes (caller's guarantee);
        // volatile keeps the compiler from turning the loop into memset.
        unsafe { std::ptr::write_volatile(p.cast::<u64>().add(i), 0) };
    }
}

impl CData {
    /// The Python object of this cdata, of cffi's class `class`.
    #[inline]
    pub fn into_object(self, py: Python<'_>, class: CDataClass) -> PyResult<Bound<'_, CData>> {
        match alloc_raw(class, self) {
            // SAFETY: a new reference to a CData object.
            Ok(obj) => Ok(unsafe { Bound::from_owned_ptr(py, obj).cast_into_unchecked() }),
            Err(cd) => {
                drop(cd);
                Err(PyErr::fetch(py))
            }
        }
    }

    /// The Python object of this cdata, of class `_CDataBase`.
    #[inline]
    pub fn into_base_object(self, py: Python<'_>) -> PyResult<Bound<'_, CData>> {
        self.into_object(py, CDataClass::Base)
    }

    /// As [`CData::into_object`] for callers outside PyO3's knowledge of
    /// the GIL (raw C-API entry points): a new reference, or NULL with the
    /// exception set.  The cdata must not own Python objects other than
    /// the base of a view (values, views, `ffi.new` memory).
    ///
    /// # Safety
    /// The GIL must be held.
    pub unsafe fn into_object_raw(self, class: CDataClass) -> *mut ffi::PyObject {
        match alloc_raw(class, self) {
            Ok(obj) => obj,
            Err(mut cd) => {
                let base = cd.take_simple_refs().flatten();
                drop(cd);
                if let Some(b) = base {
                    // SAFETY: a reference this cdata owned, released with
                    // the GIL held (by the caller's guarantee).
                    unsafe { ffi::Py_DECREF(b.into_ptr()) };
                }
                std::ptr::null_mut()
            }
        }
    }
}

/// The `CData` of a cdata object.
///
/// # Safety
/// `obj` must be a live object of one of the registered classes; the
/// result must not outlive it.
#[inline]
pub unsafe fn cdata_of<'a>(obj: *mut ffi::PyObject) -> &'a CData {
    // SAFETY: by the caller's guarantee obj is a CData pyclass object,
    // whose value is at value_offset() and initialised.
    unsafe { &*obj.cast::<u8>().add(value_offset()).cast::<CData>() }
}

/// `tp_dealloc` of the cdata classes.
///
/// A cdata whose drop runs no Python code (values, views, `ffi.new`
/// memory without keep-alive references: the common ones) is dropped
/// directly, its base released with the C API; the others are dropped
/// through PyO3's trampoline (which lets PyO3 know the thread holds the
/// GIL), the current exception saved around it since destructors and
/// custom `free` functions are Python calls.
///
/// # Safety
/// Called by CPython, with the GIL, on an object of one of the cdata
/// classes whose reference count dropped to zero.
pub unsafe extern "C" fn dealloc(obj: *mut ffi::PyObject) {
    let c = classes();
    // SAFETY: obj is a dying cdata object (see above), which nothing else
    // references any more: it is untracked first (the GC must not see it
    // half dropped), its weak references cleared, its value dropped once,
    // then its memory freed with the GC's free (the classes are GC types)
    // and the reference it held to its type released, as subtype_dealloc
    // does for heap types.
    unsafe {
        ffi::PyObject_GC_UnTrack(obj.cast());
        let weak = obj
            .cast::<u8>()
            .add(c.layout.weaklist)
            .cast::<*mut ffi::PyObject>();
        if !(*weak).is_null() {
            ffi::PyObject_ClearWeakRefs(obj);
        }
        let tp = ffi::Py_TYPE(obj);
        let value = obj.cast::<u8>().add(c.layout.value).cast::<CData>();
        let simple = catch_unwind(AssertUnwindSafe(|| CData::drop_simple(value)));
        if let Ok(Some(base)) = simple {
            ffi::PyObject_GC_Del(obj.cast());
            if let Some(b) = base {
                ffi::Py_DECREF(b.into_ptr());
            }
        } else if simple.is_err() {
            // Not reached in practice; the object is leaked rather than
            // freed half dropped.
            drop_panicked();
        } else if let Some(base) = (*value).take_simple_refs() {
            let cd = &mut *value;
            let r = catch_unwind(AssertUnwindSafe(|| std::ptr::drop_in_place(cd)));
            ffi::PyObject_GC_Del(obj.cast());
            if let Some(b) = base {
                ffi::Py_DECREF(b.into_ptr());
            }
            if r.is_err() {
                drop_panicked();
            }
        } else {
            let (mut t, mut v, mut tb) = (
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            #[allow(deprecated)]
            ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
            let drop_value = get_trampoline_function!(inquiry, drop_value);
            if drop_value(obj) != 0 {
                ffi::PyErr_WriteUnraisable(std::ptr::null_mut());
            }
            #[allow(deprecated)]
            ffi::PyErr_Restore(t, v, tb);
            ffi::PyObject_GC_Del(obj.cast());
        }
        ffi::Py_DECREF(tp.cast());
    }
}

/// Drops the value of a dying cdata object, PyO3 knowing the GIL is held.
///
/// # Safety
/// Called once, from [`dealloc`], on an untracked dying cdata object.
unsafe fn drop_value(_py: Python<'_>, obj: *mut ffi::PyObject) -> PyResult<c_int> {
    // SAFETY: see dealloc; a panic is caught by the trampoline.
    unsafe { std::ptr::drop_in_place(obj.cast::<u8>().add(value_offset()).cast::<CData>()) };
    Ok(0)
}

#[cold]
fn drop_panicked() {
    // SAFETY: reports an exception with a static message, the current
    // exception (a dealloc may run while one propagates) saved around it.
    unsafe {
        let (mut t, mut v, mut tb) = (
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        #[allow(deprecated)]
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        ffi::PyErr_SetString(
            ffi::PyExc_SystemError,
            c"rcffi: internal error (panic) while freeing a cdata".as_ptr(),
        );
        ffi::PyErr_WriteUnraisable(std::ptr::null_mut());
        #[allow(deprecated)]
        ffi::PyErr_Restore(t, v, tb);
    }
}
