//! Login with Amazon (LWA): refresh-token grant, a cached access token shared by all clones of
//! the client, single-flight refresh, typed LWA errors and a client secret that can be rotated
//! while the client runs.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::time::Instant;

use crate::types::string_enum;

/// Amazon's LWA token endpoint (all regions).
pub const LWA_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";

/// Refresh the access token at least this long before Amazon says it expires.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// How many times a token request is tried when LWA reports a transient failure.
const LWA_ATTEMPTS: u32 = 3;

/// The LWA credential set of one app authorised by one seller.
#[derive(Clone)]
pub struct LwaCredentials {
    /// LWA client id (`amzn1.application-oa2-client.…`); not secret.
    pub client_id: String,
    /// LWA client secret (rotated every 180 days).
    pub client_secret: SecretString,
    /// The seller's refresh token (`Atzr|…`).
    pub refresh_token: SecretString,
}

impl LwaCredentials {
    /// Groups the three LWA values.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
        refresh_token: impl Into<SecretString>,
    ) -> Self {
        LwaCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            refresh_token: refresh_token.into(),
        }
    }
}

impl std::fmt::Debug for LwaCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LwaCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .finish()
    }
}

string_enum!(
    /// The `error` code of an LWA error response.
    LwaErrorCode {
        /// The refresh token is invalid, revoked, or belongs to another app or region.
        InvalidGrant = "invalid_grant",
        /// Client id or secret is wrong (or the secret was rotated away).
        InvalidClient = "invalid_client",
        /// The app may not use this grant type.
        UnauthorizedClient = "unauthorized_client",
        /// The token request is malformed.
        InvalidRequest = "invalid_request",
        /// The requested scope is invalid.
        InvalidScope = "invalid_scope",
        /// The seller or Amazon denied access.
        AccessDenied = "access_denied",
        /// LWA had an internal error (retried).
        ServerError = "server_error",
        /// LWA is temporarily unavailable (retried).
        TemporarilyUnavailable = "temporarily_unavailable",
    }
);

impl LwaErrorCode {
    /// What the user should do about this error.
    pub fn advice(&self) -> &'static str {
        match self {
            LwaErrorCode::InvalidGrant => {
                "the refresh token was revoked, expired or belongs to another app or region: have the seller authorise the app again and store the new refresh token"
            }
            LwaErrorCode::InvalidClient => {
                "the LWA client id or client secret is wrong; secrets must be rotated every 180 days: copy the app's current client id and secret from Seller Central (Develop Apps) and store them again (ml-connector: `ml-connector credentials set amazon`)"
            }
            LwaErrorCode::UnauthorizedClient => {
                "the app is not allowed to use the refresh-token grant: check the app registration in Seller Central"
            }
            LwaErrorCode::InvalidRequest => {
                "the token request was malformed: check that client id, client secret and refresh token are set and contain no stray whitespace"
            }
            LwaErrorCode::InvalidScope | LwaErrorCode::AccessDenied => {
                "access was denied: check the app's roles and the seller's authorisation"
            }
            LwaErrorCode::ServerError | LwaErrorCode::TemporarilyUnavailable => {
                "Login with Amazon is having trouble: try again later"
            }
            LwaErrorCode::Unknown(_) => "see the description from Login with Amazon",
        }
    }

    fn is_transient(&self) -> bool {
        matches!(
            self,
            LwaErrorCode::ServerError | LwaErrorCode::TemporarilyUnavailable
        )
    }
}

/// Why no access token could be obtained from Login with Amazon.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LwaError {
    /// LWA answered with `{"error":…, "error_description":…}`.
    #[error("Login with Amazon refused the token request ({code}, HTTP {status}): {}. What to do: {}", description.trim_end_matches('.'), code.advice())]
    Rejected {
        /// The typed error code.
        code: LwaErrorCode,
        /// LWA's description.
        description: String,
        /// HTTP status.
        status: StatusCode,
    },
    /// No response from the token endpoint.
    #[error("cannot reach Login with Amazon: {0}")]
    Transport(#[source] reqwest::Error),
    /// A response that is neither a token nor an LWA error. The body is kept only for non-2xx
    /// answers (a 2xx body may contain a token).
    #[error("unexpected answer from Login with Amazon (HTTP {status}){}", body.as_deref().map(|b| format!(": {}", crate::error::truncate(b, 300))).unwrap_or_default())]
    Unexpected {
        /// HTTP status.
        status: StatusCode,
        /// Raw body of a non-2xx answer.
        body: Option<String>,
    },
}

