//! Pure: an Amazon order -> the A/R invoice it becomes (or why not yet, never, or held). No I/O.

use rust_decimal::Decimal;
use sap_b1_client::entities::{Document, DocumentAdditionalExpense, DocumentLine};
use serde_json::Value;
use sp_api_client::orders::{FulfillmentStatus, Order, OrderItem};

use crate::config::{Config, InvoiceWhen, Shipping, TaxField};

/// The ledger key of an order's invoice.
pub fn invoice_key(seller: &str, order_id: &str) -> String {
    format!("amz:{seller}:order:{order_id}:invoice")
}

/// What an order calls for.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderPlan {
    /// Not invoiceable yet: seen again when Amazon updates it.
    NotYet(String),
    /// Never invoiced (cancelled, or a marketplace this connector does not sync).
    Never(String),
    /// Needs a person.
    Hold(String),
    /// The invoice to post.
    Invoice(Box<Document>),
}

/// Decides, without I/O, what invoice an order becomes.
pub fn plan_invoice(order: &Order, config: &Config, key: &str) -> OrderPlan {
    let id = order.order_id.as_str();
    let Some(marketplace) = order.sales_channel.marketplace_id.as_deref() else {
        return OrderPlan::Hold(format!("order {id} carries no marketplace id"));
    };
    if !config.amazon.marketplaces.iter().any(|m| m == marketplace) {
        return OrderPlan::Never(format!("marketplace {marketplace} is not synced"));
    }
    let Some(mapping) = config.marketplaces.get(marketplace) else {
        return OrderPlan::Hold(format!(
            "marketplace {marketplace} has no SAP customer in [marketplaces]"
        ));
    };
    match order.status() {
        Some(FulfillmentStatus::Shipped) => {}
        Some(FulfillmentStatus::Unshipped)
            if config.orders.invoice_when == InvoiceWhen::Accepted => {}
        Some(FulfillmentStatus::Cancelled) => return OrderPlan::Never("cancelled".into()),
        Some(FulfillmentStatus::Unknown(s)) => {
            return OrderPlan::Hold(format!(
                "order {id} has a fulfilment status this connector does not know: {s}"
            ));
        }
        Some(other) => return OrderPlan::NotYet(format!("{other:?}")),
        None => return OrderPlan::NotYet("no fulfilment status yet".into()),
    }
    let currency = order
        .proceeds
        .as_ref()
        .and_then(|p| p.grand_total.as_ref())
        .map(|m| m.currency_code.clone())
        .or_else(|| {
            order.order_items.iter().find_map(|i| {
                i.product
                    .price
                    .as_ref()?
                    .unit_price
                    .as_ref()
                    .map(|m| m.currency_code.clone())
            })
        });
    let mut lines = Vec::new();
    let mut shipping = Decimal::ZERO;
    for item in &order.order_items {
        let Some(sku) = item
            .product
            .seller_sku
            .as_ref()
            .map(|s| s.as_str().to_owned())
        else {
            return OrderPlan::Hold(format!(
                "order {id} item {} has no seller SKU",
                item.order_item_id
            ));
        };
        let qty = item
            .fulfillment
            .as_ref()
            .and_then(|f| f.quantity_fulfilled)
            .filter(|q| *q > 0)
            .unwrap_or(item.quantity_ordered);
        if qty == 0 {
            continue;
        }
        let amounts = match item_amounts(item, mapping.prices_include_tax) {
            Ok(a) => a,
            Err(why) => {
                return OrderPlan::Hold(format!(
                    "order {id} item {} (SKU {sku}) {why}",
                    item.order_item_id
                ));
            }
        };
        shipping += amounts.shipping;
        lines.push(LineSpec {
            item_code: config.item_code(&sku).to_owned(),
            quantity: Decimal::from(qty),
            net: amounts.net,
            tax_code: mapping
                .tax_code_for(amounts.net, amounts.item_tax)
                .map(str::to_owned),
            // Where the seller charges the VAT inside the price, the invoice carries what the
            // buyer paid: SAP keeps a row's gross and derives the net (PriceAfterVAT), so the
            // invoice total is Amazon's to the cent instead of net + SAP's rounded VAT.
            gross: (mapping.prices_include_tax
                && mapping.charges_tax(amounts.net, amounts.item_tax))
            .then_some(amounts.net + amounts.item_tax),
            sku,
        });
    }
    if lines.is_empty() {
        return OrderPlan::Hold(format!("order {id} has no shipped items"));
    }
    let comments = format!(
        "Amazon order {id} ({}) - ml-connector {key}",
        order
            .sales_channel
            .marketplace_name
            .as_deref()
            .unwrap_or(marketplace)
    );
    let date = order.last_updated_time.date_naive();
    let doc = build_invoice(
        config, mapping, key, id, date, currency, lines, shipping, comments,
    );
    OrderPlan::Invoice(Box::new(doc))
}

