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
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::types::PyAny;

use super::keep::KeepMap;
use super::raw;
use crate::errors::{Error, Result};
use crate::types::{Kind, TypeRef};

/// Who owns the memory a cdata refers to.  The common owners (views,
/// values, `ffi.new` memory) are stored inline; the rare ones behind a
/// box, so that a cdata stays small.
pub enum Owner {
    /// Memory owned elsewhere: by C, or by `base` (a view such as `p[0]`,
    /// `p.field`, `p + 1`), which is kept alive by this cdata.  `base` is
    /// the cdata that owns the memory (or the base of a view on it), so
    /// chains of views stay short.
    Borrowed { base: Option<Py<CData>> },
    /// A primitive value held in the cdata itself.
    Value,
    /// `ffi.new` memory (from [`raw::alloc_owned`], at the cdata's
    /// address), freed with the cdata or by `ffi.release`.  `size` is the
    /// size asked for, `align` the alignment it was allocated with.
    Owned { size: usize, align: usize },
    /// `ffi.new_allocator(...)` memory.
    Custom(Box<CustomOwner>),
    /// `ffi.from_buffer`: the memory of a Python buffer, held until
    /// release.
    Buffer(Box<BufferOwner>),
    /// `ffi.gc(orig, destructor)`: calls the destructor on `orig` once
    /// (through a finalizer object, see [`GcOwner`]).
    Gc(Box<GcOwner>),
    /// `ffi.new_handle(obj)`: a `void *` whose value identifies `obj`.
    Handle { obj: Py<PyAny> },
    /// `ffi.callback(...)`: a function pointer to the closure of a
    /// [`CallbackOwner`].
    Callback(Box<CallbackOwner>),
}

/// [`Owner::Callback`]: `closure` (the call layer's executable code)
/// calls `callable` (and `onerror`).  The closure refers to those two
/// without counting, so they must never be dropped before it: fields drop
/// in order, closure first.
pub struct CallbackOwner {
    pub closure: Box<dyn std::any::Any + Send + Sync>,
    pub callable: Py<PyAny>,
    pub onerror: Option<Py<PyAny>>,
}

/// [`Owner::Custom`]: `inner` holds the cdata the custom allocator
/// returned; `free` is a finalizer object (see `python::finalizer`)
/// calling the user's `free(inner)` once, at release or when collected.
pub struct CustomOwner {
    pub inner: Mutex<Option<Py<PyAny>>>,
    pub free: Option<Py<PyAny>>,
}

/// [`Owner::Buffer`]: the held view of `obj`; `nbytes` is the length of
/// the buffer.
pub struct BufferOwner {
    pub view: Mutex<Option<PyBufferHold>>,
    pub obj: Py<PyAny>,
    pub nbytes: usize,
}

/// [`Owner::Gc`]: `destructor` is a finalizer object calling the user's
/// destructor on `orig` once, at release or when collected.
pub struct GcOwner {
    pub orig: Py<CData>,
    pub destructor: Mutex<Option<Py<PyAny>>>,
}

impl Owner {
    /// `ffi.from_buffer` memory.
    pub fn buffer(view: PyBufferHold, obj: Py<PyAny>, nbytes: usize) -> Owner {
        Owner::Buffer(Box::new(BufferOwner {
            view: Mutex::new(Some(view)),
            obj,
            nbytes,
        }))
    }

    /// `ffi.gc(orig, destructor)`.
    pub fn gc(orig: Py<CData>, destructor: Py<PyAny>) -> Owner {
        Owner::Gc(Box::new(GcOwner {
            orig,
            destructor: Mutex::new(Some(destructor)),
        }))
    }
}

/// A held `Py_buffer` (released on drop).
pub struct PyBufferHold(pub crate::python::capi::pybuffer::PyBuf);

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

/// State that few cdata need, allocated on first use.
#[derive(Default)]
struct Extra {
    /// Buffer exports (`memoryview(ffi.buffer(...))`) of this memory in
    /// progress: freeing is deferred until they have all ended.
    exports: AtomicUsize,
    /// Owning cdata stored into pointer slots of memory owned by this
    /// cdata, by slot address: kept alive while this cdata lives.
    keep: KeepMap,
}

/// Bits of [`CData::flags`].
const RELEASED: u8 = 1;
/// `p[0]` of the `struct *` that `new` returned.
const STRUCT_OF_OWNER: u8 = 2;
/// The owned memory was freed.
const FREED: u8 = 4;

