//! Errors: who failed (the network, Amazon, our parsing, LWA) is kept apart.

use std::fmt;

use reqwest::StatusCode;

use crate::auth::LwaError;
use crate::rate_limit::Operation;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a call to the Selling Partner API can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request never produced an HTTP response (DNS, TLS, connection reset, timeout).
    #[error("{operation}: transport error: {source}")]
    Transport {
        /// Operation that was being called.
        operation: Operation,
        /// Underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// Amazon answered with a non-success status and (usually) an `{"errors":[…]}` body.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Amazon answered 2xx but the body did not match our types.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Login with Amazon refused or failed to issue an access token.
    #[error(transparent)]
    Auth(#[from] LwaError),
    /// A retryable failure (429, 500, 503, transport) persisted for every allowed attempt.
    #[error("{operation}: gave up after {attempts} attempts; last error: {last}")]
    RetriesExhausted {
        /// Operation that was being called.
        operation: Operation,
        /// Number of attempts made (including the first).
        attempts: u32,
        /// The error of the final attempt.
        last: Box<Error>,
    },
    /// A write (POST/PUT/PATCH) failed in a way that does not tell whether Amazon applied it.
    /// Look the resource up before sending it again.
    #[error("{operation}: outcome unknown (the write may or may not have been applied): {source}")]
    OutcomeUnknown {
        /// Operation that was being called.
        operation: Operation,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
    /// A report or feed document could not be fetched or decoded.
    #[error("document: {0}")]
    Document(String),
    /// A report ended in `FATAL` (often one of Amazon's undocumented per-report-type cooldowns).
    #[error("report {report_id} ended FATAL")]
    ReportFatal {
        /// The report that failed.
        report_id: String,
        /// Document describing the failure, when Amazon provided one.
        report_document_id: Option<String>,
    },
    /// A feed ended in `FATAL`.
    #[error("feed {feed_id} ended FATAL")]
    FeedFatal {
        /// The feed that failed.
        feed_id: String,
        /// Processing report describing the failure, when Amazon provided one.
        result_feed_document_id: Option<String>,
    },
    /// A `wait` on a report or feed ran out of time before a final status.
    #[error("{what} still {status} after waiting {waited:?}")]
    WaitTimeout {
        /// What was waited for ("report 123", "feed 456").
        what: String,
        /// Last status seen.
        status: String,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// The caller passed arguments Amazon would reject; nothing was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// The HTTP status Amazon returned, if this error came from an HTTP response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::RetriesExhausted { last, .. } => last.status(),
            Error::OutcomeUnknown { source, .. } => source.status(),
            _ => None,
        }
    }
}

/// One entry of Amazon's `{"errors":[{code,message,details}]}` body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ApiErrorDetail {
    /// Error code, e.g. `InvalidInput`, `QuotaExceeded`, `Unauthorized` (not a closed set).
    pub code: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// Extra detail, often empty.
    #[serde(default)]
    pub details: Option<String>,
}

/// A server-reported error: HTTP status, Amazon's typed error list and the request id.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub struct ApiError {
    /// Operation that was called.
    pub operation: Operation,
    /// HTTP status.
    pub status: StatusCode,
    /// Parsed `errors` array (empty when the body was not Amazon's error shape).
    pub errors: Vec<ApiErrorDetail>,
    /// `x-amzn-RequestId` header; Amazon support asks for it.
    pub request_id: Option<String>,
    /// Raw body, kept when it could not be parsed as an error list.
    pub body: Option<String>,
}

impl ApiError {
    /// The first error code, if any.
    pub fn code(&self) -> Option<&str> {
        self.errors.first().map(|e| e.code.as_str())
    }

    /// True if Amazon said the access token expired (a refresh and one retry are in order).
    pub fn is_access_token_expired(&self) -> bool {
        self.status == StatusCode::FORBIDDEN
            && self.errors.iter().any(|e| {
                let text = format!("{} {}", e.message, e.details.as_deref().unwrap_or(""))
                    .to_ascii_lowercase();
                text.contains("access token") && text.contains("expired")
            })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: HTTP {}", self.operation, self.status)?;
        for e in &self.errors {
            write!(f, "; {}: {}", e.code, e.message)?;
            if let Some(d) = e.details.as_deref().filter(|d| !d.is_empty()) {
                write!(f, " ({d})")?;
            }
        }
        if self.errors.is_empty()
            && let Some(body) = &self.body
        {
            write!(f, "; body: {}", truncate(body, 300))?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

/// A 2xx body that did not deserialise: keeps the raw body and the JSON path of the failure.
#[derive(Debug, thiserror::Error)]
#[error("{}", parse_message(.operation, .path, .body, .source, .request_id.as_deref()))]
#[non_exhaustive]
pub struct ParseError {
    /// Operation that was called.
    pub operation: Operation,
    /// JSON path where deserialisation failed, e.g. `orders[0].orderItems[1].quantityOrdered`.
    pub path: String,
    /// The raw response body.
    pub body: String,
    /// `x-amzn-RequestId` header.
    pub request_id: Option<String>,
    /// The serde error.
    #[source]
    pub source: serde_json::Error,
}

impl ParseError {
    /// Whether the body is JSON at all: an HTML page or plain text from something that is not the
    /// SP-API (a wrong endpoint, a proxy's login or error page) is not.
    pub fn body_is_json(&self) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(&self.body).is_ok()
    }
}

fn parse_message(
    operation: &Operation,
    path: &str,
    body: &str,
    source: &serde_json::Error,
    request_id: Option<&str>,
) -> String {
    let request_id = request_id.unwrap_or("-");
    if serde_json::from_str::<serde::de::IgnoredAny>(body).is_ok() {
        return format!(
            "{operation}: cannot parse response at `{path}`: {source} [request id {request_id}]"
        );
    }
    let start: String = body.trim_start().chars().take(40).collect();
    let start = start.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "{operation}: the answer is not JSON (it starts `{start}`): the server at the SP-API endpoint is not Amazon's SP-API; check the endpoint (the region, or a proxy in front of it) [request id {request_id}]"
    )
}

pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Deserialises `body` into `T`, reporting the JSON path on failure.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    operation: Operation,
    body: &str,
    request_id: Option<String>,
) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::Parse(ParseError {
            operation,
            path,
            body: body.to_owned(),
            request_id,
            source: e.into_inner(),
        })
    })
}
