//! What the API clients saw, per tenant: HTTP attempts, 429s and retries per API and operation,
//! and a histogram of the Service Layer's request durations.
//!
//! The clients call an observer per HTTP attempt (`sap_b1_client::observe`,
//! `sp_api_client::observe`): operations are Amazon's operation ids and the Service Layer's path
//! templates (`Invoices({key})`), never an id, a query or a secret, so the label sets stay small.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::metrics::label;

/// Upper bounds (seconds) of the Service Layer latency histogram's buckets; `+Inf` follows.
pub const SAP_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Which client an attempt went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Api {
    /// The Service Layer.
    Sap,
    /// SP-API (and its pre-signed document URLs).
    SpApi,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Sap => "sap",
            Api::SpApi => "sp-api",
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    requests: u64,
    throttled: u64,
    retries: u64,
}

/// A fixed-bucket histogram (cumulative counts are computed when rendered).
#[derive(Debug, Default)]
struct Histogram {
    /// Observations per bucket: `SAP_BUCKETS.len()` bounded ones, then `+Inf`.
    buckets: [AtomicU64; SAP_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = SAP_BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(SAP_BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// One tenant's counters; its clients' observers write here.
#[derive(Debug, Default)]
pub struct TenantApi {
    /// Per API, per operation (one short lock per attempt).
    counts: Mutex<BTreeMap<Api, BTreeMap<String, Counts>>>,
    sap_latency: Histogram,
}

impl TenantApi {
    /// Counts one HTTP attempt.
    pub fn record(&self, api: Api, operation: &str, throttled: bool, retry: bool, took: Duration) {
        {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            let ops = counts.entry(api).or_default();
            let c = match ops.get_mut(operation) {
                Some(c) => c,
                None => ops.entry(operation.to_owned()).or_default(),
            };
            c.requests += 1;
            c.throttled += u64::from(throttled);
            c.retries += u64::from(retry);
        }
        if api == Api::Sap {
            self.sap_latency.observe(took);
        }
    }

    /// The observer to give the Service Layer client's builder.
    pub fn sap_observer(self: &Arc<Self>) -> impl sap_b1_client::RequestObserver + 'static {
        let me = self.clone();
        move |e: &sap_b1_client::RequestEvent<'_>| {
            // "GET Items({key})": the same path read and written are different operations.
            let operation = format!("{} {}", e.method, e.operation);
            me.record(
                Api::Sap,
                &operation,
                e.is_throttled(),
                e.is_retry(),
                e.duration,
            );
        }
    }

    /// The observer to give the SP-API client's builder.
    pub fn amazon_observer(self: &Arc<Self>) -> impl sp_api_client::RequestObserver + 'static {
        let me = self.clone();
        move |e: &sp_api_client::RequestEvent<'_>| {
            me.record(
                Api::SpApi,
                e.operation.name(),
                e.is_throttled(),
                e.is_retry(),
                e.duration,
            );
        }
    }
}

/// One tenant's counts per (API, operation), copied for rendering.
type OpCounts = Vec<((Api, String), Counts)>;

/// Every tenant's [`TenantApi`].
#[derive(Debug, Default)]
pub struct ApiMetrics {
    tenants: Mutex<BTreeMap<String, Arc<TenantApi>>>,
}

impl ApiMetrics {
    fn tenants(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<TenantApi>>> {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The counters of `tenant` (created empty on first use).
    pub fn tenant(&self, tenant: &str) -> Arc<TenantApi> {
        self.tenants().entry(tenant.to_owned()).or_default().clone()
    }

    /// Drops a tenant's counters (its clients may still hold them; nothing renders them).
    pub fn forget(&self, tenant: &str) {
        self.tenants().remove(tenant);
    }

    /// The families in Prometheus text format, HELP and TYPE lines included.
    pub fn render(&self, out: &mut String) {
        let tenants: Vec<(String, Arc<TenantApi>)> = self
            .tenants()
            .iter()
            .map(|(t, a)| (t.clone(), a.clone()))
            .collect();
        let counts: Vec<(String, OpCounts)> = tenants
            .iter()
            .map(|(t, a)| {
                let c = a.counts.lock().unwrap_or_else(|p| p.into_inner());
                let ops = c
                    .iter()
                    .flat_map(|(api, ops)| ops.iter().map(|(op, n)| ((*api, op.clone()), *n)))
                    .collect();
                (t.clone(), ops)
            })
            .collect();
        type Pick = fn(&Counts) -> u64;
        let families: [(&str, &str, Pick); 3] = [
            (
                "mlc_api_requests_total",
                "HTTP attempts to SAP and Amazon by tenant, API and operation.",
                |c| c.requests,
            ),
            (
                "mlc_api_throttled_total",
                "Attempts answered HTTP 429 (throttled) by tenant, API and operation.",
                |c| c.throttled,
            ),
            (
                "mlc_api_retries_total",
                "Attempts that repeated an earlier attempt of the same call (after a 429, a 5xx, a transport error, a rejected session) by tenant, API and operation.",
                |c| c.retries,
            ),
        ];
        for (name, help, pick) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (tenant, ops) in &counts {
                for ((api, op), c) in ops {
                    let _ = writeln!(
                        out,
                        "{name}{{tenant=\"{}\",api=\"{}\",operation=\"{}\"}} {}",
                        label(tenant),
                        api.name(),
                        label(op),
                        pick(c)
                    );
                }
            }
        }
        let name = "mlc_sap_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Service Layer request durations (each HTTP attempt, to the end of the body) by tenant.\n# TYPE {name} histogram"
        );
        for (tenant, api) in &tenants {
            let t = label(tenant);
            let h = &api.sap_latency;
            let mut cumulative = 0;
            for (i, bucket) in h.buckets.iter().enumerate() {
                cumulative += bucket.load(Ordering::Relaxed);
                let le = SAP_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
                let _ = writeln!(
                    out,
                    "{name}_bucket{{tenant=\"{t}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "{name}_sum{{tenant=\"{t}\"}} {sum:.6}");
            let _ = writeln!(out, "{name}_count{{tenant=\"{t}\"}} {cumulative}");
        }
    }
}

#[cfg(test)]
#[path = "api_metrics_tests.rs"]
mod tests;
