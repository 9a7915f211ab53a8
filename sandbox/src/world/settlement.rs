//! Settlements that pay the world's orders, written in `GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`
//! format with the quirks of genuine files (../shared/reference/settlements, notes/settlement.md
//! §1.2, §3): NA files date `2024-10-09 14:28:38 UTC` with decimal points, EU files (the UK's
//! included) `13.09.2024 08:59:52 UTC` with decimal commas in EUR and points in GBP; refunds with
//! commission reversals, FBA fees, withheld-tax rows (`MarketplaceFacilitatorTax-*` in the US,
//! `MarketplaceFacilitatorVAT-*` in the EU) that net the tax Amazon collects, promotions with a
//! `TaxDiscount` row for their tax (as in the genuine UK file), reserves carried between
//! settlements and a negative settlement that the next one settles by card.

use chrono::{DateTime, Duration, Timelike, Utc};
use rand::RngExt;
use rand::rngs::StdRng;
use rust_decimal::Decimal;

use super::{Channel, DateStyle, HISTORY_DAYS, Marketplace, World, round2};

/// One detail row.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// transaction-type.
    pub transaction_type: String,
    /// order-id.
    pub order_id: String,
    /// adjustment-id (refunds).
    pub adjustment_id: String,
    /// shipment-id (orders).
    pub shipment_id: String,
    /// marketplace-name.
    pub marketplace_name: String,
    /// amount-type.
    pub amount_type: String,
    /// amount-description.
    pub amount_description: String,
    /// amount.
    pub amount: Decimal,
    /// fulfillment-id.
    pub fulfillment_id: String,
    /// posted-date-time.
    pub posted: Option<DateTime<Utc>>,
    /// order-item-code.
    pub order_item_code: String,
    /// merchant-adjustment-item-id.
    pub merchant_adjustment_item_id: String,
    /// sku.
    pub sku: String,
    /// quantity-purchased.
    pub quantity: Option<u32>,
    /// promotion-id.
    pub promotion_id: String,
    /// The VAT inside `amount` when it is one of Amazon's fees (not a column of the file: what
    /// Amazon's fee VAT invoice states, for tests of the input tax).
    pub fee_vat: Decimal,
}

/// One settlement period of one marketplace.
#[derive(Debug, Clone)]
pub struct Settlement {
    /// settlement-id.
    pub id: String,
    /// Index into `World::marketplaces`.
    pub marketplace: usize,
    /// settlement-start-date.
    pub start: DateTime<Utc>,
    /// settlement-end-date.
    pub end: DateTime<Utc>,
    /// deposit-date (end + 2 days, as in every genuine file).
    pub deposit: DateTime<Utc>,
    /// currency.
    pub currency: String,
    /// total-amount: exactly the sum of the detail rows.
    pub total: Decimal,
    /// Orders shipped in the period (indexes into `World::orders`).
    pub orders: Vec<usize>,
    /// Orders refunded in the period.
    pub refunds: Vec<usize>,
    /// Non-order rows (reserves, fees, card charges).
    pub others: Vec<Row>,
    /// Report id under which SP-API lists it.
    pub report_id: String,
    /// reportDocumentId.
    pub document_id: String,
    /// Finances FinancialEventGroupId (a different identifier, as at Amazon).
    pub group_id: String,
}

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// An amount in US-dollar-like units scaled to the marketplace's currency.
fn scaled(m: &Marketplace, d: Decimal) -> Decimal {
    round2(d * Decimal::new(m.price_factor_pct, 2))
}

/// A fee with the VAT Amazon adds to it on this marketplace (see `marketplaces::FEE_VAT`).
fn with_fee_vat(m: &Marketplace, net: Decimal) -> Decimal {
    round2(net * (Decimal::ONE_HUNDRED + m.fee_vat_rate) / Decimal::ONE_HUNDRED)
}

/// A fee row's amount (negative: charged) with the VAT inside it: `gross` of the net fee, or the
/// net itself when the fee bears no VAT.
fn fee_row(mut r: Row, net: Decimal, m: &Marketplace, vat: bool) -> Row {
    let gross = if vat { with_fee_vat(m, net) } else { net };
    r.amount = -gross;
    r.fee_vat = -(gross - net);
    r
}

