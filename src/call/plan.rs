//! Call plans: everything about calling a function type that can be
//! decided once, before the first call, and cached on the type (in
//! `CType::plan_slot`): how each argument is converted, where it lives in
//! the call's storage, how the result comes back, and the invoker that
//! makes the call.
//!
//! Variadic function types get one plan per list of argument types seen
//! at call sites, kept in a small cache on the type.

use std::sync::{Arc, Mutex};

use super::abi::{self, FfiType, Place};
use super::direct::{self, RetKind, Stub};
use super::raw::{Cif, FrameLayout};
use crate::errors::Error;
use crate::types::{Kind, PrimFamily, TypeRef, intern};

/// How a Python value becomes one argument.
#[derive(Debug)]
pub enum ArgConv {
    /// An integer (or enum) of `size` bytes: Python ints in `lo..=hi` are
    /// stored directly; anything else goes through the generic conversion
    /// (which gives cffi's errors).
    Int { size: usize, lo: i64, hi: i64 },
    /// `double`: Python floats stored directly.
    F64,
    /// `float`.
    F32,
    /// Any other scalar (`_Bool`, `char`, wide chars, `long double`) and
    /// structs by value: the generic conversion of the memory layer.
    Value,
    /// A pointer `T *`: cdata, or a temporary array made from bytes, a
    /// list, a tuple or a str.
    Pointer(PointerArg),
    /// A function pointer: cdata only.
    FuncPtr,
}

/// What a pointer argument accepts besides cdata.
#[derive(Debug)]
pub struct PointerArg {
    pub item: TypeRef,
    /// Size of the items (`None` for `void` and opaque items, which only
    /// take cdata and, for `void *`, bytes).
    pub item_size: Option<usize>,
    /// `bytes` is passed as a temporary NUL-terminated copy (`char *`,
    /// `void *` and other one-byte items).
    pub takes_bytes: bool,
    /// `_Bool *`: bytes must hold only 0 and 1.
    pub bool_items: bool,
    /// `wchar_t *`, `char16_t *`, `char32_t *`: a str becomes a
    /// NUL-terminated temporary.
    pub wide_items: bool,
    /// `FILE *`: a Python file object becomes a C `FILE *`.
    pub file_items: bool,
}

/// One argument of a plan.
#[derive(Debug)]
pub struct ArgPlan {
    pub ty: TypeRef,
    pub conv: ArgConv,
}

/// How the result comes back to Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetConv {
    Void,
    /// An integer or enum of `size` bytes, returned as an int.
    Int {
        size: usize,
        signed: bool,
    },
    F64,
    F32,
    /// A pointer or function pointer: a non-owning cdata.
    Pointer,
    /// A struct or union: an owning copy of `size` bytes.
    Struct {
        size: usize,
    },
    /// Anything else: the memory layer's conversion.
    Value,
}

/// The code that makes the call.
pub enum Invoker {
    /// libffi's `ffi_call`: any signature.
    Libffi(Arc<Cif>),
    /// A direct register call (see [`direct`]): no libffi on the way.
    Direct(DirectCall),
    /// A compiled call stub taking the addresses of the arguments and of
    /// the result (API mode generates one per declared function).
    Stub(direct::ArgsStub),
}

impl std::fmt::Debug for Invoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invoker::Libffi(_) => f.write_str("Invoker::Libffi"),
            Invoker::Direct(d) => write!(f, "Invoker::Direct({:?}, {:?})", d.ret, d.args),
            Invoker::Stub(_) => f.write_str("Invoker::Stub"),
        }
    }
}

/// Where one argument goes in a direct call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Integer register `reg`, holding a value of `size` bytes extended
    /// to 64 bits (sign-extended if `signed`).
    Int { reg: u8, size: u8, signed: bool },
    /// SSE register `reg`, holding a `double`.
    F64(u8),
    /// SSE register `reg`, holding a `float` in its low 32 bits.
    F32(u8),
    /// A struct or union of `size` (at most 16) bytes whose eightbyte `k`
    /// goes to `parts[k]`.
    Struct { size: u8, parts: [Part; 2] },
}

/// The register of one eightbyte of a struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Int(u8),
    Sse(u8),
}

/// A direct call: the stub for the kind of result and where each
/// argument goes.
pub struct DirectCall {
    pub stub: Stub,
    pub ret: RetKind,
    pub args: Box<[DirectArg]>,
}

