//! Reports API 2021-06-30. Settlement reports cannot be created; each appears (DONE) only after
//! its settlement closes. Created all-orders reports finish DONE with a document built from the
//! world's orders (CANCELLED when there is no data, as Amazon documents); other created types end
//! CANCELLED. Documents are served from a pre-signed-style URL as gzip bytes with a
//! charset, expiring after 5 minutes like S3 URLs.

use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ratelimit::{CREATE_REPORT, GET_REPORT, GET_REPORT_DOCUMENT, GET_REPORTS};
use super::{Params, gate, iso, parse_iso};
use crate::Shared;
use crate::world::settlement::to_flat_file_v2;
use crate::world::{Settlement, World};

/// The only settlement report type still produced.
pub const SETTLEMENT_V2: &str = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2";

/// How long after the settlement end its report is listed.
// INVENTED: Amazon generates settlement reports on its own schedule after a settlement closes
// and publishes no delay; one hour keeps a just-closed settlement invisible for a while, as a
// client must expect.
const REPORT_DELAY_MINUTES: i64 = 60;

/// How long a created report stays IN_QUEUE before it is DONE (or CANCELLED), in Amazon's time;
/// the sandbox divides it by `time_scale`, as its buckets refill `time_scale` times faster.
// INVENTED: the Reports API gives no processing time; 30 s makes a client poll getReport.
const CREATE_PROCESSING_SECONDS: i64 = 30;

pub use super::order_reports::ALL_ORDERS_REPORTS;

/// A report made with createReport.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedReport {
    /// reportId.
    pub id: String,
    /// reportType.
    pub report_type: String,
    /// marketplaceIds.
    pub marketplace_ids: Vec<String>,
    /// createdTime.
    pub created: DateTime<Utc>,
    /// dataStartTime (default: 30 days before createdTime).
    #[serde(default)]
    pub data_start: Option<DateTime<Utc>>,
    /// dataEndTime (default: createdTime).
    #[serde(default)]
    pub data_end: Option<DateTime<Utc>>,
    /// How long it is IN_QUEUE, in sandbox milliseconds (default: 30 s).
    #[serde(default)]
    pub processing_ms: Option<i64>,
}

impl CreatedReport {
    fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            self.data_start.unwrap_or(self.created - Duration::days(30)),
            self.data_end.unwrap_or(self.created),
        )
    }

    fn processing(&self) -> Duration {
        self.processing_ms.map_or(
            Duration::seconds(CREATE_PROCESSING_SECONDS),
            Duration::milliseconds,
        )
    }

    fn document_id(&self) -> String {
        format!("amzn1.spdoc.1.4.eu.{}", self.id)
    }
}

/// The report's data, `None` when the sandbox cannot generate this type or nothing matches
/// (Amazon: a report "is automatically cancelled if there is no data to return",
/// https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference, `CANCELLED`).
fn created_report_data(r: &CreatedReport, world: &World) -> Option<String> {
    if !ALL_ORDERS_REPORTS.contains(&r.report_type.as_str()) {
        // INVENTED: every other type ends CANCELLED, as if it had no data; the sandbox does not
        // generate them.
        return None;
    }
    let (start, end) = r.window();
    super::order_reports::all_orders_text(world, &r.report_type, &r.marketplace_ids, start, end)
}

fn visible(s: &Settlement, now: DateTime<Utc>) -> bool {
    s.end + Duration::minutes(REPORT_DELAY_MINUTES) <= now
}

fn settlement_report(s: &Settlement) -> Value {
    let created = s.end + Duration::minutes(REPORT_DELAY_MINUTES);
    json!({
        "reportId": s.report_id,
        "reportType": SETTLEMENT_V2,
        "dataStartTime": iso(s.start),
        "dataEndTime": iso(s.end),
        "createdTime": iso(created),
        "processingStatus": "DONE",
        "processingStartTime": iso(created),
        "processingEndTime": iso(created),
        "reportDocumentId": s.document_id,
    })
}

fn created_done(r: &CreatedReport, now: DateTime<Utc>) -> bool {
    now - r.created > r.processing()
}

fn created_report(r: &CreatedReport, world: &World, now: DateTime<Utc>) -> Value {
    let done = created_done(r, now);
    let (start, end) = r.window();
    let mut v = json!({
        "reportId": r.id,
        "reportType": r.report_type,
        "marketplaceIds": r.marketplace_ids,
        "dataStartTime": iso(start),
        "dataEndTime": iso(end),
        "createdTime": iso(r.created),
        "processingStatus": "IN_QUEUE",
    });
    if done {
        let has_data = created_report_data(r, world).is_some();
        v["processingStatus"] = Value::from(if has_data { "DONE" } else { "CANCELLED" });
        v["processingStartTime"] = Value::from(iso(r.created));
        v["processingEndTime"] = Value::from(iso(r.created + r.processing()));
        if has_data {
            v["reportDocumentId"] = Value::from(r.document_id());
        }
    }
    v
}

