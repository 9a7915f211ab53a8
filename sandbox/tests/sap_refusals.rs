//! Requests real SAP refuses, refused by the fake Service Layer too (issue #13): over-long
//! strings, undeclared UDFs, manual postings to blocked accounts, locked posting periods,
//! branches, cancelled documents, `%2F` in key paths, and the 9.3-era property set.

mod common;

use common::*;
use sandbox::sap::schema::SapProfile;
use serde_json::{Value, json};

fn long(n: usize) -> String {
    "x".repeat(n)
}

/// The error text of a v2 (`"message": "…"`) or v1 (`"message": {"value": "…"}`) body.
fn message(b: &Value) -> &str {
    let m = &b["error"]["message"];
    m.as_str()
        .or_else(|| m["value"].as_str())
        .unwrap_or_default()
}

fn je(date: &str, debit_account: &str) -> Value {
    json!({"ReferenceDate": date, "Memo": "m", "JournalEntryLines": [
        {"AccountCode": debit_account, "Debit": 5},
        {"AccountCode": "1420", "Credit": 5},
    ]})
}

#[tokio::test]
async fn over_long_strings_are_refused_not_truncated() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let mut inv = invoice("TM-MUG-0000", &long(101));
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        message(&b),
        "CServiceData::SetPropertyValueString failed; Value too long in property 'NumAtCard' of 'Document'"
    );
    inv["NumAtCard"] = json!(long(100));
    inv["DocumentLines"][0]["FreeText"] = json!(long(101));
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 400, "{b}");
    assert!(
        message(&b).ends_with("Value too long in property 'FreeText' of 'DocumentLine'"),
        "{b}"
    );
    inv["DocumentLines"][0]["FreeText"] = json!(long(100));
    let (s, b) = sap_post(&sb, &c, &cookie, "v1", "Invoices", &inv).await;
    assert_eq!(s, 201, "exactly at the limit is fine: {b}");
    let mut entry = je("2026-03-09", "6100");
    entry["Memo"] = json!(long(51));
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "JournalEntries", &entry).await;
    assert_eq!(s, 400, "{b}");
    assert!(message(&b).ends_with("'Memo' of 'JournalEntry'"), "{b}");
    let mut entry = je("2026-03-09", "6100");
    entry["JournalEntryLines"][0]["LineMemo"] = json!(long(51));
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "JournalEntries", &entry).await;
    assert_eq!(s, 400, "{b}");
    assert!(
        message(&b).ends_with("'LineMemo' of 'JournalEntryLine'"),
        "{b}"
    );
    let pay = json!({"CardCode": "C-AMZ-DE", "TransferAccount": "1420", "TransferSum": 1, "TransferReference": long(28)});
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "IncomingPayments", &pay).await;
    assert_eq!(s, 400, "{b}");
    assert!(
        message(&b).ends_with("'TransferReference' of 'Payment'"),
        "{b}"
    );
    assert_eq!(sb.sap_count("JournalEntries"), 0);
    assert_eq!(sb.sap_count("IncomingPayments"), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn over_long_strings_inside_a_batch_fail_their_changeset() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let mut bad = je("2026-03-09", "6100");
    bad["Reference3"] = json!(long(101));
    let part = |id: u32, body: &Value| {
        format!(
            "--changeset_c1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {id}\r\n\r\nPOST /b1s/v2/JournalEntries HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{body}\r\n"
        )
    };
    let body = format!(
        "--batch_b1\r\nContent-Type: multipart/mixed;boundary=changeset_c1\r\n\r\n{}{}--changeset_c1--\r\n--batch_b1--\r\n",
        part(1, &je("2026-03-09", "6100")),
        part(2, &bad)
    );
    let r = c
        .post(format!("{}/$batch", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .header("Content-Type", "multipart/mixed;boundary=batch_b1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Value too long in property 'Reference3' of 'JournalEntry'"),
        "{text}"
    );
    assert_eq!(
        sb.sap_count("JournalEntries"),
        0,
        "the changeset rolled back"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn udfs_must_be_declared_and_loaded_and_fit_their_size() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let mut inv = invoice("TM-MUG-0000", "u1");
    inv["U_AmzKey"] = json!("amz:S:order:1:invoice");
    let undeclared = |s: u16, b: &Value| {
        assert_eq!(s, 400, "{b}");
        assert_eq!(b["error"]["code"], "-1000", "{b}");
        assert_eq!(message(b), "Property 'U_AmzKey' of 'Document' is invalid");
    };
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    undeclared(s, &b);
    let (s, b) = sap_get(&sb, &c, &cookie, "v2", "Invoices?$select=DocEntry,U_AmzKey").await;
    undeclared(s, &b);
    let (s, b) = sap_get(&sb, &c, &cookie, "v2", "Invoices?$filter=U_AmzKey eq 'x'").await;
    undeclared(s, &b);
    let field = json!({"Name": "AmzKey", "Type": "db_Alpha", "Size": 60, "Description": "Amazon key", "TableName": "OINV"});
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "UserFieldsMD", &field).await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    undeclared(s, &b); // not before the Service Layer restarts (WSL §7.2)
    sb.restart_service_layer();
    let cookie = login(&sb, &c, "v2").await;
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices?$select=DocEntry,U_AmzKey&$filter=U_AmzKey eq 'amz:S:order:1:invoice'",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["value"][0]["U_AmzKey"], "amz:S:order:1:invoice");
    // A field on OINV is a property of every marketing document (WSL §3.14).
    let mut credit = invoice("TM-MUG-0000", "u2");
    credit["U_AmzKey"] = json!(long(61));
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "CreditNotes", &credit).await;
    assert_eq!(s, 400, "{b}");
    assert!(
        message(&b).ends_with("Value too long in property 'U_AmzKey' of 'Document'"),
        "{b}"
    );
    credit["U_AmzKey"] = json!(long(60));
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "CreditNotes", &credit).await;
    assert_eq!(s, 201, "{b}");
    // PATCH and $orderby check UDFs the same way.
    let r = c
        .patch(format!("{}/Invoices(1)", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .json(&json!({"U_Other": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (s, b) = sap_get(&sb, &c, &cookie, "v2", "Invoices?$orderby=U_Other desc").await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(message(&b), "Property 'U_Other' of 'Document' is invalid");
    // Lines do not carry header fields.
    inv["DocumentLines"][0]["U_AmzKey"] = json!("x");
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        message(&b),
        "Property 'U_AmzKey' of 'DocumentLine' is invalid"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn manual_journal_lines_refuse_blocked_accounts() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    for (code, flag) in [
        ("9910", json!({"LockManualTransaction": "tYES"})),
        ("9930", json!({"BlockManualPosting": "tYES"})),
        ("9940", json!({"ReconciledAccount": "tYES"})),
        (
            "9950",
            json!({"ValidFor": "tYES", "ValidFrom": "2026-01-01", "ValidTo": "2026-02-28"}),
        ),
        (
            "9960",
            json!({"FrozenFor": "tYES", "FrozenFrom": "2026-03-01", "FrozenTo": "2026-03-31"}),
        ),
    ] {
        let mut acct = json!({"Code": code, "Name": code});
        for (k, v) in flag.as_object().unwrap() {
            acct[k] = v.clone();
        }
        let (s, b) = sap_post(&sb, &c, &cookie, "v2", "ChartOfAccounts", &acct).await;
        assert_eq!(s, 201, "{b}");
    }
    for (code, text) in [
        ("9910", "control account"),
        ("9930", "Manual postings"),
        ("9940", "reconciliation account"),
        ("9950", "inactive"),
        ("9960", "inactive"),
    ] {
        let (s, b) = sap_post(
            &sb,
            &c,
            &cookie,
            "v2",
            "JournalEntries",
            &je("2026-03-09", code),
        )
        .await;
        assert_eq!(s, 400, "{code}: {b}");
        assert_eq!(b["error"]["code"], "-10", "{b}");
        assert!(message(&b).contains(text), "{code}: {b}");
    }
    assert_eq!(sb.sap_count("JournalEntries"), 0);
    // Outside the frozen range, inside the valid range: accepted.
    for (code, date) in [("9960", "2026-04-01"), ("9950", "2026-02-15")] {
        let (s, b) = sap_post(&sb, &c, &cookie, "v2", "JournalEntries", &je(date, code)).await;
        assert_eq!(s, 201, "{code} on {date}: {b}");
    }
    // A payment is not a manual journal entry: the control flag does not apply to it.
    let pay = json!({"CardCode": "C-AMZ-DE", "TransferAccount": "9910", "TransferSum": 1});
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "IncomingPayments", &pay).await;
    assert_eq!(s, 201, "{b}");
    sb.shutdown().await;
}

#[tokio::test]
async fn locked_posting_periods_refuse_documents_payments_and_journal_entries() {
    let sb = start(20).await;
    for (n, from, to, status) in [
        (1, "2026-02-01", "2026-02-28", "ltUnlocked"),
        (2, "2026-03-01", "2026-03-31", "ltUnlocked"),
        (3, "2026-04-01", "2026-04-30", "ltUnlockedExceptSales"),
    ] {
        sb.sap_set_finance_period(json!({"AbsoluteEntry": n, "PeriodCode": format!("2026-0{}", n + 1), "PostingDateFrom": from, "PostingDateTo": to, "PeriodStatus": status}));
    }
    let c = client();
    // February is locked over HTTP, as an administrator's tool would.
    let cookie = login(&sb, &c, "v1").await;
    let lock = json!({"FinancePeriod": {"AbsoluteEntry": 1, "PeriodStatus": "ltLocked"}});
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v1",
        "CompanyService_UpdateFinancePeriod",
        &lock,
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let cookie = login(&sb, &c, "v2").await;
    let params = json!({"PeriodCategoryParams": {"AbsoluteEntry": 1}});
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "CompanyService_GetFinancePeriods",
        &params,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["value"][0]["PeriodStatus"], "ltLocked", "{b}");
    assert_eq!(
        b["value"][0]["PostingDateFrom"], "2026-02-01T00:00:00Z",
        "{b}"
    );
    let unknown = json!({"FinancePeriod": {"AbsoluteEntry": 9, "PeriodStatus": "ltLocked"}});
    let (s, _) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "CompanyService_UpdateFinancePeriod",
        &unknown,
    )
    .await;
    assert_eq!(s, 400);
    let locked = |s: u16, b: &Value| {
        assert_eq!(s, 400, "{b}");
        assert_eq!(
            message(b),
            "Posting period locked; specify an alternative date"
        );
    };
    let mut inv = invoice("TM-MUG-0000", "p1");
    inv["DocDate"] = json!("2026-02-15");
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    locked(s, &b);
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "JournalEntries",
        &je("2026-02-15", "6100"),
    )
    .await;
    locked(s, &b);
    let pay = json!({"CardCode": "C-AMZ-DE", "DocDate": "2026-02-15", "TransferAccount": "1420", "TransferSum": 1});
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "IncomingPayments", &pay).await;
    locked(s, &b);
    // "Unlocked except sales": no invoice, but a journal entry is fine.
    inv["DocDate"] = json!("2026-04-02");
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    locked(s, &b);
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "JournalEntries",
        &je("2026-04-02", "6100"),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    // No period at all covers 2027.
    inv["DocDate"] = json!("2027-01-05");
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 400, "{b}");
    inv["DocDate"] = json!("2026-03-09");
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(sb.sap_count("Invoices"), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn with_branches_enabled_postings_name_an_existing_branch() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let inv = invoice("TM-MUG-0000", "b1");
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 201, "branches off: no branch needed: {b}");
    sb.sap_enable_branches(true);
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 400, "{b}");
    assert!(message(&b).contains("BPL_IDAssignedToInvoice"), "{b}");
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "BusinessPlaces",
        &json!({"BPLID": 7, "BPLName": "Main"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let mut with = inv.clone();
    with["BPL_IDAssignedToInvoice"] = json!(8);
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &with).await;
    assert_eq!(
        (s, b["error"]["code"].clone()),
        (400, json!("-2028")),
        "{b}"
    );
    with["BPL_IDAssignedToInvoice"] = json!(7);
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &with).await;
    assert_eq!(s, 201, "{b}");
    let mut entry = je("2026-03-09", "6100");
    entry["JournalEntryLines"][0]["BPLID"] = json!(7);
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "JournalEntries", &entry).await;
    assert_eq!(s, 400, "every line needs its branch: {b}");
    entry["JournalEntryLines"][1]["BPLID"] = json!(7);
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "JournalEntries", &entry).await;
    assert_eq!(s, 201, "{b}");
    sb.shutdown().await;
}