/// One argument of a direct call: the common case it takes without the
/// general conversion (one `match` on the hot path), and its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectArg {
    /// An integer: an exact Python `int` in `lo..=hi` goes straight to
    /// integer register `reg`.
    Int {
        reg: u8,
        lo: i64,
        hi: i64,
        slot: Slot,
    },
    /// `double`: an exact Python `float` goes to SSE register `reg`.
    F64 { reg: u8 },
    /// `float`: an exact Python `float`, rounded, to SSE register `reg`.
    F32 { reg: u8 },
    /// A pointer: a cdata of the very type (or an array of its items)
    /// gives its address to integer register `reg`.
    Pointer { reg: u8 },
    /// A struct of `size` bytes: a cdata of the very type gives its
    /// eightbytes to `parts`.
    Struct { size: u8, parts: [Part; 2] },
    /// Everything else goes through the general conversion into `slot`.
    Other(Slot),
}

impl DirectArg {
    /// The registers of the argument.
    pub fn slot(&self) -> Slot {
        match *self {
            DirectArg::Int { slot, .. } | DirectArg::Other(slot) => slot,
            DirectArg::F64 { reg } => Slot::F64(reg),
            DirectArg::F32 { reg } => Slot::F32(reg),
            DirectArg::Pointer { reg } => Slot::Int {
                reg,
                size: 8,
                signed: false,
            },
            DirectArg::Struct { size, parts } => Slot::Struct { size, parts },
        }
    }

    fn new(conv: &ArgConv, slot: Slot) -> DirectArg {
        match (conv, slot) {
            (ArgConv::Int { lo, hi, .. }, Slot::Int { reg, .. }) => DirectArg::Int {
                reg,
                lo: *lo,
                hi: *hi,
                slot,
            },
            (ArgConv::F64, Slot::F64(reg)) => DirectArg::F64 { reg },
            (ArgConv::F32, Slot::F32(reg)) => DirectArg::F32 { reg },
            (ArgConv::Pointer(_), Slot::Int { reg, size: 8, .. }) => DirectArg::Pointer { reg },
            (_, Slot::Struct { size, parts }) => DirectArg::Struct { size, parts },
            _ => DirectArg::Other(slot),
        }
    }
}

/// The plan of one exact signature.
#[derive(Debug)]
pub struct CallPlan {
    pub args: Vec<ArgPlan>,
    pub result: TypeRef,
    pub ret: RetConv,
    pub layout: FrameLayout,
    /// libffi's description of the signature, for callbacks of this type
    /// (every plan of a function type has one; plans of argument stubs
    /// need none).
    pub cif: Option<Arc<Cif>>,
    pub invoker: Invoker,
}

/// Plans of a variadic function type, by the types of the extra
/// arguments.
pub struct VariadicPlans {
    pub fixed: Vec<TypeRef>,
    pub result: TypeRef,
    cache: Mutex<Vec<(Vec<TypeRef>, Arc<CallPlan>)>>,
}

const VARIADIC_CACHE: usize = 32;

impl VariadicPlans {
    /// The plan for a call whose extra arguments have types `extra`.
    pub fn plan_for(&self, extra: &[TypeRef]) -> Result<Arc<CallPlan>, Error> {
        let same = |k: &[TypeRef]| {
            k.len() == extra.len() && k.iter().zip(extra).all(|(a, b)| Arc::ptr_eq(a, b))
        };
        if let Ok(cache) = self.cache.lock()
            && let Some((_, p)) = cache.iter().find(|(k, _)| same(k))
        {
            return Ok(p.clone());
        }
        let mut all = self.fixed.clone();
        all.extend(extra.iter().cloned());
        let plan = Arc::new(build(&all, &self.result, Some(self.fixed.len()))?);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= VARIADIC_CACHE {
                cache.remove(0);
            }
            cache.push((extra.to_vec(), plan.clone()));
        }
        Ok(plan)
    }
}

/// What is cached on a function type.
pub enum TypePlan {
    Fixed(Arc<CallPlan>),
    Variadic(VariadicPlans),
    /// The signature cannot be called (the error is raised at each call,
    /// as cffi does).
    Failed(Error),
}

/// The plan of the function type `fty`, built at the first request.
pub fn plan_of(fty: &TypeRef) -> &TypePlan {
    let slot = fty.plan_slot.get_or_init(|| Box::new(make_type_plan(fty)));
    match slot.downcast_ref::<TypePlan>() {
        Some(p) => p,
        None => &NOT_A_PLAN,
    }
}

