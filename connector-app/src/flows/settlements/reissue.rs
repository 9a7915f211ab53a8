//! Re-issued settlements and copies under another id (pure).
//!
//! A settlement is posted once, under its id. Two files can still ask for it again:
//! - the same id with other rows or another total: Amazon re-issued the settlement (or the file was
//!   edited). Posting it over the posted one is impossible and ignoring it hides money, so it is held
//!   with the difference against what was posted;
//! - the same rows under a new id: a copy (an edited id, a test file). Posting it would pay the same
//!   invoices a second time and book a second deposit, so it is held naming the posted settlement.
//!
//! Both are judged on Amazon's data alone (period, deposit date, total, rows per transaction type,
//! amount type and description, and per order), never on our mapping: a changed mapping table does
//! not make a settlement different, and a re-download in another encoding is the same settlement.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use settlement_mapper::postings::SettlementPostings;

/// Source kind under which a settlement's fingerprint points at its id once it is planned to post.
pub const FINGERPRINT_KIND: &str = "settlement_fingerprint";
/// Source kind of a re-issued settlement's file (the posted one stays the settlement's source).
pub const REISSUE_KIND: &str = "settlement_reissue";

/// At most this many differences are listed; the rest are counted.
const MAX_LINES: usize = 8;

/// Amazon's content of a settlement, without its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    currency: String,
    start: String,
    end: String,
    deposit_date: String,
    total: Decimal,
    rows: u64,
    /// (transaction-type, amount-type, amount-description) -> (rows, sum).
    categories: BTreeMap<(String, String, String), (u64, Decimal)>,
    /// Order id -> received minus refunded in the settlement.
    orders: BTreeMap<String, Decimal>,
}

impl Content {
    /// What Amazon says in a mapped settlement.
    pub fn of(p: &SettlementPostings) -> Self {
        let mut categories: BTreeMap<(String, String, String), (u64, Decimal)> = BTreeMap::new();
        for c in &p.by_category {
            let e = categories
                .entry((
                    c.transaction_type.clone(),
                    c.amount_type.clone(),
                    c.amount_description.clone(),
                ))
                .or_default();
            e.0 += c.rows;
            e.1 += c.amount;
        }
        let mut orders: BTreeMap<String, Decimal> = BTreeMap::new();
        for r in &p.receipts {
            *orders.entry(r.order_id.clone()).or_default() += r.amount;
        }
        for r in &p.refunds {
            *orders.entry(r.order_id.clone()).or_default() += r.amount;
        }
        Self {
            currency: p.currency.clone(),
            start: p.start.to_rfc3339(),
            end: p.end.to_rfc3339(),
            deposit_date: p.deposit_date.to_rfc3339(),
            total: p.total_amount,
            rows: p.rows,
            categories,
            orders,
        }
    }

    /// A hash of the content (hex SHA-256), equal for two files with the same rows whatever their
    /// settlement ids.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        let mut put = |s: &str| {
            h.update(s.as_bytes());
            h.update([0x1f]);
        };
        put(&self.currency);
        put(&self.start);
        put(&self.end);
        put(&self.deposit_date);
        put(&self.total.normalize().to_string());
        put(&self.rows.to_string());
        for ((t, a, d), (rows, sum)) in &self.categories {
            for s in [t, a, d] {
                put(s);
            }
            put(&rows.to_string());
            put(&sum.normalize().to_string());
        }
        for (order, sum) in &self.orders {
            put(order);
            put(&sum.normalize().to_string());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// What changed from `posted` to `self`, one line per difference (empty: the same settlement).
    pub fn diff(&self, posted: &Content) -> Vec<String> {
        let mut lines = Vec::new();
        let cur = &self.currency;
        if self.currency != posted.currency {
            lines.push(format!("currency {} -> {}", posted.currency, self.currency));
        }
        if self.total != posted.total {
            lines.push(format!(
                "total {} -> {} {cur} ({:+})",
                posted.total,
                self.total,
                self.total - posted.total
            ));
        }
        for (what, old, new) in [
            ("period start", &posted.start, &self.start),
            ("period end", &posted.end, &self.end),
            ("deposit date", &posted.deposit_date, &self.deposit_date),
        ] {
            if old != new {
                lines.push(format!("{what} {old} -> {new}"));
            }
        }
        if self.rows != posted.rows {
            lines.push(format!("rows {} -> {}", posted.rows, self.rows));
        }
        let zero = (0, Decimal::ZERO);
        let keys: std::collections::BTreeSet<_> = posted
            .categories
            .keys()
            .chain(self.categories.keys())
            .collect();
        for key in keys {
            let old = posted.categories.get(key).unwrap_or(&zero);
            let new = self.categories.get(key).unwrap_or(&zero);
            if old.1 != new.1 {
                lines.push(format!(
                    "{} / {} / {}: {} -> {} {cur}",
                    key.0, key.1, key.2, old.1, new.1
                ));
            }
        }
        let orders: std::collections::BTreeSet<_> =
            posted.orders.keys().chain(self.orders.keys()).collect();
        let changed: Vec<_> = orders
            .into_iter()
            .filter(|o| posted.orders.get(*o) != self.orders.get(*o))
            .collect();
        if !changed.is_empty() {
            let names: Vec<&str> = changed.iter().take(3).map(|o| o.as_str()).collect();
            lines.push(format!(
                "{} order(s) paid differently ({}{})",
                changed.len(),
                names.join(", "),
                if changed.len() > 3 { ", ..." } else { "" }
            ));
        }
        if lines.len() > MAX_LINES {
            let more = lines.len() - MAX_LINES;
            lines.truncate(MAX_LINES);
            lines.push(format!("and {more} more difference(s)"));
        }
        lines
    }
}

