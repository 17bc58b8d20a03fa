//! A checked view of one module's tables (see [`format`](super::format)).
//!
//! The tables are cffi's `_cffi_type_context_s`: six arrays and their
//! counts, written by a C compiler (compiled modules, static for the life
//! of the process) or built from the data of an out-of-line module
//! ([`OwnedTables`]).  Every index read from a table is checked against
//! the size of the table it indexes before it is used, and every name is
//! checked for NULL and UTF-8: a bad table is an [`Error`] naming the
//! module, the table, the entry and what is wrong, never a crash.
//!
//! [`Tables::check`] runs at import over the integers of every table (no
//! string is read, nothing is realised): opcodes, indices, counts.  What
//! it cannot see without reading names is checked at first use.
//!
//! The format gives no count for `fields`; its length is taken as the
//! largest `first_field_index + num_fields` of the struct table.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::format::{self, Enum, Field, GetConst, Global, Opcode, StructUnion, TypeContext, op};
use crate::errors::Error;

/// A global entry, decoded.
#[derive(Clone, Copy, Debug)]
pub struct GlobalEntry<'a> {
    pub name: &'a str,
    pub address: *mut c_void,
    pub op: u8,
    /// The argument of the type opcode: a type index (or -1).
    pub arg: isize,
    pub size_or_direct_fn: *mut c_void,
}

/// A struct or union entry, decoded.
#[derive(Clone, Debug)]
pub struct StructEntry<'a> {
    pub name: &'a str,
    pub type_index: usize,
    pub flags: i32,
    /// `usize::MAX - 1` (`(size_t)-2`): to be computed from the fields;
    /// `usize::MAX`: unknown (opaque, external).
    pub size: usize,
    /// -1: unknown; -2: to be computed.
    pub alignment: i32,
    /// The range of its fields in the field table.
    pub fields: std::ops::Range<usize>,
}

/// A field entry, decoded.
#[derive(Clone, Copy, Debug)]
pub struct FieldEntry<'a> {
    pub name: &'a str,
    /// `usize::MAX`: not given.
    pub offset: usize,
    /// The size in bytes, or the width of a bitfield; `usize::MAX`: not given.
    pub size: usize,
    /// `NOOP` or `BITFIELD`.
    pub op: u8,
    pub type_index: usize,
}

/// An enum entry, decoded.
#[derive(Clone, Copy, Debug)]
pub struct EnumEntry<'a> {
    pub name: &'a str,
    pub type_index: usize,
    pub type_prim: i32,
    pub enumerators: &'a str,
}

/// The storage of tables built in memory (out-of-line modules): the
/// arrays a [`TypeContext`] points to, and the values of the integer
/// constants (which compiled modules compute with a C function).
#[derive(Default)]
pub struct OwnedTables {
    pub types: Vec<Opcode>,
    pub globals: Vec<Global>,
    /// `(value, neg)` per global, as `_cffi_getconst_s` gives it (only
    /// read for `CONSTANT_INT` and `ENUM` globals).
    pub int_values: Vec<(u64, c_int)>,
    pub fields: Vec<Field>,
    pub struct_unions: Vec<StructUnion>,
    pub enums: Vec<Enum>,
    pub typenames: Vec<format::Typename>,
    pub includes: Vec<String>,
    /// The strings the entries point to.
    pub strings: Vec<std::ffi::CString>,
}

/// One module's tables.
pub struct Tables {
    module: String,
    ctx: TypeContext,
    /// The address of the compiled module's context (0 for owned tables).
    ctx_addr: usize,
    owned: Option<Box<OwnedTables>>,
    num_fields: usize,
}

// SAFETY: the tables are read-only except the `types` slots, which are
// only read and written atomically (`slot`, `write_slot`); a compiled
// module's tables live for the whole process, owned tables as long as
// this value.
unsafe impl Send for Tables {}
// SAFETY: as above.
unsafe impl Sync for Tables {}

fn count(module: &str, what: &str, n: c_int) -> Result<usize, Error> {
    usize::try_from(n).map_err(|_| {
        Error::ffi(format!(
            "module '{module}': negative number of {what} ({n})"
        ))
    })
}

