//! The company's tax codes: `VatGroups` (EU/UK VAT localisations) and `SalesTaxCodes` (US and
//! Canada), stored as the entity sets SAP serves, with the shapes of the real `$metadata`.

use rust_decimal::Decimal;
use serde_json::Value;

use super::store::{Entity, Key, SapDb};
use super::validation::decimal;

/// The rate in percent of tax code `code` on `date` (`YYYY-MM-DD`): a VAT group's rate from its
/// `VatGroups_Lines` (the last line whose `Effectivefrom` is on or before the date), or a sales
/// tax code's `Rate`. `None` for an unknown code.
pub fn rate_on(db: &SapDb, code: &str, date: &str) -> Option<Decimal> {
    if let Some(g) = db.get("VatGroups", &Key::Str(code.to_string())) {
        return Some(vat_group_rate(g, date));
    }
    db.get("SalesTaxCodes", &Key::Str(code.to_string()))
        .map(|t| decimal(t.get("Rate")))
}

fn vat_group_rate(g: &Entity, date: &str) -> Decimal {
    let lines = g
        .get("VatGroups_Lines")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut best: Option<(String, Decimal)> = None;
    for l in &lines {
        let from = l
            .get("Effectivefrom")
            .and_then(Value::as_str)
            .unwrap_or("")
            .get(..10)
            .unwrap_or("")
            .to_string();
        if from.as_str() <= date && best.as_ref().is_none_or(|(b, _)| from >= *b) {
            best = Some((from, decimal(l.get("Rate"))));
        }
    }
    best.map(|(_, r)| r).unwrap_or_default()
}
