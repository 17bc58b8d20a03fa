//! The `unsafe` of the call layer: libffi's type descriptions, call
//! interfaces and closures, the storage of a call's arguments, C's
//! `errno` and the C `FILE` helpers.  Everything above this module is safe
//! Rust; every `unsafe` block here says why it holds.

use crate::python::errors::CoreResult;
use std::ffi::{CStr, c_void};
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::null_mut;
use std::sync::Arc;

use libffi::raw as ffi;
use pyo3::prelude::*;

use super::abi::FfiType;
use crate::errors::Error;
use crate::memory::convert;
use crate::memory::raw::Allocation;
use crate::types::TypeRef;

// ---------------------------------------------------------------- types

/// Backing store of a libffi struct type: its `ffi_type`, the
/// NULL-terminated member list and the members themselves.
struct StructStorage {
    ty: ffi::ffi_type,
    _elements: Vec<*mut ffi::ffi_type>,
    _children: Vec<OwnedType>,
}

/// An `ffi_type` owned by rcffi (a struct) or one of libffi's built-in
/// types.  Struct storage is boxed, so the pointer stays valid when the
/// `OwnedType` moves.
struct OwnedType {
    ptr: *mut ffi::ffi_type,
    _storage: Option<Box<StructStorage>>,
}

impl OwnedType {
    fn new(t: &FfiType) -> OwnedType {
        let builtin = |ptr: *mut ffi::ffi_type| OwnedType {
            ptr,
            _storage: None,
        };
        // Taking the address of libffi's built-in type descriptions is
        // safe; libffi never writes to them once initialised.
        match t {
            FfiType::Void => builtin(&raw mut ffi::ffi_type_void),
            FfiType::U8 => builtin(&raw mut ffi::ffi_type_uint8),
            FfiType::I8 => builtin(&raw mut ffi::ffi_type_sint8),
            FfiType::U16 => builtin(&raw mut ffi::ffi_type_uint16),
            FfiType::I16 => builtin(&raw mut ffi::ffi_type_sint16),
            FfiType::U32 => builtin(&raw mut ffi::ffi_type_uint32),
            FfiType::I32 => builtin(&raw mut ffi::ffi_type_sint32),
            FfiType::U64 => builtin(&raw mut ffi::ffi_type_uint64),
            FfiType::I64 => builtin(&raw mut ffi::ffi_type_sint64),
            FfiType::F32 => builtin(&raw mut ffi::ffi_type_float),
            FfiType::F64 => builtin(&raw mut ffi::ffi_type_double),
            FfiType::LongDouble => builtin(&raw mut ffi::ffi_type_longdouble),
            FfiType::Pointer => builtin(&raw mut ffi::ffi_type_pointer),
            FfiType::Struct {
                size,
                align,
                members,
            } => {
                let children: Vec<OwnedType> = members.iter().map(OwnedType::new).collect();
                let mut elements: Vec<*mut ffi::ffi_type> =
                    children.iter().map(|c| c.ptr).collect();
                elements.push(null_mut());
                let mut storage = Box::new(StructStorage {
                    ty: ffi::ffi_type {
                        // A non-zero size tells libffi not to recompute the
                        // layout from the members.
                        size: (*size).max(1),
                        alignment: (*align).clamp(1, 16) as u16,
                        type_: ffi::FFI_TYPE_STRUCT,
                        elements: elements.as_mut_ptr(),
                    },
                    _elements: elements,
                    _children: children,
                });
                let ptr = &raw mut storage.ty;
                OwnedType {
                    ptr,
                    _storage: Some(storage),
                }
            }
        }
    }
}

// ---------------------------------------------------------------- cif

/// A prepared libffi call interface and the types it points to.
pub struct Cif {
    cif: Box<ffi::ffi_cif>,
    _arg_ptrs: Vec<*mut ffi::ffi_type>,
    _args: Vec<OwnedType>,
    _result: OwnedType,
}

// SAFETY: a prepared `ffi_cif` and its types are never modified again;
// libffi only reads them, from any thread.
unsafe impl Send for Cif {}
// SAFETY: as above.
unsafe impl Sync for Cif {}

impl std::fmt::Debug for Cif {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cif({} arguments)", self._args.len())
    }
}