impl Tables {
    /// The tables of a compiled module.
    ///
    /// # Safety
    /// `ctx` must point to a `_cffi_type_context_s` whose arrays hold at
    /// least the number of entries its counts say, whose strings are
    /// NUL-terminated, and which all live (unmoved) for the rest of the
    /// process — what a compiled cffi module's static data is.
    pub unsafe fn from_static(module: &str, ctx: *const TypeContext) -> Result<Tables, Error> {
        if ctx.is_null() {
            return Err(Error::ffi(format!(
                "module '{module}': its type context is NULL"
            )));
        }
        // SAFETY: non-null and valid by the caller's guarantee.
        let c = unsafe { std::ptr::read(ctx) };
        Tables::new(module, c, ctx as usize, None)
    }

    /// Tables built in memory.
    pub fn from_owned(module: &str, owned: OwnedTables) -> Result<Tables, Error> {
        let mut owned = Box::new(owned);
        let n = |len: usize, what: &str| {
            c_int::try_from(len)
                .map_err(|_| Error::ffi(format!("module '{module}': too many {what}")))
        };
        let ptr_or_null = |p: *const u8, len: usize| if len == 0 { std::ptr::null() } else { p };
        let ctx = TypeContext {
            types: if owned.types.is_empty() {
                std::ptr::null_mut()
            } else {
                owned.types.as_mut_ptr()
            },
            globals: ptr_or_null(owned.globals.as_ptr().cast(), owned.globals.len()).cast(),
            fields: ptr_or_null(owned.fields.as_ptr().cast(), owned.fields.len()).cast(),
            struct_unions: ptr_or_null(
                owned.struct_unions.as_ptr().cast(),
                owned.struct_unions.len(),
            )
            .cast(),
            enums: ptr_or_null(owned.enums.as_ptr().cast(), owned.enums.len()).cast(),
            typenames: ptr_or_null(owned.typenames.as_ptr().cast(), owned.typenames.len()).cast(),
            num_globals: n(owned.globals.len(), "globals")?,
            num_struct_unions: n(owned.struct_unions.len(), "structs")?,
            num_enums: n(owned.enums.len(), "enums")?,
            num_typenames: n(owned.typenames.len(), "typenames")?,
            includes: std::ptr::null(),
            num_types: n(owned.types.len(), "types")?,
            flags: 0,
        };
        if owned.int_values.len() < owned.globals.len() {
            owned.int_values.resize(owned.globals.len(), (0, 0));
        }
        Tables::new(module, ctx, 0, Some(owned))
    }

    fn new(
        module: &str,
        ctx: TypeContext,
        ctx_addr: usize,
        owned: Option<Box<OwnedTables>>,
    ) -> Result<Tables, Error> {
        let checks = [
            ("types", ctx.num_types, ctx.types.is_null()),
            ("globals", ctx.num_globals, ctx.globals.is_null()),
            (
                "struct_unions",
                ctx.num_struct_unions,
                ctx.struct_unions.is_null(),
            ),
            ("enums", ctx.num_enums, ctx.enums.is_null()),
            ("typenames", ctx.num_typenames, ctx.typenames.is_null()),
        ];
        for (what, n, null) in checks {
            if count(module, what, n)? > 0 && null {
                return Err(Error::ffi(format!(
                    "module '{module}': the table '{what}' has {n} entries but is NULL"
                )));
            }
        }
        let mut t = Tables {
            module: module.to_owned(),
            ctx,
            ctx_addr,
            owned,
            num_fields: 0,
        };
        t.num_fields = t.field_table_len()?;
        Ok(t)
    }

    /// The module's name (for messages).
    pub fn module(&self) -> &str {
        &self.module
    }

    /// The address of a compiled module's context (0 for owned tables).
    pub fn ctx_addr(&self) -> usize {
        self.ctx_addr
    }

    /// The context's flags (`CTX_USES_EXTERN_PYTHON`).
    pub fn flags(&self) -> c_int {
        self.ctx.flags
    }

    pub fn num_types(&self) -> usize {
        self.ctx.num_types as usize
    }

    pub fn num_globals(&self) -> usize {
        self.ctx.num_globals as usize
    }

