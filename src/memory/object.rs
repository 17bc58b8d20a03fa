//! The Python objects of cdata: which class each gets, and making them.
//!
//! The Rust struct [`CData`] is a pyclass; the classes Python code sees
//! (`_cffi_backend._CDataBase`, `__CDataOwn`, `__CDataOwnGC`,
//! `__CDataFromBuf`, `__CDataGCP`, with cffi's names) are heap subtypes
//! of it that the Python layer makes at import (`python::capi::
//! cdata_types`) and registers here with [`set_classes`].
//!
//! [`CData::into_object`] makes a cdata object: one `tp_alloc` of its
//! class, the `CData` written where the pyclass keeps its value, and a
//! cdata that cannot take part in a reference cycle is left out of the
//! cyclic garbage collector (see [`CData::needs_gc`]).  Every cdata
//! object is made here: `Bound::new(py, cdata)` would make an object of
//! the bare pyclass instead of cffi's classes.

use std::sync::OnceLock;

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
    /// Where the pyclass keeps the `CData` in an object, from its start.
    value_offset: usize,
}

static CLASSES: OnceLock<Classes> = OnceLock::new();

#[inline]
fn classes() -> &'static Classes {
    CLASSES
        .get()
        .expect("rcffi: the cdata classes are registered when the module is imported")
}

/// Registers the classes (in the order of [`CDataClass`]) and where the
/// pyclass keeps its value in an object.  The caller checks that an object
/// made by [`alloc_object`] is laid out as PyO3 lays out its own.
pub fn set_classes(types: [Py<PyType>; 5], value_offset: usize) {
    let raw = std::array::from_fn(|i| types[i].as_ptr() as usize);
    let _ = CLASSES.set(Classes {
        types,
        raw,
        value_offset,
    });
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

/// Where the `CData` of a cdata object is, from the object's start.
#[inline]
pub fn value_offset() -> usize {
    classes().value_offset
}

/// A new object of class `tp` holding `cd`, which the pyclass keeps at
/// `offset` in its objects.
///
/// # Safety
/// `tp` must be a subtype of the CData pyclass adding no data, and
/// `offset` where the pyclass keeps its value, every other byte of a new
/// pyclass object (after the object header) being zero.
pub unsafe fn alloc_object<'py>(
    py: Python<'py>,
    tp: &Bound<'py, PyType>,
    offset: usize,
    cd: CData,
) -> PyResult<Bound<'py, CData>> {
    let gc = cd.needs_gc();
    // SAFETY: tp is a live heap type inheriting the pyclass's size;
    // tp_alloc gives a zeroed object of that size (tracked by the GC, its
    // type increfed) or NULL with an exception set.  By the caller's
    // guarantee, writing the CData at `offset` makes it a fully
    // initialised pyclass object.  Nothing runs between the allocation and
    // the write, so the GC never sees the object half made.
    unsafe {
        let obj = ffi::PyType_GenericAlloc(tp.as_type_ptr(), 0);
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        std::ptr::write(obj.cast::<u8>().add(offset).cast::<CData>(), cd);
        if !gc {
            ffi::PyObject_GC_UnTrack(obj.cast());
        }
        Ok(Bound::from_owned_ptr(py, obj).cast_into_unchecked())
    }
}

impl CData {
    /// The Python object of this cdata, of cffi's class `class`.
    #[inline]
    pub fn into_object(self, py: Python<'_>, class: CDataClass) -> PyResult<Bound<'_, CData>> {
        let c = classes();
        let tp = c.types[class as usize].bind(py);
        // SAFETY: the registered classes and offset satisfy alloc_object's
        // requirements (checked by the Python layer when registering).
        unsafe { alloc_object(py, tp, c.value_offset, self) }
    }

    /// The Python object of this cdata, of class `_CDataBase`.
    #[inline]
    pub fn into_base_object(self, py: Python<'_>) -> PyResult<Bound<'_, CData>> {
        self.into_object(py, CDataClass::Base)
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
