//! `_cffi_backend._testbuff(cls, methods)`: cffi's test hook that gives a
//! Python class a C-level buffer (`bf_getbuffer`), so that test_c.py can
//! check `from_buffer()` on objects whose buffer comes from C.  Bit 8 makes
//! the class's instances expose the writable bytes `b"GTB"`, bit 16 the
//! read-only `b"ROB"`; the other bits (old Python 2 buffer slots) do
//! nothing, as in cffi on Python 3.  The slot is written with
//! [`super::pybuffer::set_buffer_slots`].

use super::pybuffer::{GetBuffer, RawBuffer, fill_info, set_buffer_slots};
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;
use std::os::raw::{c_int, c_void};

static mut WRITABLE: [u8; 4] = *b"GTB\0";
static READ_ONLY: [u8; 4] = *b"ROB\0";

unsafe extern "C" fn getbuf(obj: *mut ffi::PyObject, view: *mut RawBuffer, flags: c_int) -> c_int {
    // SAFETY: CPython calls this slot with a live object and a view to fill;
    // the bytes are static, so they outlive every view.
    unsafe {
        fill_info(
            view,
            obj,
            (&raw mut WRITABLE).cast::<c_void>(),
            3,
            false,
            flags,
        )
    }
}

unsafe extern "C" fn getbuf_ro(
    obj: *mut ffi::PyObject,
    view: *mut RawBuffer,
    flags: c_int,
) -> c_int {
    // SAFETY: as in `getbuf`; the view is read-only, so nothing writes the
    // immutable static.
    unsafe {
        fill_info(
            view,
            obj,
            READ_ONLY.as_ptr().cast_mut().cast(),
            3,
            true,
            flags,
        )
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
    set_buffer_slots(ty, fun, None)
}
