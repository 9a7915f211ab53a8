//! Per-order aggregates, kept compact: a settlement of 100,000 orders holds 100,000 of them until
//! it is finished.
//!
//! Orders live in a vector in first-seen order, found by id through a hash table of indexes (the id
//! is stored once) and, before that, by comparison with the previous row's order: a settlement
//! lists the rows of one order together, so most rows never hash their order id.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use rust_decimal::Decimal;

use super::{Period, Sum};
use crate::mapping::Journal;

/// An account row whose tax code depends on whether its order carries item tax.
#[derive(Debug)]
pub(super) struct TaxPending {
    pub(super) journal: Journal,
    pub(super) period: Period,
    pub(super) acct: usize,
    pub(super) key: usize,
    /// Tax id when the order carries item tax.
    pub(super) taxed: Option<usize>,
    /// Tax id when it carries none.
    pub(super) untaxed: Option<usize>,
    pub(super) sum: Sum,
}

/// A row whose target depends on whether its order carries facilitator tax.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) rule: usize,
    pub(super) key: usize,
    pub(super) period: Period,
    /// The row's SKU when its rule routes to the order's refund (kept per SKU), else empty.
    pub(super) sku: String,
    /// What the rows are, should they go to the order's refund (one row key: one part).
    pub(super) part: RefundPart,
    pub(super) sum: Sum,
}

/// What one SKU of an order gave back in one period (refund rows).
#[derive(Debug)]
pub(super) struct RefundSku {
    pub(super) period: Period,
    pub(super) sku: String,
    pub(super) amount: Decimal,
    /// The part of `amount` on tax rows (`*Tax`, `TaxDiscount`).
    pub(super) tax: Decimal,
    /// The part of `amount` on shipping rows (`Shipping*`: the charge, its tax, its promotions).
    pub(super) shipping: Decimal,
    /// The part of `shipping` on its tax row (`ShippingTax`).
    pub(super) shipping_tax: Decimal,
    /// The part on item promotion rows (tax excluded).
    pub(super) promotion: Decimal,
    /// The promotion's tax (included in `tax`).
    pub(super) promotion_tax: Decimal,
}

/// What a refund row is, for the per-SKU split of a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RefundPart {
    /// Price, shipping, fees: anything not below.
    Price,
    /// Tax (`*Tax`, `TaxDiscount`) other than a promotion's.
    Tax,
    /// An item promotion taken back (`Promotion` rows other than `Shipping` and tax).
    Promotion,
    /// The tax of that promotion (`Promotion` / `TaxDiscount`).
    PromotionTax,
}

/// What the settlement holds for one order.
#[derive(Debug)]
pub(super) struct OrderAcc {
    pub(super) id: Box<str>,
    /// Interned marketplace name (an index into the accumulator's marketplaces) of the order's
    /// first row that names one.
    pub(super) marketplace: Option<u32>,
    pub(super) receipts: Vec<(Period, Sum)>,
    /// Refund rows per period (negative: what the buyer got back).
    pub(super) refunds: Vec<(Period, Sum)>,
    /// The same refunds per SKU, with their tax.
    pub(super) refund_skus: Vec<RefundSku>,
    /// Key ids of facilitator-tax rows seen for this order.
    pub(super) facilitated: Vec<usize>,
    pub(super) pending: Vec<Pending>,
    pub(super) pass_through: Decimal,
    /// Whether any of the order's item-tax rows in this settlement is non-zero.
    pub(super) item_taxed: bool,
    /// Account rows waiting for the order's item-tax status.
    pub(super) tax_pending: Vec<TaxPending>,
}

impl OrderAcc {
    fn new(id: &str) -> Self {
        Self {
            id: id.into(),
            marketplace: None,
            receipts: Vec::new(),
            refunds: Vec::new(),
            refund_skus: Vec::new(),
            facilitated: Vec::new(),
            pending: Vec::new(),
            pass_through: Decimal::ZERO,
            item_taxed: false,
            tax_pending: Vec::new(),
        }
    }
}