impl Cif {
    /// Prepares the interface of a function taking `args` and returning
    /// `result`; `fixed` is the number of fixed arguments of a variadic
    /// function.
    pub fn new(args: &[FfiType], result: &FfiType, fixed: Option<usize>) -> Result<Cif, Error> {
        let owned: Vec<OwnedType> = args.iter().map(OwnedType::new).collect();
        let mut arg_ptrs: Vec<*mut ffi::ffi_type> = owned.iter().map(|t| t.ptr).collect();
        let result = OwnedType::new(result);
        let mut cif: Box<ffi::ffi_cif> = Box::default();
        let nargs = u32::try_from(args.len()).map_err(|_| Error::value("too many arguments"))?;
        // SAFETY: every type pointer is live for as long as the returned
        // `Cif` (it owns them); `arg_ptrs` holds `nargs` entries.
        let status = unsafe {
            match fixed {
                Some(n) => ffi::ffi_prep_cif_var(
                    &mut *cif,
                    ffi::ffi_abi_FFI_DEFAULT_ABI,
                    n as u32,
                    nargs,
                    result.ptr,
                    arg_ptrs.as_mut_ptr(),
                ),
                None => ffi::ffi_prep_cif(
                    &mut *cif,
                    ffi::ffi_abi_FFI_DEFAULT_ABI,
                    nargs,
                    result.ptr,
                    arg_ptrs.as_mut_ptr(),
                ),
            }
        };
        if status != ffi::ffi_status_FFI_OK {
            return Err(Error::runtime("libffi failed to build this function type"));
        }
        Ok(Cif {
            cif,
            _arg_ptrs: arg_ptrs,
            _args: owned,
            _result: result,
        })
    }

    fn raw(&self) -> *mut ffi::ffi_cif {
        &*self.cif as *const ffi::ffi_cif as *mut ffi::ffi_cif
    }
}

// ---------------------------------------------------------------- frame

/// Sixteen bytes, aligned for any argument type.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct Chunk([u8; 16]);

const INLINE_CHUNKS: usize = 16;
const INLINE_ARGS: usize = 16;
/// Room for small temporaries (strings and arrays given to pointer
/// arguments), so that they need no heap memory either.
const SCRATCH_CHUNKS: usize = 16;

/// Where each argument and the result of a call live in its [`Frame`]:
/// byte offsets, each slot 16-aligned and rounded up to 16 bytes.
#[derive(Debug)]
pub struct FrameLayout {
    pub args: Box<[usize]>,
    pub result: usize,
    total: usize,
}

impl FrameLayout {
    /// The layout for arguments of `arg_sizes` bytes and a result of
    /// `result_size` bytes.
    pub fn new(arg_sizes: &[usize], result_size: usize) -> FrameLayout {
        let slot = |n: usize| n.max(16).div_ceil(16) * 16;
        let mut off = 0;
        let args = arg_sizes
            .iter()
            .map(|s| {
                let at = off;
                off += slot(*s);
                at
            })
            .collect();
        let result = off;
        off += slot(result_size);
        FrameLayout {
            args,
            result,
            total: off,
        }
    }
}

/// Room for the small temporaries of one call (see [`Temps`]), kept by
/// the caller apart from the `Temps` itself, uninitialised.
pub type Scratch = MaybeUninit<[Chunk; SCRATCH_CHUNKS]>;

/// Temporary memory of one call: the strings and arrays made from Python
/// values given to pointer arguments.  Small ones live in the caller's
/// [`Scratch`] (no heap memory), larger ones on the heap.  The addresses
/// handed out stay valid while the `Temps` lives.
pub struct Temps<'s> {
    scratch: &'s mut Scratch,
    /// Bytes of `scratch` handed out.
    used: usize,
    heap: Vec<Allocation>,
}

impl<'s> Temps<'s> {
    /// New scratch space, to hand to [`Temps::new`].
    #[inline(always)]
    pub fn scratch() -> Scratch {
        MaybeUninit::uninit()
    }

    #[inline]
    pub fn new(scratch: &'s mut Scratch) -> Temps<'s> {
        Temps {
            scratch,
            used: 0,
            heap: Vec::new(),
        }
    }

    /// `n` bytes of temporary memory, 16-aligned, zeroed if `zero`.
    fn alloc(&mut self, n: usize, zero: bool) -> PyResult<*mut u8> {
        let rounded = n.max(1).div_ceil(16) * 16;
        if self.used + rounded <= SCRATCH_CHUNKS * 16 {
            let off = self.used;
            self.used += rounded;
            // SAFETY: off + rounded lies within the scratch array.
            let p = unsafe { (self.scratch.as_mut_ptr() as *mut u8).add(off) };
            if zero {
                // SAFETY: as above.
                unsafe { crate::memory::raw::fill(p, 0, rounded) };
            }
            return Ok(p);
        }
        let temp = Allocation::zeroed(n, 16, zero).ok_or_else(|| {
            pyo3::exceptions::PyMemoryError::new_err("cannot allocate a temporary array")
        })?;
        let p = temp.ptr();
        self.heap.push(temp);
        Ok(p)
    }

    /// A NUL-terminated temporary copy of `bytes`.
    pub fn bytes(&mut self, bytes: &[u8]) -> PyResult<*mut u8> {
        let p = self.alloc(bytes.len() + 1, false)?;
        // SAFETY: the temporary holds len + 1 bytes.
        unsafe {
            crate::memory::raw::copy(p, bytes.as_ptr(), bytes.len());
            crate::memory::raw::write_int(p.add(bytes.len()), 1, 0);
        }
        Ok(p)
    }

    /// A new zeroed temporary of `len` items of `item_size` bytes, filled
    /// from `v` as the array type `arr`, which must have `len` items of
    /// that size.
    pub fn array(
        &mut self,
        arr: &TypeRef,
        len: usize,
        item_size: usize,
        v: &Bound<'_, PyAny>,
    ) -> PyResult<*mut u8> {
        let bytes = len
            .checked_mul(item_size)
            .filter(|n| *n <= isize::MAX as usize)
            .ok_or_else(|| {
                pyo3::exceptions::PyOverflowError::new_err("array size would overflow a ssize_t")
            })?;
        if arr.size() != Some(bytes) {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "internal error: temporary array size",
            ));
        }
        let p = self.alloc(bytes, true)?;
        // SAFETY: the temporary holds `bytes` zeroed bytes, the size of
        // `arr`.
        unsafe { convert::write(arr, p, v, None)? };
        Ok(p)
    }
}

