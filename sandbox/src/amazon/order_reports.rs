//! The all-orders flat files `createReport` generates from the world: tab-separated, one row per
//! order item, with the columns Amazon documents for them
//! (https://developer-docs.amazon.com/sp-api/docs/order-tracking-reports-attributes; reference
//! notes sp-api.md §6), gzip-compressed when downloaded (`reports.rs`).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::iso;
use crate::world::{Channel, OrderStatus, World};

/// Report types createReport can generate data for.
pub const ALL_ORDERS_REPORTS: [&str; 2] = [
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
];

/// The longest window (`dataEndTime - dataStartTime`) one all-orders report covers, in days.
// INVENTED: the SP-API documentation publishes no limit for these reports; Amazon's older MWS
// guidance capped an order report request at about 30 days (reference notes sp-api.md §6,
// "Max date range per request: uncertain"), so the sandbox refuses longer windows to make a
// client cut its backfill in 30-day pieces.
pub const MAX_WINDOW_DAYS: i64 = 30;

/// The documented columns, in Amazon's order.
const COLUMNS: [&str; 31] = [
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
];

/// The report's text for the orders of `marketplace_ids` whose last update (or purchase, for
/// the `BY_ORDER_DATE` type) falls in `[start, end]`; `None` when no order does (Amazon cancels a
/// report without data).
pub(crate) fn all_orders_text(
    world: &World,
    report_type: &str,
    marketplace_ids: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<String> {
    let by_update = report_type == ALL_ORDERS_REPORTS[0];
    let mut out = COLUMNS.join("\t");
    out.push('\n');
    let mut rows = 0;
    for o in &world.orders {
        let m = &world.marketplaces[o.marketplace];
        let at = if by_update {
            o.last_updated
        } else {
            o.purchased
        };
        if at < start || at > end || !marketplace_ids.iter().any(|id| id == m.id) {
            continue;
        }
        let status = super::orders::status_v0(o.status);
        // The report spells the cancelled status "Cancelled" (attributes page), v0 "Canceled".
        let status = if o.status == OrderStatus::Canceled {
            "Cancelled"
        } else {
            status
        };
        let channel = match o.channel {
            Channel::Afn => "Amazon",
            Channel::Mfn => "Merchant",
        };
        // "Item price is not shown for pending MFN orders" (attributes page): no amounts while
        // an order is pending, as the Orders API gives none either.
        let pending = o.status == OrderStatus::Pending;
        let money = |d: Decimal| {
            if pending {
                String::new()
            } else {
                format!("{d:.2}")
            }
        };
        for it in &o.items {
            let p = &world.catalog[it.product];
            let item_status = match o.status {
                OrderStatus::Shipped => "Shipped",
                OrderStatus::Canceled => "Cancelled",
                _ => "Unshipped",
            };
            // INVENTED: the world has no buyer addresses; the ship-to country is the
            // marketplace's and the state its tax jurisdiction where that is a US state.
            let state = if m.country == "US" {
                o.jurisdiction
            } else {
                ""
            };
            let cells: [String; 31] = [
                o.id.clone(),
                String::new(),
                iso(o.purchased),
                iso(o.last_updated),
                status.to_owned(),
                channel.to_owned(),
                m.name.to_owned(),
                String::new(),
                "Standard".to_owned(),
                p.title.replace(['\t', '\n'], " "),
                p.sku.to_string(),
                p.asin.to_string(),
                item_status.to_owned(),
                it.quantity.to_string(),
                m.currency.to_owned(),
                money(it.item_price),
                money(it.item_tax),
                money(it.shipping),
                money(it.shipping_tax),
                String::new(),
                String::new(),
                // Promotions print as negative amounts; the tax a promotion takes off has no column.
                money(-it.promotion),
                money(Decimal::ZERO),
                String::new(),
                state.to_owned(),
                String::new(),
                m.country.to_owned(),
                it.promotion_id.clone().unwrap_or_default(),
                "false".to_owned(),
                String::new(),
                String::new(),
            ];
            out.push_str(&cells.join("\t"));
            out.push('\n');
            rows += 1;
        }
    }
    (rows > 0).then_some(out)
}
