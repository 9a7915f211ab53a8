//! The worker's `/metrics` (Prometheus text exposition format 0.0.4) and `/healthz`.
//!
//! Per leased tenant: documents by flow and state (read from the ledger at every heartbeat), flow
//! runs by outcome, the last successful run per flow and the last run's duration; and what its
//! API clients saw (HTTP attempts, 429s and retries per API and operation, the Service Layer's
//! latency histogram: [`super::api_metrics`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ::postgres::Client;
use anyhow::Result;

use super::api_metrics::{ApiMetrics, TenantApi};
use crate::ledger::postgres::off_runtime;

#[derive(Default)]
struct RunStats {
    ok: u64,
    failed: u64,
    last_ok_unix: Option<f64>,
    last_seconds: f64,
}

#[derive(Default)]
struct State {
    leases: Vec<String>,
    runs: BTreeMap<(String, String), RunStats>,
    documents: BTreeMap<(String, String, String), i64>,
    heartbeat: Option<Instant>,
}

/// What a worker exposes.
pub struct Metrics {
    worker: String,
    stale_after: Duration,
    state: Mutex<State>,
    api: ApiMetrics,
}

/// A label value escaped as the text format wants (`\\`, `\"`, `\n`).
pub(super) fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Metrics of worker `worker`, unhealthy when its loop has not turned for `stale_after`.
    pub fn new(worker: &str, stale_after: Duration) -> Self {
        Self {
            worker: worker.to_owned(),
            stale_after,
            state: Mutex::default(),
            api: ApiMetrics::default(),
        }
    }

    /// The API counters of `tenant`, for the observers of its clients.
    pub fn api(&self, tenant: &str) -> std::sync::Arc<TenantApi> {
        self.api.tenant(tenant)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tenants leased now (also the worker loop's heartbeat).
    pub fn set_leases(&self, tenants: Vec<String>) {
        let mut s = self.state();
        s.leases = tenants;
        s.heartbeat = Some(Instant::now());
    }

    /// Drops what is kept of a tenant this worker no longer works.
    pub fn forget(&self, tenant: &str) {
        let mut s = self.state();
        s.runs.retain(|(t, _), _| t != tenant);
        s.documents.retain(|(t, _, _), _| t != tenant);
        self.api.forget(tenant);
    }

    /// Records one flow run.
    pub fn record_run(&self, tenant: &str, flow: &str, ok: bool, took: Duration) {
        let mut s = self.state();
        let r = s.runs.entry((tenant.into(), flow.into())).or_default();
        if ok {
            r.ok += 1;
            r.last_ok_unix = Some(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
        } else {
            r.failed += 1;
        }
        r.last_seconds = took.as_secs_f64();
    }

    /// Reads the leased tenants' documents by flow and state.
    pub fn refresh_documents(&self, admin: &mut Client) -> Result<()> {
        let tenants = self.state().leases.clone();
        let rows = off_runtime(|| {
            admin.query(
                "SELECT tenant_id, flow, state, COUNT(*) FROM documents
                 WHERE tenant_id = ANY($1) GROUP BY tenant_id, flow, state",
                &[&tenants],
            )
        })?;
        let mut documents = BTreeMap::new();
        for r in rows {
            documents.insert((r.get(0), r.get(1), r.get(2)), r.get(3));
        }
        self.state().documents = documents;
        Ok(())
    }

    /// Whether the worker loop turned recently.
    pub fn healthy(&self) -> bool {
        self.state()
            .heartbeat
            .is_some_and(|h| h.elapsed() < self.stale_after)
    }

    /// The Prometheus text.
    pub fn render(&self) -> String {
        let s = self.state();
        let w = label(&self.worker);
        let mut out = String::new();
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            &mut out,
            "mlc_leases_held",
            "gauge",
            "Tenants this worker holds a lease on.",
        );
        let _ = writeln!(out, "mlc_leases_held{{worker=\"{w}\"}} {}", s.leases.len());
        family(
            &mut out,
            "mlc_documents",
            "gauge",
            "Documents in the ledger by tenant, flow and state.",
        );
        for ((t, f, st), n) in &s.documents {
            let _ = writeln!(
                out,
                "mlc_documents{{tenant=\"{}\",flow=\"{}\",state=\"{}\"}} {n}",
                label(t),
                label(f),
                label(st)
            );
        }
        family(
            &mut out,
            "mlc_flow_runs_total",
            "counter",
            "Flow runs by tenant, flow and outcome.",
        );
        for ((t, f), r) in &s.runs {
            for (outcome, n) in [("ok", r.ok), ("error", r.failed)] {
                let _ = writeln!(
                    out,
                    "mlc_flow_runs_total{{tenant=\"{}\",flow=\"{}\",outcome=\"{outcome}\"}} {n}",
                    label(t),
                    label(f)
                );
            }
        }
        family(
            &mut out,
            "mlc_flow_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the last successful run by tenant and flow.",
        );
        for ((t, f), r) in &s.runs {
            if let Some(at) = r.last_ok_unix {
                let _ = writeln!(
                    out,
                    "mlc_flow_last_success_timestamp_seconds{{tenant=\"{}\",flow=\"{}\"}} {at:.3}",
                    label(t),
                    label(f)
                );
            }
        }
        family(
            &mut out,
            "mlc_flow_last_run_seconds",
            "gauge",
            "Duration of the last run by tenant and flow.",
        );
        for ((t, f), r) in &s.runs {
            let _ = writeln!(
                out,
                "mlc_flow_last_run_seconds{{tenant=\"{}\",flow=\"{}\"}} {:.3}",
                label(t),
                label(f),
                r.last_seconds
            );
        }
        drop(s);
        self.api.render(&mut out);
        out
    }
}

/// Serves `/metrics` and `/healthz` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: std::sync::Arc<Metrics>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    use axum::http::{StatusCode, header};
    use axum::routing::get;
    let m = metrics.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = m.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        m.render(),
                    )
                }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let m = metrics.clone();
                async move {
                    if m.healthy() {
                        (StatusCode::OK, "ok\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "worker loop stalled\n")
                    }
                }
            }),
        );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|s| *s).await;
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_escapes_labels_and_counts_runs() {
        let m = Metrics::new("w\"1", Duration::from_secs(30));
        assert!(!m.healthy(), "no heartbeat yet");
        m.set_leases(vec!["acme".into()]);
        assert!(m.healthy());
        m.record_run("acme", "orders", true, Duration::from_millis(1500));
        m.record_run("acme", "orders", false, Duration::from_millis(10));
        let text = m.render();
        assert!(
            text.contains("mlc_leases_held{worker=\"w\\\"1\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("mlc_flow_runs_total{tenant=\"acme\",flow=\"orders\",outcome=\"ok\"} 1")
                && text.contains(
                    "mlc_flow_runs_total{tenant=\"acme\",flow=\"orders\",outcome=\"error\"} 1"
                ),
            "{text}"
        );
        assert!(text.contains("mlc_flow_last_run_seconds{tenant=\"acme\",flow=\"orders\"} 0.010"));
        assert!(text.contains("# TYPE mlc_flow_runs_total counter"));
        m.forget("acme");
        assert!(!m.render().contains("tenant=\"acme\""));
    }
}
