//! The validating builder of [`SpApiClient`].

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;

use crate::auth::{DEFAULT_REFRESH_MARGIN, LWA_TOKEN_URL, LwaCredentials, TokenProvider};
use crate::client::{Inner, SpApiClient};
use crate::error::{Error, Result};
use crate::observe::{Observer, RequestObserver};
use crate::rate_limit::{RateLimiter, RetryPolicy};
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
    observer: Observer,
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

    /// Calls `observer` once per HTTP attempt (operation, status, attempt number, duration): see
    /// [`observe`](crate::observe). Without one, nothing is measured.
    pub fn observer(mut self, observer: impl RequestObserver + 'static) -> Self {
        self.observer = Observer::new(Arc::new(observer));
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
                observer: self.observer,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_and_sandbox_choose_the_host() {
        let creds = LwaCredentials::new("id", "secret", "Atzr|token");
        let eu = SpApiClient::builder()
            .region(Region::Europe)
            .credentials(creds.clone())
            .build()
            .unwrap();
        assert!(format!("{eu:?}").contains("https://sellingpartnerapi-eu.amazon.com/"));
        let sandbox = SpApiClient::builder()
            .region(Region::FarEast)
            .sandbox(true)
            .credentials(creds)
            .build()
            .unwrap();
        let text = format!("{sandbox:?}");
        assert!(
            text.contains("https://sandbox.sellingpartnerapi-fe.amazon.com/"),
            "{text}"
        );
        assert!(
            !text.contains("secret") && !text.contains("Atzr|token"),
            "{text}"
        );
    }

    #[test]
    fn user_agent_follows_amazon_format() {
        let ua = user_agent(Some("ml-connector/0.1.0"));
        assert!(ua.starts_with("ml-connector/0.1.0 (Language=Rust; Platform="));
        assert!(ua.contains("\\/"), "{ua}");
        assert!(ua.len() <= 500);
    }
}