/// Up to 16 bytes holding one value converted from Python: the register
/// values of a direct call's scalar and small struct arguments.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct Small(pub [u8; 16]);

impl Small {
    /// `v` converted to `ty`, whose size must be at most 16 bytes.
    #[inline]
    pub fn from_value(ty: &TypeRef, v: &Bound<'_, PyAny>) -> PyResult<Small> {
        let mut b = Small([0; 16]);
        if ty.size().is_none_or(|s| s > 16) {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "internal error: value too large for a register",
            ));
        }
        // SAFETY: the buffer holds 16 bytes, at least the size of `ty`.
        unsafe { convert::write(ty, b.0.as_mut_ptr(), v, None)? };
        Ok(b)
    }

    /// The first `n` (at most 16) bytes of the memory of `c`, a cdata
    /// whose type is at least `n` bytes large (a struct passed by value).
    #[inline]
    pub fn of_cdata(c: &crate::memory::cdata::CData, n: usize) -> PyResult<Small> {
        if c.ty.size().is_none_or(|s| s < n) || n > 16 {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "internal error: struct argument size",
            ));
        }
        let p = c.ptr().py()?;
        let mut b = Small([0; 16]);
        // SAFETY: a live cdata of a type of at least `n` bytes points to
        // that many readable bytes (`ptr` checked it is not released).
        // The common sizes are copied with a constant length (no call).
        unsafe {
            match n {
                16 => std::ptr::copy_nonoverlapping(p, b.0.as_mut_ptr(), 16),
                8 => std::ptr::copy_nonoverlapping(p, b.0.as_mut_ptr(), 8),
                _ => crate::memory::raw::copy(b.0.as_mut_ptr(), p, n),
            }
        }
        Ok(b)
    }

    /// Eightbyte `k` (0 or 1).
    #[inline]
    pub fn eightbyte(&self, k: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&self.0[k * 8..k * 8 + 8]);
        u64::from_ne_bytes(w)
    }

    /// The integer in the first `size` bytes, extended to 64 bits.
    #[inline]
    pub fn int(&self, size: usize, signed: bool) -> u64 {
        // SAFETY: the buffer holds 16 bytes.
        unsafe { crate::memory::raw::read_int(self.0.as_ptr(), size.min(16), signed) as u64 }
    }

    /// The Python value of `ty` held in the first bytes.
    pub fn value<'py>(&self, py: Python<'py>, ty: &TypeRef) -> PyResult<Bound<'py, PyAny>> {
        if ty.size().is_none_or(|s| s > 16) {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "internal error: value too large for a register",
            ));
        }
        // SAFETY: the buffer holds a value of `ty` (at most 16 bytes);
        // `read` does not write through the pointer.
        unsafe { convert::read(py, ty, self.0.as_ptr() as *mut u8, None) }
    }
}

/// The storage of one libffi (or argument-stub) call: argument values
/// and the result.  Calls whose arguments fit in 256 bytes use no heap
/// memory.
pub struct Frame<'l> {
    layout: &'l FrameLayout,
    /// Only the chunks the layout uses are initialised (zeroed).
    inline: [MaybeUninit<Chunk>; INLINE_CHUNKS],
    heap: Vec<Chunk>,
}

