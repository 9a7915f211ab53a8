//! User-defined tables: `UserTablesMD` / `UserFieldsMD`, a no-object table served as
//! `U_<TableName>` only after a Service Layer restart, its unique `Code` (-2035, also inside a
//! changeset, which then rolls back completely), declared fields and sizes, ETags, and the state
//! file keeping tables and rows.

mod common;

use std::path::PathBuf;

use common::*;
use reqwest::Client;
use sandbox::sap::store::Key;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

const TABLE: &str = "MLC_KEYS";

async fn send(
    sb: &Sandbox,
    c: &Client,
    cookie: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let url = format!("{}/b1s/v2/{path}", sb.sap_origin());
    let mut rb = c
        .request(method.parse().unwrap(), url)
        .header("Cookie", cookie);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.json(b);
    }
    let r = rb.send().await.expect("request");
    let s = r.status().as_u16();
    let h = r.headers().clone();
    (s, h, r.json().await.unwrap_or(Value::Null))
}

/// Creates `MLC_KEYS` with `U_Key` (alpha 20) and `U_Doc` (numeric), as the connector would.
async fn create_keys_table(sb: &Sandbox, c: &Client, cookie: &str) {
    let (s, t) = sap_post(
        sb,
        c,
        cookie,
        "v2",
        "UserTablesMD",
        &json!({"TableName": TABLE, "TableDescription": "ml-connector keys", "TableType": "bott_NoObject"}),
    )
    .await;
    assert_eq!(s, 201, "{t}");
    for field in [
        json!({"Name": "Key", "Type": "db_Alpha", "Size": 20, "Description": "Idempotency key", "TableName": "@MLC_KEYS"}),
        json!({"Name": "Doc", "Type": "db_Numeric", "Description": "DocEntry", "TableName": "@MLC_KEYS"}),
    ] {
        let (s, f) = sap_post(sb, c, cookie, "v2", "UserFieldsMD", &field).await;
        assert_eq!(s, 201, "{f}");
    }
}

/// Creates the table, restarts the Service Layer, logs in again.
async fn served_keys_table(sb: &Sandbox, c: &Client) -> String {
    let cookie = login(sb, c, "v2").await;
    create_keys_table(sb, c, &cookie).await;
    sb.restart_service_layer();
    login(sb, c, "v2").await
}

fn row(code: &str, key: &str) -> Value {
    json!({"Code": code, "Name": code, "U_Key": key, "U_Doc": 7})
}

fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_new_table_is_served_only_after_a_service_layer_restart() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    create_keys_table(&sb, &c, &cookie).await;

    let (s, _, t) = send(
        &sb,
        &c,
        &cookie,
        "GET",
        "UserTablesMD('MLC_KEYS')",
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["TableName"], TABLE);
    assert_eq!(t["TableType"], "bott_NoObject");
    let (s, _, absent) = send(&sb, &c, &cookie, "GET", "UserTablesMD('NOPE')", &[], None).await;
    assert_eq!((s, error_code(&absent)), (404, "-2028"), "{absent}");
    let (s, _, f) = send(
        &sb,
        &c,
        &cookie,
        "GET",
        "UserFieldsMD(TableName='@MLC_KEYS',FieldID=0)",
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200, "{f}");
    assert_eq!(
        (f["Name"].clone(), f["Size"].clone()),
        (json!("Key"), json!(20))
    );

    // Before the restart the set does not exist, like any unknown segment.
    let (s, _, unknown) = send(&sb, &c, &cookie, "GET", "U_MLC_KEYS", &[], None).await;
    assert_eq!(s, 404, "{unknown}");
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("U_MLC_KEYS"),
        "{unknown}"
    );
    let (s, _, _) = send(
        &sb,
        &c,
        &cookie,
        "POST",
        "U_MLC_KEYS",
        &[],
        Some(&row("a", "k")),
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(sb.sap_count("U_MLC_KEYS"), 0);

    assert_eq!(sb.restart_service_layer(), vec![TABLE.to_string()]);
    let (s, _, _) = send(&sb, &c, &cookie, "GET", "U_MLC_KEYS", &[], None).await;
    assert_eq!(s, 401, "a restart ends every session");
    let cookie = login(&sb, &c, "v2").await;
    let (s, _, list) = send(&sb, &c, &cookie, "GET", "U_MLC_KEYS", &[], None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["value"], json!([]));
    sb.shutdown().await;
}