/// The hold reason of a settlement re-issued with other content than the posted one.
pub fn reissued_reason(id: &str, diff: &[String]) -> String {
    format!(
        "settlement {id} was re-issued with other content than the one posted: {}. The posted \
         documents stay as they are; book the difference by hand (or cancel the posted documents in \
         SAP and re-post), then `ml-connector dismiss` this key",
        diff.join("; ")
    )
}

/// The hold reason of a settlement whose rows are those of another, already planned or posted one.
pub fn copy_reason(id: &str, other: &str, other_state: &str) -> String {
    format!(
        "settlement {id} has the same rows, total and period as settlement {other} ({other_state}): \
         a copy under another id; posting it would pay the same invoices twice and book a second \
         deposit. If Amazon really paid twice, post it by hand; otherwise `ml-connector dismiss` it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use settlement_mapper::{MappingTable, map_settlement};

    const HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id\n";

    fn file(id: &str, total: &str, price: &str, fee: &str) -> Vec<u8> {
        let mut s = HEADER.to_owned();
        s += &format!(
            "{id}\t13.09.2024 08:59:52 UTC\t27.09.2024 08:59:52 UTC\t29.09.2024 08:59:52 UTC\t{total}\tUSD\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n"
        );
        s += &format!(
            "{id}\t\t\t\t\t\tOrder\t111-0000001-0000001\t\t\t\tAmazon.com\tItemPrice\tPrincipal\t{price}\tAFN\t25.09.2024\t25.09.2024 14:36:27 UTC\t1\t\t\tSKU-1\t1\t\n"
        );
        s += &format!(
            "{id}\t\t\t\t\t\tOrder\t111-0000001-0000001\t\t\t\tAmazon.com\tItemFees\tCommission\t{fee}\tAFN\t25.09.2024\t25.09.2024 14:36:27 UTC\t1\t\t\tSKU-1\t1\t\n"
        );
        s.into_bytes()
    }

    fn content(bytes: &[u8]) -> Content {
        Content::of(&map_settlement(bytes, &MappingTable::default_table()).unwrap())
    }

    #[test]
    fn a_copy_under_another_id_has_the_same_fingerprint() {
        let a = content(&file("1001", "85.00", "100.00", "-15.00"));
        let b = content(&file("2002", "85.00", "100.00", "-15.00"));
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert!(a.diff(&b).is_empty());
        let c = content(&file("1001", "86.00", "100.00", "-14.00"));
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn a_reissue_lists_what_changed_against_the_posted_one() {
        let posted = content(&file("1001", "85.00", "100.00", "-15.00"));
        let reissued = content(&file("1001", "86.00", "100.00", "-14.00"));
        let diff = reissued.diff(&posted);
        assert!(
            diff.iter().any(|l| l == "total 85.00 -> 86.00 USD (+1.00)"),
            "{diff:?}"
        );
        assert!(
            diff.iter()
                .any(|l| l == "Order / ItemFees / Commission: -15.00 -> -14.00 USD"),
            "{diff:?}"
        );
        assert!(!diff.iter().any(|l| l.contains("Principal")), "{diff:?}");
        let reason = reissued_reason("1001", &diff);
        assert!(
            reason.contains("re-issued") && reason.contains("86.00"),
            "{reason}"
        );
    }
}
