//! Orders API v2026-01-01: `searchOrders` and `getOrder`, items inline. This is the primary
//! order source; [`crate::orders_v0`] maps Amazon's deprecated v0 API onto the same types.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use futures::stream::BoxStream;
use serde::Deserialize;

use crate::client::{ApiRequest, SpApiClient, encode_segment};
use crate::error::{Error, ParseError, Result};
use crate::pagination::paginate_records;
use crate::rate_limit::Operation;
use crate::types::{AmazonOrderId, Page, iso};

mod model;
pub use model::*;

/// Amazon only serves data that is at least this old: window ends are clamped to `now - 2 min`.
pub const MIN_DATA_AGE: ChronoDuration = ChronoDuration::minutes(2);

/// Which timestamp an order search filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderWindow {
    /// Orders created in `[after, before)`.
    Created {
        /// Start (inclusive).
        after: DateTime<Utc>,
        /// End; absent means Amazon's default (now − 2 min).
        before: Option<DateTime<Utc>>,
    },
    /// Orders changed in `[after, before)`.
    LastUpdated {
        /// Start (inclusive).
        after: DateTime<Utc>,
        /// End; absent means Amazon's default (now − 2 min).
        before: Option<DateTime<Utc>>,
    },
}

/// The filters of an order search. Pagination repeats them unchanged.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct OrderSearch {
    /// Time window.
    pub window: OrderWindow,
    /// Marketplaces (≤ 50; required by v0).
    pub marketplace_ids: Vec<String>,
    /// Status filter.
    pub fulfillment_statuses: Vec<FulfillmentStatus>,
    /// Fulfilment channel filter.
    pub fulfilled_by: Vec<FulfilledBy>,
    /// Extra data sets to include.
    pub included_data: Vec<IncludedData>,
    /// Page size, 1–100.
    pub max_results_per_page: Option<u32>,
}

impl OrderSearch {
    /// Orders created since `after`.
    pub fn created_after(after: DateTime<Utc>) -> Self {
        Self::with_window(OrderWindow::Created {
            after,
            before: None,
        })
    }

    /// Orders changed since `after` (the incremental-sync window).
    pub fn last_updated_after(after: DateTime<Utc>) -> Self {
        Self::with_window(OrderWindow::LastUpdated {
            after,
            before: None,
        })
    }

    fn with_window(window: OrderWindow) -> Self {
        OrderSearch {
            window,
            marketplace_ids: Vec::new(),
            fulfillment_statuses: Vec::new(),
            fulfilled_by: Vec::new(),
            included_data: Vec::new(),
            max_results_per_page: None,
        }
    }

    /// Ends the window at `before` (clamped to now − 2 min when sent).
    pub fn before(mut self, before: DateTime<Utc>) -> Self {
        match &mut self.window {
            OrderWindow::Created { before: b, .. } | OrderWindow::LastUpdated { before: b, .. } => {
                *b = Some(before)
            }
        }
        self
    }

    /// Restricts to marketplaces.
    pub fn marketplace_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.marketplace_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Restricts to statuses.
    pub fn fulfillment_statuses(
        mut self,
        statuses: impl IntoIterator<Item = FulfillmentStatus>,
    ) -> Self {
        self.fulfillment_statuses = statuses.into_iter().collect();
        self
    }

    /// Restricts to a fulfilment channel.
    pub fn fulfilled_by(mut self, by: impl IntoIterator<Item = FulfilledBy>) -> Self {
        self.fulfilled_by = by.into_iter().collect();
        self
    }

    /// Requests extra data sets.
    pub fn included_data(mut self, data: impl IntoIterator<Item = IncludedData>) -> Self {
        self.included_data = data.into_iter().collect();
        self
    }

    /// Sets the page size (1–100).
    pub fn max_results_per_page(mut self, n: u32) -> Self {
        self.max_results_per_page = Some(n);
        self
    }

    /// Returns the search with its window end clamped to `now - 2 min` (Amazon rejects later
    /// ends) and checks that the window does not end before it starts.
    pub fn clamped(mut self, now: DateTime<Utc>) -> Result<Self> {
        let latest = now - MIN_DATA_AGE;
        let (after, before) = match &mut self.window {
            OrderWindow::Created { after, before } | OrderWindow::LastUpdated { after, before } => {
                (after, before)
            }
        };
        if let Some(b) = before.as_mut()
            && *b > latest
        {
            *b = latest;
        }
        let end = before.unwrap_or(latest);
        // orders_2026-01-01.json, searchOrders: `createdBefore` / `lastUpdatedBefore` "must be
        // equal to or after" the `…After` date, so a window whose start equals its end is valid.
        if *after > end {
            return Err(Error::InvalidArgument(format!(
                "order window starts at {} but data is only available until {}",
                iso(*after),
                iso(end)
            )));
        }
        if let Some(n) = self.max_results_per_page
            && !(1..=100).contains(&n)
        {
            return Err(Error::InvalidArgument(format!(
                "max_results_per_page must be 1..=100, got {n}"
            )));
        }
        if self.marketplace_ids.len() > 50 {
            return Err(Error::InvalidArgument("at most 50 marketplace ids".into()));
        }
        Ok(self)
    }
}

/// One page of `searchOrders`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOrdersResponse {
    /// Orders on this page.
    pub orders: Vec<Order>,
    /// Pagination (absent on the last page).
    #[serde(default)]
    pub pagination: Option<Pagination>,
    /// End of the created window Amazon applied.
    #[serde(default, deserialize_with = "crate::types::lenient_datetime")]
    pub created_before: Option<DateTime<Utc>>,
    /// End of the last-updated window Amazon applied.
    #[serde(default, deserialize_with = "crate::types::lenient_datetime")]
    pub last_updated_before: Option<DateTime<Utc>>,
}

