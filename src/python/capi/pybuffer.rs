//! The buffer protocol without PyO3's `buffer` module, which the stable ABI
//! of CPython 3.10 lacks (`Py_buffer` joined the limited API in 3.11): rcffi's
//! one abi3 wheel targets 3.10, and every function used here is exported by
//! libpython since 3.0 with the same `Py_buffer` layout.
//!
//! * [`PyBuf`]: a buffer taken from a Python object (`PyObject_GetBuffer`
//!   with `PyBUF_FULL_RO`), released on drop;
//! * [`fill_info`]: `PyBuffer_FillInfo` for the `getbuffer` slots rcffi
//!   implements;
//! * [`set_buffer_slots`]: gives a heap type `bf_getbuffer` /
//!   `bf_releasebuffer`, written in place (the stable ABI has no call for
//!   it, and PyO3 adds these slots only from 3.11 on).

use pyo3::exceptions::{PySystemError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use std::os::raw::{c_char, c_int, c_void};

/// CPython's `Py_buffer` (the same in 3.0 to 3.13).
#[repr(C)]
pub struct RawBuffer {
    pub buf: *mut c_void,
    pub obj: *mut ffi::PyObject,
    pub len: ffi::Py_ssize_t,
    pub itemsize: ffi::Py_ssize_t,
    pub readonly: c_int,
    pub ndim: c_int,
    pub format: *mut c_char,
    pub shape: *mut ffi::Py_ssize_t,
    pub strides: *mut ffi::Py_ssize_t,
    pub suboffsets: *mut ffi::Py_ssize_t,
    pub internal: *mut c_void,
}

pub type GetBuffer = unsafe extern "C" fn(*mut ffi::PyObject, *mut RawBuffer, c_int) -> c_int;
pub type ReleaseBuffer = unsafe extern "C" fn(*mut ffi::PyObject, *mut RawBuffer);

const PYBUF_FULL_RO: c_int = 0x100 | 0x18 | 0x4; // INDIRECT | STRIDES | FORMAT

unsafe extern "C" {
    fn PyObject_GetBuffer(obj: *mut ffi::PyObject, view: *mut RawBuffer, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut RawBuffer);
    fn PyBuffer_IsContiguous(view: *const RawBuffer, order: c_char) -> c_int;
    fn PyBuffer_FillInfo(
        view: *mut RawBuffer,
        obj: *mut ffi::PyObject,
        buf: *mut c_void,
        len: ffi::Py_ssize_t,
        readonly: c_int,
        flags: c_int,
    ) -> c_int;
}

/// A buffer exported by a Python object, released when dropped.
pub struct PyBuf(Box<RawBuffer>);

// SAFETY: the view is only read through `&self` after `get`, and released in
// `drop` with the GIL taken; the exporting object keeps the memory alive until
// then, whatever thread drops it (PyO3's own buffer type is Send + Sync for
// the same reason).
unsafe impl Send for PyBuf {}
// SAFETY: as above: shared access only reads the filled view.
unsafe impl Sync for PyBuf {}

impl PyBuf {
    /// `PyObject_GetBuffer(obj, PyBUF_FULL_RO)`.
    pub fn get(obj: &Bound<'_, PyAny>) -> PyResult<PyBuf> {
        // SAFETY: an all-zero Py_buffer is a valid "empty" view to fill.
        let mut view: Box<RawBuffer> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `obj` is a live object and `view` points to writable
        // storage of the right layout; on failure an exception is set.
        let rc = unsafe { PyObject_GetBuffer(obj.as_ptr(), &mut *view, PYBUF_FULL_RO) };
        if rc != 0 {
            return Err(PyErr::fetch(obj.py()));
        }
        Ok(PyBuf(view))
    }

    pub fn buf_ptr(&self) -> *mut c_void {
        self.0.buf
    }

    pub fn len_bytes(&self) -> usize {
        self.0.len as usize
    }

    pub fn readonly(&self) -> bool {
        self.0.readonly != 0
    }

    pub fn is_c_contiguous(&self) -> bool {
        // SAFETY: the view was filled by PyObject_GetBuffer and not released.
        unsafe { PyBuffer_IsContiguous(&*self.0, b'C' as c_char) != 0 }
    }

    pub fn is_fortran_contiguous(&self) -> bool {
        // SAFETY: as in `is_c_contiguous`.
        unsafe { PyBuffer_IsContiguous(&*self.0, b'F' as c_char) != 0 }
    }
}

impl Drop for PyBuf {
    fn drop(&mut self) {
        Python::attach(|_| {
            // SAFETY: the view was filled by PyObject_GetBuffer and is
            // released once, here, with the GIL held.
            unsafe { PyBuffer_Release(&mut *self.0) }
        });
    }
}

/// `PyBuffer_FillInfo(view, obj, buf, len, readonly, flags)`: fills `view`
/// for a buffer export of `len` bytes at `buf` owned by `obj` (which it
/// takes a reference to).
///
/// # Safety
/// `view` must be the `Py_buffer` a `getbuffer` slot received, and `buf`
/// must stay valid for `len` bytes until the matching `releasebuffer`.
pub unsafe fn fill_info(
    view: *mut RawBuffer,
    obj: *mut ffi::PyObject,
    buf: *mut c_void,
    len: isize,
    readonly: bool,
    flags: c_int,
) -> c_int {
    // SAFETY: by the caller's guarantee.
    unsafe { PyBuffer_FillInfo(view, obj, buf, len, c_int::from(readonly), flags) }
}

/// Offset of `tp_as_buffer` in `PyTypeObject`: `PyVarObject` (3 words)
/// then 17 pointer-sized fields (`tp_name` ... `tp_setattro`); the same in
/// CPython 3.10 to 3.13 (release builds).
const TP_AS_BUFFER_OFFSET: usize = (3 + 17) * size_of::<usize>();
/// An upper bound of `sizeof(PyHeapTypeObject)` (about 900 bytes in 3.13).
const HEAP_TYPE_MAX: usize = 4096;
const PY_BF_GETBUFFER: c_int = 1;
const PY_BF_RELEASEBUFFER: c_int = 2;

/// Writes `bf_getbuffer` (and `bf_releasebuffer` when given) of the heap
/// type `ty`.  A heap type's `tp_as_buffer` points to the `PyBufferProcs`
/// inside its own heap-type object: the pointer is read at its fixed place,
/// checked to point inside the type object, and the result is checked with
/// `PyType_GetSlot`; anything unexpected is a `SystemError`, with the type
/// left as it was.
pub fn set_buffer_slots(
    ty: &Bound<'_, pyo3::types::PyType>,
    get: GetBuffer,
    release: Option<ReleaseBuffer>,
) -> PyResult<()> {
    let tp = ty.as_type_ptr();
    // SAFETY: `tp` is a live type object (borrowed through `ty`).
    let flags = unsafe { ffi::PyType_GetFlags(tp) };
    if flags & ffi::Py_TPFLAGS_HEAPTYPE == 0 {
        return Err(PyTypeError::new_err(
            "a buffer can only be given to a heap type",
        ));
    }
    let base = tp as usize;
    // SAFETY: a heap type object is a PyHeapTypeObject whose first member is
    // the PyTypeObject; TP_AS_BUFFER_OFFSET is inside it, word-aligned.
    let procs = unsafe { *((base + TP_AS_BUFFER_OFFSET) as *const usize) };
    if procs <= base || procs + 2 * size_of::<usize>() > base + HEAP_TYPE_MAX {
        return Err(PySystemError::new_err(
            "the type's tp_as_buffer is not where rcffi expects it",
        ));
    }
    let get_slot = procs as *mut Option<GetBuffer>;
    let release_slot = (procs + size_of::<usize>()) as *mut Option<ReleaseBuffer>;
    // SAFETY: `procs` points to the PyBufferProcs inside this heap type
    // (checked above): bf_getbuffer then bf_releasebuffer.  The GIL is held
    // (`ty` is bound), so no other thread reads them meanwhile.
    let (old_get, old_release) = unsafe { (get_slot.read(), release_slot.read()) };
    // SAFETY: as above.
    unsafe {
        get_slot.write(Some(get));
        if release.is_some() {
            release_slot.write(release);
        }
    }
    // SAFETY: `tp` is a live heap type; PyType_GetSlot reads its slots.
    let seen_get = unsafe { ffi::PyType_GetSlot(tp, PY_BF_GETBUFFER) } as usize;
    // SAFETY: as above.
    let seen_release = unsafe { ffi::PyType_GetSlot(tp, PY_BF_RELEASEBUFFER) } as usize;
    let want_release = release.or(old_release).map_or(0, |f| f as usize);
    if seen_get != get as usize || seen_release != want_release {
        // SAFETY: restores the values read above, same slots.
        unsafe {
            get_slot.write(old_get);
            release_slot.write(old_release);
        }
        return Err(PySystemError::new_err(
            "writing the buffer slots did not change the type's buffer procedures",
        ));
    }
    // SAFETY: `tp` is a live type; the call clears its caches.
    unsafe { ffi::PyType_Modified(tp) };
    Ok(())
}
