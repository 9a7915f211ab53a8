//! What goes over the wire: the v1 (OData v3) and v2 (OData v4) JSON differences, error shapes,
//! headers and date forms.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::schema::{Kind, type_def};

/// Service Layer protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `/b1s/v1`, OData v3.
    V1,
    /// `/b1s/v2`, OData v4.
    V2,
}

impl Version {
    /// `v1` or `v2`.
    pub fn segment(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        }
    }
}

/// An error SAP reports: HTTP status, code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SapError {
    /// HTTP status.
    pub status: u16,
    /// SAP code (`-10`, `-2028`, `301`, `244`, ...).
    pub code: String,
    /// Message text.
    pub message: String,
}

impl SapError {
    /// A new error.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// `-1000`: a property the entity type does not declare.
    pub fn invalid_property(prop: &str, ty: &str) -> Self {
        Self::new(
            400,
            "-1000",
            format!("Property '{prop}' of '{ty}' is invalid"),
        )
    }

    /// `-2028`: no matching record (404 on reads, 400 on writes).
    pub fn not_found(status: u16) -> Self {
        Self::new(status, "-2028", "No matching records found (ODBC -2028)")
    }

    /// `301`: invalid or timed-out session.
    pub fn session() -> Self {
        Self::new(401, "301", "Invalid session or session already timeout.")
    }

    /// `-10`: business rule.
    pub fn rule(message: impl Into<String>) -> Self {
        Self::new(400, "-10", message)
    }

    /// `-1000`: malformed request.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(400, "-1000", message)
    }

    /// The JSON body in the shape of `version`.
    pub fn body(&self, version: Version) -> Value {
        match version {
            Version::V1 => {
                let code = self
                    .code
                    .parse::<i64>()
                    .map_or_else(|_| Value::from(self.code.clone()), Value::from);
                json!({"error": {"code": code, "message": {"lang": "en-us", "value": self.message}}})
            }
            Version::V2 => json!({"error": {"code": self.code, "message": self.message}}),
        }
    }
}

/// A response produced by the Service Layer core, before it becomes HTTP (also used in `$batch`).
#[derive(Debug, Clone)]
pub struct SapResponse {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body: JSON, plain text or nothing.
    pub body: Payload,
}

/// A response body.
#[derive(Debug, Clone)]
pub enum Payload {
    /// JSON.
    Json(Value),
    /// `text/plain` (e.g. `$count`).
    Text(String),
    /// No body.
    Empty,
}

impl SapResponse {
    /// A JSON response.
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![],
            body: Payload::Json(body),
        }
    }

    /// An error response.
    pub fn error(err: &SapError, version: Version) -> Self {
        Self::json(err.status, err.body(version))
    }

    /// 204 No Content.
    pub fn no_content() -> Self {
        Self {
            status: 204,
            headers: vec![],
            body: Payload::Empty,
        }
    }

    /// The body as bytes plus its content type.
    pub fn body_bytes(&self, version: Version) -> (Option<&'static str>, Vec<u8>) {
        match &self.body {
            Payload::Json(v) => (
                Some(json_content_type(version)),
                serde_json::to_vec_pretty(v).unwrap_or_default(),
            ),
            Payload::Text(t) => (Some("text/plain;charset=utf-8"), t.clone().into_bytes()),
            Payload::Empty => (None, vec![]),
        }
    }

    /// Into an HTTP response with the version's headers.
    pub fn into_http(self, version: Version) -> Response {
        let (ctype, bytes) = self.body_bytes(version);
        let mut r = Response::new(Body::from(bytes));
        *r.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = r.headers_mut();
        if let Some(c) = ctype {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(c));
        }
        match version {
            Version::V1 => h.insert("DataServiceVersion", HeaderValue::from_static("3.0")),
            Version::V2 => h.insert("OData-Version", HeaderValue::from_static("4.0")),
        };
        for (k, v) in self.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
                h.append(k, v);
            }
        }
        r
    }
}

/// `Content-Type` of JSON bodies.
pub fn json_content_type(version: Version) -> &'static str {
    match version {
        Version::V1 => "application/json;odata=minimalmetadata;charset=utf-8",
        Version::V2 => "application/json;odata.metadata=minimal;charset=utf-8",
    }
}

/// Renders a stored entity for `version`: dates become `2023-10-26` (v1) or
/// `2023-10-26T00:00:00Z` (v2).
pub fn render(
    type_name: &str,
    entity: &Map<String, Value>,
    version: Version,
) -> Map<String, Value> {
    let mut out = Map::new();
    let def = type_def(type_name);
    for (k, v) in entity {
        let kind = def
            .and_then(|d| d.props.iter().find(|(n, _)| n == k))
            .map(|(_, kind)| *kind);
        let rendered = match (kind, v) {
            (Some(Kind::Date), Value::String(s)) if version == Version::V2 && s.len() == 10 => {
                Value::from(format!("{s}T00:00:00Z"))
            }
            (Some(Kind::Collection(t)), Value::Array(items)) => Value::Array(
                items
                    .iter()
                    .map(|i| match i {
                        Value::Object(o) => Value::Object(render(t, o, version)),
                        other => other.clone(),
                    })
                    .collect(),
            ),
            (Some(Kind::Complex(t)), Value::Object(o)) => Value::Object(render(t, o, version)),
            _ => v.clone(),
        };
        out.insert(k.clone(), rendered);
    }
    out
}

/// The context annotation of a single entity.
pub fn entity_annotation(version: Version, root: &str, set: &str) -> (String, Value) {
    match version {
        Version::V1 => (
            "odata.metadata".into(),
            Value::from(format!("{root}/$metadata#{set}/@Element")),
        ),
        Version::V2 => (
            "@odata.context".into(),
            Value::from(format!("{root}/$metadata#{set}/$entity")),
        ),
    }
}

/// Whether a raw (still percent-encoded) request path holds an encoded slash `%2F`.
pub fn has_encoded_slash(raw_path: &str) -> bool {
    raw_path.to_ascii_lowercase().contains("%2f")
}

/// The Service Layer's Apache front answers a path with `%2F` itself: Apache's default
/// `AllowEncodedSlashes Off` gives 404 for "any path containing %2F" (review F8, citing Apache's
/// behaviour, e.g. zfcampus/zf-apigility-admin#215; the front is Apache per the VCR's
/// `Server: Apache/2.4.61 (Unix)`). The request never reaches the Service Layer, so the body is
/// Apache's HTML page, not a Service Layer error. Inside a `$batch` the sub-request paths are
/// body text Apache does not route, so they are not affected.
pub fn apache_not_found() -> Response {
    // The page is Apache 2.4's stock 404 text (`ap_send_error_response`).
    let body = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n";
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=iso-8859-1"),
    );
    r
}
