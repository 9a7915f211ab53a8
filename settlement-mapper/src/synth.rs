//! A generator of realistic V2 settlement files, for tests, benchmarks and demos.
//!
//! Deterministic: the same [`SynthOptions`] always give the same bytes. Orders carry principal, tax,
//! shipping, promotions, marketplace-facilitator tax, referral and FBA fees; some are refunded with a
//! commission reversal; the period has storage, subscription, reimbursement and reserve lines. The file
//! can be written in the EU format (`DD.MM.YYYY`, decimal comma) or the NA format, with any column order.

use std::io::{self, Write};

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

/// Number and date format of a generated file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// `13.09.2024 08:59:52 UTC`, `128,84`.
    Eu,
    /// `2024-09-13 08:59:52 UTC`, `128.84`.
    Na,
    /// Dates as NA; each amount written in a randomly chosen style (`1234.5`, `1.234,50`, `1,234.50`...).
    Mixed,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// PRNG seed.
    pub seed: u64,
    /// Number of orders (each 4-9 rows).
    pub orders: usize,
    /// Settlement id.
    pub settlement_id: String,
    /// Currency code.
    pub currency: String,
    /// Marketplace name on order rows.
    pub marketplace: String,
    /// Whether orders carry marketplace-facilitator tax (EU deemed supplier / US MF states).
    pub facilitator_tax: bool,
    /// Output format.
    pub locale: Locale,
    /// Column order as a permutation of [`V2_COLUMNS`] indexes; `None` = Amazon's order.
    pub column_order: Option<Vec<usize>>,
    /// Omit the trailing `promotion-id` column (23-column files).
    pub narrow: bool,
    /// Added to the true total in the summary row (non-zero makes an inconsistent settlement).
    pub total_skew: Decimal,
    /// Extra rows with a triple no mapping knows.
    pub unknown_rows: usize,
    /// Period start.
    pub start: DateTime<Utc>,
    /// Unit prices of 1,000.00 to 5,000.00 instead of 5.00 to 250.00, so detail rows carry
    /// amounts in the thousands.
    pub high_value: bool,
    /// Group thousands in every amount in the locale's style (`1.234,56` in EU files, `1,234.56`
    /// in NA files); `Mixed` files group at random either way.
    pub group_thousands: bool,
}

impl Default for SynthOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            orders: 100,
            settlement_id: "24001234567".to_owned(),
            currency: "EUR".to_owned(),
            marketplace: "Amazon.de".to_owned(),
            facilitator_tax: true,
            locale: Locale::Eu,
            column_order: None,
            narrow: false,
            total_skew: Decimal::ZERO,
            unknown_rows: 0,
            start: DateTime::parse_from_rfc3339("2024-09-13T08:59:52Z")
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default(),
            high_value: false,
            group_thousands: false,
        }
    }
}

/// V2 column names in Amazon's order.
pub const V2_COLUMNS: [&str; 24] = [
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
];

/// One generated detail row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthRow {
    /// transaction-type.
    pub transaction_type: &'static str,
    /// order-id (may be empty).
    pub order_id: String,
    /// adjustment-id (refunds).
    pub adjustment_id: String,
    /// amount-type.
    pub amount_type: &'static str,
    /// amount-description.
    pub amount_description: &'static str,
    /// Signed amount.
    pub amount: Decimal,
    /// `AFN` / `MFN` / empty.
    pub fulfillment: &'static str,
    /// Posted timestamp.
    pub posted: DateTime<Utc>,
    /// SKU.
    pub sku: String,
    /// Quantity (order rows).
    pub quantity: Option<u32>,
}

/// Totals of a written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthSummary {
    /// Detail rows written.
    pub rows: u64,
    /// Sum of the detail rows (the summary row carries this plus `total_skew`).
    pub rows_sum: Decimal,
}

