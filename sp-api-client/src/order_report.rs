//! Parser of the tab-separated `GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL` report
//! (one row per order item), used for bulk backfill instead of thousands of `searchOrders` pages.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::types::{AmazonOrderId, Sku, exact_decimal, parse_datetime};

/// One order item of the all-orders report. Amounts are per line, in `currency`; they are
/// absent for pending orders.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AllOrdersReportRow {
    /// Order id.
    pub amazon_order_id: AmazonOrderId,
    /// Seller's order id.
    pub merchant_order_id: Option<String>,
    /// Purchase time.
    pub purchase_date: Option<DateTime<Utc>>,
    /// Last change.
    pub last_updated_date: Option<DateTime<Utc>>,
    /// Order status, e.g. `Shipped`, `Pending`, `Cancelled`.
    pub order_status: String,
    /// `Amazon` or `Merchant`.
    pub fulfillment_channel: Option<String>,
    /// e.g. `Amazon.de`.
    pub sales_channel: Option<String>,
    /// SKU.
    pub sku: Option<Sku>,
    /// ASIN.
    pub asin: Option<String>,
    /// Item status.
    pub item_status: Option<String>,
    /// Quantity.
    pub quantity: Option<u32>,
    /// Currency of the amounts.
    pub currency: Option<String>,
    /// Item price (line total).
    pub item_price: Option<Decimal>,
    /// Item tax.
    pub item_tax: Option<Decimal>,
    /// Shipping price.
    pub shipping_price: Option<Decimal>,
    /// Shipping tax.
    pub shipping_tax: Option<Decimal>,
    /// Gift wrap price.
    pub gift_wrap_price: Option<Decimal>,
    /// Gift wrap tax.
    pub gift_wrap_tax: Option<Decimal>,
    /// Item promotion discount (as printed, usually negative or zero).
    pub item_promotion_discount: Option<Decimal>,
    /// Shipping promotion discount.
    pub ship_promotion_discount: Option<Decimal>,
    /// Business order flag.
    pub is_business_order: Option<bool>,
    /// Every other column, by header name.
    pub other: BTreeMap<String, String>,
}

fn amount(raw: &str) -> std::result::Result<Option<Decimal>, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(d) = exact_decimal::parse(s) {
        return Ok(Some(d));
    }
    // A decimal comma without a decimal point ("95,00"), as some locales print it.
    if !s.contains('.') && s.matches(',').count() == 1 {
        return exact_decimal::parse(&s.replace(',', "."))
            .map(Some)
            .map_err(|e| e.to_string());
    }
    Err(format!("not an amount: {s:?}"))
}

