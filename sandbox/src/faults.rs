//! Fault injection: per endpoint, with a probability, an exact sequence or a count.

use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::sync::Arc;

use crate::Shared;
use crate::net::Conn;

/// Which fake a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// The Service Layer (`/b1s/...`, `/ping/`).
    Sap,
    /// SP-API operations (everything on the Amazon server except the token endpoint).
    SpApi,
    /// The LWA token endpoint.
    Lwa,
}

/// What happens to a matching request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Execute the request (commit), then drop the connection without a response: "outcome unknown".
    CommitThenDrop,
    /// Drop the connection without executing the request.
    CloseConnection,
    /// Answer with this status (500/502/503) and the upstream's typical body (SAP: Apache HTML).
    Status(u16),
    /// Expire the caller's SAP session first, so the request gets 401 / code 301.
    ExpireSession,
    /// LWA answers 503 `temporarily_unavailable`.
    LwaOutage,
    /// SP-API answers 429 `QuotaExceeded` whatever the bucket holds.
    QuotaExceeded,
    /// Add this latency before handling.
    Latency(Duration),
    /// Answer normally, but with the first record of the JSON list `field` made unreadable (its
    /// first number replaced by a word): a malformed record among good ones.
    CorruptRecord(String),
}

/// When a rule fires among the requests it matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Every matching request.
    Always,
    /// The next `n` matching requests.
    Times(u32),
    /// Request i fires when `seq[i]` is true; after the sequence the rule is spent.
    Sequence(Vec<bool>),
    /// Each matching request fires with this probability (seeded, reproducible).
    Probability(f64),
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// The fake it applies to.
    pub system: System,
    /// HTTP method to match (`None` = any).
    pub method: Option<String>,
    /// Substring of the path to match (`None` = any), e.g. `"/Invoices"` or `"/orders/2026-01-01"`.
    pub path_contains: Option<String>,
    /// The fault.
    pub kind: FaultKind,
    /// When it fires.
    pub trigger: Trigger,
}

impl FaultRule {
    /// A rule that fires on every request of `system` whose path contains `path`.
    pub fn new(system: System, path: impl Into<String>, kind: FaultKind) -> Self {
        Self {
            system,
            method: None,
            path_contains: Some(path.into()),
            kind,
            trigger: Trigger::Always,
        }
    }

    /// Restricts the rule to one HTTP method.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Sets the trigger.
    pub fn trigger(mut self, trigger: Trigger) -> Self {
        self.trigger = trigger;
        self
    }
}

#[derive(Debug)]
struct Armed {
    rule: FaultRule,
    seen: usize,
    fired: usize,
}

/// The active rules.
#[derive(Debug)]
pub struct Faults {
    rules: Mutex<(Vec<Armed>, StdRng)>,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rules: Mutex::new((Vec::new(), StdRng::seed_from_u64(seed ^ 0xFA17))),
        }
    }

    pub(crate) fn add(&self, rule: FaultRule) {
        self.rules.lock().expect("faults lock").0.push(Armed {
            rule,
            seen: 0,
            fired: 0,
        });
    }

    pub(crate) fn clear(&self) {
        self.rules.lock().expect("faults lock").0.clear();
    }

    /// The faults that fire for this request, in rule order.
    fn fire(&self, system: System, method: &str, path: &str) -> Vec<FaultKind> {
        let mut guard = self.rules.lock().expect("faults lock");
        let (rules, rng) = &mut *guard;
        let mut out = Vec::new();
        for armed in rules.iter_mut() {
            let r = &armed.rule;
            if r.system != system
                || r.method.as_deref().is_some_and(|m| m != method)
                || r.path_contains
                    .as_deref()
                    .is_some_and(|p| !path.contains(p))
            {
                continue;
            }
            let i = armed.seen;
            armed.seen += 1;
            let fires = match &r.trigger {
                Trigger::Always => true,
                Trigger::Times(n) => armed.fired < *n as usize,
                Trigger::Sequence(seq) => seq.get(i).copied().unwrap_or(false),
                Trigger::Probability(p) => rng.random_bool(p.clamp(0.0, 1.0)),
            };
            if fires {
                armed.fired += 1;
                out.push(r.kind.clone());
            }
        }
        out
    }
}

fn system_of(path: &str, sap: bool) -> System {
    if sap {
        System::Sap
    } else if path.starts_with("/auth/o2/token") {
        System::Lwa
    } else {
        System::SpApi
    }
}

/// Middleware for the Service Layer server.
pub(crate) async fn sap_layer(
    state: State<Arc<Shared>>,
    conn: ConnectInfo<Conn>,
    req: Request,
    next: Next,
) -> Response {
    apply(state.0, conn.0, req, next, true).await
}

