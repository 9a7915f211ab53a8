//! A settlement's loose ends rolled up per marketplace (pure): how many invoices it leaves open and
//! how much sits on account, and, when every open invoice is short by the same share, what that
//! share looks like (tax on the invoice that Amazon collected and never paid to the seller).
//!
//! The per-order notes stay (in the report and `--json`); this is what a person reads first.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use settlement_mapper::postings::SettlementPostings;

use super::plan::Application;

/// Fewest open invoices from which a common share is called systematic.
const SYSTEMATIC_MIN: usize = 3;
/// Spread (in percentage points of the invoice) within which shares count as the same.
const SPREAD_POINTS: i64 = 1;

/// The marketplace of each order a settlement pays or refunds.
pub fn marketplace_of(postings: &SettlementPostings) -> BTreeMap<String, String> {
    postings
        .receipts
        .iter()
        .map(|r| (r.order_id.clone(), r.marketplace.clone()))
        .chain(
            postings
                .refunds
                .iter()
                .map(|r| (r.order_id.clone(), r.marketplace.clone())),
        )
        .collect()
}

/// What a settlement leaves open or on account in one marketplace.
#[derive(Default)]
struct Tally {
    open: usize,
    open_amount: Decimal,
    shares: Vec<Decimal>,
    on_account: usize,
    on_account_amount: Decimal,
}

/// The reasons to hold a settlement that leaves invoices open by the same share in a marketplace
/// (a tax set-up mistake: posting it would leave every such invoice open): one per marketplace.
pub fn systematic_shortfalls(
    applications: &[Application],
    marketplace_of: &BTreeMap<String, String>,
    currency: &str,
) -> Vec<String> {
    tallies(applications, marketplace_of)
        .into_iter()
        .filter_map(|(m, t)| {
            systematic(&t.shares).map(|hint| {
                format!(
                    "{m}: {} invoice(s) would be left open, {} {currency} in all{hint} \
                     (settlements.hold_systematic_shortfall = false posts it anyway)",
                    t.open,
                    t.open_amount.round_dp(2)
                )
            })
        })
        .collect()
}

fn tallies<'a>(
    applications: &[Application],
    marketplace_of: &'a BTreeMap<String, String>,
) -> BTreeMap<&'a str, Tally> {
    let mut per: BTreeMap<&str, Tally> = BTreeMap::new();
    for a in applications {
        let m = marketplace_of
            .get(&a.order_id)
            .map_or("unknown marketplace", String::as_str);
        if !a.invoice_left_open.is_zero() {
            let t = per.entry(m).or_default();
            t.open += 1;
            t.open_amount += a.invoice_left_open;
            if let Some(total) = a.invoice_total.filter(|t| !t.is_zero()) {
                t.shares
                    .push(a.invoice_left_open / total * Decimal::ONE_HUNDRED);
            }
        }
        if !a.on_account.is_zero() {
            let t = per.entry(m).or_default();
            t.on_account += 1;
            t.on_account_amount += a.on_account;
        }
    }
    per
}

/// Lines summarising `applications` per marketplace (`marketplace_of` maps order ids); empty when
/// nothing is left open or on account.
pub fn rollup(
    applications: &[Application],
    marketplace_of: &BTreeMap<String, String>,
    currency: &str,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (m, t) in tallies(applications, marketplace_of) {
        if t.open > 0 {
            let mut line = format!(
                "{m}: {} invoice(s) left open, {} {currency} in all",
                t.open,
                t.open_amount.round_dp(2)
            );
            if let Some(hint) = systematic(&t.shares) {
                line.push_str(&hint);
            }
            lines.push(line);
        }
        if t.on_account > 0 {
            lines.push(format!(
                "{m}: {} order(s) with {} {currency} on account",
                t.on_account,
                t.on_account_amount.round_dp(2)
            ));
        }
    }
    lines
}

