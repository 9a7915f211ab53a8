//! Pure: the summarised orders of a settlement -> per settlement part (posting date) and
//! marketplace, summary A/R invoices with a line per (SKU, tax code) and a summary credit note for
//! the refunds, whose totals are what Amazon paid and gave back: no I/O.
//!
//! Amounts come from the settlement's rows, the tax code of each order item from the same rule as
//! per-order mode ([`crate::config::MarketplaceMapping::tax_code_for`] on the item's net and the
//! tax Amazon charged on it). An item line whose tax is in what Amazon paid goes gross
//! (`PriceAfterVAT`, SAP derives net and tax), so its total is Amazon's to the cent whatever the
//! number of orders summed into it; freight goes net with SAP's tax added (see
//! [`super::freight`]). One invoice holds one freight row per expense code (SDK
//! `DocumentsAdditionalExpenses`: "For each type of additional expense you can add one row that
//! summarizes all expenses of that type"), so orders are grouped by their freight's tax code: one
//! invoice per code, however many orders.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use sap_b1_client::entities::{Document, YesNo};
use settlement_mapper::SettlementRow;
use settlement_mapper::postings::SettlementPostings;

use crate::config::{Config, MarketplaceMapping};
use crate::flows::orders::{Freight, LineSpec, build_invoice};

/// A marketplace as the summary needs it: its id and mapping, by the name settlement files use.
#[derive(Debug, Clone)]
pub struct SummaryMarketplace {
    /// Amazon marketplace id.
    pub id: String,
    /// Customer and tax codes.
    pub mapping: MarketplaceMapping,
}

/// What the summary planner needs.
pub struct SummaryInput<'a> {
    /// Configuration (SKU map, tax field, warehouse, shipping, key UDF, restock).
    pub config: &'a Config,
    /// Amazon seller id (ledger keys).
    pub seller: &'a str,
    /// The mapped settlement (receipts and refunds per order and date).
    pub postings: &'a SettlementPostings,
    /// The settlement file's rows.
    pub rows: &'a [SettlementRow],
    /// The orders summarised in this settlement.
    pub summarised: &'a BTreeSet<String>,
    /// Marketplaces by lower-case name (`amazon.co.uk`).
    pub marketplaces: &'a BTreeMap<String, SummaryMarketplace>,
    /// Whether the mapping splits by posted month (else everything posts on the deposit date).
    pub posted_month: bool,
}

/// A summary document to post, with its ledger key.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryDoc {
    /// Ledger key.
    pub key: String,
    /// The SAP body (currency still Amazon's ISO code: localised by the caller).
    pub doc: Document,
    /// What it must total (tax included): what Amazon paid (invoice) or gave back (credit note).
    pub expected: Decimal,
}

/// The summary documents of one marketplace in one settlement part.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryGroup {
    /// SAP customer.
    pub customer: String,
    /// Posting date (the part).
    pub date: NaiveDate,
    /// Marketplace name.
    pub marketplace: String,
    /// Invoices, one per freight tax code.
    pub invoices: Vec<SummaryDoc>,
    /// The credit note of the refunds, when there are any.
    pub credit_note: Option<SummaryDoc>,
    /// What Amazon paid for the orders (receipts).
    pub receipts: Decimal,
    /// What Amazon gave back (refunds, negative).
    pub refunds: Decimal,
    /// Orders summed (sales and refunds).
    pub orders: usize,
    /// Units sold per SKU, as the settlement says.
    pub quantities: BTreeMap<String, Decimal>,
}

/// One order item's amounts in one part.
#[derive(Debug, Default)]
struct ItemAcc {
    sku: String,
    net: Decimal,
    tax: Decimal,
    quantity: Decimal,
}

/// One order's sale in one part.
#[derive(Debug, Default)]
struct OrderAcc {
    marketplace: String,
    items: BTreeMap<String, ItemAcc>,
    freight_net: Decimal,
    freight_tax: Decimal,
    facilitated: bool,
}

/// A summary line being summed: (quantity, net, tax in what Amazon paid).
type LineAcc = (Decimal, Decimal, Decimal);