/// Middleware for the Amazon server.
pub(crate) async fn amazon_layer(
    state: State<Arc<Shared>>,
    conn: ConnectInfo<Conn>,
    req: Request,
    next: Next,
) -> Response {
    apply(state.0, conn.0, req, next, false).await
}

async fn apply(shared: Arc<Shared>, conn: Conn, req: Request, next: Next, sap: bool) -> Response {
    let path = req.uri().path().to_string();
    let system = system_of(&path, sap);
    let _in_flight = conn.begin();
    if sap
        && req
            .headers()
            .get(header::EXPECT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        // The Apache load balancer answers `Expect: 100-continue` with an empty 500 (practitioner
        // reports; B1SLayer turns the header off for this reason).
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let kinds = shared.faults.fire(system, req.method().as_str(), &path);
    let mut commit_then_drop = false;
    let mut corrupt: Option<String> = None;
    for kind in kinds {
        match kind {
            FaultKind::Latency(d) => tokio::time::sleep(d).await,
            FaultKind::ExpireSession => {
                if let Some(cookie) = req
                    .headers()
                    .get(header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                {
                    shared.sap.expire_cookie_session(cookie);
                }
            }
            FaultKind::CommitThenDrop => commit_then_drop = true,
            FaultKind::CorruptRecord(field) => corrupt = Some(field),
            FaultKind::CloseConnection => {
                conn.kill();
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            FaultKind::Status(code) => return status_response(system, code),
            FaultKind::LwaOutage => {
                return json_response(
                    503,
                    r#"{"error_description":"The service is temporarily unavailable. Please try again later.","error":"temporarily_unavailable"}"#,
                );
            }
            FaultKind::QuotaExceeded => return crate::amazon::quota_exceeded(),
        }
    }
    let mut resp = next.run(req).await;
    if let Some(field) = corrupt {
        resp = corrupt_first_record(resp, &field).await;
    }
    if commit_then_drop {
        conn.kill();
    }
    if let (true, Some(d)) = (sap, shared.config.sap_keep_alive)
        && let Ok(v) = HeaderValue::from_str(&format!("timeout={}, max=100", d.as_secs().max(1)))
    {
        resp.headers_mut().insert("Keep-Alive", v);
        if conn.count_request() >= 100 {
            // Apache's MaxKeepAliveRequests: the 100th response closes the connection.
            resp.headers_mut().insert(
                axum::http::header::CONNECTION,
                HeaderValue::from_static("close"),
            );
        }
    }
    resp
}

/// Replaces the first number inside the first element of the JSON array `field` with a word.
async fn corrupt_first_record(resp: Response, field: &str) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    fn spoil(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(_) => {
                *v = serde_json::Value::from("two");
                true
            }
            serde_json::Value::Array(items) => items.iter_mut().any(spoil),
            serde_json::Value::Object(map) => map.values_mut().any(spoil),
            _ => false,
        }
    }
    if let Some(first) = json.get_mut(field).and_then(|v| v.get_mut(0)) {
        spoil(first);
    }
    let body = json.to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

fn json_response(code: u16, body: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The body the upstream sends with a 5xx: Apache HTML in front of the Service Layer, JSON errors at Amazon.
fn status_response(system: System, code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match (system, code) {
        (System::Sap, 502) => SAP_502.to_string(),
        (System::Sap, 503) => SAP_503.to_string(),
        (System::Sap, _) => SAP_500.to_string(),
        (System::Lwa, _) => {
            r#"{"error_description":"Internal server error","error":"server_error"}"#.to_string()
        }
        (System::SpApi, 503) => r#"{"errors":[{"code":"ServiceUnavailable","message":"Service temporarily unavailable.","details":""}]}"#.to_string(),
        (System::SpApi, _) => r#"{"errors":[{"code":"InternalFailure","message":"We encountered an internal error. Please try again.","details":""}]}"#.to_string(),
    };
    let ctype = if system == System::Sap {
        "text/html; charset=iso-8859-1"
    } else {
        "application/json"
    };
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

const SAP_502: &str = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>502 Proxy Error</title>\n</head><body>\n<h1>Proxy Error</h1>\n<p>The proxy server received an invalid\r\nresponse from an upstream server.<br />\r\nThe proxy server could not handle the request<p>Reason: <strong>Error reading from remote server</strong></p></p>\n</body></html>\n";
const SAP_503: &str = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>503 Service Unavailable</title>\n</head><body>\n<h1>Service Unavailable</h1>\n<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\nproblems. Please try again later.</p>\n</body></html>\n";
const SAP_500: &str = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>500 Internal Server Error</title>\n</head><body>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n</body></html>\n";
