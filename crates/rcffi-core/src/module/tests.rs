//! Tables written by hand in the out-of-line byte format, read back.

use std::sync::Arc;

use super::format::{make_op, op, prim, sflags};
use super::outofline::{StructDesc, decode};
use super::realize::{ModuleTypes, Realised};
use crate::errors::{Error, ErrorKind};
use crate::frontend::Declarations;
use crate::frontend::namespace::{Namespace, TagKind};

fn be(x: usize) -> [u8; 4] {
    (x as u32).to_be_bytes()
}

fn types(ops: &[usize]) -> Vec<u8> {
    ops.iter().flat_map(|&o| be(o)).collect()
}

fn entry(nums: &[i32], name: &str) -> Vec<u8> {
    let mut v: Vec<u8> = nums.iter().flat_map(|n| n.to_be_bytes()).collect();
    v.extend_from_slice(name.as_bytes());
    v
}

struct Module {
    types: Vec<usize>,
    globals: Vec<(Vec<u8>, i128)>,
    structs: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
    enums: Vec<Vec<u8>>,
    typenames: Vec<Vec<u8>>,
}

impl Module {
    fn load(&self) -> Result<Arc<ModuleTypes>, Error> {
        let g: Vec<(&[u8], i128)> = self.globals.iter().map(|(b, v)| (&b[..], *v)).collect();
        let s: Vec<StructDesc<'_>> = self
            .structs
            .iter()
            .map(|(h, f)| StructDesc {
                head: h,
                fields: f.iter().map(|x| &x[..]).collect(),
            })
            .collect();
        let e: Vec<&[u8]> = self.enums.iter().map(|x| &x[..]).collect();
        let t: Vec<&[u8]> = self.typenames.iter().map(|x| &x[..]).collect();
        let owned = decode("_test", &types(&self.types), &g, &s, &e, &t)?;
        super::load_owned("_test", owned)
    }
}

/// `struct point { int x; long y; }; typedef struct point point_t;`
/// `enum color { RED, GREEN=5 };  #define N 3  int add(int, int);`
fn sample() -> Module {
    let p = |o, a| make_op(o, a);
    Module {
        types: vec![
            p(op::FUNCTION, 2),                   // 0: int(int, int)
            p(op::PRIMITIVE, prim::INT as _),     // 1
            p(op::PRIMITIVE, prim::INT as _),     // 2
            p(op::FUNCTION_END, 0),               // 3
            p(op::STRUCT_UNION, 0),               // 4: struct point
            p(op::PRIMITIVE, prim::LONG as _),    // 5
            p(op::POINTER, 4),                    // 6: struct point *
            p(op::ENUM, 0),                       // 7: enum color
            p(op::ARRAY, 2),                      // 8: int[3]
            3,                                    // 9: its length
            p(op::PRIMITIVE, prim::UNKNOWN as _), // 10: typedef int... odd_t
            p(op::POINTER, 0),                    // 11: int(*)(int, int)
        ],
        globals: vec![
            (entry(&[p(op::ENUM, -1) as i32], "GREEN"), 5),
            (entry(&[p(op::CONSTANT_INT, -1) as i32], "N"), 3),
            (entry(&[p(op::ENUM, -1) as i32], "RED"), 0),
            (entry(&[p(op::DLOPEN_FUNC, 0) as i32], "add"), 0),
        ],
        structs: vec![(
            entry(&[4, 0], "point"),
            vec![
                entry(&[p(op::NOOP, 2) as i32], "x"),
                entry(&[p(op::NOOP, 5) as i32], "y"),
            ],
        )],
        enums: vec![entry(&[7, prim::UINT], "color\0RED,GREEN")],
        typenames: vec![
            entry(&[11], "add_fn"),
            entry(&[0], "fn_t"),
            entry(&[10], "odd_t"),
            entry(&[4], "point_t"),
        ],
    }
}