#[tokio::test]
async fn the_restart_is_also_an_http_endpoint_outside_the_service_layer_api() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    create_keys_table(&sb, &c, &cookie).await;
    let r = c
        .post(format!(
            "{}/sandbox/admin/restart-service-layer",
            sb.sap_origin()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["userTables"], json!([TABLE]));
    let cookie = login(&sb, &c, "v2").await;
    let (s, _, _) = send(&sb, &c, &cookie, "GET", "U_MLC_KEYS", &[], None).await;
    assert_eq!(s, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn tables_and_fields_are_unique_and_sized() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    create_keys_table(&sb, &c, &cookie).await;
    let (s, again) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "UserTablesMD",
        &json!({"TableName": "mlc_keys", "TableDescription": "again"}),
    )
    .await;
    assert_eq!((s, error_code(&again)), (400, "-2035"), "{again}");
    let (s, long) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "UserTablesMD",
        &json!({"TableName": "A_TABLE_NAME_OF_20_C", "TableDescription": "x"}),
    )
    .await;
    assert_eq!(s, 400, "TableName has 19 characters at most: {long}");
    assert!(
        long["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Value too long in property 'TableName'")
    );
    let (s, dup) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "UserFieldsMD",
        &json!({"Name": "Key", "Type": "db_Alpha", "Size": 10, "TableName": "@MLC_KEYS"}),
    )
    .await;
    assert_eq!((s, error_code(&dup)), (400, "-2035"), "{dup}");
    let (s, wide) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "UserFieldsMD",
        &json!({"Name": "Wide", "Type": "db_Alpha", "Size": 255, "TableName": "@MLC_KEYS"}),
    )
    .await;
    assert_eq!(s, 400, "{wide}");
    sb.shutdown().await;
}