/// Pagination of a v2026 response.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// Token for the next page (valid 24 h).
    #[serde(default)]
    pub next_token: Option<String>,
}

/// A `searchOrders` page with its orders still raw, so each can be parsed on its own.
#[derive(Deserialize)]
struct RawSearchOrdersResponse {
    orders: Vec<serde_json::Value>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

/// Parses one raw order; a failure names the record and keeps its JSON.
fn parse_order(index: usize, raw: serde_json::Value) -> Result<Order> {
    let id = raw
        .get("orderId")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    serde_path_to_error::deserialize(&raw).map_err(|e| {
        let inner = e.path().to_string();
        let record = match &id {
            Some(id) => format!("orders[{index}] (order {id})"),
            None => format!("orders[{index}]"),
        };
        Error::Parse(ParseError {
            operation: Operation::SearchOrders,
            path: if inner == "." {
                record
            } else {
                format!("{record}.{inner}")
            },
            body: raw.to_string(),
            request_id: None,
            source: e.into_inner(),
        })
    })
}

/// The `searchOrders` request for a search and page token.
fn search_request(search: &OrderSearch, pagination_token: Option<&str>) -> Result<ApiRequest> {
    let search = match pagination_token {
        None => search.clone().clamped(Utc::now())?,
        Some(_) => search.clone(),
    };
    let (after_key, before_key, after, before) = match search.window {
        OrderWindow::Created { after, before } => ("createdAfter", "createdBefore", after, before),
        OrderWindow::LastUpdated { after, before } => {
            ("lastUpdatedAfter", "lastUpdatedBefore", after, before)
        }
    };
    let request = ApiRequest::get(Operation::SearchOrders, "/orders/2026-01-01/orders")
        .query(after_key, iso(after))
        .query_opt(before_key, before.map(iso))
        .query_list(
            "fulfillmentStatuses",
            &search
                .fulfillment_statuses
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
        )
        .query_list("marketplaceIds", &search.marketplace_ids)
        .query_list(
            "fulfilledBy",
            &search
                .fulfilled_by
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
        )
        .query_opt(
            "maxResultsPerPage",
            search.max_results_per_page.map(|n| n.to_string()),
        )
        .query_list(
            "includedData",
            &search
                .included_data
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
        )
        .query_opt("paginationToken", pagination_token);
    Ok(request)
}

#[derive(Deserialize)]
struct GetOrderResponse {
    order: Order,
}

impl SpApiClient {
    /// `searchOrders`, one page. Pass the same `search` and the previous page's token to get the
    /// next page; the window is clamped to now − 2 min only on the first page so that the
    /// parameters stay unchanged across pages.
    pub async fn search_orders_page(
        &self,
        search: &OrderSearch,
        pagination_token: Option<&str>,
    ) -> Result<SearchOrdersResponse> {
        self.send_json(search_request(search, pagination_token)?)
            .await
    }

    /// `searchOrders` as a stream of orders across all pages (window clamped once, up front,
    /// so every page is requested with identical parameters).
    ///
    /// Each order is parsed on its own: one that does not match the model is yielded as an
    /// [`Error::Parse`] naming it (`orders[3] (order 028-…)`) and the stream goes on with the next.
    pub fn search_orders(&self, search: OrderSearch) -> BoxStream<'static, Result<Order>> {
        let client = self.clone();
        let clamped = search.clamped(Utc::now()).map_err(|e| e.to_string());
        paginate_records(move |token: Option<String>| {
            let client = client.clone();
            let clamped = clamped.clone();
            async move {
                let search = clamped.map_err(Error::InvalidArgument)?;
                let page: RawSearchOrdersResponse = client
                    .send_json(search_request(&search, token.as_deref())?)
                    .await?;
                let items = page
                    .orders
                    .into_iter()
                    .enumerate()
                    .map(|(i, raw)| parse_order(i, raw))
                    .collect();
                Ok(Page {
                    items,
                    next_token: page.pagination.and_then(|p| p.next_token),
                })
            }
        })
    }

    /// `getOrder` (v2026): one order with its items.
    pub async fn get_order(
        &self,
        order_id: &AmazonOrderId,
        included_data: &[IncludedData],
    ) -> Result<Order> {
        let request = ApiRequest::get(
            Operation::GetOrder,
            format!(
                "/orders/2026-01-01/orders/{}",
                encode_segment(order_id.as_str())
            ),
        )
        .query_list(
            "includedData",
            &included_data.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        );
        let response: GetOrderResponse = self.send_json(request).await?;
        Ok(response.order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn window_end_is_clamped_to_two_minutes_before_now() {
        let now = t("2026-05-01T12:00:00Z");
        let s = OrderSearch::last_updated_after(t("2026-05-01T00:00:00Z"))
            .before(t("2026-05-01T11:59:30Z"))
            .clamped(now)
            .unwrap();
        assert_eq!(
            s.window,
            OrderWindow::LastUpdated {
                after: t("2026-05-01T00:00:00Z"),
                before: Some(t("2026-05-01T11:58:00Z"))
            }
        );
    }

    #[test]
    fn window_starting_after_available_data_is_rejected() {
        let now = t("2026-05-01T12:00:00Z");
        let err = OrderSearch::created_after(t("2026-05-01T11:59:00Z"))
            .clamped(now)
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
    }
}