/// Lines of the receipts held for a difference above the tolerance, per marketplace.
pub fn held_lines(held: &[super::held::HeldReceipt], currency: &str) -> Vec<String> {
    let mut per: BTreeMap<&str, (usize, Decimal)> = BTreeMap::new();
    for h in held {
        let e = per.entry(h.marketplace.as_str()).or_default();
        e.0 += 1;
        e.1 += h.receipt;
    }
    per.into_iter()
        .map(|(m, (n, amount))| {
            format!(
                "{m}: {n} receipt(s) held, {} {currency} in all (above settlements.write_off; \
                 the clearing account keeps it until each is replayed or dismissed)",
                amount.round_dp(2)
            )
        })
        .collect()
}

/// A hint when every open invoice is short by about the same share of its total.
fn systematic(shares: &[Decimal]) -> Option<String> {
    if shares.len() < SYSTEMATIC_MIN {
        return None;
    }
    let min = shares.iter().min()?;
    let max = shares.iter().max()?;
    if *max - *min > Decimal::from(SPREAD_POINTS) || *min < Decimal::ONE {
        return None;
    }
    let share = shares.iter().sum::<Decimal>() / Decimal::from(shares.len());
    // An open share s of a gross total is a tax of s / (100 - s) on the net.
    let rate = share / (Decimal::ONE_HUNDRED - share) * Decimal::ONE_HUNDRED;
    Some(format!(
        "; every one about {} % of its invoice, i.e. {} % on the rest: looks like tax on the \
         invoice that Amazon collected as deemed supplier / marketplace facilitator. Give that \
         rate the marketplace's facilitated tax code ([marketplaces.<id>] tax_codes), then cancel \
         and re-post those invoices",
        share.round_dp(1),
        rate.round_dp(1)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn app(order: &str, total: Decimal, open: Decimal, on_account: Decimal) -> Application {
        Application {
            order_id: order.into(),
            invoice_total: Some(total),
            invoice_left_open: open,
            on_account,
            ..Application::default()
        }
    }

    #[test]
    fn open_invoices_by_the_same_share_are_called_out_with_the_rate() {
        let apps = vec![
            app("a", dec("120.00"), dec("20.00"), Decimal::ZERO),
            app("b", dec("60.00"), dec("10.00"), Decimal::ZERO),
            app("c", dec("240.00"), dec("40.01"), Decimal::ZERO),
            app("d", dec("50.00"), Decimal::ZERO, dec("0.21")),
        ];
        let m: BTreeMap<_, _> = ["a", "b", "c", "d"]
            .iter()
            .map(|o| (o.to_string(), "Amazon.fr".to_string()))
            .collect();
        let lines = rollup(&apps, &m, "EUR");
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("Amazon.fr: 3 invoice(s) left open, 70.01 EUR in all; every one about 16.7 % of its invoice, i.e. 20.0 % on the rest"),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1], "Amazon.fr: 1 order(s) with 0.21 EUR on account");
        let hold = systematic_shortfalls(&apps, &m, "EUR");
        assert_eq!(hold.len(), 1, "{hold:?}");
        assert!(
            hold[0].starts_with("Amazon.fr: 3 invoice(s) would be left open"),
            "{hold:?}"
        );
    }

    #[test]
    fn scattered_shortfalls_get_no_hint() {
        let apps = vec![
            app("a", dec("120.00"), dec("20.00"), Decimal::ZERO),
            app("b", dec("60.00"), dec("3.00"), Decimal::ZERO),
            app("c", dec("240.00"), dec("40.00"), Decimal::ZERO),
        ];
        let lines = rollup(&apps, &BTreeMap::new(), "EUR");
        assert_eq!(
            lines,
            vec!["unknown marketplace: 3 invoice(s) left open, 63.00 EUR in all".to_string()]
        );
        assert!(rollup(&[], &BTreeMap::new(), "EUR").is_empty());
        assert!(systematic_shortfalls(&apps, &BTreeMap::new(), "EUR").is_empty());
    }
}
