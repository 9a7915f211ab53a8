//! Amazon Currency Converter for Sellers in the worlds: which settlement currencies Amazon pays out
//! in the seller's bank currency, and the converted amount the Finances API reports for them
//! (`FinancialEventGroup.ConvertedTotal`; `OriginalTotal` stays in the marketplace currency).
//!
//! The North America seller banks in USD, so its .ca (CAD) and .com.mx (MXN) payouts are converted;
//! the UK seller keeps a EUR account, so its .de/.fr payouts are not.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use super::WorldKind;
use super::rates::exchange_rate;

/// The currency Amazon converts a payout in `currency` into for the seller of `kind`, if any.
pub fn payout_currency(kind: WorldKind, currency: &str) -> Option<&'static str> {
    match (kind, currency) {
        (WorldKind::Na, "CAD" | "MXN") => Some("USD"),
        _ => None,
    }
}

/// Amazon's converted amount of `total` (in `currency`) on `date`: (currency, amount).
// INVENTED: Amazon's conversion rate. Amazon documents that the converter applies its own rate
// including a conversion fee, not the rate or the fee; the fake takes the company's rate of the day
// less 1.5 %, so the bank receives a little less than SAP's rate makes the settlement worth.
pub fn converted(
    kind: WorldKind,
    currency: &str,
    total: Decimal,
    date: NaiveDate,
) -> Option<(&'static str, Decimal)> {
    let to = payout_currency(kind, currency)?;
    let rate = exchange_rate(kind, currency, date)? * Decimal::new(985, 3);
    Some((
        to,
        (total * rate).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn na_converts_cad_and_mxn_into_usd_below_the_company_rate() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let total = Decimal::new(100_000, 2);
        let (to, amount) = converted(WorldKind::Na, "CAD", total, date).unwrap();
        assert_eq!(to, "USD");
        let at_rate = total * exchange_rate(WorldKind::Na, "CAD", date).unwrap();
        assert!(amount < at_rate && amount > at_rate * Decimal::new(98, 2));
        assert!(converted(WorldKind::Na, "USD", total, date).is_none());
        assert!(converted(WorldKind::Eu, "EUR", total, date).is_none());
    }
}
