//! The reconciliation report as Chromium lays it out: every chart label inside the chart and
//! clear of its neighbours, the verdict on the page. Needs a `chromium` binary (Debian package
//! `chromium`); without one the test says so and passes without checking.

use std::path::Path;
use std::process::Command;

use chrono::DateTime;
use connector_app::flows::settlements::report::{
    PostedDocument, Reconciliation, Step, Tally, to_html,
};
use rust_decimal::Decimal;

/// Measures every label of the waterfall once the page is laid out and writes the result into the
/// title: `LAYOUT-OK`, or `LAYOUT-BAD` and what is wrong.
const MEASURE: &str = r#"<script>
addEventListener('load', () => {
  const svg = document.querySelector('svg');
  const box = svg.getBoundingClientRect();
  const bad = [];
  const labels = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBoundingClientRect()]);
  for (const [text, r] of labels) {
    if (r.left < box.left - 0.5 || r.right > box.right + 0.5) bad.push('outside: ' + text);
  }
  for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++) {
    const [a, ra] = labels[i], [b, rb] = labels[j];
    const apart = ra.right <= rb.left || rb.right <= ra.left || ra.bottom <= rb.top || rb.bottom <= ra.top;
    if (!apart) bad.push('overlap: ' + a + ' / ' + b);
  }
  document.title = bad.length ? 'LAYOUT-BAD ' + bad.join('; ') : 'LAYOUT-OK';
});
</script>"#;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// A negative settlement with the long labels a real one has.
fn negative_settlement() -> Reconciliation {
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let mut running = Decimal::ZERO;
    let mut steps = Vec::new();
    for (label, amount) in [
        ("Order receipts (71 orders)", "1148.95"),
        ("Refunds, credit notes (12 orders)", "-301.40"),
        ("Marketplace facilitator tax", "-218.30"),
        ("Selling fees and FBA fulfilment fees", "-775.19"),
        ("Reserves and carried balances", "78.61"),
        ("Negative balance carried (owed to Amazon)", "67.33"),
    ] {
        running += d(amount);
        steps.push(Step {
            label: label.into(),
            amount: d(amount),
            cumulative: running,
        });
    }
    assert!(running.is_zero(), "the waterfall ends at zero: {running}");
    Reconciliation {
        settlement_id: "25800738262".into(),
        currency: "GBP".into(),
        start: at("2026-10-01T00:00:00Z"),
        end: at("2026-10-15T00:00:00Z"),
        deposit_date: at("2026-10-17T00:00:00Z"),
        total_amount: d("-67.33"),
        deposit_posted: None,
        local_currency: None,
        deposit_local: None,
        deposit_converted: None,
        conversion_difference: Decimal::ZERO,
        exchange_differences: Decimal::ZERO,
        state: "POSTED".into(),
        waterfall: steps,
        documents: vec![PostedDocument {
            kind: "JournalEntry".into(),
            key: 12,
            number: Some(12),
            description: "Amazon settlement 25800738262: fees".into(),
            amount: d("775.19"),
        }],
        receipts: Vec::new(),
        clearing_balance: Decimal::ZERO,
        left_open: Tally {
            count: 3,
            amount: d("25.2"),
        },
        on_account: Tally::default(),
        held_receipts: vec![],
        opening_receivable: Default::default(),
        reconciled: false,
        marketplaces: vec!["Amazon.co.uk".into()],
        seller_id: "A1SELLER".into(),
        sap_company: "SBODEMOGB".into(),
        generated_at: at("2026-12-02T14:00:00Z"),
        version: "0.1.0".into(),
    }
}

#[test]
fn chromium_lays_out_every_chart_label_whole_inside_the_chart() {
    let Some(browser) = chromium() else {
        eprintln!(
            "skipped: no chromium binary (apt-get install chromium) to lay out the report in"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let html = to_html(&negative_settlement()).replace("</body>", &format!("{MEASURE}</body>"));
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).unwrap();
    let run = |extra: &[&str]| {
        Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1200,1400",
            ])
            .args(extra)
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap()
    };
    let dom = run(&["--virtual-time-budget=2000", "--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_default();
    assert_eq!(title, "LAYOUT-OK", "{title}");
    assert!(
        dom.contains("Not reconciled: 3 invoice(s) left open, 25.20 GBP"),
        "{dom}"
    );
    // A picture of the page for a person to look at (kept in the target directory).
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-negative-settlement.png");
    let out = run(&[&format!("--screenshot={}", shot.display())]);
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("screenshot: {}", shot.display());
}
