//! The cdata object: a typed view on C memory, and who owns that memory.
//!
//! As in cffi, what the address means depends on the kind of the type:
//! for pointers and function pointers it is the pointer value; for arrays
//! the address of item 0; for structs and unions the address of the
//! struct; for primitives and enums the address of the value (held inline
//! for values made by `cast`).

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyAny;

use super::raw::Allocation;
use crate::errors::{Error, Result};
use crate::types::{Kind, TypeRef};

/// Who owns the memory a cdata refers to.
pub enum Owner {
    /// Memory owned elsewhere: by C, or by `base` (a view such as `p[0]`,
    /// `p.field`, `p + 1`), which is kept alive by this cdata.
    Borrowed { base: Option<Py<CData>> },
    /// A primitive value held in the cdata itself.
    Value,
    /// `ffi.new` memory, freed with the cdata or by `ffi.release`.
    Owned(Mutex<Option<Allocation>>),
    /// `ffi.new_allocator(...)` memory: `inner` holds the cdata the custom
    /// allocator returned; `free` is called on it at release.
    Custom {
        inner: Mutex<Option<Py<PyAny>>>,
        free: Option<Py<PyAny>>,
    },
    /// `ffi.from_buffer`: the memory of a Python buffer, held until release.
    Buffer {
        view: Mutex<Option<PyBufferHold>>,
        obj: Py<PyAny>,
    },
    /// `ffi.gc(orig, destructor)`: calls the destructor on `orig` once.
    Gc {
        orig: Py<CData>,
        destructor: Mutex<Option<Py<PyAny>>>,
    },
    /// `ffi.new_handle(obj)`: a `void *` whose value identifies `obj`.
    Handle { obj: Py<PyAny> },
    /// `ffi.callback(...)`: a function pointer to `closure` (the call
    /// layer's executable code), which calls `callable` (and `onerror`).
    /// The closure refers to those two without counting, so they must
    /// never be dropped before it: fields drop in order, closure first.
    Callback {
        closure: Box<dyn std::any::Any + Send + Sync>,
        callable: Py<PyAny>,
        onerror: Option<Py<PyAny>>,
    },
}

/// A held `Py_buffer` (released on drop).
pub struct PyBufferHold(pub pyo3::buffer::PyUntypedBuffer);

/// Value storage for primitive cdata (large enough for `long double` and
/// `double _Complex`).
#[repr(C, align(16))]
pub struct Inline(UnsafeCell<[u8; 16]>);

// SAFETY: the inline bytes are only touched while holding the GIL.
unsafe impl Sync for Inline {}

impl Inline {
    pub fn new(bytes: [u8; 16]) -> Self {
        Inline(UnsafeCell::new(bytes))
    }
}

/// The Python `_cffi_backend._CDataBase` object.
#[pyclass(
    name = "_CDataBase",
    module = "_cffi_backend",
    subclass,
    frozen,
    weakref
)]
pub struct CData {
    pub ty: TypeRef,
    ptr: AtomicPtr<u8>,
    /// Number of items, for arrays whose type has no length (`int[]`).
    pub len: usize,
    pub owner: Owner,
    inline: Inline,
    released: AtomicBool,
    /// Owning cdata stored into pointer slots of memory owned by this
    /// cdata, by slot address: kept alive while this cdata lives.
    keep: Mutex<Option<HashMap<usize, Py<PyAny>>>>,
}

/// `__CDataOwn`: memory from `ffi.new`.
#[pyclass(name = "__CDataOwn", module = "_cffi_backend", extends = CData, subclass, frozen)]
pub struct CDataOwn;

/// `__CDataOwnGC`: memory from `ffi.new` for structs and unions (cffi
/// tracks them in the GC).
#[pyclass(name = "__CDataOwnGC", module = "_cffi_backend", extends = CDataOwn, frozen)]
pub struct CDataOwnGC;

/// `__CDataFromBuf`: from `ffi.from_buffer`.
#[pyclass(name = "__CDataFromBuf", module = "_cffi_backend", extends = CData, frozen)]
pub struct CDataFromBuf;

/// `__CDataGCP`: from `ffi.gc`.
#[pyclass(name = "__CDataGCP", module = "_cffi_backend", extends = CData, frozen)]
pub struct CDataGCP;

impl CData {
    pub fn new(ty: TypeRef, ptr: *mut u8, len: usize, owner: Owner) -> Self {
        CData {
            ty,
            ptr: AtomicPtr::new(ptr),
            len,
            owner,
            inline: Inline::new([0; 16]),
            released: AtomicBool::new(false),
            keep: Mutex::new(None),
        }
    }

