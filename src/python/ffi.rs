//! The native part of the `FFI` object: the declarations of its cdefs,
//! the cache of resolved type strings, and the `ffi.*` methods on the hot
//! path (`new`, `cast`, `typeof`, `sizeof`...).  The Python classes
//! `_cffi_backend.FFI` (`rcffi.api`) and `rcffi.FFI` derive from it and add
//! the rest (`NULL`, `dlopen`, `callback`; `cdef`, `set_source`, `compile`...).

use crate::python::errors::CoreResult;
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::backend;
use super::capi::GilCell;
use super::ctype::{PyCType, ctype_obj};
use super::module::state::ModuleState;
use crate::frontend::{CdefOptions, Constant, Declarations};
use crate::memory::cdata::CData;
use crate::types::{TypeRef, intern};

/// The native base of `_cffi_backend.FFI` (a Python class of `rcffi.api`
/// that adds `NULL`, `CData`, `callback`, `dlopen`...) and so of `rcffi.FFI`.
#[pyclass(name = "FFI", module = "_cffi_backend", subclass, frozen)]
pub struct FfiCore {
    decls: Mutex<Declarations>,
    /// Type string → CType, cleared by every cdef.
    cache: Py<PyDict>,
    /// The last type strings resolved, by identity (the strings of Python
    /// code are constants: the same object each time), before `cache`.
    recent: GilCell<Recent>,
    /// The tables of the compiled or out-of-line module this FFI reads
    /// its types from (see `python::module`).
    tables: OnceLock<Arc<ModuleState>>,
}

/// How many type strings [`FfiCore::recent`] remembers.
const RECENT: usize = 4;

#[derive(Default)]
struct Recent {
    entries: [Option<(Py<PyString>, TypeRef)>; RECENT],
    next: usize,
}

impl FfiCore {
    /// The module tables of this FFI, if it was made from some.
    pub fn module_state(&self) -> Option<&Arc<ModuleState>> {
        self.tables.get()
    }

    /// Makes this FFI read its types from the module tables of `state`
    /// (once: cffi's "cannot call FFI.__init__() more than once").
    pub fn attach_tables(&self, py: Python<'_>, state: Arc<ModuleState>) -> PyResult<()> {
        let types = state.types.clone();
        self.tables
            .set(state)
            .map_err(|_| PyValueError::new_err("cannot call FFI.__init__() more than once"))?;
        self.decls().namespaces.push(types);
        self.clear_caches(py);
        Ok(())
    }

    /// `ffi.verify()`: this FFI forgets the declarations of its cdefs and
    /// reads its types from the tables of the module built from them (so
    /// that its types are those of the module's `lib`).
    pub fn complete_from_tables(&self, py: Python<'_>, state: Arc<ModuleState>) -> PyResult<()> {
        if self.tables.get().is_some() {
            return Err(PyValueError::new_err(
                "verify() can be called only once per FFI object",
            ));
        }
        *self.decls() = Declarations::new();
        self.attach_tables(py, state)
    }

    /// The integer constant `name` of the declarations or tables.
    pub fn namespace_integer(&self, name: &str) -> PyResult<Option<i128>> {
        match self.decls().integer_const(name).py()? {
            Some(Constant::Int(i)) => Ok(Some(i)),
            _ => Ok(None),
        }
    }

    fn decls(&self) -> std::sync::MutexGuard<'_, Declarations> {
        // A poisoned lock means a panic happened mid-update; the staged
        // update of cdef never leaves the declarations half-changed.
        self.decls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the declarations (the code generator reads them).
    pub(crate) fn with_declarations<R>(&self, f: impl FnOnce(&Declarations) -> R) -> R {
        f(&self.decls())
    }

    /// The type `cdecl` names: a type string, or a CType.
    #[inline]
    pub fn resolve(&self, cdecl: &Bound<'_, PyAny>) -> PyResult<TypeRef> {
        let py = cdecl.py();
        if let Ok(s) = cdecl.cast::<PyString>() {
            if let Some(t) = self.recent_type(py, s.as_ptr()) {
                return Ok(t);
            }
            return self.resolve_string(s);
        }
        if let Ok(t) = cdecl.cast::<PyCType>() {
            return Ok(t.get().t.clone());
        }
        Err(PyTypeError::new_err(format!(
            "expected a string or a ctype object, got {}",
            crate::memory::convert::describe(cdecl)
        )))
    }
}

