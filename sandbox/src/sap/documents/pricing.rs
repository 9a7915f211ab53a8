//! What SAP makes of a document row's price fields: price, discount, net and tax in the document
//! currency (FC) and in local currency (LC).
//!
//! KBA 3697554 ("When creating marketing documents using DI API or Service Layer"): "The values
//! set in the payload are replaced by auto calculated values in the final document"; with a
//! price-list price P > 0 and a row total, SAP derives `DiscountPercent = 1 − LineTotal/(P·Qty)`
//! and refuses 100 % or more with "(5002) 10001058 Enter a discount percentage of less than 100"
//! (review sap-fidelity F6).

use rust_decimal::Decimal;
use serde_json::Value;

use super::super::accounts::round2;
use super::super::company::DocMoney;
use super::super::store::Entity;
use super::super::validation::decimal;
use super::super::wire::SapError;

/// A priced document row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    /// Price before discount, document currency (`UnitPrice`).
    pub unit: Decimal,
    /// Discount in percent (`DiscountPercent`).
    pub discount: Decimal,
    /// Price after discount, document currency (`Price`).
    pub price: Decimal,
    /// Gross unit price (`PriceAfterVAT`).
    pub price_after_vat: Decimal,
    /// Row net in the document currency.
    pub net_doc: Decimal,
    /// Row tax in the document currency.
    pub tax_doc: Decimal,
    /// Row net in local currency (`LineTotal`).
    pub net_lc: Decimal,
    /// Row tax in local currency (`TaxTotal`).
    pub tax_lc: Decimal,
}

fn has(l: &Entity, k: &str) -> bool {
    l.get(k).is_some_and(|v| !v.is_null())
}

fn pct(rate: Decimal) -> Decimal {
    rate / Decimal::ONE_HUNDRED
}

/// Rounds a unit price to 6 decimals (SAP's price accuracy maximum).
// INVENTED: SAP rounds prices to the company's PriceAccuracy; the sandbox uses 6 for every company.
fn round_price(d: Decimal) -> Decimal {
    d.round_dp(6)
}

/// Prices one row. `list_price` is the BP price list's price (document currency), `tax_rate` the
/// row's tax rate in percent, `money` `None` for a company without settings (the pre-settings
/// behaviour: `LineTotal` kept as sent, price from the list, no discount derived).
pub fn price_row(
    l: &Entity,
    qty: Decimal,
    list_price: Decimal,
    tax_rate: Decimal,
    money: Option<&DocMoney>,
    table: &str,
    line_no: usize,
) -> Result<Priced, SapError> {
    let t = pct(tax_rate);
    let sent_unit = if has(l, "UnitPrice") {
        Some(decimal(l.get("UnitPrice")))
    } else if has(l, "Price") {
        Some(decimal(l.get("Price")))
    } else {
        None
    };
    let Some(money) = money else {
        let unit = sent_unit.unwrap_or(list_price);
        let discount = decimal(l.get("DiscountPercent"));
        let price = round2(unit * (Decimal::ONE - pct(discount)));
        let net = if has(l, "LineTotal") {
            decimal(l.get("LineTotal"))
        } else {
            round2(price * qty)
        };
        let tax = round2(net * t);
        return Ok(Priced {
            unit,
            discount,
            price,
            price_after_vat: round2(price * (Decimal::ONE + t)),
            net_doc: net,
            tax_doc: tax,
            net_lc: net,
            tax_lc: tax,
        });
    };
    let to_lc = |d: Decimal| {
        if money.is_local() {
            d
        } else {
            round2(d * money.rate)
        }
    };
    let sent_total_lc = has(l, "LineTotal").then(|| decimal(l.get("LineTotal")));
    let sent_total_fc =
        (!money.is_local() && has(l, "RowTotalFC")).then(|| decimal(l.get("RowTotalFC")));
    if has(l, "PriceAfterVAT") && sent_unit.is_none() && sent_total_lc.is_none() {
        // SAP keeps the gross and derives the net (PriceAfterVAT = gross unit price, notes
        // sap-b1.md "Invoices / CreditNotes").
        // INVENTED: the rounding order (gross row first, tax extracted from it).
        let gross = round2(decimal(l.get("PriceAfterVAT")) * qty);
        let tax = round2(gross * tax_rate / (Decimal::ONE_HUNDRED + tax_rate));
        let net = gross - tax;
        let price = round_price(net / qty);
        return Ok(Priced {
            unit: price,
            discount: Decimal::ZERO,
            price,
            price_after_vat: decimal(l.get("PriceAfterVAT")),
            net_doc: net,
            tax_doc: tax,
            net_lc: to_lc(net),
            tax_lc: to_lc(tax),
        });
    }
    let from_total = match (sent_total_fc, sent_total_lc) {
        (Some(fc), _) => Some(fc),
        // LineTotal is local currency (SDK table INV1 "LineTotal | Net LC", review F1).
        (None, Some(lc)) if money.is_local() => Some(lc),
        (None, Some(lc)) => Some(round2(lc / money.rate)),
        (None, None) => None,
    };
    let (unit, discount, price, net) = match from_total {
        Some(net) => {
            let reference = sent_unit.unwrap_or(list_price);
            if reference > Decimal::ZERO {
                let discount =
                    ((Decimal::ONE - net / (reference * qty)) * Decimal::ONE_HUNDRED).round_dp(6);
                if discount >= Decimal::ONE_HUNDRED {
                    return Err(SapError::new(
                        400,
                        "-5002",
                        format!(
                            "10001058 - Enter a discount percentage of less than 100 [{table}.DiscPrcnt][line: {line_no}]"
                        ),
                    ));
                }
                (reference, discount, round_price(net / qty), net)
            } else {
                let price = round_price(net / qty);
                (price, Decimal::ZERO, price, net)
            }
        }
        None => {
            let unit = sent_unit.unwrap_or(list_price);
            let discount = decimal(l.get("DiscountPercent"));
            let price = round_price(unit * (Decimal::ONE - pct(discount)));
            (unit, discount, price, round2(price * qty))
        }
    };
    let tax = round2(net * t);
    let net_lc = match (sent_total_lc, sent_total_fc) {
        (Some(lc), None) => lc,
        _ => to_lc(net),
    };
    Ok(Priced {
        unit,
        discount,
        price,
        price_after_vat: round_price(price * (Decimal::ONE + t)),
        net_doc: net,
        tax_doc: tax,
        net_lc,
        tax_lc: to_lc(tax),
    })
}

