//! `[orders]`: how Amazon orders become SAP A/R invoices.

use std::time::Duration;

use serde::Deserialize;

use super::{Invalid, duration};

/// When an order becomes an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvoiceWhen {
    /// Once Amazon reports it shipped (default).
    Shipped,
    /// As soon as it is unshipped or later (not pending, not cancelled).
    Accepted,
}

/// How shipping charges are invoiced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shipping {
    /// As an item line with this ItemCode.
    ItemLine(String),
    /// As a document additional expense with this ExpenseCode.
    Expense(i32),
}

/// Which document-line field carries the tax code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaxField {
    /// `VatGroup` (VAT localisations: EU, UK).
    VatGroup,
    /// `TaxCode` (US / Canada sales-tax localisations).
    TaxCode,
}

/// Orders -> invoices.
#[derive(Debug, Clone)]
pub struct OrdersConfig {
    /// Invoice when shipped (default) or accepted.
    pub invoice_when: InvoiceWhen,
    /// First run: how far back to look.
    pub lookback: Duration,
    /// Each run re-reads this much before the cursor (orders change after creation).
    pub overlap: Duration,
    /// Shipping treatment.
    pub shipping: Shipping,
    /// Where prices are net of tax: the item (a sales item without stock) of a line that carries
    /// an item's promotion on its own, so SAP taxes the price and the discount apart, rounded as
    /// Amazon does (`None`: the discount is taken off the item's line).
    pub promotion_item: Option<String>,
    /// Warehouse for invoice lines (both channels unless one has its own below).
    pub warehouse: Option<String>,
    /// Warehouse of the item lines of Amazon-fulfilled (FBA, AFN) orders: the units leave
    /// Amazon's warehouses, so their stock and cost are relieved there.
    pub fba_warehouse: Option<String>,
    /// Warehouse of the item lines of merchant-fulfilled (MFN) orders.
    pub merchant_warehouse: Option<String>,
    /// Which line field carries the marketplace's tax code.
    pub tax_field: TaxField,
    /// A `sync orders --since` window longer than this is read from the all-orders report
    /// instead of `searchOrders` pages.
    pub report_backfill_after: Duration,
    /// A backfill also reads the lines of orders a report lacks line data for (promotions) with
    /// the deprecated v0 `getOrderItems`, whose bucket is apart from `getOrder`'s (default off:
    /// Amazon retires v0 after 2027-03-27).
    pub backfill_order_items_v0: bool,
    /// Cut-over: orders created before this day (UTC) are never invoiced (the earlier bookkeeping
    /// has them; their receipts go to `settlements.opening_receivable`).
    pub invoiced_from: Option<chrono::NaiveDate>,
}

impl OrdersConfig {
    /// The warehouse of an order's item lines: its channel's (`fulfilledBy` `AMAZON` or
    /// `MERCHANT`), else `warehouse`.
    pub fn warehouse_for(&self, amazon_fulfilled: Option<bool>) -> Option<&str> {
        let channel = match amazon_fulfilled {
            Some(true) => self.fba_warehouse.as_deref(),
            Some(false) => self.merchant_warehouse.as_deref(),
            None => None,
        };
        channel.or(self.warehouse.as_deref())
    }

    /// Every warehouse the orders flow names (to check they exist in SAP), with its key.
    pub fn warehouses(&self) -> Vec<(&'static str, &str)> {
        [
            ("orders.warehouse", &self.warehouse),
            ("orders.fba_warehouse", &self.fba_warehouse),
            ("orders.merchant_warehouse", &self.merchant_warehouse),
        ]
        .into_iter()
        .filter_map(|(k, w)| Some((k, w.as_deref()?)))
        .collect()
    }
}

/// `[orders]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrders {
    invoice_when: Option<InvoiceWhen>,
    lookback: Option<String>,
    overlap: Option<String>,
    shipping: Option<String>,
    shipping_item: Option<String>,
    shipping_expense_code: Option<i32>,
    promotion_item: Option<String>,
    warehouse: Option<String>,
    fba_warehouse: Option<String>,
    merchant_warehouse: Option<String>,
    tax_field: Option<TaxField>,
    report_backfill_after: Option<String>,
    backfill_order_items_v0: Option<bool>,
    invoiced_from: Option<toml::Value>,
}