/// SplitMix64: tiny, fast, deterministic.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Cents in `lo..hi` as a 2-dp decimal.
    fn money(&mut self, lo: i64, hi: i64) -> Decimal {
        Decimal::new(lo + self.below((hi - lo) as u64) as i64, 2)
    }
}

/// Streams the detail rows of a generated settlement.
pub fn rows(opts: &SynthOptions) -> impl Iterator<Item = SynthRow> + '_ {
    let mut rng = Rng(opts.seed);
    let period = Duration::days(14);
    let mut order_no = 0usize;
    let mut extra_done = false;
    let mut buf: Vec<SynthRow> = Vec::new();
    std::iter::from_fn(move || {
        loop {
            if let Some(row) = buf.pop() {
                return Some(row);
            }
            if order_no < opts.orders {
                order_rows(opts, &mut rng, order_no, period, &mut buf);
                order_no += 1;
                buf.reverse();
                continue;
            }
            if !extra_done {
                extra_done = true;
                period_rows(opts, &mut rng, period, &mut buf);
                buf.reverse();
                continue;
            }
            return None;
        }
    })
}

fn order_rows(
    opts: &SynthOptions,
    rng: &mut Rng,
    n: usize,
    period: Duration,
    out: &mut Vec<SynthRow>,
) {
    // Unique per order (the last group counts orders), random-looking like Amazon's 3-7-7 ids.
    let order_id = format!(
        "{:03}-{:07}-{:07}",
        302 + rng.below(5),
        rng.below(10_000_000),
        n % 10_000_000
    );
    let posted = opts.start + Duration::seconds(rng.below(period.num_seconds() as u64) as i64);
    let sku = format!("SKU-{:05}", rng.below(5000));
    let afn = rng.chance(70);
    let fulfillment = if afn { "AFN" } else { "MFN" };
    let qty = 1 + rng.below(3) as u32;
    let unit = if opts.high_value {
        rng.money(100_000, 500_000)
    } else {
        rng.money(500, 25_000)
    };
    let principal = unit * Decimal::from(qty);
    let tax = (principal * Decimal::new(19, 2)).round_dp(2);
    let row = |tt: &'static str, at: &'static str, ad: &'static str, amount: Decimal| SynthRow {
        transaction_type: tt,
        order_id: order_id.clone(),
        adjustment_id: String::new(),
        amount_type: at,
        amount_description: ad,
        amount,
        fulfillment,
        posted,
        sku: sku.clone(),
        quantity: Some(qty),
    };
    out.push(row("Order", "ItemPrice", "Principal", principal));
    out.push(row("Order", "ItemPrice", "Tax", tax));
    let shipping = rng.chance(25).then(|| rng.money(199, 699));
    if let Some(s) = shipping {
        out.push(row("Order", "ItemPrice", "Shipping", s));
        out.push(row(
            "Order",
            "ItemPrice",
            "ShippingTax",
            (s * Decimal::new(19, 2)).round_dp(2),
        ));
    }
    if rng.chance(10) {
        out.push(row("Order", "Promotion", "Principal", -rng.money(100, 500)));
    }
    if opts.facilitator_tax {
        out.push(row(
            "Order",
            "ItemWithheldTax",
            "MarketplaceFacilitatorVAT-Principal",
            -tax,
        ));
        if let Some(s) = shipping {
            out.push(row(
                "Order",
                "ItemWithheldTax",
                "MarketplaceFacilitatorVAT-Shipping",
                -(s * Decimal::new(19, 2)).round_dp(2),
            ));
        }
    }
    let commission = -(principal * Decimal::new(15, 2)).round_dp(2);
    out.push(row("Order", "ItemFees", "Commission", commission));
    if afn {
        out.push(row(
            "Order",
            "ItemFees",
            "FBAPerUnitFulfillmentFee",
            -rng.money(250, 900),
        ));
    }
    if rng.chance(5) {
        // Refunded in the same period.
        let refund = |at: &'static str, ad: &'static str, amount: Decimal| SynthRow {
            transaction_type: "Refund",
            order_id: order_id.clone(),
            adjustment_id: format!("amzn1:crow:{n:x}+/R"),
            amount_type: at,
            amount_description: ad,
            amount,
            fulfillment,
            posted: posted + Duration::hours(30),
            sku: sku.clone(),
            quantity: None,
        };
        out.push(refund("ItemPrice", "Principal", -principal));
        out.push(refund("ItemPrice", "Tax", -tax));
        if opts.facilitator_tax {
            out.push(refund(
                "ItemWithheldTax",
                "MarketplaceFacilitatorVAT-Principal",
                tax,
            ));
        }
        out.push(refund("ItemFees", "Commission", -commission));
        out.push(refund(
            "ItemFees",
            "RefundCommission",
            (commission * Decimal::new(20, 2)).round_dp(2),
        ));
    }
}