    pub fn num_struct_unions(&self) -> usize {
        self.ctx.num_struct_unions as usize
    }

    pub fn num_enums(&self) -> usize {
        self.ctx.num_enums as usize
    }

    pub fn num_typenames(&self) -> usize {
        self.ctx.num_typenames as usize
    }

    /// An error about this module.
    pub fn error(&self, what: impl std::fmt::Display) -> Error {
        Error::ffi(format!("module '{}': {what}", self.module))
    }

    fn index(&self, table: &str, i: isize, len: usize) -> Result<usize, Error> {
        in_range(table, i, len).map_err(|why| self.error(why))
    }

    /// Checks that the type index of entry `k` of `table` is in range
    /// (for [`Tables::check`]).
    fn check_index(&self, table: &str, k: usize, i: isize) -> Result<(), Error> {
        in_range("types", i, self.num_types())
            .map(drop)
            .map_err(|why| self.error(format_args!("{table}[{k}]: {why}")))
    }

    /// A type index, checked.
    pub fn type_index(&self, i: isize) -> Result<usize, Error> {
        self.index("types", i, self.num_types())
    }

    /// The raw value of slot `i` of `types`: an opcode (odd), or a value
    /// written back with [`Tables::write_slot`] (even).
    pub fn slot(&self, i: usize) -> Result<Opcode, Error> {
        let i = self.type_index(i as isize)?;
        // SAFETY: i < num_types, the length of `types` (checked at
        // creation); slots are read atomically (they may be written back
        // by another thread), and AtomicUsize has the layout of usize.
        Ok(unsafe { (*(self.ctx.types.add(i) as *const AtomicUsize)).load(Ordering::Acquire) })
    }

    /// Writes `value` (an even address: a realised type object) into slot
    /// `i` of `types`, where cffi's generated C wrappers read it.
    pub fn write_slot(&self, i: usize, value: usize) -> Result<(), Error> {
        let i = self.type_index(i as isize)?;
        if value & 1 != 0 {
            return Err(self.error(format_args!(
                "cannot store the odd value {value:#x} in types[{i}]"
            )));
        }
        // SAFETY: as in `slot`.
        unsafe { (*(self.ctx.types.add(i) as *const AtomicUsize)).store(value, Ordering::Release) };
        Ok(())
    }

    fn name_at(&self, p: *const c_char, table: &str, i: usize) -> Result<&str, Error> {
        if p.is_null() {
            return Err(self.error(format_args!("{table}[{i}] has a NULL name")));
        }
        // SAFETY: a non-null name of a table entry points to a
        // NUL-terminated string living as long as the tables (the
        // caller's guarantee of `from_static`, or the owned strings).
        let c = unsafe { CStr::from_ptr(p) };
        c.to_str()
            .map_err(|_| self.error(format_args!("the name of {table}[{i}] is not UTF-8")))
    }

    /// The arrays as slices of the lengths the counts say (validated at
    /// creation: non-NULL when not empty).
    fn slice<T>(&self, p: *const T, n: usize) -> &[T] {
        if n == 0 {
            return &[];
        }
        // SAFETY: `p` points to `n` entries living as long as the tables
        // (the guarantee of `from_static`, or the owned vectors).
        unsafe { std::slice::from_raw_parts(p, n) }
    }

    fn types_slice(&self) -> &[AtomicUsize] {
        // AtomicUsize has the layout of usize (see `slot`).
        self.slice(self.ctx.types as *const AtomicUsize, self.num_types())
    }

    fn raw_global(&self, i: usize) -> &Global {
        // SAFETY: callers check i < num_globals, the length of `globals`.
        unsafe { &*self.ctx.globals.add(i) }
    }

    fn raw_struct(&self, i: usize) -> &StructUnion {
        // SAFETY: callers check i < num_struct_unions.
        unsafe { &*self.ctx.struct_unions.add(i) }
    }

    fn raw_field(&self, i: usize) -> &Field {
        // SAFETY: callers check i < num_fields (the field table's length).
        unsafe { &*self.ctx.fields.add(i) }
    }