static NOT_A_PLAN: TypePlan = TypePlan::Failed(Error {
    kind: crate::errors::ErrorKind::Runtime,
    message: String::new(),
});

fn make_type_plan(fty: &TypeRef) -> TypePlan {
    let Some(f) = fty.func_info() else {
        return TypePlan::Failed(Error::type_error(format!(
            "cdata '{}' is not callable",
            fty.cname()
        )));
    };
    if f.ellipsis {
        // Check the fixed part now, so that errors show at the first call.
        if let Err(e) = ffi_result(&f.result).and_then(|_| {
            f.args
                .iter()
                .try_for_each(|a| abi::ffi_type_of(a, Place::Argument).map(|_| ()))
        }) {
            return TypePlan::Failed(e);
        }
        return TypePlan::Variadic(VariadicPlans {
            fixed: f.args.clone(),
            result: f.result.clone(),
            cache: Mutex::new(Vec::new()),
        });
    }
    match build(&f.args, &f.result, None) {
        Ok(p) => TypePlan::Fixed(Arc::new(p)),
        Err(e) => TypePlan::Failed(e),
    }
}

fn ffi_result(result: &TypeRef) -> Result<FfiType, Error> {
    abi::ffi_type_of(result, Place::Result)
}

/// Builds the plan of the exact signature `args -> result`; `fixed` is
/// the number of fixed arguments of a variadic call.
pub fn build(args: &[TypeRef], result: &TypeRef, fixed: Option<usize>) -> Result<CallPlan, Error> {
    let rtype = ffi_result(result)?;
    let (plans, sizes) = arg_plans(args);
    let ffi_args = plans
        .iter()
        .map(|a| abi::ffi_type_of(&a.ty, Place::Argument))
        .collect::<Result<Vec<_>, _>>()?;
    let ret = ret_conv(result);
    let layout = FrameLayout::new(&sizes, result.size().unwrap_or(0));
    let cif = Arc::new(Cif::new(&ffi_args, &rtype, fixed)?);
    let invoker = match fixed {
        None => direct_plan(&plans, &ffi_args, result, &rtype)
            .map_or_else(|| Invoker::Libffi(cif.clone()), Invoker::Direct),
        Some(_) => Invoker::Libffi(cif.clone()),
    };
    Ok(CallPlan {
        args: plans,
        result: result.clone(),
        ret,
        layout,
        cif: Some(cif),
        invoker,
    })
}

/// The argument plans of `args` (arrays adjusted to pointers, as C
/// does) and the size of each argument's storage.
fn arg_plans(args: &[TypeRef]) -> (Vec<ArgPlan>, Vec<usize>) {
    let mut plans = Vec::with_capacity(args.len());
    let mut sizes = Vec::with_capacity(args.len());
    for a in args {
        let a = match &a.kind {
            Kind::Array { item, .. } => intern::pointer(item),
            _ => a.clone(),
        };
        sizes.push(a.size().unwrap_or(size_of::<usize>()));
        plans.push(ArgPlan {
            conv: arg_conv(&a),
            ty: a,
        });
    }
    (plans, sizes)
}

/// The plan of the non-variadic function type `fty` calling through the
/// argument stub `stub` (API mode's compiled `void stub(void **args, void
/// *result)`), made for one function (not cached on the type).
pub fn stub_plan(fty: &TypeRef, stub: direct::ArgsStub) -> Result<CallPlan, Error> {
    let Some(f) = fty.func_info() else {
        return Err(Error::type_error(format!(
            "expected a function type, got '{}'",
            fty.cname()
        )));
    };
    if f.ellipsis {
        return Err(Error::type_error(format!(
            "'{}': variadic functions have no argument stub",
            fty.cname()
        )));
    }
    // The stub was compiled from the declaration: no libffi description
    // is needed (nor possible for complex numbers or structs whose
    // layout only the compiler knows), only complete types.
    for t in f.args.iter().chain([&f.result]) {
        let incomplete = match &t.kind {
            Kind::Void => !std::ptr::eq(t, &f.result),
            Kind::Array { .. } => std::ptr::eq(t, &f.result),
            _ => t.size().is_none(),
        };
        if incomplete {
            return Err(Error::type_error(format!(
                "ctype '{}' has incomplete type",
                t.cname()
            )));
        }
    }
    let (plans, sizes) = arg_plans(&f.args);
    Ok(CallPlan {
        args: plans,
        result: f.result.clone(),
        ret: ret_conv(&f.result),
        layout: FrameLayout::new(&sizes, f.result.size().unwrap_or(0)),
        cif: None,
        invoker: Invoker::Stub(stub),
    })
}

