//! FBA Inventory v1 `getInventorySummaries` (`GET /fba/inventory/v1/summaries`), backed by the
//! world's FBA stock per SKU ([`crate::world::fba`]). Parameters as in fbaInventory.json:
//! `granularityType` (`Marketplace`, required), `granularityId` (required), `marketplaceIds`
//! (required, at most one), `details`, `startDateTime`, `sellerSkus` (at most 50), `nextToken`;
//! rate 2 rps, burst 2. Amazon's unified accounts share one FBA pool across their marketplaces
//! ("the fulfillable quantity will reflect inventory that could be fulfilled in the given
//! marketplace"), so every marketplace of the world answers with the same stock.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::ratelimit::GET_INVENTORY_SUMMARIES;
use super::{Params, gate, iso};
use crate::Shared;
use crate::world::fba::fba_stock;

// INVENTED: 50 summaries per page and an offset as the token (Amazon publishes neither).
const PAGE: usize = 50;

/// `GET /fba/inventory/v1/summaries`.
pub(crate) async fn summaries(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let fin = match gate(&shared, &headers, &GET_INVENTORY_SUMMARIES).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let p = Params::parse(q.as_deref());
    let world = shared.world();
    let bad = |m: &str| fin.error(400, "InvalidInput", m);
    match p.get("granularityType") {
        Some("Marketplace") => {}
        Some(other) => return bad(&format!("Invalid granularityType: {other}.")),
        None => return bad("Missing required parameter: granularityType."),
    }
    let Some(granularity_id) = p.get("granularityId").map(str::to_owned) else {
        return bad("Missing required parameter: granularityId.");
    };
    let markets = p.list("marketplaceIds");
    if markets.len() != 1 {
        return bad("marketplaceIds must name exactly one marketplace.");
    }
    if world.marketplace(&markets[0]).is_none() {
        return bad(&format!("Invalid marketplace id: {}.", markets[0]));
    }
    let skus = p.list("sellerSkus");
    if skus.len() > 50 {
        return bad("sellerSkus may name at most 50 SKUs.");
    }
    let details = p.get("details") == Some("true");
    // With startDateTime Amazon ignores sellerSkus (model); every summary counts as changed here.
    let by_sku = p.get("startDateTime").is_none() && !skus.is_empty();
    let now = iso(shared.clock.now());
    let stock = fba_stock(&world);
    let all: Vec<Value> = world
        .catalog
        .iter()
        .filter_map(|prod| Some((prod, stock.get(&prod.sku)?)))
        .filter(|(prod, _)| !by_sku || skus.contains(&prod.sku))
        .map(|(prod, s)| {
            let mut summary = json!({
                "asin": prod.asin,
                "fnSku": format!("X0{}", &prod.asin[2..]),
                "sellerSku": prod.sku,
                "condition": "NewItem",
                "lastUpdatedTime": now,
                "productName": prod.title,
                "totalQuantity": s.on_hand() + s.inbound_shipped,
            });
            if details {
                summary["inventoryDetails"] = json!({
                    "fulfillableQuantity": s.fulfillable,
                    "inboundWorkingQuantity": 0,
                    "inboundShippedQuantity": s.inbound_shipped,
                    "inboundReceivingQuantity": 0,
                    "reservedQuantity": {"totalReservedQuantity": s.reserved,
                        "pendingCustomerOrderQuantity": s.reserved,
                        "pendingTransshipmentQuantity": 0, "fcProcessingQuantity": 0},
                    "researchingQuantity": {"totalResearchingQuantity": 0, "researchingQuantityBreakdown": []},
                    "unfulfillableQuantity": {"totalUnfulfillableQuantity": s.unfulfillable,
                        "customerDamagedQuantity": s.unfulfillable, "warehouseDamagedQuantity": 0,
                        "distributorDamagedQuantity": 0, "carrierDamagedQuantity": 0,
                        "defectiveQuantity": 0, "expiredQuantity": 0},
                });
            }
            summary
        })
        .collect();
    let offset = match p.get("nextToken").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) if n <= all.len() => n,
        _ => return bad("Invalid nextToken."),
    };
    let end = (offset + PAGE).min(all.len());
    let mut body = json!({
        "payload": {
            "granularity": {"granularityType": "Marketplace", "granularityId": granularity_id},
            "inventorySummaries": all[offset..end],
        }
    });
    if end < all.len() {
        body["pagination"] = json!({"nextToken": end.to_string()});
    }
    fin.json(200, &body)
}
