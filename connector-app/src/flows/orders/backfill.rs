//! Backfill through the all-orders report: a long `sync orders --since` window is read from
//! `GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL` reports instead of `searchOrders` pages.
//!
//! `searchOrders` refills one call per 180 s (0.0056 /s, burst 20; Orders API v2026 model), 100
//! orders a call: 10,000 orders take about 4 hours. The all-orders report, which Amazon provides
//! for bulk order data ("intended for order tracking"; https://developer-docs.amazon.com/sp-api/docs/report-type-values-order),
//! costs one `createReport` per window (0.0167 /s, burst 15), `getReport` polls (2 /s, burst 15)
//! and one `getReportDocument` (burst 15), whatever the number of orders. The window is cut in
//! pieces of [`REPORT_WINDOW_DAYS`] (old MWS guidance capped a request at about 30 days; the
//! SP-API documentation does not say: reference notes sp-api.md §6), all requested at once so
//! Amazon generates them in parallel, and read in order. The few orders the report cannot invoice
//! (see [`super::from_report`]) are read with `getOrder` (0.5 /s, burst 30) and, for those that
//! lack only line data (a promotion's tax), v0 `getOrderItems` (its own 0.5 /s bucket), several
//! at a time: the client's rate limiter paces them.
//!
//! The orders are the same as `searchOrders` gives (same shape, same keys), so a backfill and the
//! incremental sync plan the same invoices under the same ledger keys and never post one twice.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use sp_api_client::order_report::parse_all_orders_report;
use sp_api_client::orders::Order;
use sp_api_client::reports::{ReportHandle, ReportOutcome};
use sp_api_client::{Error as SpError, Marketplace};
use tracing::info;

use std::collections::VecDeque;
use std::sync::Mutex;

use super::from_report::{NeedApi, order_with_items, orders_from_report};
use crate::flows::Engine;

/// The longest window one all-orders report is asked for.
pub const REPORT_WINDOW_DAYS: i64 = 30;

/// How often a report is polled, and how long it may take, in Amazon's time (divided by
/// `amazon.rate_scale` against a time-scaled sandbox).
const POLL_EVERY: StdDuration = StdDuration::from_secs(30);
const GENERATION_TIMEOUT: StdDuration = StdDuration::from_secs(4 * 3600);

/// Calls in flight at once on each lane that completes what a report lacks.
const LANE_CONCURRENCY: usize = 4;

/// `[start, end]` cut into windows of at most [`REPORT_WINDOW_DAYS`], oldest first.
pub fn report_windows(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut windows = Vec::new();
    let mut from = start;
    while from < end {
        let to = (from + Duration::days(REPORT_WINDOW_DAYS)).min(end);
        windows.push((from, to));
        from = to;
    }
    windows
}

impl Engine {
    /// The orders last updated in `[start, end]`, read from all-orders reports (and `getOrder`
    /// where a report lacks what an invoice needs), as a stream like `searchOrders`' pages.
    pub fn report_orders(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> BoxStream<'_, Result<Order, SpError>> {
        let requested = async move {
            let ids: Vec<&str> = self
                .config
                .amazon
                .marketplaces
                .iter()
                .map(String::as_str)
                .collect();
            let mut handles = Vec::new();
            for (from, to) in report_windows(start, end) {
                let handle = self
                    .amazon
                    .request_all_orders_report(&ids, from, Some(to))
                    .await?;
                info!(report = %handle.report_id, %from, %to, "all-orders report requested");
                handles.push(handle);
            }
            Ok::<_, SpError>(handles)
        };
        // Windows meet at their bounds, and a report's window includes both: an order updated at
        // a bound is in two reports and is read once.
        let mut seen = std::collections::HashSet::new();
        stream::once(requested)
            .flat_map(move |handles| match handles {
                Err(e) => stream::iter([Err(e)]).boxed(),
                Ok(handles) => stream::iter(handles)
                    .then(move |h| self.window_orders(h))
                    .flat_map(|orders| match orders {
                        Ok(orders) => stream::iter(orders.into_iter().map(Ok)).boxed(),
                        Err(e) => stream::iter([Err(e)]).boxed(),
                    })
                    .boxed(),
            })
            .filter(move |order| {
                let new = match order {
                    Ok(o) => seen.insert(o.order_id.as_str().to_owned()),
                    Err(_) => true,
                };
                std::future::ready(new)
            })
            .boxed()
    }

