//! `_cffi_backend.buffer`: a read-write view on the raw bytes of a
//! pointer or array cdata, with the buffer protocol (so `memoryview`,
//! `bytes()`, file writes... accept it), `len`, indexing and slicing by
//! byte, slice assignment and comparisons with any bytes-like object.
//!
//! Safety beyond cffi: every access checks that the cdata's memory was not
//! released, and memory exported through the buffer protocol is only
//! freed once the last export ends (see `CData::export_started`).

use crate::python::capi::pybuffer::{PyBuf, RawBuffer, fill_info, set_buffer_slots};
use crate::python::errors::CoreResult;
use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyBufferError, PyIndexError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PySlice, PyString};
use std::os::raw::c_int;

use crate::memory::cdata::CData;
use crate::memory::{convert, raw};

/// `_cffi_backend.buffer(cdata, size=-1)`.
#[pyclass(name = "buffer", module = "_cffi_backend", frozen, weakref)]
pub struct MiniBuffer {
    addr: usize,
    size: usize,
    /// How many of the `size` bytes lie in memory rcffi knows the end of
    /// (all of them when it does not know): access beyond is refused.
    valid: usize,
    cdata: Py<CData>,
}

/// The size `buffer(cdata)` covers by default, with cffi's errors.
fn default_size(me: &CData) -> PyResult<Option<usize>> {
    if !(me.ty.is_pointer() || me.ty.is_array()) {
        return Err(PyTypeError::new_err(format!(
            "expected a pointer or array cdata, got '{}'",
            me.ty.cname()
        )));
    }
    Ok(me.data_size())
}

/// A new buffer over `size` bytes of `cdata` (all of it when `size` is
/// negative): `ffi.buffer()` and `buffer()`.
pub fn buffer_new<'py>(
    py: Python<'py>,
    cdata: &Bound<'py, CData>,
    size: isize,
) -> PyResult<Bound<'py, MiniBuffer>> {
    let me = cdata.get();
    let default = default_size(me)?;
    let size = match usize::try_from(size) {
        Ok(n) => {
            if me.is_new_owner() {
                let max = me.owning_size();
                if n > max {
                    let msg = format!(
                        "ffi.buffer(cdata, bytes): creating a buffer of {n} bytes over a cdata that owns only \
                         {max} bytes.  This will crash if you access the extra memory"
                    );
                    PyErr::warn(
                        py,
                        &py.get_type::<pyo3::exceptions::PyUserWarning>(),
                        &std::ffi::CString::new(msg)?,
                        1,
                    )?;
                }
            }
            n
        }
        Err(_) => default.ok_or_else(|| {
            PyTypeError::new_err(format!(
                "don't know the size pointed to by '{}'",
                me.ty.cname()
            ))
        })?,
    };
    let addr = me.ptr().py()? as usize;
    let valid = match crate::python::backend::known_end(cdata) {
        Some(end) => size.min(end.saturating_sub(addr)),
        None => size,
    };
    Bound::new(
        py,
        MiniBuffer {
            addr,
            size,
            valid,
            cdata: cdata.clone().unbind(),
        },
    )
}

/// The bytes of `v` for comparisons and slice assignments: a cdata's
/// memory is not exposed this way (as in cffi).
fn other_bytes(v: &Bound<'_, PyAny>) -> Option<PyBuf> {
    if v.is_instance_of::<PyString>() || v.is_instance_of::<CData>() {
        return None;
    }
    PyBuf::get(v).ok()
}

impl MiniBuffer {
    /// The address of the bytes, checking that bytes up to `end` can be
    /// used: the cdata's memory was not released, is not at NULL, and
    /// holds them (rcffi refuses what cffi warns would crash).
    fn data(&self, py: Python<'_>, end: usize) -> PyResult<*mut u8> {
        self.cdata.bind(py).get().ptr().py()?;
        if end > self.valid {
            return Err(PyIndexError::new_err(format!(
                "buffer access beyond the {} bytes of memory the cdata owns",
                self.valid
            )));
        }
        if self.addr == 0 && self.size > 0 {
            return Err(PyRuntimeError::new_err(
                "cannot use a buffer over a NULL pointer",
            ));
        }
        Ok(self.addr as *mut u8)
    }

