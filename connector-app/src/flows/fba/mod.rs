//! FBA stock: Amazon's units per SKU (`getInventorySummaries`, FBA Inventory v1) against SAP's
//! FBA warehouse (`Items` `ItemWarehouseInfoCollection` `InStock` of `[fba] warehouse`), per item.
//! [`Engine::reconcile_fba`] reports the difference per item and changes nothing;
//! [`Engine::sync_fba`] also plans the adjustment of each item that differs as `[fba] post` says
//! (`adjust`, `post`): held for review (`replay KEY` posts it) or posted, each traceable in
//! `audit` under `amz:{seller}:fba:{item}:adj:{n}`, with the settlement reimbursements of lost
//! units named on it (`reimburse`). Registered as the `fba` flow (`run` on `schedule.fba`,
//! default daily, when `[fba]` is configured) and as `fba reconcile [--post]`.

pub mod adjust;
pub mod plan;
pub mod post;
pub mod reimburse;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use futures::TryStreamExt;
use rust_decimal::Decimal;
use sap_b1_client::Query;
use sap_b1_client::entities::Item;
use serde::Serialize;
use sp_api_client::fba_inventory::InventoryQuery;

use super::{Engine, Problem};
pub use adjust::FbaAdjustment;
pub use plan::{FbaComparison, FbaLine, compare};
pub use post::{AdjustmentOutcome, adjustment_key};

use super::items::plan::allocation::unbooked_fba_units;

/// Flow name (ledger, logs, `status`).
pub const FLOW: &str = "fba";

/// Items per Service Layer page.
const PAGE_SIZE: u32 = 500;

/// What one reconciliation found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FbaReport {
    /// False when the configuration has no `[fba]` section (nothing was read).
    pub enabled: bool,
    /// Marketplace whose FBA inventory was read.
    pub marketplace: String,
    /// SAP warehouse compared.
    pub warehouse: String,
    /// Inventory summaries Amazon sent.
    pub skus_read: u64,
    /// Items whose units agree.
    pub matched: u64,
    /// Items whose units differ (Amazon on hand minus SAP).
    pub differences: Vec<FbaLine>,
    /// Units at Amazon over all items.
    pub amazon_on_hand: i64,
    /// Units in SAP's FBA warehouse over all items.
    pub sap_in_stock: Decimal,
    /// Units of shipped FBA orders not invoiced in SAP yet, over all items (not differences).
    pub sap_unbooked: i64,
    /// Summaries that could not be compared.
    pub problems: Vec<Problem>,
    /// What was planned or posted for the items that differ (`[fba] post` not `off`).
    pub adjustments: Vec<AdjustmentOutcome>,
}

impl FbaReport {
    /// Whether a person should look (a difference not adjusted, an adjustment held or refused,
    /// or a problem).
    pub fn needs_attention(&self) -> bool {
        let adjusted = |l: &FbaLine| {
            self.adjustments
                .iter()
                .any(|a| a.item_code == l.item_code && (a.state == "posted" || a.state == "found"))
        };
        !self.differences.iter().all(adjusted)
            || !self.problems.is_empty()
            || self
                .adjustments
                .iter()
                .any(|a| !matches!(a.state.as_str(), "posted" | "found" | "closed"))
    }
}

impl Engine {
    /// Reads both sides and compares them per item; changes nothing.
    pub async fn reconcile_fba(&self) -> Result<FbaReport> {
        Ok(self.read_fba().await?.0)
    }

    /// Reads both sides, compares them per item and plans (or posts) the adjustment of every
    /// item that differs as `[fba] post` says (`off`: the same as [`Engine::reconcile_fba`]).
    pub async fn sync_fba(&self) -> Result<FbaReport> {
        let (mut report, lines, source) = self.read_fba().await?;
        if report.enabled && !lines.is_empty() {
            self.recover::<FbaAdjustment>(FLOW).await?;
            self.adjust_fba(&mut report, &lines, &source).await?;
        }
        Ok(report)
    }

    /// The report, every compared line (equal ones too) and `InStock` per item of
    /// `[fba] inbound_from`.
    pub(crate) async fn read_fba(
        &self,
    ) -> Result<(FbaReport, Vec<FbaLine>, BTreeMap<String, Decimal>)> {
        let cfg = &self.config.fba;
        if !cfg.enabled {
            return Ok((FbaReport::default(), vec![], BTreeMap::new()));
        }
        let summaries: Vec<_> = self
            .amazon
            .get_inventory_summaries(InventoryQuery::marketplace(&cfg.marketplace))
            .try_collect()
            .await
            .context("Amazon getInventorySummaries")?;
        self.sap.connect().await.context("SAP login")?;
        let query = Query::new()
            .select(["ItemCode", "ItemWarehouseInfoCollection"])
            .page_size(PAGE_SIZE);
        let items: Vec<Item> = self
            .sap
            .items()
            .stream(&query)
            .try_collect()
            .await
            .context("SAP Items (FBA warehouse stock)")?;
        let in_stock = |warehouse: &str| -> BTreeMap<String, Decimal> {
            items
                .iter()
                .filter_map(|i| {
                    let row = i
                        .item_warehouse_info_collection
                        .as_ref()?
                        .iter()
                        .find(|r| r.warehouse_code.as_deref() == Some(warehouse))?;
                    let units = row.in_stock.unwrap_or_default();
                    let code = i.item_code.clone()?;
                    (!units.is_zero()).then_some((code, units))
                })
                .collect()
        };
        let sap = in_stock(&cfg.warehouse);
        let source = cfg
            .inbound_from
            .as_deref()
            .map(in_stock)
            .unwrap_or_default();
        let unbooked = unbooked_fba_units(&self.orders_not_in_sap()?, &self.config);
        let mut comparison = compare(&summaries, &sap, &unbooked, &self.config);
        if comparison.lines.iter().any(|l| !l.difference.is_zero()) {
            let history = self.fba_adjustments()?;
            let reimbursements = self.fba_reimbursements()?;
            for line in comparison
                .lines
                .iter_mut()
                .filter(|l| !l.difference.is_zero())
            {
                let past = history.get(&line.item_code).map_or(&[][..], Vec::as_slice);
                line.reimbursements = post::tied(&reimbursements, line, past);
            }
        }
        let mut report = FbaReport {
            enabled: true,
            marketplace: cfg.marketplace.clone(),
            warehouse: cfg.warehouse.clone(),
            skus_read: summaries.len() as u64,
            ..FbaReport::default()
        };
        for line in &comparison.lines {
            report.amazon_on_hand += line.amazon_on_hand;
            report.sap_in_stock += line.sap_in_stock;
            report.sap_unbooked += line.sap_unbooked;
            if line.difference.is_zero() {
                report.matched += 1;
            } else {
                report.differences.push(line.clone());
            }
        }
        report.problems = comparison
            .problems
            .into_iter()
            .map(|(sku, reason)| Problem {
                key: format!("amazon:fba:{sku}"),
                reason,
            })
            .collect();
        Ok((report, comparison.lines, source))
    }
}
