//! The merchant-fulfilled orders SAP does not know yet, whose units leave the pool before it is
//! shared: SAP's `InStock - Committed` still counts them, so offering it as is oversells in the gap.
//!
//! Two sources, each order counted once:
//! - shipped orders whose A/R invoice the orders flow has in the ledger but not POSTED in SAP
//!   (planned, held for a person, failed, in doubt): the goods left, SAP's stock did not move;
//! - open orders Amazon holds (`PENDING`, `UNSHIPPED`, `PARTIALLY_SHIPPED`, merchant-fulfilled),
//!   read with one `searchOrders` per run (`[items.allocation] open_orders`, on by default): the
//!   orders flow only invoices shipped orders, so nothing else in the connector knows them. A
//!   partly shipped order counts whole: its shipped part is not invoiced either.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use futures::StreamExt;
use sp_api_client::orders::{FulfilledBy, FulfillmentStatus, IncludedData, Order, OrderSearch};

use super::ItemsReport;
use super::plan::allocation::unbooked_units;
use crate::flows::Engine;
use crate::flows::orders::FLOW as ORDERS_FLOW;
use crate::ledger::{DocFilter, DocState, Ledger};

/// Open orders older than this are not looked for (Amazon cancels an unshipped merchant order
/// well before: its latest ship date is days after purchase).
const OPEN_ORDERS_DAYS: i64 = 30;
/// Searches end this long before now (Amazon asks for at least two minutes).
const WINDOW_END_MARGIN_MINUTES: i64 = 3;

impl Engine {
    /// Units per ItemCode of merchant-fulfilled orders SAP has not booked yet.
    pub(super) async fn unbooked_units(
        &self,
        report: &mut ItemsReport,
    ) -> Result<BTreeMap<String, u32>> {
        let mut orders = self.orders_not_in_sap()?;
        if self.config.items.allocation.open_orders {
            orders.extend(self.open_merchant_orders().await?);
        }
        let units = unbooked_units(&orders, &self.config);
        let mut ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        report.orders_reserved = ids.len() as u64;
        report.units_reserved = units.values().map(|u| u64::from(*u)).sum();
        Ok(units)
    }

    /// Orders whose invoice is in the ledger but not in SAP.
    pub(crate) fn orders_not_in_sap(&self) -> Result<Vec<Order>> {
        let ledger = self.ledger();
        let mut out = Vec::new();
        for state in [
            DocState::Planned,
            DocState::Sending,
            DocState::Unknown,
            DocState::Held,
            DocState::Failed,
        ] {
            let docs = ledger.list(&DocFilter {
                state: Some(state),
                flow: Some(ORDERS_FLOW.to_owned()),
                ..DocFilter::default()
            })?;
            for doc in docs.into_iter().filter(|d| d.kind == "invoice") {
                let Some(id) = doc.source_id else { continue };
                let source = ledger.source(id)?;
                let order: Order = serde_json::from_slice(&source.body)
                    .with_context(|| format!("stored order of `{}`", doc.key))?;
                out.push(order);
            }
        }
        Ok(out)
    }

    /// Amazon's open merchant-fulfilled orders in the synced marketplaces.
    async fn open_merchant_orders(&self) -> Result<Vec<Order>> {
        let now = Utc::now();
        let search = OrderSearch::created_after(now - Duration::days(OPEN_ORDERS_DAYS))
            .before(now - Duration::minutes(WINDOW_END_MARGIN_MINUTES))
            .marketplace_ids(self.config.amazon.marketplaces.clone())
            .fulfillment_statuses([
                FulfillmentStatus::PendingAvailability,
                FulfillmentStatus::Pending,
                FulfillmentStatus::Unshipped,
                FulfillmentStatus::PartiallyShipped,
            ])
            .fulfilled_by([FulfilledBy::Merchant])
            .included_data([IncludedData::Fulfillment]);
        let mut stream = self.amazon.search_orders(search);
        let mut out = Vec::new();
        while let Some(order) = stream.next().await {
            out.push(order.context("Amazon searchOrders (open merchant orders)")?);
        }
        Ok(out)
    }
}
