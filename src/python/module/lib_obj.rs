//! `_cffi_backend.Lib`: the one native `lib` of table-backed modules
//! (compiled by cffi or rcffi, out-of-line ABI modules after `dlopen`).
//!
//! A type made with `PyType_FromSpec` whose slots are plain C functions:
//! `lib.NAME` is one lookup in the lib's own dict (functions and
//! constants are cached there once built; a global variable is cached as
//! its `__FFIGlobSupport` object and read through its address at each
//! access).  A name not yet in the dict is found by binary search in the
//! module's global table and built (see [`super::attrs`]).  As cffi's,
//! the lib answers only C names, plus `__all__`, `__dict__`, `__class__`
//! (`ModuleType`, for `help()`), `__name__` (`NAME.lib`), `__loader__`
//! and `__spec__`; `dir(lib)` lists the C names.
//!
//! Python objects dropped here are dropped inside `Python::attach` (PyO3
//! then releases them at once, not through its deferred pool).

use std::ffi::{c_int, c_void};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

use pyo3::exceptions::{PyAttributeError, PySystemError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use super::attrs;
use super::globals::GlobalVar;
use super::state::ModuleState;
use crate::memory::cdata::CData;
use crate::module::globals::GlobalKind;
use crate::python::library_py::CLibrary;

/// What a lib knows besides its dict.
pub struct LibState {
    pub module: Arc<ModuleState>,
    /// The `ffi` the lib belongs to.
    pub ffi: Py<PyAny>,
    /// The module's name (or, after `dlopen`, the library's).
    pub libname: Py<PyString>,
    /// The library of `ffi.dlopen()` (out-of-line modules).
    pub library: Option<Py<CLibrary>>,
}

#[repr(C)]
struct LibObject {
    ob_base: ffi::PyObject,
    dict: *mut ffi::PyObject,
    state: *mut LibState,
}

/// The type object (made once, never freed).
static LIB_TYPE: OnceLock<usize> = OnceLock::new();
/// The type of global variables, compared by address on the fast path.
static GLOBAL_TYPE: OnceLock<usize> = OnceLock::new();

fn lib_type() -> *mut ffi::PyTypeObject {
    LIB_TYPE.get().copied().unwrap_or(0) as *mut ffi::PyTypeObject
}

/// Makes the `Lib` type and adds it (and `__FFIGlobSupport`) to `m`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<GlobalVar>()?;
    let _ = GLOBAL_TYPE.set(py.get_type::<GlobalVar>().as_ptr() as usize);
    if LIB_TYPE.get().is_none() {
        let _ = LIB_TYPE.set(make_type(py)? as usize);
    }
    // SAFETY: the type object is alive forever (one reference kept).
    let tp = unsafe { Bound::from_borrowed_ptr(py, lib_type().cast()) };
    m.add("Lib", tp)
}

fn make_type(py: Python<'_>) -> PyResult<*mut ffi::PyObject> {
    // The method table and the spec must outlive the type (CPython keeps
    // pointers to the methods): leaked, once.
    let methods: &'static mut [ffi::PyMethodDef] = Box::leak(Box::new([
        ffi::PyMethodDef {
            ml_name: c"__dir__".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunction: dir },
            ml_flags: ffi::METH_NOARGS,
            ml_doc: std::ptr::null(),
        },
        ffi::PyMethodDef::zeroed(),
    ]));
    let slots: &'static mut [ffi::PyType_Slot] = Box::leak(Box::new([
        slot(ffi::Py_tp_getattro, getattro as *mut c_void),
        slot(ffi::Py_tp_setattro, setattro as *mut c_void),
        slot(ffi::Py_tp_repr, repr as *mut c_void),
        slot(ffi::Py_tp_dealloc, dealloc as *mut c_void),
        slot(ffi::Py_tp_traverse, traverse as *mut c_void),
        slot(ffi::Py_tp_clear, clear as *mut c_void),
        slot(ffi::Py_tp_methods, methods.as_mut_ptr().cast()),
        slot(0, std::ptr::null_mut()),
    ]));
    let spec: &'static mut ffi::PyType_Spec = Box::leak(Box::new(ffi::PyType_Spec {
        name: c"_cffi_backend.Lib".as_ptr(),
        basicsize: size_of::<LibObject>() as c_int,
        itemsize: 0,
        flags: (ffi::Py_TPFLAGS_DEFAULT
            | ffi::Py_TPFLAGS_HAVE_GC
            | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION) as _,
        slots: slots.as_mut_ptr(),
    }));
    // SAFETY: the spec, its slots and methods are 'static; the result is
    // a new reference (kept forever) or NULL with an exception set.
    let tp = unsafe { ffi::PyType_FromSpec(spec) };
    if tp.is_null() {
        return Err(PyErr::fetch(py));
    }
    Ok(tp)
}

