//! The client, its validating builder and the single request path every operation goes
//! through (auth header, rate limiting, retries, error mapping, tracing).

use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::auth::TokenProvider;
pub use crate::builder::{BuildError, SpApiClientBuilder};
use crate::error::{ApiError, ApiErrorDetail, Error, Result, parse_json};
use crate::rate_limit::{BucketKey, Operation, RateLimiter, RetryPolicy};

/// A typed SP-API client for one seller in one region. Cheap to clone; all clones share the
/// HTTP connection pool, the access token and the rate-limit buckets.
#[derive(Clone)]
pub struct SpApiClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for SpApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpApiClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("seller_id", &self.inner.seller_id)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: url::Url,
    pub(crate) seller_id: Option<String>,
    pub(crate) seller_key: Arc<str>,
    pub(crate) region_key: Arc<str>,
    pub(crate) auth: TokenProvider,
    pub(crate) limiter: RateLimiter,
    pub(crate) retry: RetryPolicy,
    pub(crate) user_agent: HeaderValue,
    pub(crate) observer: crate::observe::Observer,
}

/// Whether a request may be sent again after a failure whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads: retried on 429, 5xx and transport errors.
    Read,
    /// Writes: retried only on 429 (Amazon did not process a throttled request); any other
    /// failure after sending is reported as [`Error::OutcomeUnknown`].
    Write,
}

/// One SP-API call as a value: operation, method, path, query and body.
#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    pub(crate) operation: Operation,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    /// JSON body, serialised once up front so that exact decimals written as raw JSON numbers
    /// survive (a `serde_json::Value` would turn them into floats).
    pub(crate) body: Option<Vec<u8>>,
    /// A second limit this call also counts against (a preview, a `JSON_LISTINGS_FEED`).
    pub(crate) also_limited_by: Option<Operation>,
}

impl ApiRequest {
    pub(crate) fn new(operation: Operation, method: Method, path: impl Into<String>) -> Self {
        ApiRequest {
            operation,
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            also_limited_by: None,
        }
    }

    /// Makes the call wait for a token of `limit` too, on every attempt.
    pub(crate) fn also_limited_by(mut self, limit: Option<Operation>) -> Self {
        self.also_limited_by = limit;
        self
    }

