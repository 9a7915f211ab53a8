//! [`SapClientBuilder`]: the validated settings of a [`SapClient`].

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::client::{Inner, ODataVersion, SapClient};
use crate::error::{Error, Result};
use crate::observe::{Observer, RequestObserver};
use crate::request::RetryPolicy;
use crate::session::SessionSlot;
use crate::tls::{TlsOptions, client_config};

/// Validating builder for [`SapClient`]; see [`SapClient::builder`].
#[derive(Debug)]
#[must_use]
pub struct SapClientBuilder {
    base_url: String,
    company: Option<String>,
    user: Option<String>,
    password: Option<SecretString>,
    language: Option<i32>,
    timeout: Duration,
    connect_timeout: Duration,
    pool_idle_timeout: Duration,
    sessions: usize,
    retry: RetryPolicy,
    tls: TlsOptions,
    observer: Observer,
}

impl SapClientBuilder {
    /// Company database (`CompanyDB` in the login body).
    pub fn company(mut self, company_db: impl Into<String>) -> Self {
        self.company = Some(company_db.into());
        self
    }

    /// SAP user name and password.
    pub fn credentials(mut self, user: impl Into<String>, password: SecretString) -> Self {
        self.user = Some(user.into());
        self.password = Some(password);
        self
    }

    /// Login language code (affects the language of SAP error messages).
    pub fn language(mut self, language: i32) -> Self {
        self.language = Some(language);
        self
    }

    /// Whole-request timeout (default 60 s); `$batch` calls can override per request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// TCP/TLS connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an idle pooled connection is kept (default 4 s, below SAP's 5 s keep-alive).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Number of parallel SAP sessions (default 1). SAP serves one session's calls one at a time.
    pub fn sessions(mut self, sessions: usize) -> Self {
        self.sessions = sessions;
        self
    }

    /// Retry policy for idempotent requests (writes are never retried).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Trust an extra CA certificate (PEM), e.g. the self-signed certificate of an on-prem server.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.extra_ca_pem.push(pem.into());
        self
    }

    /// Disable TLS certificate verification. Logged as a warning at build time; avoid in production.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.tls.accept_invalid_certs = accept;
        self
    }

    /// Calls `observer` once per HTTP attempt (method, path template, status, attempt number,
    /// duration): see [`observe`](crate::observe). Without one, nothing is measured.
    pub fn observer(mut self, observer: impl RequestObserver + 'static) -> Self {
        self.observer = Observer::new(Arc::new(observer));
        self
    }

    /// Check the settings and build the client. No network traffic happens here.
    pub fn build(self) -> Result<SapClient> {
        let mut base = Url::parse(self.base_url.trim())
            .map_err(|e| Error::Config(format!("base URL `{}`: {e}", self.base_url)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "base URL must be http(s), got `{}`",
                base.scheme()
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::Config(
                "base URL must not have a query or fragment".into(),
            ));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let version = if base.path().ends_with("/v1/") {
            ODataVersion::V3
        } else if base.path().ends_with("/v2/") {
            ODataVersion::V4
        } else {
            return Err(Error::Config(format!(
                "base URL must end in /b1s/v1 or /b1s/v2, got `{base}`"
            )));
        };
        let company = non_empty(self.company, "company (CompanyDB)")?;
        let user = non_empty(self.user, "user name")?;
        let password = self
            .password
            .filter(|p| !p.expose_secret().is_empty())
            .ok_or_else(|| Error::Config("password is required".into()))?;
        if self.sessions == 0 {
            return Err(Error::Config("sessions must be at least 1".into()));
        }
        if base.scheme() == "http" {
            tracing::warn!(%base, "SAP Service Layer base URL is plain http: credentials travel unencrypted");
        }

        let tls = client_config(&self.tls)?;
        let http_client = |tls: rustls::ClientConfig, pooled: bool| {
            let mut http = reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .http1_only()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout)
                .pool_idle_timeout(self.pool_idle_timeout)
                .user_agent(concat!(
                    "ml-connector-sap-b1-client/",
                    env!("CARGO_PKG_VERSION")
                ));
            if !pooled {
                // Keeps no idle connection: every request opens a new one.
                http = http.pool_max_idle_per_host(0);
            }
            http.build()
                .map_err(|e| Error::Config(format!("HTTP client: {e}")))
        };
        let fresh_http = http_client(tls.clone(), false)?;
        let http = http_client(tls, true)?;

        Ok(SapClient {
            inner: Arc::new(Inner {
                http,
                fresh_http,
                base,
                version,
                company,
                user,
                password,
                language: self.language,
                sessions: (0..self.sessions).map(|_| SessionSlot::new()).collect(),
                next_session: AtomicUsize::new(0),
                retry: self.retry,
                observer: self.observer,
            }),
        })
    }
}

fn non_empty(value: Option<String>, what: &str) -> Result<String> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Error::Config(format!("{what} is required")))
}

impl SapClient {
    /// Start a builder for the full Service Layer base URL, e.g. `https://sap:50000/b1s/v2`.
    pub fn builder(base_url: impl Into<String>) -> SapClientBuilder {
        SapClientBuilder {
            base_url: base_url.into(),
            company: None,
            user: None,
            password: None,
            language: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(4),
            sessions: 1,
            retry: RetryPolicy::default(),
            tls: TlsOptions::default(),
            observer: Observer::default(),
        }
    }
}
