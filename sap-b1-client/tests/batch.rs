//! `$batch`: request framing on the wire and tolerant parsing of SAP's answers.

mod common;

use common::*;
use sap_b1_client::entities::Document;
use sap_b1_client::{Batch, BatchResponse, BatchResult, ChangeSet, Error, Key};
use wiremock::matchers::{body_string_contains, header_regex, method, path};
use wiremock::{Mock, ResponseTemplate};

/// SAP v2 layout: MIME Content-ID before the status line; the second changeset failed
/// (SAP answers a failed changeset with one error part, not wrapped in a changeset).
const TWO_CHANGESETS_ONE_FAILS: &str = "--batchresponse_77\r\n\
Content-Type: multipart/mixed;boundary=changesetresponse_a\r\n\
\r\n\
--changesetresponse_a\r\n\
Content-Type: application/http\r\n\
Content-Transfer-Encoding: binary\r\n\
Content-ID: 1\r\n\
\r\n\
HTTP/1.1 201 Created\r\n\
Content-Type: application/json;odata.metadata=minimal;charset=utf-8\r\n\
Location: https://sap:50000/b1s/v2/Invoices(501)\r\n\
OData-Version: 4.0\r\n\
\r\n\
{\"DocEntry\":501,\"DocNum\":9001}\r\n\
--changesetresponse_a\r\n\
Content-Type: application/http\r\n\
Content-Transfer-Encoding: binary\r\n\
Content-ID: 2\r\n\
\r\n\
HTTP/1.1 204 No Content\r\n\
\r\n\
\r\n\
--changesetresponse_a--\r\n\
--batchresponse_77\r\n\
Content-Type: application/http\r\n\
Content-Transfer-Encoding: binary\r\n\
\r\n\
HTTP/1.1 404 Not Found\r\n\
Content-ID: 3\r\n\
Content-Type: application/json;odata.metadata=minimal;charset=utf-8\r\n\
OData-Version: 4.0\r\n\
\r\n\
{\"error\":{\"code\":\"-2028\",\"details\":[{\"code\":\"\",\"message\":\"\"}],\"message\":\"No matching records found (ODBC -2028)\"}}\r\n\
--batchresponse_77--\r\n";

#[tokio::test]
async fn a_batch_of_two_changesets_where_one_part_fails() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}$batch")))
        .and(header_regex(
            "Content-Type",
            "^multipart/mixed;boundary=batch_",
        ))
        .and(body_string_contains(
            "Content-ID: 1\r\n\r\nPOST /b1s/v2/Invoices HTTP/1.1\r\n",
        ))
        .and(body_string_contains(
            "Content-ID: 2\r\n\r\nPATCH /b1s/v2/$1 HTTP/1.1\r\n",
        ))
        .and(body_string_contains(
            "Content-ID: 3\r\n\r\nPATCH /b1s/v2/Items('NOPE') HTTP/1.1\r\n",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            TWO_CHANGESETS_ONE_FAILS,
            "multipart/mixed;boundary=batchresponse_77",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let invoice = Document {
        card_code: Some("C1".into()),
        ..Default::default()
    };
    let batch = Batch::new()
        .changeset(
            ChangeSet::new()
                .post("Invoices", &invoice)
                .unwrap()
                .patch("$1", &serde_json::json!({"Comments": "x"}))
                .unwrap(),
        )
        .changeset(
            ChangeSet::new()
                .patch("Items('NOPE')", &serde_json::json!({"ItemName": "y"}))
                .unwrap(),
        );
    let response = client(&server).batch(&batch).await.unwrap();

    assert_eq!(response.results.len(), 2);
    let BatchResult::ChangeSet(first) = &response.results[0] else {
        panic!("{response:?}")
    };
    assert_eq!(first.len(), 2);
    assert_eq!(
        (first[0].content_id.as_deref(), first[0].status),
        (Some("1"), 201)
    );
    assert_eq!(first[0].location_key(), Some(Key::Int(501)));
    let created: Document = first[0].json().unwrap();
    assert_eq!(created.doc_num, Some(9001));
    assert_eq!((first[1].status, first[1].body.as_str()), (204, ""));
    let BatchResult::Single(failed) = &response.results[1] else {
        panic!("{response:?}")
    };
    assert_eq!(
        (failed.content_id.as_deref(), failed.status),
        (Some("3"), 404)
    );
    assert!(matches!(failed.error(), Some(Error::NotFound(_))));
    assert!(matches!(response.first_error(), Some(Error::NotFound(_))));
}

#[test]
fn v1_layout_lf_framing_and_an_html_error_part() {
    // v1 as captured by B1SLayer: Content-ID after the status line; LF-only line ends; an
    // Apache HTML page as the failing part.
    let body = "--batchresponse_1\n\
Content-Type: multipart/mixed; boundary=\"changesetresponse_2\"\n\
\n\
--changesetresponse_2\n\
Content-Type: application/http\n\
Content-Transfer-Encoding: binary\n\
\n\
HTTP/1.1 201 Created\n\
Content-ID: 1\n\
Content-Type: application/json;odata=minimalmetadata;charset=utf-8\n\
\n\
{\"odata.metadata\":\"x\",\"CardCode\":\"c1\"}\n\
--changesetresponse_2--\n\
--batchresponse_1\n\
Content-Type: application/http\n\
Content-Transfer-Encoding: binary\n\
\n\
HTTP/1.1 502 Proxy Error\n\
Content-Type: text/html\n\
\n\
<html><head><title>502 Proxy Error</title></head></html>\n\
--batchresponse_1\n\
Content-Type: application/http\n\
Content-Transfer-Encoding: binary\n\
\n\
HTTP/1.1 500 Internal Server Error\n\
\n\
\n\
--batchresponse_1--\n";
    let response = BatchResponse::parse(body, "batchresponse_1").unwrap();
    let parts: Vec<_> = response.parts().collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        (parts[0].content_id.as_deref(), parts[0].status),
        (Some("1"), 201)
    );
    assert!(matches!(parts[1].error(), Some(Error::Transient(_))));
    assert_eq!(parts[2].body, "");
    assert!(matches!(parts[2].error(), Some(Error::Transient(_))));
}

#[test]
fn a_truncated_answer_is_an_error_not_a_silent_partial_result() {
    let body = "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 201 Created\r\n\r\n{}\r\n";
    assert!(matches!(
        BatchResponse::parse(body, "b"),
        Err(Error::UnexpectedResponse { .. })
    ));
}

#[tokio::test]
async fn a_batch_with_writes_is_outcome_unknown_on_502() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}$batch")))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let batch = Batch::new().changeset(ChangeSet::new().action("Invoices(1)/Cancel"));
    let err = client(&server).batch(&batch).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
}