fn other(name: &str, amount: Decimal, posted: DateTime<Utc>) -> Row {
    Row {
        transaction_type: "other-transaction".into(),
        amount_type: "other-transaction".into(),
        amount_description: name.into(),
        amount,
        posted: Some(posted),
        ..Row::default()
    }
}

/// Builds every settlement of the world (four 14-day periods per marketplace; the last is open).
pub fn generate(world: &World, rng: &mut StdRng) -> Vec<Settlement> {
    // The periods are fixed relative to the anchor (the third closes an hour before it), not
    // to a time of day: which orders a settlement pays must not change with the hour a test runs
    // (a fixed 08:59:52 start closed one more period per marketplace after 09:00 UTC).
    let day0 = world.anchor - Duration::days(HISTORY_DAYS) - Duration::hours(1);
    let base = day0.with_nanosecond(0).unwrap_or(day0);
    let mut out = Vec::new();
    for (mi, m) in world.marketplaces.iter().enumerate() {
        let mut prev_reserve = Decimal::ZERO;
        let mut prev_negative: Option<Decimal> = None;
        for k in 0..4i64 {
            let start = base + Duration::days(14 * k);
            let end = start + Duration::days(14);
            let in_period = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t >= start && t < end);
            let orders: Vec<usize> = world
                .orders
                .iter()
                .enumerate()
                .filter(|(_, o)| o.marketplace == mi && in_period(o.shipped))
                .map(|(i, _)| i)
                .collect();
            let refunds: Vec<usize> = world
                .orders
                .iter()
                .enumerate()
                // Only sales the world settles: a refund of a sale settled before the world's
                // first settlement would meet an invoice that no settlement of the world paid
                // (the cut-over case, which has its own tests).
                .filter(|(_, o)| {
                    o.marketplace == mi
                        && in_period(o.refunded)
                        && o.shipped.is_some_and(|s| s >= base)
                })
                .map(|(i, _)| i)
                .collect();
            let mut s = Settlement {
                id: format!("2{}", digits(rng, 10)),
                marketplace: mi,
                start,
                end,
                deposit: end + Duration::days(2),
                currency: m.currency.to_string(),
                total: Decimal::ZERO,
                orders,
                refunds,
                others: vec![],
                report_id: digits(rng, 11),
                document_id: format!(
                    "amzn1.spdoc.1.4.{}.{}.T{}",
                    world.kind.code(),
                    digits(rng, 12),
                    digits(rng, 8)
                ),
                group_id: format!("{}-{}", digits(rng, 6), digits(rng, 10)),
            };
            if prev_reserve > Decimal::ZERO {
                s.others.push(other(
                    "Previous Reserve Amount Balance",
                    prev_reserve,
                    start + Duration::minutes(2),
                ));
            }
            if let Some(neg) = prev_negative.take() {
                s.others
                    .push(other("Payable to Amazon", neg, start + Duration::hours(1)));
                s.others
                    .push(other("Successful charge", -neg, start + Duration::hours(1)));
            }
            if k % 2 == 1 {
                let fee = Decimal::new(rng.random_range(500..4000), 2);
                let row = other("Storage Fee", Decimal::ZERO, start + Duration::days(3));
                s.others.push(fee_row(row, scaled(m, fee), m, true));
            }
            let running: Decimal = rows(world, &s).iter().map(|r| r.amount).sum();
            // One marketplace's second period: a large inbound fee makes the settlement negative.
            if mi == world.kind.negative_marketplace() && k == 1 {
                let fee = running.max(Decimal::ZERO)
                    + scaled(m, Decimal::new(rng.random_range(2000..9000), 2));
                // The fee with its VAT is at least `fee` (the net rounds down by a cent at most,
                // the margin above the running total is 20.00 or more).
                let net =
                    round2(fee * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED + m.fee_vat_rate));
                let row = other(
                    "Inbound Transportation Fee",
                    Decimal::ZERO,
                    start + Duration::days(5),
                );
                s.others.push(fee_row(row, net, m, true));
                prev_reserve = Decimal::ZERO;
            } else if running > Decimal::ZERO {
                let reserve = round2(running * Decimal::new(5, 2));
                if reserve > Decimal::ZERO {
                    // Posted minutes after the settlement end, as in genuine files.
                    s.others.push(other(
                        "Current Reserve Amount",
                        -reserve,
                        end + Duration::minutes(7),
                    ));
                }
                prev_reserve = reserve;
            } else {
                prev_reserve = Decimal::ZERO;
            }
            s.total = rows(world, &s).iter().map(|r| r.amount).sum();
            if s.total < Decimal::ZERO {
                prev_negative = Some(s.total);
            }
            out.push(s);
        }
    }
    out.sort_by_key(|s| (s.end, s.marketplace));
    out
}