fn slot(slot: c_int, pfunc: *mut c_void) -> ffi::PyType_Slot {
    ffi::PyType_Slot { slot, pfunc }
}

/// A new lib.
pub fn new_lib(py: Python<'_>, state: LibState) -> PyResult<Bound<'_, PyAny>> {
    let tp = lib_type();
    if tp.is_null() {
        return Err(PySystemError::new_err("rcffi: the Lib type is not ready"));
    }
    let dict = PyDict::new(py);
    // SAFETY: `tp` is the Lib type, whose instances are LibObjects;
    // PyType_GenericAlloc zeroes them (traverse and dealloc accept NULL
    // fields) and tracks them for the GC.
    unsafe {
        let obj = ffi::PyType_GenericAlloc(tp, 0);
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        let lib = obj as *mut LibObject;
        (*lib).dict = dict.into_ptr();
        (*lib).state = Box::into_raw(Box::new(state));
        Ok(Bound::from_owned_ptr(py, obj))
    }
}

/// Whether `obj` is a lib.
pub fn is_lib(obj: &Bound<'_, PyAny>) -> bool {
    let tp = lib_type();
    // SAFETY: reading the type of a live object.
    !tp.is_null() && unsafe { ffi::Py_TYPE(obj.as_ptr()) } == tp
}

/// The state and the dict of the lib `obj`.
pub fn parts<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
) -> PyResult<(&'a LibState, Borrowed<'a, 'py, PyDict>)> {
    if !is_lib(obj) {
        return Err(PyTypeError::new_err(format!(
            "expected a lib object, got {}",
            crate::memory::convert::describe(obj)
        )));
    }
    // SAFETY: `obj` is a LibObject (checked), alive for 'a; its fields
    // are set at creation and the state is only freed by dealloc.
    unsafe { lib_parts(obj.py(), obj.as_ptr()) }
}

/// # Safety
/// `slf` must be a live LibObject, borrowed for `'a`.
unsafe fn lib_parts<'a, 'py>(
    py: Python<'py>,
    slf: *mut ffi::PyObject,
) -> PyResult<(&'a LibState, Borrowed<'a, 'py, PyDict>)> {
    // SAFETY: the caller's guarantee.
    let lib = unsafe { &*(slf as *const LibObject) };
    if lib.state.is_null() || lib.dict.is_null() {
        return Err(PySystemError::new_err("rcffi: a lib object without state"));
    }
    // SAFETY: set at creation, freed only by dealloc (not before 'a).
    let state = unsafe { &*lib.state };
    // SAFETY: the dict is a live dict owned by the lib.
    let dict = unsafe { Borrowed::from_ptr(py, lib.dict).cast_unchecked::<PyDict>() };
    Ok((state, dict))
}

/// The value of the global variable object `x`, or `x` itself.
#[inline]
fn value_of<'py>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if is_global(x.as_ptr()) {
        // SAFETY: the type was checked.
        let g = unsafe { x.cast_unchecked::<GlobalVar>() };
        return g.get().read(py);
    }
    Ok(x.clone())
}

#[inline]
fn is_global(x: *mut ffi::PyObject) -> bool {
    // SAFETY: reading the type of a live object.
    unsafe { ffi::Py_TYPE(x) as usize == GLOBAL_TYPE.get().copied().unwrap_or(0) }
}

/// The attribute `name` of the lib `obj` as cached in its dict (a global
/// variable as its `__FFIGlobSupport`), built on first access.
pub fn cached<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let (state, dict) = parts(obj)?;
    if let Some(x) = dict.get_item(name)? {
        return Ok(x);
    }
    let text = name.to_str()?;
    match attrs::build(py, obj, state, text, 0)? {
        Some(x) => {
            dict.set_item(name, &x)?;
            Ok(x)
        }
        None => Err(PyAttributeError::new_err(format!(
            "cffi library '{}' has no function, constant or global variable named '{text}'",
            state.libname.bind(py)
        ))),
    }
}