impl FfiCore {
    /// The type of `cdecl` if it is one of the type strings resolved last
    /// (by identity): the fast paths of `capi::fastcall`, which leave the
    /// other cases to [`FfiCore::resolve`].
    #[inline]
    pub fn recent_type(&self, py: Python<'_>, cdecl: *mut pyo3::ffi::PyObject) -> Option<TypeRef> {
        self.recent.with(py, |r| {
            r.entries
                .iter()
                .flatten()
                .find(|(k, _)| k.as_ptr() == cdecl)
                .map(|(_, t)| t.clone())
        })
    }

    /// A type string not among the recent ones.
    #[inline(never)]
    fn resolve_string(&self, s: &Bound<'_, PyString>) -> PyResult<TypeRef> {
        let py = s.py();
        let cache = self.cache.bind(py);
        let t = match cache.get_item(s)? {
            Some(t) => t.cast::<PyCType>()?.get().t.clone(),
            None => {
                let text = s.to_cow()?;
                let t = self
                    .decls()
                    .parse_type(&text)
                    .map_err(|e| super::errors::as_ffi_error(py, super::errors::to_py(e)))?;
                cache.set_item(s, ctype_obj(py, &t)?)?;
                t
            }
        };
        let entry = Some((s.clone().unbind(), t.clone()));
        let old = self.recent.with(py, |r| {
            let i = r.next;
            r.next = (i + 1) % RECENT;
            std::mem::replace(&mut r.entries[i], entry)
        });
        drop(old);
        Ok(t)
    }

    /// Forgets the resolved type strings (the declarations changed).
    fn clear_caches(&self, py: Python<'_>) {
        self.cache.bind(py).clear();
        let old = self.recent.with(py, std::mem::take);
        drop(old);
    }

    /// cffi's `VerificationMissing` when `t` (or, with `look_through`, what
    /// `t` points to) is a struct or enum declared with `...` that no
    /// compiler has completed.
    fn verification_missing(&self, t: &TypeRef, look_through: bool) -> PyResult<()> {
        let target = if look_through && (t.is_pointer() || t.is_array()) {
            t.item().cloned().unwrap_or_else(|| t.clone())
        } else {
            t.clone()
        };
        let name = target.cname();
        let d = self.decls();
        let partial = (target.is_opaque() && d.partial_structs.contains(name))
            || d.partial_enums.contains(name);
        if partial {
            return Err(super::errors::VerificationMissing::new_err(format!(
                "{name}: it is declared with '...', so only API mode knows its layout (use the \
                 'ffi' of the module ffi.compile() builds, or call ffi.verify() first)"
            )));
        }
        Ok(())
    }
}

/// `getctype`'s placement of `replace_with` (cffi's rule: a `*` before an
/// array needs parentheses; a name needs a space).
fn place_declarator(t: &TypeRef, replace_with: &str) -> String {
    let r = replace_with.trim();
    let decl = if r.starts_with('*') && t.name_with("&").contains("&[") {
        format!("({r})")
    } else if !r.is_empty() && !r.starts_with(['[', '(']) {
        format!(" {r}")
    } else {
        r.to_owned()
    };
    t.name_with(&decl)
}

#[pymethods]
impl FfiCore {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(
        py: Python<'_>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> Self {
        FfiCore {
            decls: Mutex::new(Declarations::new()),
            cache: PyDict::new(py).unbind(),
            recent: GilCell::new(Recent::default()),
            tables: OnceLock::new(),
        }
    }

    /// Parses and registers C declarations.
    #[pyo3(signature = (csource, r#override=false, packed=false, pack=None))]
    fn _cdef(
        &self,
        py: Python<'_>,
        csource: &str,
        r#override: bool,
        packed: bool,
        pack: Option<usize>,
    ) -> PyResult<()> {
        let opts = CdefOptions {
            override_: r#override,
            packed,
            pack: pack.unwrap_or(0),
        };
        if let Some(p) = pack
            && !(p == 0 || p.is_power_of_two())
        {
            return Err(PyValueError::new_err(format!(
                "'pack' must be a power of two, not {p}"
            )));
        }
        let mut decls = self.decls();
        let result = decls.cdef(csource, opts);
        drop(decls);
        self.clear_caches(py);
        result.py()
    }

    /// `ffi.typeof(cdecl)`: the ctype of a type string or of a cdata.
    #[pyo3(name = "typeof")]
    fn typeof_<'py>(
        &self,
        py: Python<'py>,
        cdecl: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyCType>> {
        if let Ok(c) = cdecl.cast::<CData>() {
            return ctype_obj(py, &c.get().ty);
        }
        let t = match self.resolve(cdecl) {
            Ok(t) => t,
            Err(e) => match crate::memory::convert::stand_in(cdecl) {
                Some(c) => c.get().ty.clone(),
                None => return Err(e),
            },
        };
        ctype_obj(py, &t)
    }

