//! `_cffi_backend._testbuff(cls, methods)`: cffi's test hook that gives a
//! Python class a C-level buffer (`bf_getbuffer`), so that test_c.py can
//! check `from_buffer()` on objects whose buffer comes from C.  Bit 8 makes
//! the class's instances expose the writable bytes `b"GTB"`, bit 16 the
//! read-only `b"ROB"`; the other bits (old Python 2 buffer slots) do
//! nothing, as in cffi on Python 3.
//!
//! The stable ABI has no way to change a slot of an existing type, so the
//! slot is written in place: a heap type's `tp_as_buffer` points to the
//! `PyBufferProcs` stored inside its own heap-type object.  The field is read
//! at its fixed place in `PyTypeObject` (the same in CPython 3.10 to 3.13,
//! release builds), checked to point inside the type object, and the write is
//! checked with `PyType_GetSlot`; anything unexpected is a `SystemError` and
//! the type is left as it was.

use pyo3::exceptions::{PySystemError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;
use std::os::raw::{c_int, c_void};

/// Offset of `tp_as_buffer` in `PyTypeObject`: `PyVarObject` (3 words)
/// then 17 pointer-sized fields (`tp_name` ... `tp_setattro`).
const TP_AS_BUFFER_OFFSET: usize = (3 + 17) * size_of::<usize>();
/// An upper bound of `sizeof(PyHeapTypeObject)` (about 900 bytes in 3.13).
const HEAP_TYPE_MAX: usize = 4096;
const PY_BF_GETBUFFER: c_int = 1;

type GetBuffer = unsafe extern "C" fn(*mut ffi::PyObject, *mut ffi::Py_buffer, c_int) -> c_int;

unsafe extern "C" {
    // In every CPython 3 (the limited API lists it from 3.11 on).
    fn PyBuffer_FillInfo(
        view: *mut ffi::Py_buffer,
        obj: *mut ffi::PyObject,
        buf: *mut c_void,
        len: ffi::Py_ssize_t,
        readonly: c_int,
        flags: c_int,
    ) -> c_int;
}

static mut WRITABLE: [u8; 4] = *b"GTB\0";
static READ_ONLY: [u8; 4] = *b"ROB\0";

unsafe extern "C" fn getbuf(
    obj: *mut ffi::PyObject,
    view: *mut ffi::Py_buffer,
    flags: c_int,
) -> c_int {
    // SAFETY: CPython calls this slot with a live object and a view to fill;
    // the bytes are static, so they outlive every view.
    unsafe {
        let buf = (&raw mut WRITABLE).cast::<c_void>();
        PyBuffer_FillInfo(view, obj, buf, 3, 0, flags)
    }
}

unsafe extern "C" fn getbuf_ro(
    obj: *mut ffi::PyObject,
    view: *mut ffi::Py_buffer,
    flags: c_int,
) -> c_int {
    // SAFETY: as in `getbuf`; the view is read-only, so nothing writes the
    // immutable static.
    unsafe {
        let buf = READ_ONLY.as_ptr().cast_mut().cast::<c_void>();
        PyBuffer_FillInfo(view, obj, buf, 3, 1, flags)
    }
}

/// `_testbuff(cls, methods)`: see the module documentation.
#[pyfunction]
pub fn _testbuff(cls: &Bound<'_, PyAny>, methods: i32) -> PyResult<()> {
    let ty = cls
        .cast::<PyType>()
        .map_err(|_| PyTypeError::new_err("_testbuff() argument 1 must be type"))?;
    let fun: GetBuffer = if methods & 16 != 0 {
        getbuf_ro
    } else if methods & 8 != 0 {
        getbuf
    } else {
        return Ok(());
    };
    let tp = ty.as_type_ptr();
    // SAFETY: `tp` is a live type object (we hold a reference through
    // `cls`); PyType_GetFlags only reads it.
    let flags = unsafe { ffi::PyType_GetFlags(tp) };
    if flags & ffi::Py_TPFLAGS_HEAPTYPE == 0 {
        return Err(PyTypeError::new_err(
            "_testbuff() needs a class defined in Python",
        ));
    }
    let base = tp as usize;
    // SAFETY: a heap type object is a PyHeapTypeObject, whose first member
    // is the PyTypeObject; TP_AS_BUFFER_OFFSET is inside it, aligned.
    let procs = unsafe { *((base + TP_AS_BUFFER_OFFSET) as *const usize) };
    if procs <= base || procs + 2 * size_of::<usize>() > base + HEAP_TYPE_MAX {
        return Err(PySystemError::new_err(
            "_testbuff(): the type's tp_as_buffer is not where it was expected",
        ));
    }
    let slot = procs as *mut Option<GetBuffer>;
    // SAFETY: `procs` points to the PyBufferProcs inside this heap type
    // object (checked just above); its first field is bf_getbuffer.  The GIL
    // is held, so no other thread reads the slot meanwhile.
    let old = unsafe { slot.read() };
    // SAFETY: as above.
    unsafe { slot.write(Some(fun)) };
    // SAFETY: `tp` is a live heap type; PyType_GetSlot reads its slot.
    let seen = unsafe { ffi::PyType_GetSlot(tp, PY_BF_GETBUFFER) } as usize;
    if seen != fun as usize {
        // SAFETY: restores the value read above, same slot.
        unsafe { slot.write(old) };
        return Err(PySystemError::new_err(
            "_testbuff(): writing bf_getbuffer did not change the type's buffer slot",
        ));
    }
    // SAFETY: `tp` is a live type; the call clears its method caches.
    unsafe { ffi::PyType_Modified(tp) };
    Ok(())
}