    /// The bytes, copied.
    fn bytes(&self, py: Python<'_>, start: usize, stop: usize) -> PyResult<Vec<u8>> {
        if start == stop {
            return Ok(Vec::new());
        }
        let data = self.data(py, stop)?;
        // SAFETY: start <= stop <= size bytes of live memory.
        Ok(unsafe { raw::slice(data.add(start), stop - start) }.to_vec())
    }

    /// `(start, stop)` of a slice with step 1, clamped as Python does.
    fn slice_bounds(&self, s: &Bound<'_, PySlice>) -> PyResult<(usize, usize)> {
        let ind = s.indices(self.size as isize)?;
        if ind.step != 1 {
            return Err(PyTypeError::new_err(
                "buffer doesn't support slicing with step != 1",
            ));
        }
        let start = ind.start.max(0) as usize;
        let stop = (ind.stop.max(0) as usize).max(start);
        Ok((start.min(self.size), stop.min(self.size)))
    }

    fn index(&self, key: &Bound<'_, PyAny>, what: &str) -> PyResult<usize> {
        let i: isize = key
            .call_method0("__index__")?
            .extract()
            .map_err(|_| PyIndexError::new_err("cannot fit 'int' into an index-sized integer"))?;
        let i = if i < 0 { i + self.size as isize } else { i };
        if i < 0 || i as usize >= self.size {
            return Err(PyIndexError::new_err(format!(
                "buffer {what}index out of range"
            )));
        }
        Ok(i as usize)
    }
}

fn is_index(key: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(!key.is_instance_of::<pyo3::types::PyFloat>() && key.hasattr("__index__")?)
}

#[pymethods]
impl MiniBuffer {
    #[new]
    #[pyo3(signature = (cdata, size=-1))]
    fn py_new<'py>(
        py: Python<'py>,
        cdata: &Bound<'py, PyAny>,
        size: isize,
    ) -> PyResult<Bound<'py, MiniBuffer>> {
        let cd = cdata.cast::<CData>().map_err(|_| {
            PyTypeError::new_err(format!(
                "buffer() argument 1 must be _cffi_backend._CDataBase, not {}",
                convert::type_name(cdata)
            ))
        })?;
        buffer_new(py, cd, size)
    }

    fn __len__(&self) -> usize {
        self.size
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        if let Ok(s) = key.cast::<PySlice>() {
            let (start, stop) = self.slice_bounds(s)?;
            return Ok(PyBytes::new(py, &self.bytes(py, start, stop)?));
        }
        if !is_index(key)? {
            return Err(PyTypeError::new_err(format!(
                "buffer indices must be integers, not {}",
                convert::type_name(key)
            )));
        }
        let i = self.index(key, "")?;
        Ok(PyBytes::new(py, &self.bytes(py, i, i + 1)?))
    }

    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        if let Ok(s) = key.cast::<PySlice>() {
            let (start, stop) = self.slice_bounds(s)?;
            let Some(src) = other_bytes(value) else {
                return Err(PyTypeError::new_err(format!(
                    "a bytes-like object is required, not '{}'",
                    convert::type_name(value)
                )));
            };
            if src.len_bytes() != stop - start {
                return Err(PyValueError::new_err(
                    "right operand length must match slice length",
                ));
            }
            let data = self.data(py, stop)?;
            // SAFETY: both ranges hold stop - start bytes; the source
            // buffer is held during the copy; they may overlap.
            unsafe { raw::copy(data.add(start), src.buf_ptr() as *const u8, stop - start) };
            return Ok(());
        }
        if !is_index(key)? {
            return Err(PyTypeError::new_err(format!(
                "buffer indices must be integers, not {}",
                convert::type_name(key)
            )));
        }
        let i = self.index(key, "assignment ")?;
        match value.cast::<PyBytes>().map(|b| b.as_bytes()) {
            Ok([byte]) => {
                let data = self.data(py, i + 1)?;
                // SAFETY: i < size bytes of live memory.
                unsafe { raw::write_int(data.add(i), 1, i128::from(*byte)) };
                Ok(())
            }
            _ => Err(PyTypeError::new_err(format!(
                "must assign a bytes of length 1, not {}",
                convert::type_name(value)
            ))),
        }
    }

    fn __delitem__(&self, _key: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err("buffer doesn't support item deletion"))
    }

    fn __richcmp__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: CompareOp,
    ) -> PyResult<Py<PyAny>> {
        let Some(theirs) = other_bytes(other) else {
            return Ok(py.NotImplemented());
        };
        let mine = self.bytes(py, 0, self.size)?;
        // SAFETY: the other buffer is held while its bytes are read.
        let theirs = unsafe { raw::slice(theirs.buf_ptr() as *const u8, theirs.len_bytes()) };
        let r = match op {
            CompareOp::Eq => mine.as_slice() == theirs,
            CompareOp::Ne => mine.as_slice() != theirs,
            CompareOp::Lt => mine.as_slice() < theirs,
            CompareOp::Le => mine.as_slice() <= theirs,
            CompareOp::Gt => mine.as_slice() > theirs,
            CompareOp::Ge => mine.as_slice() >= theirs,
        };
        Ok(r.into_pyobject(py)?.to_owned().into_any().unbind())
    }

    fn __traverse__(&self, visit: pyo3::gc::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.cdata)
    }
}

