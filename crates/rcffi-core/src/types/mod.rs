//! Layer 2 — types: the C type model.
//!
//! A [`CType`] is immutable once built, except that a struct or union is
//! created empty and completed once with its layout.  Types are interned
//! (see [`intern`]): asking twice for `int *` gives the same `Arc`.  Struct,
//! union and enum types are nominal: each creation is a new type.

pub mod intern;
pub mod layout;
pub mod primitive;

use std::any::Any;
use std::sync::{Arc, OnceLock};

pub use layout::{Field, FieldFlags, Layout, LayoutError, StructOptions};
pub use primitive::{PrimFamily, Primitive};

/// Shared handle on a type.
pub type TypeRef = Arc<CType>;

/// The default calling convention (`FFI_DEFAULT_ABI`).
pub const ABI_DEFAULT: i32 = 2;
/// `__stdcall`; only differs from the default on 32-bit Windows.
pub const ABI_STDCALL: i32 = 5;

/// One C type.
pub struct CType {
    pub kind: Kind,
    /// The C spelling, e.g. `int *(*)[5]`.
    name: String,
    /// Where a declarator goes when this type is wrapped, e.g. 3 in
    /// `int[5]` (a pointer to it becomes `int(*)[5]`).
    name_pos: usize,
    /// A slot for the Python layer (its wrapper object).
    pub py_slot: OnceLock<Box<dyn Any + Send + Sync>>,
    /// A slot for the call layer (the call plan of a function type).
    pub plan_slot: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for CType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<ctype '{}'>", self.name)
    }
}

/// The kinds of C types.
pub enum Kind {
    Void,
    Primitive(&'static Primitive),
    Pointer(TypeRef),
    /// `T[n]`, or `T[]` when `len` is `None`.
    Array {
        item: TypeRef,
        len: Option<usize>,
    },
    Struct(StructInfo),
    Enum(EnumInfo),
    Function(FuncInfo),
}

/// A struct or union: its layout arrives once, when it is completed.
pub struct StructInfo {
    pub is_union: bool,
    layout: OnceLock<Arc<Layout>>,
    /// Why the struct has no layout, when its declaration was invalid or
    /// partial (shown when it is used).
    problem: OnceLock<String>,
    /// How to lay the struct out at its first use (the structs of module
    /// tables, whose fields are realised only then).
    lazy: OnceLock<Box<dyn LazyLayout>>,
}

/// A layout computed at the first use of a struct (see
/// [`set_lazy_layout`]).  An error becomes the struct's problem.
pub trait LazyLayout: Send + Sync {
    fn compute(&self) -> Result<Layout, String>;
}

impl StructInfo {
    #[inline]
    pub fn layout(&self) -> Option<&Arc<Layout>> {
        match self.layout.get() {
            Some(l) => Some(l),
            None => self.complete_lazily(),
        }
    }

    /// Runs the lazy layout, once (under one process-wide lock, taken
    /// again freely by the thread holding it: a layout may need the
    /// layouts of its fields).  A struct that needs its own layout to be
    /// laid out (only a corrupt table says so) stays without one.
    #[cold]
    fn complete_lazily(&self) -> Option<&Arc<Layout>> {
        let lazy = self.lazy.get()?;
        if self.problem.get().is_some() {
            return None;
        }
        let me = self as *const StructInfo as usize;
        lazy_lock::with(me, || {
            if self.layout.get().is_some() || self.problem.get().is_some() {
                return;
            }
            match lazy.compute() {
                Ok(l) => {
                    let _ = self.layout.set(Arc::new(l));
                }
                Err(why) => {
                    let _ = self.problem.set(why);
                }
            }
        });
        self.layout.get()
    }

    pub fn problem(&self) -> Option<&str> {
        self.problem.get().map(String::as_str)
    }
}

/// The lock of lazy layouts: one for the process, reentrant for the
/// thread holding it; a struct already being laid out by this thread is
/// skipped.
mod lazy_lock {
    use std::cell::RefCell;
    use std::sync::Mutex;