impl<'l> Frame<'l> {
    #[inline]
    pub fn new(layout: &'l FrameLayout) -> Frame<'l> {
        let chunks = layout.total / 16;
        let mut inline = [MaybeUninit::<Chunk>::uninit(); INLINE_CHUNKS];
        let heap = if chunks > INLINE_CHUNKS {
            vec![Chunk([0; 16]); chunks]
        } else {
            for c in &mut inline[..chunks] {
                c.write(Chunk([0; 16]));
            }
            Vec::new()
        };
        Frame {
            layout,
            inline,
            heap,
        }
    }

    /// The start of the storage; the first `layout.total` bytes are
    /// initialised.
    #[inline]
    fn base(&mut self) -> *mut u8 {
        if self.heap.is_empty() {
            self.inline.as_mut_ptr() as *mut u8
        } else {
            self.heap.as_mut_ptr() as *mut u8
        }
    }

    #[inline]
    fn base_const(&self) -> *const u8 {
        if self.heap.is_empty() {
            self.inline.as_ptr() as *const u8
        } else {
            self.heap.as_ptr() as *const u8
        }
    }

    /// The address of argument `i`'s slot, which holds `size` bytes.
    #[inline]
    fn arg_at(&mut self, i: usize, size: usize) -> *mut u8 {
        let off = self.layout.args[i];
        let end = self
            .layout
            .args
            .get(i + 1)
            .copied()
            .unwrap_or(self.layout.result);
        assert!(off + size <= end, "argument slot too small");
        // SAFETY: off < total, the size of the storage.
        unsafe { self.base().add(off) }
    }

    /// Stores the low `size` bytes (1, 2, 4 or 8) of `v` as argument `i`.
    #[inline]
    pub fn put_int(&mut self, i: usize, size: usize, v: i64) {
        let p = self.arg_at(i, size);
        // SAFETY: the slot holds at least `size` (<= 16) bytes.
        unsafe { crate::memory::raw::write_int(p, size, i128::from(v)) }
    }

    #[inline]
    pub fn put_f64(&mut self, i: usize, v: f64) {
        let p = self.arg_at(i, 8);
        // SAFETY: the slot holds at least 8 bytes.
        unsafe { crate::memory::raw::write_float(p, 8, v) }
    }

    #[inline]
    pub fn put_f32(&mut self, i: usize, v: f32) {
        let p = self.arg_at(i, 4);
        // SAFETY: the slot holds at least 4 bytes.
        unsafe { crate::memory::raw::write_float(p, 4, f64::from(v)) }
    }

    /// Stores the address `v` as pointer argument `i`.
    #[inline]
    pub fn put_ptr(&mut self, i: usize, v: usize) {
        let p = self.arg_at(i, size_of::<usize>());
        // SAFETY: the slot holds at least a pointer.
        unsafe { crate::memory::raw::write_ptr(p, v as *const u8) }
    }

    /// Converts `v` to C type `ty` into argument `i`'s slot.
    pub fn put_value(&mut self, i: usize, ty: &TypeRef, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let size = ty.size().unwrap_or(usize::MAX);
        let p = self.arg_at(i, size);
        // SAFETY: arg_at checked that the slot holds a value of `ty`.
        unsafe { convert::write(ty, p, v, None) }
    }

    /// Copies the value of the cdata `c` (a struct of the argument's very
    /// type) into argument `i`'s slot.
    #[inline]
    pub fn put_cdata(&mut self, i: usize, c: &crate::memory::cdata::CData) -> PyResult<()> {
        let Some(n) = c.ty.size() else {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "ctype '{}' has incomplete type",
                c.ty.cname()
            )));
        };
        let src = c.ptr().py()?;
        let p = self.arg_at(i, n);
        // SAFETY: the slot holds `n` bytes (checked by arg_at), and a live
        // cdata of a type of `n` bytes points to that many readable bytes.
        unsafe { crate::memory::raw::copy(p, src, n) };
        Ok(())
    }

    #[inline]
    fn result_at(&self, size: usize) -> *const u8 {
        assert!(
            self.layout.result + size <= self.layout.total,
            "result slot too small"
        );
        // SAFETY: within the storage, as just checked.
        unsafe { self.base_const().add(self.layout.result) }
    }

    /// The integer result of `size` bytes (libffi widens small integers
    /// to a whole register; the low bytes hold the value).
    #[inline]
    pub fn result_int(&self, size: usize, signed: bool) -> i128 {
        let p = self.result_at(8.max(size));
        let p = if cfg!(target_endian = "big") && size < 8 {
            p.wrapping_add(8 - size)
        } else {
            p
        };
        // SAFETY: the result slot holds at least 16 bytes.
        unsafe { crate::memory::raw::read_int(p, size, signed) }
    }

    #[inline]
    pub fn result_f64(&self, size: usize) -> f64 {
        let p = self.result_at(size);
        // SAFETY: the result slot holds at least 16 bytes.
        unsafe { crate::memory::raw::read_float(p, size) }
    }

    #[inline]
    pub fn result_ptr(&self) -> *mut u8 {
        let p = self.result_at(size_of::<usize>());
        // SAFETY: the result slot holds at least a pointer.
        unsafe { crate::memory::raw::read_ptr(p) }
    }

    /// The first `n` bytes of the result.
    pub fn result_bytes(&self, n: usize) -> &[u8] {
        let p = self.result_at(n);
        // SAFETY: within the result slot, borrowed from `self`.
        unsafe { crate::memory::raw::slice(p, n) }
    }

    /// The Python value of the result as a `ty` (scalars; pointers give
    /// non-owning cdata).
    pub fn result_value<'py>(&self, py: Python<'py>, ty: &TypeRef) -> PyResult<Bound<'py, PyAny>> {
        let p = self.result_at(ty.size().unwrap_or(0));
        // SAFETY: the result slot holds a value of `ty`, written by the
        // callee through libffi.
        unsafe { convert::read(py, ty, p as *mut u8, None) }
    }

    /// The argument addresses (`avalue`) and the result address of the
    /// call, into `inline_ptrs` when there are at most 16 arguments.
    fn addresses(
        &mut self,
        inline_ptrs: &mut [MaybeUninit<*mut c_void>; INLINE_ARGS],
        heap_ptrs: &mut Vec<*mut c_void>,
    ) -> (*mut *mut c_void, *mut c_void) {
        let n = self.layout.args.len();
        let base = self.base();
        let avalue: *mut *mut c_void = if n <= INLINE_ARGS {
            for (p, off) in inline_ptrs.iter_mut().zip(self.layout.args.iter()) {
                // SAFETY: every offset lies within the storage.
                p.write(unsafe { base.add(*off) } as *mut c_void);
            }
            inline_ptrs.as_mut_ptr() as *mut *mut c_void
        } else {
            for off in self.layout.args.iter() {
                // SAFETY: as above.
                heap_ptrs.push(unsafe { base.add(*off) } as *mut c_void);
            }
            heap_ptrs.as_mut_ptr()
        };
        // SAFETY: the result offset lies within the storage.
        let rvalue = unsafe { base.add(self.layout.result) } as *mut c_void;
        (avalue, rvalue)
    }

    /// Calls `fnptr` through `cif` with the arguments stored so far, with
    /// the GIL released and C's `errno` swapped in and out as cffi does.
    ///
    /// `fnptr` comes from a non-NULL function-pointer cdata whose type
    /// `cif` was built from: that the C function really has this type is
    /// the promise the user made by declaring it (the contract of cffi).
    /// Pointer arguments into a [`Temps`] must still be valid (the caller
    /// keeps it alive across the call).
    #[inline]
    pub fn call(&mut self, py: Python<'_>, cif: &Cif, fnptr: *const u8) {
        let mut inline_ptrs = [MaybeUninit::<*mut c_void>::uninit(); INLINE_ARGS];
        let mut heap_ptrs = Vec::new();
        let (avalue, rvalue) = self.addresses(&mut inline_ptrs, &mut heap_ptrs);
        let job = CallJob {
            cif: cif.raw(),
            rvalue,
            avalue,
            fnptr: fnptr as *const c_void,
        };
        super::gil::without_gil(py, move || job.run());
    }

    /// Calls the argument stub `stub` (`void stub(void **args, void
    /// *result)`) with the arguments stored so far, with the GIL released
    /// and errno swapped as for [`Frame::call`].  The stub was made for
    /// the signature this frame's layout was built from.
    #[inline]
    pub fn call_stub(&mut self, py: Python<'_>, stub: super::direct::ArgsStub) {
        let mut inline_ptrs = [MaybeUninit::<*mut c_void>::uninit(); INLINE_ARGS];
        let mut heap_ptrs = Vec::new();
        let (avalue, rvalue) = self.addresses(&mut inline_ptrs, &mut heap_ptrs);
        let job = StubJob {
            stub,
            rvalue,
            avalue,
        };
        super::gil::without_gil(py, move || job.run());
    }
}

