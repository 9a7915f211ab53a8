//! Pure: an Amazon order -> the A/R invoice it becomes (or why not yet, never, or held). No I/O.

use rust_decimal::Decimal;
use sap_b1_client::entities::{Document, DocumentAdditionalExpense, DocumentLine};
use serde_json::Value;
use sp_api_client::orders::{FulfilledBy, FulfillmentStatus, Order, OrderItem};

use crate::config::{Config, InvoiceWhen, Shipping, TaxField};

mod dating;

/// The free text of an invoice's shipping line (its item is `orders.shipping_item`, not a SKU).
pub(crate) const SHIPPING_LINE_TEXT: &str = "Amazon shipping";

/// The free text of a promotion line starts with this (its item is `orders.promotion_item`).
pub(crate) const PROMOTION_LINE_TEXT: &str = "Amazon promotion";

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
    /// Invoiced with the others by the settlement that pays it (summary mode, `[posting]`).
    Summarised,
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
    // Summary mode: the settlement that pays the order invoices it with the others (by the
    // order's creation day, never after its shipment, so an order the settlement sees as
    // shipped before the cut-over is always invoiced here).
    if config
        .posting
        .summarises(marketplace, order.created_time.date_naive())
    {
        return OrderPlan::Summarised;
    }
    // Cut-over (`orders.invoiced_from`): the earlier bookkeeping has the orders created before
    // it; their receipts go to `settlements.opening_receivable`.
    if let Some(from) = config.orders.invoiced_from
        && order.created_time.date_naive() < from
    {
        return OrderPlan::Never(format!(
            "created before orders.invoiced_from ({from}): booked before the cut-over"
        ));
    }
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
    let mut shipping_tax = Decimal::ZERO;
    // Whether any shipping is charged on an item whose tax the seller collects (else the freight
    // is facilitated too).
    let mut seller_shipping = false;
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
        shipping_tax += amounts.shipping_tax;
        // Amazon collects this item's tax as marketplace facilitator / deemed supplier: the
        // marketplace's facilitated code, whatever rate Amazon charged (none of it is the
        // seller's), and the net price.
        let facilitated = mapping
            .facilitated_tax_code
            .as_deref()
            .filter(|_| item.tax_collected_by_marketplace());
        seller_shipping |= facilitated.is_none() && !amounts.shipping.is_zero();
        // Where prices are net, SAP taxes each line's net and rounds it; Amazon taxed the price
        // and the promotion apart (TAX subtypes ITEM and DISCOUNT), so one discounted line can be
        // a cent off. With a promotion item the discount is a line of its own, quantity -1 (SAP
        // help "Creating Sales and Purchasing Documents with Negative Totals": negative
        // quantities on A/R invoices), at the item's tax code.
        if let (Some(promo), false, false, None) = (
            config.orders.promotion_item.as_deref(),
            mapping.prices_include_tax,
            amounts.item_discount.is_zero(),
            facilitated,
        ) {
            let price = amounts.net - amounts.item_discount;
            let price_tax = amounts.item_tax - amounts.discount_tax;
            let code = mapping.tax_code_for(price, price_tax).map(str::to_owned);
            lines.push(LineSpec {
                item_code: config.item_code(&sku).to_owned(),
                quantity: Decimal::from(qty),
                net: price,
                tax_code: code.clone(),
                gross: None,
                sku: sku.clone(),
            });
            lines.push(LineSpec {
                item_code: promo.to_owned(),
                quantity: -Decimal::ONE,
                net: amounts.item_discount,
                tax_code: code,
                gross: None,
                sku,
            });
            continue;
        }
        lines.push(LineSpec {
            item_code: config.item_code(&sku).to_owned(),
            quantity: Decimal::from(qty),
            net: amounts.net,
            tax_code: facilitated
                .or_else(|| mapping.tax_code_for(amounts.net, amounts.item_tax))
                .map(str::to_owned),
            // Where the seller charges the VAT inside the price, the invoice carries what the
            // buyer paid: SAP keeps a row's gross and derives the net (PriceAfterVAT), so the
            // invoice total is Amazon's to the cent instead of net + SAP's rounded VAT.
            gross: (facilitated.is_none()
                && mapping.prices_include_tax
                && mapping.charges_tax(amounts.net, amounts.item_tax))
            .then_some(amounts.net + amounts.item_tax),
            sku,
        });
    }
    if lines.is_empty() {
        return OrderPlan::Hold(format!("order {id} has no shipped items"));
    }
    let dated = dating::invoice_date(order, marketplace);
    let comments = format!(
        "Amazon order {id} ({}), {} - ml-connector {key}",
        order
            .sales_channel
            .marketplace_name
            .as_deref()
            .unwrap_or(marketplace),
        dated.how,
    );
    let item_lines = lines.len();
    // The freight's code by the rate Amazon charged on it, as an item's (an Alberta order pays
    // 5 % GST on shipping, not the marketplace's 13 % HST); the marketplace's code without a
    // reported shipping tax; the facilitated code where only facilitated items carry shipping.
    let facilitated_shipping = mapping
        .facilitated_tax_code
        .as_deref()
        .filter(|_| !seller_shipping && !shipping.is_zero());
    let shipping_code = match facilitated_shipping {
        Some(code) => Some(code.to_owned()),
        None => (!shipping_tax.is_zero())
            .then(|| mapping.tax_code_for(shipping, shipping_tax))
            .flatten()
            .map(str::to_owned),
    };
    let freight = Freight {
        net: shipping,
        tax_code: shipping_code,
        // As for items: what the buyer paid for shipping, where the seller charges the VAT in it
        // (not where Amazon collects it as facilitator).
        gross: (facilitated_shipping.is_none()
            && mapping.prices_include_tax
            && mapping.charges_tax(shipping, shipping_tax))
        .then_some(shipping + shipping_tax),
    };
    let mut doc = build_invoice(
        config, mapping, key, id, dated.date, currency, lines, freight, comments,
    );
    // The item lines leave the channel's warehouse (FBA units Amazon's, MFN units the seller's).
    let amazon_fulfilled = match order.fulfilled_by() {
        Some(FulfilledBy::Amazon) => Some(true),
        Some(FulfilledBy::Merchant) => Some(false),
        _ => None,
    };
    let warehouse = config.orders.warehouse_for(amazon_fulfilled);
    for line in doc.document_lines.iter_mut().flatten().take(item_lines) {
        line.warehouse_code = warehouse.map(str::to_owned);
    }
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