/// Builds the summary documents, or says what holds them.
pub fn plan_summary(input: &SummaryInput<'_>) -> Result<Vec<SummaryGroup>, Vec<String>> {
    let p = input.postings;
    let deposit_day = p.deposit_date.date_naive();
    let mut held = Vec::new();
    let date_of = |row: &SettlementRow| {
        if input.posted_month {
            period_date(row.posted_date.unwrap_or(deposit_day), deposit_day)
        } else {
            deposit_day
        }
    };
    // Orders whose facilitator tax Amazon withholds: their tax rows are not in the receipt
    // (the default mapping's `when_facilitated`, per transaction type).
    let facilitated: BTreeSet<&str> = input
        .rows
        .iter()
        .filter(|r| {
            r.transaction_type == "Order"
                && r.amount_description.starts_with("MarketplaceFacilitator")
        })
        .map(|r| r.order_id.as_str())
        .collect();
    let mut sales: BTreeMap<(NaiveDate, &str), OrderAcc> = BTreeMap::new();
    for r in input
        .rows
        .iter()
        .filter(|r| r.transaction_type == "Order" && input.summarised.contains(&r.order_id))
    {
        let o = sales.entry((date_of(r), r.order_id.as_str())).or_default();
        if o.marketplace.is_empty() {
            o.marketplace = r.marketplace_name.to_ascii_lowercase();
        }
        o.facilitated = facilitated.contains(r.order_id.as_str());
        let tax_row =
            r.amount_description.ends_with("Tax") || r.amount_description == "TaxDiscount";
        match (r.amount_type.as_str(), r.amount_description.as_str()) {
            ("ItemPrice" | "Promotion", "Principal") => item(o, r).net += r.amount,
            ("ItemPrice", "Tax") | ("Promotion", "TaxDiscount") => item(o, r).tax += r.amount,
            ("ItemPrice" | "Promotion", _) if tax_row => o.freight_tax += r.amount,
            // Shipping, gift wrap and other charges (and their promotions) go with the freight.
            ("ItemPrice" | "Promotion", _) => o.freight_net += r.amount,
            _ => {
                // Quantities also come on fee rows of the item.
                item(o, r);
            }
        }
    }
    // Check each order against the mapper's receipt: what the invoice will say is what Amazon
    // paid for it.
    let mut paid: BTreeMap<(NaiveDate, &str), Decimal> = BTreeMap::new();
    for r in p
        .receipts
        .iter()
        .filter(|r| input.summarised.contains(&r.order_id))
    {
        *paid.entry((r.date, r.order_id.as_str())).or_default() += r.amount;
    }
    for (key, o) in &sales {
        let mine = in_receipt(o);
        let theirs = paid.get(key).copied().unwrap_or_default();
        if mine != theirs {
            held.push(format!(
                "order {} on {}: its rows give {mine} for the summary invoice but Amazon paid {theirs} (a row the mapping routes elsewhere?); summary mode cannot post it",
                key.1, key.0
            ));
        }
    }
    for (key, amount) in &paid {
        if !sales.contains_key(key) && !amount.is_zero() {
            held.push(format!(
                "order {} on {}: Amazon paid {amount} but the settlement has no sale rows of it",
                key.1, key.0
            ));
        }
    }
    // Groups by (date, marketplace).
    let mut groups: BTreeMap<(NaiveDate, String), Group> = BTreeMap::new();
    for ((date, _), o) in &sales {
        let Some(m) = input.marketplaces.get(&o.marketplace) else {
            held.push(format!(
                "marketplace {} has no customer in [marketplaces]",
                o.marketplace
            ));
            continue;
        };
        let g = groups.entry((*date, o.marketplace.clone())).or_default();
        g.order_count += 1;
        let mapping = &m.mapping;
        let freight_code = (!o.freight_tax.is_zero())
            .then(|| mapping.tax_code_for(o.freight_net, o.freight_tax))
            .flatten()
            .or(mapping.tax_code.as_deref())
            .map(str::to_owned);
        let has_freight = !(o.freight_net.is_zero() && o.freight_tax.is_zero());
        let part = g.parts.entry(freight_code.clone()).or_default();
        if has_freight {
            part.freight.1 += o.freight_net;
            if !o.facilitated {
                part.freight.2 += o.freight_tax;
            }
            part.has_freight = true;
        }
        for it in o.items.values() {
            let code = mapping
                .tax_code_for(it.net, it.tax)
                .map(str::to_owned)
                .unwrap_or_default();
            let tax = if o.facilitated { Decimal::ZERO } else { it.tax };
            let line = part
                .lines
                .entry((it.sku.clone(), code, !tax.is_zero()))
                .or_default();
            line.0 += it.quantity;
            line.1 += it.net;
            line.2 += tax;
            *g.quantities.entry(it.sku.clone()).or_default() += it.quantity;
        }
    }
    for r in p
        .refunds
        .iter()
        .filter(|r| input.summarised.contains(&r.order_id))
    {
        let name = r.marketplace.to_ascii_lowercase();
        let Some(m) = input.marketplaces.get(&name) else {
            held.push(format!(
                "marketplace {name} has no customer in [marketplaces]"
            ));
            continue;
        };
        let g = groups.entry((r.date, name)).or_default();
        g.order_count += usize::from(!sales.contains_key(&(r.date, r.order_id.as_str())));
        g.refunds += r.amount;
        for l in r.lines.iter().filter(|l| !l.amount.is_zero()) {
            // What was given back, by the item's code: net is the refund less its tax.
            let net = -(l.amount - l.tax);
            let tax = -l.tax;
            let code = m
                .mapping
                .tax_code_for(net, tax)
                .map(str::to_owned)
                .unwrap_or_default();
            let line = g
                .credit
                .entry((l.sku.clone(), code, !tax.is_zero()))
                .or_default();
            line.0 += Decimal::ONE;
            line.1 += net;
            line.2 += tax;
        }
    }
    if !held.is_empty() {
        held.sort();
        held.dedup();
        return Err(held);
    }
    let mut out = Vec::new();
    for ((date, name), g) in groups {
        let m = &input.marketplaces[&name];
        let receipts: Decimal = paid
            .iter()
            .filter(|((d, order), _)| {
                *d == date
                    && sales
                        .get(&(*d, *order))
                        .is_some_and(|o| o.marketplace == name)
            })
            .map(|(_, a)| *a)
            .sum();
        let doc_input = DocInput {
            input,
            mapping: &m.mapping,
            date,
            orders: g.order_count,
        };
        let mut invoices = Vec::new();
        // Orders without freight join the first freight code's invoice.
        let mut parts: Vec<(Option<String>, Part)> = g.parts.into_iter().collect();
        parts.sort_by_key(|(_, part)| !part.has_freight);
        let mut merged: Vec<(Option<String>, Part)> = Vec::new();
        for (code, part) in parts {
            match merged.first_mut() {
                Some((_, first)) if !part.has_freight => {
                    for (k, v) in part.lines {
                        let l = first.lines.entry(k).or_default();
                        l.0 += v.0;
                        l.1 += v.1;
                        l.2 += v.2;
                    }
                }
                _ => merged.push((code, part)),
            }
        }
        for (n, (code, part)) in merged.into_iter().enumerate() {
            invoices.push(doc_input.invoice(n + 1, code, part));
        }
        let credit_note = (!g.credit.is_empty()).then(|| doc_input.credit_note(g.credit));
        out.push(SummaryGroup {
            customer: m.mapping.customer.clone(),
            date,
            marketplace: name,
            invoices,
            credit_note,
            receipts,
            refunds: g.refunds,
            orders: g.order_count,
            quantities: g.quantities,
        });
    }
    Ok(out)
}