/// Writes the priced fields onto the stored row.
pub fn write_row(l: &mut Entity, p: &Priced, money: Option<&DocMoney>) {
    use super::super::validation::number;
    l.insert("UnitPrice".into(), number(p.unit));
    l.insert("DiscountPercent".into(), number(p.discount));
    l.insert("Price".into(), number(p.price));
    l.insert("PriceAfterVAT".into(), number(p.price_after_vat));
    l.insert("LineTotal".into(), number(p.net_lc));
    l.insert("TaxTotal".into(), number(p.tax_lc));
    l.insert("GrossTotal".into(), number(p.net_lc + p.tax_lc));
    let fc = money.filter(|m| !m.is_local());
    // SDK Document_Lines~RowTotalFC: "the Row Total in foreign currency" (0 for LC documents).
    let (net_fc, tax_fc) = fc.map_or((Decimal::ZERO, Decimal::ZERO), |_| (p.net_doc, p.tax_doc));
    l.insert("RowTotalFC".into(), number(net_fc));
    l.insert("NetTaxAmountFC".into(), number(tax_fc));
    l.insert("GrossTotalFC".into(), number(net_fc + tax_fc));
    if let Some(m) = money {
        l.insert("Currency".into(), Value::from(m.currency.clone()));
        l.insert("Rate".into(), number(m.rate));
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use serde_json::json;

    use super::*;

    fn row(v: serde_json::Value) -> Entity {
        v.as_object().cloned().unwrap()
    }

    fn cents(c: i64) -> Decimal {
        Decimal::new(c, 2)
    }

    fn eur_at(rate: Decimal) -> DocMoney {
        DocMoney {
            local: "GBP".into(),
            currency: "EUR".into(),
            rate,
        }
    }

    proptest! {
        /// A gross price is kept: net + tax is the gross row, whatever the rate.
        #[test]
        fn gross_rows_keep_the_gross(gross in 1i64..1_000_000, qty in 1i64..50, rate in 0i64..30) {
            let l = row(json!({"PriceAfterVAT": cents(gross).to_string()}));
            let local = DocMoney { local: "GBP".into(), currency: "GBP".into(), rate: Decimal::ONE };
            let p = price_row(&l, Decimal::from(qty), Decimal::ZERO, Decimal::from(rate), Some(&local), "INV1", 1).unwrap();
            prop_assert_eq!(p.net_doc + p.tax_doc, round2(cents(gross) * Decimal::from(qty)));
        }

        /// A row total below the reference price is kept and turned into a discount under 100 %;
        /// zero is refused with SAP's KBA 3697554 message.
        #[test]
        fn row_totals_become_discounts(total in 0i64..100_000, list in 1i64..100_000, qty in 1i64..20) {
            let l = row(json!({"LineTotal": cents(total).to_string()}));
            let local = DocMoney { local: "GBP".into(), currency: "GBP".into(), rate: Decimal::ONE };
            let r = price_row(&l, Decimal::from(qty), cents(list), Decimal::from(20), Some(&local), "INV1", 1);
            if total == 0 {
                let e = r.unwrap_err();
                prop_assert!(e.message.contains("Enter a discount percentage of less than 100"));
            } else {
                let p = r.unwrap();
                prop_assert_eq!(p.net_lc, cents(total));
                prop_assert!(p.discount < Decimal::ONE_HUNDRED);
                prop_assert_eq!(p.unit, cents(list));
            }
        }

        /// On a foreign-currency row the LC total is the FC total at the document rate.
        #[test]
        fn fc_rows_convert_at_the_document_rate(unit in 1i64..100_000, qty in 1i64..20, rate in 1i64..300) {
            let rate = Decimal::new(rate, 2);
            let l = row(json!({"UnitPrice": cents(unit).to_string()}));
            let p = price_row(&l, Decimal::from(qty), Decimal::ZERO, Decimal::ZERO, Some(&eur_at(rate)), "INV1", 1).unwrap();
            prop_assert_eq!(p.net_doc, round2(cents(unit) * Decimal::from(qty)));
            prop_assert_eq!(p.net_lc, round2(p.net_doc * rate));
        }
    }
}
