//! The client: one place for the session, retries and tracing (its builder: `builder.rs`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

pub use crate::builder::SapClientBuilder;
use crate::error::{Error, Result, ServerError};
use crate::observe::Observer;
use crate::request::{Request, Response, Retry, RetryPolicy};
use crate::session::{
    ActiveSession, LoginRequest, LoginResponse, SessionCookies, SessionInfo, SessionSlot,
};

/// Logins a request may make after SAP rejects its session (HTTP 401) before the rejection is
/// returned as [`Error::Session`].
const SESSION_RENEWALS: u32 = 3;

/// Which OData protocol the base URL speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ODataVersion {
    /// `/b1s/v1`: OData v3.
    V3,
    /// `/b1s/v2`: OData v4 (SAP's recommended endpoint).
    V4,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// Keeps no idle connection: the one resend after a closed keep-alive connection goes here.
    pub(crate) fresh_http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) version: ODataVersion,
    pub(crate) company: String,
    pub(crate) user: String,
    pub(crate) password: SecretString,
    pub(crate) language: Option<i32>,
    pub(crate) sessions: Vec<SessionSlot>,
    pub(crate) next_session: AtomicUsize,
    pub(crate) retry: RetryPolicy,
    pub(crate) observer: Observer,
}

/// A Service Layer client for one (base URL, company, user). Cheap to clone; clones share sessions.
#[derive(Clone)]
pub struct SapClient {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for SapClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SapClient")
            .field("base", &self.inner.base.as_str())
            .field("company", &self.inner.company)
            .field("user", &self.inner.user)
            .field("sessions", &self.inner.sessions.len())
            .finish_non_exhaustive()
    }
}

/// Answer of `GET /ping/` (load balancer liveness, no session needed).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pong {
    /// Usually `"pong"`.
    pub message: Option<String>,
    /// Who answered (e.g. `"load balancer"`).
    pub sender: Option<String>,
}

/// Result of [`SapClient::whoami`]: who we are logged in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Company database.
    pub company: String,
    /// SAP user name.
    pub user: String,
    /// Service Layer version reported at login.
    pub version: Option<String>,
}

impl SapClient {
    /// The normalised base URL (always ends in `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The OData protocol version of the base URL.
    pub fn odata_version(&self) -> ODataVersion {
        self.inner.version
    }

    /// Log in now (otherwise the first call does) and return what SAP reported.
    #[tracing::instrument(skip(self))]
    pub async fn connect(&self) -> Result<SessionInfo> {
        let slot = &self.inner.sessions[0];
        slot.current(|| self.login()).await?;
        Ok(slot.info().await.unwrap_or(SessionInfo {
            version: None,
            timeout: Duration::from_secs(30 * 60),
        }))
    }

    /// `GET /ping/` on the server root: liveness without a session (SL 9.3 PL10+).
    #[tracing::instrument(skip(self))]
    pub async fn ping(&self) -> Result<Pong> {
        let url = self
            .inner
            .base
            .join("/ping/")
            .map_err(|e| Error::Config(format!("ping URL: {e}")))?;
        let resp = self
            .send_raw(&Request::get("/ping/"), &url, None, Connection::Pooled, 1)
            .await?;
        if !(200..300).contains(&resp.status) {
            return Err(ServerError::from_response(resp.status, &resp.body).into_error());
        }
        parse_json(&resp.body, "GET /ping/")
    }

    /// A cheap authenticated call (`GET Currencies?$top=1&$select=Code`) proving the session works.
    #[tracing::instrument(skip(self))]
    pub async fn whoami(&self) -> Result<Identity> {
        self.send(Request::get("Currencies?$top=1&$select=Code"))
            .await?;
        let mut version = None;
        for slot in &self.inner.sessions {
            if let Some(info) = slot.info().await {
                version = info.version;
                break;
            }
        }
        Ok(Identity {
            company: self.inner.company.clone(),
            user: self.inner.user.clone(),
            version,
        })
    }