/// Parses the report text (already decoded, see [`crate::document`]).
pub fn parse_all_orders_report(text: &str) -> Result<Vec<AllOrdersReportRow>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let columns: Vec<&str> = header.split('\t').map(str::trim).collect();
    if !columns.contains(&"amazon-order-id") {
        return Err(Error::Document(
            "all-orders report has no amazon-order-id column".into(),
        ));
    }
    let mut rows = Vec::new();
    for (index, line) in lines {
        let mut fields: BTreeMap<String, String> = columns
            .iter()
            .zip(line.split('\t'))
            .map(|(k, v)| ((*k).to_owned(), v.trim().to_owned()))
            .collect();
        let line_no = index + 1;
        let mut take = |k: &str| fields.remove(k).filter(|v| !v.is_empty());
        let mut money = |k: &str| -> Result<Option<Decimal>> {
            let v = take(k).unwrap_or_default();
            amount(&v).map_err(|e| Error::Document(format!("line {line_no}, column {k}: {e}")))
        };
        let item_price = money("item-price")?;
        let item_tax = money("item-tax")?;
        let shipping_price = money("shipping-price")?;
        let shipping_tax = money("shipping-tax")?;
        let gift_wrap_price = money("gift-wrap-price")?;
        let gift_wrap_tax = money("gift-wrap-tax")?;
        let item_promotion_discount = money("item-promotion-discount")?;
        let ship_promotion_discount = money("ship-promotion-discount")?;
        let amazon_order_id = take("amazon-order-id")
            .ok_or_else(|| Error::Document(format!("line {line_no}: empty amazon-order-id")))?;
        let quantity = match take("quantity") {
            None => None,
            Some(q) => Some(q.parse::<u32>().map_err(|e| {
                Error::Document(format!("line {line_no}, column quantity: {q:?}: {e}"))
            })?),
        };
        rows.push(AllOrdersReportRow {
            amazon_order_id: AmazonOrderId(amazon_order_id),
            merchant_order_id: take("merchant-order-id"),
            purchase_date: take("purchase-date").and_then(|d| parse_datetime(&d)),
            last_updated_date: take("last-updated-date").and_then(|d| parse_datetime(&d)),
            order_status: take("order-status").unwrap_or_default(),
            fulfillment_channel: take("fulfillment-channel"),
            sales_channel: take("sales-channel"),
            sku: take("sku").map(Sku),
            asin: take("asin"),
            item_status: take("item-status"),
            quantity,
            currency: take("currency"),
            item_price,
            item_tax,
            shipping_price,
            shipping_tax,
            gift_wrap_price,
            gift_wrap_tax,
            item_promotion_discount,
            ship_promotion_discount,
            is_business_order: take("is-business-order").map(|b| b.eq_ignore_ascii_case("true")),
            other: fields,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\tsales-channel\torder-channel\tship-service-level\tproduct-name\tsku\tasin\titem-status\tquantity\tcurrency\titem-price\titem-tax\tshipping-price\tshipping-tax\tgift-wrap-price\tgift-wrap-tax\titem-promotion-discount\tship-promotion-discount\tship-city\tship-state\tship-postal-code\tship-country\tpromotion-ids\tis-business-order\tpurchase-order-number\tprice-designation\n\
028-1111111-1111111\t\t2026-03-01T10:00:00+00:00\t2026-03-02T08:00:00+00:00\tShipped\tAmazon\tAmazon.de\t\tExpedited\tTasse – weiß\tMUG/1\tB000000001\tShipped\t2\tEUR\t25.98\t4.15\t0.00\t0.00\t\t\t-2.00\t0.00\tBerlin\t\t10115\tDE\tSPRING\tfalse\t\t\n\
028-2222222-2222222\t\t2026-03-02T09:00:00+00:00\t2026-03-02T09:05:00+00:00\tPending\tMerchant\tAmazon.de\t\tStandard\tTeller\tPLATE-1\tB000000002\tUnshipped\t1\t\t\t\t\t\t\t\t\t\tHamburg\t\t20095\tDE\t\tfalse\t\t\n";

    #[test]
    fn rows_are_typed_with_exact_amounts_and_pending_rows_have_none() {
        let rows = parse_all_orders_report(REPORT).unwrap();
        assert_eq!(rows.len(), 2);
        let r = &rows[0];
        assert_eq!(r.amazon_order_id.as_str(), "028-1111111-1111111");
        assert_eq!(r.sku.as_ref().unwrap().as_str(), "MUG/1");
        assert_eq!(r.quantity, Some(2));
        assert_eq!(r.item_price, Some(Decimal::new(2598, 2)));
        assert_eq!(r.item_promotion_discount, Some(Decimal::new(-200, 2)));
        assert_eq!(
            r.other.get("product-name").map(String::as_str),
            Some("Tasse – weiß")
        );
        assert_eq!(r.is_business_order, Some(false));
        assert!(r.purchase_date.is_some());
        let pending = &rows[1];
        assert_eq!(pending.order_status, "Pending");
        assert_eq!(pending.item_price, None);
        assert_eq!(pending.currency, None);
    }

    #[test]
    fn decimal_comma_amounts_are_read_and_garbage_is_reported_with_its_place() {
        assert_eq!(amount("95,00"), Ok(Some(Decimal::new(9500, 2))));
        let bad = "amazon-order-id\titem-price\n1\tabc\n";
        let err = parse_all_orders_report(bad).unwrap_err();
        assert!(
            err.to_string().contains("line 2, column item-price"),
            "{err}"
        );
    }
}