#[test]
fn realises_lazily_and_caches() {
    let m = sample().load().unwrap();
    assert!(m.realised(4).is_none());
    let t = m.realise_type(6).unwrap();
    assert_eq!(t.cname(), "struct point *");
    assert!(Arc::ptr_eq(&m.realise_type(6).unwrap(), &t));
    let st = m.realise_type(4).unwrap();
    assert!(Arc::ptr_eq(t.item().unwrap(), &st));
    assert_eq!(st.size(), Some(16));
    let l = st.struct_info().unwrap().layout().unwrap();
    assert_eq!(l.field("y").unwrap().offset, 8);
    assert_eq!(m.realise_type(8).unwrap().cname(), "int[3]");
    match m.realise(0).unwrap() {
        Realised::Function(f) => assert_eq!(f.cname(), "int(*)(int, int)"),
        other => panic!("{other:?}"),
    }
    let e = m.realise_type(7).unwrap();
    let Some(info) = (match &e.kind {
        crate::types::Kind::Enum(info) => Some(info),
        _ => None,
    }) else {
        panic!("not an enum")
    };
    assert_eq!(e.cname(), "enum color");
    assert_eq!(info.items, vec![("RED".into(), 0), ("GREEN".into(), 5)]);
}

#[test]
fn function_slots_are_not_plain_types() {
    let m = sample().load().unwrap();
    let e = m.realise_type(0).unwrap_err();
    assert_eq!(
        e.message,
        "the type 'int(int, int)' is a function type, not a pointer-to-function type"
    );
    let e = m.realise_type(10).unwrap_err();
    assert!(
        e.message
            .starts_with("primitive integer type with an unexpected size")
    );
}

#[test]
fn namespace_answers_type_strings() {
    let m = sample().load().unwrap();
    let mut d = Declarations::new();
    d.namespaces.push(m.clone());
    assert_eq!(d.parse_type("point_t *").unwrap().cname(), "struct point *");
    assert_eq!(
        d.parse_type("struct point[N]").unwrap().cname(),
        "struct point[3]"
    );
    assert_eq!(d.parse_type("enum color").unwrap().cname(), "enum color");
    assert_eq!(d.parse_type("add_fn").unwrap().cname(), "int(*)(int, int)");
    assert_eq!(d.parse_type("fn_t *").unwrap().cname(), "int(*)(int, int)");
    let e = d.parse_type("fn_t").unwrap_err();
    assert!(e.message.contains("is a function type"), "{}", e.message);
    let e = d.parse_type("struct nope *").unwrap_err();
    assert!(
        e.message.contains("undefined struct/union name"),
        "{}",
        e.message
    );
    let e = d.parse_type("union point").unwrap_err();
    assert!(e.message.contains("wrong kind of tag"), "{}", e.message);
    let e = d.parse_type("enum nope").unwrap_err();
    assert!(e.message.contains("undefined enum name"), "{}", e.message);
    assert_eq!(d.parse_type("FILE *").unwrap().cname(), "FILE *");
    assert_eq!(d.parse_type("size_t").unwrap().cname(), "size_t");
    assert_eq!(m.integer_const("GREEN").unwrap(), Some(5));
    assert!(m.integer_const("add").is_err());
    assert_eq!(m.integer_const("nope").unwrap(), None);
    assert!(m.tag(TagKind::Struct, "point").unwrap().is_some());
    let (t, s, u) = m.list_types().unwrap();
    assert_eq!(t, ["add_fn", "fn_t", "odd_t", "point_t"]);
    assert_eq!(s, ["point"]);
    assert!(u.is_empty());
}

fn load_err(m: Module) -> String {
    match m.load() {
        Ok(_) => panic!("bad tables loaded"),
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::Ffi);
            e.message
        }
    }
}

