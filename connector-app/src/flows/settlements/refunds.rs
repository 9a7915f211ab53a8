//! Pure: a settlement's refund of an order -> the A/R credit note based on the order's invoice.
//!
//! The credit note copies the invoice's rows (`BaseType` 13, `BaseEntry`, `BaseLine`: SAP takes
//! the item, tax code and revenue account from them, notes sap-b1.md "Credit note from invoice"),
//! so revenue, output tax and item follow the original sale and the tax report shows the refund's
//! tax reduced. Its total is what Amazon gave the buyer back: the gross (`PriceAfterVAT`) where
//! the seller charged VAT inside the price, the net (`UnitPrice`) otherwise. SAP applies a credit
//! note to its base invoice while the invoice is open; once the invoice is paid the credit note
//! stays open and the settlement's payment applies it (`InvoiceType` `it_CredItnote`).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sap_b1_client::entities::{Document, DocumentAdditionalExpense, DocumentLine, YesNo};
use serde_json::Value;
use settlement_mapper::postings::Refund;

use crate::config::{Config, MarketplaceMapping, Shipping};
use crate::flows::orders::unit_price;

/// Ledger key of the credit note of an order's refund in a settlement (one per posting period).
pub fn credit_note_key(seller: &str, settlement: &str, order: &str, date: NaiveDate) -> String {
    format!("creditnote:{seller}:{settlement}:{order}:{date}")
}

/// A row of the invoice a credit note is based on.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseRow {
    /// `LineNum`.
    pub line_num: i32,
    /// `ItemCode`.
    pub item_code: String,
    /// Quantity still open to credit (`RemainingOpenQuantity`, else `Quantity`).
    pub open_quantity: Decimal,
    /// The row's gross unit price (`PriceAfterVAT`), to count the units a refund gives back.
    pub gross_price: Decimal,
    /// The row's net unit price (`Price`).
    pub net_price: Decimal,
    /// The row's tax code, as the invoice has it (`VatGroup`, `TaxCode`).
    pub tax: (Option<String>, Option<String>),
}

/// A freight row (additional expense) of the invoice a credit note is based on.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseExpense {
    /// `ExpenseCode`.
    pub expense_code: i32,
    /// Its tax code (`VatGroup`, `TaxCode`).
    pub tax: (Option<String>, Option<String>),
}

/// The invoice a refund is credited on.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseInvoice {
    /// DocEntry.
    pub doc_entry: i32,
    /// DocNum, for people.
    pub doc_num: Option<i32>,
    /// The invoice's customer.
    pub card_code: String,
    /// Its item rows.
    pub rows: Vec<BaseRow>,
    /// Its freight rows (`DocumentAdditionalExpenses`).
    pub expenses: Vec<BaseExpense>,
}

/// What the credit note of a refund needs besides the refund and its invoice.
pub struct CreditNoteInput<'a> {
    /// The configuration (item codes per SKU, key UDF, restocking).
    pub config: &'a Config,
    /// The marketplace's mapping (gross or net prices).
    pub mapping: &'a MarketplaceMapping,
    /// The ledger key (written into the key UDF and the comments).
    pub key: &'a str,
    /// Settlement id.
    pub settlement_id: &'a str,
    /// The settlement's currency (ISO code; the invoice's too), mapped to SAP's code on posting.
    pub currency: &'a str,
}