/// The direct call of a non-variadic signature, if every argument and the
/// result travel in registers (x86-64 System V; see [`direct`]).
fn direct_plan(
    args: &[ArgPlan],
    ffi_args: &[FfiType],
    result: &TypeRef,
    rtype: &FfiType,
) -> Option<DirectCall> {
    if !direct::SUPPORTED {
        return None;
    }
    let mut banks = Banks::default();
    let mut slots = Vec::with_capacity(args.len());
    for (a, f) in args.iter().zip(ffi_args) {
        let slot = match f {
            FfiType::F64 => match banks.take(Class::Sse)? {
                Part::Sse(r) => Slot::F64(r),
                Part::Int(_) => return None,
            },
            FfiType::F32 => match banks.take(Class::Sse)? {
                Part::Sse(r) => Slot::F32(r),
                Part::Int(_) => return None,
            },
            FfiType::Struct { size, .. } => {
                let classes = eightbytes(&a.ty)?;
                // A struct that does not fit in the registers left goes
                // to the stack as a whole: libffi's business.
                let need_int = classes.iter().filter(|c| **c == Class::Int).count();
                let need_sse = classes.len() - need_int;
                if banks.ints + need_int > direct::INT_REGS
                    || banks.sses + need_sse > direct::SSE_REGS
                {
                    return None;
                }
                let mut parts = [Part::Int(0); 2];
                for (k, c) in classes.iter().enumerate() {
                    parts[k] = banks.take(*c)?;
                }
                Slot::Struct {
                    size: u8::try_from(*size).ok()?,
                    parts,
                }
            }
            FfiType::LongDouble | FfiType::Void => return None,
            scalar => {
                let (size, signed) = int_class(scalar)?;
                match banks.take(Class::Int)? {
                    Part::Int(reg) => Slot::Int { reg, size, signed },
                    Part::Sse(_) => return None,
                }
            }
        };
        slots.push(DirectArg::new(&a.conv, slot));
    }
    let ret = match rtype {
        FfiType::F64 | FfiType::F32 => RetKind::Sse,
        FfiType::LongDouble => return None,
        FfiType::Struct { .. } => {
            let classes = eightbytes(result)?;
            match classes.as_slice() {
                [Class::Int] => RetKind::Int,
                [Class::Sse] => RetKind::Sse,
                [Class::Int, Class::Int] => RetKind::IntInt,
                [Class::Sse, Class::Sse] => RetKind::SseSse,
                [Class::Int, Class::Sse] => RetKind::IntSse,
                [Class::Sse, Class::Int] => RetKind::SseInt,
                _ => return None,
            }
        }
        _ => RetKind::Int,
    };
    Some(DirectCall {
        stub: direct::stub_for(ret),
        ret,
        args: slots.into_boxed_slice(),
    })
}

/// The argument registers handed out so far.
#[derive(Default)]
struct Banks {
    ints: usize,
    sses: usize,
}

impl Banks {
    /// The next register of `class`, if one is left.
    fn take(&mut self, class: Class) -> Option<Part> {
        match class {
            Class::Int if self.ints < direct::INT_REGS => {
                self.ints += 1;
                Some(Part::Int((self.ints - 1) as u8))
            }
            Class::Sse if self.sses < direct::SSE_REGS => {
                self.sses += 1;
                Some(Part::Sse((self.sses - 1) as u8))
            }
            _ => None,
        }
    }
}

/// The register class of one eightbyte, for direct calls.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Int,
    Sse,
}

/// Size and signedness of an integer-class scalar.
fn int_class(t: &FfiType) -> Option<(u8, bool)> {
    Some(match t {
        FfiType::I8 => (1, true),
        FfiType::U8 => (1, false),
        FfiType::I16 => (2, true),
        FfiType::U16 => (2, false),
        FfiType::I32 => (4, true),
        FfiType::U32 => (4, false),
        FfiType::I64 => (8, true),
        FfiType::U64 | FfiType::Pointer => (8, false),
        _ => return None,
    })
}

