//! Requests as values: method, path, body, headers and whether a retry is safe.

use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// Whether a request may be sent again after an ambiguous failure.
///
/// Reads are [`Retry::Idempotent`]; creates, updates, actions and `$batch` are [`Retry::Never`]:
/// after a timeout or 5xx they fail with [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
/// A replay after HTTP 401 happens for both, because SAP did not execute a request it rejected
/// for its session. A [`Retry::Idempotent`] request whose answer is lost because SAP closed the
/// keep-alive connection under it is also sent once more on a new connection, whatever the
/// [`RetryPolicy`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Safe to resend on transport errors and 502/503/504 (bounded by [`RetryPolicy`]).
    Idempotent,
    /// Never resent once it may have reached SAP.
    Never,
}

/// How often and how fast idempotent requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Extra attempts after the first one (0 disables retries).
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each further retry.
    pub initial_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(250),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
    }
}

/// One Service Layer call, built as data and run by [`SapClient::send`](crate::SapClient::send).
#[derive(Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) body: Option<(Bytes, HeaderValue)>,
    pub(crate) headers: HeaderMap,
    pub(crate) retry: Retry,
    pub(crate) timeout: Option<Duration>,
}

impl Request {
    /// A request with an explicit method; the retry class follows the method (GET/HEAD idempotent).
    pub fn new(method: Method, path: impl Into<String>) -> Request {
        let retry = if method == Method::GET || method == Method::HEAD {
            Retry::Idempotent
        } else {
            Retry::Never
        };
        Request {
            method,
            path: path.into(),
            body: None,
            headers: HeaderMap::new(),
            retry,
            timeout: None,
        }
    }

    /// `GET path` (path relative to the base URL, query string included).
    pub fn get(path: impl Into<String>) -> Request {
        Request::new(Method::GET, path)
    }

    /// `POST path` (not retried).
    pub fn post(path: impl Into<String>) -> Request {
        Request::new(Method::POST, path)
    }

    /// `PATCH path` (not retried).
    pub fn patch(path: impl Into<String>) -> Request {
        Request::new(Method::PATCH, path)
    }

    /// `DELETE path` (not retried).
    pub fn delete(path: impl Into<String>) -> Request {
        Request::new(Method::DELETE, path)
    }

    /// Attach a JSON body.
    pub fn json_body(mut self, body: impl Into<Bytes>) -> Request {
        self.body = Some((body.into(), HeaderValue::from_static("application/json")));
        self
    }

    /// Attach a body with a given content type.
    pub(crate) fn raw_body(mut self, body: impl Into<Bytes>, content_type: HeaderValue) -> Request {
        self.body = Some((body.into(), content_type));
        self
    }

    /// Add a header (for example `B1S-ReplaceCollectionsOnPatch: true` or `If-Match`).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Request {
        self.headers.append(name, value);
        self
    }

    /// Override the retry class (for example to mark a POST-based read as idempotent).
    pub fn retry(mut self, retry: Retry) -> Request {
        self.retry = retry;
        self
    }

    /// Override the client's timeout for this request (long `$batch` calls).
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = Some(timeout);
        self
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path relative to the base URL.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body is left out: the login request carries the password.
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body_bytes", &self.body.as_ref().map(|(b, _)| b.len()))
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A successful answer: status, headers and the raw body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status (2xx).
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Bytes,
}
