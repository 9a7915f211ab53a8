//! The order receipts are listed in.

use chrono::NaiveDate;

use crate::postings::Receipt;

/// Sorts receipts by date, then order id, keeping the order of equal ones (as a stable sort by
/// `(date, order_id)` would): the comparisons look at a number made of the id's first eight bytes
/// and compare the ids themselves only where those are equal, and the receipts are then moved once.
pub(super) fn sort_receipts(receipts: &mut [Receipt]) {
    let head = |id: &str| {
        let b = id.as_bytes();
        let mut w = [0u8; 8];
        w[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
        u64::from_be_bytes(w)
    };
    let mut order: Vec<(NaiveDate, u64, usize)> = receipts
        .iter()
        .enumerate()
        .map(|(i, r)| (r.date, head(&r.order_id), i))
        .collect();
    order.sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| receipts[a.2].order_id.cmp(&receipts[b.2].order_id))
            .then(a.2.cmp(&b.2))
    });
    // Position k takes the receipt that was at order[k]: follow each cycle of the permutation.
    let mut from: Vec<usize> = order.into_iter().map(|(_, _, i)| i).collect();
    for start in 0..from.len() {
        let mut at = start;
        while from[at] != usize::MAX {
            let next = from[at];
            from[at] = usize::MAX;
            if next == start {
                break;
            }
            receipts.swap(at, next);
            at = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    /// The same order as a stable sort by (date, order id), ties (one order's receipts of two
    /// periods on one date) in their original order.
    #[test]
    fn sorts_as_a_stable_sort_by_date_and_order() {
        let day = |d| NaiveDate::from_ymd_opt(2024, 9, d).unwrap();
        let ids = [
            "028-7130974-6854703",
            "028-7130974-6854702",
            "028-71",
            "028-7130974",
            "305-1111111-2222222",
            "",
            "028-7130974-6854703",
            "028-7130\u{0}",
            "028-7130",
        ];
        let mut receipts: Vec<Receipt> = (0..60)
            .map(|i: usize| Receipt {
                order_id: ids[(i * 7) % ids.len()].to_owned(),
                marketplace: String::new(),
                amount: Decimal::from(i),
                date: day(1 + (i * 5 % 3) as u32),
                rows: 1,
            })
            .collect();
        let mut want = receipts.clone();
        want.sort_by(|a, b| (a.date, &a.order_id).cmp(&(b.date, &b.order_id)));
        sort_receipts(&mut receipts);
        assert_eq!(receipts, want);
    }
}
