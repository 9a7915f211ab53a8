//! The reconciliation report as an HTML page: the verdict, the waterfall as an SVG, the
//! documents posted and the receipts per order.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::{Reconciliation, Step};

fn esc(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

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
    let _ = write!(
        h,
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Settlement {id}</title><style>\
body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}}h1{{font-size:20px}}h2{{font-size:16px;margin-top:1.6em}}\
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left}}\
td.n,th.n{{text-align:right;font-variant-numeric:tabular-nums}}.ok{{color:#17803d;font-weight:bold}}.bad{{color:#b42318;font-weight:bold}}\
svg text{{font:11px system-ui,sans-serif}}@media print{{body{{margin:0}}h2{{break-after:avoid}}table{{break-inside:avoid}}}}\
</style></head><body><h1>Amazon settlement {id} &mdash; {cur}</h1>",
        id = esc(&r.settlement_id),
        cur = esc(&r.currency)
    );
    let _ = write!(
        h,
        "<table><tr><th>Period</th><td>{} &ndash; {}</td></tr><tr><th>Deposit date</th><td>{}</td></tr>\
<tr><th>Total (Amazon)</th><td class=n>{}</td></tr><tr><th>Deposit posted to bank</th><td class=n>{} {}</td></tr>\
<tr><th>Clearing balance</th><td class=n>{} {}</td></tr><tr><th>Ledger state</th><td>{}</td></tr></table>",
        r.start.format("%Y-%m-%d %H:%M UTC"),
        r.end.format("%Y-%m-%d %H:%M UTC"),
        r.deposit_date.format("%Y-%m-%d"),
        r.total_amount,
        r.deposit_posted
            .map(|d| d.to_string())
            .unwrap_or_else(|| "none".into()),
        ok(r.deposit_posted
            .map_or(r.total_amount <= Decimal::ZERO, |d| d == r.total_amount)),
        r.clearing_balance,
        ok(r.clearing_balance.is_zero()),
        esc(&r.state)
    );
    h.push_str("<h2>From sales to the deposit</h2>");
    h.push_str(&waterfall_svg(&r.waterfall));
    h.push_str("<table><tr><th>Step</th><th class=n>Amount</th><th class=n>Running</th></tr>");
    for st in &r.waterfall {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&st.label),
            st.amount,
            st.cumulative
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
            d.amount
        );
    }
    h.push_str("</table><h2>Receipts per order</h2><table><tr><th>Order</th><th class=n>Amazon paid</th><th class=n>Invoice</th><th class=n>Invoice total</th><th class=n>Applied</th><th class=n>On account</th><th class=n>Left open</th><th class=n>Refund</th><th class=n>Credit note</th><th class=n>Credit applied</th><th class=n>Credit left open</th></tr>");
    for a in &r.receipts {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&a.order_id),
            a.receipt,
            a.invoice_num
                .or(a.invoice)
                .map(|n| n.to_string())
                .unwrap_or_else(|| "none".into()),
            a.invoice_total.map(|n| n.to_string()).unwrap_or_default(),
            a.applied,
            a.on_account,
            a.invoice_left_open,
            a.refund,
            a.credit_note.map(|n| n.to_string()).unwrap_or_default(),
            a.credit_applied,
            a.credit_left_open
        );
    }
    let _ = write!(
        h,
        "</table><p>{} Reconciled.</p></body></html>",
        ok(r.reconciled)
    );
    h
}

/// An inline SVG waterfall: one bar per step from the previous running total to the new one.
fn waterfall_svg(steps: &[Step]) -> String {
    use rust_decimal::prelude::ToPrimitive;
    let (w, bar, gap, h) = (120.0_f64, 70.0_f64, 50.0_f64, 220.0_f64);
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
        "<svg width='{width}' height='{}' role=img aria-label='waterfall'>",
        h + 70.0
    );
    let _ = write!(
        s,
        "<line x1=0 x2='{width}' y1='{0}' y2='{0}' stroke='#999'/>",
        y(0.0)
    );
    for (i, st) in steps.iter().enumerate() {
        let after = st.cumulative.to_f64().unwrap_or(0.0);
        let before = (st.cumulative - st.amount).to_f64().unwrap_or(0.0);
        let (top, bottom) = (y(before.max(after)), y(before.min(after)));
        let x = 10.0 + i as f64 * w + (w - bar - gap) / 2.0;
        let color = if st.amount.is_sign_negative() {
            "#d9534f"
        } else {
            "#2e7d32"
        };
        let _ = write!(
            s,
            "<rect x='{x:.1}' y='{top:.1}' width='{bar}' height='{:.1}' fill='{color}'/><text x='{:.1}' y='{:.1}' text-anchor=middle>{}</text><text x='{:.1}' y='{:.1}' text-anchor=middle>{}</text>",
            (bottom - top).max(1.0),
            x + bar / 2.0,
            top - 4.0,
            st.amount,
            x + bar / 2.0,
            h + 45.0,
            esc(&st.label.chars().take(18).collect::<String>())
        );
    }
    s.push_str("</svg>");
    s
}
