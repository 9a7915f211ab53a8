//! A single seller whose ledger is PostgreSQL (`[ledger] url`) instead of the workspace's SQLite
//! file. Runs when `MLC_TEST_POSTGRES_URL` is set (`.ci/run` sets it); says it is skipped otherwise.

mod common;

use std::str::FromStr;

/// One seller whose `[ledger] url` points at PostgreSQL: `sync orders` posts through the
/// PostgreSQL ledger (the password from the environment, not the file), `status` reads it back.
#[test]
fn a_single_seller_on_a_postgresql_ledger() {
    let Ok(base) = std::env::var("MLC_TEST_POSTGRES_URL") else {
        eprintln!("skipped: MLC_TEST_POSTGRES_URL is not set");
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sb = rt.block_on(common::start_sandbox(5, 20));
    let (_dir, config) = common::workspace(&sb);
    let schema = format!("single_{}", std::process::id());
    postgres::Client::connect(&base, postgres::NoTls)
        .unwrap()
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
    let mut url = url::Url::parse(&base).unwrap();
    let password = url.password().unwrap_or_default().to_owned();
    url.set_password(None).unwrap();
    url.query_pairs_mut()
        .append_pair("options", &format!("-csearch_path={schema}"));
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}\n[ledger]\nurl = \"{url}\"\ntenant = \"acme-uk\"\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let o = common::bin(&config)
            .args(args)
            .env("ML_CONNECTOR_DATABASE_PASSWORD", &password)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    let (code, out) = run(&["sync", "orders"]);
    assert!(matches!(code, Some(0 | 2)), "{out}");
    assert!(sb.sap_count("Invoices") > 5, "{out}");
    let (_, status) = run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let posted: i64 = status["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["state"] == "POSTED")
        .map(|d| d["count"].as_i64().unwrap())
        .sum();
    assert_eq!(posted as usize, sb.sap_count("Invoices"));
    // The rows are the tenant's, in PostgreSQL (nothing in the workspace's SQLite file).
    let mut db = postgres::Client::connect(
        &format!(
            "{base}{}options=-csearch_path%3D{schema}",
            if base.contains('?') { '&' } else { '?' }
        ),
        postgres::NoTls,
    )
    .unwrap();
    db.batch_execute("SET mlc.tenant = 'acme-uk'").unwrap();
    let n: i64 = db
        .query_one("SELECT COUNT(*) FROM documents WHERE state = 'POSTED'", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, posted);
    assert!(!config.parent().unwrap().join("ml-connector.db").exists());
    // `status` names the database and tenant, not a SQLite file it does not use.
    let (_, text) = run(&["status"]);
    assert!(
        text.contains("tenant acme-uk") && !text.contains("ml-connector.db"),
        "{text}"
    );
    // Another process (here: this test, as if on another machine) writes the tenant: this one's
    // writes are refused, naming it, and nothing reaches SAP.
    let mut other = postgres::Config::from_str(&base).unwrap();
    other.application_name("ml-connector other-machine:7");
    let mut other = other.connect(postgres::NoTls).unwrap();
    let key = "hashtextextended('ml-connector single seller ' || 'acme-uk', 0)";
    assert!(
        other
            .query_one(&format!("SELECT pg_try_advisory_lock({key})"), &[])
            .unwrap()
            .get::<_, bool>(0)
    );
    let invoices = sb.sap_count("Invoices");
    sb.add_orders(3);
    let (code, out) = run(&["sync", "orders"]);
    assert!(
        code != Some(0)
            && out.contains(
                "is written by another ml-connector process (ml-connector other-machine:7"
            ),
        "{code:?} {out}"
    );
    assert_eq!(sb.sap_count("Invoices"), invoices);
    drop(other);
    let (code, out) = run(&["sync", "orders"]);
    assert!(matches!(code, Some(0 | 2)), "{out}");
    assert!(sb.sap_count("Invoices") > invoices, "{out}");
    // Without the password the database refuses, and says which ledger.
    let o = common::bin(&config).args(["status"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("PostgreSQL ledger") && err.contains("acme-uk"),
        "{err}"
    );
    let _ = db.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
}