    /// `POST /Logout` for every open session. Later calls log in again.
    #[tracing::instrument(skip(self))]
    pub async fn logout(&self) -> Result<()> {
        let mut first_error = None;
        for slot in &self.inner.sessions {
            let Some(session) = slot.take().await else {
                continue;
            };
            let url = self.url_for("Logout")?;
            let outcome = self
                .send_raw(
                    &Request::post("Logout"),
                    &url,
                    Some(&session),
                    Connection::Pooled,
                    1,
                )
                .await;
            let result = match outcome {
                // 401: the session was already gone, which is what we wanted.
                Ok(r) if (200..300).contains(&r.status) || r.status == 401 => Ok(()),
                Ok(r) => Err(ServerError::from_response(r.status, &r.body).into_error()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Send a request through the session layer (login, 401 re-login, retries of reads).
    ///
    /// Returns the 2xx response; every other status becomes a typed [`Error`].
    #[tracing::instrument(skip(self, request), fields(method = %request.method, path = %request.path))]
    pub async fn send(&self, request: Request) -> Result<Response> {
        let url = self.url_for(&request.path)?;
        let (slot, _in_flight) = self.pick_session();
        let mut session = slot.current(|| self.login()).await?;
        let mut renewals = 0u32;
        let mut attempt = 0u32;
        // Attempts sent (for the observer), whatever made them: a retry, a 401, a closed connection.
        let mut sent = 0u32;
        let resend_safe = request.retry == Retry::Idempotent;
        loop {
            let outcome = self
                .send_resending_once(&request, &url, Some(&session), resend_safe, &mut sent)
                .await;
            let err = match outcome {
                Ok(resp) if (200..300).contains(&resp.status) => return Ok(resp),
                Ok(resp) if resp.status == 401 && renewals < SESSION_RENEWALS => {
                    // SAP did not execute a request it rejected for its session: replaying is safe.
                    // A few renewals, not one: with several sessions, another request's expiry
                    // can end the fresh session before this request is replayed on it.
                    renewals += 1;
                    session = slot.renew(session.generation, || self.login()).await?;
                    continue;
                }
                Ok(resp) => {
                    let server = ServerError::from_response(resp.status, &resp.body);
                    let ambiguous = server.is_ambiguous();
                    let err = server.into_error();
                    if request.retry == Retry::Never && ambiguous {
                        return Err(outcome_unknown(&request, err));
                    }
                    err
                }
                Err(err) => {
                    let not_sent =
                        matches!(&err, Error::Transport { source, .. } if source.is_connect());
                    if request.retry == Retry::Never && !not_sent {
                        return Err(outcome_unknown(&request, err));
                    }
                    err
                }
            };
            if request.retry == Retry::Idempotent
                && err.is_transient()
                && attempt < self.inner.retry.max_retries
            {
                let wait = self.inner.retry.backoff(attempt);
                tracing::warn!(error = %err, attempt, ?wait, "retrying idempotent SAP request");
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            return Err(err);
        }
    }

    /// Send a request and parse the JSON body into `T` (errors carry the JSON path).
    pub async fn send_json<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        let context = format!("{} {}", request.method, request.path);
        let resp = self.send(request).await?;
        parse_json(&resp.body, &context)
    }

    /// Resolve a path (relative, absolute-path or absolute URL) against the base URL, same origin only.
    pub(crate) fn url_for(&self, path: &str) -> Result<Url> {
        let url = self
            .inner
            .base
            .join(path)
            .map_err(|e| Error::UnexpectedResponse {
                message: format!("cannot resolve `{path}` against the base URL: {e}"),
                body: String::new(),
            })?;
        if url.origin() != self.inner.base.origin() {
            // Session cookies must never travel to another host, whatever a nextLink says.
            return Err(Error::UnexpectedResponse {
                message: format!("refusing to follow `{path}` to another origin"),
                body: String::new(),
            });
        }
        Ok(url)
    }

    /// The base URL's path (e.g. `/b1s/v2/`), used for `$batch` request lines.
    pub(crate) fn base_path(&self) -> &str {
        self.inner.base.path()
    }

    /// The session with the fewest calls in flight (SAP runs one session's calls one at a
    /// time), rotating among equals; the guard keeps the count while the call runs.
    fn pick_session(&self) -> (&SessionSlot, InFlight<'_>) {
        let sessions = &self.inner.sessions;
        let start = self.inner.next_session.fetch_add(1, Ordering::Relaxed);
        let index = (0..sessions.len())
            .map(|k| (start + k) % sessions.len())
            .min_by_key(|&i| sessions[i].in_flight.load(Ordering::Relaxed))
            .unwrap_or(0);
        let slot = &sessions[index];
        slot.in_flight.fetch_add(1, Ordering::Relaxed);
        (slot, InFlight(&slot.in_flight))
    }

    /// Sends once; when the answer is lost because the server closed the keep-alive connection
    /// (see [`Error::is_closed_connection`]) and `resend_safe` (a read, `/Login`), sends once
    /// more on a new connection, outside the retry policy: the server did not fail, the pooled
    /// connection was stale. A write never is: SAP may have executed it.
    async fn send_resending_once(
        &self,
        request: &Request,
        url: &Url,
        session: Option<&ActiveSession>,
        resend_safe: bool,
        sent: &mut u32,
    ) -> Result<Response> {
        *sent += 1;
        let outcome = self
            .send_raw(request, url, session, Connection::Pooled, *sent)
            .await;
        match outcome {
            Err(e) if resend_safe && e.is_closed_connection() => {
                tracing::info!(error = %e, "SAP closed the connection; sending again on a new one");
                *sent += 1;
                self.send_raw(request, url, session, Connection::Fresh, *sent)
                    .await
            }
            other => other,
        }
    }

    async fn send_raw(
        &self,
        request: &Request,
        url: &Url,
        session: Option<&ActiveSession>,
        connection: Connection,
        attempt: u32,
    ) -> Result<Response> {
        let http = match connection {
            Connection::Pooled => &self.inner.http,
            Connection::Fresh => &self.inner.fresh_http,
        };
        let mut builder = http
            .request(request.method.clone(), url.clone())
            .headers(request.headers.clone());
        if let Some(session) = session {
            let mut cookie = HeaderValue::from_str(session.cookies.header_value().expose_secret())
                .map_err(|_| Error::UnexpectedResponse {
                    message: "session cookie contains invalid characters".into(),
                    body: String::new(),
                })?;
            cookie.set_sensitive(true);
            builder = builder.header(COOKIE, cookie);
        }
        if let Some((body, content_type)) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, content_type.clone())
                .body(body.clone());
        }
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        // The path without its query (a `$filter` can be long and says nothing about a refused
        // connection), and the error without its URL, which would repeat base URL and query.
        let transport = |source: reqwest::Error| Error::Transport {
            method: request.method.to_string(),
            path: request
                .path
                .split_once('?')
                .map_or(request.path.as_str(), |(path, _)| path)
                .to_owned(),
            source: source.without_url(),
        };
        let started = self.inner.observer.start();
        let report = |status: Option<u16>| {
            self.inner.observer.report(
                started,
                request.method.as_str(),
                url,
                self.base_path(),
                status,
                attempt,
            )
        };
        let resp = builder.send().await.map_err(|e| {
            report(None);
            transport(e)
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| {
            report(None);
            transport(e)
        })?;
        report(Some(status));
        tracing::debug!(status, bytes = body.len(), "SAP response");
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// `POST /Login`: a rejected login is never retried; one lost on a connection the server
    /// had closed is sent once more on a new one (a second login only opens another session).
    async fn login(&self) -> Result<(SessionCookies, SessionInfo)> {
        let body = serde_json::to_vec(&LoginRequest {
            company_db: &self.inner.company,
            user_name: &self.inner.user,
            password: self.inner.password.expose_secret(),
            language: self.inner.language,
        })
        .map_err(|e| Error::Config(format!("login body: {e}")))?;
        let request = Request::new(Method::POST, "Login").json_body(body);
        let url = self.url_for("Login")?;
        tracing::info!(company = %self.inner.company, user = %self.inner.user, "logging in to SAP Service Layer");
        let resp = self
            .send_resending_once(&request, &url, None, true, &mut 0)
            .await?;
        if !StatusCode::from_u16(resp.status).is_ok_and(|s| s.is_success()) {
            return Err(Error::Login(ServerError::from_response(
                resp.status,
                &resp.body,
            )));
        }
        let parsed: LoginResponse = parse_json(&resp.body, "POST Login").map_err(|e| match e {
            // The login body carries the session id: never keep it in an error.
            Error::Parse {
                context,
                json_path,
                source,
                ..
            } => Error::Parse {
                context,
                json_path,
                body: "[redacted login response]".into(),
                source,
            },
            other => other,
        })?;
        let cookies = SessionCookies::from_headers(&resp.headers, parsed.session_id.as_ref())
            .ok_or_else(|| Error::UnexpectedResponse {
                message: "login succeeded but no B1SESSION cookie or SessionId came back".into(),
                body: String::new(),
            })?;
        let info = SessionInfo {
            version: parsed.version,
            timeout: Duration::from_secs(60 * parsed.session_timeout.unwrap_or(30).max(1)),
        };
        Ok((cookies, info))
    }
}

/// Which connection pool a request goes through.
#[derive(Clone, Copy)]
enum Connection {
    /// The client's keep-alive pool.
    Pooled,
    /// A new connection, closed after the answer.
    Fresh,
}

/// Decrements a session's in-flight count when a call ends (or is dropped).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn outcome_unknown(request: &Request, cause: Error) -> Error {
    tracing::error!(method = %request.method, path = %request.path, error = %cause,
        "SAP write outcome unknown; not retrying");
    Error::OutcomeUnknown {
        method: request.method.to_string(),
        path: request.path.clone(),
        cause: Box::new(cause),
    }
}

/// Parse JSON, keeping the raw body and the failing JSON path on error.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8], context: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Parse {
        context: context.to_string(),
        json_path: e.path().to_string(),
        body: String::from_utf8_lossy(body).into_owned(),
        source: e.into_inner(),
    })
}
