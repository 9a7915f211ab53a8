//! The indexes answer exactly what a scan answers: on random stores under random writes (puts,
//! removes, rolled-back changesets), and through the Service Layer on the generated company
//! (posted invoices, `PATCH`ed references, `Cancel`), for random filters with `$top`, `$skip`,
//! `$orderby`, `$count`, `/$count` and server paging.

use std::borrow::Cow;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::entities::Stamp;
use super::odata::Query;
use super::schema::{SapProfile, Scope};
use super::store::{Entity, Key, SapDb, UndoLog, set_def};
use super::wire::{Payload, SapResponse, Version};
use super::{Prefs, execute};

/// A random document: the key-like values come from small pools (so several entities share one),
/// in every form a stored value can take (number, float, numeric text, null, missing).
fn document() -> impl Strategy<Value = (i64, Entity)> {
    let value = |pool: Vec<Value>| prop::sample::select(pool);
    (
        0i64..24,
        value(vec![
            json!("N0"),
            json!("N1"),
            json!("N2"),
            json!("n1"),
            Value::Null,
            json!(7),
        ]),
        value(vec![json!("C0"), json!("C1"), json!("C2")]),
        0usize..4,
        value(vec![
            json!(1),
            json!(1.0),
            json!(2.5),
            json!("1"),
            json!(-0.0),
        ]),
        any::<bool>(),
    )
        .prop_map(|(k, nac, card, entry_form, total, with_nac)| {
            let mut e = Map::new();
            match entry_form {
                0 => e.insert("DocEntry".into(), json!(k)),
                1 => e.insert("DocEntry".into(), json!(k as f64)),
                2 => e.insert("DocEntry".into(), json!(k.to_string())),
                _ => None,
            };
            e.insert("DocNum".into(), json!(100_000 + k % 5));
            if with_nac {
                e.insert("NumAtCard".into(), nac);
            }
            e.insert("CardCode".into(), card);
            e.insert("DocTotal".into(), total);
            (k, e)
        })
}

#[derive(Debug, Clone)]
enum Op {
    Put(i64, Entity),
    Remove(i64),
    /// Writes then rolled back, like a refused `$batch` changeset.
    RolledBack(Vec<(i64, Entity)>, Vec<i64>),
    /// A filter is asked: builds the indexes it needs from then on.
    Ask(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => document().prop_map(|(k, e)| Op::Put(k, e)),
        2 => (0i64..24).prop_map(Op::Remove),
        1 => (prop::collection::vec(document(), 0..4), prop::collection::vec(0i64..24, 0..3))
            .prop_map(|(p, r)| Op::RolledBack(p, r)),
        1 => (0usize..FILTERS.len()).prop_map(Op::Ask),
    ]
}

/// Filters on `Document`: indexable equalities (either side, numbers as text and as `1.0`, null),
/// `or`s and `and`s of them, and what only a scan answers.
const FILTERS: &[&str] = &[
    "NumAtCard eq 'N1'",
    "'N2' eq NumAtCard",
    "NumAtCard eq null",
    "NumAtCard eq 'N1' and CardCode eq 'C1'",
    "CardCode eq 'C0' and NumAtCard eq 'N0'",
    "NumAtCard eq 'N0' or NumAtCard eq 'n1' or NumAtCard eq 'N9'",
    "NumAtCard eq 'N1' or DocTotal gt 1",
    "DocTotal eq 1 and (NumAtCard eq 'N0' or CardCode eq 'C2')",
    "DocEntry eq 3",
    "DocEntry eq 3.0 or DocEntry eq '5'",
    "DocNum eq 100002 and not (CardCode eq 'C1')",
    "NumAtCard ne 'N1'",
    "startswith(NumAtCard,'N')",
    "CardCode eq 'C1' and DocTotal eq 0",
    "NumAtCard eq 7",
];

fn parse(db: &SapDb, filter: &str) -> super::odata::Expr {
    let scope = Scope {
        profile: SapProfile::Fp22xx,
        db,
    };
    let raw = format!("$filter={}", super::odata::encode(filter));
    Query::parse(Some(&raw), "Document", Version::V2, &scope)
        .expect("a valid filter")
        .filter
        .expect("a filter")
}