async fn cancel(sb: &sandbox::Sandbox, cookie: &str, version: &str, path: &str) -> (u16, String) {
    let r = client()
        .post(format!("{}/b1s/{version}/{path}/Cancel", sb.sap_origin()))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn cancelling_a_document_adds_its_cancellation_and_refuses_paid_ones() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let stock = |sb: &sandbox::Sandbox| {
        sb.sap_entity(
            "Items",
            &sandbox::sap::store::Key::Str("TM-MUG-0000".into()),
        )
        .unwrap()["QuantityOnStock"]
            .clone()
    };
    let before = stock(&sb);
    let (s, inv) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "c1"),
    )
    .await;
    assert_eq!(s, 201, "{inv}");
    let (s, text) = cancel(&sb, &cookie, "v2", "Invoices(1)").await;
    assert_eq!(s, 204, "{text}");
    let (_, orig) = sap_get(&sb, &c, &cookie, "v2", "Invoices(1)").await;
    assert_eq!(orig["Cancelled"], "tYES");
    assert_eq!(orig["CancelStatus"], "csYes");
    assert_eq!(orig["DocumentStatus"], "bost_Close");
    let (_, rev) = sap_get(&sb, &c, &cookie, "v2", "Invoices(2)").await;
    assert_eq!(rev["CancelStatus"], "csCancellation");
    assert_eq!(rev["DocNum"], 100002);
    assert_eq!(rev["NumAtCard"], "c1");
    assert_eq!(stock(&sb), before, "the goods came back");
    let (s, _) = cancel(&sb, &cookie, "v2", "Invoices(1)").await;
    assert_eq!(s, 400, "already cancelled");
    let (s, _) = cancel(&sb, &cookie, "v2", "Invoices(2)").await;
    assert_eq!(s, 400, "a cancellation document is not cancelled");
    let (s, _) = cancel(&sb, &cookie, "v2", "Invoices(99)").await;
    assert_eq!(s, 404);
    // A paid invoice: the payment must go first.
    let (_, paid) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "c2"),
    )
    .await;
    let pay = json!({"CardCode": "C-AMZ-UK", "TransferAccount": "1420", "TransferSum": 5, "PaymentInvoices": [{"DocEntry": paid["DocEntry"], "SumApplied": 5, "InvoiceType": "it_Invoice"}]});
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "IncomingPayments", &pay).await;
    assert_eq!(s, 201, "{b}");
    let (s, text) = cancel(
        &sb,
        &cookie,
        "v1",
        &format!("Invoices({})", paid["DocEntry"]),
    )
    .await;
    assert_eq!(s, 400, "{text}");
    assert!(text.contains("payments"), "{text}");
    // v1 cancels credit notes too.
    let (_, cn) = sap_post(
        &sb,
        &c,
        &cookie,
        "v1",
        "CreditNotes",
        &invoice("TM-MUG-0000", "c3"),
    )
    .await;
    let (s, text) = cancel(
        &sb,
        &cookie,
        "v1",
        &format!("CreditNotes({})", cn["DocEntry"]),
    )
    .await;
    assert_eq!(s, 204, "{text}");
    let (_, b) = sap_get(
        &sb,
        &c,
        &cookie,
        "v1",
        "CreditNotes?$filter=Cancelled eq 'tYES'&$select=DocEntry",
    )
    .await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1, "{b}");
    sb.shutdown().await;
}