fn period_rows(opts: &SynthOptions, rng: &mut Rng, period: Duration, out: &mut Vec<SynthRow>) {
    let end = opts.start + period;
    let other =
        |tt: &'static str, at: &'static str, ad: &'static str, amount: Decimal, posted| SynthRow {
            transaction_type: tt,
            order_id: String::new(),
            adjustment_id: String::new(),
            amount_type: at,
            amount_description: ad,
            amount,
            fulfillment: "",
            posted,
            sku: String::new(),
            quantity: None,
        };
    let scale = Decimal::from(1 + opts.orders as i64 / 100);
    out.push(other(
        "other-transaction",
        "other-transaction",
        "Subscription Fee",
        Decimal::new(-3900, 2),
        opts.start + Duration::days(1),
    ));
    out.push(other(
        "other-transaction",
        "other-transaction",
        "Storage Fee",
        -rng.money(100, 5000) * scale,
        opts.start + Duration::days(3),
    ));
    out.push(other(
        "other-transaction",
        "FBA Inventory Reimbursement",
        "WAREHOUSE_DAMAGE",
        rng.money(500, 4000),
        opts.start + Duration::days(5),
    ));
    out.push(other(
        "other-transaction",
        "other-transaction",
        "Previous Reserve Amount Balance",
        rng.money(1000, 20_000) * scale,
        opts.start,
    ));
    out.push(other(
        "other-transaction",
        "other-transaction",
        "Current Reserve Amount",
        -rng.money(1000, 20_000) * scale,
        end + Duration::minutes(3),
    ));
    for i in 0..opts.unknown_rows {
        out.push(other(
            "Mystery Programme",
            "other-transaction",
            "Unheard Of Fee",
            -Decimal::new(100 + i as i64, 2),
            opts.start + Duration::days(2),
        ));
    }
}

/// Sum of the detail rows `opts` generates.
pub fn rows_sum(opts: &SynthOptions) -> (u64, Decimal) {
    rows(opts).fold((0, Decimal::ZERO), |(n, s), r| (n + 1, s + r.amount))
}

