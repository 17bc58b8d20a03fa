//! The cdata object: a typed view on C memory, and who owns that memory.
//!
//! As in cffi, what the address means depends on the kind of the type:
//! for pointers and function pointers it is the pointer value; for arrays
//! the address of item 0; for structs and unions the address of the
//! struct; for primitives and enums the address of the value (held inline
//! for values made by `cast`).
//!
//! Memory safety rules of rcffi (beyond cffi):
//!
//! * memory that rcffi frees (`new`, custom allocators) cannot be used
//!   after `release()`: every access goes through [`CData::ptr`], which
//!   fails once the memory is gone;
//! * a `from_buffer()` cdata stays usable after `release()` only while
//!   the Python object still exposes the very same memory (checked at
//!   each access);
//! * memory exported by a `buffer` object (e.g. to a `memoryview`) is
//!   only freed once the last export ends, even if released earlier.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyAny;

use super::raw::Allocation;
use crate::errors::{Error, Result};
use crate::types::{Kind, TypeRef};

/// Who owns the memory a cdata refers to.
pub enum Owner {
    /// Memory owned elsewhere: by C, or by `base` (a view such as `p[0]`,
    /// `p.field`, `p + 1`), which is kept alive by this cdata.  `base` is
    /// the cdata that owns the memory (or the base of a view on it), so
    /// chains of views stay short.
    Borrowed { base: Option<Py<CData>> },
    /// A primitive value held in the cdata itself.
    Value,
    /// `ffi.new` memory, freed with the cdata or by `ffi.release`.  `size`
    /// is the size asked for (the allocation may be a little larger).
    Owned {
        alloc: Mutex<Option<Allocation>>,
        size: usize,
    },
    /// `ffi.new_allocator(...)` memory: `inner` holds the cdata the custom
    /// allocator returned; `free` is a finalizer object (see
    /// `python::finalizer`) calling the user's `free(inner)` once, at
    /// release or when collected.
    Custom {
        inner: Mutex<Option<Py<PyAny>>>,
        free: Option<Py<PyAny>>,
    },
    /// `ffi.from_buffer`: the memory of a Python buffer, held until
    /// release.  `nbytes` is the length of the buffer.
    Buffer {
        view: Mutex<Option<PyBufferHold>>,
        obj: Py<PyAny>,
        nbytes: usize,
    },
    /// `ffi.gc(orig, destructor)`: `destructor` is a finalizer object
    /// calling the user's destructor on `orig` once, at release or when
    /// collected.
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
    /// `p[0]` of the `struct *` that `new` returned (`base` is `p`): cffi
    /// treats it as the owner of the memory (repr, `sizeof`, open arrays).
    struct_of_owner: bool,
    /// Buffer exports (`memoryview(ffi.buffer(...))`) of this memory in
    /// progress: freeing is deferred until they have all ended.
    exports: AtomicUsize,
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

fn released_error(ty: &TypeRef) -> Error {
    Error::value(format!(
        "cdata '{}' was released (ffi.release() or 'with' block): it cannot be used any more",
        ty.cname()
    ))
}

impl CData {
    pub fn new(ty: TypeRef, ptr: *mut u8, len: usize, owner: Owner) -> Self {
        CData {
            ty,
            ptr: AtomicPtr::new(ptr),
            len,
            owner,
            inline: Inline::new([0; 16]),
            released: AtomicBool::new(false),
            struct_of_owner: false,
            exports: AtomicUsize::new(0),
            keep: Mutex::new(None),
        }
    }

    /// A primitive value cdata whose bytes are `bytes`.
    pub fn value(ty: TypeRef, bytes: [u8; 16]) -> Self {
        let mut cd = CData::new(ty, std::ptr::null_mut(), 0, Owner::Value);
        cd.inline = Inline::new(bytes);
        cd
    }

    /// `p[0]` of `p`, the `struct *` that `new` returned.
    pub fn struct_of_owner(ty: TypeRef, ptr: *mut u8, owner: Py<CData>) -> Self {
        let mut cd = CData::new(ty, ptr, 0, Owner::Borrowed { base: Some(owner) });
        cd.struct_of_owner = true;
        cd
    }

