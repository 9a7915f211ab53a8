//! Connecting: `sslmode`, the pool's bound, and a single seller's lock on its tenant.

use std::io::{Read, Write};

use super::*;
use crate::ledger::suite::Pg;
use crate::ledger::{DocState, Ledger};

/// `url` with `sslmode` (and more query) added.
fn with_query(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// A server that answers PostgreSQL's SSLRequest with `N` (it does not speak TLS).
fn server_without_tls() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut s) = stream else { continue };
            let mut request = [0u8; 8];
            if s.read_exact(&mut request).is_ok() {
                // SSLRequest: length 8, code 80877103.
                assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47], "not an SSLRequest");
                let _ = s.write_all(b"N");
            }
        }
    });
    port
}

#[test]
fn require_against_a_server_without_tls_fails_naming_the_host() {
    let port = server_without_tls();
    let url = format!("postgres://mlc:s3cret-pw@127.0.0.1:{port}/mlc?sslmode=require");
    let target = Target::parse(&url).unwrap();
    let err = target.connect().err().unwrap().to_string();
    assert!(
        err.contains(&format!("PostgreSQL at 127.0.0.1:{port} (sslmode=require)"))
            && err.contains("TLS"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "password printed: {err}");
    eprintln!("require without TLS: {err}");
    for (query, says) in [
        ("sslmode=verify-ca", "sslmode `verify-ca` is not supported"),
        (
            "sslmode=require&sslrootcert=/tmp/ca.pem",
            "only verifies the server with sslmode=verify-full",
        ),
        (
            "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            "sslrootcert /nonexistent/ca.pem",
        ),
    ] {
        let err = Target::parse(&with_query(
            "postgres://mlc:s3cret-pw@db.internal/mlc",
            query,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(says) && err.contains("db.internal") && !err.contains("s3cret"),
            "{err}"
        );
    }
}

/// Whether the session runs over TLS, as the server sees it.
fn over_tls(client: &mut ::postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn disable_and_the_default_still_connect_and_verify_full_checks_the_server() {
    let Some(pg) = Pg::from_env("sslmode") else {
        return;
    };
    let mut plain = Target::parse(&with_query(&pg.url, "sslmode=disable"))
        .unwrap()
        .connect()
        .unwrap();
    assert!(!over_tls(&mut plain));
    let server_tls = plain
        .query_one("SHOW ssl", &[])
        .unwrap()
        .get::<_, String>(0)
        == "on";
    // The default is libpq's `prefer`: TLS when the server offers it.
    let mut default = Target::parse(&pg.url).unwrap().connect().unwrap();
    assert_eq!(over_tls(&mut default), server_tls);
    let required = Target::parse(&with_query(&pg.url, "sslmode=require"))
        .unwrap()
        .connect();
    match required {
        Ok(mut c) => assert!(server_tls && over_tls(&mut c)),
        Err(e) => assert!(
            !server_tls && e.to_string().contains("sslmode=require"),
            "{e}"
        ),
    }
    // Against the system's roots, a test server's self-signed certificate is not trusted.
    let host = url::Url::parse(&pg.url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();
    let err = Target::parse(&with_query(&pg.url, "sslmode=verify-full"))
        .unwrap()
        .connect()
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains(&format!("PostgreSQL at {host}:")) && err.contains("verify-full"),
        "{err}"
    );
    eprintln!("verify-full against the system's roots: {err}");
    // With the server's CA (`.ci/run` sets it for Debian's cluster): verified, by name.
    if let Ok(ca) = std::env::var("MLC_TEST_POSTGRES_CA") {
        let mut u = url::Url::parse(&pg.url).unwrap();
        u.set_host(Some("localhost")).unwrap();
        let query = format!("sslmode=verify-full&sslrootcert={ca}");
        let mut c = Target::parse(&with_query(u.as_str(), &query))
            .unwrap()
            .connect()
            .unwrap();
        assert!(over_tls(&mut c));
        // The same CA does not vouch for another name of the server.
        u.set_host(Some("127.0.0.1")).unwrap();
        let err = Target::parse(&with_query(u.as_str(), &query))
            .unwrap()
            .connect()
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("PostgreSQL at 127.0.0.1:"),
            "{err}"
        );
        eprintln!("verify-full for another name: {err}");
    } else {
        eprintln!("verify-full with a CA file: skipped (MLC_TEST_POSTGRES_CA is not set)");
    }
}

fn take_lease(pg: &Pg, owner: &str) -> Fence {
    pg.admin()
        .execute(
            "INSERT INTO leases (tenant_id, owner, generation, expires_at)
             VALUES ($1, $2, 1, now() + interval '1 hour')
             ON CONFLICT (tenant_id) DO UPDATE SET owner = excluded.owner, generation = 1,
                 expires_at = excluded.expires_at",
            &[&pg.tenant, &owner],
        )
        .unwrap();
    Fence {
        owner: owner.into(),
        generation: 1,
    }
}

#[test]
fn many_tenants_on_one_worker_stay_within_its_pool() {
    const TENANTS: usize = 10;
    const MAX: u32 = 3;
    let pgs: Vec<Pg> = (0..TENANTS)
        .filter_map(|i| Pg::from_env(&format!("pool{i}")))
        .collect();
    if pgs.len() < TENANTS {
        return;
    }
    let name = format!("mlc-test-pool-{}", std::process::id());
    let target = Target::parse(&pgs[0].url).unwrap().application_name(&name);
    let pool = target.pool(MAX).unwrap();
    let count = || -> i64 {
        pgs[0]
            .admin()
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&name],
            )
            .unwrap()
            .get(0)
    };
    let (done, seen) = (
        std::sync::atomic::AtomicBool::new(false),
        std::sync::atomic::AtomicI64::new(0),
    );
    std::thread::scope(|s| {
        let workers: Vec<_> = pgs
            .iter()
            .map(|pg| {
                let (pool, fence) = (pool.clone(), take_lease(pg, "w1"));
                s.spawn(move || {
                    let mut l = PgLedger::open_pooled(&pool, &pg.tenant, fence).unwrap();
                    for i in 0..15 {
                        let key = format!("k{i}");
                        l.plan(&key, "orders", "invoice", None, "{}", None).unwrap();
                        l.group(|l| l.transition(&key, DocState::Sending, "POST"))
                            .unwrap();
                    }
                    l.list(&Default::default()).unwrap().len()
                })
            })
            .collect();
        s.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                seen.fetch_max(count(), std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        for w in workers {
            assert_eq!(w.join().unwrap(), 15, "every tenant's writes went through");
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let peak = seen.load(std::sync::atomic::Ordering::SeqCst).max(count());
    assert!(
        (1..=i64::from(MAX)).contains(&peak),
        "{TENANTS} tenants on one pool of {MAX} opened {peak} connections"
    );
    assert!(pool.open_connections() <= MAX);
}

#[test]
fn two_single_sellers_never_both_write_a_tenant() {
    let Some(pg) = Pg::from_env("single_lock") else {
        return;
    };
    let target = |name: &str| Target::parse(&pg.url).unwrap().application_name(name);
    let mut a = PgLedger::open_single_seller(&target("ml-connector host-a:1"), &pg.tenant).unwrap();
    let mut b = PgLedger::open_single_seller(&target("ml-connector host-b:2"), &pg.tenant).unwrap();
    a.plan("k", "orders", "invoice", None, "{}", None).unwrap();
    // b reads (status beside a running daemon) but does not write while a holds the tenant.
    assert_eq!(b.get("k").unwrap().unwrap().state, DocState::Planned);
    for err in [
        b.transition("k", DocState::Sending, "POST").unwrap_err(),
        b.group(|l| l.set_cursor("orders", "x")).unwrap_err(),
    ] {
        assert!(
            matches!(&err, LedgerError::Fenced(m) if m.contains("ml-connector host-a:1")),
            "{err}"
        );
    }
    assert!(b.cursor("orders").unwrap().is_none());
    a.transition("k", DocState::Sending, "POST").unwrap();
    // a's session ends (the server or the network cut it): a writes nothing more, b takes over.
    let pid: i32 = a
        .run(|c| Ok(c.query_one("SELECT pg_backend_pid()", &[])?.get(0)))
        .unwrap();
    pg.admin()
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(a.transition("k", DocState::Unknown, "late").is_err());
    b.transition("k", DocState::Unknown, "timeout").unwrap();
    assert_eq!(b.get("k").unwrap().unwrap().state, DocState::Unknown);
}