/// The classes of the eightbytes of a struct passed in registers
/// (INTEGER or SSE only), as the x86-64 psABI classifies them.
#[cfg(all(target_arch = "x86_64", unix))]
fn eightbytes(ty: &TypeRef) -> Option<Vec<Class>> {
    use abi::sysv::Class as C;
    abi::sysv::classify(ty)?
        .into_iter()
        .map(|c| match c {
            C::Integer => Some(Class::Int),
            C::Sse => Some(Class::Sse),
            _ => None,
        })
        .collect()
}

#[cfg(not(all(target_arch = "x86_64", unix)))]
fn eightbytes(_ty: &TypeRef) -> Option<Vec<Class>> {
    None
}

fn int_range(size: usize, signed: bool) -> (i64, i64) {
    match (size, signed) {
        (8, true) => (i64::MIN, i64::MAX),
        (8, false) => (0, i64::MAX),
        (n, true) => {
            let half = 1i64 << (n * 8 - 1);
            (-half, half - 1)
        }
        (n, false) => (0, (1i64 << (n * 8)) - 1),
    }
}

fn arg_conv(ty: &TypeRef) -> ArgConv {
    match &ty.kind {
        Kind::Primitive(_) | Kind::Enum(_) => {
            let Some(p) = ty.storage_primitive() else {
                return ArgConv::Value;
            };
            match p.family {
                PrimFamily::Signed | PrimFamily::Unsigned if p.size <= 8 => {
                    let (lo, hi) = int_range(p.size, p.is_signed());
                    ArgConv::Int {
                        size: p.size,
                        lo,
                        hi,
                    }
                }
                PrimFamily::Float if p.size == 8 => ArgConv::F64,
                PrimFamily::Float if p.size == 4 => ArgConv::F32,
                _ => ArgConv::Value,
            }
        }
        Kind::Pointer(item) => {
            let prim = item.storage_primitive();
            let one_byte = prim.is_some_and(|p| {
                p.size == 1
                    && matches!(
                        p.family,
                        PrimFamily::Char
                            | PrimFamily::Signed
                            | PrimFamily::Unsigned
                            | PrimFamily::Bool
                    )
            });
            ArgConv::Pointer(PointerArg {
                item: item.clone(),
                item_size: item.size().filter(|s| *s > 0 && !item.is_void()),
                takes_bytes: one_byte || item.is_void(),
                bool_items: prim.is_some_and(|p| p.family == PrimFamily::Bool),
                wide_items: prim
                    .is_some_and(|p| matches!(p.family, PrimFamily::Char16 | PrimFamily::Char32)),
                file_items: is_file_type(item),
            })
        }
        Kind::Function(_) => ArgConv::FuncPtr,
        _ => ArgConv::Value,
    }
}

/// `FILE` and `struct _IO_FILE`, which Python file objects convert to.
pub fn is_file_type(t: &TypeRef) -> bool {
    t.is_struct() && matches!(t.cname(), "struct _IO_FILE" | "FILE")
}

fn ret_conv(ty: &TypeRef) -> RetConv {
    match &ty.kind {
        Kind::Void => RetConv::Void,
        Kind::Pointer(_) | Kind::Function(_) => RetConv::Pointer,
        Kind::Struct(_) => RetConv::Struct {
            size: ty.size().unwrap_or(0),
        },
        Kind::Primitive(_) | Kind::Enum(_) => match ty.storage_primitive() {
            Some(p)
                if matches!(p.family, PrimFamily::Signed | PrimFamily::Unsigned) && p.size <= 8 =>
            {
                RetConv::Int {
                    size: p.size,
                    signed: p.is_signed(),
                }
            }
            Some(p) if p.family == PrimFamily::Float && p.size == 8 => RetConv::F64,
            Some(p) if p.family == PrimFamily::Float && p.size == 4 => RetConv::F32,
            _ => RetConv::Value,
        },
        Kind::Array { .. } => RetConv::Value,
    }
}