    /// The function type of a callback declaration (`ffi.callback`
    /// accepts function types and named declarations too).
    fn _callback_type<'py>(
        &self,
        py: Python<'py>,
        cdecl: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyCType>> {
        let t = match cdecl.cast::<PyString>() {
            Ok(s) => self.decls().parse_callback_type(&s.to_cow()?).py()?,
            Err(_) => self.resolve(cdecl)?,
        };
        ctype_obj(py, &t)
    }

    /// Bytes `ffi.new(cdecl, init)` would allocate.
    #[pyo3(signature = (cdecl, init=None))]
    fn _alloc_size(
        &self,
        cdecl: &Bound<'_, PyAny>,
        init: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let t = self.resolve(cdecl)?;
        Ok(backend::newp_layout(&t, init)?.0)
    }

    /// `ffi.new` into memory `raw` that a custom allocator returned;
    /// `free(raw)` is called when the result dies or is released.
    #[pyo3(signature = (cdecl, init, raw, free, clear))]
    fn _new_custom<'py>(
        &self,
        py: Python<'py>,
        cdecl: &Bound<'py, PyAny>,
        init: Option<&Bound<'py, PyAny>>,
        raw: &Bound<'py, PyAny>,
        free: Option<Bound<'py, PyAny>>,
        clear: bool,
    ) -> PyResult<Bound<'py, CData>> {
        let t = self.resolve(cdecl)?;
        let (size, _, len) = backend::newp_layout(&t, init)?;
        backend::new_custom(py, t, size, len, raw, free, clear, init)
    }

    /// `ffi.sizeof(cdecl)`: the size in bytes of a type or of a cdata's memory.
    fn sizeof(&self, cdecl: &Bound<'_, PyAny>) -> PyResult<usize> {
        if cdecl.is_instance_of::<CData>() {
            return backend::sizeof(cdecl);
        }
        let t = self.resolve(cdecl)?;
        self.verification_missing(&t, false)?;
        t.size().ok_or_else(|| {
            let e = PyValueError::new_err(t.unknown_size_message());
            super::errors::as_ffi_error(cdecl.py(), e)
        })
    }

    /// `ffi.alignof(cdecl)`: the alignment in bytes of a type.
    fn alignof(&self, cdecl: &Bound<'_, PyAny>) -> PyResult<usize> {
        let t = match cdecl.cast::<CData>() {
            Ok(c) => c.get().ty.clone(),
            Err(_) => self.resolve(cdecl)?,
        };
        self.verification_missing(&t, false)?;
        t.align().ok_or_else(|| {
            PyValueError::new_err(format!("ctype '{}' is of unknown alignment", t.cname()))
        })
    }

    /// `ffi.offsetof(cdecl, field_or_index, *more)`.
    #[pyo3(signature = (cdecl, *fields_or_indexes))]
    fn offsetof(
        &self,
        cdecl: &Bound<'_, PyAny>,
        fields_or_indexes: &Bound<'_, PyTuple>,
    ) -> PyResult<usize> {
        let mut t = self.resolve(cdecl)?;
        self.verification_missing(&t, true)?;
        if fields_or_indexes.is_empty() {
            return Err(PyTypeError::new_err(
                "offsetof() needs at least one field name or index",
            ));
        }
        let mut total = 0usize;
        for key in fields_or_indexes.iter() {
            let (next, off) = backend::type_offset(&t, &key, t.is_pointer())?;
            total = total
                .checked_add(off)
                .ok_or_else(|| pyo3::exceptions::PyOverflowError::new_err("offset too large"))?;
            t = next;
        }
        Ok(total)
    }

    /// `ffi.getctype(cdecl, replace_with='')`: the C spelling of a type, with
    /// `replace_with` put where a declarator goes.
    #[pyo3(signature = (cdecl, replace_with=""))]
    fn getctype(&self, cdecl: &Bound<'_, PyAny>, replace_with: &str) -> PyResult<String> {
        let t = self.resolve(cdecl)?;
        Ok(place_declarator(&t, replace_with))
    }

    /// `ffi.new(cdecl, init=None)`.
    #[pyo3(name = "new", signature = (cdecl, init=None))]
    pub fn new_cdata<'py>(
        &self,
        py: Python<'py>,
        cdecl: &Bound<'py, PyAny>,
        init: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, CData>> {
        let t = self.resolve(cdecl)?;
        self.verification_missing(&t, true)?;
        let (size, align, len) = backend::newp_layout(&t, init)?;
        let cd = backend::owned_cdata(py, t, size, align, len)?;
        if let Some(init) = init {
            backend::newp_init(&cd, init)?;
        }
        Ok(cd)
    }

    /// `ffi.cast(cdecl, value)`.
    pub fn cast<'py>(
        &self,
        py: Python<'py>,
        cdecl: &Bound<'py, PyAny>,
        source: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, CData>> {
        let t = self.resolve(cdecl)?;
        self.verification_missing(&t, false)?;
        backend::cast_to(py, &t, source)
    }

    /// `ffi.string(cdata, maxlen=-1)`: the bytes or text a `char`/`wchar_t`
    /// pointer or array holds (up to the first NUL), or the name of an enum value.
    #[pyo3(signature = (cdata, maxlen=-1))]
    fn string<'py>(
        &self,
        py: Python<'py>,
        cdata: &Bound<'py, PyAny>,
        maxlen: isize,
    ) -> PyResult<Bound<'py, PyAny>> {
        backend::string(py, cdata, maxlen)
    }

    /// `ffi.unpack(cdata, length)`: `length` items of a pointer or array, as
    /// bytes, str or a list.
    fn unpack<'py>(
        &self,
        py: Python<'py>,
        cdata: &Bound<'py, PyAny>,
        length: isize,
    ) -> PyResult<Bound<'py, PyAny>> {
        backend::unpack(py, cdata, length)
    }

    /// `ffi.from_buffer([cdecl,] python_buffer, require_writable=False)`.
    #[pyo3(name = "from_buffer", signature = (cdecl, python_buffer=None, require_writable=false))]
    fn cdata_from_buffer<'py>(
        &self,
        py: Python<'py>,
        cdecl: &Bound<'py, PyAny>,
        python_buffer: Option<&Bound<'py, PyAny>>,
        require_writable: bool,
    ) -> PyResult<Bound<'py, CData>> {
        let (t, obj) = match python_buffer {
            Some(b) => (self.resolve(cdecl)?, b),
            None => (intern::array(&intern::prim("char"), None), cdecl),
        };
        backend::from_buffer_impl(py, &t, obj, require_writable)
    }

    /// `ffi.memmove(dest, src, n)`: copies `n` bytes between cdata and buffers.
    fn memmove(&self, dest: &Bound<'_, PyAny>, src: &Bound<'_, PyAny>, n: isize) -> PyResult<()> {
        backend::memmove(dest, src, n)
    }

    /// `ffi.gc(cdata, destructor, size=0)`: a cdata for the same memory whose
    /// death calls `destructor(cdata)` (`None` cancels an earlier `gc`).
    #[pyo3(signature = (cdata, destructor, size=0))]
    fn gc<'py>(
        &self,
        py: Python<'py>,
        cdata: &Bound<'py, CData>,
        destructor: &Bound<'py, PyAny>,
        size: isize,
    ) -> PyResult<Option<Bound<'py, CData>>> {
        if destructor.is_none() {
            // `ffi.gc(p, None)` removes the destructor of an ffi.gc() object.
            backend::gc_detach(cdata)?;
            return Ok(None);
        }
        backend::gcp(py, cdata, destructor, size).map(Some)
    }

    /// `ffi.release(cdata)`: frees the memory of `new`/`from_buffer`/`gc` now.
    fn release(&self, cdata: &Bound<'_, PyAny>) -> PyResult<()> {
        backend::release(cdata)
    }

    /// `ffi.new_handle(obj)`: a `void *` that `from_handle` turns back into `obj`.
    fn new_handle<'py>(
        &self,
        py: Python<'py>,
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, CData>> {
        let t = ctype_obj(py, &intern::pointer(&intern::void()))?;
        backend::newp_handle(py, &t, obj)
    }

    /// `ffi.from_handle(p)`: the object of a `void *` made by `new_handle`.
    #[pyo3(name = "from_handle")]
    fn object_from_handle<'py>(
        &self,
        py: Python<'py>,
        cdata: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        backend::from_handle(py, cdata)
    }

    /// `ffi.addressof(cdata, *fields_or_indexes)` for struct, union and
    /// array cdata (the front end handles `lib` objects).
    #[pyo3(signature = (cdata, *fields_or_indexes))]
    fn _addressof_cdata<'py>(
        &self,
        py: Python<'py>,
        cdata: &Bound<'py, CData>,
        fields_or_indexes: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, CData>> {
        let me = cdata.get();
        let mut t = me.ty.clone();
        let mut total = 0usize;
        if fields_or_indexes.is_empty() {
            if !(t.is_struct() || t.is_array()) {
                return Err(PyTypeError::new_err(format!(
                    "addressof() needs a cdata struct, union or array, not cdata '{}'",
                    t.cname()
                )));
            }
        } else {
            if t.is_pointer() && !t.item().is_some_and(|i| i.is_struct()) {
                // `addressof(p, 5)` on a pointer means `p + 5`.
            } else if !(t.is_struct() || t.is_array() || t.is_pointer()) {
                return Err(PyTypeError::new_err(format!(
                    "addressof() needs a cdata struct, union, array or pointer, not cdata '{}'",
                    t.cname()
                )));
            }
            for key in fields_or_indexes.iter() {
                let (next, off) = backend::type_offset(&t, &key, t.is_pointer())?;
                total = total.checked_add(off).ok_or_else(|| {
                    pyo3::exceptions::PyOverflowError::new_err("offset too large")
                })?;
                t = next;
            }
        }
        let ptr_t = ctype_obj(py, &intern::pointer(&t))?;
        backend::rawaddressof(py, &ptr_t, cdata, total as isize)
    }

    /// `ffi.integer_const(name)`: the value of an integer constant or enumerator.
    fn integer_const(&self, name: &str) -> PyResult<i128> {
        let found = self.decls().integer_const(name).py()?;
        if found.is_none() && self.tables.get().is_some() {
            return Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "integer constant '{name}' not found"
            )));
        }
        match found {
            Some(Constant::Int(i)) => Ok(i),
            Some(_) => Err(PyValueError::new_err(format!(
                "'{name}' is not an integer constant known in ABI mode"
            ))),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "no integer constant named '{name}'"
            ))),
        }
    }

    /// `ffi.list_types()`: the typedef names, struct names and union names
    /// declared, each list sorted.
    fn list_types<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let (a, b, c) = self.decls().list_types();
        PyTuple::new(
            py,
            [
                PyList::new(py, a)?,
                PyList::new(py, b)?,
                PyList::new(py, c)?,
            ],
        )
    }

    /// The names and types of what the cdefs declared, for `dlopen`:
    /// `(functions, variables, constants)` with functions and variables as
    /// `{name: (ctype, is_const)}` and constants `{name: value or None}`.
    fn _declarations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let d = self.decls();
        let funcs = PyDict::new(py);
        for (name, f) in &d.functions {
            funcs.set_item(name, ctype_obj(py, &f.ty)?)?;
        }
        let vars = PyDict::new(py);
        for (name, v) in &d.variables {
            vars.set_item(name, (ctype_obj(py, &v.ty)?, v.is_const))?;
        }
        let consts = PyDict::new(py);
        for (name, c) in &d.constants {
            match c {
                Constant::Int(i) => consts.set_item(name, *i)?,
                Constant::Float(f) => consts.set_item(name, *f)?,
                Constant::Unresolved => consts.set_item(name, py.None())?,
            }
        }
        let externs = PyDict::new(py);
        for (name, f) in &d.extern_python {
            externs.set_item(name, ctype_obj(py, &f.ty)?)?;
        }
        PyTuple::new(
            py,
            [
                funcs.into_any(),
                vars.into_any(),
                consts.into_any(),
                externs.into_any(),
            ],
        )
    }

    /// The parameter names the cdefs give each function and `extern
    /// "Python"` function: `{name: [str or None, ...]}` (an empty list when
    /// the declaration has no parameter list of its own, as `f_t f;`).
    fn _param_names<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = self.decls();
        let out = PyDict::new(py);
        for (name, f) in d.functions.iter().chain(d.extern_python.iter()) {
            out.set_item(name, PyList::new(py, &f.param_names)?)?;
        }
        Ok(out)
    }

    /// Copies the declarations of `other` into this FFI (`ffi.include`).
    fn _include(&self, py: Python<'_>, other: &Bound<'_, FfiCore>) -> PyResult<()> {
        let theirs = other.get().decls().clone();
        let mut mine = self.decls();
        mine.include(&theirs).py()?;
        drop(mine);
        self.clear_caches(py);
        Ok(())
    }

    /// Whether this FFI reads its types from module tables (the `ffi` of
    /// a compiled module, or of an out-of-line module).
    #[getter]
    fn _rcffi_has_tables(&self) -> bool {
        self.tables.get().is_some()
    }

    /// `ffi.errno`: the C `errno` saved after the last C call of this thread
    /// (setting it sets the value the next call starts with).
    #[getter]
    fn errno(&self) -> i32 {
        crate::call::errno::get()
    }

    #[setter]
    fn set_errno(&self, v: i32) {
        crate::call::errno::set(v)
    }
}
