//! Making the cdata classes at import (see `memory::object`): heap
//! subtypes of the `CData` pyclass made with `PyType_FromSpecWithBases`,
//! with cffi's names.  `_CDataBase` installs the attribute slots of
//! [`super::attr`] and the item slots of [`super::item`] as plain C
//! functions; the other classes inherit them.
//! Every class has `memory::object::dealloc` as `tp_dealloc`.

use std::ffi::{CStr, c_int, c_uint, c_void};

use pyo3::exceptions::PyImportError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

use crate::memory::cdata::CData;
use crate::memory::object::{self, CDataClass, ObjectLayout};
use crate::python::pyo3_internals;

/// Name, base (an earlier entry; `None`: the pyclass) and whether the
/// class is a base of later ones, in the order of [`CDataClass`].
/// Subclassing in Python is refused by the pyclass's `__init_subclass__`.
const CLASSES: [(&CStr, Option<usize>, bool); 5] = [
    (c"_cffi_backend._CDataBase", None, true),
    (c"_cffi_backend.__CDataOwn", Some(0), true),
    (c"_cffi_backend.__CDataOwnGC", Some(1), false),
    (c"_cffi_backend.__CDataFromBuf", Some(0), false),
    (c"_cffi_backend.__CDataGCP", Some(0), false),
];

/// Makes and registers the cdata classes (once), and adds them to `m`.
pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    static DONE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if DONE.get().is_none() {
        make_classes(py)?;
        let _ = DONE.set(());
    }
    for (class, (name, _, _)) in CDataClass::ALL.into_iter().zip(CLASSES) {
        let short = name.to_str().unwrap_or("");
        let short = short.trim_start_matches("_cffi_backend.");
        m.add(short, object::class_object(py, class))?;
    }
    Ok(())
}

fn make_classes(py: Python<'_>) -> PyResult<()> {
    let core = py.get_type::<CData>();
    let mut made: Vec<Bound<'_, PyType>> = Vec::with_capacity(CLASSES.len());
    for (i, (name, base, basetype)) in CLASSES.iter().enumerate() {
        let base = match base {
            Some(b) => made[*b].clone(),
            None => core.clone(),
        };
        let dealloc = (ffi::Py_tp_dealloc, object::dealloc as *mut c_void);
        let slots: &[(c_int, *mut c_void)] = if i == 0 {
            &[
                (ffi::Py_tp_getattro, super::attr::getattro as *mut c_void),
                (ffi::Py_tp_setattro, super::attr::setattro as *mut c_void),
                (ffi::Py_mp_subscript, super::item::subscript as *mut c_void),
                (
                    ffi::Py_mp_ass_subscript,
                    super::item::ass_subscript as *mut c_void,
                ),
                dealloc,
            ]
        } else {
            // Without its own, a heap type gets CPython's subtype_dealloc.
            &[dealloc]
        };
        made.push(new_class(py, name, &base, *basetype, slots)?);
    }
    let size: usize = core.getattr("__basicsize__")?.extract()?;
    let value = pyo3_internals::value_offset(py)?;
    let weaklist: usize = core.getattr("__weakrefoffset__")?.extract()?;
    let layout = ObjectLayout {
        size,
        value,
        weaklist,
    };
    let header = size_of::<ffi::PyObject>();
    let values = value..value + size_of::<CData>();
    let bad = || PyImportError::new_err("rcffi: unexpected layout of the cdata pyclass");
    for t in &made {
        let s: usize = t.getattr("__basicsize__")?.extract()?;
        let w: usize = t.getattr("__weakrefoffset__")?.extract()?;
        if s != size || w != weaklist {
            return Err(bad());
        }
    }
    let aligned = [size, value, values.end, weaklist]
        .iter()
        .all(|x| x % 8 == 0);
    if !aligned
        || values.start < header
        || values.end > size
        || weaklist < header
        || values.contains(&weaklist)
    {
        return Err(bad());
    }
    let types: Vec<Py<PyType>> = made.into_iter().map(Bound::unbind).collect();
    let types: [Py<PyType>; 5] = types.try_into().map_err(|_| bad())?;
    // SAFETY: the classes were made above as data-less heap subtypes of
    // the pyclass with object::dealloc; the layout was measured on the
    // pyclass, and check_layout verifies (before any other use) that an
    // object made by into_object matches one made by PyO3.
    unsafe { object::set_classes(types, layout) };
    pyo3_internals::check_layout(py, layout)
}

/// A heap subtype of `base` with the given slots and no data of its own.
fn new_class<'py>(
    py: Python<'py>,
    name: &'static CStr,
    base: &Bound<'py, PyType>,
    basetype: bool,
    slots: &[(c_int, *mut c_void)],
) -> PyResult<Bound<'py, PyType>> {
    let mut table: Vec<ffi::PyType_Slot> = slots
        .iter()
        .map(|&(slot, pfunc)| ffi::PyType_Slot { slot, pfunc })
        .collect();
    table.push(ffi::PyType_Slot {
        slot: 0,
        pfunc: std::ptr::null_mut(),
    });
    let mut flags = ffi::Py_TPFLAGS_DEFAULT;
    if basetype {
        flags |= ffi::Py_TPFLAGS_BASETYPE;
    }
    let mut spec = ffi::PyType_Spec {
        name: name.as_ptr(),
        // 0: the size, GC support and weakref slot of the base.
        basicsize: 0,
        itemsize: 0,
        flags: flags as c_uint,
        slots: table.as_mut_ptr(),
    };
    let bases = PyTuple::new(py, [base])?;
    // SAFETY: spec and its slot table are valid for the call (CPython
    // copies what it keeps; the name is 'static); bases is a tuple of one
    // type.  The result is a new reference or NULL with an exception set.
    let tp = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyType_FromSpecWithBases(&mut spec, bases.as_ptr()))?
    };
    Ok(tp.cast_into::<PyType>()?)
}