    /// A primitive value cdata whose bytes are `bytes`.
    pub fn value(ty: TypeRef, bytes: [u8; 16]) -> Self {
        CData {
            ty,
            ptr: AtomicPtr::new(std::ptr::null_mut()),
            len: 0,
            owner: Owner::Value,
            inline: Inline::new(bytes),
            released: AtomicBool::new(false),
            keep: Mutex::new(None),
        }
    }

    /// Sets the address (used once, right after creating a handle).
    pub fn set_ptr(&self, p: *mut u8) {
        self.ptr.store(p, Ordering::Relaxed);
    }

    /// The address, without checking for release (for `repr`, hashing,
    /// comparisons).
    pub fn raw_ptr(&self) -> *mut u8 {
        match self.owner {
            Owner::Value => self.inline.0.get() as *mut u8,
            _ => self.ptr.load(Ordering::Relaxed),
        }
    }

    pub fn is_released(&self) -> bool {
        if self.released.load(Ordering::Relaxed) {
            return true;
        }
        match &self.owner {
            Owner::Borrowed { base: Some(b) } => b.get().is_released(),
            Owner::Gc { orig, .. } => orig.get().is_released(),
            _ => false,
        }
    }

    /// The address, failing if the memory was released.
    pub fn ptr(&self) -> Result<*mut u8> {
        if self.is_released() {
            return Err(Error::value(format!(
                "cdata '{}' was released (ffi.release() or 'with' block): it cannot be used any more",
                self.ty.cname()
            )));
        }
        Ok(self.raw_ptr())
    }

    /// Number of items of an array cdata.
    pub fn array_len(&self) -> Option<usize> {
        match &self.ty.kind {
            Kind::Array { len: Some(n), .. } => Some(*n),
            Kind::Array { len: None, .. } => Some(self.len),
            _ => None,
        }
    }

    /// Bytes of memory this cdata covers (for `sizeof(cdata)` and
    /// buffers).
    pub fn data_size(&self) -> Option<usize> {
        match &self.ty.kind {
            Kind::Array { item, .. } => item.size()?.checked_mul(self.array_len()?),
            Kind::Pointer(item) if self.owns_memory() => match &self.owner {
                Owner::Owned(a) => a
                    .lock()
                    .ok()
                    .and_then(|a| a.as_ref().map(|a| a.size()))
                    .or(item.size()),
                _ => item.size(),
            },
            Kind::Pointer(item) => item.size(),
            _ => self.ty.size(),
        }
    }

    /// Whether this cdata owns its memory (so storing it somewhere must
    /// keep it alive).
    pub fn owns_memory(&self) -> bool {
        matches!(
            self.owner,
            Owner::Owned(_)
                | Owner::Custom { .. }
                | Owner::Buffer { .. }
                | Owner::Gc { .. }
                | Owner::Handle { .. }
                | Owner::Callback { .. }
        )
    }

    /// The object that keeps the memory of this cdata alive: itself when
    /// it owns it, else its base.
    pub fn keeper(slf: &Bound<'_, CData>) -> Option<Py<PyAny>> {
        let me = slf.get();
        if me.owns_memory() {
            return Some(slf.clone().into_any().unbind());
        }
        match &me.owner {
            Owner::Borrowed { base: Some(b) } => Some(b.clone_ref(slf.py()).into_any()),
            _ => None,
        }
    }