/// The withheld-tax description of a component on marketplace `m`: US facilitator tax or EU
/// deemed-supplier VAT.
fn withheld_name(m: &Marketplace, component: &str) -> String {
    let kind = if m.prices_include_tax { "VAT" } else { "Tax" };
    format!("MarketplaceFacilitator{kind}-{component}")
}

/// The detail rows of a settlement, in file order.
pub fn rows(world: &World, s: &Settlement) -> Vec<Row> {
    let m = &world.marketplaces[s.marketplace];
    let mut out = Vec::new();
    for &oi in &s.orders {
        let o = &world.orders[oi];
        // An order on which the buyer paid no VAT (zero-rated goods): Amazon charges its FBA fee
        // without VAT, its commission with it — the genuine UK file's zero-rated order (no Tax
        // row) has `FBAPerUnitFulfillmentFee −3.30` where the others have 3.30 × 1.20
        // (reviews/accounting.md B2).
        let untaxed = o.items.iter().all(|it| it.item_tax.is_zero());
        for it in &o.items {
            let p = &world.catalog[it.product];
            let base = Row {
                transaction_type: "Order".into(),
                order_id: o.id.clone(),
                shipment_id: o.shipment_id.clone(),
                marketplace_name: m.name.into(),
                fulfillment_id: o.channel.code().into(),
                posted: o.shipped,
                order_item_code: it.order_item_id.clone(),
                sku: p.sku.clone(),
                quantity: Some(it.quantity),
                ..Row::default()
            };
            let row = |t: &str, d: &str, a: Decimal| Row {
                amount_type: t.into(),
                amount_description: d.into(),
                amount: a,
                ..base.clone()
            };
            // Principal and Shipping are before tax: the VAT part comes off VAT-inclusive prices.
            let net = |gross: Decimal, tax: Decimal| {
                if m.prices_include_tax {
                    gross - tax
                } else {
                    gross
                }
            };
            out.push(row(
                "ItemPrice",
                "Principal",
                net(it.item_price, it.item_tax),
            ));
            if !it.item_tax.is_zero() || m.prices_include_tax {
                out.push(row("ItemPrice", "Tax", it.item_tax));
            }
            if it.shipping > Decimal::ZERO {
                out.push(row(
                    "ItemPrice",
                    "Shipping",
                    net(it.shipping, it.shipping_tax),
                ));
                out.push(row("ItemPrice", "ShippingTax", it.shipping_tax));
            }
            let withheld = it.net_tax().withheld;
            if !withheld.is_zero() || (m.prices_include_tax && m.reporting_scheme.is_some()) {
                if it.shipping > Decimal::ZERO || m.prices_include_tax {
                    out.push(row(
                        "ItemWithheldTax",
                        &withheld_name(m, "Shipping"),
                        -it.shipping_tax_withheld,
                    ));
                }
                out.push(row(
                    "ItemWithheldTax",
                    &withheld_name(m, "Principal"),
                    -(it.item_tax_withheld - it.promotion_tax_withheld),
                ));
            }
            if it.promotion > Decimal::ZERO {
                let mut r = row(
                    "Promotion",
                    "Principal",
                    -net(it.promotion, it.promotion_tax),
                );
                r.promotion_id = it.promotion_id.clone().unwrap_or_default();
                out.push(r.clone());
                if !it.promotion_tax.is_zero() {
                    r.amount_description = "TaxDiscount".into();
                    r.amount = -it.promotion_tax;
                    out.push(r);
                }
            }
            if o.channel == Channel::Afn {
                let fee = Decimal::new(285 + (it.order_item_id.as_bytes()[3] as i64 % 5) * 61, 2)
                    * Decimal::from(it.quantity);
                out.push(fee_row(
                    row("ItemFees", "FBAPerUnitFulfillmentFee", Decimal::ZERO),
                    scaled(m, fee),
                    m,
                    !untaxed,
                ));
            }
            out.push(fee_row(
                row("ItemFees", "Commission", Decimal::ZERO),
                commission(it.item_price + it.shipping),
                m,
                true,
            ));
            if m.digital_services_fee {
                out.push(fee_row(
                    row("ItemFees", "DigitalServicesFee", Decimal::ZERO),
                    round2(commission(it.item_price) * Decimal::new(3, 2)),
                    m,
                    true,
                ));
            }
        }
    }
    for &oi in &s.refunds {
        let o = &world.orders[oi];
        let it = &o.items[0];
        let p = &world.catalog[it.product];
        let base = Row {
            transaction_type: "Refund".into(),
            order_id: o.id.clone(),
            adjustment_id: format!("amzn1:crow:{}", &o.shipment_id[1..]),
            marketplace_name: m.name.into(),
            fulfillment_id: o.channel.code().into(),
            posted: o.refunded,
            order_item_code: it.order_item_id.clone(),
            merchant_adjustment_item_id: format!("17{}", &it.order_item_id),
            sku: p.sku.clone(),
            quantity: None,
            ..Row::default()
        };
        let row = |t: &str, d: &str, a: Decimal| Row {
            amount_type: t.into(),
            amount_description: d.into(),
            amount: a,
            ..base.clone()
        };
        let principal = if m.prices_include_tax {
            it.item_price - it.item_tax
        } else {
            it.item_price
        };
        if !it.item_tax.is_zero() || m.prices_include_tax {
            out.push(row("ItemPrice", "Tax", -it.item_tax));
        }
        out.push(row("ItemPrice", "Principal", -principal));
        if it.promotion > Decimal::ZERO {
            let promo_net = if m.prices_include_tax {
                it.promotion - it.promotion_tax
            } else {
                it.promotion
            };
            let mut r = row("Promotion", "Principal", promo_net);
            r.promotion_id = it.promotion_id.clone().unwrap_or_default();
            out.push(r.clone());
            if !it.promotion_tax.is_zero() {
                r.amount_description = "TaxDiscount".into();
                r.amount = it.promotion_tax;
                out.push(r);
            }
        }
        let withheld = it.item_tax_withheld - it.promotion_tax_withheld;
        if !withheld.is_zero() {
            out.push(row(
                "ItemWithheldTax",
                &withheld_name(m, "Principal"),
                withheld,
            ));
        }
        // The commission comes back with its VAT; Amazon keeps a refund commission (20 % of it,
        // at most 5.00), VAT on top: the genuine DE file's `RefundCommission −2,09` = 1,74 × 1.20.
        let net = commission(it.item_price + it.shipping);
        let back = fee_row(row("ItemFees", "Commission", Decimal::ZERO), net, m, true);
        out.push(Row {
            amount: -back.amount,
            fee_vat: -back.fee_vat,
            ..back
        });
        let kept = round2(net * Decimal::new(20, 2)).min(scaled(m, Decimal::from(5)));
        out.push(fee_row(
            row("ItemFees", "RefundCommission", Decimal::ZERO),
            kept,
            m,
            true,
        ));
    }
    out.extend(s.others.iter().cloned());
    out
}