/// The shipping charge of an invoice.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Freight {
    /// Net amount (before tax).
    pub net: Decimal,
    /// Its tax code (`None`: the marketplace's).
    pub tax_code: Option<String>,
    /// What the buyer paid for it, tax included, where the seller charges the tax in the price.
    /// Carried exactly by a shipping item line (`PriceAfterVAT`); a freight row cannot carry it
    /// (below).
    pub gross: Option<Decimal>,
}

impl Freight {
    /// A net charge with the marketplace's tax code.
    pub(crate) fn net(net: Decimal) -> Self {
        Self {
            net,
            ..Self::default()
        }
    }
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
    freight: Freight,
    comments: String,
) -> Document {
    let Freight {
        net: shipping,
        tax_code: shipping_code,
        gross: shipping_gross,
    } = freight;
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
                free_text: Some(if spec.quantity.is_sign_negative() {
                    format!("{PROMOTION_LINE_TEXT}, SKU {}", spec.sku)
                } else {
                    format!("Amazon SKU {}", spec.sku)
                }),
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
                // Gross like the items where the seller charges the VAT in the price, so the
                // invoice total is what Amazon charged to the cent.
                let (unit, total) = match shipping_gross {
                    Some(_) => (None, None),
                    None => (Some(shipping), Some(shipping)),
                };
                let mut line = DocumentLine {
                    item_code: Some(code.clone()),
                    quantity: Some(Decimal::ONE),
                    unit_price: unit,
                    line_total: total,
                    price_after_vat: shipping_gross,
                    free_text: Some(SHIPPING_LINE_TEXT.into()),
                    ..DocumentLine::default()
                };
                match &shipping_code {
                    Some(code) => set_tax(
                        &mut line.vat_group,
                        &mut line.tax_code,
                        config.orders.tax_field,
                        Some(code),
                    ),
                    None => tax(&mut line.vat_group, &mut line.tax_code),
                }
                lines.push(line);
            }
            // A freight row is net and in local currency: `LineTotal` is "the total amount (in
            // local currency)" and `LineTotalFC`, `LineGrossFC`, `TaxSumFC` are read-only (SDK
            // DocumentsAdditionalExpenses). SAP adds its own rounded tax to the net and, on a
            // foreign-currency invoice, converts back at the day's rate, so where the seller
            // charges VAT inside the price, or the invoice is not in the company's currency, the
            // row can be a cent or a few off what Amazon charged (`doctor` warns; `item-line`
            // is exact).
            Shipping::Expense(code) => {
                let mut x = DocumentAdditionalExpense {
                    expense_code: Some(*code),
                    line_total: Some(shipping),
                    remarks: Some("Amazon shipping".into()),
                    ..DocumentAdditionalExpense::default()
                };
                match &shipping_code {
                    Some(code) => set_tax(
                        &mut x.vat_group,
                        &mut x.tax_code,
                        config.orders.tax_field,
                        Some(code),
                    ),
                    None => tax(&mut x.vat_group, &mut x.tax_code),
                }
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
    /// The tax Amazon reports on the shipping part (what picks the freight's code).
    shipping_tax: Decimal,
    /// The promotions on the item (negative; included in `net`).
    item_discount: Decimal,
    /// The tax Amazon took off with the promotions (negative; included in `item_tax`).
    discount_tax: Decimal,
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
    let mut item_discount = Decimal::ZERO;
    for (b, target) in of("DISCOUNT").flat_map(split) {
        match target {
            Part::Shipping => shipping += b,
            Part::Item | Part::Discount => {
                net += b;
                item_discount += b;
            }
        }
    }
    // The tax Amazon took off with the promotion (TAX subtype DISCOUNT).
    let discount_tax: Decimal = of("TAX")
        .flat_map(split)
        .filter(|(_, part)| matches!(part, Part::Discount))
        .map(|(t, _)| t)
        .sum();
    let item_tax: Decimal = of("TAX")
        .flat_map(split)
        .filter(|(_, part)| matches!(part, Part::Item | Part::Discount))
        .map(|(t, _)| t)
        .sum();
    let shipping_tax: Decimal = of("TAX")
        .flat_map(split)
        .filter(|(_, part)| matches!(part, Part::Shipping))
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
                Part::Item | Part::Discount => net -= t,
            }
        }
    }
    Ok(ItemAmounts {
        net,
        shipping,
        item_tax,
        shipping_tax,
        item_discount,
        discount_tax,
    })
}

enum Part {
    Item,
    Shipping,
    /// The tax on a promotion (TAX subtype `DISCOUNT`); the item's part everywhere else.
    Discount,
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
                Some("DISCOUNT") => Part::Discount,
                _ => Part::Item,
            };
            (d.value.amount, part)
        })
        .collect()
}

#[cfg(test)]
mod tests;
