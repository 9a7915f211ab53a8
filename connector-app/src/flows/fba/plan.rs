//! The pure part of the FBA reconciliation: Amazon's units per SKU against SAP's FBA warehouse
//! per item. No I/O here.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use sp_api_client::fba_inventory::InventorySummary;

use super::reimburse::Reimbursement;
use crate::config::Config;

/// One item whose FBA stock Amazon and SAP both know (or either).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FbaLine {
    /// SAP ItemCode.
    pub item_code: String,
    /// The Amazon SKUs that feed it.
    pub skus: Vec<String>,
    /// Units in Amazon's fulfilment centres (fulfillable, reserved, unfulfillable, researching).
    pub amazon_on_hand: i64,
    /// Units in inbound shipments, not yet at Amazon (not expected in SAP's FBA warehouse).
    pub amazon_inbound: i64,
    /// `InStock` of the FBA warehouse in SAP (0 when the item has no row there).
    pub sap_in_stock: Decimal,
    /// Units of shipped FBA orders whose invoice is not in SAP yet (held, failed, in doubt):
    /// gone from Amazon, still in SAP until the invoice posts; not a difference.
    pub sap_unbooked: i64,
    /// Amazon on hand minus what SAP will hold once those invoices post: positive when SAP is
    /// short (a receipt would fix it), negative when SAP holds units Amazon no longer has.
    pub difference: Decimal,
    /// Settlement reimbursements of the item's SKUs no posted adjustment took yet: payments for
    /// lost or damaged units when SAP holds more, reversals when Amazon has more.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reimbursements: Vec<Reimbursement>,
}

/// What the comparison found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FbaComparison {
    /// Every item either side knows, by ItemCode.
    pub lines: Vec<FbaLine>,
    /// Summaries that could not be compared, and why.
    pub problems: Vec<(String, String)>,
}

/// Compares Amazon's summaries (SKUs, mapped to items by `[sku_map]`) with SAP's FBA warehouse
/// `InStock` per ItemCode (`sap`, items without a row left out), less `unbooked` units per
/// ItemCode (shipped FBA orders whose invoice SAP does not have yet).
pub fn compare(
    summaries: &[InventorySummary],
    sap: &BTreeMap<String, Decimal>,
    unbooked: &BTreeMap<String, u32>,
    config: &Config,
) -> FbaComparison {
    let mut out = FbaComparison::default();
    let mut amazon: BTreeMap<String, (Vec<String>, i64, i64)> = BTreeMap::new();
    for s in summaries {
        let Some(sku) = s.seller_sku.as_deref().filter(|s| !s.is_empty()) else {
            out.problems.push((
                s.fn_sku.clone().unwrap_or_default(),
                "Amazon sent an inventory summary without a seller SKU".into(),
            ));
            continue;
        };
        let (Some(on_hand), Some(inbound)) = (s.on_hand(), s.inbound()) else {
            out.problems.push((
                sku.to_owned(),
                "Amazon sent no inventory details (ask with details=true)".into(),
            ));
            continue;
        };
        let entry = amazon.entry(config.item_code(sku).to_owned()).or_default();
        entry.0.push(sku.to_owned());
        entry.1 += on_hand;
        entry.2 += inbound;
    }
    let codes: std::collections::BTreeSet<&String> = amazon.keys().chain(sap.keys()).collect();
    for code in codes {
        let (skus, on_hand, inbound) = amazon.get(code).cloned().unwrap_or_default();
        let in_stock = sap.get(code).copied().unwrap_or_default();
        let pending = i64::from(unbooked.get(code).copied().unwrap_or(0));
        out.lines.push(FbaLine {
            item_code: code.clone(),
            skus,
            amazon_on_hand: on_hand,
            amazon_inbound: inbound,
            sap_in_stock: in_stock,
            sap_unbooked: pending,
            difference: Decimal::from(on_hand) - (in_stock - Decimal::from(pending)),
            reimbursements: vec![],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;

    fn summary(
        sku: &str,
        fulfillable: i64,
        reserved: i64,
        damaged: i64,
        inbound: i64,
    ) -> InventorySummary {
        serde_json::from_value(json!({"sellerSku": sku, "totalQuantity": fulfillable + reserved + damaged + inbound,
            "inventoryDetails": {"fulfillableQuantity": fulfillable, "inboundShippedQuantity": inbound,
                "reservedQuantity": {"totalReservedQuantity": reserved},
                "unfulfillableQuantity": {"totalUnfulfillableQuantity": damaged}}}))
        .unwrap()
    }

    #[test]
    fn on_hand_units_are_compared_per_item_and_inbound_is_apart() {
        let config = Config::parse(
            Path::new("/tmp/t.toml"),
            &crate::config::TEMPLATE.replace(
                "[sku_map]",
                "[sku_map]\n\"AMZ-1\" = \"A1\"\n\"AMZ-2\" = \"A1\"",
            ),
        )
        .unwrap();
        let summaries = [
            summary("AMZ-1", 10, 2, 1, 30),
            summary("AMZ-2", 5, 0, 0, 0),
            summary("B", 4, 0, 0, 0),
            serde_json::from_value(json!({"sellerSku": "C"})).unwrap(),
        ];
        let sap = BTreeMap::from([
            ("A1".to_owned(), Decimal::from(20)),
            ("B".to_owned(), Decimal::from(4)),
            ("D".to_owned(), Decimal::from(3)),
        ]);
        // One unit of B shipped by Amazon, its invoice held: SAP's 5 will be 4, as Amazon has.
        let sap = sap
            .into_iter()
            .map(|(k, v)| {
                if k == "B" {
                    (k, v + Decimal::ONE)
                } else {
                    (k, v)
                }
            })
            .collect();
        let unbooked = BTreeMap::from([("B".to_owned(), 1)]);
        let c = compare(&summaries, &sap, &unbooked, &config);
        let diff: Vec<(&str, i64, i64, Decimal)> = c
            .lines
            .iter()
            .map(|l| {
                (
                    l.item_code.as_str(),
                    l.amazon_on_hand,
                    l.amazon_inbound,
                    l.difference,
                )
            })
            .collect();
        assert_eq!(
            diff,
            [
                ("A1", 18, 30, Decimal::from(-2)),
                ("B", 4, 0, Decimal::ZERO),
                ("D", 0, 0, Decimal::from(-3)),
            ]
        );
        assert_eq!(c.lines[0].skus, ["AMZ-1", "AMZ-2"]);
        assert_eq!(c.problems.len(), 1);
        assert!(c.problems[0].1.contains("no inventory details"));
    }
}