fn commission(gross: Decimal) -> Decimal {
    round2(gross * Decimal::new(15, 2))
}

fn amount(d: Decimal, comma: bool) -> String {
    let s = format!("{:.2}", d);
    if comma { s.replace('.', ",") } else { s }
}

fn datetime(style: DateStyle, t: DateTime<Utc>) -> String {
    match style {
        DateStyle::Iso => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        DateStyle::Dotted => t.format("%d.%m.%Y %H:%M:%S UTC").to_string(),
    }
}

fn date(style: DateStyle, t: DateTime<Utc>) -> String {
    match style {
        DateStyle::Iso => t.format("%Y-%m-%d").to_string(),
        DateStyle::Dotted => t.format("%d.%m.%Y").to_string(),
    }
}

/// The column header of the V2 flat file (24 columns, with promotion-id).
pub const HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";

/// The settlement as `GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2` text.
pub fn to_flat_file_v2(world: &World, s: &Settlement) -> String {
    let m = &world.marketplaces[s.marketplace];
    let (comma, style) = (m.decimal_comma, m.date_style);
    let mut out = String::with_capacity(256 * (s.orders.len() * 8 + 8));
    out.push_str(HEADER);
    out.push('\n');
    out.push_str(&format!(
        "{}\t{}\t{}\t{}\t{}\t{}{}\n",
        s.id,
        datetime(style, s.start),
        datetime(style, s.end),
        datetime(style, s.deposit),
        amount(s.total, comma),
        s.currency,
        "\t".repeat(18)
    ));
    for r in rows(world, s) {
        let posted_date = r.posted.map(|t| date(style, t)).unwrap_or_default();
        let posted_time = r.posted.map(|t| datetime(style, t)).unwrap_or_default();
        let merchant_order_id = if r.transaction_type == "other-transaction" {
            String::new()
        } else {
            r.order_id.clone()
        };
        let fields = [
            s.id.as_str(),
            "",
            "",
            "",
            "",
            "",
            &r.transaction_type,
            &r.order_id,
            &merchant_order_id,
            &r.adjustment_id,
            &r.shipment_id,
            &r.marketplace_name,
            &r.amount_type,
            &r.amount_description,
            &amount(r.amount, comma),
            &r.fulfillment_id,
            &posted_date,
            &posted_time,
            &r.order_item_code,
            "",
            &r.merchant_adjustment_item_id,
            &r.sku,
            &r.quantity.map(|q| q.to_string()).unwrap_or_default(),
            &r.promotion_id,
        ];
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldKind;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use std::str::FromStr;

    #[test]
    fn eu_fees_carry_uk_vat_except_the_fba_fee_of_an_untaxed_order() {
        let anchor = Utc.with_ymd_and_hms(2026, 1, 15, 9, 30, 0).unwrap();
        let world = World::generate(WorldKind::Eu, 5, 300, anchor);
        let (mut untaxed_fba, mut taxed_fba) = (0, 0);
        for s in &world.settlements {
            for r in rows(&world, s) {
                let fee = r.amount_type == "ItemFees"
                    || ["Storage Fee", "Inbound Transportation Fee"]
                        .contains(&r.amount_description.as_str());
                if !fee {
                    assert!(r.fee_vat.is_zero(), "{r:?}");
                    continue;
                }
                // The VAT is the gross less the net, the gross being the net × 1.20 to the cent.
                let net = r.amount - r.fee_vat;
                if r.fee_vat.is_zero() {
                    let o = world.orders.iter().find(|o| o.id == r.order_id).unwrap();
                    assert_eq!(r.amount_description, "FBAPerUnitFulfillmentFee", "{r:?}");
                    assert!(o.items.iter().all(|i| i.item_tax.is_zero()), "{r:?}");
                    untaxed_fba += 1;
                } else {
                    assert_eq!(r.amount, round2(net * Decimal::new(120, 2)), "{r:?}");
                    if r.amount_description == "FBAPerUnitFulfillmentFee" {
                        taxed_fba += 1;
                    }
                }
            }
        }
        assert!(
            untaxed_fba > 0 && taxed_fba > 0,
            "{untaxed_fba} {taxed_fba}"
        );
        // No VAT on fees in the NA world.
        let na = World::generate(WorldKind::Na, 5, 300, anchor);
        for s in &na.settlements {
            assert!(rows(&na, s).iter().all(|r| r.fee_vat.is_zero()));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn every_generated_settlement_ties_out(seed in any::<u64>(), orders in 0usize..400) {
            let anchor = Utc.with_ymd_and_hms(2026, 1, 15, 9, 30, 0).unwrap();
            let kind = if seed % 2 == 0 { WorldKind::Na } else { WorldKind::Eu };
            let world = World::generate(kind, seed, orders, anchor);
            for s in &world.settlements {
                let text = to_flat_file_v2(&world, s);
                let mut lines = text.lines();
                let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
                let amount_col = header.iter().position(|h| *h == "amount").unwrap();
                let total_col = header.iter().position(|h| *h == "total-amount").unwrap();
                let parse = |x: &str| Decimal::from_str(&x.replace(',', ".")).unwrap();
                let total = parse(lines.next().unwrap().split('\t').nth(total_col).unwrap());
                let sum: Decimal = lines.map(|l| parse(l.split('\t').nth(amount_col).unwrap())).sum();
                prop_assert_eq!(sum, total);
            }
        }
    }
}
