//! The GIL around C calls, and C calling back into Python.
//!
//! cffi releases the GIL around every C call, so that other threads run
//! Python code meanwhile.  On CPython releasing and taking back the GIL
//! costs three mutex round trips and two condition signals per call
//! (~50 ns here, more than a small C function).  rcffi releases it when
//! another thread can use it: when the interpreter has another thread
//! (any Python thread, or a C thread inside Python), or while a callback
//! made by rcffi exists (`ffi.callback`, `@ffi.def_extern`), because C
//! may call it from a thread it starts during the call.  When the calling
//! thread is the interpreter's only thread and no callback exists,
//! nothing could take the GIL during the call, and it is kept.
//!
//! The one case the rule cannot see: C code that, during the call, starts
//! a thread entering Python by other means than rcffi (a ctypes callback,
//! another extension module) and waits for it.  `set_policy(Always)` —
//! `rcffi.set_gil_release("always")` or `RCFFI_RELEASE_GIL=always` in the
//! environment — restores cffi's unconditional release.
//!
//! The thread list is read with `PyInterpreterState_ThreadHead` and
//! `PyThreadState_Next` (public C API outside the stable ABI, found with
//! `dlsym`); where they are missing, the GIL is always released.

use std::ffi::c_void;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pyo3::ffi::{PyInterpreterState, PyThreadState};
use pyo3::prelude::*;

/// When C calls release the GIL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Around every call, as cffi.
    Always,
    /// When another thread could take it (see the module documentation).
    Auto,
}

static ALWAYS: AtomicBool = AtomicBool::new(false);

/// Callbacks (libffi closures made by rcffi) alive now.
static CALLBACKS: AtomicUsize = AtomicUsize::new(0);

pub fn set_policy(p: Policy) {
    ALWAYS.store(p == Policy::Always, Ordering::Relaxed);
}

pub fn policy() -> Policy {
    if ALWAYS.load(Ordering::Relaxed) {
        Policy::Always
    } else {
        Policy::Auto
    }
}

/// A callback was made (its closure exists until [`callback_dropped`]).
pub fn callback_made() {
    CALLBACKS.fetch_add(1, Ordering::Relaxed);
}

/// A callback's closure was freed.
pub fn callback_dropped() {
    CALLBACKS.fetch_sub(1, Ordering::Relaxed);
}

type ThreadHead = unsafe extern "C" fn(*mut PyInterpreterState) -> *mut PyThreadState;
type ThreadNext = unsafe extern "C" fn(*mut PyThreadState) -> *mut PyThreadState;

/// The two thread-list functions, if this Python exports them.
struct ThreadList {
    head: ThreadHead,
    next: ThreadNext,
}

fn thread_list() -> Option<&'static ThreadList> {
    static LIST: OnceLock<Option<ThreadList>> = OnceLock::new();
    LIST.get_or_init(|| {
        let find = |name: &std::ffi::CStr| {
            // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name
            // only looks the symbol up.
            let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
            (!p.is_null()).then_some(p)
        };
        let head = find(c"PyInterpreterState_ThreadHead")?;
        let next = find(c"PyThreadState_Next")?;
        // SAFETY: these CPython functions have exactly these signatures
        // (documented C API, unchanged since Python 3.4).
        Some(unsafe {
            ThreadList {
                head: std::mem::transmute::<*mut c_void, ThreadHead>(head),
                next: std::mem::transmute::<*mut c_void, ThreadNext>(next),
            }
        })
    })
    .as_ref()
}

/// Whether a C call made now must release the GIL.
#[inline]
fn must_release(_py: Python<'_>) -> bool {
    if ALWAYS.load(Ordering::Relaxed) || CALLBACKS.load(Ordering::Relaxed) != 0 {
        return true;
    }
    let Some(list) = thread_list() else {
        return true;
    };
    // SAFETY: `_py` proves this thread holds the GIL, so it has a current
    // thread state, alive during these reads; the functions only read the
    // interpreter's list (a racing new thread makes the answer "release").
    unsafe {
        let me = pyo3::ffi::PyThreadState_Get();
        let interp = pyo3::ffi::PyThreadState_GetInterpreter(me);
        (list.head)(interp) != me || !(list.next)(me).is_null()
    }
}

/// Runs `f` (C code that does not touch Python) with the GIL released if
/// another thread could use it (see the module documentation), and takes
/// the GIL back after it, also if `f` panics.
///
/// This is `PyEval_SaveThread`/`PyEval_RestoreThread` without PyO3's
/// bookkeeping of attached threads (`Python::detach`), which costs two
/// thread-local updates per call.  It is sound because nothing on this
/// thread asks PyO3 whether it is attached while `f` runs: the only way
/// back into Python from C is a callback, and callbacks attach with
/// `PyGILState_Ensure` themselves (see `callback`).  `Send` keeps Python
/// objects out of `f`, as `Python::detach` does.
#[inline]
pub fn without_gil<R, F: FnOnce() -> R + Send>(py: Python<'_>, f: F) -> R {
    struct Reattach(*mut PyThreadState);
    impl Drop for Reattach {
        #[inline]
        fn drop(&mut self) {
            // SAFETY: the thread state saved below, not restored yet.
            unsafe { pyo3::ffi::PyEval_RestoreThread(self.0) }
        }
    }
    if !must_release(py) {
        return f();
    }
    // SAFETY: `py` proves that this thread holds the GIL.
    let _again = Reattach(unsafe { pyo3::ffi::PyEval_SaveThread() });
    f()
}

/// Runs `f` holding the GIL, from any thread, including one that C
/// created or one that released the GIL with [`without_gil`]; `None` when
/// the interpreter is not running.  The GIL is taken with
/// `PyGILState_Ensure`, whatever PyO3 believes about this thread.
pub fn with_gil<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    // SAFETY: Py_IsInitialized may be called at any time.
    if unsafe { pyo3::ffi::Py_IsInitialized() } == 0 {
        return None;
    }
    struct Release(pyo3::ffi::PyGILState_STATE);
    impl Drop for Release {
        fn drop(&mut self) {
            // SAFETY: matches the PyGILState_Ensure below.
            unsafe { pyo3::ffi::PyGILState_Release(self.0) }
        }
    }
    // SAFETY: the interpreter is initialized; Ensure makes this thread
    // hold the GIL until the matching Release.
    let _release = Release(unsafe { pyo3::ffi::PyGILState_Ensure() });
    Python::try_attach(f)
}