/// The Python `_cffi_backend._CDataBase` object.  Instances are made by
/// `python::capi::cdata_object` (with the class cffi gives them), not
/// with `Bound::new`.
#[pyclass(
    name = "_CDataBase",
    module = "_cffi_backend",
    subclass,
    frozen,
    weakref
)]
pub struct CData {
    pub ty: TypeRef,
    /// Number of items, for arrays whose type has no length (`int[]`).
    pub len: usize,
    ptr: AtomicPtr<u8>,
    pub owner: Owner,
    flags: AtomicU8,
    inline: Inline,
    extra: OnceLock<Box<Extra>>,
}

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
            len,
            ptr: AtomicPtr::new(ptr),
            owner,
            flags: AtomicU8::new(0),
            inline: Inline::new([0; 16]),
            extra: OnceLock::new(),
        }
    }

    /// A cdata on memory it does not own, keeping `base` alive.
    pub fn borrowed(ty: TypeRef, ptr: *mut u8, len: usize, base: Option<Py<CData>>) -> Self {
        CData::new(ty, ptr, len, Owner::Borrowed { base })
    }

    /// A primitive value cdata whose bytes are `bytes`.
    pub fn value(ty: TypeRef, bytes: [u8; 16]) -> Self {
        let mut cd = CData::new(ty, std::ptr::null_mut(), 0, Owner::Value);
        cd.inline = Inline::new(bytes);
        cd
    }

    /// A cdata owning `size` new zeroed bytes aligned to `align` (the
    /// memory of `ffi.new`); `len` is the item count of open arrays.
    /// Gives `ty` back if the memory cannot be allocated.
    pub fn owned(
        ty: TypeRef,
        size: usize,
        align: usize,
        len: usize,
    ) -> std::result::Result<Self, TypeRef> {
        match raw::alloc_owned(size, align) {
            Some(ptr) => Ok(CData::new(ty, ptr, len, Owner::Owned { size, align })),
            None => Err(ty),
        }
    }

    /// A cdata owning new memory (as [`CData::owned`]) holding a copy of
    /// `bytes`.
    pub fn owned_copy(
        ty: TypeRef,
        bytes: &[u8],
        align: usize,
    ) -> std::result::Result<Self, TypeRef> {
        let cd = CData::owned(ty, bytes.len(), align, 0)?;
        // SAFETY: the new memory holds bytes.len() bytes and cannot overlap
        // the borrowed slice.
        unsafe { raw::copy(cd.raw_ptr(), bytes.as_ptr(), bytes.len()) };
        Ok(cd)
    }

    /// `p[0]` of `p`, the `struct *` that `new` returned.
    pub fn struct_of_owner(ty: TypeRef, ptr: *mut u8, owner: Py<CData>) -> Self {
        let cd = CData::borrowed(ty, ptr, 0, Some(owner));
        cd.flags.store(STRUCT_OF_OWNER, Ordering::Relaxed);
        cd
    }

    fn flag(&self, f: u8) -> bool {
        self.flags.load(Ordering::Relaxed) & f != 0
    }

    /// The `struct *` from `new` this struct cdata is `[0]` of, if any.
    pub fn owning_pointer(&self) -> Option<&CData> {
        match &self.owner {
            Owner::Borrowed { base: Some(b) } if self.flag(STRUCT_OF_OWNER) => Some(b.get()),
            _ => None,
        }
    }

    /// Sets the address (used once, right after creating a handle).
    pub fn set_ptr(&self, p: *mut u8) {
        self.ptr.store(p, Ordering::Relaxed);
    }

    /// The address, without checking for release (for `repr`, hashing,
    /// comparisons).
    #[inline]
    pub fn raw_ptr(&self) -> *mut u8 {
        match self.owner {
            Owner::Value => self.inline.0.get() as *mut u8,
            _ => self.ptr.load(Ordering::Relaxed),
        }
    }

    /// Whether `release()` (or the end of a `with` block) was called on
    /// this very cdata.
    pub fn was_released(&self) -> bool {
        self.flag(RELEASED)
    }

    /// Whether the memory of this cdata can no longer be used.
    pub fn is_released(&self) -> bool {
        self.check_alive().is_err()
    }

    /// Fails if the memory this cdata refers to was freed.
    #[inline]
    pub fn check_alive(&self) -> Result<()> {
        match &self.owner {
            Owner::Value
            | Owner::Borrowed { base: None }
            | Owner::Handle { .. }
            | Owner::Callback(_) => Ok(()),
            Owner::Borrowed { base: Some(b) } => b.get().check_alive(),
            Owner::Owned { .. } | Owner::Custom(_) if self.was_released() => {
                Err(released_error(&self.ty))
            }
            Owner::Owned { .. } | Owner::Custom(_) => Ok(()),
            Owner::Buffer(b) if self.was_released() => self.check_buffer_alive(b),
            Owner::Buffer(_) => Ok(()),
            // `ffi.gc` memory is the original's: the destructor is the
            // user's business, as with any pointer.
            Owner::Gc(g) => g.orig.get().check_alive(),
        }
    }

    /// A released `from_buffer` cdata: the memory is still the object's
    /// only if the object still exposes it.
    #[cold]
    fn check_buffer_alive(&self, b: &BufferOwner) -> Result<()> {
        let same = Python::attach(|py| {
            crate::python::capi::pybuffer::PyBuf::get(b.obj.bind(py)).is_ok_and(|v| {
                v.buf_ptr() as *mut u8 == self.raw_ptr() && v.len_bytes() >= b.nbytes
            })
        });
        if same {
            Ok(())
        } else {
            Err(released_error(&self.ty))
        }
    }

    /// The address if the memory is alive, `None` otherwise: the common
    /// cases decided inline, the others by [`CData::check_alive`].
    #[inline]
    pub fn live_ptr(&self) -> Option<*mut u8> {
        let alive = match &self.owner {
            Owner::Borrowed { base: None } | Owner::Value | Owner::Handle { .. } => true,
            Owner::Owned { .. } => !self.was_released(),
            Owner::Borrowed { base: Some(b) } => match &b.get().owner {
                Owner::Owned { .. } => !b.get().was_released(),
                _ => b.get().check_alive().is_ok(),
            },
            _ => self.check_alive().is_ok(),
        };
        alive.then(|| self.raw_ptr())
    }

    /// The address, failing if the memory was released.
    #[inline]
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
        matches!(self.owner, Owner::Owned { .. } | Owner::Custom(_))
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
            Owner::Buffer(b) => Some((self.raw_ptr() as usize, b.nbytes)),
            _ => None,
        }
    }

    /// Whether this cdata owns its memory (so storing it somewhere must
    /// keep it alive).
    pub fn owns_memory(&self) -> bool {
        matches!(
            self.owner,
            Owner::Owned { .. }
                | Owner::Custom(_)
                | Owner::Buffer(_)
                | Owner::Gc(_)
                | Owner::Handle { .. }
                | Owner::Callback(_)
        )
    }

    /// Whether this cdata may take part in a reference cycle as soon as
    /// it is made: it references Python objects other than a memory
    /// owner without a keep-alive map (views reference an owner that may
    /// get one later).  Other cdata are left out of the cyclic garbage
    /// collector until their keep-alive map gets its first entry.
    pub fn needs_gc(&self) -> bool {
        !matches!(
            self.owner,
            Owner::Value | Owner::Owned { .. } | Owner::Borrowed { base: None }
        )
    }

    /// Drops, without the generic drop glue, a cdata of the common kinds
    /// (a value, a view, `ffi.new` memory) that made no extra state and is
    /// not the last user of its type: its drop runs no Python code.  Frees
    /// its `new` memory, releases its type and gives back its base
    /// (`Some(base)`) for the caller to release.  `None`: not such a cdata,
    /// nothing done.
    ///
    /// # Safety
    /// `this` must point to a valid `CData` (the value of a dying object)
    /// that is not used again, nor dropped, when `Some` is returned.
    #[inline]
    pub unsafe fn drop_simple(this: *mut CData) -> Option<Option<Py<CData>>> {
        // SAFETY: valid and exclusively ours (caller's guarantee).
        let me = unsafe { &mut *this };
        if me.extra.get().is_some() || std::sync::Arc::strong_count(&me.ty) == 1 {
            return None;
        }
        let base = match &mut me.owner {
            Owner::Borrowed { base } => base.take(),
            Owner::Value => None,
            Owner::Owned { size, align } => {
                if *me.flags.get_mut() & FREED == 0 {
                    // SAFETY: the memory was allocated by alloc_owned(size,
                    // align) at construction and not freed (FREED clear).
                    unsafe { raw::free_owned(*me.ptr.get_mut(), *size, *align) };
                }
                None
            }
            _ => return None,
        };
        // What is left to drop is the type: the owner is now plain data,
        // the extra state was never made, the other fields need no drop.
        // SAFETY: dropped once; the CData is not used nor dropped again.
        unsafe { std::ptr::drop_in_place(&raw mut me.ty) };
        Some(base)
    }

    /// For a cdata whose drop runs no Python code once its base is taken
    /// out (a value, a view, `ffi.new` memory, without keep-alive
    /// references, and not the last user of its type): takes the base out
    /// (`Some(base)`).  `None` for the others, left unchanged.
    pub fn take_simple_refs(&mut self) -> Option<Option<Py<CData>>> {
        let simple = matches!(
            self.owner,
            Owner::Value | Owner::Owned { .. } | Owner::Borrowed { .. }
        ) && self.extra.get().is_none_or(|e| e.keep.is_empty())
            && std::sync::Arc::strong_count(&self.ty) > 1;
        if !simple {
            return None;
        }
        match &mut self.owner {
            Owner::Borrowed { base } => Some(base.take()),
            _ => Some(None),
        }
    }

    /// The object that keeps the memory of this cdata alive: itself when
    /// it owns it, else its base.
    pub fn keeper(slf: &Bound<'_, CData>) -> Option<Py<PyAny>> {
        CData::keeper_cdata(slf).map(|k| k.into_any())
    }

    /// As [`CData::keeper`], typed.
    #[inline]
    pub fn keeper_cdata(slf: &Bound<'_, CData>) -> Option<Py<CData>> {
        let me = slf.get();
        match &me.owner {
            Owner::Borrowed { base: Some(b) } => Some(b.clone_ref(slf.py())),
            Owner::Borrowed { base: None } | Owner::Value => None,
            _ => Some(slf.clone().unbind()),
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
            Owner::Gc(g) => g.orig.get().for_each_holder(f),
            _ => {}
        }
    }

    fn extra(&self) -> &Extra {
        self.extra.get_or_init(Default::default)
    }

    fn exports(&self) -> usize {
        self.extra
            .get()
            .map_or(0, |e| e.exports.load(Ordering::Relaxed))
    }

    /// A buffer export of this memory starts (see [`CData::export_ended`]).
    pub fn export_started(&self) {
        self.for_each_holder(&mut |c| {
            c.extra().exports.fetch_add(1, Ordering::Relaxed);
        });
    }

    /// A buffer export ends: memory released meanwhile is freed now.
    pub fn export_ended(&self, py: Python<'_>) -> PyResult<()> {
        let mut pending = Vec::new();
        self.for_each_holder(&mut |c| {
            if c.extra().exports.fetch_sub(1, Ordering::Relaxed) == 1 && c.was_released() {
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

    /// Records that the pointer slot at `addr` of the memory `slf` owns
    /// holds `value` (or nothing).  The first reference puts `slf` under
    /// the watch of the cyclic garbage collector.
    pub fn keep_at(slf: &Bound<'_, CData>, addr: usize, value: Option<Py<CData>>) {
        let me = slf.get();
        let py = slf.py();
        // A replaced reference is dropped after the map is updated: its
        // drop may run Python code.
        let old = match value {
            Some(v) => {
                let old = me.extra().keep.set(py, addr, Some(v));
                gc_track(slf.as_any());
                old
            }
            None => me.extra.get().and_then(|e| e.keep.set(py, addr, None)),
        };
        drop(old);
    }

    /// Calls `visit` on every Python object this cdata references (for the
    /// garbage collector).
    pub fn traverse_refs<E>(
        &self,
        mut visit: impl FnMut(&Py<PyAny>) -> Result<(), E>,
    ) -> Result<(), E> {
        match &self.owner {
            Owner::Borrowed { base: Some(b) } => visit(b.as_any())?,
            Owner::Custom(c) => {
                if let Ok(i) = c.inner.try_lock()
                    && let Some(i) = i.as_ref()
                {
                    visit(i)?;
                }
                if let Some(f) = &c.free {
                    visit(f)?;
                }
            }
            Owner::Buffer(b) => visit(&b.obj)?,
            Owner::Handle { obj } => visit(obj)?,
            Owner::Gc(g) => {
                visit(g.orig.as_any())?;
                if let Ok(d) = g.destructor.try_lock()
                    && let Some(d) = d.as_ref()
                {
                    visit(d)?;
                }
            }
            Owner::Callback(c) => {
                visit(&c.callable)?;
                if let Some(o) = &c.onerror {
                    visit(o)?;
                }
            }
            Owner::Borrowed { base: None } | Owner::Value | Owner::Owned { .. } => {}
        }
        match self.extra.get() {
            Some(e) => e.keep.visit(&mut visit),
            None => Ok(()),
        }
    }

    /// Drops the references that can be dropped to break a cycle.
    pub fn clear_refs(&self) {
        if let Some(e) = self.extra.get() {
            // Dropped after the map is emptied: a drop may run Python code.
            let old = e.keep.take();
            drop(old);
        }
    }

    /// The pointer cdata of type `ty` read from the slot at `addr` of the
    /// memory this cdata owns, which holds `value`, if rcffi stored an
    /// owning cdata there: it keeps that cdata alive again (see
    /// [`KeepMap::pointer`]).
    #[inline]
    pub fn kept_pointer<'py>(
        &self,
        py: Python<'py>,
        addr: usize,
        ty: &TypeRef,
        value: *mut u8,
    ) -> Option<PyResult<Bound<'py, CData>>> {
        self.extra.get()?.keep.pointer(py, addr, ty, value)
    }

    /// Marks the memory released and frees what can be freed now (the
    /// memory itself, the buffer view, or calls the destructor or the
    /// custom `free`).  With buffer exports in progress, freeing waits for
    /// the last one to end.
    pub fn release(&self, py: Python<'_>) -> PyResult<()> {
        if self.flags.fetch_or(RELEASED, Ordering::Relaxed) & RELEASED != 0 {
            return Ok(());
        }
        if self.exports() > 0 {
            return Ok(());
        }
        self.free_now(py)
    }

    /// Frees the memory of an `Owned` cdata, once.
    fn free_owned(&self) {
        if let Owner::Owned { size, align } = self.owner
            && self.flags.fetch_or(FREED, Ordering::Relaxed) & FREED == 0
        {
            // SAFETY: the memory was allocated by alloc_owned(size, align)
            // at construction (`CData::owned`) and the FREED bit makes
            // this the only free.
            unsafe { raw::free_owned(self.ptr.load(Ordering::Relaxed), size, align) };
        }
    }

    /// Frees what this cdata owns; doing it twice does nothing.
    fn free_now(&self, py: Python<'_>) -> PyResult<()> {
        self.clear_refs();
        match &self.owner {
            Owner::Owned { .. } => self.free_owned(),
            Owner::Custom(c) => {
                let inner = c.inner.lock().ok().and_then(|mut i| i.take());
                if let Some(free) = &c.free {
                    free.call_method0(py, "run")?;
                }
                drop(inner);
            }
            Owner::Buffer(b) => {
                let v = b.view.lock().ok().and_then(|mut v| v.take());
                drop(v);
            }
            Owner::Gc(g) => {
                let d = g.destructor.lock().ok().and_then(|mut d| d.take());
                if let Some(d) = d {
                    d.call_method0(py, "run")?;
                }
            }
            Owner::Borrowed { .. } | Owner::Value | Owner::Handle { .. } | Owner::Callback(_) => {}
        }
        Ok(())
    }
}

/// Puts `obj` (a cdata, so a GC type) under the watch of the cyclic
/// garbage collector if it is not already.
pub fn gc_track(obj: &Bound<'_, PyAny>) {
    // SAFETY: obj is a live object whose type has Py_TPFLAGS_HAVE_GC (every
    // pyclass has), fully initialised; tracking twice is avoided by the
    // check.
    unsafe {
        let p = obj.as_ptr();
        if pyo3::ffi::PyObject_GC_IsTracked(p) == 0 {
            pyo3::ffi::PyObject_GC_Track(p.cast());
        }
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
        match &self.owner {
            Owner::Owned { size, align } if *self.flags.get_mut() & FREED == 0 => {
                // SAFETY: the memory was allocated by alloc_owned(size,
                // align) at construction and not freed (FREED clear).
                unsafe { raw::free_owned(*self.ptr.get_mut(), *size, *align) };
            }
            Owner::Handle { .. } => {
                if let Ok(mut h) = HANDLES.lock() {
                    h.remove(&(self.raw_ptr() as usize));
                }
            }
            // Destructors and custom `free` functions run from their
            // finalizer objects (`python::finalizer`) when those are
            // dropped with us; held buffers are released by their own Drop.
            _ => {}
        }
    }
}