/// Runs a slot's body: panics stop here (as `SystemError`), errors are
/// restored as the current exception and `err` is returned.
fn guard<R>(err: R, f: impl FnOnce(Python<'_>) -> PyResult<R>) -> R {
    crate::python::capi::slot_guard(err, "a lib attribute access", f)
}

/// `lib.NAME` of a global variable: read through its address.  Only
/// bound references are made and dropped here (released at once), so
/// PyO3's attach count is not needed.
///
/// # Safety
/// `x` must be a live `GlobalVar`, with the GIL held.
#[inline]
unsafe fn read_global(x: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the GIL is held (the caller's guarantee).
        let py = unsafe { Python::assume_attached() };
        // SAFETY: `x` is a live GlobalVar (the caller's guarantee).
        let g = unsafe { Borrowed::from_ptr(py, x).cast_unchecked::<GlobalVar>() };
        match g.get().read(py) {
            Ok(v) => v.into_ptr(),
            Err(e) => {
                e.restore(py);
                std::ptr::null_mut()
            }
        }
    }));
    r.unwrap_or_else(|_| {
        guard(std::ptr::null_mut(), |_| {
            Err(PySystemError::new_err(
                "rcffi: panic reading a global variable",
            ))
        })
    })
}

unsafe extern "C" fn getattro(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // Fast path: a cached function or constant, or a global variable
    // (read below).
    // SAFETY: `slf` is a LibObject (this slot is the Lib type's) and
    // `name` a live object; the dict lookup returns a borrowed reference
    // or NULL (with an exception only on a failed comparison).
    unsafe {
        let lib = &*(slf as *const LibObject);
        if !lib.dict.is_null() {
            let x = ffi::PyDict_GetItemWithError(lib.dict, name);
            if !x.is_null() {
                if is_global(x) {
                    return read_global(x);
                }
                ffi::Py_IncRef(x);
                return x;
            }
            if !ffi::PyErr_Occurred().is_null() {
                return std::ptr::null_mut();
            }
        }
    }
    guard(std::ptr::null_mut(), |py| {
        // SAFETY: live objects borrowed for the call.
        let (obj, name) = unsafe {
            (
                Bound::from_borrowed_ptr(py, slf),
                Bound::from_borrowed_ptr(py, name),
            )
        };
        let name = name.cast_into::<PyString>().map_err(|e| {
            PyTypeError::new_err(format!(
                "attribute name must be string, not '{}'",
                e.into_inner()
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        match cached(&obj, &name) {
            Ok(x) => Ok(value_of(py, &x)?.into_ptr()),
            Err(e) if e.is_instance_of::<PyAttributeError>(py) => {
                special(py, &obj, &name).map(Bound::into_ptr).ok_or(e)
            }
            Err(e) => Err(e),
        }
    })
}

/// The module-like names a lib answers besides its C names.
fn special<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> Option<Bound<'py, PyAny>> {
    let (state, _) = parts(obj).ok()?;
    match name.to_str().ok()? {
        "__all__" => names(py, state, true).ok().map(Bound::into_any),
        "__dict__" => all_attributes(obj).ok().map(Bound::into_any),
        "__class__" => Some(py.get_type::<PyModule>().into_any()),
        "__name__" => PyString::new(py, &format!("{}.lib", state.libname.bind(py)))
            .into_any()
            .into(),
        "__loader__" | "__spec__" => Some(py.None().into_bound(py)),
        _ => None,
    }
}

/// The C names of the lib (without global variables for `__all__`).
fn names<'py>(py: Python<'py>, state: &LibState, skip_vars: bool) -> PyResult<Bound<'py, PyList>> {
    let tables = state.module.types.tables();
    let out = PyList::empty(py);
    for i in 0..tables.num_globals() {
        let (name, kind) = GlobalKind::of(tables, i).map_err(crate::python::errors::to_py)?;
        if skip_vars && kind.is_variable() {
            continue;
        }
        out.append(name)?;
    }
    Ok(out)
}

/// `lib.__dict__`: every C name and its (cached) object.
fn all_attributes<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let py = obj.py();
    let (state, _) = parts(obj)?;
    let d = PyDict::new(py);
    for name in names(py, state, false)?.iter() {
        let name = name.cast_into::<PyString>()?;
        let x = cached(obj, &name)?;
        d.set_item(name, x)?;
    }
    Ok(d)
}

