//! FBA Inventory API v1 `getInventorySummaries`: what Amazon holds of each SKU in its
//! fulfilment network (model `fba-inventory-api-model/fbaInventory.json`,
//! `GET /fba/inventory/v1/summaries`, rate 2 rps, burst 2; `nextToken` in `pagination`, to be
//! sent with the same parameters; at most 50 `sellerSkus`; one marketplace per call).

use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::BoxStream;
use serde::Deserialize;

use crate::client::{ApiRequest, SpApiClient};
use crate::error::{Error, Result};
use crate::pagination::paginate;
use crate::rate_limit::Operation;
use crate::types::Page;

/// Most `sellerSkus` one call may name.
pub const MAX_SKUS: usize = 50;

/// What to ask for (granularity `Marketplace`, the only one Amazon offers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryQuery {
    /// The marketplace (granularity id and `marketplaceIds`).
    pub marketplace_id: String,
    /// Ask for `inventoryDetails` (fulfillable, inbound, reserved, unfulfillable...).
    pub details: bool,
    /// Only summaries changed since then (Amazon then ignores `sellerSkus`).
    pub start_date_time: Option<DateTime<Utc>>,
    /// Only these SKUs (at most [`MAX_SKUS`]).
    pub seller_skus: Vec<String>,
}

impl InventoryQuery {
    /// Every SKU of a marketplace, with details.
    pub fn marketplace(marketplace_id: impl Into<String>) -> Self {
        InventoryQuery {
            marketplace_id: marketplace_id.into(),
            details: true,
            start_date_time: None,
            seller_skus: Vec::new(),
        }
    }
}

/// One SKU's inventory in Amazon's network.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InventorySummary {
    /// ASIN.
    #[serde(default)]
    pub asin: Option<String>,
    /// Amazon's fulfilment-network SKU.
    #[serde(default)]
    pub fn_sku: Option<String>,
    /// The seller's SKU.
    #[serde(default)]
    pub seller_sku: Option<String>,
    /// Condition, e.g. `NewItem`.
    #[serde(default)]
    pub condition: Option<String>,
    /// Quantities by state (with `details=true`).
    #[serde(default)]
    pub inventory_details: Option<InventoryDetails>,
    /// When a quantity last changed (Amazon's sandbox sends an empty string).
    #[serde(default)]
    pub last_updated_time: Option<String>,
    /// Product title.
    #[serde(default)]
    pub product_name: Option<String>,
    /// Units inbound or in Amazon's fulfilment centres.
    #[serde(default)]
    pub total_quantity: Option<i64>,
}

impl InventorySummary {
    /// Units physically in Amazon's fulfilment centres: fulfillable, reserved, unfulfillable and
    /// researching (the total less what is still inbound). `None` without details.
    pub fn on_hand(&self) -> Option<i64> {
        let d = self.inventory_details.as_ref()?;
        Some(
            d.fulfillable_quantity.unwrap_or(0)
                + d.reserved_quantity
                    .as_ref()
                    .and_then(|r| r.total_reserved_quantity)
                    .unwrap_or(0)
                + d.unfulfillable_quantity
                    .as_ref()
                    .and_then(|u| u.total_unfulfillable_quantity)
                    .unwrap_or(0)
                + d.researching_quantity
                    .as_ref()
                    .and_then(|r| r.total_researching_quantity)
                    .unwrap_or(0),
        )
    }

    /// Units in inbound shipments (working, shipped, receiving). `None` without details.
    pub fn inbound(&self) -> Option<i64> {
        let d = self.inventory_details.as_ref()?;
        Some(
            d.inbound_working_quantity.unwrap_or(0)
                + d.inbound_shipped_quantity.unwrap_or(0)
                + d.inbound_receiving_quantity.unwrap_or(0),
        )
    }
}