#[tokio::test]
async fn encoded_slashes_in_key_paths_are_refused_by_the_front_like_apache() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Items",
        &json!({"ItemCode": "A/B", "ItemName": "slash"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let r = c
        .get(format!("{}/Items('A%2FB')", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("<h1>Not Found</h1>"));
    let (s, b) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        "Items?$filter=ItemCode eq 'A%2FB'&$select=ItemCode",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["value"][0]["ItemCode"], "A/B");
    sb.shutdown().await;
}

#[tokio::test]
async fn the_9_3_profile_knows_no_paid_to_date() {
    let mut cfg = config(20);
    cfg.sap_profile = SapProfile::Sl93;
    let sb = sandbox::Sandbox::start(cfg).await.unwrap();
    let c = client();
    for v in ["v1", "v2"] {
        let cookie = login(&sb, &c, v).await;
        let (s, b) = sap_get(
            &sb,
            &c,
            &cookie,
            v,
            "Invoices?$select=DocEntry,DocTotal,PaidToDate,Cancelled",
        )
        .await;
        assert_eq!(s, 400, "{b}");
        assert_eq!(
            message(&b),
            "Property 'PaidToDate' of 'Document' is invalid",
            "{v}: {b}"
        );
    }
    let cookie = login(&sb, &c, "v2").await;
    let mut inv = invoice("TM-MUG-0000", "9.3");
    let (s, created) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 201, "{created}");
    assert!(created.get("PaidToDate").is_none(), "{created}");
    assert!(created.get("DocTotal").is_some());
    inv["PaidToDate"] = json!(0);
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = sap_get(&sb, &c, &cookie, "v2", "Invoices?$filter=PaidToDate eq 0").await;
    assert_eq!(s, 400, "{b}");
    sb.shutdown().await;
    // The default profile (FP 22xx) serves PaidToDate.
    let sb = start(20).await;
    let cookie = login(&sb, &c, "v2").await;
    let (s, b) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices?$select=DocEntry,PaidToDate",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    sb.shutdown().await;
}