/// Writes a generated settlement file. Two passes over the deterministic rows: one to total them for
/// the summary row, one to write them; memory stays flat whatever the size.
pub fn write_settlement<W: Write>(opts: &SynthOptions, out: W) -> io::Result<SynthSummary> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let (count, sum) = rows_sum(opts);
    let width = if opts.narrow { 23 } else { 24 };
    let order: Vec<usize> = match &opts.column_order {
        Some(o) => o.iter().copied().filter(|&i| i < width).collect(),
        None => (0..width).collect(),
    };
    let mut rng = Rng(opts.seed ^ 0xA5A5_A5A5);
    let mut cells: [String; 24] = Default::default();
    let write_line = |out: &mut io::BufWriter<W>, cells: &[String; 24]| -> io::Result<()> {
        for (n, &i) in order.iter().enumerate() {
            if n > 0 {
                out.write_all(b"\t")?;
            }
            out.write_all(cells[i].as_bytes())?;
        }
        out.write_all(b"\n")
    };
    for (i, name) in V2_COLUMNS.iter().enumerate() {
        cells[i] = (*name).to_owned();
    }
    write_line(&mut out, &cells)?;
    let end = opts.start + Duration::days(14);
    let deposit = end + Duration::days(2);
    cells.iter_mut().for_each(String::clear);
    cells[0] = opts.settlement_id.clone();
    cells[1] = timestamp(opts.locale, opts.start);
    cells[2] = timestamp(opts.locale, end);
    cells[3] = timestamp(opts.locale, deposit);
    cells[4] = amount(opts, sum + opts.total_skew, &mut rng);
    cells[5] = opts.currency.clone();
    write_line(&mut out, &cells)?;
    for row in rows(opts) {
        cells.iter_mut().for_each(String::clear);
        cells[0] = opts.settlement_id.clone();
        cells[6] = row.transaction_type.to_owned();
        cells[7] = row.order_id.clone();
        cells[8] = row.order_id;
        cells[9] = row.adjustment_id;
        cells[11] = if cells[7].is_empty() {
            String::new()
        } else {
            opts.marketplace.clone()
        };
        cells[12] = row.amount_type.to_owned();
        cells[13] = row.amount_description.to_owned();
        cells[14] = amount(opts, row.amount, &mut rng);
        cells[15] = row.fulfillment.to_owned();
        cells[16] = date(opts.locale, row.posted);
        cells[17] = timestamp(opts.locale, row.posted);
        cells[21] = row.sku;
        cells[22] = row.quantity.map(|q| q.to_string()).unwrap_or_default();
        write_line(&mut out, &cells)?;
    }
    out.flush()?;
    Ok(SynthSummary {
        rows: count,
        rows_sum: sum,
    })
}

fn timestamp(locale: Locale, t: DateTime<Utc>) -> String {
    match locale {
        Locale::Eu => t.format("%d.%m.%Y %H:%M:%S UTC").to_string(),
        Locale::Na | Locale::Mixed => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    }
}

fn date(locale: Locale, t: DateTime<Utc>) -> String {
    match locale {
        Locale::Eu => t.format("%d.%m.%Y").to_string(),
        Locale::Na | Locale::Mixed => t.format("%Y-%m-%d").to_string(),
    }
}

/// Formats an amount with at least two decimals in the locale's style.
fn amount(opts: &SynthOptions, value: Decimal, rng: &mut Rng) -> String {
    let mut v = value;
    if v.scale() < 2 {
        v.rescale(2);
    }
    let plain = v.to_string();
    match opts.locale {
        Locale::Na if opts.group_thousands => grouped(&plain, ',', '.'),
        Locale::Eu if opts.group_thousands => grouped(&plain, '.', ','),
        Locale::Na => plain,
        Locale::Eu => plain.replace('.', ","),
        Locale::Mixed => match rng.below(4) {
            0 => plain,
            1 => plain.replace('.', ","),
            2 => grouped(&plain, ',', '.'),
            _ => grouped(&plain, '.', ','),
        },
    }
}

/// `-1234567.89` -> `-1,234,567.89` (group `,`, decimal `.`) or `-1.234.567,89`.
fn grouped(plain: &str, group: char, decimal: char) -> String {
    let (sign, rest) = plain.strip_prefix('-').map_or(("", plain), |r| ("-", r));
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let mut out = String::with_capacity(plain.len() + 4);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(group);
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(decimal);
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_is_by_thousands() {
        assert_eq!(grouped("-1234567.89", ',', '.'), "-1,234,567.89");
        assert_eq!(grouped("123.40", '.', ','), "123,40");
        assert_eq!(grouped("1000.00", '.', ','), "1.000,00");
    }

    #[test]
    fn same_options_same_bytes() {
        let opts = SynthOptions {
            orders: 30,
            ..SynthOptions::default()
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        write_settlement(&opts, &mut a).unwrap();
        write_settlement(&opts, &mut b).unwrap();
        assert_eq!(a, b);
        assert!(a.len() > 1000);
    }
}
