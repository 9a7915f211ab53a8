//! Orders from the all-orders report (`GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL`, one
//! row per order item), without I/O: each order becomes the same [`Order`] the Orders API gives
//! with `includedData=PROCEEDS,FULFILLMENT`, or is named as needing the API because the report
//! lacks something its invoice needs.
//!
//! The report's columns (https://developer-docs.amazon.com/sp-api/docs/order-tracking-reports-attributes):
//! `item-price` is the line's price (unit price × quantity), `item-tax` its tax, `shipping-price`
//! and `shipping-tax` the same for shipping, `item-promotion-discount` and
//! `ship-promotion-discount` the promotions; amounts are blank while an order is pending. What it
//! does not carry, and what therefore goes to `getOrder`:
//! - the tax a promotion takes off (the Orders API's `TAX` breakdown has a `DISCOUNT` part; the
//!   report has no column for it), so an order with a promotion is read from the API;
//! - gift wrap (the invoice plan has no line for it; the API's proceeds say what it is);
//! - the ship time of a shipped merchant-fulfilled order, which dates its invoice (the API's
//!   `packages[].shipTime`; Amazon-fulfilled orders have no packages, so the report is enough);
//! - a sales channel that names no Amazon marketplace, a status this module does not know, or a
//!   line without SKU, quantity or price on an order that is not pending.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use sp_api_client::order_report::AllOrdersReportRow;
use sp_api_client::orders::{Order, OrderItem};
use sp_api_client::{AmazonOrderId, Marketplace};

/// What the report gives for its orders.
#[derive(Debug, Default)]
pub struct ReportOrders {
    /// Orders read from the report alone, in the report's order.
    pub orders: Vec<Order>,
    /// Orders whose invoice needs a field the report lacks.
    pub need_api: Vec<NeedApi>,
}

/// An order the report alone cannot invoice.
#[derive(Debug, Clone)]
pub struct NeedApi {
    /// The order.
    pub id: AmazonOrderId,
    /// What the report lacks.
    pub why: String,
    /// Its rows in the report.
    pub rows: Vec<AllOrdersReportRow>,
    /// Only its lines lack something (a promotion's tax, gift wrap): the report's order data with
    /// the lines of an order-items call ([`order_with_items`]) make the whole order.
    pub lines_only: bool,
}

/// The v2026 fulfilment status of a report's `order-status` (v0 names), `None` when unknown.
fn status_of(report: &str) -> Option<&'static str> {
    Some(match report {
        "Pending" => "PENDING",
        "PendingAvailability" => "PENDING_AVAILABILITY",
        "Unshipped" => "UNSHIPPED",
        "PartiallyShipped" => "PARTIALLY_SHIPPED",
        "Shipped" => "SHIPPED",
        "Cancelled" | "Canceled" => "CANCELLED",
        "Unfulfillable" => "UNFULFILLABLE",
        _ => return None,
    })
}

fn money(amount: Decimal, currency: &str) -> Value {
    json!({"amount": amount.to_string(), "currencyCode": currency})
}

fn nonzero(d: Option<Decimal>) -> bool {
    d.is_some_and(|d| !d.is_zero())
}

/// Groups the rows by order (keeping the report's order) and reads each.
pub fn orders_from_report(rows: Vec<AllOrdersReportRow>) -> ReportOrders {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Vec<AllOrdersReportRow>> = Vec::new();
    for row in rows {
        let id = row.amazon_order_id.as_str().to_owned();
        match index.get(&id) {
            Some(&i) => groups[i].push(row),
            None => {
                index.insert(id, groups.len());
                groups.push(vec![row]);
            }
        }
    }
    let mut out = ReportOrders::default();
    for group in groups {
        match order_of(&group, false) {
            Ok(order) => out.orders.push(order),
            Err(why) => out.need_api.push(NeedApi {
                id: group[0].amazon_order_id.clone(),
                lines_only: order_of(&group, true).is_ok(),
                why,
                rows: group,
            }),
        }
    }
    out
}

/// The order of `rows` with the lines an order-items call gave (`getOrderItems`, mapped onto the
/// v2026 item type), for an order whose only gap is in its lines.
pub fn order_with_items(
    rows: &[AllOrdersReportRow],
    items: Vec<OrderItem>,
) -> Result<Order, String> {
    let mut order = order_of(rows, true)?;
    if items.len() != rows.len() {
        return Err(format!(
            "{} lines in the report, {} from the order items",
            rows.len(),
            items.len()
        ));
    }
    order.order_items = items;
    Ok(order)
}