/// The credit note of one refund, or why it cannot be built.
pub fn credit_note(
    input: &CreditNoteInput<'_>,
    refund: &Refund,
    invoice: &BaseInvoice,
) -> Result<Document, String> {
    let doc_num = invoice.doc_num.unwrap_or(invoice.doc_entry);
    let mut lines = Vec::new();
    let mut taken: Vec<(i32, Decimal)> = Vec::new();
    let (mut shipping, mut shipping_tax) = (Decimal::ZERO, Decimal::ZERO);
    for l in refund.lines.iter().filter(|l| !l.amount.is_zero()) {
        if l.amount.is_sign_positive() {
            return Err(format!(
                "order {}: the refund of SKU {} is positive ({}) in settlement {}: a credit note cannot carry it; post it by hand",
                refund.order_id, l.sku, l.amount, input.settlement_id
            ));
        }
        shipping += l.shipping;
        shipping_tax += l.shipping_tax;
        // The shipping part goes where the invoice carried the shipping (below).
        let (amount, tax) = (l.amount - l.shipping, l.tax - l.shipping_tax);
        if amount.is_zero() {
            continue;
        }
        let item_code = input.config.item_code(&l.sku);
        let Some(row) = invoice
            .rows
            .iter()
            .filter(|r| r.item_code == item_code)
            .max_by_key(|r| r.open_quantity - open_taken(&taken, r.line_num))
        else {
            return Err(format!(
                "order {}: refunded SKU {} (item {item_code}) is not on its invoice {doc_num}",
                refund.order_id, l.sku
            ));
        };
        let credit = -amount;
        let tax = -tax;
        // Where the seller charges the tax inside the price, the credit note carries the gross
        // Amazon gave back (SAP derives net and tax from the base row's code), as the invoice did.
        let gross = input.mapping.prices_include_tax && !tax.is_zero();
        // Where the invoice carried the item's promotion on a line of its own (the promotion
        // item's row right after the item's, `orders.promotion_item`), the refund takes it back
        // on that row: the item's row gets the price before the promotion, so SAP rounds the
        // tax of each as Amazon did.
        let promo_row = (!gross && !l.promotion.is_zero())
            .then_some(input.config.orders.promotion_item.as_deref())
            .flatten()
            .and_then(|p| {
                invoice
                    .rows
                    .iter()
                    .find(|r| r.line_num == row.line_num + 1 && r.item_code == p)
            });
        let value = if gross { credit } else { credit - tax }
            + promo_row.map_or(Decimal::ZERO, |_| l.promotion);
        let open = row.open_quantity - open_taken(&taken, row.line_num);
        let unit = if gross {
            row.gross_price
        } else {
            row.net_price
        };
        // The units given back: the refund over the row's unit price, at least one; a refund of
        // part of a unit's price (a goodwill refund) credits one unit at that amount.
        let units = if unit > Decimal::ZERO {
            (value / unit).round().max(Decimal::ONE)
        } else {
            Decimal::ONE
        };
        let mut line = DocumentLine {
            item_code: Some(item_code.to_owned()),
            quantity: Some(units.min(open.max(Decimal::ONE))),
            free_text: Some(format!("Amazon refund, SKU {}", l.sku)),
            without_inventory_movement: Some(if input.config.settlements.restock_refunds {
                YesNo::No
            } else {
                YesNo::Yes
            }),
            ..DocumentLine::default()
        };
        if open >= Decimal::ONE {
            // Based on the invoice row while it has quantity left to credit.
            line.base_type = Some(13);
            line.base_entry = Some(invoice.doc_entry);
            line.base_line = Some(row.line_num);
            taken.push((row.line_num, line.quantity.unwrap_or(Decimal::ONE)));
        } else {
            (line.vat_group, line.tax_code) = row.tax.clone();
        }
        let quantity = line.quantity.unwrap_or(Decimal::ONE);
        if gross {
            line.price_after_vat = Some(unit_price(credit, quantity));
        } else {
            line.unit_price = Some(unit_price(value, quantity));
            line.line_total = Some(value);
        }
        lines.push(line);
        if let Some(p) = promo_row {
            let minus_one = -Decimal::ONE;
            lines.push(DocumentLine {
                item_code: Some(p.item_code.clone()),
                quantity: Some(minus_one),
                unit_price: Some(unit_price(-l.promotion, minus_one)),
                line_total: Some(-l.promotion),
                base_type: Some(13),
                base_entry: Some(invoice.doc_entry),
                base_line: Some(p.line_num),
                free_text: Some(format!("Amazon refund, promotion, SKU {}", l.sku)),
                without_inventory_movement: Some(YesNo::Yes),
                ..DocumentLine::default()
            });
            taken.push((p.line_num, minus_one));
        }
    }
    let expenses = match shipping_part(input, refund, invoice, (shipping, shipping_tax), &taken)? {
        Some(Freight::Line(line)) => {
            lines.push(*line);
            None
        }
        Some(Freight::Expense(x)) => Some(vec![x]),
        None => None,
    };
    if lines.is_empty() && expenses.is_none() {
        return Err(format!(
            "order {}: its refund in settlement {} has no amount per SKU to credit",
            refund.order_id, input.settlement_id
        ));
    }
    let mut doc = Document {
        card_code: Some(invoice.card_code.clone()),
        num_at_card: Some(refund.order_id.clone()),
        doc_date: Some(refund.date.into()),
        doc_due_date: Some(refund.date.into()),
        tax_date: Some(refund.date.into()),
        doc_currency: Some(input.currency.to_owned()),
        comments: Some(format!(
            "Amazon refund of order {} (invoice {doc_num}) in settlement {} - ml-connector {}",
            refund.order_id, input.settlement_id, input.key
        )),
        document_lines: Some(lines),
        document_additional_expenses: expenses,
        ..Document::default()
    };
    if let Some(udf) = &input.config.sap.key_udf {
        doc.extra
            .insert(udf.clone(), Value::String(input.key.to_owned()));
    }
    Ok(doc)
}

