//! A compact stored form of an entity: the JSON value tree in a byte string, property names as
//! numbers of a process-wide name table. A performance device only (issue 20: a `Map` per stored
//! document cost about 6 KB per invoice): packing and unpacking give back exactly the same
//! `Map` (same properties, same `Value`s; numbers keep their exact kind and bits), so nothing a
//! client sees changes.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use serde_json::{Map, Number, Value};

/// Property names seen so far, numbered in the order they were first packed.
#[derive(Default)]
struct Names {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

fn names() -> &'static RwLock<Names> {
    static NAMES: OnceLock<RwLock<Names>> = OnceLock::new();
    NAMES.get_or_init(RwLock::default)
}

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const UINT: u8 = 3;
const INT: u8 = 4;
const FLOAT: u8 = 5;
const STRING: u8 = 6;
const ARRAY: u8 = 7;
const OBJECT: u8 = 8;

/// An entity in its packed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed(Box<[u8]>);

impl Packed {
    /// Packs `e`.
    pub fn pack(e: &Map<String, Value>) -> Self {
        let mut out = Vec::with_capacity(256);
        let mut table = names().write().expect("name table");
        object(&mut out, e, &mut table);
        Packed(out.into_boxed_slice())
    }

    /// The entity back, as it was packed.
    pub fn unpack(&self) -> Map<String, Value> {
        let table = names().read().expect("name table");
        let mut r = Reader {
            bytes: &self.0,
            pos: 0,
            names: &table.names,
        };
        match r.value() {
            Value::Object(m) => m,
            // Only objects are packed.
            _ => unreachable!("a packed entity is an object"),
        }
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is held (never for a packed entity).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn object(out: &mut Vec<u8>, m: &Map<String, Value>, table: &mut Names) {
    out.push(OBJECT);
    varint(out, m.len() as u64);
    for (k, v) in m {
        let id = match table.ids.get(k) {
            Some(id) => *id,
            None => {
                let id = u32::try_from(table.names.len()).expect("fewer than 2^32 names");
                table.names.push(k.clone());
                table.ids.insert(k.clone(), id);
                id
            }
        };
        varint(out, u64::from(id));
        value(out, v, table);
    }
}

fn value(out: &mut Vec<u8>, v: &Value, table: &mut Names) {
    match v {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(UINT);
                varint(out, u);
            } else if let Some(i) = n.as_i64() {
                out.push(INT);
                out.extend_from_slice(&i.to_le_bytes());
            } else {
                let f = n.as_f64().expect("a JSON number is u64, i64 or f64");
                out.push(FLOAT);
                out.extend_from_slice(&f.to_bits().to_le_bytes());
            }
        }
        Value::String(s) => {
            out.push(STRING);
            varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(a) => {
            out.push(ARRAY);
            varint(out, a.len() as u64);
            for x in a {
                value(out, x, table);
            }
        }
        Value::Object(m) => object(out, m, table),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    names: &'a [String],
}

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.bytes[self.pos];
        self.pos += 1;
        b
    }

    fn varint(&mut self) -> u64 {
        let (mut n, mut shift) = (0u64, 0);
        loop {
            let b = self.byte();
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return n;
            }
            shift += 7;
        }
    }

    fn eight(&mut self) -> [u8; 8] {
        let b = self.bytes[self.pos..self.pos + 8]
            .try_into()
            .expect("eight bytes");
        self.pos += 8;
        b
    }

    fn len(&mut self) -> usize {
        usize::try_from(self.varint()).expect("a length fits usize")
    }

    fn value(&mut self) -> Value {
        match self.byte() {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            UINT => Value::from(self.varint()),
            INT => Value::from(i64::from_le_bytes(self.eight())),
            FLOAT => {
                let f = f64::from_bits(u64::from_le_bytes(self.eight()));
                Number::from_f64(f).map_or(Value::Null, Value::Number)
            }
            STRING => {
                let n = self.len();
                let s = std::str::from_utf8(&self.bytes[self.pos..self.pos + n])
                    .expect("packed from a str");
                self.pos += n;
                Value::String(s.to_owned())
            }
            ARRAY => {
                let n = self.len();
                Value::Array((0..n).map(|_| self.value()).collect())
            }
            OBJECT => {
                let n = self.len();
                let mut m = Map::new();
                for _ in 0..n {
                    let id = self.len();
                    let k = self.names[id].clone();
                    m.insert(k, self.value());
                }
                Value::Object(m)
            }
            t => unreachable!("packed by this module: tag {t}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-zA-Z0-9 'äß€-]{0,12}".prop_map(Value::from),
        ]
    }

    fn tree() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[A-Za-z_]{1,10}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn unpacking_gives_back_exactly_what_was_packed(
            m in prop::collection::btree_map("[A-Za-z_]{1,12}", tree(), 0..12)
        ) {
            let m: Map<String, Value> = m.into_iter().collect();
            let back = Packed::pack(&m).unpack();
            prop_assert_eq!(&back, &m);
            // Same kind of number, same bits: what a client is sent is the same text.
            prop_assert_eq!(Value::Object(back).to_string(), Value::Object(m).to_string());
        }
    }

    #[test]
    fn numbers_keep_their_kind_and_bits() {
        let m = json!({"a": 1, "b": -1, "c": 0.1, "d": 1.0e300, "e": u64::MAX, "f": i64::MIN,
                       "g": 0.30000000000000004, "h": -0.0});
        let m = m.as_object().unwrap();
        let back = Packed::pack(m).unpack();
        for (k, v) in m {
            let w = &back[k];
            assert_eq!(v.is_u64(), w.is_u64(), "{k}");
            assert_eq!(v.is_i64(), w.is_i64(), "{k}");
            assert_eq!(
                v.as_f64().map(f64::to_bits),
                w.as_f64().map(f64::to_bits),
                "{k}"
            );
        }
    }
}
