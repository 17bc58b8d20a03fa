//! The entries of a module's global table, decoded into what `lib.NAME`
//! is: a function, a constant, a variable, an `extern "Python"` slot.

use std::ffi::c_void;

use super::format::{ExternPy, op};
use super::tables::Tables;
use crate::errors::Error;

/// The calling convention of a compiled function's CPython wrapper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrapperKind {
    /// `METH_VARARGS`.
    Varargs,
    /// `METH_NOARGS`.
    NoArgs,
    /// `METH_O`.
    OneArg,
}

/// What one global is.
#[derive(Clone, Copy, Debug)]
pub enum GlobalKind {
    /// A function of a compiled module: `wrapper` is cffi's
    /// `PyObject *_cffi_f_NAME(...)` (rcffi modules: the argument stub),
    /// `direct` the C function of the declared signature (may be NULL in
    /// old modules).  `type_index` is the slot of its `FUNCTION`.
    Function {
        type_index: usize,
        wrapper: *mut c_void,
        direct: *mut c_void,
        kind: WrapperKind,
    },
    /// An integer constant or enumerator (`ModuleTypes::global_int`).
    IntConstant,
    /// A constant of another type: `getter` writes its value
    /// (`void f(char *)`); NULL: looked up in the library (`dlopen`).
    Constant {
        type_index: usize,
        getter: *mut c_void,
    },
    /// A variable at `address` (NULL: looked up in the library), of
    /// `size` bytes if not 0.
    Variable {
        type_index: usize,
        address: *mut c_void,
        size: usize,
    },
    /// A variable whose address `getter()` returns (`void *f(void)`).
    VariableFn {
        type_index: usize,
        getter: *mut c_void,
    },
    /// A function of an out-of-line module, looked up in the library.
    DlopenFunction { type_index: usize },
    /// An `extern "Python"` function: its slot, and the C function that
    /// calls Python through it (`lib.NAME` is a pointer to that).
    ExternPython {
        type_index: usize,
        slot: *mut ExternPy,
        function: *mut c_void,
    },
}

impl GlobalKind {
    /// Global `i` of `tables`, decoded, with its name.
    pub fn of(tables: &Tables, i: usize) -> Result<(&str, GlobalKind), Error> {
        let g = tables.global(i)?;
        let index = || tables.type_index(g.arg);
        let kind = match g.op {
            op::CPYTHON_BLTN_V | op::CPYTHON_BLTN_N | op::CPYTHON_BLTN_O => GlobalKind::Function {
                type_index: index()?,
                wrapper: g.address,
                direct: g.size_or_direct_fn,
                kind: match g.op {
                    op::CPYTHON_BLTN_V => WrapperKind::Varargs,
                    op::CPYTHON_BLTN_N => WrapperKind::NoArgs,
                    _ => WrapperKind::OneArg,
                },
            },
            op::CONSTANT_INT | op::ENUM => GlobalKind::IntConstant,
            op::CONSTANT | op::DLOPEN_CONST => GlobalKind::Constant {
                type_index: index()?,
                getter: g.address,
            },
            op::GLOBAL_VAR => GlobalKind::Variable {
                type_index: index()?,
                address: g.address,
                size: g.size_or_direct_fn as usize,
            },
            op::GLOBAL_VAR_F => GlobalKind::VariableFn {
                type_index: index()?,
                getter: g.address,
            },
            op::DLOPEN_FUNC => GlobalKind::DlopenFunction {
                type_index: index()?,
            },
            op::EXTERN_PYTHON => GlobalKind::ExternPython {
                type_index: index()?,
                slot: g.address.cast(),
                function: g.size_or_direct_fn,
            },
            other => {
                return Err(Error::not_implemented(format!(
                    "in lib_build_attr: op={other}"
                )));
            }
        };
        Ok((g.name, kind))
    }

    /// A global variable (`lib.NAME = x` writes it; `__all__` leaves it out).
    pub fn is_variable(&self) -> bool {
        matches!(
            self,
            GlobalKind::Variable { .. } | GlobalKind::VariableFn { .. }
        )
    }
}
