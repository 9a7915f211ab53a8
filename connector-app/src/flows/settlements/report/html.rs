//! The reconciliation report as an HTML page: the verdict first, who and what it is about, the
//! waterfall as an SVG (the deposit as the closing total), the documents posted and the receipts
//! per order with their totals.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::{Reconciliation, Step, money};

fn esc(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:20px}\
h2{font-size:16px;margin-top:1.6em}table{border-collapse:collapse;margin:.5em 0}\
td,th{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
tr.total td{border-top:2px solid #222;font-weight:bold}tr.warn td{background:#fff4e5}\
.ok{color:#17803d;font-weight:bold}.bad{color:#b42318;font-weight:bold}\
p.verdict{font-size:16px;padding:8px 12px;border-radius:4px}p.verdict.ok{background:#e7f5ec}\
p.verdict.bad{background:#fdecea}svg text{font:11px system-ui,sans-serif}\
@media print{body{margin:0}h2{break-after:avoid}table{break-inside:avoid}}";

/// The report as one self-contained HTML page (no network), printable, with a waterfall chart.
pub fn to_html(r: &Reconciliation) -> String {
    let mut h = String::new();
    let ok = |b: bool| {
        if b {
            "<span class=ok>&#10003;</span>"
        } else {
            "<span class=bad>&#10007;</span>"
        }
    };
    let cur = esc(&r.currency);
    let _ = write!(
        h,
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Settlement {id}</title>\
<style>{STYLE}</style></head><body><h1>Amazon settlement {id} &mdash; {cur}</h1>",
        id = esc(&r.settlement_id),
    );
    h.push_str(&verdict(r));
    let marketplaces = if r.marketplaces.is_empty() {
        "&mdash;".to_owned()
    } else {
        esc(&r.marketplaces.join(", "))
    };
    let _ = write!(
        h,
        "<table><tr><th>Marketplace</th><td>{marketplaces}</td></tr>\
<tr><th>Seller</th><td>{}</td></tr><tr><th>SAP company</th><td>{}</td></tr>\
<tr><th>Period</th><td>{} &ndash; {}</td></tr><tr><th>Deposit date</th><td>{}</td></tr>\
<tr><th>Total (Amazon)</th><td class=n>{} {cur}</td></tr>\
<tr><th>Deposit posted to bank</th><td class=n>{} {}</td></tr>\
<tr><th>Clearing balance</th><td class=n>{} {cur} {}</td></tr>\
<tr><th>Invoices left open</th><td class=n>{} ({} {cur}) {}</td></tr>\
<tr><th>On customers' accounts</th><td class=n>{} {cur} ({} orders) {}</td></tr>\
<tr><th>Ledger state</th><td>{}</td></tr>\
<tr><th>Generated</th><td>{} by ml-connector {}</td></tr></table>",
        esc(&r.seller_id),
        esc(&r.sap_company),
        r.start.format("%Y-%m-%d %H:%M UTC"),
        r.end.format("%Y-%m-%d %H:%M UTC"),
        r.deposit_date.format("%Y-%m-%d"),
        money(r.total_amount),
        r.deposit_posted
            .map(|d| format!("{} {cur}", money(d)))
            .unwrap_or_else(|| "none".into()),
        ok(r.deposit_ok()),
        money(r.clearing_balance),
        ok(r.clearing_balance.is_zero()),
        r.left_open.count,
        money(r.left_open.amount),
        ok(r.left_open.count == 0),
        money(r.on_account.amount),
        r.on_account.count,
        ok(r.on_account.count == 0),
        esc(&r.state),
        r.generated_at.format("%Y-%m-%d %H:%M UTC"),
        esc(&r.version),
    );
    h.push_str("<h2>From sales to the deposit</h2>");
    h.push_str(&waterfall_svg(&r.waterfall, &r.currency));
    h.push_str("<table><tr><th>Step</th><th class=n>Amount</th><th class=n>Running</th></tr>");
    for st in &r.waterfall {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&st.label),
            money(st.amount),
            money(st.cumulative)
        );
    }
    h.push_str("</table><h2>Documents in SAP</h2><table><tr><th>Document</th><th class=n>Key</th><th class=n>Number</th><th>Description</th><th class=n>Amount</th></tr>");
    for d in &r.documents {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td><td class=n>{}</td></tr>",
            d.kind,
            d.key,
            d.number.map(|n| n.to_string()).unwrap_or_default(),
            esc(&d.description),
            money(d.amount)
        );
    }
    h.push_str("</table><p>Journal entries show their total debits; the waterfall shows what each category moved on the clearing account.</p>");
    receipts_table(&mut h, r);
    if !r.held_receipts.is_empty() {
        h.push_str("<h2>Receipts held (difference above the write-off tolerance)</h2><p>Until a held receipt posts, the clearing account keeps its amount and its invoice stays open; correct the invoice, then <code>ml-connector replay KEY</code> (or <code>dismiss</code> it).</p><table><tr><th>Order</th><th class=n>Invoice</th><th class=n>Open</th><th class=n>Amazon paid</th><th class=n>Difference</th><th>Key</th><th>State</th></tr>");
        for x in &r.held_receipts {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&x.receipt.order_id),
                x.receipt.invoice_num,
                money(x.receipt.invoice_open),
                money(x.receipt.receipt),
                money(x.receipt.difference),
                esc(&x.key),
                esc(&x.state)
            );
        }
        h.push_str("</table>");
    }
    h.push_str(&verdict(r));
    h.push_str("</body></html>");
    h
}