impl RawOrders {
    /// Validates the section.
    pub(super) fn validate(self) -> Result<OrdersConfig, Invalid> {
        let shipping = match self.shipping.as_deref().unwrap_or("item-line") {
            "item-line" => {
                Shipping::ItemLine(self.shipping_item.unwrap_or_else(|| "SHIPPING".to_owned()))
            }
            "expense" => Shipping::Expense(self.shipping_expense_code.ok_or_else(|| {
                Invalid::new(
                    "orders.shipping_expense_code",
                    "required when orders.shipping = \"expense\"",
                )
            })?),
            other => {
                return Err(Invalid::new(
                    "orders.shipping",
                    format!("`{other}` is not `item-line` or `expense`"),
                ));
            }
        };
        Ok(OrdersConfig {
            invoice_when: self.invoice_when.unwrap_or(InvoiceWhen::Shipped),
            lookback: duration("orders.lookback", self.lookback.as_deref(), "7d")?,
            overlap: duration("orders.overlap", self.overlap.as_deref(), "10m")?,
            shipping,
            promotion_item: self.promotion_item.filter(|c| !c.trim().is_empty()),
            warehouse: self.warehouse,
            fba_warehouse: self.fba_warehouse,
            merchant_warehouse: self.merchant_warehouse,
            tax_field: self.tax_field.unwrap_or(TaxField::VatGroup),
            report_backfill_after: duration(
                "orders.report_backfill_after",
                self.report_backfill_after.as_deref(),
                "14d",
            )?,
            backfill_order_items_v0: self.backfill_order_items_v0.unwrap_or(false),
            invoiced_from: self.invoiced_from.as_ref().map(invoiced_from).transpose()?,
        })
    }
}

/// `orders.invoiced_from`: a date `YYYY-MM-DD` (quoted or a TOML date).
fn invoiced_from(v: &toml::Value) -> Result<chrono::NaiveDate, Invalid> {
    let text = match v {
        toml::Value::String(s) => s.trim().to_owned(),
        toml::Value::Datetime(d) => d.to_string(),
        other => other.to_string(),
    };
    chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| {
        Invalid::new(
            "orders.invoiced_from",
            format!("`{text}` is not a date YYYY-MM-DD ({e})"),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{TEMPLATE, parse_at};
    use super::Shipping;

    #[test]
    fn shipping_is_an_item_line_or_an_expense_with_its_code() {
        let c = parse_at(TEMPLATE).unwrap();
        assert_eq!(c.orders.shipping, Shipping::ItemLine("SHIPPING".into()));
        assert_eq!(c.orders.lookback, Duration::from_secs(7 * 86_400));
        assert_eq!(
            c.orders.report_backfill_after,
            Duration::from_secs(14 * 86_400)
        );
        let bad = TEMPLATE.replace("shipping = \"item-line\"", "shipping = \"expense\"");
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("orders.shipping_expense_code")
        );
        assert_eq!(c.orders.warehouse_for(Some(true)), None);
        let per_channel = TEMPLATE.replace(
            "# warehouse = \"01\"",
            "warehouse = \"01\"\nfba_warehouse = \"AMZ\"",
        );
        let c = parse_at(&per_channel).unwrap();
        assert_eq!(c.orders.warehouse_for(Some(true)), Some("AMZ"));
        assert_eq!(c.orders.warehouse_for(Some(false)), Some("01"));
        assert_eq!(c.orders.warehouse_for(None), Some("01"));
        let expense = bad.replace("# shipping_expense_code = 1", "shipping_expense_code = 1");
        assert_eq!(
            parse_at(&expense).unwrap().orders.shipping,
            Shipping::Expense(1)
        );
    }

    #[test]
    fn invoiced_from_is_a_date() {
        assert_eq!(parse_at(TEMPLATE).unwrap().orders.invoiced_from, None);
        let with = |v: &str| {
            TEMPLATE
                .replace("[orders]\n", &format!("[orders]\ninvoiced_from = {v}\n"))
                .replace(
                    "[settlements]\n",
                    "[settlements]\nopening_receivable = \"1499\"\n",
                )
        };
        let day = chrono::NaiveDate::from_ymd_opt(2026, 7, 1);
        assert_eq!(
            parse_at(&with("\"2026-07-01\""))
                .unwrap()
                .orders
                .invoiced_from,
            day
        );
        assert_eq!(
            parse_at(&with("2026-07-01")).unwrap().orders.invoiced_from,
            day
        );
        let e = parse_at(&with("\"July\"")).unwrap_err().to_string();
        assert!(
            e.contains("key `orders.invoiced_from`") && e.contains("YYYY-MM-DD"),
            "{e}"
        );
        // The receipts of the orders before it need somewhere to go.
        let alone = TEMPLATE.replace("[orders]\n", "[orders]\ninvoiced_from = \"2026-07-01\"\n");
        let e = parse_at(&alone).unwrap_err().to_string();
        assert!(e.contains("key `settlements.opening_receivable`"), "{e}");
    }
}