/// What the thread without the GIL needs to make the call.
struct CallJob {
    cif: *mut ffi::ffi_cif,
    rvalue: *mut c_void,
    avalue: *mut *mut c_void,
    fnptr: *const c_void,
}

// SAFETY: the pointers refer to the caller's frame, which outlives the
// call (`detach` runs the closure on the same thread and returns after it).
unsafe impl Send for CallJob {}

impl CallJob {
    #[inline]
    fn run(self) {
        super::errno::around_c_call(|| {
            // SAFETY: see `Frame::call`: the cif describes the arguments
            // whose addresses are in `avalue` (the first `nargs` entries
            // are initialised), and the result slot is at least as large
            // as the result type (and 16 bytes).
            unsafe {
                let f: unsafe extern "C" fn() = std::mem::transmute(self.fnptr);
                ffi::ffi_call(self.cif, Some(f), self.rvalue, self.avalue);
            }
        });
    }
}

/// [`CallJob`] for an argument stub.
struct StubJob {
    stub: super::direct::ArgsStub,
    rvalue: *mut c_void,
    avalue: *mut *mut c_void,
}

// SAFETY: as for CallJob.
unsafe impl Send for StubJob {}

impl StubJob {
    #[inline]
    fn run(self) {
        super::errno::around_c_call(|| {
            // SAFETY: see `Frame::call_stub`: the stub reads one value of
            // each argument type through `avalue` and writes the result
            // (at most the size of the result slot) at `rvalue`.
            unsafe { (self.stub)(self.avalue, self.rvalue) }
        });
    }
}

