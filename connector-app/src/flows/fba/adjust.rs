//! The adjustment that makes SAP's FBA warehouse equal to Amazon's stock for one item. Pure: a
//! compared line in, the SAP documents out.
//!
//! SAP short of units (Amazon has more): an inventory transfer (`StockTransfers`) from the
//! seller's own warehouse (`[fba] inbound_from`) as far as it holds units — the units the seller
//! shipped and Amazon received — and a goods receipt (`InventoryGenEntries`) for the rest (units
//! found, customer returns). SAP holding units Amazon no longer has: a goods issue
//! (`InventoryGenExits`) from the FBA warehouse (units lost, damaged and disposed of), with the
//! settlement reimbursements that pay for them named on it. The three are SAP's inventory
//! transactions (objects 67, 59, 60 of `BoObjectTypes`, v4 `$metadata`).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::FbaLine;
use super::reimburse::Reimbursement;
use crate::config::FbaConfig;

/// Longest `Comments` SAP keeps on these documents (OWTR/OIGN/OIGE `Comments`, 254).
const COMMENTS_MAX: usize = 254;

/// Units transferred into the FBA warehouse from the seller's warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// The seller's warehouse.
    pub from: String,
    /// Units.
    pub quantity: Decimal,
}

/// The planned adjustment of one item (the ledger's payload of an `fba_adjustment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FbaAdjustment {
    /// Its ledger key (also the end of the documents' `Comments`, how SAP is searched for it).
    pub key: String,
    /// SAP ItemCode.
    pub item_code: String,
    /// The Amazon SKUs of the item.
    pub skus: Vec<String>,
    /// SAP's FBA warehouse.
    pub warehouse: String,
    /// Units at Amazon when planned.
    pub amazon_on_hand: i64,
    /// `InStock` of the FBA warehouse when planned.
    pub sap_in_stock: Decimal,
    /// Units of FBA orders not invoiced yet (left to their invoices).
    pub sap_unbooked: i64,
    /// Transfer from the seller's warehouse.
    pub transfer: Option<Transfer>,
    /// Goods receipt into the FBA warehouse.
    pub receipt: Option<Decimal>,
    /// Goods issue from the FBA warehouse.
    pub issue: Option<Decimal>,
    /// Offset account of the receipt or issue rows, when configured.
    pub account: Option<String>,
    /// The settlement reimbursements tied to these units (by SKU, oldest first).
    pub reimbursements: Vec<Reimbursement>,
}

/// The adjustment that brings SAP's FBA warehouse to Amazon's units for `line`, or why it cannot
/// be planned. `source_stock` is `InStock` of `[fba] inbound_from` for the item.
pub fn plan_adjustment(
    line: &FbaLine,
    source_stock: Decimal,
    reimbursements: Vec<Reimbursement>,
    config: &FbaConfig,
    key: &str,
) -> Result<FbaAdjustment, String> {
    if line.difference.fract() != Decimal::ZERO {
        return Err(format!(
            "item {}: SAP's FBA warehouse holds {} units, not whole units: adjust it by hand",
            line.item_code,
            line.sap_in_stock.normalize()
        ));
    }
    let mut out = FbaAdjustment {
        key: key.to_owned(),
        item_code: line.item_code.clone(),
        skus: line.skus.clone(),
        warehouse: config.warehouse.clone(),
        amazon_on_hand: line.amazon_on_hand,
        sap_in_stock: line.sap_in_stock,
        sap_unbooked: line.sap_unbooked,
        transfer: None,
        receipt: None,
        issue: None,
        account: None,
        reimbursements,
    };
    if line.difference > Decimal::ZERO {
        let mut left = line.difference;
        if let Some(from) = &config.inbound_from {
            let moved = left.min(source_stock.max(Decimal::ZERO).floor());
            if moved > Decimal::ZERO {
                out.transfer = Some(Transfer {
                    from: from.clone(),
                    quantity: moved,
                });
                left -= moved;
            }
        }
        if left > Decimal::ZERO {
            out.receipt = Some(left);
            out.account.clone_from(&config.receipt_account);
        }
    } else if line.difference < Decimal::ZERO {
        out.issue = Some(-line.difference);
        out.account.clone_from(&config.issue_account);
    }
    Ok(out)
}