impl MiniBuffer {
    /// The export of `getbuffer`: the bytes, writable, kept alive (the
    /// cdata defers freeing until the export ends).
    fn export(slf: &Bound<'_, Self>, view: *mut RawBuffer, flags: c_int) -> PyResult<()> {
        let me = slf.get();
        let py = slf.py();
        let data = me
            .data(py, me.size)
            .map_err(|e| PyBufferError::new_err(e.value(py).to_string()))?;
        let len = isize::try_from(me.size)
            .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("buffer too large"))?;
        // SAFETY: `view` comes from Python; the memory stays valid until the
        // matching release, since the export defers freeing.
        let rc = unsafe { fill_info(view, slf.as_ptr(), data.cast(), len, false, flags) };
        if rc < 0 {
            return Err(PyErr::fetch(py));
        }
        me.cdata.bind(py).get().export_started();
        Ok(())
    }
}

/// Runs `f` on the `MiniBuffer` `obj` for a buffer slot: a Python error is
/// set and `-1` returned on failure; a panic stops here.
fn in_slot(
    obj: *mut pyo3::ffi::PyObject,
    f: impl FnOnce(&Bound<'_, MiniBuffer>) -> PyResult<()>,
) -> c_int {
    let run = std::panic::AssertUnwindSafe(|| {
        Python::attach(|py| {
            // SAFETY: CPython calls the slot with a live instance of the type.
            let any = unsafe { Bound::from_borrowed_ptr(py, obj) };
            let r = any.cast::<MiniBuffer>().map_err(PyErr::from).and_then(f);
            match r {
                Ok(()) => 0,
                Err(e) => {
                    e.restore(py);
                    -1
                }
            }
        })
    });
    std::panic::catch_unwind(run).unwrap_or_else(|_| {
        Python::attach(|py| {
            pyo3::exceptions::PySystemError::new_err("panic in a buffer slot of rcffi").restore(py)
        });
        -1
    })
}

unsafe extern "C" fn getbuffer(
    obj: *mut pyo3::ffi::PyObject,
    view: *mut RawBuffer,
    flags: c_int,
) -> c_int {
    in_slot(obj, |b| MiniBuffer::export(b, view, flags))
}

unsafe extern "C" fn releasebuffer(obj: *mut pyo3::ffi::PyObject, _view: *mut RawBuffer) {
    // A release cannot fail: an error is reported as unraisable.
    let run = std::panic::AssertUnwindSafe(|| {
        Python::attach(|py| {
            // SAFETY: CPython calls the slot with a live instance of the type.
            let any = unsafe { Bound::from_borrowed_ptr(py, obj) };
            if let Ok(b) = any.cast::<MiniBuffer>()
                && let Err(e) = b.get().cdata.bind(py).get().export_ended(py)
            {
                e.write_unraisable(py, Some(&any));
            }
        })
    });
    let _ = std::panic::catch_unwind(run);
}

/// Gives the `buffer` class its buffer slots (once, after the class is made).
pub fn install_buffer_slots(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let ty = m.py().get_type::<MiniBuffer>();
    set_buffer_slots(&ty, getbuffer, Some(releasebuffer))
}