/// The document of a finished created report, by document id.
fn created_document(
    shared: &Shared,
    world: &World,
    id: &str,
    now: DateTime<Utc>,
) -> Option<String> {
    let reports = shared.amazon.created_reports.lock().expect("reports");
    let r = reports
        .iter()
        .find(|r| r.document_id() == id && created_done(r, now))?;
    created_report_data(r, world)
}

fn all_reports(shared: &Shared, world: &World, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, Value)> {
    let mut v: Vec<(DateTime<Utc>, Value)> = world
        .settlements
        .iter()
        .filter(|s| visible(s, now))
        .map(|s| {
            (
                s.end + Duration::minutes(REPORT_DELAY_MINUTES),
                settlement_report(s),
            )
        })
        .collect();
    for r in shared
        .amazon
        .created_reports
        .lock()
        .expect("reports")
        .iter()
    {
        v.push((r.created, created_report(r, world, now)));
    }
    v.sort_by_key(|r| std::cmp::Reverse(r.0));
    v
}

/// `GET /reports/2021-06-30/reports`.
pub(crate) async fn get_reports(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let fin = match gate(&shared, &headers, &GET_REPORTS).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut p = Params::parse(q.as_deref());
    let mut offset = 0usize;
    if let Some(token) = p.get("nextToken").map(str::to_string) {
        if p.0.len() > 1 {
            return fin.error(
                400,
                "InvalidInput",
                "When nextToken is specified, no other parameters may be specified.",
            );
        }
        let Some((off, orig)) = token.split_once(':').and_then(|(o, h)| {
            Some((
                o.parse().ok()?,
                String::from_utf8(hex::decode(h).ok()?).ok()?,
            ))
        }) else {
            return fin.error(400, "InvalidInput", "Invalid nextToken.");
        };
        offset = off;
        p = Params::parse(Some(&orig));
    }
    let types = p.list("reportTypes");
    if types.is_empty() {
        return fin.error(400, "InvalidInput", "reportTypes or nextToken is required.");
    }
    let statuses = p.list("processingStatuses");
    let page: usize = match p.get("pageSize").map(str::parse) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return fin.error(400, "InvalidInput", "pageSize must be between 1 and 100."),
    };
    let now = shared.clock.now();
    let since = p
        .get("createdSince")
        .and_then(parse_iso)
        .unwrap_or(now - Duration::days(90));
    let until = p.get("createdUntil").and_then(parse_iso).unwrap_or(now);
    let world = shared.world();
    let matching: Vec<Value> = all_reports(&shared, &world, now)
        .into_iter()
        .filter(|(t, _)| *t >= since && *t <= until)
        .map(|(_, v)| v)
        .filter(|v| types.iter().any(|t| v["reportType"] == t.as_str()))
        .filter(|v| {
            statuses.is_empty() || statuses.iter().any(|s| v["processingStatus"] == s.as_str())
        })
        .collect();
    let list: Vec<Value> = matching.iter().skip(offset).take(page).cloned().collect();
    let mut body = json!({"reports": list});
    if offset + page < matching.len() {
        let orig: Vec<String> =
            p.0.iter()
                .map(|(k, v)| format!("{k}={}", crate::sap::odata::encode(v)))
                .collect();
        body["nextToken"] =
            Value::from(format!("{}:{}", offset + page, hex::encode(orig.join("&"))));
    }
    fin.json(200, &body)
}