// ---------------------------------------------------------------- closures

/// What a closure does when C calls it.
pub trait ClosureHandler: Send + Sync + 'static {
    fn handle(&self, call: Incoming<'_>);
}

/// A C function pointer made by libffi that calls a [`ClosureHandler`].
/// Freed on drop.
pub struct Closure {
    closure: *mut ffi::ffi_closure,
    code: *mut c_void,
    _handler: Box<Box<dyn ClosureHandler>>,
    _cif: Arc<Cif>,
}

// SAFETY: the closure's memory is only freed on drop and never mutated
// after preparation; the handler is Send + Sync.
unsafe impl Send for Closure {}
// SAFETY: as above.
unsafe impl Sync for Closure {}

impl Closure {
    pub fn new(cif: Arc<Cif>, handler: Box<dyn ClosureHandler>) -> Result<Closure, Error> {
        let mut code: *mut c_void = null_mut();
        // SAFETY: ffi_closure_alloc returns writable closure memory and
        // its executable address in `code`, or NULL.
        let closure = unsafe { ffi::ffi_closure_alloc(size_of::<ffi::ffi_closure>(), &mut code) }
            as *mut ffi::ffi_closure;
        if closure.is_null() {
            return Err(Error::memory(
                "Cannot allocate write+execute memory for ffi.callback(). You might be running \
                 on a system that prevents this.",
            ));
        }
        let handler = Box::new(handler);
        let user = &*handler as *const Box<dyn ClosureHandler> as *mut c_void;
        // SAFETY: `closure` and `code` come from ffi_closure_alloc; the cif
        // and the handler are owned by the returned Closure, which frees
        // the closure before dropping them.
        let status =
            unsafe { ffi::ffi_prep_closure_loc(closure, cif.raw(), Some(trampoline), user, code) };
        if status != ffi::ffi_status_FFI_OK {
            // SAFETY: allocated above, not handed out.
            unsafe { ffi::ffi_closure_free(closure as *mut c_void) };
            return Err(Error::runtime("libffi failed to build this callback"));
        }
        super::gil::callback_made();
        Ok(Closure {
            closure,
            code,
            _handler: handler,
            _cif: cif,
        })
    }

    /// The address C code calls.
    pub fn code(&self) -> *mut u8 {
        self.code as *mut u8
    }

    /// Runs the handler as a call of the closure would, on arguments that
    /// are already in memory (`extern "Python"`, whose C code stores them
    /// itself): `args[i]` points to argument `i`, `result` to the result
    /// buffer.  A panic stops here.
    ///
    /// # Safety
    /// `args` must hold one pointer per argument of the closure's type,
    /// each to a value of that argument's type, and `result` must be
    /// writable for the result's size and at least 8 bytes.
    pub unsafe fn run_in_place(&self, args: *mut *mut c_void, result: *mut c_void) {
        let call = Incoming {
            args,
            // SAFETY: the cif is prepared and owned by this closure.
            nargs: unsafe { (*self._cif.raw()).nargs as usize },
            result,
            _life: std::marker::PhantomData,
        };
        let _ = catch_unwind(AssertUnwindSafe(|| self._handler.handle(call)));
    }
}

impl Drop for Closure {
    fn drop(&mut self) {
        // SAFETY: allocated by ffi_closure_alloc and freed only here.
        unsafe { ffi::ffi_closure_free(self.closure as *mut c_void) }
        super::gil::callback_dropped();
    }
}

/// The entry point of every closure.  A panic stops here: it must never
/// unwind into C.
unsafe extern "C" fn trampoline(
    cif: *mut ffi::ffi_cif,
    result: *mut c_void,
    args: *mut *mut c_void,
    user: *mut c_void,
) {
    // SAFETY: `user` is the handler box given to ffi_prep_closure_loc,
    // alive as long as the closure; `cif` is the closure's interface.
    let (handler, nargs) = unsafe {
        (
            &*(user as *const Box<dyn ClosureHandler>),
            (*cif).nargs as usize,
        )
    };
    let call = Incoming {
        args,
        nargs,
        result,
        _life: std::marker::PhantomData,
    };
    let _ = catch_unwind(AssertUnwindSafe(|| handler.handle(call)));
}