    /// The owner of the memory this cdata points into: itself if it owns
    /// the memory, else its base (recursively).  Keep-alive references are
    /// recorded there.
    pub fn container<'py>(slf: &Bound<'py, CData>) -> Option<Bound<'py, CData>> {
        let me = slf.get();
        if me.owns_memory() {
            return Some(slf.clone());
        }
        match &me.owner {
            Owner::Borrowed { base: Some(b) } => CData::container(b.bind(slf.py())),
            _ => None,
        }
    }

    /// Records that the pointer slot at `addr` holds `value` (or nothing).
    pub fn keep_at(&self, addr: usize, value: Option<Py<PyAny>>) {
        let Ok(mut keep) = self.keep.lock() else {
            return;
        };
        match value {
            Some(v) => {
                keep.get_or_insert_with(HashMap::new).insert(addr, v);
            }
            None => {
                if let Some(map) = keep.as_mut() {
                    map.remove(&addr);
                }
            }
        }
    }

    /// Calls `visit` on every Python object this cdata references (for the
    /// garbage collector).
    pub fn traverse_refs<E>(
        &self,
        mut visit: impl FnMut(&Py<PyAny>) -> Result<(), E>,
    ) -> Result<(), E> {
        match &self.owner {
            Owner::Borrowed { base: Some(b) } => visit(b.as_any())?,
            Owner::Custom { inner, free } => {
                if let Ok(i) = inner.try_lock()
                    && let Some(i) = i.as_ref()
                {
                    visit(i)?;
                }
                if let Some(f) = free {
                    visit(f)?;
                }
            }
            Owner::Buffer { obj, .. } | Owner::Handle { obj } => visit(obj)?,
            Owner::Gc { orig, destructor } => {
                visit(orig.as_any())?;
                if let Ok(d) = destructor.try_lock()
                    && let Some(d) = d.as_ref()
                {
                    visit(d)?;
                }
            }
            Owner::Callback {
                callable, onerror, ..
            } => {
                visit(callable)?;
                if let Some(o) = onerror {
                    visit(o)?;
                }
            }
            Owner::Borrowed { base: None } | Owner::Value | Owner::Owned(_) => {}
        }
        if let Ok(keep) = self.keep.try_lock()
            && let Some(map) = keep.as_ref()
        {
            for v in map.values() {
                visit(v)?;
            }
        }
        Ok(())
    }

    /// Drops the references that can be dropped to break a cycle.
    pub fn clear_refs(&self) {
        if let Ok(mut keep) = self.keep.try_lock() {
            keep.take();
        }
    }

    /// The object kept alive for the pointer slot at `addr`, if any.
    pub fn kept_at(&self, py: Python<'_>, addr: usize) -> Option<Py<PyAny>> {
        let keep = self.keep.lock().ok()?;
        keep.as_ref()?.get(&addr).map(|k| k.clone_ref(py))
    }

    /// Marks the memory released and frees what can be freed now.  Returns
    /// the destructor call to make (for `ffi.gc`) or the custom `free`.
    pub fn release(&self, py: Python<'_>) -> PyResult<()> {
        if self.released.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        self.free_now(py)
    }

    fn free_now(&self, py: Python<'_>) -> PyResult<()> {
        if let Ok(mut keep) = self.keep.lock() {
            keep.take();
        }
        match &self.owner {
            Owner::Owned(a) => {
                if let Ok(mut a) = a.lock() {
                    a.take();
                }
            }
            Owner::Custom { inner, free } => {
                let inner = inner.lock().ok().and_then(|mut i| i.take());
                if let (Some(inner), Some(free)) = (inner, free) {
                    free.call1(py, (inner,))?;
                }
            }
            Owner::Buffer { view, .. } => {
                if let Ok(mut v) = view.lock() {
                    v.take();
                }
            }
            Owner::Gc { orig, destructor } => {
                let d = destructor.lock().ok().and_then(|mut d| d.take());
                if let Some(d) = d {
                    d.call1(py, (orig.clone_ref(py),))?;
                }
            }
            Owner::Borrowed { .. }
            | Owner::Value
            | Owner::Handle { .. }
            | Owner::Callback { .. } => {}
        }
        Ok(())
    }
}

/// Addresses of the live handle objects made by `new_handle`: a pointer
/// is a handle exactly when its value is in this set.
static HANDLES: std::sync::LazyLock<Mutex<std::collections::HashSet<usize>>> =
    std::sync::LazyLock::new(Default::default);

pub fn register_handle(addr: usize) {
    if let Ok(mut h) = HANDLES.lock() {
        h.insert(addr);
    }
}

pub fn is_live_handle(addr: usize) -> bool {
    HANDLES.lock().map(|h| h.contains(&addr)).unwrap_or(false)
}

impl Drop for CData {
    fn drop(&mut self) {
        if let Owner::Handle { .. } = self.owner
            && let Ok(mut h) = HANDLES.lock()
        {
            h.remove(&(self.raw_ptr() as usize));
        }
        // Destructors and custom `free` functions are Python calls; the
        // owned memory and held buffers are freed by their own Drop.
        if self.released.load(Ordering::Relaxed) {
            return;
        }
        let needs_python = matches!(
            &self.owner,
            Owner::Gc { .. } | Owner::Custom { free: Some(_), .. }
        );
        if needs_python {
            Python::attach(|py| {
                if let Err(e) = self.free_now(py) {
                    e.write_unraisable(py, None);
                }
            });
        }
    }
}