/// One order from its rows, or why the report is not enough for it. With `lines_elsewhere`, what
/// only the lines lack is not a gap (the caller replaces the lines).
fn order_of(rows: &[AllOrdersReportRow], lines_elsewhere: bool) -> Result<Order, String> {
    let first = &rows[0];
    let id = first.amazon_order_id.as_str();
    let status = status_of(&first.order_status).ok_or_else(|| {
        format!(
            "order status `{}` is not one this connector reads",
            first.order_status
        )
    })?;
    let channel = first.sales_channel.as_deref().unwrap_or_default();
    let marketplace = Marketplace::by_sales_channel(channel)
        .ok_or_else(|| format!("sales channel `{channel}` names no Amazon marketplace"))?;
    let (Some(purchased), Some(updated)) = (first.purchase_date, first.last_updated_date) else {
        return Err("no purchase or last-updated date".into());
    };
    let priced = !matches!(status, "PENDING" | "PENDING_AVAILABILITY");
    let shipped = status == "SHIPPED";
    let amazon_fulfilled = first.fulfillment_channel.as_deref() == Some("Amazon");
    if shipped && !amazon_fulfilled {
        return Err(
            "a merchant-fulfilled shipment: the report has no ship time, which dates its invoice"
                .into(),
        );
    }
    let mut items = Vec::with_capacity(rows.len());
    let mut total = Decimal::ZERO;
    let mut currency = None;
    for (n, row) in rows.iter().enumerate() {
        if row.amazon_order_id.as_str() != id || row.order_status != first.order_status {
            return Err("its rows disagree on the order's status".into());
        }
        let sku = row.sku.as_ref().ok_or("a line has no SKU")?;
        let quantity = row.quantity.ok_or("a line has no quantity")?;
        if !lines_elsewhere
            && (nonzero(row.item_promotion_discount) || nonzero(row.ship_promotion_discount))
        {
            return Err("a promotion: the report does not give the tax it takes off".into());
        }
        if !lines_elsewhere && (nonzero(row.gift_wrap_price) || nonzero(row.gift_wrap_tax)) {
            return Err("gift wrap".into());
        }
        // The report has no order item id; the line's position stands in for it (it appears only
        // in messages about the line).
        let mut item = json!({
            "orderItemId": format!("{id}-{}", n + 1),
            "quantityOrdered": quantity,
            "product": {"asin": row.asin, "sellerSku": sku.as_str()},
            "fulfillment": {
                "quantityFulfilled": if shipped { quantity } else { 0 },
                "quantityUnfulfilled": if shipped { 0 } else { quantity },
            },
        });
        if priced {
            let (Some(cur), Some(price), Some(tax)) =
                (row.currency.as_deref(), row.item_price, row.item_tax)
            else {
                return Err("a line of a priced order has no price, tax or currency".into());
            };
            if quantity == 0 {
                return Err("a priced line with quantity 0".into());
            }
            let shipping = row.shipping_price.unwrap_or_default();
            let shipping_tax = row.shipping_tax.unwrap_or_default();
            let mut breakdowns = vec![json!({"type": "ITEM", "subtotal": money(price, cur)})];
            let mut tax_parts = vec![json!({"subtype": "ITEM", "value": money(tax, cur)})];
            if !shipping.is_zero() || !shipping_tax.is_zero() {
                breakdowns.push(json!({"type": "SHIPPING", "subtotal": money(shipping, cur)}));
                tax_parts.push(json!({"subtype": "SHIPPING", "value": money(shipping_tax, cur)}));
            }
            breakdowns.push(json!({
                "type": "TAX",
                "subtotal": money(tax + shipping_tax, cur),
                "detailedBreakdowns": tax_parts,
            }));
            item["product"]["price"] =
                json!({"unitPrice": money(price / Decimal::from(quantity), cur)});
            item["proceeds"] = json!({"breakdowns": breakdowns});
            total += price + shipping;
            currency = Some(cur.to_owned());
        }
        items.push(item);
    }
    let mut order = json!({
        "orderId": id,
        "createdTime": purchased,
        "lastUpdatedTime": updated,
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": marketplace.id,
            "marketplaceName": channel,
        },
        "fulfillment": {
            "fulfillmentStatus": status,
            "fulfilledBy": if amazon_fulfilled { "AMAZON" } else { "MERCHANT" },
        },
        "orderItems": items,
    });
    if let Some(cur) = currency {
        order["proceeds"] = json!({"grandTotal": money(total, &cur)});
    }
    serde_json::from_value(order).map_err(|e| format!("does not read as an order: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sp_api_client::order_report::parse_all_orders_report;

    const HEADER: &str = "amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\tsales-channel\torder-channel\tship-service-level\tproduct-name\tsku\tasin\titem-status\tquantity\tcurrency\titem-price\titem-tax\tshipping-price\tshipping-tax\tgift-wrap-price\tgift-wrap-tax\titem-promotion-discount\tship-promotion-discount\tship-city\tship-state\tship-postal-code\tship-country\tpromotion-ids\tis-business-order\tpurchase-order-number\tprice-designation";

    fn row(id: &str, status: &str, channel: &str, sku: &str, money: [&str; 6]) -> String {
        format!(
            "{id}\t\t2026-03-01T10:00:00+00:00\t2026-03-02T08:00:00+00:00\t{status}\tAmazon\t{channel}\t\tStandard\tMug\t{sku}\tB0001\t{status}\t2\tEUR\t{}\t{}\t{}\t{}\t\t\t{}\t{}\tBerlin\t\t10115\tDE\t\tfalse\t\t",
            money[0], money[1], money[2], money[3], money[4], money[5]
        )
    }

    fn read(lines: &[String]) -> ReportOrders {
        let text = format!("{HEADER}\n{}\n", lines.join("\n"));
        orders_from_report(parse_all_orders_report(&text).unwrap())
    }

    #[test]
    fn a_shipped_order_reads_as_the_orders_api_gives_it() {
        let r = read(&[
            row(
                "028-1",
                "Shipped",
                "Amazon.de",
                "MUG",
                ["23.80", "3.80", "4.76", "0.76", "0.00", "0.00"],
            ),
            row(
                "028-1",
                "Shipped",
                "Amazon.de",
                "CUP",
                ["11.90", "1.90", "0.00", "0.00", "", ""],
            ),
        ]);
        assert!(r.need_api.is_empty(), "{:?}", r.need_api);
        let o = &r.orders[0];
        assert_eq!(
            o.sales_channel.marketplace_id.as_deref(),
            Some("A1PA6795UKMFR9")
        );
        assert_eq!(
            o.status(),
            Some(&sp_api_client::orders::FulfillmentStatus::Shipped)
        );
        assert_eq!(o.order_items.len(), 2);
        let v = serde_json::to_value(o).unwrap();
        let b = &v["orderItems"][0]["proceeds"]["breakdowns"];
        assert_eq!(b[0]["subtotal"]["amount"], "23.80");
        assert_eq!(b[1]["type"], "SHIPPING");
        assert_eq!(b[2]["detailedBreakdowns"][1]["value"]["amount"], "0.76");
        assert_eq!(v["orderItems"][0]["fulfillment"]["quantityFulfilled"], 2);
        assert_eq!(v["proceeds"]["grandTotal"]["amount"], "40.46");
        // No shipping on the second line: no SHIPPING breakdown, as the Orders API leaves it out.
        assert_eq!(
            v["orderItems"][1]["proceeds"]["breakdowns"][1]["type"],
            "TAX"
        );
    }

    #[test]
    fn a_shipped_merchant_order_goes_to_the_api_for_its_ship_time() {
        let merchant = |status: &str| {
            row(
                "028-7",
                status,
                "Amazon.de",
                "MUG",
                ["23.80", "3.80", "0.00", "0.00", "", ""],
            )
            .replacen("\tAmazon\tAmazon.de", "\tMerchant\tAmazon.de", 1)
        };
        let r = read(&[merchant("Shipped")]);
        assert_eq!(r.need_api.len(), 1, "{:?}", r.orders);
        assert!(r.need_api[0].why.contains("ship time"), "{:?}", r.need_api);
        assert!(
            !r.need_api[0].lines_only,
            "order-items calls carry no packages"
        );
        // Not shipped yet: the report is enough.
        let r = read(&[merchant("Unshipped")]);
        assert!(r.need_api.is_empty(), "{:?}", r.need_api);
        assert_eq!(
            r.orders[0].fulfilled_by(),
            Some(&sp_api_client::orders::FulfilledBy::Merchant)
        );
    }

    #[test]
    fn what_the_report_lacks_goes_to_the_api_and_pending_orders_need_no_price() {
        let r = read(&[
            row(
                "028-2",
                "Shipped",
                "Amazon.de",
                "MUG",
                ["23.80", "3.80", "0.00", "0.00", "-2.00", "0.00"],
            ),
            row(
                "028-3",
                "Shipped",
                "Non-Amazon",
                "MUG",
                ["23.80", "3.80", "0.00", "0.00", "", ""],
            ),
            row(
                "028-4",
                "Shipping",
                "Amazon.de",
                "MUG",
                ["23.80", "3.80", "0.00", "0.00", "", ""],
            ),
            row(
                "028-5",
                "Shipped",
                "Amazon.de",
                "MUG",
                ["", "", "", "", "", ""],
            ),
            row(
                "028-6",
                "Pending",
                "Amazon.de",
                "MUG",
                ["", "", "", "", "", ""],
            ),
        ]);
        let ids: Vec<(&str, &str)> = r
            .need_api
            .iter()
            .map(|n| (n.id.as_str(), n.why.as_str()))
            .collect();
        let lines_only: Vec<bool> = r.need_api.iter().map(|n| n.lines_only).collect();
        assert_eq!(
            lines_only,
            [true, false, false, false],
            "only the promotion is in the lines"
        );
        assert_eq!(ids.len(), 4, "{ids:?}");
        assert!(ids[0].1.contains("promotion"), "{ids:?}");
        assert!(ids[1].1.contains("Non-Amazon"), "{ids:?}");
        assert!(ids[2].1.contains("Shipping"), "{ids:?}");
        assert!(ids[3].1.contains("no price"), "{ids:?}");
        assert_eq!(r.orders.len(), 1);
        assert!(r.orders[0].proceeds.is_none());
    }
}
