//! A tax set-up mistake that leaves every invoice of a marketplace open by the same share is held
//! with what it looks like, instead of posted with a note per order.

mod common;

use common::{TIME_SCALE, start_sandbox_in, workspace};
use connector_app::demo::run_flows;
use sandbox::world::WorldKind;

/// Amazon.fr: Amazon collects the VAT as deemed supplier (code `OS`).
const FR: &str = "A13V1IB3VIYZZH";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoices_short_by_the_vat_amazon_collected_hold_the_settlement() {
    let sb = start_sandbox_in(WorldKind::Eu, 5, 120).await;
    let (_dir, config) = workspace(&sb);
    // The mistake: Amazon.fr's orders invoiced with the seller's own 20 % VAT code.
    let text = std::fs::read_to_string(&config).unwrap();
    let start = text
        .find(&format!("[marketplaces.{FR}]"))
        .expect("the FR section");
    let end = text[start + 1..]
        .find("\n[")
        .map_or(text.len(), |i| start + 1 + i);
    let section = text[start..end].replace("\"OS\"", "\"O1\"");
    assert_ne!(section, text[start..end], "the FR section names OS");
    std::fs::write(
        &config,
        format!("{}{}{}", &text[..start], section, &text[end..]),
    )
    .unwrap();
    let run = run_flows(&sb, &config, 5, TIME_SCALE).await.unwrap();
    let s = &run.settlements;
    let held: Vec<_> = s
        .held
        .iter()
        .filter(|p| p.reason.contains("Amazon.fr:"))
        .collect();
    assert!(!held.is_empty(), "{:?}", s.settlements);
    for p in &held {
        assert!(
            p.reason.contains("would be left open")
                && p.reason.contains("16.7 % of its invoice")
                && p.reason.contains("20.0 % on the rest")
                && p.reason.contains("facilitated tax code"),
            "{}",
            p.reason
        );
    }
    // Nothing of the held settlements reached SAP.
    for x in s.settlements.iter().filter(|x| x.state == "held") {
        let prefix = format!("MLC{}-", x.settlement_id);
        assert!(
            sb.sap_entities("IncomingPayments")
                .iter()
                .all(|p| !p["TransferReference"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(&prefix)),
            "settlement {} posted a payment",
            x.settlement_id
        );
    }
    sb.shutdown().await;
}
