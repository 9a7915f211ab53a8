//! What only the PostgreSQL ledger has: tenants kept apart, writes fenced by the lease.

use super::*;
use crate::ledger::suite::Pg;
use crate::ledger::{DocFilter, DocState, Ledger};

#[test]
fn one_tenants_rows_are_invisible_to_another() {
    let (Some(a), Some(b)) = (Pg::from_env("isolation_a"), Pg::from_env("isolation_b")) else {
        return;
    };
    let mut la = PgLedger::open(&a.url, &a.tenant, None).unwrap();
    let lb = PgLedger::open(&b.url, &b.tenant, None).unwrap();
    let src = la.put_source("order", "1", b"{}").unwrap();
    la.plan("k", "orders", "invoice", Some(src), "{}", None)
        .unwrap();
    la.set_cursor("orders", "x").unwrap();
    assert!(lb.get("k").unwrap().is_none());
    assert!(lb.list(&DocFilter::default()).unwrap().is_empty());
    assert!(lb.audit_rows(None, None).unwrap().is_empty());
    assert!(lb.cursors().unwrap().is_empty());
    assert!(matches!(lb.source(src), Err(LedgerError::NotFound(_))));
    // The database keeps them apart too: a query without `tenant_id` on b's connection sees
    // nothing of a (row-level security).
    let n: i64 = lb
        .run(|c| Ok(c.query_one("SELECT COUNT(*) FROM documents", &[])?.get(0)))
        .unwrap();
    assert_eq!(n, 0);
    let n: i64 = la
        .run(|c| Ok(c.query_one("SELECT COUNT(*) FROM documents", &[])?.get(0)))
        .unwrap();
    assert_eq!(n, 1);
}

fn lease(pg: &Pg, owner: &str, generation: i64, seconds: f64) {
    pg.admin()
        .execute(
            "INSERT INTO leases (tenant_id, owner, generation, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))
             ON CONFLICT (tenant_id) DO UPDATE SET owner = excluded.owner,
                 generation = excluded.generation, expires_at = excluded.expires_at",
            &[&pg.tenant, &owner, &generation, &seconds],
        )
        .unwrap();
}

#[test]
fn a_worker_that_lost_its_lease_writes_nothing() {
    let Some(pg) = Pg::from_env("fencing") else {
        return;
    };
    lease(&pg, "w1", 1, 60.0);
    let fence = |owner: &str, generation| {
        Some(Fence {
            owner: owner.into(),
            generation,
        })
    };
    let mut w1 = PgLedger::open(&pg.url, &pg.tenant, fence("w1", 1)).unwrap();
    w1.plan("k", "orders", "invoice", None, "{}", None).unwrap();
    // w2 takes the tenant over (generation 2): every kind of write of w1 is refused.
    lease(&pg, "w2", 2, 60.0);
    let refused = [
        w1.transition("k", DocState::Sending, "POST").unwrap_err(),
        w1.plan("k2", "orders", "invoice", None, "{}", None)
            .unwrap_err(),
        w1.set_cursor("orders", "late").unwrap_err(),
        w1.audit("k", "request", "late").unwrap_err(),
        w1.put_source("order", "2", b"{}").unwrap_err(),
        w1.group(|l| l.transition("k", DocState::Sending, "POST"))
            .unwrap_err(),
    ];
    for err in refused {
        assert!(matches!(err, LedgerError::Fenced(_)), "{err}");
    }
    let mut w2 = PgLedger::open(&pg.url, &pg.tenant, fence("w2", 2)).unwrap();
    assert_eq!(w2.get("k").unwrap().unwrap().state, DocState::Planned);
    assert!(w2.get("k2").unwrap().is_none() && w2.cursor("orders").unwrap().is_none());
    assert_eq!(w2.audit_rows(None, None).unwrap().len(), 1);
    w2.transition("k", DocState::Sending, "POST").unwrap();
    // An expired lease writes nothing either, even before anyone took it over.
    lease(&pg, "w2", 2, -1.0);
    assert!(matches!(
        w2.transition("k", DocState::Unknown, "timeout"),
        Err(LedgerError::Fenced(_))
    ));
}

#[test]
fn a_group_commits_together_or_not_at_all() {
    let Some(pg) = Pg::from_env("group") else {
        return;
    };
    let mut l = PgLedger::open(&pg.url, &pg.tenant, None).unwrap();
    l.plan("a", "orders", "invoice", None, "{}", None).unwrap();
    l.plan("b", "orders", "invoice", None, "{}", None).unwrap();
    let err = l
        .group(|l| {
            l.transition("a", DocState::Sending, "POST")?;
            l.transition("b", DocState::Posted, "POST")?;
            l.transition("b", DocState::Sending, "POST")
        })
        .unwrap_err();
    assert!(matches!(err, LedgerError::Transition { .. }), "{err}");
    assert_eq!(l.get("a").unwrap().unwrap().state, DocState::Planned);
    l.group(|l| {
        l.transition("a", DocState::Sending, "POST")?;
        l.transition("b", DocState::Sending, "POST")
    })
    .unwrap();
    assert_eq!(l.get("b").unwrap().unwrap().state, DocState::Sending);
}

#[tokio::test(flavor = "current_thread")]
async fn the_ledger_works_from_inside_the_runtime() {
    let Some(pg) = Pg::from_env("in_runtime") else {
        return;
    };
    let mut l = PgLedger::open(&pg.url, &pg.tenant, None).unwrap();
    l.plan("k", "orders", "invoice", None, "{}", None).unwrap();
    tokio::task::yield_now().await;
    assert_eq!(l.get("k").unwrap().unwrap().state, DocState::Planned);
    drop(l);
}