fn set_tax(
    vat_group: &mut Option<String>,
    tax_code: &mut Option<String>,
    field: TaxField,
    code: Option<&str>,
) {
    if let Some(code) = code {
        match field {
            TaxField::VatGroup => *vat_group = Some(code.to_owned()),
            TaxField::TaxCode => *tax_code = Some(code.to_owned()),
        }
    }
}

/// One invoice line to build: SAP item, quantity, net amount, and the Amazon SKU it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LineSpec {
    /// SAP ItemCode.
    pub item_code: String,
    /// Quantity.
    pub quantity: Decimal,
    /// Net amount (before tax; SAP adds the tax from the line's code).
    pub net: Decimal,
    /// The line's tax code (`None`: the marketplace's).
    pub tax_code: Option<String>,
    /// What the buyer paid for the line, tax included, when the seller charges the tax in the
    /// price: sent as `PriceAfterVAT` instead of a net price.
    pub gross: Option<Decimal>,
    /// Amazon SKU.
    pub sku: String,
}

/// The A/R invoice of an Amazon order: lines, shipping per config, tax code per marketplace, the
/// order id in NumAtCard and the ledger key in the configured UDF.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_invoice(
    config: &Config,
    mapping: &crate::config::MarketplaceMapping,
    key: &str,
    order_id: &str,
    date: chrono::NaiveDate,
    currency: Option<String>,
    specs: Vec<LineSpec>,
    shipping: Decimal,
    comments: String,
) -> Document {
    let tax = |vat_group: &mut Option<String>, tax_code: &mut Option<String>| {
        set_tax(
            vat_group,
            tax_code,
            config.orders.tax_field,
            mapping.tax_code.as_deref(),
        );
    };
    let mut lines: Vec<DocumentLine> = specs
        .into_iter()
        .map(|spec| {
            let code = spec.tax_code.clone();
            let (unit, total, gross) = match spec.gross {
                Some(g) => (None, None, Some(unit_price(g, spec.quantity))),
                None => (
                    Some(unit_price(spec.net, spec.quantity)),
                    Some(spec.net),
                    None,
                ),
            };
            let mut line = DocumentLine {
                item_code: Some(spec.item_code),
                quantity: Some(spec.quantity),
                unit_price: unit,
                line_total: total,
                price_after_vat: gross,
                warehouse_code: config.orders.warehouse.clone(),
                free_text: Some(format!("Amazon SKU {}", spec.sku)),
                ..DocumentLine::default()
            };
            match code {
                Some(code) => set_tax(
                    &mut line.vat_group,
                    &mut line.tax_code,
                    config.orders.tax_field,
                    Some(&code),
                ),
                None => tax(&mut line.vat_group, &mut line.tax_code),
            }
            line
        })
        .collect();
    let mut expenses = Vec::new();
    if !shipping.is_zero() {
        match &config.orders.shipping {
            Shipping::ItemLine(code) => {
                let mut line = DocumentLine {
                    item_code: Some(code.clone()),
                    quantity: Some(Decimal::ONE),
                    unit_price: Some(shipping),
                    line_total: Some(shipping),
                    free_text: Some("Amazon shipping".into()),
                    ..DocumentLine::default()
                };
                tax(&mut line.vat_group, &mut line.tax_code);
                lines.push(line);
            }
            Shipping::Expense(code) => {
                let mut x = DocumentAdditionalExpense {
                    expense_code: Some(*code),
                    line_total: Some(shipping),
                    remarks: Some("Amazon shipping".into()),
                    ..DocumentAdditionalExpense::default()
                };
                tax(&mut x.vat_group, &mut x.tax_code);
                expenses.push(x);
            }
        }
    }
    let mut doc = Document {
        card_code: Some(mapping.customer.clone()),
        num_at_card: Some(order_id.to_owned()),
        doc_date: Some(date.into()),
        doc_due_date: Some(date.into()),
        tax_date: Some(date.into()),
        doc_currency: currency,
        comments: Some(comments),
        document_lines: Some(lines),
        document_additional_expenses: (!expenses.is_empty()).then_some(expenses),
        ..Document::default()
    };
    if let Some(udf) = &config.sap.key_udf {
        doc.extra.insert(udf.clone(), Value::String(key.to_owned()));
    }
    doc
}

