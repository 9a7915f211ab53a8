//! Daily exchange rates of the world's company: local currency units per one unit of a foreign
//! currency (SAP's direct quotation, the one `SBOBobService_SetCurrencyRate` stores).

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

use super::WorldKind;

/// Foreign currencies (ISO) the company of `kind` keeps rates for, with their base rate in
/// millionths of a local unit.
// INVENTED: the rates. Base values near late-2020s market rates; each day's rate moves within
// ±0.1 % of the base by a fixed pattern, so every day differs and runs are reproducible.
fn bases(kind: WorldKind) -> &'static [(&'static str, i64)] {
    match kind {
        WorldKind::Na => &[
            ("CAD", 730_000),
            ("MXN", 55_000),
            ("EUR", 1_085_000),
            ("GBP", 1_265_000),
        ],
        WorldKind::Eu => &[("EUR", 845_000), ("USD", 790_000)],
    }
}

/// The foreign currencies (ISO) the company keeps daily rates for.
pub fn foreign_currencies(kind: WorldKind) -> Vec<&'static str> {
    bases(kind).iter().map(|(c, _)| *c).collect()
}

/// Local units per one unit of `currency` (ISO) on `date`; `None` for the local currency or one
/// without rates.
pub fn exchange_rate(kind: WorldKind, currency: &str, date: NaiveDate) -> Option<Decimal> {
    let (_, base) = bases(kind).iter().find(|(c, _)| *c == currency)?;
    let day = i64::from(date.num_days_from_ce());
    let wobble = (day * 7919).rem_euclid(41) - 20; // -20..=20
    let rate = Decimal::new(*base, 6) * (Decimal::ONE + Decimal::new(wobble, 4) / Decimal::from(2));
    Some(rate.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_stay_within_one_percent_and_change_by_day() {
        let d0 = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let r0 = exchange_rate(WorldKind::Eu, "EUR", d0).unwrap();
        let r1 = exchange_rate(WorldKind::Eu, "EUR", d0.succ_opt().unwrap()).unwrap();
        assert_ne!(r0, r1);
        for r in [r0, r1] {
            assert!((r - Decimal::new(845, 3)).abs() <= Decimal::new(845, 5));
        }
        assert_eq!(exchange_rate(WorldKind::Eu, "GBP", d0), None);
        assert_eq!(exchange_rate(WorldKind::Na, "USD", d0), None);
    }
}