/// The arguments and result buffer of one call of a closure.  Argument
/// `i` holds a value of the closure's `i`th argument type and the result
/// buffer holds the result type (and at least 8 bytes): the handler reads
/// and writes them with the same types the closure's cif was built from.
pub struct Incoming<'a> {
    args: *mut *mut c_void,
    nargs: usize,
    result: *mut c_void,
    _life: std::marker::PhantomData<&'a ()>,
}

impl Incoming<'_> {
    fn arg(&self, i: usize) -> *mut u8 {
        assert!(i < self.nargs, "closure argument out of range");
        // SAFETY: libffi passes `nargs` argument addresses.
        unsafe { *self.args.add(i) as *mut u8 }
    }

    /// Argument `i` as a Python value of its type `ty` (scalars and
    /// pointers; see [`Incoming::arg_bytes`] for structs).
    pub fn arg_value<'py>(
        &self,
        py: Python<'py>,
        i: usize,
        ty: &TypeRef,
    ) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: argument `i` holds a value of `ty` (the cif's type).
        unsafe { convert::read(py, ty, self.arg(i), None) }
    }

    /// The `n` bytes of argument `i` (a struct of `n` bytes).
    pub fn arg_bytes(&self, i: usize, n: usize) -> &[u8] {
        // SAFETY: argument `i` is a struct of `n` bytes.
        unsafe { crate::memory::raw::slice(self.arg(i), n) }
    }

    /// Stores `v` as the result, of type `ty`.
    pub fn set_result(&self, ty: &TypeRef, v: &Bound<'_, PyAny>) -> PyResult<()> {
        // SAFETY: the result buffer holds a value of `ty`.
        unsafe { convert::write(ty, self.result as *mut u8, v, None) }
    }

    /// Stores an integer result widened to a whole `ffi_arg`, as libffi
    /// expects for integer results smaller than a register.
    pub fn set_result_widened(&self, v: i64) {
        // SAFETY: the result buffer holds at least an ffi_arg (8 bytes).
        unsafe { crate::memory::raw::write_int(self.result as *mut u8, 8, i128::from(v)) }
    }

    /// Rewrites the integer result of `size` bytes as a whole `ffi_arg`.
    pub fn widen_result(&self, size: usize, signed: bool) {
        // SAFETY: the result buffer holds at least 8 bytes.
        unsafe {
            let x = crate::memory::raw::read_int(self.result as *const u8, size, signed);
            crate::memory::raw::write_int(self.result as *mut u8, 8, x);
        }
    }

    /// Copies `bytes` to the start of the result buffer, which must be at
    /// least that large (the size of the result type, or 8).
    pub fn set_result_bytes(&self, bytes: &[u8]) {
        // SAFETY: the caller passes at most the result's size.
        unsafe { crate::memory::raw::copy(self.result as *mut u8, bytes.as_ptr(), bytes.len()) }
    }
}

// ---------------------------------------------------------------- errno