    /// The `struct *` from `new` this struct cdata is `[0]` of, if any.
    pub fn owning_pointer(&self) -> Option<&CData> {
        match &self.owner {
            Owner::Borrowed { base: Some(b) } if self.struct_of_owner => Some(b.get()),
            _ => None,
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

    /// Whether `release()` (or the end of a `with` block) was called on
    /// this very cdata.
    pub fn was_released(&self) -> bool {
        self.released.load(Ordering::Relaxed)
    }

    /// Whether the memory of this cdata can no longer be used.
    pub fn is_released(&self) -> bool {
        self.check_alive().is_err()
    }

    /// Fails if the memory this cdata refers to was freed.
    fn check_alive(&self) -> Result<()> {
        match &self.owner {
            Owner::Owned { .. } | Owner::Custom { .. } if self.was_released() => {
                Err(released_error(&self.ty))
            }
            Owner::Buffer { obj, nbytes, .. } if self.was_released() => {
                // The buffer was given back: the memory is still the
                // object's only if the object still exposes it.
                let same = Python::attach(|py| {
                    pyo3::buffer::PyUntypedBuffer::get(obj.bind(py)).is_ok_and(|b| {
                        b.buf_ptr() as *mut u8 == self.raw_ptr() && b.len_bytes() >= *nbytes
                    })
                });
                if same {
                    Ok(())
                } else {
                    Err(released_error(&self.ty))
                }
            }
            // `ffi.gc` memory is the original's: the destructor is the
            // user's business, as with any pointer.
            Owner::Gc { orig, .. } => orig.get().check_alive(),
            Owner::Borrowed { base: Some(b) } => b.get().check_alive(),
            _ => Ok(()),
        }
    }

    /// The address, failing if the memory was released.
    pub fn ptr(&self) -> Result<*mut u8> {
        self.check_alive()?;
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

    /// Memory from `ffi.new` (cffi's `CDataOwn_Check`).
    pub fn is_new_owner(&self) -> bool {
        matches!(self.owner, Owner::Owned { .. } | Owner::Custom { .. })
    }

    /// The size asked for when this memory was allocated by `new`.
    fn owned_size(&self) -> Option<usize> {
        match &self.owner {
            Owner::Owned { size, .. } => Some(*size),
            _ => None,
        }
    }

    /// For a struct with an open array made by `new`, or the `struct *`
    /// `new` returned, or `p[0]` of it: the size really allocated (cffi's
    /// `_cdata_var_byte_size`).
    pub fn var_byte_size(&self) -> Option<usize> {
        let st = match &self.ty.kind {
            Kind::Struct(_) => &self.ty,
            Kind::Pointer(i) if i.is_struct() => i,
            _ => return None,
        };
        if !st
            .struct_info()
            .and_then(|s| s.layout())
            .is_some_and(|l| l.has_var_array)
        {
            return None;
        }
        if let Some(n) = self.owned_size() {
            return Some(n);
        }
        self.owning_pointer().and_then(|p| p.owned_size())
    }

    /// `sizeof(cdata)` (cffi's `direct_sizeof_cdata`).
    pub fn sizeof(&self) -> Option<usize> {
        match &self.ty.kind {
            Kind::Array { item, .. } => item.size()?.checked_mul(self.array_len()?),
            Kind::Struct(_) => self.var_byte_size().or(self.ty.size()),
            _ => self.ty.size(),
        }
    }

    /// The bytes this cdata covers: what `buffer(cdata)` shows by
    /// default.  `None` if this cdata is not a pointer or an array, or
    /// points to items of unknown size.
    pub fn data_size(&self) -> Option<usize> {
        match &self.ty.kind {
            Kind::Pointer(item) => self.var_byte_size().or(item.size()),
            Kind::Array { item, .. } => item.size()?.checked_mul(self.array_len()?),
            _ => None,
        }
    }

    /// The size shown by `repr` of memory made by `new` (cffi's
    /// `cdataowning_size_bytes`).
    pub fn owning_size(&self) -> usize {
        match &self.ty.kind {
            Kind::Struct(_) => self.sizeof(),
            _ => self.data_size(),
        }
        .unwrap_or(0)
    }

    /// The range of memory rcffi knows this cdata's memory lives in, as
    /// (start, length), when it owns it: writes of open arrays are
    /// bounded by its end.
    pub fn known_range(&self) -> Option<(usize, usize)> {
        match &self.owner {
            Owner::Owned { size, .. } => Some((self.raw_ptr() as usize, *size)),
            Owner::Buffer { nbytes, .. } => Some((self.raw_ptr() as usize, *nbytes)),
            _ => None,
        }
    }

    /// Whether this cdata owns its memory (so storing it somewhere must
    /// keep it alive).
    pub fn owns_memory(&self) -> bool {
        matches!(
            self.owner,
            Owner::Owned { .. }
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
        CData::keeper_cdata(slf).map(|k| k.into_any())
    }

    /// As [`CData::keeper`], typed.
    pub fn keeper_cdata(slf: &Bound<'_, CData>) -> Option<Py<CData>> {
        let me = slf.get();
        if me.owns_memory() {
            return Some(slf.clone().unbind());
        }
        match &me.owner {
            Owner::Borrowed { base: Some(b) } => Some(b.clone_ref(slf.py())),
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

    /// Calls `f` on this cdata and on every cdata its memory depends on
    /// (bases of views, the original of `ffi.gc`).
    pub fn for_each_holder(&self, f: &mut impl FnMut(&CData)) {
        f(self);
        match &self.owner {
            Owner::Borrowed { base: Some(b) } => b.get().for_each_holder(f),
            Owner::Gc { orig, .. } => orig.get().for_each_holder(f),
            _ => {}
        }
    }

    /// A buffer export of this memory starts (see [`CData::export_ended`]).
    pub fn export_started(&self) {
        self.for_each_holder(&mut |c| {
            c.exports.fetch_add(1, Ordering::Relaxed);
        });
    }

    /// A buffer export ends: memory released meanwhile is freed now.
    pub fn export_ended(&self, py: Python<'_>) -> PyResult<()> {
        let mut pending = Vec::new();
        self.for_each_holder(&mut |c| {
            if c.exports.fetch_sub(1, Ordering::Relaxed) == 1 && c.was_released() {
                pending.push(c as *const CData as usize);
            }
        });
        let mut result = Ok(());
        self.for_each_holder(&mut |c| {
            if pending.contains(&(c as *const CData as usize))
                && let Err(e) = c.free_now(py)
            {
                result = Err(e);
            }
        });
        result
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
            Owner::Borrowed { base: None } | Owner::Value | Owner::Owned { .. } => {}
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

    /// Marks the memory released and frees what can be freed now (the
    /// memory itself, the buffer view, or calls the destructor or the
    /// custom `free`).  With buffer exports in progress, freeing waits for
    /// the last one to end.
    pub fn release(&self, py: Python<'_>) -> PyResult<()> {
        if self.released.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        if self.exports.load(Ordering::Relaxed) > 0 {
            return Ok(());
        }
        self.free_now(py)
    }

    /// Frees what this cdata owns; doing it twice does nothing.
    fn free_now(&self, py: Python<'_>) -> PyResult<()> {
        if let Ok(mut keep) = self.keep.lock() {
            keep.take();
        }
        match &self.owner {
            Owner::Owned { alloc, .. } => {
                let a = alloc.lock().ok().and_then(|mut a| a.take());
                drop(a);
            }
            Owner::Custom { inner, free } => {
                let inner = inner.lock().ok().and_then(|mut i| i.take());
                if let Some(free) = free {
                    free.call_method0(py, "run")?;
                }
                drop(inner);
            }
            Owner::Buffer { view, .. } => {
                let v = view.lock().ok().and_then(|mut v| v.take());
                drop(v);
            }
            Owner::Gc { destructor, .. } => {
                let d = destructor.lock().ok().and_then(|mut d| d.take());
                if let Some(d) = d {
                    d.call_method0(py, "run")?;
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
        // Destructors and custom `free` functions run from their finalizer
        // objects (`python::finalizer`) when those are dropped with us; the
        // owned memory and held buffers are freed by their own Drop.
    }
}