fn owned(rows: Vec<(Key, Cow<'_, Entity>)>) -> Vec<(Key, Entity)> {
    rows.into_iter().map(|(k, e)| (k, e.into_owned())).collect()
}

fn check_all(db: &SapDb) -> Result<(), TestCaseError> {
    let def = set_def("Invoices").expect("Invoices");
    for f in FILTERS {
        let expr = parse(db, f);
        let indexed = owned(db.select(def, &expr));
        let scanned = owned(db.scan(def.name, def.type_name, &expr));
        prop_assert_eq!(indexed, scanned, "filter {}", f);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn indexed_selects_equal_scans_under_random_writes(
        ops in prop::collection::vec(op(), 1..60),
        asked_first in prop::collection::vec(0usize..FILTERS.len(), 0..3),
    ) {
        let def = set_def("Invoices").expect("Invoices");
        let mut db = SapDb::default();
        for i in asked_first {
            let expr = parse(&db, FILTERS[i]);
            db.prepare_indexes(def, &expr);
        }
        for op in ops {
            match op {
                Op::Put(k, e) => db.put(def.name, Key::Int(k), e, &mut UndoLog::default()),
                Op::Remove(k) => db.remove(def.name, &Key::Int(k), &mut UndoLog::default()),
                Op::RolledBack(puts, removes) => {
                    let mut undo = UndoLog::default();
                    for (k, e) in puts {
                        db.put(def.name, Key::Int(k), e, &mut undo);
                    }
                    for k in removes {
                        db.remove(def.name, &Key::Int(k), &mut undo);
                    }
                    db.rollback(undo);
                }
                Op::Ask(i) => {
                    let expr = parse(&db, FILTERS[i]);
                    db.prepare_indexes(def, &expr);
                }
            }
            check_all(&db)?;
        }
    }
}

/// What a request answers, comparable.
fn answer(r: &SapResponse) -> (u16, Vec<(String, String)>, String) {
    let body = match &r.body {
        Payload::Json(v) => v.to_string(),
        Payload::Text(t) => t.clone(),
        Payload::Empty => String::new(),
    };
    (r.status, r.headers.clone(), body)
}

struct Company {
    db: SapDb,
    stamp: Stamp,
}

impl Company {
    fn new() -> Self {
        let anchor = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
        let world = crate::world::World::generate(crate::world::WorldKind::Eu, 3, 20, anchor);
        Company {
            db: crate::world::sap_seed::seed(&world),
            stamp: Stamp {
                date: "2026-03-10".into(),
                time: "12:00:00".into(),
            },
        }
    }

    fn call(&mut self, method: &str, rest: &str, query: Option<&str>, body: &Value) -> SapResponse {
        self.call_with(
            method,
            rest,
            query,
            body,
            &Prefs::default(),
            &mut UndoLog::default(),
        )
    }

    fn call_with(
        &mut self,
        method: &str,
        rest: &str,
        query: Option<&str>,
        body: &Value,
        prefs: &Prefs,
        undo: &mut UndoLog,
    ) -> SapResponse {
        let body = if body.is_null() {
            vec![]
        } else {
            body.to_string().into_bytes()
        };
        execute(
            &mut self.db,
            undo,
            "http://sb/b1s/v2",
            Version::V2,
            method,
            rest,
            query,
            prefs,
            &body,
            &self.stamp,
            20,
            SapProfile::Fp22xx,
        )
    }
}

fn invoice(num_at_card: &str, card: &str) -> Value {
    json!({
        "CardCode": card,
        "NumAtCard": num_at_card,
        "DocDate": "2026-03-09",
        "DocumentLines": [{"ItemCode": "TM-MUG-0000", "Quantity": 2, "UnitPrice": 10.5, "VatGroup": "O1"}],
    })
}

#[derive(Debug, Clone)]
enum Write {
    Post(usize, bool),
    Patch(usize, usize),
    Cancel(usize),
    RolledBackPost(usize),
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        4 => (0usize..5, any::<bool>()).prop_map(|(n, uk)| Write::Post(n, uk)),
        2 => (0usize..12, 0usize..5).prop_map(|(d, n)| Write::Patch(d, n)),
        1 => (0usize..12).prop_map(Write::Cancel),
        1 => (0usize..5).prop_map(Write::RolledBackPost),
    ]
}

/// Query options asked with every filter.
fn options() -> impl Strategy<Value = (Option<usize>, usize, Option<&'static str>, bool, usize)> {
    (
        prop::option::of(0usize..6),
        0usize..4,
        prop::option::of(prop::sample::select(vec![
            "DocTotal desc",
            "NumAtCard",
            "CardCode desc,DocEntry desc",
        ])),
        any::<bool>(),
        0usize..4,
    )
}

const LIST_FILTERS: &[&str] = &[
    "NumAtCard eq 'amz:0'",
    "NumAtCard eq 'amz:1' and CardCode eq 'C-AMZ-UK'",
    "NumAtCard eq 'amz:2' or NumAtCard eq 'amz:3'",
    "CardCode eq 'C-AMZ-DE' and Cancelled eq 'tNO'",
    "DocEntry eq 2 or DocNum eq 100004",
    "NumAtCard eq 'amz:4' and CancelStatus eq 'csCancellation'",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_service_layer_answers_like_a_scan_through_posts_patches_and_cancels(
        writes in prop::collection::vec(write(), 1..16),
        asks in prop::collection::vec(options(), LIST_FILTERS.len()),
    ) {
        let mut c = Company::new();
        let r = c.call("POST", "Invoices", None, &invoice("amz:0", "C-AMZ-UK"));
        prop_assert_eq!(r.status, 201, "{:?}", answer(&r));
        // Ask once first, so the indexes exist and every write below has to keep them in step.
        for f in LIST_FILTERS {
            let q = format!("$filter={}", super::odata::encode(f));
            c.call("GET", "Invoices", Some(&q), &Value::Null);
        }
        let cards = ["C-AMZ-UK", "C-AMZ-DE"];
        for w in writes {
            match w {
                Write::Post(n, uk) => {
                    let r = c.call("POST", "Invoices", None, &invoice(&format!("amz:{n}"), cards[usize::from(!uk)]));
                    prop_assert_eq!(r.status, 201, "{:?}", answer(&r));
                }
                Write::Patch(d, n) => {
                    c.call("PATCH", &format!("Invoices({})", d + 1), None, &json!({"NumAtCard": format!("amz:{n}")}));
                }
                Write::Cancel(d) => {
                    c.call("POST", &format!("Invoices({})/Cancel", d + 1), None, &Value::Null);
                }
                Write::RolledBackPost(n) => {
                    let mut undo = UndoLog::default();
                    c.call_with("POST", "Invoices", None, &invoice(&format!("amz:{n}"), cards[0]), &Prefs::default(), &mut undo);
                    c.db.rollback(undo);
                }
            }
        }
        let mut scan = Company { db: c.db.clone(), stamp: c.stamp.clone() };
        scan.db.scan_only = true;
        for (f, (top, skip, orderby, count, page)) in LIST_FILTERS.iter().zip(asks) {
            let mut q = format!("$filter={}", super::odata::encode(f));
            if let Some(t) = top { q.push_str(&format!("&$top={t}")); }
            if skip > 0 { q.push_str(&format!("&$skip={skip}")); }
            if let Some(o) = orderby { q.push_str(&format!("&$orderby={}", super::odata::encode(o))); }
            if count { q.push_str("&$count=true"); }
            let prefs = Prefs { page_size: Some(page + 1), ..Prefs::default() };
            for rest in ["Invoices", "Invoices/$count"] {
                let a = c.call_with("GET", rest, Some(&q), &Value::Null, &prefs, &mut UndoLog::default());
                let b = scan.call_with("GET", rest, Some(&q), &Value::Null, &prefs, &mut UndoLog::default());
                prop_assert_eq!(a.status, 200, "{} {:?}", q, answer(&a));
                prop_assert_eq!(answer(&a), answer(&b), "{} {}", rest, q);
            }
        }
    }
}