    pub(crate) fn get(operation: Operation, path: impl Into<String>) -> Self {
        Self::new(operation, Method::GET, path)
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    pub(crate) fn query_opt(self, key: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    /// Adds an array parameter the way SP-API expects it: comma-separated; omitted when empty.
    pub(crate) fn query_list<S: AsRef<str>>(self, key: &'static str, values: &[S]) -> Self {
        if values.is_empty() {
            return self;
        }
        let joined = values
            .iter()
            .map(|v| v.as_ref())
            .collect::<Vec<_>>()
            .join(",");
        self.query(key, joined)
    }

    pub(crate) fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::InvalidArgument(format!("cannot serialise {} body: {e}", self.operation))
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    fn idempotency(&self) -> Idempotency {
        if matches!(self.method, Method::GET | Method::HEAD | Method::DELETE) {
            Idempotency::Read
        } else {
            Idempotency::Write
        }
    }
}

/// A successful HTTP answer.
pub(crate) struct RawResponse {
    pub(crate) body: String,
    pub(crate) request_id: Option<String>,
}

/// Percent-encodes one path segment (SKUs may contain `/`, spaces, `#`…).
pub(crate) fn encode_segment(s: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

impl SpApiClient {
    /// Starts building a client.
    pub fn builder() -> SpApiClientBuilder {
        SpApiClientBuilder::default()
    }

    /// Replaces the LWA client secret (Amazon makes apps rotate it every 180 days). The cached
    /// access token stays valid; the new secret is used from the next refresh on.
    pub fn set_client_secret(&self, secret: SecretString) {
        self.inner.auth.set_client_secret(secret);
    }

    /// Number of access-token requests made to LWA so far (for monitoring).
    pub fn token_refresh_count(&self) -> u64 {
        self.inner.auth.refresh_count()
    }

    /// The rate-limit buckets used by this client.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    /// The current sustained rate the client uses for `operation` (requests per second).
    pub fn current_rate(&self, operation: Operation) -> Option<f64> {
        self.inner.limiter.rate(&self.bucket_key(operation))
    }

    /// The seller id given to the builder.
    pub fn seller_id(&self) -> Option<&str> {
        self.inner.seller_id.as_deref()
    }

    fn bucket_key(&self, operation: Operation) -> BucketKey {
        BucketKey {
            seller: self.inner.seller_key.clone(),
            region: self.inner.region_key.clone(),
            operation,
        }
    }

    /// Sends a request and deserialises a 2xx body into `T`.
    pub(crate) async fn send_json<T: DeserializeOwned>(&self, request: ApiRequest) -> Result<T> {
        let operation = request.operation;
        let raw = self.execute(request).await?;
        parse_json(operation, &raw.body, raw.request_id)
    }

    /// The request path: rate limit, access token, send, map errors, retry.
    #[tracing::instrument(
        name = "sp_api",
        skip(self, request),
        fields(operation = %request.operation, method = %request.method, request_id = tracing::field::Empty)
    )]
    pub(crate) async fn execute(&self, request: ApiRequest) -> Result<RawResponse> {
        let key = self.bucket_key(request.operation);
        let extra_key = request.also_limited_by.map(|op| self.bucket_key(op));
        let idempotency = request.idempotency();
        let policy = self.inner.retry;
        let mut url = self
            .inner
            .base_url
            .join(request.path.trim_start_matches('/'))
            .map_err(|e| Error::InvalidArgument(format!("path {:?}: {e}", request.path)))?;
        if !request.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &request.query {
                pairs.append_pair(k, v);
            }
        }
        let mut attempt = 0u32;
        // Attempts sent, for the observer (`attempt` is given back after an early-expired token).
        let mut sent = 0u32;
        let mut refreshed_after_expiry = false;
        loop {
            attempt += 1;
            sent += 1;
            // The access token first: a rate-limit token taken before an LWA round trip would
            // be spent late, after the next caller's, and Amazon's bucket (which counts arrivals)
            // would then see two calls closer together than the rate allows. The second call is
            // a cache hit unless the wait for the rate-limit token outlived the access token.
            self.inner.auth.access_token().await?;
            if let Some(extra) = &extra_key {
                self.inner.limiter.acquire(extra).await;
            }
            self.inner.limiter.acquire(&key).await;
            let token = self.inner.auth.access_token().await?;
            let mut builder = self
                .inner
                .http
                .request(request.method.clone(), url.clone())
                .header(reqwest::header::USER_AGENT, self.inner.user_agent.clone())
                .header(reqwest::header::ACCEPT, "application/json")
                .header(
                    "x-amz-date",
                    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string(),
                );
            let mut access = HeaderValue::from_str(token.secret.expose_secret()).map_err(|_| {
                Error::InvalidArgument("access token is not a valid header value".into())
            })?;
            access.set_sensitive(true);
            builder = builder.header("x-amz-access-token", access);
            if let Some(body) = &request.body {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let started = self.inner.observer.start();
            let outcome = match builder.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    match response.text().await {
                        Ok(body) => Ok((status, headers, body)),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            self.inner.observer.report(
                started,
                request.operation,
                request.method.as_str(),
                outcome.as_ref().ok().map(|(status, _, _)| status.as_u16()),
                sent,
            );
            let failure = match outcome {
                Ok((status, headers, body)) => {
                    let request_id = header_str(&headers, "x-amzn-requestid");
                    if let Some(id) = &request_id {
                        tracing::Span::current().record("request_id", id.as_str());
                    }
                    if let Some(rate) = header_str(&headers, "x-amzn-ratelimit-limit")
                        .and_then(|v| v.trim().parse::<f64>().ok())
                    {
                        self.inner.limiter.observe_limit(&key, rate);
                    }
                    if status.is_success() {
                        return Ok(RawResponse { body, request_id });
                    }
                    let error = api_error(request.operation, status, &body, request_id);
                    if error.is_access_token_expired() && !refreshed_after_expiry {
                        tracing::info!("access token expired early; refreshing once and retrying");
                        refreshed_after_expiry = true;
                        self.inner.auth.invalidate(token.generation).await;
                        attempt -= 1;
                        continue;
                    }
                    let retryable = match status {
                        StatusCode::TOO_MANY_REQUESTS => true,
                        StatusCode::INTERNAL_SERVER_ERROR
                        | StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT => idempotency == Idempotency::Read,
                        _ => false,
                    };
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        // Amazon does not say which limit it hit: empty both.
                        self.inner.limiter.throttled(&key);
                        if let Some(extra) = &extra_key {
                            self.inner.limiter.throttled(extra);
                        }
                    }
                    if !retryable {
                        if idempotency == Idempotency::Write && status.is_server_error() {
                            return Err(Error::OutcomeUnknown {
                                operation: request.operation,
                                source: Box::new(Error::Api(error)),
                            });
                        }
                        return Err(Error::Api(error));
                    }
                    Error::Api(error)
                }
                Err(e) => {
                    // A connection that was never established carries no request: safe to retry.
                    if idempotency == Idempotency::Write && !e.is_connect() {
                        return Err(Error::OutcomeUnknown {
                            operation: request.operation,
                            source: Box::new(Error::Transport {
                                operation: request.operation,
                                source: e,
                            }),
                        });
                    }
                    Error::Transport {
                        operation: request.operation,
                        source: e,
                    }
                }
            };
            if attempt >= policy.max_attempts {
                return Err(Error::RetriesExhausted {
                    operation: request.operation,
                    attempts: attempt,
                    last: Box::new(failure),
                });
            }
            // The limiter's rates run `time_scale` times faster (a test double's clock); the
            // policy's own floor and cap are in Amazon's time, so they are scaled the same way.
            let delay = policy
                .scaled(self.inner.limiter.time_scale())
                .delay(attempt, self.inner.limiter.rate(&key));
            tracing::warn!(attempt, ?delay, error = %failure, "retryable failure; backing off");
            tokio::time::sleep(delay).await;
        }
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    errors: Vec<ApiErrorDetail>,
}

fn api_error(
    operation: Operation,
    status: StatusCode,
    body: &str,
    request_id: Option<String>,
) -> ApiError {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(parsed) => ApiError {
            operation,
            status,
            errors: parsed.errors,
            request_id,
            body: None,
        },
        Err(_) => ApiError {
            operation,
            status,
            errors: Vec::new(),
            request_id,
            body: Some(body.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_segments_are_percent_encoded() {
        assert_eq!(encode_segment("AB/12 #x"), "AB%2F12%20%23x");
        assert_eq!(encode_segment("plain-SKU_1.0"), "plain-SKU_1.0");
    }
}