/// Pushes without the doubling growth of `Vec::push`: an order's lists hold one to a few items,
/// and a hundred thousand orders' spare capacity would be most of the mapper's memory.
pub(super) fn push_exact<T>(list: &mut Vec<T>, item: T) {
    if list.len() == list.capacity() {
        list.reserve_exact(1);
    }
    list.push(item);
}

/// The orders of a settlement, by id.
#[derive(Debug, Default)]
pub(super) struct Orders {
    list: Vec<OrderAcc>,
    /// (hash of the id, index into `list`): growing the table never hashes an id again.
    index: HashTable<(u64, u32)>,
    hasher: FixedState,
    /// The order of the previous lookup.
    last: Option<usize>,
}

impl Orders {
    /// The order `id`, created empty on its first row.
    pub(super) fn get(&mut self, id: &str) -> &mut OrderAcc {
        let at = match self.last {
            Some(i) if &*self.list[i].id == id => i,
            _ => {
                let hash = self.hasher.hash_one(id);
                let list = &mut self.list;
                let entry = self.index.entry(
                    hash,
                    |&(h, i)| h == hash && &*list[i as usize].id == id,
                    |&(h, _)| h,
                );
                let (_, i) = *entry
                    .or_insert_with(|| {
                        list.push(OrderAcc::new(id));
                        let i = u32::try_from(list.len() - 1).expect("fewer than 2^32 orders");
                        (hash, i)
                    })
                    .get();
                i as usize
            }
        };
        self.last = Some(at);
        &mut self.list[at]
    }

    /// Every order, in first-seen order.
    pub(super) fn iter_mut(&mut self) -> std::slice::IterMut<'_, OrderAcc> {
        self.list.iter_mut()
    }

    /// Takes every order out, in first-seen order.
    pub(super) fn take_all(&mut self) -> Vec<OrderAcc> {
        self.index = HashTable::new();
        self.last = None;
        std::mem::take(&mut self.list)
    }
}

/// Adds a refund amount to an order's SKU of one period.
pub(super) fn add_refund_sku(
    order: &mut OrderAcc,
    period: Period,
    sku: &str,
    amount: Decimal,
    (part, shipping): (RefundPart, bool),
) {
    let of = |p: &[RefundPart]| {
        if p.contains(&part) {
            amount
        } else {
            Decimal::ZERO
        }
    };
    let tax = of(&[RefundPart::Tax, RefundPart::PromotionTax]);
    let promotion = of(&[RefundPart::Promotion]);
    let promotion_tax = of(&[RefundPart::PromotionTax]);
    let shipping_part = if shipping { amount } else { Decimal::ZERO };
    let shipping_tax = if shipping && part == RefundPart::Tax {
        amount
    } else {
        Decimal::ZERO
    };
    match order
        .refund_skus
        .iter_mut()
        .find(|r| r.period == period && r.sku == sku)
    {
        Some(r) => {
            r.amount += amount;
            r.tax += tax;
            r.promotion += promotion;
            r.promotion_tax += promotion_tax;
            r.shipping += shipping_part;
            r.shipping_tax += shipping_tax;
        }
        None => push_exact(
            &mut order.refund_skus,
            RefundSku {
                period,
                sku: sku.to_owned(),
                amount,
                tax,
                promotion,
                promotion_tax,
                shipping: shipping_part,
                shipping_tax,
            },
        ),
    }
}

/// Adds to an order's receipts (or refunds) of one period.
pub(super) fn add_receipt(
    sums: &mut Vec<(Period, Sum)>,
    period: Period,
    rows: u64,
    amount: Decimal,
    line: u64,
) {
    match sums.iter_mut().find(|(p, _)| *p == period) {
        Some((_, sum)) => sum.add(rows, amount, line),
        None => {
            let mut sum = Sum::default();
            sum.add(rows, amount, line);
            push_exact(sums, (period, sum));
        }
    }
}
