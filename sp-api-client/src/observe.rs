//! A hook that sees every HTTP attempt the client makes, for metrics (429s, retries, latency).
//!
//! Set one with [`SpApiClientBuilder::observer`](crate::SpApiClientBuilder::observer); without
//! one (the default) nothing is measured or called. The hook gets the operation's id, never the
//! URL: no query string, order id, SKU or token reaches it. It runs on the request path, so it
//! should only count (atomics, a short lock), never block or await.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use sp_api_client::{LwaCredentials, Region, RequestEvent, SpApiClient};
//!
//! let throttled = Arc::new(AtomicU64::new(0));
//! let retries = Arc::new(AtomicU64::new(0));
//! let (t, r) = (throttled.clone(), retries.clone());
//! let client = SpApiClient::builder()
//!     .region(Region::Europe)
//!     .credentials(LwaCredentials::new("amzn1.application-oa2-client.x", "secret", "Atzr|x"))
//!     .observer(move |event: &RequestEvent<'_>| {
//!         if event.is_throttled() {
//!             t.fetch_add(1, Ordering::Relaxed);
//!         }
//!         if event.is_retry() {
//!             r.fetch_add(1, Ordering::Relaxed);
//!         }
//!         println!("{} {:?} in {:?}", event.operation, event.status, event.duration);
//!     })
//!     .build()
//!     .unwrap();
//! # drop(client);
//! ```

use std::time::Duration;

use crate::rate_limit::Operation;

/// One HTTP attempt of an SP-API call (or of a pre-signed document download or upload).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestEvent<'a> {
    /// The operation (its [`Operation::name`] is Amazon's operation id, a good metric label).
    pub operation: Operation,
    /// The HTTP method.
    pub method: &'a str,
    /// The HTTP status, `None` when no answer came (connection refused, reset, timeout).
    pub status: Option<u16>,
    /// 1 for the first attempt of a call, 2 for its first retry, and so on.
    pub attempt: u32,
    /// From sending the request to the end of the answer's body (or the failure); the wait for
    /// a rate-limit token or an access token is not included.
    pub duration: Duration,
}

impl RequestEvent<'_> {
    /// Amazon throttled the attempt (HTTP 429 `QuotaExceeded`).
    pub fn is_throttled(&self) -> bool {
        self.status == Some(429)
    }

    /// The attempt repeats an earlier attempt of the same call (after a 429, a 5xx, a transport
    /// error or an access token that expired early).
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
pub(crate) struct Observer(Option<std::sync::Arc<dyn RequestObserver>>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

impl Observer {
    pub(crate) fn new(observer: std::sync::Arc<dyn RequestObserver>) -> Self {
        Self(Some(observer))
    }

    /// Starts timing an attempt; `None` (and no clock read) without an observer.
    pub(crate) fn start(&self) -> Option<std::time::Instant> {
        self.0.as_ref().map(|_| std::time::Instant::now())
    }

    /// Reports an attempt started at `started` (see [`Observer::start`]).
    pub(crate) fn report(
        &self,
        started: Option<std::time::Instant>,
        operation: Operation,
        method: &str,
        status: Option<u16>,
        attempt: u32,
    ) {
        if let (Some(observer), Some(started)) = (&self.0, started) {
            observer.on_request(&RequestEvent {
                operation,
                method,
                status,
                attempt,
                duration: started.elapsed(),
            });
        }
    }
}