    fn raw_enum(&self, i: usize) -> &Enum {
        // SAFETY: callers check i < num_enums.
        unsafe { &*self.ctx.enums.add(i) }
    }

    fn raw_typename(&self, i: usize) -> &format::Typename {
        // SAFETY: callers check i < num_typenames.
        unsafe { &*self.ctx.typenames.add(i) }
    }

    /// Global `i`.
    pub fn global(&self, i: usize) -> Result<GlobalEntry<'_>, Error> {
        let i = self.index("globals", i as isize, self.num_globals())?;
        let g = self.raw_global(i);
        Ok(GlobalEntry {
            name: self.name_at(g.name, "globals", i)?,
            address: g.address,
            op: format::get_op(g.type_op),
            arg: format::get_arg(g.type_op),
            size_or_direct_fn: g.size_or_direct_fn,
        })
    }

    /// Struct or union `i`.
    pub fn struct_union(&self, i: usize) -> Result<StructEntry<'_>, Error> {
        let i = self.index("struct_unions", i as isize, self.num_struct_unions())?;
        let s = self.raw_struct(i);
        let fields = self.field_range(s, i)?;
        Ok(StructEntry {
            name: self.name_at(s.name, "struct_unions", i)?,
            type_index: self.type_index(s.type_index as isize)?,
            flags: s.flags,
            size: s.size,
            alignment: s.alignment,
            fields,
        })
    }

    fn field_range(&self, s: &StructUnion, i: usize) -> Result<std::ops::Range<usize>, Error> {
        let opaque = s.flags & (format::sflags::OPAQUE | format::sflags::EXTERNAL) != 0;
        if opaque || s.num_fields == 0 {
            return Ok(0..0);
        }
        match (
            usize::try_from(s.first_field_index),
            usize::try_from(s.num_fields),
        ) {
            (Ok(first), Ok(n)) if first.checked_add(n).is_some() => Ok(first..first + n),
            _ => Err(self.error(format_args!(
                "struct_unions[{i}] has bad fields ({} from {})",
                s.num_fields, s.first_field_index
            ))),
        }
    }

    /// The length of the field table: the end of the last struct's fields.
    fn field_table_len(&self) -> Result<usize, Error> {
        let mut end = 0;
        for i in 0..self.num_struct_unions() {
            end = end.max(self.field_range(self.raw_struct(i), i)?.end);
        }
        if end > 0 && self.ctx.fields.is_null() {
            return Err(self.error("the table 'fields' is NULL but structs have fields"));
        }
        Ok(end)
    }

    /// Field `i` of the field table.
    pub fn field(&self, i: usize) -> Result<FieldEntry<'_>, Error> {
        let i = self.index("fields", i as isize, self.num_fields)?;
        let f = self.raw_field(i);
        let op = format::get_op(f.field_type_op);
        if op != op::NOOP && op != op::BITFIELD {
            return Err(self.error(format_args!(
                "fields[{i}] has the opcode {op} (expected NOOP or BITFIELD)"
            )));
        }
        Ok(FieldEntry {
            name: self.name_at(f.name, "fields", i)?,
            offset: f.field_offset,
            size: f.field_size,
            op,
            type_index: self.type_index(format::get_arg(f.field_type_op))?,
        })
    }

    /// Enum `i`.
    pub fn enum_entry(&self, i: usize) -> Result<EnumEntry<'_>, Error> {
        let i = self.index("enums", i as isize, self.num_enums())?;
        let e = self.raw_enum(i);
        if e.enumerators.is_null() {
            return Err(self.error(format_args!("enums[{i}] has NULL enumerators")));
        }
        Ok(EnumEntry {
            name: self.name_at(e.name, "enums", i)?,
            type_index: self.type_index(e.type_index as isize)?,
            type_prim: e.type_prim,
            enumerators: self.name_at(e.enumerators, "enums", i)?,
        })
    }

    /// Typename `i`: its name and type index.
    pub fn typename(&self, i: usize) -> Result<(&str, usize), Error> {
        let i = self.index("typenames", i as isize, self.num_typenames())?;
        let t = self.raw_typename(i);
        Ok((
            self.name_at(t.name, "typenames", i)?,
            self.type_index(t.type_index as isize)?,
        ))
    }

    /// The names of the modules this one includes.
    pub fn includes(&self) -> Result<Vec<String>, Error> {
        if let Some(o) = &self.owned {
            return Ok(o.includes.clone());
        }
        let mut out = Vec::new();
        if self.ctx.includes.is_null() {
            return Ok(out);
        }
        for i in 0.. {
            if i > 10_000 {
                return Err(self.error("the table 'includes' has no end"));
            }
            // SAFETY: `includes` is a NULL-terminated array of strings
            // (the caller's guarantee of `from_static`); we stop at NULL.
            let p = unsafe { *self.ctx.includes.add(i) };
            if p.is_null() {
                break;
            }
            out.push(self.name_at(p, "includes", i)?.to_owned());
        }
        Ok(out)
    }

    /// Binary search of `name` in a table sorted by name.
    fn search(
        &self,
        len: usize,
        name_of: impl Fn(usize) -> *const c_char,
        name: &str,
    ) -> Option<usize> {
        let (mut lo, mut hi) = (0, len);
        let key = name.as_bytes();
        while lo < hi {
            let mid = (lo + hi) / 2;
            let p = name_of(mid);
            if p.is_null() {
                return None;
            }
            // SAFETY: a non-null name of an entry is a NUL-terminated
            // string living as long as the tables.
            let here = unsafe { CStr::from_ptr(p) }.to_bytes();
            match here.cmp(key) {
                std::cmp::Ordering::Equal => return Some(mid),
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Less => lo = mid + 1,
            }
        }
        None
    }

    pub fn search_global(&self, name: &str) -> Option<usize> {
        self.search(self.num_globals(), |i| self.raw_global(i).name, name)
    }

    pub fn search_struct_union(&self, name: &str) -> Option<usize> {
        self.search(self.num_struct_unions(), |i| self.raw_struct(i).name, name)
    }

    pub fn search_enum(&self, name: &str) -> Option<usize> {
        self.search(self.num_enums(), |i| self.raw_enum(i).name, name)
    }

    pub fn search_typename(&self, name: &str) -> Option<usize> {
        self.search(self.num_typenames(), |i| self.raw_typename(i).name, name)
    }

    /// The `(value, neg)` of the integer constant global `i`, as its
    /// function says (`neg`: 0 unsigned, 1 signed, other: a disagreement
    /// between the cdef and the compiler).
    pub fn int_constant(&self, i: usize) -> Result<(u64, c_int), Error> {
        let g = self.global(i)?;
        if g.op != op::CONSTANT_INT && g.op != op::ENUM {
            return Err(self.error(format_args!(
                "global '{}' is not an integer constant",
                g.name
            )));
        }
        if let Some(o) = &self.owned {
            return Ok(o.int_values[i]);
        }
        if g.address.is_null() {
            return Err(self.error(format_args!(
                "the integer constant '{}' has no function",
                g.name
            )));
        }
        let mut gc = GetConst {
            value: 0,
            ctx: self.ctx_addr as *const TypeContext,
            gindex: i as c_int,
        };
        // SAFETY: the address of a compiled module's integer constant is
        // its `int f(struct _cffi_getconst_s *)` (cffi's convention), which
        // only writes `value`.
        let neg = unsafe {
            let f: unsafe extern "C" fn(*mut GetConst) -> c_int = std::mem::transmute(g.address);
            f(&mut gc)
        };
        Ok((gc.value, neg))
    }

    /// Checks the integers of every table: opcodes, indices, counts (see
    /// the module documentation).
    pub fn check(&self) -> Result<(), Error> {
        self.check_types()?;
        let n = self.num_types();
        let globals = self.slice(self.ctx.globals, self.num_globals());
        for (i, g) in globals.iter().enumerate() {
            self.check_global(i, g, n)?;
        }
        let structs = self.slice(self.ctx.struct_unions, self.num_struct_unions());
        let fields = self.slice(self.ctx.fields, self.num_fields);
        for (i, s) in structs.iter().enumerate() {
            if !fits(s.type_index as isize, n) {
                self.check_index("struct_unions", i, s.type_index as isize)?;
            }
            let range = self.field_range(s, i)?;
            for (f, fe) in fields[range.clone()].iter().enumerate() {
                let op = format::get_op(fe.field_type_op);
                let arg = format::get_arg(fe.field_type_op);
                if op != op::NOOP && op != op::BITFIELD {
                    return Err(self.error(format_args!(
                        "fields[{}] has the unknown field opcode {op}",
                        range.start + f
                    )));
                }
                if !fits(arg, n) {
                    self.check_index("fields", range.start + f, arg)?;
                }
            }
        }
        for (i, e) in self
            .slice(self.ctx.enums, self.num_enums())
            .iter()
            .enumerate()
        {
            if !fits(e.type_index as isize, n) {
                self.check_index("enums", i, e.type_index as isize)?;
            }
            if format::prim::name(e.type_prim).is_none() {
                return Err(self.error(format_args!(
                    "enums[{i}] has the unknown primitive number {}",
                    e.type_prim
                )));
            }
        }
        let typenames = self.slice(self.ctx.typenames, self.num_typenames());
        for (i, t) in typenames.iter().enumerate() {
            if !fits(t.type_index as isize, n) {
                self.check_index("typenames", i, t.type_index as isize)?;
            }
        }
        Ok(())
    }

    fn check_types(&self) -> Result<(), Error> {
        let types = self.types_slice();
        let n = types.len();
        // The slot of the FUNCTION whose arguments are being read.
        let mut in_function: Option<usize> = None;
        let mut i = 0;
        while i < n {
            let x = types[i].load(Ordering::Acquire);
            if !format::is_opcode(x) {
                return Err(self.error(format_args!("types[{i}] holds {x:#x}, which is no opcode")));
            }
            let (code, arg) = (format::get_op(x), format::get_arg(x));
            let bad = |what: &str| {
                self.error(format_args!(
                    "types[{i}]: opcode {} has the bad argument {arg} ({what})",
                    op_name(code)
                ))
            };
            match code {
                op::PRIMITIVE => {
                    // 0..NUM, or one of the three "unknown" numbers.
                    let known = (format::prim::UNKNOWN_LONG_DOUBLE as isize
                        ..format::prim::NUM as isize)
                        .contains(&arg);
                    if !known {
                        return Err(bad("no primitive has this number"));
                    }
                }
                op::POINTER | op::NOOP | op::OPEN_ARRAY | op::FUNCTION => {
                    if !fits(arg, n) {
                        return Err(bad(&in_range("types", arg, n).err().unwrap_or_default()));
                    }
                }
                op::ARRAY => {
                    if !fits(arg, n) {
                        return Err(bad(&in_range("types", arg, n).err().unwrap_or_default()));
                    }
                    if i + 1 >= n {
                        return Err(self.error(format_args!(
                            "types[{i}]: ARRAY has no length slot (truncated table?)"
                        )));
                    }
                    // The next slot is the length, not an opcode.
                    i += 1;
                }
                op::STRUCT_UNION => {
                    if arg != format::IO_FILE_STRUCT as isize
                        && !fits(arg, self.num_struct_unions())
                    {
                        return Err(bad(&in_range(
                            "struct_unions",
                            arg,
                            self.num_struct_unions(),
                        )
                        .err()
                        .unwrap_or_default()));
                    }
                }
                op::ENUM => {
                    if !fits(arg, self.num_enums()) {
                        return Err(bad(&in_range("enums", arg, self.num_enums())
                            .err()
                            .unwrap_or_default()));
                    }
                }
                op::TYPENAME => {
                    if !fits(arg, self.num_typenames()) {
                        return Err(bad(&in_range("typenames", arg, self.num_typenames())
                            .err()
                            .unwrap_or_default()));
                    }
                }
                op::FUNCTION_END => {
                    if in_function.take().is_none() {
                        return Err(
                            self.error(format_args!("types[{i}]: FUNCTION_END without a FUNCTION"))
                        );
                    }
                }
                op::BITFIELD
                | op::CPYTHON_BLTN_V
                | op::CPYTHON_BLTN_N
                | op::CPYTHON_BLTN_O
                | op::CONSTANT
                | op::CONSTANT_INT
                | op::GLOBAL_VAR
                | op::DLOPEN_FUNC
                | op::DLOPEN_CONST
                | op::GLOBAL_VAR_F
                | op::EXTERN_PYTHON => {
                    return Err(self.error(format_args!(
                        "types[{i}]: opcode {} does not belong in the type table",
                        op_name(code)
                    )));
                }
                _ => {
                    return Err(self.error(format_args!("types[{i}]: unknown opcode {code}")));
                }
            }
            if code == op::FUNCTION {
                if let Some(f) = in_function {
                    return Err(self.error(format_args!(
                        "types[{i}]: FUNCTION inside the arguments of the FUNCTION at types[{f}]"
                    )));
                }
                in_function = Some(i);
            }
            i += 1;
        }
        if let Some(f) = in_function {
            return Err(self.error(format_args!(
                "the FUNCTION at types[{f}] has no FUNCTION_END (truncated table?)"
            )));
        }
        Ok(())
    }

    #[inline]
    fn check_global(&self, i: usize, g: &Global, n: usize) -> Result<(), Error> {
        let (code, arg) = (format::get_op(g.type_op), format::get_arg(g.type_op));
        if g.name.is_null() {
            return Err(self.error(format_args!("globals[{i}] has a NULL name")));
        }
        let needs_address = match code {
            op::CPYTHON_BLTN_V
            | op::CPYTHON_BLTN_N
            | op::CPYTHON_BLTN_O
            | op::GLOBAL_VAR_F
            | op::EXTERN_PYTHON
            | op::CONSTANT => true,
            op::CONSTANT_INT | op::ENUM => self.owned.is_none(),
            op::GLOBAL_VAR | op::DLOPEN_FUNC | op::DLOPEN_CONST => false,
            _ => {
                return Err(self.error(format_args!("globals[{i}]: unknown global opcode {code}")));
            }
        };
        if needs_address && g.address.is_null() {
            return Err(self.error(format_args!(
                "globals[{i}] ({}) has a NULL address",
                op_name(code)
            )));
        }
        if code != op::CONSTANT_INT && code != op::ENUM && !fits(arg, n) {
            self.check_index("globals", i, arg)?;
        }
        Ok(())
    }
}