#[cfg(any(target_os = "linux", target_os = "android", target_os = "emscripten"))]
fn errno_location() -> *mut i32 {
    // SAFETY: always returns the calling thread's errno address.
    unsafe { libc::__errno_location() }
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
fn errno_location() -> *mut i32 {
    // SAFETY: always returns the calling thread's errno address.
    unsafe { libc::__error() }
}

#[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
fn errno_location() -> *mut i32 {
    // SAFETY: always returns the calling thread's errno address.
    unsafe { libc::__errno() }
}

/// C's `errno` of this thread.
#[inline]
pub fn c_errno() -> i32 {
    // SAFETY: the address of this thread's errno is always valid.
    unsafe { *errno_location() }
}

/// Sets C's `errno` of this thread.
#[inline]
pub fn set_c_errno(v: i32) {
    // SAFETY: as above.
    unsafe { *errno_location() = v }
}

// ---------------------------------------------------------------- FILE

/// A C `FILE *` opened by rcffi on a duplicate of a Python file's
/// descriptor; closed on drop.
pub struct CFile(*mut libc::FILE);

// SAFETY: a FILE may be used and closed from any thread.
unsafe impl Send for CFile {}

impl CFile {
    /// `fdopen(dup(fd), mode)`, unbuffered.  Errors carry the errno.
    pub fn open_dup(fd: i32, mode: &CStr) -> Result<CFile, i32> {
        // SAFETY: dup/fdopen/setbuf/close are called with a descriptor
        // and a NUL-terminated mode; failures are checked.
        unsafe {
            let fd2 = libc::dup(fd);
            if fd2 < 0 {
                return Err(c_errno());
            }
            let f = libc::fdopen(fd2, mode.as_ptr());
            if f.is_null() {
                let e = c_errno();
                libc::close(fd2);
                return Err(e);
            }
            libc::setbuf(f, null_mut());
            Ok(CFile(f))
        }
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.0 as *mut u8
    }
}

impl Drop for CFile {
    fn drop(&mut self) {
        // SAFETY: opened by open_dup, closed only here.
        unsafe { libc::fclose(self.0) };
    }
}

// ---------------------------------------------------------------- misc

/// A new allocation holding a copy of `bytes`.
pub fn allocation_with(bytes: &[u8], align: usize) -> Option<Allocation> {
    let a = Allocation::zeroed(bytes.len(), align, false)?;
    // SAFETY: the allocation holds at least bytes.len() bytes.
    unsafe { crate::memory::raw::copy(a.ptr(), bytes.as_ptr(), bytes.len()) };
    Some(a)
}

/// The C bytes of `v` converted to `ty`: `len` bytes (at least the size
/// of `ty`).  With `widen = Some(signed)`, the integer is then widened to
/// 8 bytes, as libffi wants small integer results.
pub fn encode_value(
    ty: &TypeRef,
    v: &Bound<'_, PyAny>,
    len: usize,
    widen: Option<bool>,
) -> PyResult<Vec<u8>> {
    let size = ty.size().unwrap_or(0);
    let mut buf = vec![0u8; len.max(size).max(16)];
    // SAFETY: the buffer holds at least the size of `ty`.
    unsafe { convert::write(ty, buf.as_mut_ptr(), v, None)? };
    if let Some(signed) = widen {
        // SAFETY: the buffer holds at least 16 bytes.
        unsafe {
            let x = crate::memory::raw::read_int(buf.as_ptr(), size, signed);
            crate::memory::raw::write_int(buf.as_mut_ptr(), 8, x);
        }
    }
    buf.truncate(len.max(size));
    Ok(buf)
}

/// A Python object owned elsewhere (the callback cdata, which outlives
/// its closure and therefore every use of this), referenced without a
/// count so that the garbage collector sees the one real reference.
pub struct BorrowedObject(*mut pyo3::ffi::PyObject);

// SAFETY: the pointer is only dereferenced with the GIL held (`bind`).
unsafe impl Send for BorrowedObject {}
// SAFETY: as above.
unsafe impl Sync for BorrowedObject {}

impl BorrowedObject {
    /// `owner` must stay alive for as long as this is used.
    pub fn new(owner: &Py<PyAny>) -> BorrowedObject {
        BorrowedObject(owner.as_ptr())
    }

    /// A new reference to the object.
    pub fn bind<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        // SAFETY: the owner keeps the object alive while this is in use
        // (see `new`), and the GIL is held.
        unsafe { Bound::from_borrowed_ptr(py, self.0) }
    }
}

// ---------------------------------------------------------------- symbols

/// The Python value of the global variable of type `ty` at `addr`, a
/// non-NULL address that `dlsym` gave for a variable the user declared of
/// type `ty` (what C code would assume too): scalars and pointers are
/// read, arrays and structs give cdata viewing the variable.
pub(crate) fn read_symbol<'py>(
    py: Python<'py>,
    ty: &TypeRef,
    addr: *mut u8,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: a symbol address of a variable of type `ty` (see above).
    unsafe { convert::read(py, ty, addr, None) }
}

/// Stores `v` into the global variable of type `ty` at `addr` (as for
/// [`read_symbol`]).
pub(crate) fn write_symbol(ty: &TypeRef, addr: *mut u8, v: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: as for read_symbol.
    unsafe { convert::write(ty, addr, v, None) }
}

unsafe extern "C" {
    /// In `testfuncs.c`.
    fn rcffi_testfunc(n: std::ffi::c_int, out: *mut *mut c_void) -> std::ffi::c_int;
}

/// The address of test function `n` (see `testfuncs.c`).
pub fn testfunc(n: i32) -> Option<usize> {
    let mut out = null_mut();
    // SAFETY: rcffi_testfunc only writes through `out` when it returns 1.
    let found = unsafe { rcffi_testfunc(n, &mut out) };
    (found == 1).then_some(out as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout_rounds_to_slots() {
        let l = FrameLayout::new(&[4, 8, 24, 1], 2);
        assert_eq!(&*l.args, &[0, 16, 32, 64]);
        assert_eq!(l.result, 80);
        assert_eq!(l.total, 96);
    }

    #[test]
    fn cif_for_a_struct() {
        let s = FfiType::Struct {
            size: 12,
            align: 4,
            members: vec![FfiType::U64, FfiType::F32],
        };
        assert!(Cif::new(&[s.clone(), FfiType::I32], &s, None).is_ok());
        assert!(Cif::new(&[FfiType::I32, FfiType::F64], &FfiType::I32, Some(1)).is_ok());
    }

    #[test]
    fn errno_round_trip() {
        set_c_errno(33);
        assert_eq!(c_errno(), 33);
    }
}
