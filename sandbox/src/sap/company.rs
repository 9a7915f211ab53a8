//! The company behind the Service Layer: its settings (`AdminInfo`: local and system currency,
//! country, branches) and its daily exchange rates.
//!
//! SAP keeps both outside entity sets and serves them through service calls
//! (`CompanyService_GetAdminInfo`, `SBOBobService_GetCurrencyRate`/`SetCurrencyRate`); the sandbox
//! stores them in the internal sets `_AdminInfo` (one row, key 1) and `_CurrencyRates` (key
//! `"<SAP currency code>|<YYYY-MM-DD>"`) so they are saved and rolled back like everything else.

use rust_decimal::Decimal;
use serde_json::Value;

use super::store::{Entity, Key, SapDb, UndoLog};
use super::validation::{decimal, number};

/// The internal set holding the company's `AdminInfo`.
pub const ADMIN_SET: &str = "_AdminInfo";
/// The internal set holding daily exchange rates.
pub const RATES_SET: &str = "_CurrencyRates";

/// Stores the company's settings (an `AdminInfo` complex value: `LocalCurrency`,
/// `SystemCurrency`, `Country`, ...).
pub fn set_admin_info(db: &mut SapDb, mut info: Entity, undo: &mut UndoLog) {
    info.insert("Key".into(), Value::from(1));
    db.put(ADMIN_SET, Key::Int(1), info, undo);
}

/// The company's settings, if seeded.
pub fn admin_info(db: &SapDb) -> Option<&Entity> {
    db.get(ADMIN_SET, &Key::Int(1))
}

fn admin_str<'a>(db: &'a SapDb, prop: &str) -> Option<&'a str> {
    admin_info(db)?
        .get(prop)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The company's local currency (SAP code); `None` for a database seeded without settings.
pub fn local_currency(db: &SapDb) -> Option<&str> {
    admin_str(db, "LocalCurrency")
}

/// The company's country (`US`, `GB`, `DE`, ...), which stands for its localisation here.
pub fn country(db: &SapDb) -> Option<&str> {
    admin_str(db, "Country")
}

/// Whether the localisation uses US/Canadian sales tax (`SalesTaxCodes`, lines carry `TaxCode`)
/// rather than VAT (`VatGroups`, lines carry `VatGroup`).
pub fn uses_sales_tax(db: &SapDb) -> bool {
    matches!(country(db), Some("US" | "CA"))
}

fn rate_key(currency: &str, date: &str) -> Key {
    Key::Str(format!("{currency}|{date}"))
}

/// Sets the rate of `currency` (SAP code) on `date` (`YYYY-MM-DD`): local currency units per one
/// unit of `currency`, as SAP's direct rate quotation stores it.
pub fn set_rate(db: &mut SapDb, currency: &str, date: &str, rate: Decimal, undo: &mut UndoLog) {
    let mut e = Entity::new();
    let key = rate_key(currency, date);
    e.insert("Key".into(), key.to_json());
    e.insert("Currency".into(), Value::from(currency));
    e.insert("RateDate".into(), Value::from(date));
    e.insert("Rate".into(), number(rate));
    db.put(RATES_SET, key, e, undo);
}

/// The rate of `currency` on `date`, if one was set for that very day (SAP does not carry rates
/// forward: a foreign-currency document needs the rate of its own date).
pub fn rate(db: &SapDb, currency: &str, date: &str) -> Option<Decimal> {
    db.get(RATES_SET, &rate_key(currency, date))
        .map(|e| decimal(e.get("Rate")))
        .filter(|r| !r.is_zero())
}
