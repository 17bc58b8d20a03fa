//! Keep-alive maps: the owning cdata stored into pointer slots of memory
//! rcffi owns, by slot address (rcffi's fix for cffi issues #141/#155).
//!
//! `s.data = ffi.new("char[]", 10)` records the new array in the map of
//! the memory owner of `s`, so the array lives as long as `s` does and
//! reading `s.data` back gives a pointer keeping it alive again.  Each
//! entry also caches the pointer cdata last read from its slot: while the
//! slot still holds the same address, `s.data` gives that same object
//! again instead of making a new one (loops like `s.data[i] = x` then make
//! no object per iteration).  Pointer cdata are immutable, so sharing one
//! is not observable except by `is`.
//!
//! A map is touched only with the GIL held (every method takes a
//! `Python` token or runs from a GC slot), and a `RefCell` guards it
//! against re-entry from Python code run by a drop: a drop always happens
//! after the borrow ends.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use pyo3::prelude::*;

use super::cdata::CData;
use crate::types::TypeRef;

/// One slot's entry: the owner stored there and the pointer cdata last
/// read from it.
pub struct Kept {
    owner: Py<CData>,
    view: Option<Py<CData>>,
}

type Map = HashMap<usize, Kept, BuildHasherDefault<AddrHasher>>;

/// The keep-alive map of one memory owner.
#[derive(Default)]
pub struct KeepMap(RefCell<Map>);

// SAFETY: the map is only accessed with the GIL held: the methods take a
// `Python` token or are called by the garbage collector's slots
// (tp_traverse, tp_clear) and by dealloc, which CPython runs with the GIL.
// rcffi is built for the stable ABI (abi3), which free-threaded CPython
// cannot load, so holding the GIL excludes every other thread.
unsafe impl Sync for KeepMap {}

impl KeepMap {
    /// Records `owner` for the slot at `addr` (or removes the entry);
    /// returns the previous entry, to be dropped by the caller after this
    /// call (its drop may run Python code).
    pub fn set(&self, _py: Python<'_>, addr: usize, owner: Option<Py<CData>>) -> Option<Kept> {
        let mut map = self.0.try_borrow_mut().ok()?;
        match owner {
            Some(owner) => map.insert(addr, Kept { owner, view: None }),
            None => map.remove(&addr),
        }
    }

    /// Whether the map has no entry (false while it is being changed).
    pub fn is_empty(&self) -> bool {
        self.0.try_borrow().is_ok_and(|m| m.is_empty())
    }

    /// The pointer cdata of type `ty` for the slot at `addr`, which holds
    /// `value`, if the slot has an entry: a view keeping the stored owner
    /// alive, the cached one while it still has this type and address.
    pub fn pointer<'py>(
        &self,
        py: Python<'py>,
        addr: usize,
        ty: &TypeRef,
        value: *mut u8,
    ) -> Option<PyResult<Bound<'py, CData>>> {
        let owner = {
            let map = self.0.try_borrow().ok()?;
            let kept = map.get(&addr)?;
            if let Some(v) = &kept.view {
                let cd = v.get();
                if Arc::ptr_eq(&cd.ty, ty) && cd.raw_ptr() == value {
                    return Some(Ok(v.bind(py).clone()));
                }
            }
            kept.owner.clone_ref(py)
        };
        let view = match CData::borrowed(ty.clone(), value, 0, Some(owner.clone_ref(py)))
            .into_base_object(py)
        {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        // Cached if the entry is still the one read above (making the
        // object may have run the garbage collector, hence Python code).
        let old = self.0.try_borrow_mut().ok().and_then(|mut map| {
            let kept = map.get_mut(&addr)?;
            if kept.owner.is(&owner) {
                kept.view.replace(view.clone().unbind())
            } else {
                None
            }
        });
        // Released as `Bound`s: the fast attribute and item paths run
        // outside PyO3's count of attached threads, where a dropped `Py`
        // would wait in PyO3's pool.
        drop(old.map(|o| o.into_bound(py)));
        drop(owner.into_bound(py));
        Some(Ok(view))
    }

    /// Calls `visit` on every object the map references.
    pub fn visit<E>(&self, visit: &mut impl FnMut(&Py<PyAny>) -> Result<(), E>) -> Result<(), E> {
        if let Ok(map) = self.0.try_borrow() {
            for k in map.values() {
                visit(k.owner.as_any())?;
                if let Some(v) = &k.view {
                    visit(v.as_any())?;
                }
            }
        }
        Ok(())
    }

    /// Empties the map; the entries are returned to be dropped by the
    /// caller after this call.
    pub fn take(&self) -> Vec<Kept> {
        self.0
            .try_borrow_mut()
            .map(|mut m| m.drain().map(|(_, k)| k).collect())
            .unwrap_or_default()
    }
}

/// A hasher for addresses (the keys of keep-alive maps): one
/// multiplication instead of SipHash.  The keys are not chosen by an
/// adversary: they are addresses inside memory this process allocated.
#[derive(Default)]
pub struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64 ^ self.0)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(26);
    }
}