    static LOCK: Mutex<()> = Mutex::new(());

    thread_local! {
        /// The structs this thread is laying out (innermost last).
        static RUNNING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    }

    pub fn with(key: usize, f: impl FnOnce()) {
        let (outermost, reentered) =
            RUNNING.with(|r| (r.borrow().is_empty(), r.borrow().contains(&key)));
        if reentered {
            return;
        }
        // A poisoned lock only means a panic elsewhere; the layouts set so
        // far are consistent (each is set once, whole).
        let guard = outermost.then(|| LOCK.lock().unwrap_or_else(|e| e.into_inner()));
        RUNNING.with(|r| r.borrow_mut().push(key));
        struct Pop;
        impl Drop for Pop {
            fn drop(&mut self) {
                RUNNING.with(|r| {
                    r.borrow_mut().pop();
                });
            }
        }
        let pop = Pop;
        f();
        drop(pop);
        drop(guard);
    }
}

/// Makes the struct or union `t` lay itself out with `lazy` at its first
/// use.  Fails if `t` is not a struct or union or already has a layout.
pub fn set_lazy_layout(t: &TypeRef, lazy: Box<dyn LazyLayout>) -> Result<(), LayoutError> {
    match &t.kind {
        Kind::Struct(info) if info.layout.get().is_none() => info
            .lazy
            .set(lazy)
            .map_err(|_| LayoutError::new(format!("'{}' is already lazy", t.cname()))),
        _ => Err(LayoutError::new(format!(
            "'{}' is not a struct or union to complete",
            t.cname()
        ))),
    }
}

/// Records why `t` (a struct or union) cannot be laid out.
pub fn set_problem(t: &TypeRef, why: String) {
    if let Kind::Struct(info) = &t.kind {
        let _ = info.problem.set(why);
    }
}

/// An enum: named integer constants over an integer base type.
pub struct EnumInfo {
    pub base: TypeRef,
    /// Enumerators in declaration order.
    pub items: Vec<(String, i128)>,
    /// Declared without enumerators (`enum e;`): taken as `unsigned int`.
    pub opaque: bool,
}

impl EnumInfo {
    /// The name of the first enumerator with this value.
    pub fn name_of(&self, value: i128) -> Option<&str> {
        self.items
            .iter()
            .find(|(_, v)| *v == value)
            .map(|(n, _)| n.as_str())
    }
}

/// A function type (what a function pointer points to).
pub struct FuncInfo {
    pub args: Vec<TypeRef>,
    pub result: TypeRef,
    pub ellipsis: bool,
    pub abi: i32,
}

impl CType {
    fn build(kind: Kind, name: String, name_pos: usize) -> TypeRef {
        Arc::new(CType {
            kind,
            name,
            name_pos,
            py_slot: OnceLock::new(),
            plan_slot: OnceLock::new(),
        })
    }

    /// The C spelling of the type (cffi's `cname`).
    pub fn cname(&self) -> &str {
        &self.name
    }

    /// The C spelling with `decl` inserted where a declarator goes:
    /// `int[5]` with `*x` gives `int *x[5]`-style text.  `decl` is inserted
    /// as is.
    pub fn name_with(&self, decl: &str) -> String {
        let mut s = String::with_capacity(self.name.len() + decl.len());
        s.push_str(&self.name[..self.name_pos]);
        s.push_str(decl);
        s.push_str(&self.name[self.name_pos..]);
        s
    }

