//! The flows, registered once: `sync`, `run`, `demo` and `status` go through [`Flow::ALL`] and
//! [`Engine::run_flow`] instead of repeating an arm per flow.
//!
//! Every flow has the same parts, each in its own module: `plan` (pure, no I/O, unit-tested on
//! fixtures), `checks` (against SAP's masters), `post` (through the posting engine, or Amazon's
//! listings API for the items flow) and a run report.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{Instrument, info, info_span};

use super::Engine;
use super::fba::FbaReport;
use super::items::{ItemsOptions, ItemsReport};
use super::orders::{OrdersReport, SyncOptions};
use super::settlements::{SettlementOptions, SettlementsReport};
use crate::config::Config;
use crate::schedule::Schedule;

/// One of the connector's flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flow {
    /// Amazon orders -> SAP A/R invoices.
    Orders,
    /// Closed Amazon settlements -> SAP incoming payments + journal entries.
    Settlements,
    /// SAP item prices and stock -> Amazon listings.
    Items,
    /// Amazon's FBA stock against SAP's FBA warehouse (a report; nothing is posted).
    Fba,
}

impl Flow {
    /// Every flow, in the order a full run takes them.
    pub const ALL: [Flow; 4] = [Flow::Orders, Flow::Settlements, Flow::Items, Flow::Fba];

    /// The flow's name in the ledger, the CLI and logs.
    pub fn name(self) -> &'static str {
        match self {
            Flow::Orders => super::orders::FLOW,
            Flow::Settlements => super::settlements::FLOW,
            Flow::Items => super::items::FLOW,
            Flow::Fba => super::fba::FLOW,
        }
    }

    /// Its schedule for `run`, or `None` when the configuration turns it off.
    pub fn schedule(self, config: &Config) -> Option<&Schedule> {
        match self {
            Flow::Orders => Some(&config.schedule.orders),
            Flow::Settlements => Some(&config.schedule.settlements),
            Flow::Items => config.items.enabled.then_some(&config.schedule.items),
            Flow::Fba => config.fba.enabled.then_some(&config.schedule.fba),
        }
    }
}

impl std::fmt::Display for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Options every flow run takes (a flow ignores what it has no use for).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Plan and check, post nothing, change nothing.
    pub dry_run: bool,
    /// Orders: search from here instead of the cursor.
    pub since: Option<DateTime<Utc>>,
}

/// What one flow run did.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum FlowReport {
    /// Orders.
    Orders(OrdersReport),
    /// Settlements.
    Settlements(SettlementsReport),
    /// Items.
    Items(ItemsReport),
    /// FBA reconciliation.
    Fba(FbaReport),
}

impl FlowReport {
    /// Whether anything needs a person (exit code 2).
    pub fn needs_attention(&self) -> bool {
        match self {
            FlowReport::Orders(r) => r.needs_attention(),
            FlowReport::Settlements(r) => r.needs_attention(),
            FlowReport::Items(r) => r.needs_attention(),
            FlowReport::Fba(r) => r.needs_attention(),
        }
    }

    /// Logs the run's figures on one line (the daemon's record of each run).
    pub fn log(&self) {
        match self {
            FlowReport::Orders(r) => info!(
                seen = r.orders_seen,
                posted = r.invoices_posted,
                held = r.held.len(),
                failed = r.failed.len(),
                unknown = r.unknown.len(),
                "orders sync done"
            ),
            FlowReport::Settlements(r) => info!(
                seen = r.settlements_seen,
                posted = r.settlements_posted,
                held = r.held.len(),
                failed = r.failed.len(),
                gaps = r.gaps.len(),
                "settlements sync done"
            ),
            FlowReport::Items(r) => info!(
                enabled = r.enabled,
                updated = r.listings_updated,
                issues = r.issues.len(),
                "items sync done"
            ),
            FlowReport::Fba(r) => info!(
                enabled = r.enabled,
                matched = r.matched,
                differences = r.differences.len(),
                adjustments = r.adjustments.len(),
                "fba reconciliation done"
            ),
        }
    }
}

impl Engine {
    /// Runs one flow once, inside a `flow_run` span (flow name and run start), so every log line
    /// of the run, and of each document in it (`document` span: key, kind), can be tied to it.
    pub async fn run_flow(&self, flow: Flow, options: &RunOptions) -> anyhow::Result<FlowReport> {
        let span = info_span!(
            "flow_run",
            flow = flow.name(),
            started = %Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            dry_run = options.dry_run
        );
        async {
            let dry_run = options.dry_run;
            Ok(match flow {
                Flow::Orders => FlowReport::Orders(
                    self.sync_orders(&SyncOptions {
                        since: options.since,
                        dry_run,
                    })
                    .await?,
                ),
                Flow::Settlements => FlowReport::Settlements(
                    self.sync_settlements(&SettlementOptions { dry_run })
                        .await?,
                ),
                Flow::Items => FlowReport::Items(self.sync_items(&ItemsOptions { dry_run }).await?),
                // Read-only: a dry run does the same.
                Flow::Fba => FlowReport::Fba(self.sync_fba().await?),
            })
        }
        .instrument(span)
        .await
        .map_err(|e| self.short_outage(e))
    }

    /// An error that comes down to SAP not being reachable (a refused connection, wherever in the
    /// flow it happened) reads as one short line with what to check; others are kept as they are.
    fn short_outage(&self, e: anyhow::Error) -> anyhow::Error {
        let unreachable = e
            .chain()
            .find_map(|c| match c.downcast_ref::<sap_b1_client::Error>() {
                Some(sap @ sap_b1_client::Error::Transport { source, .. })
                    if source.is_connect() =>
                {
                    Some(sap)
                }
                _ => None,
            });
        match unreachable {
            Some(sap) => crate::posting::unreachable(&self.config.sap.base_url, sap),
            None => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flow_has_its_ledger_name_and_a_schedule_unless_turned_off() {
        let names: Vec<_> = Flow::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names, ["orders", "settlements", "items", "fba"]);
        let text = r#"
            [sap]
            base_url = "https://sap.example.com:50000/b1s/v2"
            company_db = "SBO"
            user = "manager"
            [amazon]
            region = "eu"
            seller_id = "A1SELLER"
            marketplaces = ["A1PA6795UKMFR9"]
            [marketplaces.A1PA6795UKMFR9]
            customer = "C-AMZ-DE"
        "#;
        let cfg = Config::parse(std::path::Path::new("/tmp/t.toml"), text).unwrap();
        assert!(Flow::Orders.schedule(&cfg).is_some());
        assert!(Flow::Settlements.schedule(&cfg).is_some());
        assert!(
            Flow::Items.schedule(&cfg).is_none(),
            "no [items] section: the items flow is off"
        );
        assert!(Flow::Fba.schedule(&cfg).is_none(), "no [fba] section");
    }
}