/// The type a cdata of type `t` is passed as in the variadic part of a
/// call: C's default argument promotions (small integers to `int`,
/// `float` to `double`), arrays decay to pointers.
pub fn promoted_vararg(t: &TypeRef) -> TypeRef {
    match &t.kind {
        Kind::Array { item, .. } => intern::pointer(item),
        Kind::Primitive(_) | Kind::Enum(_) => match t.storage_primitive() {
            Some(p)
                if p.size < size_of::<std::ffi::c_int>()
                    && (p.is_integer() || p.is_char_like()) =>
            {
                intern::prim("int")
            }
            Some(p) if p.family == PrimFamily::Float && p.size == 4 => intern::prim("double"),
            _ => t.clone(),
        },
        _ => t.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::intern::{function, pointer, prim};

    #[test]
    fn plans_are_cached_per_type() {
        let f = function(vec![prim("int"), prim("double")], &prim("long"), false, 2);
        let a = plan_of(&f) as *const TypePlan;
        let b = plan_of(&f) as *const TypePlan;
        assert_eq!(a, b);
        let TypePlan::Fixed(p) = plan_of(&f) else {
            panic!("no plan");
        };
        assert!(matches!(p.args[0].conv, ArgConv::Int { size: 4, .. }));
        assert!(matches!(p.args[1].conv, ArgConv::F64));
        assert_eq!(
            p.ret,
            RetConv::Int {
                size: 8,
                signed: true
            }
        );
    }

    #[test]
    fn complex_results_fail() {
        let f = function(vec![], &prim("double _Complex"), false, 2);
        assert!(matches!(plan_of(&f), TypePlan::Failed(_)));
    }

    #[test]
    fn promotions() {
        assert!(Arc::ptr_eq(&promoted_vararg(&prim("short")), &prim("int")));
        assert!(Arc::ptr_eq(
            &promoted_vararg(&prim("float")),
            &prim("double")
        ));
        assert!(Arc::ptr_eq(&promoted_vararg(&prim("long")), &prim("long")));
        let p = pointer(&prim("char"));
        assert!(Arc::ptr_eq(&promoted_vararg(&p), &p));
    }

    #[test]
    fn variadic_plans_are_cached() {
        // A signature of its own: tests run in parallel and share the
        // interned types (and so their small plan caches).
        let f = function(
            vec![prim("uint16_t"), prim("int8_t")],
            &prim("uint64_t"),
            true,
            2,
        );
        let TypePlan::Variadic(v) = plan_of(&f) else {
            panic!("not variadic");
        };
        let a = v.plan_for(&[prim("int")]).unwrap();
        let b = v.plan_for(&[prim("int")]).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[cfg(all(target_arch = "x86_64", unix))]
    #[test]
    fn direct_plans_sort_arguments_into_register_banks() {
        let f = function(
            vec![
                prim("float"),
                prim("int"),
                pointer(&prim("char")),
                prim("double"),
                prim("short"),
            ],
            &prim("double"),
            false,
            2,
        );
        let TypePlan::Fixed(p) = plan_of(&f) else {
            panic!("no plan");
        };
        let Invoker::Direct(d) = &p.invoker else {
            panic!("not direct: {:?}", p.invoker);
        };
        assert_eq!(d.ret, RetKind::Sse);
        let slots: Vec<Slot> = d.args.iter().map(DirectArg::slot).collect();
        assert_eq!(
            slots,
            vec![
                Slot::F32(0),
                Slot::Int {
                    reg: 0,
                    size: 4,
                    signed: true
                },
                Slot::Int {
                    reg: 1,
                    size: 8,
                    signed: false
                },
                Slot::F64(1),
                Slot::Int {
                    reg: 2,
                    size: 2,
                    signed: true
                },
            ]
        );
    }

    #[cfg(all(target_arch = "x86_64", unix))]
    #[test]
    fn stack_arguments_and_long_double_stay_with_libffi() {
        let seven = function(vec![prim("int"); 7], &prim("int"), false, 2);
        let nine = function(
            vec![prim("double"); 9],
            &crate::types::intern::void(),
            false,
            2,
        );
        let six_and_eight = {
            let mut a = vec![prim("long"); 6];
            a.extend(vec![prim("float"); 8]);
            function(a, &crate::types::intern::void(), false, 2)
        };
        let ld = function(vec![prim("long double")], &prim("int"), false, 2);
        for (f, direct) in [
            (seven, false),
            (nine, false),
            (six_and_eight, true),
            (ld, false),
        ] {
            let TypePlan::Fixed(p) = plan_of(&f) else {
                panic!("no plan");
            };
            assert_eq!(
                matches!(p.invoker, Invoker::Direct(_)),
                direct,
                "{}",
                f.cname()
            );
        }
        let v = function(vec![prim("int")], &prim("int"), true, 2);
        let TypePlan::Variadic(v) = plan_of(&v) else {
            panic!("not variadic");
        };
        let p = v.plan_for(&[prim("int")]).unwrap();
        assert!(matches!(p.invoker, Invoker::Libffi(_)));
    }
}
