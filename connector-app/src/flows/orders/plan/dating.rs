//! Pure: the date of an order's invoice, the day its goods left, in the marketplace's time zone.
//!
//! The VAT tax point of goods is their dispatch, and Amazon's VAT reports date a sale by its
//! shipment, so the invoice is dated by the ship time of the order's **first** package (model
//! `OrderPackage.shipTime`: "when this package was handed over to the carrier"). The first, not
//! the last: one invoice for several packages then never declares a shipped unit's tax in a later
//! period than its dispatch (declaring the later packages early is allowed, late is not). Amazon
//! gives packages only for merchant-fulfilled orders (model `Order.packages`: "Only available for
//! merchant-fulfilled (FBM) orders"); without one the invoice is dated by the order's
//! `lastUpdatedTime` (for a shipped FBA order, the update that shipped it or a later one), and its
//! comments say so.

use chrono::NaiveDate;
use sp_api_client::orders::{FulfilledBy, FulfillmentStatus, Order};
use sp_api_client::time_zone::MarketplaceZone;

/// An invoice's date and how it was found (written into the invoice's comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvoiceDate {
    /// DocDate and TaxDate.
    pub date: NaiveDate,
    /// E.g. `dated by its first package's ship time, Europe/Berlin`.
    pub how: String,
}

/// The date of `order`'s invoice on `marketplace` (its id).
pub(crate) fn invoice_date(order: &Order, marketplace: &str) -> InvoiceDate {
    let shipped = order.packages.iter().filter_map(|p| p.shipped_at()).min();
    let (at, why) = match shipped {
        Some(t) => (t, "its first package's ship time"),
        None => (
            order.last_updated_time,
            match (order.status(), order.fulfilled_by()) {
                (Some(FulfillmentStatus::Unshipped), _) => {
                    "Amazon's last update (invoiced when accepted, not shipped yet)"
                }
                (_, Some(FulfilledBy::Amazon)) => {
                    "Amazon's last update (Amazon gives no packages for FBA orders)"
                }
                _ => "Amazon's last update (Amazon sent no package with a ship time)",
            },
        ),
    };
    match MarketplaceZone::of(marketplace) {
        Some(zone) => InvoiceDate {
            date: zone.local_date(at),
            how: format!("dated by {why}, {}", zone.iana),
        },
        None => InvoiceDate {
            date: at.date_naive(),
            how: format!("dated by {why}, UTC (no time zone known for {marketplace})"),
        },
    }
}