/// The verdict banner: a tick and "Reconciled", or a cross and every reason it is not.
fn verdict(r: &Reconciliation) -> String {
    let (class, mark) = if r.reconciled {
        ("ok", "&#10003;")
    } else {
        ("bad", "&#10007;")
    };
    format!(
        "<p class='verdict {class}'><span class={class}>{mark}</span> {}</p>",
        esc(&r.verdict())
    )
}

fn receipts_table(h: &mut String, r: &Reconciliation) {
    h.push_str("<h2>Receipts per order</h2><table><tr><th>Order</th><th class=n>Amazon paid</th><th class=n>Invoice</th><th class=n>Invoice total</th><th class=n>Applied</th><th class=n>On account</th><th class=n>Left open</th><th class=n>Refund</th><th class=n>Credit note</th><th class=n>Credit applied</th><th class=n>Credit left open</th></tr>");
    let opt = |v: Option<Decimal>| v.map(money).unwrap_or_default();
    for a in &r.receipts {
        let warn = if a.invoice_left_open.is_zero() && a.on_account.is_zero() {
            ""
        } else {
            " class=warn"
        };
        let _ = write!(
            h,
            "<tr{warn}><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&a.order_id),
            money(a.receipt),
            a.invoice_num
                .or(a.invoice)
                .map(|n| n.to_string())
                .unwrap_or_else(|| "none".into()),
            opt(a.invoice_total),
            money(a.applied),
            money(a.on_account),
            money(a.invoice_left_open),
            money(a.refund),
            a.credit_note.map(|n| n.to_string()).unwrap_or_default(),
            money(a.credit_applied),
            money(a.credit_left_open)
        );
    }
    let sum = |f: fn(&super::Application) -> Decimal| r.receipts.iter().map(f).sum::<Decimal>();
    let _ = write!(
        h,
        "<tr class=total><td>Total ({} orders)</td><td class=n>{}</td><td></td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td></td><td class=n>{}</td><td class=n>{}</td></tr></table>",
        r.receipts.len(),
        money(sum(|a| a.receipt)),
        money(sum(|a| a.invoice_total.unwrap_or_default())),
        money(sum(|a| a.applied)),
        money(sum(|a| a.on_account)),
        money(sum(|a| a.invoice_left_open)),
        money(sum(|a| a.refund)),
        money(sum(|a| a.credit_applied)),
        money(sum(|a| a.credit_left_open)),
    );
}

/// Characters of a chart label per line (11px text in a 130px slot).
const LABEL_LINE: usize = 20;

