//! The error model: who failed (transport, SAP, our parser) and whether a write may have happened.

use std::fmt;

use serde::Deserialize;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to the Service Layer.
///
/// Server-reported failures are split by meaning (session, not found, conflict, validation,
/// transient) and each keeps the full [`ServerError`] (status, SAP code, message, raw body).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The builder was given something unusable (bad URL, unreadable CA certificate, ...).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The request never got a usable HTTP response (DNS, connect, TLS, timeout, reset).
    #[error("transport error on {method} {path}: {source}")]
    Transport {
        /// HTTP method of the failed request.
        method: String,
        /// Path (relative to the base URL) of the failed request.
        path: String,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },

    /// `POST /Login` was rejected (bad credentials, unknown company, locked user). Never retried.
    ///
    /// An answer without SAP's error body (no `error.code`) did not come from a Service Layer:
    /// the message then says to check the base URL rather than the credentials.
    #[error("login rejected: {0}{note}", note = login_note(.0))]
    Login(ServerError),

    /// The session was rejected (HTTP 401) even after one fresh login.
    #[error("session rejected: {0}")]
    Session(ServerError),

    /// The entity does not exist (HTTP 404 or SAP code -2028; on a write -2028 means a referenced record is missing).
    #[error("not found: {0}")]
    NotFound(ServerError),

    /// Optimistic-concurrency conflict (HTTP 412 or SAP code -2039).
    #[error("conflict: {0}")]
    Conflict(ServerError),

    /// SAP refused the request on business or format grounds (4xx such as -10, -5002, -2035, -1000).
    #[error("rejected by SAP: {0}")]
    Validation(ServerError),

    /// A gateway or overload failure (502/503/504, empty 500): the server may work on a later try.
    #[error("transient server failure: {0}")]
    Transient(ServerError),

    /// Any other server-reported failure.
    #[error("server error: {0}")]
    Server(ServerError),

    /// A write that may or may not have been executed (timeout, reset, 502/503/504, empty 500).
    ///
    /// Never retried automatically: look the document up (for example by `NumAtCard` or a UDF)
    /// before sending it again.
    #[error("outcome unknown for {method} {path}: {cause}")]
    OutcomeUnknown {
        /// HTTP method of the write.
        method: String,
        /// Path (relative to the base URL) of the write.
        path: String,
        /// What happened instead of a definite answer (a transport or transient error).
        #[source]
        cause: Box<Error>,
    },

    /// A response body did not have the expected shape.
    #[error("cannot parse {context} at JSON path `{json_path}`: {source}")]
    Parse {
        /// What was being parsed (for example `GET Items`).
        context: String,
        /// Where in the JSON document parsing failed.
        json_path: String,
        /// The raw response body.
        body: String,
        /// The underlying JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// A response was well-formed HTTP but unusable (missing `Location`, broken multipart, foreign nextLink).
    #[error("unexpected response: {message}")]
    UnexpectedResponse {
        /// What was wrong.
        message: String,
        /// The raw response body (may be empty).
        body: String,
    },
}

/// What a rejected login adds to its message when the answer was not the Service Layer's.
fn login_note(e: &ServerError) -> &'static str {
    if e.is_service_layer() {
        ""
    } else {
        " (no SAP error code: this answer did not come from SAP's Service Layer but from a proxy in front of it or a wrong host, port or path in the base URL; user and password were not checked)"
    }
}

impl Error {
    /// The server-reported details, when SAP answered with an error status.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Error::Login(e)
            | Error::Session(e)
            | Error::NotFound(e)
            | Error::Conflict(e)
            | Error::Validation(e)
            | Error::Transient(e)
            | Error::Server(e) => Some(e),
            Error::OutcomeUnknown { cause, .. } => cause.server_error(),
            _ => None,
        }
    }

    /// True for errors a read may retry: transport failures and transient server failures.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient(_) | Error::Transport { .. })
    }

    /// True when the answer was lost because the connection closed under it: the server closed
    /// a keep-alive connection the client had taken from its pool ("connection closed before
    /// message completed"), or reset it. Not a timeout, and not a refused connection (that one
    /// carried no request). Whether the request ran is unknown: only a request that is safe to
    /// repeat may be sent again.
    pub fn is_closed_connection(&self) -> bool {
        let Error::Transport { source, .. } = self else {
            return false;
        };
        if source.is_timeout() || source.is_connect() {
            return false;
        }
        let mut cause = std::error::Error::source(source);
        while let Some(e) = cause {
            if e.downcast_ref::<hyper::Error>()
                .is_some_and(|h| h.is_incomplete_message())
            {
                return true;
            }
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                )
            {
                return true;
            }
            cause = e.source();
        }
        false
    }

    /// True when a write may have been executed and must be checked before resending.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }
}