/// The order item a row belongs to (by SKU), with the quantity the row carries.
fn item<'a>(o: &'a mut OrderAcc, r: &SettlementRow) -> &'a mut ItemAcc {
    let it = o.items.entry(r.sku.clone()).or_default();
    it.sku.clone_from(&r.sku);
    if let Some(q) = r.quantity_purchased {
        // Amazon repeats the quantity on every row of the item: take it, do not sum it.
        it.quantity = it.quantity.max(Decimal::from(q));
    }
    it
}

/// What an order's rows put on the summary invoice: net items and freight, plus their tax where
/// the seller collects it.
fn in_receipt(o: &OrderAcc) -> Decimal {
    let items: Decimal = o
        .items
        .values()
        .map(|i| i.net + if o.facilitated { Decimal::ZERO } else { i.tax })
        .sum();
    items
        + o.freight_net
        + if o.facilitated {
            Decimal::ZERO
        } else {
            o.freight_tax
        }
}

/// Lines of one invoice: one freight code's orders.
#[derive(Debug, Default)]
struct Part {
    /// (SKU, tax code, gross) -> (quantity, net, tax).
    lines: BTreeMap<(String, String, bool), LineAcc>,
    /// (unused, net, tax) of the freight.
    freight: LineAcc,
    has_freight: bool,
}