impl LwaError {
    fn is_transient(&self) -> bool {
        match self {
            LwaError::Rejected { code, status, .. } => {
                code.is_transient() || status.is_server_error()
            }
            LwaError::Transport(_) => true,
            LwaError::Unexpected { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    expires_in: u64,
}

#[derive(Deserialize)]
struct LwaErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// An access token together with the cache generation it came from.
#[derive(Clone)]
pub(crate) struct AccessToken {
    pub(crate) secret: SecretString,
    pub(crate) generation: u64,
}

struct CachedToken {
    token: AccessToken,
    refresh_at: Instant,
}

/// Holds the credential set and the cached access token; shared by all clones of a client.
pub(crate) struct TokenProvider {
    http: reqwest::Client,
    token_url: url::Url,
    client_id: String,
    client_secret: RwLock<SecretString>,
    refresh_token: SecretString,
    refresh_margin: Duration,
    // An async mutex held across the refresh makes concurrent callers wait for one refresh.
    cache: tokio::sync::Mutex<Option<CachedToken>>,
    generation: AtomicU64,
    refreshes: AtomicU64,
}

impl TokenProvider {
    pub(crate) fn new(
        http: reqwest::Client,
        token_url: url::Url,
        credentials: LwaCredentials,
        refresh_margin: Duration,
    ) -> Self {
        TokenProvider {
            http,
            token_url,
            client_id: credentials.client_id,
            client_secret: RwLock::new(credentials.client_secret),
            refresh_token: credentials.refresh_token,
            refresh_margin,
            cache: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            refreshes: AtomicU64::new(0),
        }
    }

    pub(crate) fn set_client_secret(&self, secret: SecretString) {
        *self
            .client_secret
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = secret;
    }

    pub(crate) fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// Returns a valid access token, refreshing it (once for all concurrent callers) if needed.
    pub(crate) async fn access_token(&self) -> Result<AccessToken, LwaError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let (secret, expires_in) = self.fetch_with_retry().await?;
        let lifetime = Duration::from_secs(expires_in);
        let usable = if lifetime > self.refresh_margin * 2 {
            lifetime - self.refresh_margin
        } else {
            lifetime / 2
        };
        let token = AccessToken {
            secret,
            generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
        };
        *cache = Some(CachedToken {
            token: token.clone(),
            refresh_at: Instant::now() + usable,
        });
        Ok(token)
    }

    /// Drops the cached token if it is still the one of `generation` (so that several callers
    /// that saw the same expired token cause only one refresh).
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut cache = self.cache.lock().await;
        if cache
            .as_ref()
            .is_some_and(|c| c.token.generation == generation)
        {
            *cache = None;
        }
    }

    async fn fetch_with_retry(&self) -> Result<(SecretString, u64), LwaError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.fetch().await {
                Ok(t) => return Ok(t),
                Err(e) if e.is_transient() && attempt < LWA_ATTEMPTS => {
                    let delay = Duration::from_secs(1 << attempt);
                    tracing::warn!(attempt, ?delay, error = %e, "LWA token request failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    #[tracing::instrument(name = "lwa_refresh", skip(self))]
    async fn fetch(&self) -> Result<(SecretString, u64), LwaError> {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        let client_secret = self
            .client_secret
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", self.refresh_token.expose_secret()),
            ("client_id", self.client_id.as_str()),
            ("client_secret", client_secret.expose_secret()),
        ];
        let response = self
            .http
            .post(self.token_url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .body(form_body(&form))
            .send()
            .await
            .map_err(LwaError::Transport)?;
        let status = response.status();
        let body = response.text().await.map_err(LwaError::Transport)?;
        if status.is_success() {
            return match serde_json::from_str::<TokenResponse>(&body) {
                Ok(t) => Ok((t.access_token, t.expires_in)),
                Err(_) => Err(LwaError::Unexpected { status, body: None }),
            };
        }
        match serde_json::from_str::<LwaErrorBody>(&body) {
            Ok(e) => Err(LwaError::Rejected {
                code: LwaErrorCode::from(e.error.as_str()),
                description: e.error_description,
                status,
            }),
            Err(_) => Err(LwaError::Unexpected {
                status,
                body: Some(body),
            }),
        }
    }
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

#[cfg(test)]
mod message_tests {
    use super::*;

    #[test]
    fn a_refusal_reads_as_one_sentence_per_part_and_sends_secrets_to_the_store() {
        let e = LwaError::Rejected {
            code: LwaErrorCode::InvalidClient,
            description: "Client authentication failed.".into(),
            status: StatusCode::UNAUTHORIZED,
        };
        let text = e.to_string();
        assert!(!text.contains(".."), "{text}");
        assert!(
            text.contains("Client authentication failed. What to do:"),
            "{text}"
        );
        assert!(text.contains("credentials set amazon") && !text.contains("in the configuration"));
    }
}