/// `label` in lines of at most [`LABEL_LINE`] characters, broken between words (a longer word
/// gets a line of its own, whole).
fn wrap(label: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in label.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= LABEL_LINE => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// An inline SVG waterfall: one bar per step from the previous running total to the new one
/// (green up, red down), and the last step (the payout) as the closing total: a bar from zero to
/// the amount paid out (blue), or owed to Amazon (red, below zero).
fn waterfall_svg(steps: &[Step], currency: &str) -> String {
    use rust_decimal::prelude::ToPrimitive;
    // Pixel geometry only: amounts are printed from the decimals, never from these floats.
    let (w, bar, h) = (130.0_f64, 70.0_f64, 220.0_f64);
    let mut lo = 0.0_f64;
    let mut hi = 0.0_f64;
    for s in steps {
        let c = s.cumulative.to_f64().unwrap_or(0.0);
        let before = (s.cumulative - s.amount).to_f64().unwrap_or(0.0);
        lo = lo.min(c).min(before);
        hi = hi.max(c).max(before);
    }
    let span = if (hi - lo).abs() < f64::EPSILON {
        1.0
    } else {
        hi - lo
    };
    let y = |v: f64| 20.0 + (hi - v) / span * h;
    let width = steps.len() as f64 * w + 20.0;
    let mut s = format!(
        "<svg width='{width}' height='{}' role=img aria-label='waterfall in {}'>",
        h + 90.0,
        esc(currency)
    );
    let _ = write!(
        s,
        "<line x1=0 x2='{width}' y1='{0:.1}' y2='{0:.1}' stroke='#999'/>",
        y(0.0)
    );
    for (i, st) in steps.iter().enumerate() {
        let closing = i + 1 == steps.len();
        let start = st.cumulative - st.amount;
        // The closing bar stands for the payout itself: from zero to what was there before it.
        let (from, to, shown, color) = if closing {
            let color = if start.is_sign_negative() && !start.is_zero() {
                "#b42318"
            } else {
                "#1f4e79"
            };
            (Decimal::ZERO, start, start, color)
        } else if st.amount.is_sign_negative() {
            (start, st.cumulative, st.amount, "#d9534f")
        } else {
            (start, st.cumulative, st.amount, "#2e7d32")
        };
        let (a, b) = (from.to_f64().unwrap_or(0.0), to.to_f64().unwrap_or(0.0));
        let (top, bottom) = (y(a.max(b)), y(a.min(b)));
        let cx = 10.0 + i as f64 * w + w / 2.0;
        let _ = write!(
            s,
            "<rect x='{:.1}' y='{top:.1}' width='{bar}' height='{:.1}' fill='{color}'/><text x='{cx:.1}' y='{:.1}' text-anchor=middle>{}</text><text x='{cx:.1}' y='{:.1}' text-anchor=middle>",
            cx - bar / 2.0,
            (bottom - top).max(1.0),
            top - 4.0,
            money(shown),
            h + 45.0,
        );
        for (n, line) in wrap(&st.label).iter().enumerate() {
            let dy = if n == 0 { "0" } else { "1.2em" };
            let _ = write!(s, "<tspan x='{cx:.1}' dy='{dy}'>{}</tspan>", esc(line));
        }
        s.push_str("</text>");
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::super::{Step, Tally, sample};
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn labels_break_between_words_only() {
        for label in [
            "Negative balance carried (owed to Amazon)",
            "Reserves and carried balances",
            "Order receipts (71 orders)",
        ] {
            let lines = wrap(label);
            assert_eq!(lines.join(" "), label, "no word is cut");
            assert!(
                lines.iter().all(|l| l.chars().count() <= LABEL_LINE),
                "{lines:?}"
            );
        }
    }

    #[test]
    fn a_settlement_with_invoices_left_open_says_not_reconciled_with_totals() {
        let mut r = sample();
        r.deposit_posted = Some(d("100.00"));
        r.receipts = vec![
            super::super::Application {
                order_id: "302-1".into(),
                receipt: d("25.2"),
                invoice_total: Some(d("30")),
                applied: d("25.2"),
                invoice_left_open: d("4.8"),
                ..Default::default()
            },
            super::super::Application {
                order_id: "302-2".into(),
                receipt: d("70"),
                invoice_total: Some(d("70")),
                applied: d("70"),
                ..Default::default()
            },
        ];
        r.left_open = Tally::of(r.receipts.iter().map(|a| a.invoice_left_open));
        r.reconciled = r.judge();
        let page = to_html(&r);
        assert!(!page.contains("&#10003;</span> Reconciled"), "{page}");
        assert!(
            page.contains("Not reconciled: 1 invoice(s) left open, 4.80 EUR"),
            "{page}"
        );
        assert!(
            page.contains("<tr class=total><td>Total (2 orders)</td><td class=n>95.20</td>"),
            "{page}"
        );
        for shown in ["25.20", "70.00", "100.00 EUR"] {
            assert!(page.contains(shown), "{shown}: {page}");
        }
        for context in [
            "Amazon.de",
            "A1SELLER",
            "SBODEMOGB",
            "2026-12-02 14:00 UTC",
            "ml-connector 0.1.0",
        ] {
            assert!(page.contains(context), "{context}: {page}");
        }
    }

    #[test]
    fn the_payout_is_a_closing_total_and_a_debt_to_amazon_is_red_below_zero() {
        let steps = |total: &str| {
            let t = d(total);
            vec![
                Step {
                    label: "Order receipts (2 orders)".into(),
                    amount: d("10.00"),
                    cumulative: d("10.00"),
                },
                Step {
                    label: "Selling fees".into(),
                    amount: t - d("10.00"),
                    cumulative: t,
                },
                Step {
                    label: "Closing".into(),
                    amount: -t,
                    cumulative: Decimal::ZERO,
                },
            ]
        };
        let negative = waterfall_svg(&steps("-67.33"), "GBP");
        let last = negative.rsplit("<rect").next().unwrap();
        assert!(last.contains("fill='#b42318'"), "{last}");
        assert!(
            last.contains(">-67.33<"),
            "the bar shows the amount owed: {last}"
        );
        let positive = waterfall_svg(&steps("8.00"), "GBP");
        let last = positive.rsplit("<rect").next().unwrap();
        assert!(
            last.contains("fill='#1f4e79'") && last.contains(">8.00<"),
            "{last}"
        );
    }
}