#[tokio::test]
async fn rows_are_keyed_by_code_and_a_second_code_is_refused_with_2035() {
    let sb = start(20).await;
    let c = client();
    let cookie = served_keys_table(&sb, &c).await;

    let (s, h, created) = send(
        &sb,
        &c,
        &cookie,
        "POST",
        "U_MLC_KEYS",
        &[],
        Some(&row("k1", "amz:1")),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(h["location"].to_str().unwrap(), "/b1s/v2/U_MLC_KEYS('k1')");
    assert_eq!(created["U_Doc"], 7);
    let (s, _, dup) = send(
        &sb,
        &c,
        &cookie,
        "POST",
        "U_MLC_KEYS",
        &[],
        Some(&row("k1", "amz:other")),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(error_code(&dup), "-2035");
    assert_eq!(
        dup["error"]["message"],
        "This entry already exists in the following tables (ODBC -2035)"
    );
    assert_eq!(sb.sap_count("U_MLC_KEYS"), 1);
    let stored = sb.sap_entity("U_MLC_KEYS", &Key::Str("k1".into())).unwrap();
    assert_eq!(stored["U_Key"], "amz:1", "the first row is untouched");

    send(
        &sb,
        &c,
        &cookie,
        "POST",
        "U_MLC_KEYS",
        &[],
        Some(&row("k2", "amz:2")),
    )
    .await;
    let (s, _, found) = send(
        &sb,
        &c,
        &cookie,
        "GET",
        "U_MLC_KEYS?$filter=U_Key%20eq%20'amz:2'&$select=Code,U_Key",
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(found["value"].as_array().unwrap().len(), 1);
    assert_eq!(found["value"][0]["Code"], "k2");

    let (s, _, _) = send(
        &sb,
        &c,
        &cookie,
        "PATCH",
        "U_MLC_KEYS('k2')",
        &[],
        Some(&json!({"U_Doc": "42"})),
    )
    .await;
    assert_eq!(s, 204);
    let (_, _, got) = send(&sb, &c, &cookie, "GET", "U_MLC_KEYS('k2')", &[], None).await;
    assert_eq!(got["U_Doc"], 42);
    let (s, _, _) = send(&sb, &c, &cookie, "DELETE", "U_MLC_KEYS('k2')", &[], None).await;
    assert_eq!(s, 204);
    let (s, _, gone) = send(&sb, &c, &cookie, "GET", "U_MLC_KEYS('k2')", &[], None).await;
    assert_eq!((s, error_code(&gone)), (404, "-2028"));
    assert_eq!(sb.sap_count("U_MLC_KEYS"), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn undeclared_fields_and_too_long_values_are_refused() {
    let sb = start(20).await;
    let c = client();
    let cookie = served_keys_table(&sb, &c).await;

    let mut body = row("k1", "amz:1");
    body["U_Nope"] = json!("x");
    let (s, _, unknown) = send(&sb, &c, &cookie, "POST", "U_MLC_KEYS", &[], Some(&body)).await;
    assert_eq!((s, error_code(&unknown)), (400, "-1000"), "{unknown}");
    assert_eq!(
        unknown["error"]["message"],
        "Property 'U_Nope' of 'U_MLC_KEYS' is invalid"
    );

    let (s, _, long) = send(
        &sb,
        &c,
        &cookie,
        "POST",
        "U_MLC_KEYS",
        &[],
        Some(&row("k1", &"x".repeat(21))),
    )
    .await;
    assert_eq!(s, 400, "{long}");
    assert_eq!(
        long["error"]["message"],
        "CServiceData::SetPropertyValueString failed; Value too long in property 'U_Key' of 'U_MLC_KEYS'"
    );
    let (s, _, long_code) = send(
        &sb,
        &c,
        &cookie,
        "POST",
        "U_MLC_KEYS",
        &[],
        Some(&row(&"c".repeat(51), "amz:1")),
    )
    .await;
    assert_eq!(s, 400, "{long_code}");
    assert_eq!(sb.sap_count("U_MLC_KEYS"), 0);

    // A field added while the Service Layer runs is unknown to it until the next restart.
    let (s, _) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "UserFieldsMD",
        &json!({"Name": "Late", "Type": "db_Memo", "TableName": "@MLC_KEYS"}),
    )
    .await;
    assert_eq!(s, 201);
    let mut late = row("k1", "amz:1");
    late["U_Late"] = json!("note");
    let (s, _, _) = send(&sb, &c, &cookie, "POST", "U_MLC_KEYS", &[], Some(&late)).await;
    assert_eq!(s, 400);
    sb.restart_service_layer();
    let cookie = login(&sb, &c, "v2").await;
    let (s, _, ok) = send(&sb, &c, &cookie, "POST", "U_MLC_KEYS", &[], Some(&late)).await;
    assert_eq!(s, 201, "{ok}");
    sb.shutdown().await;
}

fn part(method: &str, url: &str, content_id: u32, body: &Value) -> String {
    format!(
        "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {content_id}\r\n\r\n{method} {url} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{body}\r\n"
    )
}

async fn changeset(sb: &Sandbox, c: &Client, cookie: &str, parts: &[String]) -> String {
    let mut body =
        String::from("--batch_b1\r\nContent-Type: multipart/mixed;boundary=changeset_c1\r\n\r\n");
    for p in parts {
        body.push_str("--changeset_c1\r\n");
        body.push_str(p);
    }
    body.push_str("--changeset_c1--\r\n--batch_b1--\r\n");
    let r = c
        .post(format!("{}/b1s/v2/$batch", sb.sap_origin()))
        .header("Cookie", cookie)
        .header("Content-Type", "multipart/mixed;boundary=batch_b1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn a_duplicate_code_rolls_back_the_whole_changeset() {
    let sb = start(20).await;
    let c = client();
    let cookie = served_keys_table(&sb, &c).await;
    let (s, _, _) = send(
        &sb,
        &c,
        &cookie,
        "POST",
        "U_MLC_KEYS",
        &[],
        Some(&row("k1", "amz:1")),
    )
    .await;
    assert_eq!(s, 201);

    // Key first: the duplicate stops the changeset before the invoice.
    let text = changeset(
        &sb,
        &c,
        &cookie,
        &[
            part("POST", "/b1s/v2/U_MLC_KEYS", 1, &row("k1", "amz:1")),
            part(
                "POST",
                "/b1s/v2/Invoices",
                2,
                &invoice("TM-MUG-0000", "amz:1"),
            ),
        ],
    )
    .await;
    assert!(
        text.contains("HTTP/1.1 400 Bad Request") && text.contains("-2035"),
        "{text}"
    );
    assert_eq!(sb.sap_count("Invoices"), 0);

    // Invoice first: it is rolled back when the key turns out to be taken.
    let text = changeset(
        &sb,
        &c,
        &cookie,
        &[
            part(
                "POST",
                "/b1s/v2/Invoices",
                1,
                &invoice("TM-MUG-0000", "amz:1"),
            ),
            part("POST", "/b1s/v2/U_MLC_KEYS", 2, &row("k1", "amz:1")),
        ],
    )
    .await;
    assert!(
        text.contains("-2035") && !text.contains("201 Created"),
        "{text}"
    );
    assert_eq!(sb.sap_count("Invoices"), 0);
    assert_eq!(sb.sap_count("U_MLC_KEYS"), 1);

    // A new key: both are created.
    let text = changeset(
        &sb,
        &c,
        &cookie,
        &[
            part("POST", "/b1s/v2/U_MLC_KEYS", 1, &row("k2", "amz:2")),
            part(
                "POST",
                "/b1s/v2/Invoices",
                2,
                &invoice("TM-MUG-0000", "amz:2"),
            ),
        ],
    )
    .await;
    assert_eq!(text.matches("HTTP/1.1 201 Created").count(), 2, "{text}");
    assert_eq!(sb.sap_count("Invoices"), 1);
    assert_eq!(sb.sap_count("U_MLC_KEYS"), 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_stale_if_match_on_a_row_is_refused_with_412() {
    let sb = start(20).await;
    let c = client();
    let cookie = served_keys_table(&sb, &c).await;
    send(
        &sb,
        &c,
        &cookie,
        "POST",
        "U_MLC_KEYS",
        &[],
        Some(&row("lease", "")),
    )
    .await;
    let (s, h, got) = send(&sb, &c, &cookie, "GET", "U_MLC_KEYS('lease')", &[], None).await;
    assert_eq!(s, 200);
    let etag = h["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(got["@odata.etag"], etag.as_str());

    let take = |owner: &str| json!({"U_Key": owner});
    let (s, _, _) = send(
        &sb,
        &c,
        &cookie,
        "PATCH",
        "U_MLC_KEYS('lease')",
        &[("If-Match", etag.as_str())],
        Some(&take("worker-1")),
    )
    .await;
    assert_eq!(s, 204, "the first taker wins");
    let (s, _, stale) = send(
        &sb,
        &c,
        &cookie,
        "PATCH",
        "U_MLC_KEYS('lease')",
        &[("If-Match", etag.as_str())],
        Some(&take("worker-2")),
    )
    .await;
    assert_eq!((s, error_code(&stale)), (412, "-2039"), "{stale}");
    let stored = sb
        .sap_entity("U_MLC_KEYS", &Key::Str("lease".into()))
        .unwrap();
    assert_eq!(stored["U_Key"], "worker-1");
    sb.shutdown().await;
}

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_file(self.0.with_extension("json.tmp"));
    }
}

#[tokio::test]
async fn the_state_file_keeps_tables_fields_and_rows() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let file = TempFile(
        std::env::temp_dir().join(format!("sandbox-udt-{}-{nanos}.json", std::process::id())),
    );
    let cfg = || SandboxConfig {
        state_file: Some(file.0.clone()),
        ..config(20)
    };
    let c = client();
    let sb = Sandbox::start(cfg()).await.unwrap();
    let cookie = served_keys_table(&sb, &c).await;
    let (s, _, _) = send(
        &sb,
        &c,
        &cookie,
        "POST",
        "U_MLC_KEYS",
        &[],
        Some(&row("k1", "amz:1")),
    )
    .await;
    assert_eq!(s, 201);
    sb.close().await.unwrap();

    let sb = Sandbox::start(cfg()).await.unwrap();
    assert!(sb.restored());
    assert_eq!(sb.sap_served_user_tables(), vec![TABLE.to_string()]);
    assert_eq!(sb.sap_count("U_MLC_KEYS"), 1);
    let cookie = login(&sb, &c, "v2").await;
    let (s, _, got) = send(&sb, &c, &cookie, "GET", "U_MLC_KEYS('k1')", &[], None).await;
    assert_eq!(s, 200, "a started sandbox serves the saved tables: {got}");
    assert_eq!(got["U_Key"], "amz:1");
    let (s, _, dup) = send(
        &sb,
        &c,
        &cookie,
        "POST",
        "U_MLC_KEYS",
        &[],
        Some(&row("k1", "x")),
    )
    .await;
    assert_eq!((s, error_code(&dup)), (400, "-2035"));
    let (s, _, field) = send(
        &sb,
        &c,
        &cookie,
        "GET",
        "UserFieldsMD(TableName='@MLC_KEYS',FieldID=1)",
        &[],
        None,
    )
    .await;
    assert_eq!((s, field["Name"].clone()), (200, json!("Doc")));
    sb.shutdown().await;
}
