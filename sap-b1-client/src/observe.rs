//! A hook that sees every HTTP attempt the client makes, for metrics (retries, latency).
//!
//! Set one with [`SapClientBuilder::observer`](crate::SapClientBuilder::observer); without one
//! (the default) nothing is measured or called. The hook gets a path *template*: the path below
//! the base URL without its query string, every entity key replaced by `{key}`
//! (`Invoices(42)/Cancel` → `Invoices({key})/Cancel`, `Items('SKU 1')` → `Items({key})`), so
//! no filter, document number, item code or session id reaches it. It runs on the request
//! path, so it should only count (atomics, a short lock), never block or await.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use sap_b1_client::{RequestEvent, SapClient, SecretString};
//!
//! let retries = Arc::new(AtomicU64::new(0));
//! let seen = retries.clone();
//! let sap = SapClient::builder("https://sap.example.com:50000/b1s/v2")
//!     .company("SBODEMOUS")
//!     .credentials("manager", SecretString::from("secret".to_string()))
//!     .observer(move |event: &RequestEvent<'_>| {
//!         if event.is_retry() {
//!             seen.fetch_add(1, Ordering::Relaxed);
//!         }
//!         println!("{} {} {:?} in {:?}", event.method, event.operation, event.status, event.duration);
//!     })
//!     .build()
//!     .unwrap();
//! # drop(sap);
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

/// One HTTP attempt to the Service Layer (a call, a `/Login`, a `/Logout`, a `/ping/`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestEvent<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path template below the base URL: no query string, keys replaced by `{key}`
    /// (`Login`, `Items`, `Invoices({key})`, `$batch`, `ping/`).
    pub operation: &'a str,
    /// The HTTP status, `None` when no answer came (connection refused, closed, timeout).
    pub status: Option<u16>,
    /// 1 for the first attempt of a call, 2 for its first retry (after a 502/503/504 or a
    /// transport error of a read, a 401 that forced a new login, or a closed keep-alive
    /// connection), and so on.
    pub attempt: u32,
    /// From sending the request to the end of the answer's body (or the failure); the wait
    /// for a session is not included.
    pub duration: Duration,
}

impl RequestEvent<'_> {
    /// The server throttled the attempt (HTTP 429, e.g. from a gateway in front of SAP).
    pub fn is_throttled(&self) -> bool {
        self.status == Some(429)
    }

    /// The attempt repeats an earlier attempt of the same call.
    pub fn is_retry(&self) -> bool {
        self.attempt > 1
    }
}

/// Receives a [`RequestEvent`] per HTTP attempt. Any `Fn(&RequestEvent<'_>)` that is
/// `Send + Sync` is one.
pub trait RequestObserver: Send + Sync {
    /// Called once per attempt, after its answer was read or it failed.
    fn on_request(&self, event: &RequestEvent<'_>);
}

impl<F> RequestObserver for F
where
    F: Fn(&RequestEvent<'_>) + Send + Sync,
{
    fn on_request(&self, event: &RequestEvent<'_>) {
        self(event)
    }
}

/// The client's optional observer.
#[derive(Clone, Default)]
pub(crate) struct Observer(Option<Arc<dyn RequestObserver>>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

impl Observer {
    pub(crate) fn new(observer: Arc<dyn RequestObserver>) -> Self {
        Self(Some(observer))
    }

    /// Starts timing an attempt; `None` (and no clock read) without an observer.
    pub(crate) fn start(&self) -> Option<Instant> {
        self.0.as_ref().map(|_| Instant::now())
    }

    /// Reports an attempt started at `started` on `url` (`base_path` is the base URL's path).
    pub(crate) fn report(
        &self,
        started: Option<Instant>,
        method: &str,
        url: &url::Url,
        base_path: &str,
        status: Option<u16>,
        attempt: u32,
    ) {
        if let (Some(observer), Some(started)) = (&self.0, started) {
            let operation = template(url.path(), base_path);
            observer.on_request(&RequestEvent {
                method,
                operation: &operation,
                status,
                attempt,
                duration: started.elapsed(),
            });
        }
    }
}

/// The path below `base_path` with every parenthesised key replaced by `{key}` (quotes inside a
/// key, `''` escapes included, are skipped over).
pub(crate) fn template(path: &str, base_path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    let path = path
        .strip_prefix(base_path)
        .unwrap_or_else(|| path.trim_start_matches('/'));
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c != '(' {
            out.push(c);
            continue;
        }
        let mut quoted = false;
        for k in chars.by_ref() {
            match k {
                '\'' => quoted = !quoted,
                ')' if !quoted => break,
                _ => {}
            }
        }
        out.push_str("({key})");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::template;

    #[test]
    fn templates_keep_sets_and_actions_and_drop_keys_and_queries() {
        let base = "/b1s/v2/";
        for (path, want) in [
            ("/b1s/v2/Login", "Login"),
            ("/b1s/v2/Items", "Items"),
            ("/b1s/v2/Invoices(42)/Cancel", "Invoices({key})/Cancel"),
            ("/b1s/v2/Items('A%20)1''x')", "Items({key})"),
            ("/b1s/v2/U_MLC_KEYS('amz:S:order:1')", "U_MLC_KEYS({key})"),
            ("/b1s/v2/$batch", "$batch"),
            ("/b1s/v2/Items?$filter=ItemCode eq 'x'", "Items"),
            ("/ping/", "ping/"),
        ] {
            assert_eq!(template(path, base), want, "{path}");
        }
    }
}
