//! The client, its validating builder and the single request path every operation goes
//! through (auth header, rate limiting, retries, error mapping, tracing).

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::auth::{DEFAULT_REFRESH_MARGIN, LWA_TOKEN_URL, LwaCredentials, TokenProvider};
use crate::error::{ApiError, ApiErrorDetail, Error, Result, parse_json};
use crate::rate_limit::{BucketKey, Operation, RateLimiter, RetryPolicy};
use crate::region::Region;

/// Errors found by [`SpApiClientBuilder::build`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A required setting was not given.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A setting has an invalid value.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which setting.
        what: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// The HTTP client could not be created.
    #[error("cannot create the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
}

impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        Error::InvalidArgument(e.to_string())
    }
}

/// Builder for [`SpApiClient`]; see [`SpApiClient::builder`].
#[derive(Debug, Default)]
#[must_use]
pub struct SpApiClientBuilder {
    region: Option<Region>,
    sandbox: bool,
    base_url: Option<String>,
    lwa_token_url: Option<String>,
    credentials: Option<LwaCredentials>,
    seller_id: Option<String>,
    app_id: Option<String>,
    retry: RetryPolicy,
    refresh_margin: Option<Duration>,
    rate_limiter: Option<RateLimiter>,
    timeout: Option<Duration>,
    no_timeouts: bool,
    http: Option<reqwest::Client>,
}

impl SpApiClientBuilder {
    /// The seller's region (required unless [`base_url`](Self::base_url) is given).
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// Use Amazon's static sandbox host of the region.
    pub fn sandbox(mut self, sandbox: bool) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// Overrides the SP-API base URL (tests, the project's sandbox, a proxy).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Overrides the LWA token endpoint (tests, the project's sandbox).
    pub fn lwa_token_url(mut self, url: impl Into<String>) -> Self {
        self.lwa_token_url = Some(url.into());
        self
    }

    /// The LWA credential set (required).
    pub fn credentials(mut self, credentials: LwaCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The seller id (merchant token); keys the rate-limit buckets and is used by Listings calls.
    pub fn seller_id(mut self, seller_id: impl Into<String>) -> Self {
        self.seller_id = Some(seller_id.into());
        self
    }

    /// Application name and version for the User-Agent, e.g. `ml-connector/0.1.0`.
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// Retry policy for 429 and 5xx answers.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How long before expiry the access token is refreshed (at least 60 s).
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = Some(margin);
        self
    }

    /// Shares a set of rate-limit buckets with other clients of the same seller.
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// Timeout of one HTTP request (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Disables HTTP timeouts and the connection pool's idle timer. Needed in tests that pause
    /// tokio's clock: a paused clock jumps to the next timer while a request waits on the
    /// network, which would fire a timeout (and distort measured delays).
    pub fn without_timeouts(mut self) -> Self {
        self.no_timeouts = true;
        self
    }

