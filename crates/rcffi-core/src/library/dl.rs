//! `dlopen`, `dlsym` and `dlclose`, through libloading.  The `unsafe` of
//! the library layer lives here.

use std::ffi::OsStr;

use crate::errors::Error;

#[cfg(unix)]
use libloading::os::unix::Library as Handle;

/// `RTLD_NOW`: resolve every symbol at load time (the default when the
/// caller gives neither `RTLD_NOW` nor `RTLD_LAZY`).
pub const RTLD_NOW: i32 = 0x0002;
const RTLD_LAZY: i32 = 0x0001;

/// An opened shared library, or the handle of one opened elsewhere.
pub struct Library {
    handle: Option<Handle>,
    /// The name given to `open`, `<None>` for the main program.
    name: String,
    /// Whether rcffi opened the library (and so may close it).
    owned: bool,
}

/// Why a symbol was not found: the `dlerror` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolError(pub String);

impl Library {
    /// `dlopen(path, flags)`; `None` opens the main program.  Without
    /// `RTLD_NOW` or `RTLD_LAZY` in `flags`, `RTLD_NOW` is added.
    pub fn open(path: Option<&OsStr>, flags: i32) -> Result<Library, Error> {
        let flags = if flags & (RTLD_NOW | RTLD_LAZY) == 0 {
            flags | RTLD_NOW
        } else {
            flags
        };
        let name = path.map_or_else(|| "<None>".to_owned(), |p| p.to_string_lossy().into_owned());
        // SAFETY: loading a library runs its initialisers: that is what the
        // caller asks for, as with dlopen() in C.
        let handle = unsafe { Handle::open(path, flags) }
            .map_err(|e| Error::os(format!("cannot load library '{name}': {}", dl_message(&e))))?;
        Ok(Library {
            handle: Some(handle),
            name,
            owned: true,
        })
    }

    /// A library from a handle that `dlopen` returned elsewhere; rcffi
    /// never closes it.
    ///
    /// # Safety
    /// `handle` must be a live handle returned by `dlopen`.
    pub unsafe fn from_handle(handle: *mut std::ffi::c_void) -> Library {
        Library {
            // SAFETY: a dlopen() handle, by the caller's guarantee; as
            // `owned` is false it is never given to dlclose by rcffi.
            handle: Some(unsafe { Handle::from_raw(handle) }),
            name: format!("{handle:p}"),
            owned: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_closed(&self) -> bool {
        self.handle.is_none()
    }

    /// The address of `symbol` (possibly NULL, for a symbol whose value is
    /// NULL), or the reason it is missing.  `Ok(None)` if the library was
    /// closed.
    pub fn symbol(&self, symbol: &str) -> Result<Option<*mut u8>, SymbolError> {
        let Some(h) = &self.handle else {
            return Ok(None);
        };
        let mut cname = symbol.as_bytes().to_vec();
        if cname.contains(&0) {
            return Err(SymbolError(
                "symbol name contains a NUL character".to_owned(),
            ));
        }
        cname.push(0);
        // SAFETY: the symbol's address is only returned as a number; what
        // it points to is the caller's business (as with dlsym() in C).
        match unsafe { h.get::<*mut u8>(&cname[..]) } {
            Ok(sym) => Ok(Some(sym.into_raw() as *mut u8)),
            Err(e) => Err(SymbolError(dl_message(&e))),
        }
    }

    /// `dlclose` (only for libraries rcffi opened); later lookups see a
    /// closed library.
    pub fn close(&mut self) {
        if let Some(h) = self.handle.take() {
            if self.owned {
                let _ = h.close();
            } else {
                let _ = h.into_raw();
            }
        }
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        // Functions and variables taken from the library may outlive this
        // object (a cdata does not keep its library alive, as in cffi), so
        // only an explicit `close` unloads the library: dropping the handle
        // leaves it loaded rather than leaving those pointers dangling.
        if let Some(h) = self.handle.take() {
            let _ = h.into_raw();
        }
    }
}

/// The `dlerror` text of a libloading error.
fn dl_message(e: &libloading::Error) -> String {
    use std::error::Error as _;
    match e.source() {
        Some(s) => s.to_string(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_program_and_missing_things() {
        let lib = Library::open(None, 0).unwrap();
        assert_eq!(lib.name(), "<None>");
        assert!(lib.symbol("malloc").unwrap().is_some());
        let e = lib.symbol("rcffi_no_such_symbol").unwrap_err();
        assert!(e.0.contains("rcffi_no_such_symbol"), "{}", e.0);
        let e = Library::open(Some(OsStr::new("/nonexistent/libx.so")), 0)
            .err()
            .unwrap();
        assert!(
            e.message
                .starts_with("cannot load library '/nonexistent/libx.so': "),
            "{}",
            e.message
        );
    }

    #[test]
    fn close() {
        let mut lib = Library::open(None, RTLD_NOW).unwrap();
        lib.close();
        assert!(lib.is_closed());
        assert_eq!(lib.symbol("malloc"), Ok(None));
    }
}