/// Where a refund's shipping goes on the credit note.
enum Freight {
    /// The invoice's shipping item line (`orders.shipping = "item-line"`).
    Line(Box<DocumentLine>),
    /// The invoice's freight (`orders.shipping = "expense"`).
    Expense(DocumentAdditionalExpense),
}

/// The shipping Amazon gave back, where the invoice carried it (as `flows/orders/plan.rs` puts
/// shipping on the invoice: net, with the tax code of that row, SAP adding the tax): a line based
/// on the invoice's shipping row, or a freight row with the invoice's expense code and tax code.
fn shipping_part(
    input: &CreditNoteInput<'_>,
    refund: &Refund,
    invoice: &BaseInvoice,
    (shipping, shipping_tax): (Decimal, Decimal),
    taken: &[(i32, Decimal)],
) -> Result<Option<Freight>, String> {
    if shipping.is_zero() {
        return Ok(None);
    }
    let doc_num = invoice.doc_num.unwrap_or(invoice.doc_entry);
    if shipping.is_sign_positive() {
        return Err(format!(
            "order {}: the shipping refunded is positive ({shipping}) in settlement {}: a credit note cannot carry it; post it by hand",
            refund.order_id, input.settlement_id
        ));
    }
    // The invoice carried shipping net of its tax (SAP adds the tax by the row's code), or gross
    // on an item line where prices include VAT.
    let net = -(shipping - shipping_tax);
    match &input.config.orders.shipping {
        Shipping::ItemLine(code) => {
            let Some(row) = invoice.rows.iter().find(|r| &r.item_code == code) else {
                return Err(format!(
                    "order {}: its refund gives back shipping ({}) but invoice {doc_num} has no shipping line (item {code})",
                    refund.order_id, -shipping
                ));
            };
            // Gross where the invoice's shipping line was (the seller charges the VAT inside the
            // price): what Amazon gave back to the cent, SAP deriving the net.
            let gross =
                (input.mapping.prices_include_tax && !shipping_tax.is_zero()).then_some(-shipping);
            let mut line = DocumentLine {
                item_code: Some(code.clone()),
                quantity: Some(Decimal::ONE),
                unit_price: gross.is_none().then_some(net),
                line_total: gross.is_none().then_some(net),
                price_after_vat: gross,
                free_text: Some("Amazon refund, shipping".into()),
                without_inventory_movement: Some(YesNo::Yes),
                ..DocumentLine::default()
            };
            if row.open_quantity - open_taken(taken, row.line_num) >= Decimal::ONE {
                line.base_type = Some(13);
                line.base_entry = Some(invoice.doc_entry);
                line.base_line = Some(row.line_num);
            } else {
                (line.vat_group, line.tax_code) = row.tax.clone();
            }
            Ok(Some(Freight::Line(Box::new(line))))
        }
        Shipping::Expense(code) => {
            let Some(x) = invoice.expenses.iter().find(|x| x.expense_code == *code) else {
                return Err(format!(
                    "order {}: its refund gives back shipping ({}) but invoice {doc_num} has no freight with expense code {code}",
                    refund.order_id, -shipping
                ));
            };
            Ok(Some(Freight::Expense(DocumentAdditionalExpense {
                expense_code: Some(*code),
                line_total: Some(net),
                vat_group: x.tax.0.clone(),
                tax_code: x.tax.1.clone(),
                remarks: Some("Amazon refund, shipping".into()),
                ..DocumentAdditionalExpense::default()
            })))
        }
    }
}

fn open_taken(taken: &[(i32, Decimal)], line: i32) -> Decimal {
    taken
        .iter()
        .filter(|(l, _)| *l == line)
        .map(|(_, q)| *q)
        .sum()
}

/// A credit note as the payment planner sees it: posted (its DocEntry) or, in a dry run, as it
/// would be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditInfo {
    /// DocEntry (`None`: not posted yet, a dry run).
    pub doc_entry: Option<i32>,
    /// DocNum, for people.
    pub doc_num: Option<i32>,
    /// Its total (in the settlement's currency).
    pub total: Decimal,
    /// What is still open on it after SAP applied it to its base invoice.
    pub open: Decimal,
}

/// What SAP does when a credit note based on an open invoice is added: it is applied to the
/// invoice up to what the invoice still owes; the rest stays open on the credit note. Used to
/// plan a dry run before anything is posted.
pub fn simulate_credit(invoice_open: &mut Decimal, total: Decimal) -> CreditInfo {
    let applied = total.min((*invoice_open).max(Decimal::ZERO));
    *invoice_open -= applied;
    CreditInfo {
        doc_entry: None,
        doc_num: None,
        total,
        open: total - applied,
    }
}

#[cfg(test)]
mod tests;