    /// One window's orders: the report's, then those read with `getOrder`.
    async fn window_orders(&self, handle: ReportHandle) -> Result<Vec<Order>, SpError> {
        let scale = self.config.amazon.rate_scale.max(1.0);
        let report = match handle
            .wait(POLL_EVERY.div_f64(scale), GENERATION_TIMEOUT.div_f64(scale))
            .await?
        {
            // Amazon cancels a report without data.
            ReportOutcome::NoData(_) => return Ok(Vec::new()),
            ReportOutcome::Done(report) => report,
            other => {
                return Err(SpError::Document(format!(
                    "all-orders report {} ended in a way this connector does not read: {other:?}",
                    handle.report_id
                )));
            }
        };
        let fallback = self
            .config
            .amazon
            .marketplaces
            .first()
            .and_then(|id| Marketplace::by_id(id))
            .map_or(
                encoding_rs::WINDOWS_1252,
                Marketplace::fallback_report_encoding,
            );
        let text = self.amazon.download_report(&report, fallback).await?.text;
        let rows = parse_all_orders_report(&text)?;
        let read = orders_from_report(rows);
        info!(
            report = %report.report_id,
            from_report = read.orders.len(),
            by_get_order = read.need_api.len(),
            "all-orders report read"
        );
        let mut orders = read.orders;
        orders.extend(self.complete_orders(read.need_api).await?);
        Ok(orders)
    }

    /// Reads the orders a report cannot invoice, on two lanes at once, each paced by its own
    /// bucket (Amazon's usage plans are per operation): `getOrder` (v2026, 0.5 /s, burst 30) for
    /// any of them, and, with `orders.backfill_order_items_v0`, v0 `getOrderItems` (0.5 /s, burst
    /// 30) for those whose gap is only in their lines, joined with the report's order data.
    /// v0 is deprecated (Amazon: migrate by 2027-03-27; reference notes sp-api.md), so the second
    /// lane is a switch, off by default: then every such order waits for the `getOrder` lane.
    async fn complete_orders(&self, need: Vec<NeedApi>) -> Result<Vec<Order>, SpError> {
        let queue = Mutex::new(VecDeque::from(need));
        let take = |lines_only: bool| {
            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
            let at = if lines_only {
                q.iter().position(|n| n.lines_only)?
            } else {
                0
            };
            q.remove(at)
        };
        let included = super::INCLUDED;
        let by_get_order = |_| async {
            let mut out = Vec::new();
            while let Some(n) = take(false) {
                out.push(self.amazon.get_order(&n.id, &included).await?);
            }
            Ok::<_, SpError>(out)
        };
        let by_items_v0 = |_| async {
            let mut out = Vec::new();
            while let Some(n) = take(true) {
                let items = self.amazon.get_order_items_v0(&n.id).await?;
                let items = items.into_iter().map(|i| i.into_order_item()).collect();
                match order_with_items(&n.rows, items) {
                    Ok(order) => out.push(order),
                    // The lines do not match the report's: the order as getOrder gives it.
                    Err(_) => out.push(self.amazon.get_order(&n.id, &included).await?),
                }
            }
            Ok::<_, SpError>(out)
        };
        let v0_lanes = if self.config.orders.backfill_order_items_v0 {
            LANE_CONCURRENCY
        } else {
            0
        };
        let (a, b) = futures::join!(
            futures::future::try_join_all((0..LANE_CONCURRENCY).map(by_get_order)),
            futures::future::try_join_all((0..v0_lanes).map(by_items_v0)),
        );
        Ok(a?.into_iter().chain(b?).flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_at_most_thirty_days_and_cover_the_range() {
        let start = DateTime::parse_from_rfc3339("2026-09-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let end = start + Duration::days(90) + Duration::hours(5);
        let w = report_windows(start, end);
        assert_eq!(w.len(), 4);
        assert_eq!(w[0], (start, start + Duration::days(30)));
        assert!(w.windows(2).all(|p| p[0].1 == p[1].0), "contiguous");
        assert_eq!(w[3].1, end);
        assert!(w.iter().all(|(a, b)| *b - *a <= Duration::days(30)));
        assert!(report_windows(end, end).is_empty());
    }
}