unsafe extern "C" fn setattro(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    guard(-1, |py| {
        // SAFETY: live objects borrowed for the call (`value` may be NULL:
        // a deletion).
        let (obj, name) = unsafe {
            (
                Bound::from_borrowed_ptr(py, slf),
                Bound::from_borrowed_ptr(py, name),
            )
        };
        let name = name
            .cast_into::<PyString>()
            .map_err(|_| PyTypeError::new_err("attribute name must be string"))?;
        let x = cached(&obj, &name)?;
        if value.is_null() {
            return Err(PyAttributeError::new_err("C attribute cannot be deleted"));
        }
        // SAFETY: a live object borrowed for the call.
        let value = unsafe { Bound::from_borrowed_ptr(py, value) };
        if is_global(x.as_ptr()) {
            // SAFETY: the type was checked.
            let g = unsafe { x.cast_unchecked::<GlobalVar>() };
            g.get().write(&value)?;
            return Ok(0);
        }
        Err(PyAttributeError::new_err(format!(
            "cannot write to function or constant '{}'",
            name.to_str()?
        )))
    })
}

unsafe extern "C" fn dir(slf: *mut ffi::PyObject, _: *mut ffi::PyObject) -> *mut ffi::PyObject {
    guard(std::ptr::null_mut(), |py| {
        // SAFETY: `slf` is a live lib (the method's self).
        let (state, _) = unsafe { lib_parts(py, slf) }?;
        Ok(names(py, state, false)?.into_ptr())
    })
}

unsafe extern "C" fn repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    guard(std::ptr::null_mut(), |py| {
        // SAFETY: `slf` is a live lib.
        let (state, _) = unsafe { lib_parts(py, slf) }?;
        let s = format!("<Lib object for '{}'>", state.libname.bind(py));
        Ok(PyString::new(py, &s).into_ptr())
    })
}

unsafe extern "C" fn traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: `slf` is a LibObject; its fields are NULL or live objects
    // it owns.  No Python code runs here.
    unsafe {
        let lib = &*(slf as *const LibObject);
        if !lib.dict.is_null() {
            let r = visit(lib.dict, arg);
            if r != 0 {
                return r;
            }
        }
        if !lib.state.is_null() {
            let st = &*lib.state;
            let r = visit(st.ffi.as_ptr(), arg);
            if r != 0 {
                return r;
            }
        }
    }
    0
}

unsafe extern "C" fn clear(slf: *mut ffi::PyObject) -> c_int {
    // SAFETY: `slf` is a LibObject; the dict reference it owns is dropped
    // once (the field is set to NULL first).
    unsafe {
        let lib = &mut *(slf as *mut LibObject);
        let d = std::mem::replace(&mut lib.dict, std::ptr::null_mut());
        if !d.is_null() {
            ffi::Py_DecRef(d);
        }
    }
    0
}

unsafe extern "C" fn dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: called once by CPython when the last reference goes, with
    // the GIL held; the object was made by `new_lib` (a heap type's
    // instance, which holds a reference to its type).
    unsafe {
        ffi::PyObject_GC_UnTrack(slf.cast());
        clear(slf);
        let lib = &mut *(slf as *mut LibObject);
        let state = std::mem::replace(&mut lib.state, std::ptr::null_mut());
        if !state.is_null() {
            // The references are released here, not through PyO3's
            // deferred pool (this may run during finalization).
            let state = *Box::from_raw(state);
            ffi::Py_DecRef(state.ffi.into_ptr());
            ffi::Py_DecRef(state.libname.into_ptr());
            if let Some(l) = state.library {
                ffi::Py_DecRef(l.into_ptr());
            }
            drop(state.module);
        }
        let tp = ffi::Py_TYPE(slf);
        ffi::PyObject_GC_Del(slf.cast());
        ffi::Py_DecRef(tp.cast());
    }
}

/// The function-pointer cdata a wrapper function of a lib stands for
/// (cffi's C wrappers, used where rcffi cannot call a signature itself).
pub fn wrapper_cdata<'py>(obj: &Bound<'py, PyAny>, name: &str) -> Option<Bound<'py, CData>> {
    if !is_lib(obj) {
        return None;
    }
    attrs::direct_cdata(obj.py(), obj, name)
}
