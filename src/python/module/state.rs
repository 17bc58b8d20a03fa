//! What an `FFI` made from module tables keeps: the realised types of the
//! tables (the core's [`ModuleTypes`]), the included modules, and the
//! `extern "Python"` callbacks attached with `@ffi.def_extern()`.

use std::sync::{Arc, Mutex, OnceLock};

use pyo3::prelude::*;

use crate::memory::cdata::CData;
use crate::module::realize::{ModuleTypes, Realised};
use crate::python::ctype::ctype_obj;
use crate::python::errors::CoreResult;
use crate::types::TypeRef;

/// Who made the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A module compiled by the real cffi (`_cffi_f_NAME` wrappers).
    Cffi,
    /// A module compiled by rcffi (argument stubs instead of wrappers).
    Rcffi,
    /// An out-of-line ABI module (`FFI(...)` in a `.py`).
    OutOfLine,
}

/// The modules an FFI includes: their `ffi` objects and, for compiled
/// modules, their `lib` objects (`None` for out-of-line ones).
pub struct Included {
    pub ffis: Vec<Py<PyAny>>,
    pub libs: Vec<Option<Py<PyAny>>>,
}

/// The state of one table-backed `FFI`.
pub struct ModuleState {
    pub types: Arc<ModuleTypes>,
    pub origin: Origin,
    pub included: OnceLock<Included>,
    /// The callbacks of `@ffi.def_extern()`, kept alive for the life of
    /// the module (C may still call an older one while it is replaced).
    pub externs: Mutex<Vec<Py<CData>>>,
}

impl ModuleState {
    pub fn new(types: Arc<ModuleTypes>, origin: Origin) -> Arc<ModuleState> {
        Arc::new(ModuleState {
            types,
            origin,
            included: OnceLock::new(),
            externs: Mutex::new(Vec::new()),
        })
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        self.types.tables().module()
    }

    /// Realises slot `i` as a plain type (errors as Python exceptions).
    pub fn realise_type(&self, i: usize) -> PyResult<TypeRef> {
        self.types.realise_type(i).py()
    }

    /// Realises slot `i` and writes its `CType` object's address back into
    /// the module's `_cffi_types[i]`, where cffi's C wrappers read it
    /// (compiled modules only; the object lives as long as the type,
    /// which the module's tables keep for the life of the process).
    pub fn realise_written_back(&self, py: Python<'_>, i: usize) -> PyResult<Realised> {
        let r = self.types.realise(i).py()?;
        if let (Realised::Type(t), true) = (&r, self.types.tables().ctx_addr() != 0) {
            let obj = ctype_obj(py, t)?;
            self.types
                .tables()
                .write_slot(i, obj.as_ptr() as usize)
                .py()?;
        }
        Ok(r)
    }
}

impl ModuleState {
    /// Before cffi's C wrapper of the function whose `FUNCTION` is at slot
    /// `f` may run: the slots it reads with `_cffi_type(N)` (the result's
    /// and each argument's type) hold their type objects.
    pub fn prepare_wrapper(&self, py: Python<'_>, f: usize) -> PyResult<()> {
        use crate::module::format::{self, op};
        let tables = self.types.tables();
        let head = tables.slot(f).py()?;
        if !format::is_opcode(head) || format::get_op(head) != op::FUNCTION {
            return Err(crate::python::errors::to_py(
                tables.error(format_args!("types[{f}] is no FUNCTION")),
            ));
        }
        let result = tables.type_index(format::get_arg(head)).py()?;
        self.realise_written_back(py, result)?;
        let mut j = f + 1;
        loop {
            let x = tables.slot(j).py()?;
            if format::is_opcode(x) {
                match format::get_op(x) {
                    op::FUNCTION_END => break,
                    op::NOOP => {
                        let target = tables.type_index(format::get_arg(x)).py()?;
                        self.realise_written_back(py, target)?;
                    }
                    _ => {}
                }
                self.realise_written_back(py, j)?;
            }
            j += 1;
        }
        Ok(())
    }
}