#[test]
fn bad_tables_are_errors() {
    let mut m = sample();
    m.types[5] = 0x7f;
    assert!(load_err(m).contains("types[5]: unknown opcode 127"));
    let mut m = sample();
    m.types[6] = make_op(op::POINTER, 99);
    assert!(load_err(m).contains("index 99 out of range of the table 'types'"));
    let mut m = sample();
    m.types.truncate(3);
    assert!(load_err(m).contains("has no FUNCTION_END"));
    let mut m = sample();
    m.types.truncate(9);
    assert!(load_err(m).contains("ARRAY has no length slot"));
    let mut m = sample();
    m.types[7] = make_op(op::ENUM, 4);
    assert!(load_err(m).contains("out of range of the table 'enums'"));
    let mut m = sample();
    m.types[1] = 2;
    assert!(load_err(m).contains("which is no opcode"));
    let mut m = sample();
    m.globals[1].0 = entry(&[make_op(op::DLOPEN_CONST, 40) as i32], "N");
    let e = load_err(m);
    assert_eq!(
        e,
        "module '_test': globals[1]: index 40 out of range of the table 'types' (12 entries)"
    );
    let mut m = sample();
    m.structs[0].1[0] = entry(&[make_op(op::BITFIELD, 2) as i32], "x");
    assert!(load_err(m).contains("is truncated"));
}

#[test]
fn recursion_is_an_error() {
    let m = Module {
        types: vec![make_op(op::POINTER, 0)],
        globals: vec![],
        structs: vec![],
        enums: vec![],
        typenames: vec![],
    };
    let m = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || m.load().unwrap().realise(0).unwrap_err())
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(m.kind, ErrorKind::Runtime);
}

#[test]
fn checked_fields_with_cffi_messages() {
    // The C layout of tables is the compiled one: size and offsets given.
    use super::format::{Field, StructUnion, TypeContext};
    let mut t = super::tables::OwnedTables {
        types: vec![
            make_op(op::STRUCT_UNION, 0),
            make_op(op::PRIMITIVE, prim::INT as _),
        ],
        ..Default::default()
    };
    let names = [c"s".to_owned(), c"a".to_owned(), c"b".to_owned()];
    t.fields = vec![
        Field {
            name: names[1].as_ptr(),
            field_offset: 0,
            field_size: 4,
            field_type_op: make_op(op::NOOP, 1),
        },
        Field {
            name: names[2].as_ptr(),
            field_offset: 8,
            field_size: 4,
            field_type_op: make_op(op::NOOP, 1),
        },
    ];
    t.struct_unions = vec![StructUnion {
        name: names[0].as_ptr(),
        type_index: 0,
        flags: sflags::CHECK_FIELDS,
        size: 12,
        alignment: 4,
        first_field_index: 0,
        num_fields: 2,
    }];
    t.strings.extend(names);
    let _ = std::mem::size_of::<TypeContext>();
    let m = super::load_owned("_t", t).unwrap();
    let s = m.realise_type(0).unwrap();
    assert_eq!(s.size(), None);
    let why = s.struct_info().unwrap().problem().unwrap().to_owned();
    assert_eq!(
        why,
        "struct s: wrong offset for field 'b' (cdef says 4, but C compiler says 8). fix it or \
         use \"...;\" as the last field in the cdef for struct s to make it flexible"
    );
}

#[test]
fn imposed_layout_without_checks() {
    use super::format::{Field, StructUnion};
    let names = [c"$s_t".to_owned(), c"a".to_owned()];
    let t = super::tables::OwnedTables {
        types: vec![
            make_op(op::STRUCT_UNION, 0),
            make_op(op::PRIMITIVE, prim::INT as _),
        ],
        fields: vec![Field {
            name: names[1].as_ptr(),
            field_offset: 4,
            field_size: 4,
            field_type_op: make_op(op::NOOP, 1),
        }],
        struct_unions: vec![StructUnion {
            name: names[0].as_ptr(),
            type_index: 0,
            flags: 0,
            size: 16,
            alignment: 8,
            first_field_index: 0,
            num_fields: 1,
        }],
        strings: names.into(),
        ..Default::default()
    };
    let m = super::load_owned("_t", t).unwrap();
    let s = m.realise_type(0).unwrap();
    assert_eq!(s.cname(), "s_t");
    assert_eq!((s.size(), s.align()), (Some(16), Some(8)));
    let l = s.struct_info().unwrap().layout().unwrap();
    assert_eq!(l.field("a").unwrap().offset, 4);
    assert!(l.custom_layout);
}