/// SAP's `error.code`, which is a number in v1 (`-10`) and a string in v2 (`"-2028"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ErrorCode {
    /// Numeric form (OData v3 / `/b1s/v1`).
    Number(i64),
    /// String form (OData v4 / `/b1s/v2`); may be non-numeric.
    Text(String),
}

impl ErrorCode {
    /// The code as a number when it is one (`"-2028"` gives `-2028`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ErrorCode::Number(n) => Some(*n),
            ErrorCode::Text(s) => s.trim().parse().ok(),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Number(n) => write!(f, "{n}"),
            ErrorCode::Text(s) => f.write_str(s),
        }
    }
}

/// An error answer from the Service Layer: status, SAP code and message when present, raw body always.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// HTTP status code.
    pub status: u16,
    /// SAP error code (`error.code`), if the body was SAP error JSON.
    pub code: Option<ErrorCode>,
    /// SAP error message (`error.message` or `error.message.value`).
    pub message: Option<String>,
    /// The raw response body (JSON, HTML or empty).
    pub body: String,
}

impl ServerError {
    /// Whether the answer carries SAP's error body (`error.code`): only a Service Layer sends it.
    pub fn is_service_layer(&self) -> bool {
        self.code.is_some()
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, ", SAP code {code}")?;
        }
        match &self.message {
            Some(m) => write!(f, ": {m}"),
            None if self.body.trim().is_empty() => f.write_str(" (empty body)"),
            None => write!(f, ": {}", first_line_excerpt(&self.body)),
        }
    }
}

fn first_line_excerpt(body: &str) -> String {
    let text = body.trim();
    // HTML error pages carry their meaning in <title>; fall back to the first characters.
    if let (Some(a), Some(b)) = (text.find("<title>"), text.find("</title>"))
        && a + 7 <= b
    {
        return text[a + 7..b].trim().to_string();
    }
    text.chars().take(120).collect()
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<ErrorCode>,
    message: Option<ErrorMessage>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorMessage {
    Text(String),
    Localised { value: Option<String> },
}

impl ServerError {
    /// Build from a status and raw body, reading both SAP error shapes when the body is JSON.
    pub fn from_response(status: u16, body: &[u8]) -> ServerError {
        let text = String::from_utf8_lossy(body).into_owned();
        let parsed: Option<ErrorEnvelope> = serde_json::from_slice(body).ok();
        let (code, message) = match parsed {
            Some(env) => (
                env.error.code,
                env.error.message.and_then(|m| match m {
                    ErrorMessage::Text(s) => Some(s),
                    ErrorMessage::Localised { value } => value,
                }),
            ),
            None => (None, None),
        };
        ServerError {
            status,
            code,
            message,
            body: text,
        }
    }

    fn code_number(&self) -> Option<i64> {
        self.code.as_ref().and_then(ErrorCode::as_i64)
    }

    /// Sort this answer into the typed variants of [`Error`].
    pub fn into_error(self) -> Error {
        let code = self.code_number();
        match (self.status, code) {
            (401, _) => Error::Session(self),
            (404, _) | (_, Some(-2028)) => Error::NotFound(self),
            (412, _) | (_, Some(-2039)) => Error::Conflict(self),
            (502..=504, _) => Error::Transient(self),
            (500, None) if self.message.is_none() => Error::Transient(self),
            (400..=499, _) => Error::Validation(self),
            _ => Error::Server(self),
        }
    }

    /// True when SAP did not say what happened (gateway HTML, empty 500, 502/503/504).
    pub(crate) fn is_ambiguous(&self) -> bool {
        matches!(self.status, 502..=504) || (self.status == 500 && self.message.is_none())
    }
}