/// Quantities of one SKU by state.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InventoryDetails {
    /// Can be picked, packed and shipped.
    #[serde(default)]
    pub fulfillable_quantity: Option<i64>,
    /// In an inbound shipment Amazon was told of.
    #[serde(default)]
    pub inbound_working_quantity: Option<i64>,
    /// In an inbound shipment with a tracking number.
    #[serde(default)]
    pub inbound_shipped_quantity: Option<i64>,
    /// Not yet received, part of a shipment partly received.
    #[serde(default)]
    pub inbound_receiving_quantity: Option<i64>,
    /// Being picked, packed, shipped or sidelined.
    #[serde(default)]
    pub reserved_quantity: Option<ReservedQuantity>,
    /// Misplaced or warehouse-damaged units being confirmed.
    #[serde(default)]
    pub researching_quantity: Option<ResearchingQuantity>,
    /// In unsellable condition.
    #[serde(default)]
    pub unfulfillable_quantity: Option<UnfulfillableQuantity>,
}

/// Reserved units.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ReservedQuantity {
    /// All reserved units.
    #[serde(default)]
    pub total_reserved_quantity: Option<i64>,
    /// Reserved for customer orders.
    #[serde(default)]
    pub pending_customer_order_quantity: Option<i64>,
    /// Moving between fulfilment centres.
    #[serde(default)]
    pub pending_transshipment_quantity: Option<i64>,
    /// Sidelined for processing.
    #[serde(default)]
    pub fc_processing_quantity: Option<i64>,
}

/// Units being researched.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResearchingQuantity {
    /// All researched units.
    #[serde(default)]
    pub total_researching_quantity: Option<i64>,
}

/// Unsellable units.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UnfulfillableQuantity {
    /// All unsellable units.
    #[serde(default)]
    pub total_unfulfillable_quantity: Option<i64>,
    /// Damaged by customers.
    #[serde(default)]
    pub customer_damaged_quantity: Option<i64>,
    /// Damaged in the warehouse.
    #[serde(default)]
    pub warehouse_damaged_quantity: Option<i64>,
}

/// One page of summaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryPage {
    /// The summaries.
    pub summaries: Vec<InventorySummary>,
    /// Token of the next page.
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    payload: Option<ResponsePayload>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponsePayload {
    #[serde(default)]
    inventory_summaries: Vec<InventorySummary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pagination {
    #[serde(default)]
    next_token: Option<String>,
}

impl SpApiClient {
    /// `getInventorySummaries`, one page (`next_token` from the previous page, with the same
    /// query: Amazon asks for both when `startDateTime` is set).
    pub async fn get_inventory_summaries_page(
        &self,
        query: &InventoryQuery,
        next_token: Option<&str>,
    ) -> Result<InventoryPage> {
        if query.seller_skus.len() > MAX_SKUS {
            return Err(Error::InvalidArgument(format!(
                "getInventorySummaries takes at most {MAX_SKUS} sellerSkus, not {}",
                query.seller_skus.len()
            )));
        }
        let request = ApiRequest::get(
            Operation::GetInventorySummaries,
            "/fba/inventory/v1/summaries",
        )
        .query("details", query.details.to_string())
        .query("granularityType", "Marketplace")
        .query("granularityId", query.marketplace_id.clone())
        .query("marketplaceIds", query.marketplace_id.clone())
        .query_opt(
            "startDateTime",
            query
                .start_date_time
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        )
        .query_list("sellerSkus", &query.seller_skus)
        .query_opt("nextToken", next_token);
        let response: Response = self.send_json(request).await?;
        Ok(InventoryPage {
            summaries: response
                .payload
                .map(|p| p.inventory_summaries)
                .unwrap_or_default(),
            next_token: response.pagination.and_then(|p| p.next_token),
        })
    }

    /// `getInventorySummaries` as a stream over every page.
    pub fn get_inventory_summaries(
        &self,
        query: InventoryQuery,
    ) -> BoxStream<'static, Result<InventorySummary>> {
        let client = self.clone();
        paginate(move |token: Option<String>| {
            let client = client.clone();
            let query = query.clone();
            async move {
                let page = client
                    .get_inventory_summaries_page(&query, token.as_deref())
                    .await?;
                Ok(Page {
                    items: page.summaries,
                    next_token: page.next_token,
                })
            }
        })
    }
}
