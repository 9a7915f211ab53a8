//! Reports: listing with `nextToken` alone, waiting on a report, documents with gzip and charsets.

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use futures::TryStreamExt;
use serde_json::json;
use sp_api_client::Error;
use sp_api_client::reports::{ProcessingStatus, Report, ReportOutcome, ReportSpec};
use sp_api_client::types::ReportId;
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

const MODEL: &str = "reports_2021-06-30.json";

fn report(id: &str, status: &str) -> serde_json::Value {
    json!({
        "reportId": id,
        "reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
        "processingStatus": status,
        "createdTime": "2026-05-01T00:00:00Z",
        "marketplaceIds": ["A1PA6795UKMFR9"],
        "reportDocumentId": format!("doc-{id}")
    })
}

#[tokio::test(start_paused = true)]
async fn settlement_reports_are_listed_and_paged_with_next_token_alone() {
    // Within Amazon's 90-day listing horizon, so sent as given.
    let since = (chrono::Utc::now() - chrono::Duration::days(30))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let since_text = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/reports"))
        .and(query_param(
            "reportTypes",
            "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
        ))
        .and(query_param("processingStatuses", "DONE"))
        .and(query_param("createdSince", since_text.as_str()))
        .and(query_param("pageSize", "100"))
        .and(query_param_is_missing("nextToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "reports": [report("1", "DONE"), report("2", "DONE")],
            "nextToken": "page-2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/reports"))
        .and(query_param("nextToken", "page-2"))
        .and(query_param_is_missing("reportTypes"))
        .and(query_param_is_missing("processingStatuses"))
        .and(query_param_is_missing("createdSince"))
        .and(query_param_is_missing("pageSize"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"reports": [report("3", "DONE")]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let reports: Vec<Report> = client(&server)
        .settlement_reports_since(since)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = reports.iter().map(|r| r.report_id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
}

async fn mount_report_statuses(server: &wiremock::MockServer, statuses: &[&str]) {
    for (i, status) in statuses.iter().enumerate() {
        Mock::given(method("GET"))
            .and(path("/reports/2021-06-30/reports/R1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(report("R1", status)))
            .up_to_n_times(1)
            .with_priority(1 + i as u8)
            .expect(1)
            .mount(server)
            .await;
    }
}

#[tokio::test(start_paused = true)]
async fn wait_polls_until_done() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    mount_report_statuses(&server, &["IN_QUEUE", "IN_PROGRESS", "DONE"]).await;
    let handle = sp_api_client::reports::ReportHandle::new(client(&server), ReportId::from("R1"));
    let outcome = handle
        .wait(Duration::from_secs(30), Duration::from_secs(600))
        .await
        .unwrap();
    let ReportOutcome::Done(report) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(report.processing_status, ProcessingStatus::Done);
}

#[tokio::test(start_paused = true)]
async fn wait_treats_cancelled_as_no_data_and_fatal_as_error() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    mount_report_statuses(&server, &["IN_PROGRESS", "CANCELLED", "FATAL"]).await;
    let handle = sp_api_client::reports::ReportHandle::new(client(&server), ReportId::from("R1"));
    let outcome = handle
        .wait(Duration::from_secs(30), Duration::from_secs(600))
        .await
        .unwrap();
    assert!(matches!(outcome, ReportOutcome::NoData(_)), "{outcome:?}");
    let err = handle
        .wait(Duration::from_secs(30), Duration::from_secs(600))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ReportFatal { ref report_id, .. } if report_id == "R1"),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_gives_up_at_the_timeout() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/reports/R1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(report("R1", "IN_QUEUE")))
        .expect(4)
        .mount(&server)
        .await;
    let handle = sp_api_client::reports::ReportHandle::new(client(&server), ReportId::from("R1"));
    let err = handle
        .wait(Duration::from_secs(60), Duration::from_secs(200))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::WaitTimeout { ref status, .. } if status == "IN_QUEUE"),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn create_report_sends_the_spec_and_refuses_settlement_types() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/reports/2021-06-30/reports"))
        .and(body_json(json!({
            "reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
            "marketplaceIds": ["A1PA6795UKMFR9"],
            "dataStartTime": "2026-04-01T00:00:00Z",
            "dataEndTime": "2026-04-02T00:00:00Z"
        })))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"reportId": "ID323"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let handle = client
        .request_all_orders_report(
            &["A1PA6795UKMFR9"],
            t("2026-04-01T00:00:00Z"),
            Some(t("2026-04-02T00:00:00Z")),
        )
        .await
        .unwrap();
    assert_eq!(handle.report_id.as_str(), "ID323");
    let err = client
        .create_report(&ReportSpec::new(
            "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
            ["A1PA6795UKMFR9"],
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[tokio::test(start_paused = true)]
async fn gzip_cp1252_settlement_document_decodes_to_the_right_text() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    let text = "settlement-id\tamount-description\tamount\n123\tGebühr für Größe – Straße\t-1,50\n";
    let cp1252 = encoding_rs::WINDOWS_1252.encode(text).0.into_owned();
    assert_ne!(cp1252, text.as_bytes(), "the fixture really is not UTF-8");
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/documents/doc-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "reportDocumentId": "doc-1",
            "url": format!("{}/s3/doc-1", server.uri()),
            "compressionAlgorithm": "GZIP"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/s3/doc-1"))
        .and(|req: &wiremock::Request| !req.headers.contains_key("x-amz-access-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/plain;charset=Cp1252")
                .set_body_bytes(gzip(&cp1252)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let report: Report = serde_json::from_value(report("1", "DONE")).unwrap();
    let doc = client(&server)
        .download_report(&report, encoding_rs::UTF_8)
        .await
        .unwrap();
    assert_eq!(doc.text, text);
    assert!(doc.was_gzipped);
    assert_eq!(doc.encoding, encoding_rs::WINDOWS_1252);
    assert!(!doc.had_errors);
}

#[tokio::test(start_paused = true)]
async fn gzip_without_declared_compression_or_charset_uses_magic_bytes_and_fallback() {
    let server = server().await;
    let text = "注文番号\t数量\n250-1234567-8901234\t1\n";
    let sjis = encoding_rs::SHIFT_JIS.encode(text).0.into_owned();
    Mock::given(method("GET"))
        .and(path("/s3/jp"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/plain")
                .set_body_bytes(gzip(&sjis)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let jp = sp_api_client::Marketplace::by_country("JP").unwrap();
    let doc = client(&server)
        .download_document(
            &format!("{}/s3/jp", server.uri()),
            None,
            jp.fallback_report_encoding(),
        )
        .await
        .unwrap();
    assert_eq!(doc.text, text);
    assert!(doc.was_gzipped);
}

#[test]
fn every_reports_sandbox_example_deserialises() {
    use sp_api_client::reports::{GetReportsResponse, ReportDocument};
    for (status, _, response) in sandbox_cases(MODEL, "getReports") {
        if status == "200" {
            serde_json::from_value::<GetReportsResponse>(response).unwrap();
        }
    }
    for (status, _, response) in sandbox_cases(MODEL, "getReport") {
        if status == "200" {
            serde_json::from_value::<Report>(response).unwrap();
        }
    }
    for (status, _, response) in sandbox_cases(MODEL, "getReportDocument") {
        if status == "200" {
            serde_json::from_value::<ReportDocument>(response).unwrap();
        }
    }
    for op in [
        "getReports",
        "getReport",
        "getReportDocument",
        "createReport",
    ] {
        for (status, _, response) in sandbox_cases(MODEL, op) {
            if status == "400" {
                let errors: Vec<sp_api_client::ApiErrorDetail> =
                    serde_json::from_value(response["errors"].clone()).unwrap();
                assert!(!errors.is_empty());
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn create_report_sandbox_case_round_trips() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    let response = sandbox_response(MODEL, "createReport", "202", 0);
    Mock::given(method("POST"))
        .and(path("/reports/2021-06-30/reports"))
        .respond_with(ResponseTemplate::new(202).set_body_json(response))
        .expect(1)
        .mount(&server)
        .await;
    let handle = client(&server)
        .create_report(&ReportSpec::new(
            "GET_MERCHANT_LISTINGS_ALL_DATA",
            ["A1PA6795UKMFR9", "ATVPDKIKX0DER"],
        ))
        .await
        .unwrap();
    assert_eq!(handle.report_id.as_str(), "ID323");
}