/// The unit price that makes `net` for `quantity`, in the document's currency. A row goes to SAP
/// with this `UnitPrice` and its net total: SAP derives the discount from the two against the
/// price it is given (KBA 3697554: without a price, against the price list, and a zero row then
/// becomes "Enter a discount percentage of less than 100"), and keeps the total to the cent
/// whatever the company's price accuracy. The total is `LineTotal` on a local-currency document
/// and `RowTotalFC` on a foreign-currency one (SDK table INV1: "LineTotal | Net LC", "TotalFrgn
/// | Net FC"), see `Engine::localize`. Six decimals: SAP's maximum price accuracy.
pub(crate) fn unit_price(net: Decimal, quantity: Decimal) -> Decimal {
    if quantity.is_zero() {
        return net;
    }
    (net / quantity)
        .round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

/// An item's net amount (after item discounts, before tax) and its net shipping.
#[derive(Debug, PartialEq)]
struct ItemAmounts {
    net: Decimal,
    shipping: Decimal,
    /// The tax Amazon reports on the item part (what picks its tax code).
    item_tax: Decimal,
}

/// Splits an item's proceeds into net item and net shipping amounts.
///
/// `ITEM`, `SHIPPING` and `DISCOUNT` are what the buyer was charged; where they include tax (EU/UK
/// VAT), the `TAX` breakdown's part for each (by `detailedBreakdowns` subtype, all to the item when
/// Amazon gives no detail) is taken out, because SAP adds the tax from the line's tax code.
fn item_amounts(item: &OrderItem, prices_include_tax: bool) -> Result<ItemAmounts, String> {
    let breakdowns = item
        .proceeds
        .as_ref()
        .map(|p| p.breakdowns.as_slice())
        .unwrap_or_default();
    let of = |kind: &'static str| breakdowns.iter().filter(move |b| b.kind == kind);
    let mut net = match of("ITEM").map(|b| b.subtotal.amount).reduce(|a, b| a + b) {
        Some(n) => n,
        None => {
            let unit = item
                .product
                .price
                .as_ref()
                .and_then(|p| p.unit_price.as_ref())
                .ok_or("has no price")?;
            unit.amount * Decimal::from(item.quantity_ordered)
        }
    };
    let mut shipping: Decimal = of("SHIPPING").map(|b| b.subtotal.amount).sum();
    // Discounts are negative; by subtype when Amazon says which part they reduce.
    for (b, target) in of("DISCOUNT").flat_map(split) {
        match target {
            Part::Shipping => shipping += b,
            Part::Item => net += b,
        }
    }
    let item_tax: Decimal = of("TAX")
        .flat_map(split)
        .filter(|(_, part)| matches!(part, Part::Item))
        .map(|(t, _)| t)
        .sum();
    if prices_include_tax {
        let taxes: Vec<_> = of("TAX").collect();
        if taxes.is_empty() && !(net.is_zero() && shipping.is_zero()) {
            return Err("is priced tax-inclusive but Amazon sent no TAX breakdown, so the net price is unknown".into());
        }
        for (t, target) in taxes.into_iter().flat_map(split) {
            match target {
                Part::Shipping => shipping -= t,
                Part::Item => net -= t,
            }
        }
    }
    Ok(ItemAmounts {
        net,
        shipping,
        item_tax,
    })
}

enum Part {
    Item,
    Shipping,
}

/// A breakdown's amounts by the part they belong to (all to the item without detail).
fn split(b: &sp_api_client::orders::ProceedsBreakdown) -> Vec<(Decimal, Part)> {
    if b.detailed_breakdowns.is_empty() {
        return vec![(b.subtotal.amount, Part::Item)];
    }
    b.detailed_breakdowns
        .iter()
        .map(|d| {
            let part = match d.subtype.as_deref() {
                Some("SHIPPING") => Part::Shipping,
                _ => Part::Item,
            };
            (d.value.amount, part)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn config(extra: &str) -> Config {
        let text = format!(
            r#"
            [sap]
            base_url = "https://sap.example.com:50000/b1s/v2"
            company_db = "SBO"
            user = "manager"
            [amazon]
            region = "eu"
            seller_id = "A1SELLER"
            marketplaces = ["A1PA6795UKMFR9"]
            [orders]
            shipping = "expense"
            shipping_expense_code = 1
            [marketplaces.A1PA6795UKMFR9]
            customer = "C-AMZ-DE"
            tax_code = "DE19"
            [sku_map]
            "AMZ-MUG" = "A00042"
            {extra}
            "#
        );
        Config::parse(Path::new("/tmp/t.toml"), &text).unwrap()
    }

    fn money(v: &str) -> serde_json::Value {
        json!({"amount": v, "currencyCode": "EUR"})
    }

    fn order(status: &str, breakdowns: serde_json::Value) -> Order {
        serde_json::from_value(json!({
            "orderId": "028-1234567-1234567",
            "createdTime": "2026-11-20T10:00:00Z",
            "lastUpdatedTime": "2026-11-21T08:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9", "marketplaceName": "Amazon.de"},
            "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": "AMAZON"},
            "proceeds": {"grandTotal": money("64.47")},
            "orderItems": [{
                "orderItemId": "12345678901234",
                "quantityOrdered": 2,
                "product": {"sellerSku": "AMZ-MUG", "price": {"unitPrice": money("29.99")}},
                "proceeds": {"proceedsTotal": money("64.47"), "breakdowns": breakdowns},
                "fulfillment": {"quantityFulfilled": 2, "quantityUnfulfilled": 0}
            }]
        }))
        .unwrap()
    }

    fn vat_breakdowns() -> serde_json::Value {
        json!([
            {"type": "ITEM", "subtotal": money("59.98")},
            {"type": "SHIPPING", "subtotal": money("5.95")},
            {"type": "DISCOUNT", "subtotal": money("-1.46"), "detailedBreakdowns": [{"subtype": "ITEM", "value": money("-1.46")}]},
            {"type": "TAX", "subtotal": money("10.29"), "detailedBreakdowns": [
                {"subtype": "ITEM", "value": money("9.34")},
                {"subtype": "SHIPPING", "value": money("0.95")}
            ]}
        ])
    }

    const KEY: &str = "amz:A1SELLER:order:028-1234567-1234567:invoice";

    #[test]
    fn shipped_vat_order_becomes_a_net_invoice() {
        let OrderPlan::Invoice(doc) =
            plan_invoice(&order("SHIPPED", vat_breakdowns()), &config(""), KEY)
        else {
            panic!("expected an invoice");
        };
        assert_eq!(doc.card_code.as_deref(), Some("C-AMZ-DE"));
        assert_eq!(doc.num_at_card.as_deref(), Some("028-1234567-1234567"));
        assert_eq!(doc.doc_currency.as_deref(), Some("EUR"));
        let line = &doc.document_lines.as_ref().unwrap()[0];
        assert_eq!(line.item_code.as_deref(), Some("A00042"), "SKU mapped");
        assert_eq!(line.quantity, Some(Decimal::from(2)));
        // 59.98 - 1.46 discount - 9.34 VAT = 49.18 net for 2, i.e. 24.59 each (never a LineTotal
        // alone, from which SAP would derive a discount against its price list); SAP adds 19 %.
        assert_eq!(line.unit_price, Some("24.59".parse().unwrap()));
        assert_eq!(line.line_total, Some("49.18".parse().unwrap()));
        assert_eq!(line.vat_group.as_deref(), Some("DE19"));
        let shipping = &doc.document_additional_expenses.as_ref().unwrap()[0];
        assert_eq!(shipping.expense_code, Some(1));
        assert_eq!(shipping.line_total, Some("5.00".parse().unwrap()));
        assert_wire_shape(&doc);
    }

    /// The exact JSON we send (pinned: a change here is a change to what SAP receives).
    fn assert_wire_shape(doc: &Document) {
        let v = serde_json::to_value(doc).unwrap();
        assert_eq!(v["DocDate"], "2026-11-21");
        assert_eq!(v["DocumentLines"][0]["UnitPrice"], "24.59");
        assert_eq!(v["DocumentLines"][0]["LineTotal"], "49.18");
        assert!(
            v.get("DocEntry").is_none(),
            "no server-owned fields are sent: {v}"
        );
    }

    #[test]
    fn shipping_as_an_item_line_and_tax_as_a_tax_code() {
        let mut cfg = config("");
        cfg.orders.shipping = Shipping::ItemLine("SHIPPING".into());
        cfg.orders.tax_field = TaxField::TaxCode;
        let OrderPlan::Invoice(doc) = plan_invoice(&order("SHIPPED", vat_breakdowns()), &cfg, KEY)
        else {
            panic!("expected an invoice");
        };
        // What SAP receives: the shipping is a second line on the shipping item, no additional
        // expense; every line carries TaxCode (US/CA sales tax), none VatGroup.
        let v = serde_json::to_value(&*doc).unwrap();
        let lines = v["DocumentLines"].as_array().unwrap();
        assert_eq!(lines.len(), 2, "{v}");
        assert_eq!(lines[0]["ItemCode"], "A00042");
        assert_eq!(lines[0]["UnitPrice"], "24.59", "49.18 for 2");
        assert_eq!(lines[1]["ItemCode"], "SHIPPING");
        assert_eq!(lines[1]["UnitPrice"], "5.00", "5.95 - 0.95 VAT");
        for line in lines {
            assert_eq!(line["TaxCode"], "DE19", "{line}");
            assert!(line.get("VatGroup").is_none(), "{line}");
        }
        assert!(v.get("DocumentAdditionalExpenses").is_none(), "{v}");
    }

    #[test]
    fn waiting_cancelled_and_unknown_orders() {
        let cfg = config("");
        assert!(matches!(
            plan_invoice(&order("UNSHIPPED", vat_breakdowns()), &cfg, KEY),
            OrderPlan::NotYet(_)
        ));
        assert!(matches!(
            plan_invoice(&order("PARTIALLY_SHIPPED", vat_breakdowns()), &cfg, KEY),
            OrderPlan::NotYet(_)
        ));
        assert!(matches!(
            plan_invoice(&order("PENDING", vat_breakdowns()), &cfg, KEY),
            OrderPlan::NotYet(_)
        ));
        assert!(matches!(
            plan_invoice(&order("CANCELLED", vat_breakdowns()), &cfg, KEY),
            OrderPlan::Never(_)
        ));
        let accepted = config("").clone();
        let mut accepted = accepted;
        accepted.orders.invoice_when = InvoiceWhen::Accepted;
        assert!(matches!(
            plan_invoice(&order("UNSHIPPED", vat_breakdowns()), &accepted, KEY),
            OrderPlan::Invoice(_)
        ));
        assert!(matches!(
            plan_invoice(&order("LOST_IN_SPACE", vat_breakdowns()), &cfg, KEY),
            OrderPlan::Hold(_)
        ));
    }

    #[test]
    fn tax_inclusive_prices_without_a_tax_breakdown_are_held_not_guessed() {
        let b = json!([{"type": "ITEM", "subtotal": money("59.98")}]);
        let OrderPlan::Hold(reason) = plan_invoice(&order("SHIPPED", b.clone()), &config(""), KEY)
        else {
            panic!("expected a hold");
        };
        assert!(reason.contains("no TAX breakdown"), "{reason}");
        // A sales-tax marketplace's prices are net: no TAX needed.
        let mut cfg = config("");
        cfg.marketplaces
            .get_mut("A1PA6795UKMFR9")
            .unwrap()
            .prices_include_tax = false;
        let OrderPlan::Invoice(doc) = plan_invoice(&order("SHIPPED", b), &cfg, KEY) else {
            panic!()
        };
        assert_eq!(
            doc.document_lines.unwrap()[0].unit_price,
            Some("29.99".parse().unwrap())
        );
    }

    #[test]
    fn unit_prices_give_back_the_net_at_sap_rounding() {
        for (net, qty) in [("10.00", 3), ("49.18", 2), ("0.01", 7), ("199.99", 1)] {
            let net: Decimal = net.parse().unwrap();
            let qty = Decimal::from(qty);
            let price = unit_price(net, qty);
            assert_eq!((price * qty).round_dp(2), net, "{net} / {qty}");
        }
    }

    #[test]
    fn other_marketplaces_are_not_ours_and_key_goes_into_the_udf() {
        let mut o = order("SHIPPED", vat_breakdowns());
        o.sales_channel.marketplace_id = Some("ATVPDKIKX0DER".into());
        assert!(matches!(
            plan_invoice(&o, &config(""), KEY),
            OrderPlan::Never(_)
        ));
        let mut cfg = config("");
        cfg.sap.key_udf = Some("U_MLC_Key".into());
        let OrderPlan::Invoice(doc) = plan_invoice(&order("SHIPPED", vat_breakdowns()), &cfg, KEY)
        else {
            panic!()
        };
        assert_eq!(doc.extra["U_MLC_Key"], KEY);
    }
}
