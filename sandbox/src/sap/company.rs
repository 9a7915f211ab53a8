//! The company behind the Service Layer: its settings (`AdminInfo`: local and system currency,
//! country, branches) and its daily exchange rates.
//!
//! SAP keeps both outside entity sets and serves them through service calls
//! (`CompanyService_GetAdminInfo`, `SBOBobService_GetCurrencyRate`/`SetCurrencyRate`); the sandbox
//! stores them in the internal sets `_AdminInfo` (one row, key 1) and `_CurrencyRates` (key
//! `"<SAP currency code>|<YYYY-MM-DD>"`) so they are saved and rolled back like everything else.

pub mod services;

use rust_decimal::Decimal;
use serde_json::Value;

use super::store::{Entity, Key, SapDb, UndoLog};
use super::validation::{decimal, number};
use super::wire::SapError;

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
    db.master(ADMIN_SET, &Key::Int(1))
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
    db.master(RATES_SET, &rate_key(currency, date))
        .map(|e| decimal(e.get("Rate")))
        .filter(|r| !r.is_zero())
}

/// Whether the company blocks stock from going negative (`AdminInfo.BlockStockNegativeQuantity`,
/// a property of SAP's `AdminInfo` in the v4 `$metadata`).
pub fn blocks_negative_stock(db: &SapDb) -> bool {
    admin_str(db, "BlockStockNegativeQuantity") == Some("tYES")
}

/// The accounts SAP posts realized exchange-rate differences of A/R payments to: (gain, loss).
///
/// SAP keeps them in the G/L account determination (`PeriodCategory.ARGainRealizedExchngeDif` /
/// `ARLossRealizedExchangeDi` in the v4 `$metadata`; "Assign Accounts for Realized Exchange Rate
/// Differences ... under GL Account Determination", SAP blog "How does SAP Business One handle
/// Exchange Rate Differences", blogs.sap.com 2020-07-01).
// INVENTED: the sandbox has no PeriodCategory store, so it reads these two properties from the
// stored AdminInfo row (they are not AdminInfo properties and are not served by GetAdminInfo).
pub fn exchange_difference_accounts(db: &SapDb) -> Option<(String, String)> {
    let gain = admin_str(db, "ARGainRealizedExchngeDif")?.to_string();
    let loss = admin_str(db, "ARLossRealizedExchangeDi")?.to_string();
    Some((gain, loss))
}

/// A document's currency and its rate to the local currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocMoney {
    /// The company's local currency (SAP code).
    pub local: String,
    /// The document currency (SAP code).
    pub currency: String,
    /// Local currency units per unit of `currency`; 1 for the local currency.
    pub rate: Decimal,
}

impl DocMoney {
    /// Whether the document is in the local currency.
    pub fn is_local(&self) -> bool {
        self.currency == self.local
    }
}

/// Checks that `code` is one of the company's currencies (`Currencies` entity set, keyed by SAP's
/// own code, which may differ from the ISO code in `InternationalDescription`, e.g. `$`).
pub fn check_currency(db: &SapDb, code: &str) -> Result<(), SapError> {
    if db
        .master("Currencies", &Key::Str(code.to_string()))
        .is_some()
    {
        Ok(())
    } else {
        // An unknown referenced master record on POST is answered -2028 (notes sap-b1.md, error
        // table, WSL p89 / KBA 2693418).
        Err(SapError::not_found(400))
    }
}

/// The rate a document in `currency` dated `date` is posted at: 1 for the local currency, the
/// `DocRate` sent if positive (SDK `Documents~DocRate`: "the exchange rate used in the
/// document"), else the company's rate of that day.
pub fn doc_rate(
    db: &SapDb,
    currency: &str,
    date: &str,
    sent: Decimal,
    table: &str,
) -> Result<Decimal, SapError> {
    if local_currency(db) == Some(currency) {
        return Ok(Decimal::ONE);
    }
    if sent > Decimal::ZERO {
        return Ok(sent);
    }
    // A foreign-currency document needs the rate of its date (review sap-fidelity F1: "If no
    // exchange rate exists for the date, SAP refuses any FC document").
    // INVENTED: the exact text and code; SAP's message is not quoted in our sources.
    rate(db, currency, date).ok_or_else(|| {
        SapError::rule(format!(
            "Update the exchange rate for currency '{currency}' on {date} [{table}.DocRate]"
        ))
    })
}