    /// Uses a preconfigured `reqwest::Client` (its User-Agent is replaced per request).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Validates the settings and creates the client.
    pub fn build(self) -> Result<SpApiClient, BuildError> {
        let credentials = self.credentials.ok_or(BuildError::Missing("credentials"))?;
        if credentials.client_id.trim().is_empty() {
            return Err(BuildError::Missing("LWA client id"));
        }
        if credentials.client_secret.expose_secret().trim().is_empty() {
            return Err(BuildError::Missing("LWA client secret"));
        }
        if credentials.refresh_token.expose_secret().trim().is_empty() {
            return Err(BuildError::Missing("LWA refresh token"));
        }
        let base = match (&self.base_url, self.region) {
            (Some(url), _) => url.clone(),
            (None, Some(region)) if self.sandbox => region.sandbox_endpoint().to_owned(),
            (None, Some(region)) => region.endpoint().to_owned(),
            (None, None) => return Err(BuildError::Missing("region or base_url")),
        };
        let base_url = parse_base(&base, "base_url")?;
        let token_url = parse_url(
            self.lwa_token_url.as_deref().unwrap_or(LWA_TOKEN_URL),
            "lwa_token_url",
        )?;
        let refresh_margin = self.refresh_margin.unwrap_or(DEFAULT_REFRESH_MARGIN);
        if refresh_margin < DEFAULT_REFRESH_MARGIN {
            return Err(BuildError::Invalid {
                what: "token refresh margin",
                reason: "must be at least 60 s".into(),
            });
        }
        if self.retry.max_attempts == 0 {
            return Err(BuildError::Invalid {
                what: "retry policy",
                reason: "max_attempts must be at least 1".into(),
            });
        }
        let user_agent = user_agent(self.app_id.as_deref());
        if user_agent.len() > 500 {
            return Err(BuildError::Invalid {
                what: "app id",
                reason: "the User-Agent may not exceed 500 characters".into(),
            });
        }
        let user_agent = HeaderValue::from_str(&user_agent).map_err(|e| BuildError::Invalid {
            what: "app id",
            reason: e.to_string(),
        })?;
        let http = match self.http {
            Some(http) => http,
            None => {
                install_crypto_provider();
                let mut http = reqwest::Client::builder();
                if self.no_timeouts {
                    // The pool's idle sweep is a timer too.
                    http = http.pool_idle_timeout(None);
                } else {
                    http = http
                        .timeout(self.timeout.unwrap_or(Duration::from_secs(60)))
                        .connect_timeout(Duration::from_secs(15));
                }
                http.build().map_err(BuildError::Http)?
            }
        };
        let region_key = self
            .region
            .map(|r| r.code().to_owned())
            .unwrap_or_else(|| base_url.as_str().to_owned());
        // Without an explicit seller id, buckets are keyed by the LWA app + refresh token, which
        // is what Amazon's per-(seller, app) limits follow; the key never contains the token.
        let seller_key = self.seller_id.clone().unwrap_or_else(|| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            credentials.client_id.hash(&mut h);
            credentials.refresh_token.expose_secret().hash(&mut h);
            format!("rt-{:016x}", h.finish())
        });
        let auth = TokenProvider::new(http.clone(), token_url, credentials, refresh_margin);
        Ok(SpApiClient {
            inner: Arc::new(Inner {
                http,
                base_url,
                seller_id: self.seller_id,
                seller_key: seller_key.into(),
                region_key: region_key.into(),
                auth,
                limiter: self.rate_limiter.unwrap_or_default(),
                retry: self.retry,
                user_agent,
            }),
        })
    }
}

fn parse_url(s: &str, what: &'static str) -> Result<url::Url, BuildError> {
    let url = url::Url::parse(s).map_err(|e| BuildError::Invalid {
        what,
        reason: format!("{s:?}: {e}"),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(BuildError::Invalid {
            what,
            reason: format!("{s:?}: scheme must be http or https"),
        });
    }
    Ok(url)
}

fn parse_base(s: &str, what: &'static str) -> Result<url::Url, BuildError> {
    // A trailing slash keeps `Url::join` from dropping the last path segment of a prefix.
    let mut url = parse_url(s, what)?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn install_crypto_provider() {
    // reqwest is built without a default rustls provider (we use ring, not aws-lc-rs); install
    // ring unless the application already installed one.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The User-Agent Amazon asks for: `AppId/Version (Language=Rust; Platform=os/arch)`.
fn user_agent(app_id: Option<&str>) -> String {
    let lib = concat!("sp-api-client/", env!("CARGO_PKG_VERSION"));
    let platform = format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH);
    match app_id {
        Some(app) => format!(
            "{app} (Language=Rust; Platform={}; Library={})",
            escape_ua(&platform),
            escape_ua(lib)
        ),
        None => format!("{lib} (Language=Rust; Platform={})", escape_ua(&platform)),
    }
}

/// Escapes the characters Amazon reserves inside User-Agent attribute values.
fn escape_ua(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '/' | '(' | ')' | '=' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

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
    base_url: url::Url,
    pub(crate) seller_id: Option<String>,
    seller_key: Arc<str>,
    region_key: Arc<str>,
    auth: TokenProvider,
    limiter: RateLimiter,
    pub(crate) retry: RetryPolicy,
    user_agent: HeaderValue,
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
}

impl ApiRequest {
    pub(crate) fn new(operation: Operation, method: Method, path: impl Into<String>) -> Self {
        ApiRequest {
            operation,
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
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
        let mut refreshed_after_expiry = false;
        loop {
            attempt += 1;
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
                        self.inner.limiter.throttled(&key);
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
            let delay = policy.delay(attempt, self.inner.limiter.rate(&key));
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
    fn user_agent_follows_amazon_format() {
        let ua = user_agent(Some("ml-connector/0.1.0"));
        assert!(ua.starts_with("ml-connector/0.1.0 (Language=Rust; Platform="));
        assert!(ua.contains("\\/"), "{ua}");
        assert!(ua.len() <= 500);
    }

    #[test]
    fn sku_segments_are_percent_encoded() {
        assert_eq!(encode_segment("AB/12 #x"), "AB%2F12%20%23x");
        assert_eq!(encode_segment("plain-SKU_1.0"), "plain-SKU_1.0");
    }
}