    /// The name of kind as cffi spells it (`CType.kind`).
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            Kind::Void => "void",
            Kind::Primitive(_) => "primitive",
            Kind::Pointer(_) => "pointer",
            Kind::Array { .. } => "array",
            Kind::Struct(s) if s.is_union => "union",
            Kind::Struct(_) => "struct",
            Kind::Enum(_) => "enum",
            Kind::Function(_) => "function",
        }
    }

    /// `sizeof`, or `None` for void, open arrays and structs that are
    /// not completed yet.  A function ctype is a function *pointer* (as in
    /// cffi), so it has the size of a pointer.
    pub fn size(&self) -> Option<usize> {
        match &self.kind {
            Kind::Void => None,
            Kind::Primitive(p) => Some(p.size),
            Kind::Pointer(_) | Kind::Function(_) => Some(size_of::<usize>()),
            Kind::Array { item, len } => Some(item.size()?.checked_mul((*len)?)?),
            Kind::Struct(s) => s.layout().map(|l| l.size),
            Kind::Enum(e) => e.base.size(),
        }
    }

    /// `alignof`, or `None` where it is unknown (as for [`CType::size`]).
    pub fn align(&self) -> Option<usize> {
        match &self.kind {
            Kind::Void => None,
            Kind::Primitive(p) => Some(p.align),
            Kind::Pointer(_) | Kind::Function(_) => Some(align_of::<usize>()),
            Kind::Array { item, .. } => item.align(),
            Kind::Struct(s) => s.layout().map(|l| l.align),
            Kind::Enum(e) => e.base.align(),
        }
    }

    pub fn primitive(&self) -> Option<&'static Primitive> {
        match &self.kind {
            Kind::Primitive(p) => Some(p),
            _ => None,
        }
    }

    /// The item type of a pointer or array.
    pub fn item(&self) -> Option<&TypeRef> {
        match &self.kind {
            Kind::Pointer(t) | Kind::Array { item: t, .. } => Some(t),
            _ => None,
        }
    }

    pub fn struct_info(&self) -> Option<&StructInfo> {
        match &self.kind {
            Kind::Struct(s) => Some(s),
            _ => None,
        }
    }

    pub fn func_info(&self) -> Option<&FuncInfo> {
        match &self.kind {
            Kind::Function(f) => Some(f),
            _ => None,
        }
    }

    pub fn is_pointer(&self) -> bool {
        matches!(self.kind, Kind::Pointer(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self.kind, Kind::Array { .. })
    }

    pub fn is_void(&self) -> bool {
        matches!(self.kind, Kind::Void)
    }

    /// A struct or union.
    pub fn is_struct(&self) -> bool {
        matches!(self.kind, Kind::Struct(_))
    }

    /// Integers, floats, chars, bools and enums: the types whose cdata is a
    /// single number.
    pub fn is_scalar(&self) -> bool {
        matches!(self.kind, Kind::Primitive(_) | Kind::Enum(_))
    }

    /// The primitive an enum is stored as, or the primitive itself.
    pub fn storage_primitive(&self) -> Option<&'static Primitive> {
        match &self.kind {
            Kind::Primitive(p) => Some(p),
            Kind::Enum(e) => e.base.primitive(),
            _ => None,
        }
    }

    /// "ctype 'x' is of unknown size" with the reason, when one is known.
    pub fn unknown_size_message(&self) -> String {
        match self.struct_info().and_then(StructInfo::problem) {
            Some(why) => format!("ctype '{}' is of unknown size: {why}", self.cname()),
            None => format!("ctype '{}' is of unknown size", self.cname()),
        }
    }

    /// A struct or union not completed yet (cffi: "opaque").
    pub fn is_opaque(&self) -> bool {
        match &self.kind {
            Kind::Struct(s) => s.layout().is_none(),
            _ => false,
        }
    }

    /// The `void *`, `char *` and the other pointers to one-byte items.
    pub fn is_char_pointer(&self) -> bool {
        match &self.kind {
            Kind::Pointer(t) | Kind::Array { item: t, .. } => {
                matches!(t.kind, Kind::Primitive(p) if p.size == 1 && p.family == PrimFamily::Char)
            }
            _ => false,
        }
    }
}