/// `POST /reports/2021-06-30/reports`.
pub(crate) async fn create_report(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fin = match gate(&shared, &headers, &CREATE_REPORT).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return fin.error(400, "InvalidInput", "Invalid request body.");
    };
    let Some(rt) = v.get("reportType").and_then(Value::as_str) else {
        return fin.error(400, "InvalidInput", "reportType is required.");
    };
    if rt.contains("SETTLEMENT") {
        return fin.error(
            400,
            "InvalidInput",
            &format!(
                "Report type {rt} cannot be requested; settlement reports are scheduled by Amazon."
            ),
        );
    }
    let ids: Vec<String> = v
        .get("marketplaceIds")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return fin.error(400, "InvalidInput", "marketplaceIds is required.");
    }
    let time = |k: &str| v.get(k).and_then(Value::as_str).and_then(parse_iso);
    let now = shared.clock.now();
    let (start, end) = (time("dataStartTime"), time("dataEndTime"));
    if ALL_ORDERS_REPORTS.contains(&rt)
        && end.unwrap_or(now) - start.unwrap_or(now - Duration::days(30))
            > Duration::days(super::order_reports::MAX_WINDOW_DAYS)
    {
        // INVENTED (see `MAX_WINDOW_DAYS`): the text of Amazon's 400 for an invalid input.
        return fin.error(
            400,
            "InvalidInput",
            &format!(
                "The date range of {rt} cannot exceed {} days.",
                super::order_reports::MAX_WINDOW_DAYS
            ),
        );
    }
    let scale = shared.config.time_scale;
    let processing_ms = (scale.is_finite() && scale > 0.0)
        .then(|| (CREATE_PROCESSING_SECONDS as f64 * 1000.0 / scale).round() as i64);
    let id = format!("{}", 90_000_000_000u64 + shared.next_counter());
    shared
        .amazon
        .created_reports
        .lock()
        .expect("reports")
        .push(CreatedReport {
            id: id.clone(),
            report_type: rt.to_string(),
            marketplace_ids: ids,
            created: now,
            data_start: start,
            data_end: end,
            processing_ms,
        });
    fin.json(202, &json!({"reportId": id}))
}

/// `GET /reports/2021-06-30/reports/{reportId}`.
pub(crate) async fn get_report(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let fin = match gate(&shared, &headers, &GET_REPORT).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let now = shared.clock.now();
    let world = shared.world();
    if let Some(s) = world
        .settlements
        .iter()
        .find(|s| s.report_id == id && visible(s, now))
    {
        return fin.json(200, &settlement_report(s));
    }
    if let Some(r) = shared
        .amazon
        .created_reports
        .lock()
        .expect("reports")
        .iter()
        .find(|r| r.id == id)
    {
        return fin.json(200, &created_report(r, &world, now));
    }
    fin.error(404, "NotFound", &format!("Report {id} not found."))
}

/// `GET /reports/2021-06-30/documents/{reportDocumentId}`.
pub(crate) async fn get_report_document(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let fin = match gate(&shared, &headers, &GET_REPORT_DOCUMENT).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let now = shared.clock.now();
    let world = shared.world();
    if !world
        .settlements
        .iter()
        .any(|s| s.document_id == id && visible(s, now))
        && created_document(&shared, &world, &id, now).is_none()
    {
        return fin.error(404, "NotFound", &format!("Report document {id} not found."));
    }
    let url = presigned(shared.amazon_origin(), "reports", &id, now);
    fin.json(
        200,
        &json!({"reportDocumentId": id, "url": url, "compressionAlgorithm": "GZIP"}),
    )
}

/// A URL shaped like an S3 pre-signed URL, valid for 5 minutes of sandbox time.
pub(crate) fn presigned(origin: &str, kind: &str, id: &str, now: DateTime<Utc>) -> String {
    format!(
        "{origin}/s3/{kind}/{}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={}&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature={:016x}",
        crate::sap::odata::encode(id),
        now.format("%Y%m%dT%H%M%SZ"),
        (id.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    )
}

/// Checks the expiry of a pre-signed URL; `Err` is S3's XML 403.
pub(crate) fn check_presigned(q: Option<&str>, now: DateTime<Utc>) -> Result<(), Response> {
    let p = Params::parse(q);
    let issued = p
        .get("X-Amz-Date")
        .and_then(|d| NaiveDateTime::parse_from_str(d, "%Y%m%dT%H%M%SZ").ok())
        .map(|t| t.and_utc());
    let secs: i64 = p
        .get("X-Amz-Expires")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (code, msg) = match issued {
        None => (
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
        ),
        Some(t) if now > t + Duration::seconds(secs) => ("AccessDenied", "Request has expired"),
        Some(_) => return Ok(()),
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{msg}</Message></Error>"
    );
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::FORBIDDEN;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    Err(r)
}

/// Gzips bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// The pre-signed document download (no SP-API headers needed).
pub(crate) async fn download(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let now = shared.clock.now();
    if let Err(r) = check_presigned(q.as_deref(), now) {
        return r;
    }
    let world = shared.world();
    let text = match world
        .settlements
        .iter()
        .find(|s| s.document_id == id && visible(s, now))
    {
        Some(s) => Some(to_flat_file_v2(&world, s)),
        None => created_document(&shared, &world, &id, now),
    };
    let Some(text) = text else {
        let mut r = Response::new(Body::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
        ));
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    };
    let bytes = gzip(text.as_bytes());
    let mut r = Response::new(Body::from(bytes));
    let ctype = format!("text/plain;charset={}", shared.amazon.charset);
    if let Ok(v) = HeaderValue::from_str(&ctype) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}
