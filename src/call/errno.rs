//! cffi's errno model: the value of C's `errno` right after each call is
//! saved per thread (`ffi.errno` reads it), and a value set with
//! `ffi.errno = n` is put in place right before the next call.

use std::cell::Cell;

thread_local! {
    static SAVED: Cell<i32> = const { Cell::new(0) };
}

/// The errno saved after the last C call of this thread.
pub fn get() -> i32 {
    SAVED.with(Cell::get)
}

/// Sets the value C will see as errno at the next call.
pub fn set(v: i32) {
    SAVED.with(|s| s.set(v));
}

/// Runs the C call `f` with C's errno set from the saved value before,
/// and saved again after (one thread-local lookup for both).
pub fn around_c_call<R>(f: impl FnOnce() -> R) -> R {
    SAVED.with(|s| {
        super::raw::set_c_errno(s.get());
        let r = f();
        s.set(super::raw::c_errno());
        r
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn per_thread() {
        super::set(5);
        assert_eq!(super::get(), 5);
        std::thread::spawn(|| assert_eq!(super::get(), 0))
            .join()
            .unwrap();
    }
}
