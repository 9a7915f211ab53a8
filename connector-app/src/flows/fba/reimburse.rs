//! FBA inventory reimbursements in settlement files, tied to the adjustments of the units they
//! pay for. Pure: settlement bytes in, reimbursement rows out.
//!
//! A V2 settlement carries them as `other-transaction` rows with amount-type `FBA Inventory
//! Reimbursement` and the reason in amount-description (`WAREHOUSE_LOST`, `WAREHOUSE_DAMAGE`,
//! `REVERSAL_REIMBURSEMENT`, ...), with the SKU and a quantity; a V1 file names the reason in
//! transaction-type, which the reader turns into the same row (notes settlement.md §1, the
//! "FBA Inventory Reimbursement" line of the category table).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use settlement_mapper::SettlementReader;

/// The amount-type of reimbursement rows in V2 files.
pub const AMOUNT_TYPE: &str = "FBA Inventory Reimbursement";

/// Reasons of V1 reimbursement events (transaction-type) that the reader keeps in
/// amount-description.
const REASONS: &[&str] = &[
    "REVERSAL_REIMBURSEMENT",
    "WAREHOUSE_DAMAGE",
    "WAREHOUSE_LOST",
    "MISSING_FROM_INBOUND",
    "WAREHOUSE_DAMAGE_EXCEPTION",
    "REMOVAL_ORDER_LOST",
    "REMOVAL_ORDER_DAMAGED",
];

/// One reimbursement row of a settlement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reimbursement {
    /// When Amazon posted it.
    pub date: Option<NaiveDate>,
    /// The settlement that pays it.
    pub settlement_id: String,
    /// Line of the row in the file (with the settlement id, what makes it unique).
    pub line: u64,
    /// Seller SKU.
    pub sku: String,
    /// Units it pays for (Amazon writes 1 when it gives none).
    pub quantity: u32,
    /// Amount (negative for a reversal: units found after they were paid for).
    pub amount: Decimal,
    /// Settlement currency.
    pub currency: String,
    /// Amazon's reason (`WAREHOUSE_LOST`...).
    pub reason: String,
}

impl Reimbursement {
    /// `settlement:line`, how an adjustment records which rows it took.
    pub fn id(&self) -> String {
        format!("{}:{}", self.settlement_id, self.line)
    }

    /// A reversal (units found after Amazon paid for them).
    pub fn is_reversal(&self) -> bool {
        self.reason == "REVERSAL_REIMBURSEMENT" || self.amount < Decimal::ZERO
    }
}

/// The FBA inventory reimbursement rows of one settlement file; rows the reader refuses end the
/// reading with the error (`what` names the file in it).
pub fn read_reimbursements(bytes: &[u8], what: &str) -> Result<Vec<Reimbursement>, String> {
    let reader =
        SettlementReader::new(bytes).map_err(|e| format!("{what}: settlement file: {e}"))?;
    let summary = reader.summary().clone();
    let mut out = Vec::new();
    for row in reader {
        let row = row.map_err(|e| format!("{what}: {e}"))?;
        let reimbursement =
            row.amount_type == AMOUNT_TYPE || REASONS.contains(&row.amount_description.as_str());
        if !reimbursement || row.sku.is_empty() {
            continue;
        }
        let reason = row.amount_description.clone();
        out.push(Reimbursement {
            date: row.posted_date,
            settlement_id: summary.settlement_id.clone(),
            line: row.line,
            sku: row.sku.clone(),
            quantity: row.quantity_purchased.unwrap_or(1),
            amount: row.amount,
            currency: summary.currency.clone(),
            reason,
        });
    }
    Ok(out)
}

/// The reimbursements that cover an item's units: rows of its `skus` not taken by an earlier
/// adjustment (`taken`, by [`Reimbursement::id`]), oldest first; payments for losses when the
/// item lost units (`lost`), reversals when it found some (`!lost`).
pub fn tie<'a>(
    all: &'a [Reimbursement],
    skus: &[String],
    taken: &BTreeSet<String>,
    lost: bool,
) -> Vec<&'a Reimbursement> {
    let mut out: Vec<&Reimbursement> = all
        .iter()
        .filter(|r| skus.contains(&r.sku) && !taken.contains(&r.id()))
        .filter(|r| r.is_reversal() != lost)
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";

    /// A V2 file with the given (amount-type, description, amount, sku, quantity) rows.
    pub(crate) fn v2_file(id: &str, rows: &[(&str, &str, &str, &str, &str)]) -> String {
        let total: Decimal = rows.iter().map(|r| r.2.parse::<Decimal>().unwrap()).sum();
        let line = |cells: &[(usize, String)]| {
            let mut v = vec![String::new(); 24];
            for (i, c) in cells {
                v[*i].clone_from(c);
            }
            v.join("\t") + "\n"
        };
        let mut s = HEADER.to_owned() + "\n";
        s += &line(&[
            (0, id.to_owned()),
            (1, "2026-11-01 00:00:00 UTC".into()),
            (2, "2026-11-15 00:00:00 UTC".into()),
            (3, "2026-11-17 00:00:00 UTC".into()),
            (4, total.to_string()),
            (5, "USD".into()),
        ]);
        for (ty, desc, amount, sku, qty) in rows {
            s += &line(&[
                (0, id.to_owned()),
                (5, "USD".into()),
                (6, "other-transaction".into()),
                (11, "Amazon.com".into()),
                (12, (*ty).to_owned()),
                (13, (*desc).to_owned()),
                (14, (*amount).to_owned()),
                (16, "2026-11-10 00:00:00 UTC".into()),
                (17, "2026-11-10 10:00:00 UTC".into()),
                (21, (*sku).to_owned()),
                (22, (*qty).to_owned()),
            ]);
        }
        s
    }

    #[test]
    fn reimbursement_rows_are_read_and_tied_by_sku_and_direction() {
        let file = v2_file(
            "123",
            &[
                (AMOUNT_TYPE, "WAREHOUSE_LOST", "25.50", "SKU-A", "2"),
                (
                    AMOUNT_TYPE,
                    "REVERSAL_REIMBURSEMENT",
                    "-12.75",
                    "SKU-A",
                    "1",
                ),
                (AMOUNT_TYPE, "WAREHOUSE_DAMAGE", "9.00", "SKU-B", "1"),
                ("Storage Fee", "Storage Fee", "-3.00", "", ""),
            ],
        );
        let all = read_reimbursements(file.as_bytes(), "test").unwrap();
        assert_eq!(all.len(), 3, "{all:?}");
        assert_eq!(
            (
                all[0].settlement_id.as_str(),
                all[0].quantity,
                all[0].amount
            ),
            ("123", 2, "25.50".parse().unwrap())
        );
        let skus = vec!["SKU-A".to_owned()];
        let lost = tie(&all, &skus, &BTreeSet::new(), true);
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].reason, "WAREHOUSE_LOST");
        let found = tie(&all, &skus, &BTreeSet::new(), false);
        assert_eq!(found[0].reason, "REVERSAL_REIMBURSEMENT");
        let taken = BTreeSet::from([lost[0].id()]);
        assert!(tie(&all, &skus, &taken, true).is_empty(), "taken once");
    }
}
