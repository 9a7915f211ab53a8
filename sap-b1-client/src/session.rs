//! The Service Layer session: login, the two cookies, idle expiry and single-flight re-login.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, SET_COOKIE};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// What `POST /Login` returned (the session id itself is kept out of this type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Service Layer version string, e.g. `"1000280"`.
    pub version: Option<String>,
    /// Idle timeout the server announced.
    pub timeout: Duration,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LoginResponse {
    pub session_id: Option<SecretString>,
    pub version: Option<String>,
    pub session_timeout: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LoginRequest<'a> {
    #[serde(rename = "CompanyDB")]
    pub company_db: &'a str,
    pub user_name: &'a str,
    pub password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<i32>,
}

/// The cookies SAP hands out at login, kept secret because `B1SESSION` is a bearer credential.
#[derive(Clone)]
pub(crate) struct SessionCookies {
    b1session: SecretString,
    route_id: Option<String>,
}

impl fmt::Debug for SessionCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCookies")
            .field("b1session", &"[redacted]")
            .field("route_id", &self.route_id)
            .finish()
    }
}

impl SessionCookies {
    /// Read `B1SESSION` and `ROUTEID` from the `Set-Cookie` headers by hand: SAP's
    /// `B1SESSION=...;HttpOnly;` form is rejected by some cookie jars, and both must be sent back.
    pub(crate) fn from_headers(
        headers: &HeaderMap,
        fallback_session_id: Option<&SecretString>,
    ) -> Option<Self> {
        let mut b1session = None;
        let mut route_id = None;
        for value in headers.get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or("").trim();
            let Some((name, val)) = pair.split_once('=') else {
                continue;
            };
            match name.trim() {
                n if n.eq_ignore_ascii_case("B1SESSION") => {
                    b1session = Some(SecretString::from(val.trim().to_string()))
                }
                n if n.eq_ignore_ascii_case("ROUTEID") => route_id = Some(val.trim().to_string()),
                _ => {}
            }
        }
        let b1session = b1session.or_else(|| fallback_session_id.cloned())?;
        if b1session.expose_secret().is_empty() {
            return None;
        }
        Some(SessionCookies {
            b1session,
            route_id,
        })
    }

    /// The `Cookie` header value for every authenticated call.
    pub(crate) fn header_value(&self) -> SecretString {
        let mut value = format!("B1SESSION={}", self.b1session.expose_secret());
        if let Some(route) = &self.route_id {
            value.push_str("; ROUTEID=");
            value.push_str(route);
        }
        SecretString::from(value)
    }
}

/// A logged-in session as handed to one request.
#[derive(Debug, Clone)]
pub(crate) struct ActiveSession {
    pub cookies: SessionCookies,
    pub generation: u64,
}

#[derive(Debug)]
struct SlotState {
    active: Option<ActiveSession>,
    generation: u64,
    last_used: Instant,
    timeout: Duration,
    info: Option<SessionInfo>,
    /// The most recent rejected login and the attempt number it ended.
    last_rejection: Option<(u64, crate::error::ServerError)>,
}

/// One session's state. The async mutex is held across the login call, which is what makes
/// re-login single-flight: concurrent callers queue on it and then find the fresh session.
#[derive(Debug)]
pub(crate) struct SessionSlot {
    state: Mutex<SlotState>,
    /// Login attempts finished so far; read before queueing so that callers who waited on a
    /// rejected login share its answer instead of each trying the bad credentials again.
    finished_logins: AtomicU64,
    /// Calls currently using this session (for picking the least busy one in a pool).
    pub(crate) in_flight: AtomicUsize,
}

/// Refresh this long before the announced idle timeout, to avoid racing the server's clock.
const IDLE_MARGIN: Duration = Duration::from_secs(60);

impl SessionSlot {
    pub(crate) fn new() -> Self {
        SessionSlot {
            state: Mutex::new(SlotState {
                active: None,
                generation: 0,
                last_used: Instant::now(),
                timeout: Duration::from_secs(30 * 60),
                info: None,
                last_rejection: None,
            }),
            finished_logins: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// The current session, logging in first when there is none or it has been idle too long.
    pub(crate) async fn current<F, Fut>(&self, login: F) -> crate::Result<ActiveSession>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = crate::Result<(SessionCookies, SessionInfo)>>,
    {
        let seen = self.finished_logins.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        let now = Instant::now();
        if let Some(active) = &state.active {
            let limit = state
                .timeout
                .saturating_sub(IDLE_MARGIN)
                .max(state.timeout / 2);
            if now.duration_since(state.last_used) < limit {
                let active = active.clone();
                state.last_used = now;
                return Ok(active);
            }
            tracing::debug!("SAP session idle past its timeout; logging in again");
        }
        self.login_locked(&mut state, seen, login).await
    }

    /// Replace the session that answered 401, unless another caller already did.
    pub(crate) async fn renew<F, Fut>(
        &self,
        rejected_generation: u64,
        login: F,
    ) -> crate::Result<ActiveSession>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = crate::Result<(SessionCookies, SessionInfo)>>,
    {
        let seen = self.finished_logins.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        if let Some(active) = &state.active
            && active.generation != rejected_generation
        {
            let active = active.clone();
            state.last_used = Instant::now();
            return Ok(active);
        }
        tracing::info!("SAP session rejected (HTTP 401); logging in again");
        self.login_locked(&mut state, seen, login).await
    }

    async fn login_locked<F, Fut>(
        &self,
        state: &mut SlotState,
        seen_finished: u64,
        login: F,
    ) -> crate::Result<ActiveSession>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = crate::Result<(SessionCookies, SessionInfo)>>,
    {
        if let Some((attempt, rejection)) = &state.last_rejection
            && *attempt > seen_finished
        {
            // A login finished while we queued and SAP rejected it: same credentials, same answer.
            return Err(crate::Error::Login(rejection.clone()));
        }
        state.active = None;
        let outcome = login().await;
        let attempt = self.finished_logins.fetch_add(1, Ordering::AcqRel) + 1;
        let (cookies, info) = match outcome {
            Ok(ok) => {
                state.last_rejection = None;
                ok
            }
            Err(crate::Error::Login(rejection)) => {
                state.last_rejection = Some((attempt, rejection.clone()));
                return Err(crate::Error::Login(rejection));
            }
            Err(other) => return Err(other),
        };
        state.generation += 1;
        state.timeout = info.timeout;
        state.last_used = Instant::now();
        state.info = Some(info);
        let active = ActiveSession {
            cookies,
            generation: state.generation,
        };
        state.active = Some(active.clone());
        Ok(active)
    }

    /// Take the session out (for logout); later calls log in again.
    pub(crate) async fn take(&self) -> Option<ActiveSession> {
        self.state.lock().await.active.take()
    }

    /// What the last login reported.
    pub(crate) async fn info(&self) -> Option<SessionInfo> {
        self.state.lock().await.info.clone()
    }
}