/// Whether `i` indexes a table of `len` entries.
#[inline]
fn fits(i: isize, len: usize) -> bool {
    usize::try_from(i).is_ok_and(|u| u < len)
}

fn in_range(table: &str, i: isize, len: usize) -> Result<usize, String> {
    match usize::try_from(i) {
        Ok(u) if u < len => Ok(u),
        _ => Err(format!(
            "index {i} out of range of the table '{table}' ({len} entries)"
        )),
    }
}

/// The name of an opcode, for messages.
pub fn op_name(code: u8) -> String {
    let name = match code {
        op::PRIMITIVE => "PRIMITIVE",
        op::POINTER => "POINTER",
        op::ARRAY => "ARRAY",
        op::OPEN_ARRAY => "OPEN_ARRAY",
        op::STRUCT_UNION => "STRUCT_UNION",
        op::ENUM => "ENUM",
        op::FUNCTION => "FUNCTION",
        op::FUNCTION_END => "FUNCTION_END",
        op::NOOP => "NOOP",
        op::BITFIELD => "BITFIELD",
        op::TYPENAME => "TYPENAME",
        op::CPYTHON_BLTN_V => "CPYTHON_BLTN_V",
        op::CPYTHON_BLTN_N => "CPYTHON_BLTN_N",
        op::CPYTHON_BLTN_O => "CPYTHON_BLTN_O",
        op::CONSTANT => "CONSTANT",
        op::CONSTANT_INT => "CONSTANT_INT",
        op::GLOBAL_VAR => "GLOBAL_VAR",
        op::DLOPEN_FUNC => "DLOPEN_FUNC",
        op::DLOPEN_CONST => "DLOPEN_CONST",
        op::GLOBAL_VAR_F => "GLOBAL_VAR_F",
        op::EXTERN_PYTHON => "EXTERN_PYTHON",
        other => return format!("#{other}"),
    };
    name.to_owned()
}