/// Builds the types that are not interned: structs, unions and enums.
pub fn new_struct(name: &str, is_union: bool) -> TypeRef {
    CType::build(
        Kind::Struct(StructInfo {
            is_union,
            layout: OnceLock::new(),
            problem: OnceLock::new(),
            lazy: OnceLock::new(),
        }),
        name.to_owned(),
        name.len(),
    )
}

/// Gives a struct or union its layout.  Fails if it is not a struct or
/// union, or already completed.
pub fn complete_struct(t: &TypeRef, layout: Layout) -> Result<(), LayoutError> {
    let Kind::Struct(info) = &t.kind else {
        return Err(LayoutError::new(format!(
            "first arg must be a non-initialized struct or union ctype, not '{}'",
            t.cname()
        )));
    };
    info.layout
        .set(Arc::new(layout))
        .map_err(|_| LayoutError::new(format!("'{}' is already completed", t.cname())))
}

pub fn new_enum(name: &str, items: Vec<(String, i128)>, base: TypeRef) -> TypeRef {
    enum_type(
        name,
        EnumInfo {
            base,
            items,
            opaque: false,
        },
    )
}

/// An enum declared without enumerators (`enum e;`): as in cffi, an
/// `unsigned int` with no named values.
pub fn new_opaque_enum(name: &str) -> TypeRef {
    let base = intern::prim("unsigned int");
    enum_type(
        name,
        EnumInfo {
            base,
            items: Vec::new(),
            opaque: true,
        },
    )
}

fn enum_type(name: &str, info: EnumInfo) -> TypeRef {
    CType::build(Kind::Enum(info), name.to_owned(), name.len())
}

/// The name of `item` wrapped as `item<extra>` where `extra` is inserted at
/// the declarator position; returns the new name and position.
fn wrap_name(item: &CType, extra: &str, new_pos_in_extra: usize) -> (String, usize) {
    (item.name_with(extra), item.name_pos + new_pos_in_extra)
}

pub(crate) fn make_pointer(item: &TypeRef) -> TypeRef {
    let (name, pos) = if item.is_array() {
        wrap_name(item, "(*)", 2)
    } else {
        wrap_name(item, " *", 2)
    };
    CType::build(Kind::Pointer(item.clone()), name, pos)
}

/// An open array of `item` that is not interned: a type of its own, with
/// the cname of `item[]` (the placeholder of `typedef T t[...]`).
pub fn unique_open_array(item: &TypeRef) -> TypeRef {
    make_array(item, None)
}

pub(crate) fn make_array(item: &TypeRef, len: Option<usize>) -> TypeRef {
    let brackets = match len {
        Some(n) => format!("[{n}]"),
        None => "[]".to_owned(),
    };
    let (name, pos) = wrap_name(item, &brackets, 0);
    CType::build(
        Kind::Array {
            item: item.clone(),
            len,
        },
        name,
        pos,
    )
}

pub(crate) fn make_function(
    args: Vec<TypeRef>,
    result: &TypeRef,
    ellipsis: bool,
    abi: i32,
) -> TypeRef {
    let mut list: Vec<&str> = args.iter().map(|a| a.cname()).collect();
    if ellipsis {
        list.push("...");
    }
    let conv = if abi == ABI_STDCALL { "__stdcall " } else { "" };
    let extra = format!("({conv}*)({})", list.join(", "));
    let (name, pos) = wrap_name(result, &extra, 2 + conv.len());
    CType::build(
        Kind::Function(FuncInfo {
            args,
            result: result.clone(),
            ellipsis,
            abi,
        }),
        name,
        pos,
    )
}

pub(crate) fn make_primitive(prim: &'static Primitive) -> TypeRef {
    CType::build(Kind::Primitive(prim), prim.name.to_owned(), prim.name.len())
}

pub(crate) fn make_void() -> TypeRef {
    CType::build(Kind::Void, "void".to_owned(), 4)
}