impl FbaAdjustment {
    /// Units it moves into (positive) or out of (negative) the FBA warehouse.
    pub fn units(&self) -> Decimal {
        self.transfer.as_ref().map_or(Decimal::ZERO, |t| t.quantity)
            + self.receipt.unwrap_or_default()
            - self.issue.unwrap_or_default()
    }

    /// What it does, in words (hold reasons, reports, the documents' comments).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.transfer {
            parts.push(format!(
                "transfer {} from {} (inbound shipments received)",
                t.quantity.normalize(),
                t.from
            ));
        }
        if let Some(q) = self.receipt {
            parts.push(format!(
                "goods receipt of {} (units found or returned)",
                q.normalize()
            ));
        }
        if let Some(q) = self.issue {
            parts.push(format!(
                "goods issue of {} (units lost or disposed of)",
                q.normalize()
            ));
        }
        let mut s = format!(
            "item {}: {} into {} (Amazon {}, SAP {}",
            self.item_code,
            parts.join(", "),
            self.warehouse,
            self.amazon_on_hand,
            self.sap_in_stock.normalize()
        );
        if self.sap_unbooked != 0 {
            s.push_str(&format!(", {} not invoiced yet", self.sap_unbooked));
        }
        s.push(')');
        if !self.reimbursements.is_empty() {
            let paid: Vec<String> = self
                .reimbursements
                .iter()
                .map(|r| {
                    format!(
                        "settlement {} {} {} {} for {} unit(s){}",
                        r.settlement_id,
                        r.reason,
                        r.amount,
                        r.currency,
                        r.quantity,
                        r.date.map(|d| format!(" on {d}")).unwrap_or_default()
                    )
                })
                .collect();
            s.push_str(&format!("; reimbursed: {}", paid.join("; ")));
        }
        s
    }

    /// The hold reason of an adjustment waiting for review.
    pub fn review_reason(&self) -> String {
        format!(
            "review: {} units: {}; `ml-connector replay {}` posts it",
            self.units().abs().normalize(),
            self.describe(),
            self.key
        )
    }

    /// `Comments` of its documents: a short text ending with the key (how SAP is searched).
    pub fn comments(&self) -> String {
        let reimbursed = match self.reimbursements.first() {
            Some(r) => format!(
                "; reimbursed in settlement {} ({} {})",
                r.settlement_id, r.amount, r.currency
            ),
            None => String::new(),
        };
        let text = format!(
            "Amazon FBA stock {:+}{reimbursed}",
            self.units().normalize()
        );
        let room = COMMENTS_MAX.saturating_sub(self.key.len() + 1);
        let text: String = text.chars().take(room).collect();
        format!("{text} {}", self.key)
    }

    /// The SAP requests, in order (a transfer and a receipt go in one changeset).
    pub fn bodies(&self) -> Vec<(&'static str, Value)> {
        let comments = self.comments();
        let memo = "Amazon FBA stock adjustment";
        let row = |q: Decimal| {
            let mut r =
                json!({"ItemCode": self.item_code, "Quantity": q, "WarehouseCode": self.warehouse});
            if let Some(a) = &self.account {
                r["AccountCode"] = json!(a);
            }
            r
        };
        let mut out = Vec::new();
        if let Some(t) = &self.transfer {
            out.push((
                "StockTransfers",
                json!({
                    "FromWarehouse": t.from, "ToWarehouse": self.warehouse,
                    "Comments": comments, "JournalMemo": memo,
                    "StockTransferLines": [{"ItemCode": self.item_code, "Quantity": t.quantity,
                        "FromWarehouseCode": t.from, "WarehouseCode": self.warehouse}],
                }),
            ));
        }
        if let Some(q) = self.receipt {
            out.push((
                "InventoryGenEntries",
                json!({"Comments": comments, "JournalMemo": memo, "DocumentLines": [row(q)]}),
            ));
        }
        if let Some(q) = self.issue {
            out.push((
                "InventoryGenExits",
                json!({"Comments": comments, "JournalMemo": memo, "DocumentLines": [row(q)]}),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(amazon: i64, sap: i64, unbooked: i64) -> FbaLine {
        FbaLine {
            item_code: "A1".into(),
            skus: vec!["AMZ-1".into()],
            amazon_on_hand: amazon,
            amazon_inbound: 0,
            sap_in_stock: Decimal::from(sap),
            sap_unbooked: unbooked,
            difference: Decimal::from(amazon - (sap - unbooked)),
            reimbursements: vec![],
        }
    }

    fn config(inbound_from: Option<&str>) -> FbaConfig {
        FbaConfig {
            enabled: true,
            warehouse: "FBA".into(),
            inbound_from: inbound_from.map(str::to_owned),
            issue_account: Some("6950".into()),
            ..FbaConfig::default()
        }
    }

    #[test]
    fn a_shortfall_is_transferred_from_the_sellers_warehouse_then_received() {
        let a = plan_adjustment(
            &line(30, 10, 0),
            Decimal::from(15),
            vec![],
            &config(Some("01")),
            "k",
        )
        .unwrap();
        assert_eq!(
            a.transfer,
            Some(Transfer {
                from: "01".into(),
                quantity: Decimal::from(15)
            })
        );
        assert_eq!(
            (a.receipt, a.issue, a.account.as_deref()),
            (Some(Decimal::from(5)), None, None)
        );
        assert_eq!(a.units(), Decimal::from(20));
        let kinds: Vec<&str> = a.bodies().iter().map(|(set, _)| *set).collect();
        assert_eq!(kinds, ["StockTransfers", "InventoryGenEntries"]);
        // Without a seller's warehouse everything is received.
        let a = plan_adjustment(
            &line(30, 10, 0),
            Decimal::from(15),
            vec![],
            &config(None),
            "k",
        )
        .unwrap();
        assert_eq!((a.transfer, a.receipt), (None, Some(Decimal::from(20))));
    }

    #[test]
    fn an_excess_is_issued_less_the_units_of_orders_not_invoiced() {
        let a = plan_adjustment(
            &line(4, 10, 2),
            Decimal::ZERO,
            vec![],
            &config(Some("01")),
            "amz:S:fba:A1:adj:1",
        )
        .unwrap();
        assert_eq!(
            (a.transfer.clone(), a.receipt, a.issue),
            (None, None, Some(Decimal::from(4)))
        );
        let (set, body) = &a.bodies()[0];
        assert_eq!(*set, "InventoryGenExits");
        assert_eq!(body["DocumentLines"][0]["WarehouseCode"], "FBA");
        assert_eq!(body["DocumentLines"][0]["AccountCode"], "6950");
        assert_eq!(
            body["DocumentLines"][0]["Quantity"],
            json!(Decimal::from(4))
        );
        assert!(
            body["Comments"]
                .as_str()
                .unwrap()
                .ends_with(" amz:S:fba:A1:adj:1")
        );
        assert!(
            a.review_reason()
                .starts_with("review: 4 units: item A1: goods issue of 4"),
            "{}",
            a.review_reason()
        );
    }

    #[test]
    fn fractional_stock_is_not_adjusted() {
        let mut l = line(4, 10, 0);
        l.sap_in_stock = "9.5".parse().unwrap();
        l.difference = "-5.5".parse().unwrap();
        let e = plan_adjustment(&l, Decimal::ZERO, vec![], &config(None), "k").unwrap_err();
        assert!(e.contains("not whole units"), "{e}");
    }

    #[test]
    fn comments_fit_sap_and_end_with_the_key() {
        let key = format!("amz:S:fba:{}:adj:12", "X".repeat(50));
        let mut a =
            plan_adjustment(&line(1, 3, 0), Decimal::ZERO, vec![], &config(None), &key).unwrap();
        a.reimbursements = vec![Reimbursement {
            date: None,
            settlement_id: "9".repeat(200),
            line: 3,
            sku: "AMZ-1".into(),
            quantity: 2,
            amount: Decimal::from(20),
            currency: "USD".into(),
            reason: "WAREHOUSE_LOST".into(),
        }];
        let c = a.comments();
        assert!(
            c.chars().count() <= COMMENTS_MAX && c.ends_with(&key),
            "{c}"
        );
        assert!(
            a.describe().contains("reimbursed: settlement 999"),
            "{}",
            a.describe()
        );
    }
}