#[derive(Debug, Default)]
struct Group {
    order_count: usize,
    parts: BTreeMap<Option<String>, Part>,
    credit: BTreeMap<(String, String, bool), LineAcc>,
    refunds: Decimal,
    quantities: BTreeMap<String, Decimal>,
}

struct DocInput<'a> {
    input: &'a SummaryInput<'a>,
    mapping: &'a MarketplaceMapping,
    date: NaiveDate,
    orders: usize,
}

impl DocInput<'_> {
    fn reference(&self, what: &str) -> String {
        format!(
            "MLCS{}-{}-{}-{what}",
            self.input.postings.settlement_id,
            self.date.format("%Y%m%d"),
            self.mapping.customer
        )
    }

    fn key(&self, what: &str) -> String {
        format!(
            "amz:{}:settlement:{}:summary:{}:{}:{what}",
            self.input.seller, self.input.postings.settlement_id, self.date, self.mapping.customer
        )
    }

    fn specs(&self, lines: BTreeMap<(String, String, bool), LineAcc>) -> (Vec<LineSpec>, Decimal) {
        let mut total = Decimal::ZERO;
        let specs = lines
            .into_iter()
            .filter(|(_, (_, net, tax))| !(net + tax).is_zero())
            .map(|((sku, code, gross), (quantity, net, tax))| {
                total += net + tax;
                LineSpec {
                    item_code: self.input.config.item_code(&sku).to_owned(),
                    quantity: if quantity.is_zero() {
                        Decimal::ONE
                    } else {
                        quantity
                    },
                    net,
                    tax_code: (!code.is_empty()).then_some(code),
                    gross: gross.then_some(net + tax),
                    sku,
                }
            })
            .collect();
        (specs, total)
    }

    fn invoice(&self, n: usize, freight_code: Option<String>, part: Part) -> SummaryDoc {
        let what = format!("invoice:{n}");
        let key = self.key(&what);
        let (specs, items) = self.specs(part.lines);
        let comments = format!(
            "Amazon settlement {} summary, {} ({} order(s)) - ml-connector {key}",
            self.input.postings.settlement_id, self.date, self.orders
        );
        let (_, freight_net, freight_tax) = part.freight;
        let freight = Freight {
            net: freight_net,
            tax_code: freight_code,
            gross: (self.mapping.prices_include_tax && !freight_tax.is_zero())
                .then_some(freight_net + freight_tax),
        };
        let doc = build_invoice(
            self.input.config,
            self.mapping,
            &key,
            &self.reference(&format!("I{n}")),
            self.date,
            Some(self.input.postings.currency.clone()),
            specs,
            freight,
            comments,
        );
        SummaryDoc {
            key,
            doc,
            expected: items + freight_net + freight_tax,
        }
    }

    fn credit_note(&self, lines: BTreeMap<(String, String, bool), LineAcc>) -> SummaryDoc {
        let key = self.key("credit_note");
        let (specs, total) = self.specs(lines);
        let comments = format!(
            "Amazon settlement {} refunds summary, {} - ml-connector {key}",
            self.input.postings.settlement_id, self.date
        );
        let mut doc = build_invoice(
            self.input.config,
            self.mapping,
            &key,
            &self.reference("R"),
            self.date,
            Some(self.input.postings.currency.clone()),
            specs,
            Freight::default(),
            comments,
        );
        let restock = self.input.config.settlements.restock_refunds;
        for l in doc.document_lines.iter_mut().flatten() {
            l.without_inventory_movement = Some(if restock { YesNo::No } else { YesNo::Yes });
            l.free_text = l
                .free_text
                .take()
                .map(|t| t.replace("Amazon SKU", "Amazon refund, SKU"));
        }
        SummaryDoc {
            key,
            doc,
            expected: total,
        }
    }
}

/// The posting date of a row posted on `day`: the deposit date, or the last day of an earlier
/// month (the mapper's rule with `posting_date = "posted-month"`).
fn period_date(day: NaiveDate, deposit_day: NaiveDate) -> NaiveDate {
    if (day.year(), day.month()) < (deposit_day.year(), deposit_day.month()) {
        let (ny, nm) = if day.month() == 12 {
            (day.year() + 1, 1)
        } else {
            (day.year(), day.month() + 1)
        };
        NaiveDate::from_ymd_opt(ny, nm, 1)
            .and_then(|d| d.pred_opt())
            .unwrap_or(deposit_day)
    } else {
        deposit_day
    }
}

#[cfg(test)]
mod tests;
