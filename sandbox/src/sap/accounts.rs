//! Helpers shared by the document modules: SAP's rounding, string and flag reads, the checks on
//! accounts and business partners every posting makes.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use super::store::{Entity, Key, SapDb};
use super::wire::SapError;

/// Rounds an amount to 2 decimals, half away from zero.
pub fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A non-empty string property.
pub fn s<'a>(e: &'a Entity, k: &str) -> Option<&'a str> {
    e.get(k).and_then(Value::as_str).filter(|x| !x.is_empty())
}

/// Whether a `BoYesNoEnum` property is `tYES`.
pub fn is_yes(e: &Entity, k: &str) -> bool {
    s(e, k) == Some("tYES")
}

/// Checks a G/L account can take postings: it exists, is not a title account, is not inactive.
pub fn check_account(db: &SapDb, code: &str) -> Result<(), SapError> {
    let acct = db
        .get("ChartOfAccounts", &Key::Str(code.to_string()))
        .ok_or_else(|| SapError::not_found(400))?;
    if !is_yes(acct, "ActiveAccount") {
        // INVENTED: the -10 text for a title (non-postable) account; SAP's wording is not quoted in our sources.
        return Err(SapError::rule(format!(
            "Account '{code}' is a title account and cannot be used in transactions"
        )));
    }
    if is_yes(acct, "FrozenFor") {
        // INVENTED: the -10 text for a frozen account; SAP's wording is not quoted in our sources.
        return Err(SapError::rule(format!("Account '{code}' is inactive")));
    }
    Ok(())
}

/// Checks a G/L account can take a line of a manual journal entry: [`check_account`], and (to
/// come) the blocks SAP puts on manual postings.
pub fn check_manual_account(db: &SapDb, code: &str) -> Result<(), SapError> {
    check_account(db, code)
}

/// The document's business partner: it exists and is active.
pub fn customer<'a>(db: &'a SapDb, e: &Entity) -> Result<&'a Entity, SapError> {
    // INVENTED: the text for a document without CardCode; SAP's wording is not quoted in our sources.
    let code = s(e, "CardCode").ok_or_else(|| SapError::rule("Specify the BP code (CardCode)"))?;
    let bp = db
        .get("BusinessPartners", &Key::Str(code.to_string()))
        .ok_or_else(|| SapError::not_found(400))?;
    if s(bp, "Valid") == Some("tNO") || is_yes(bp, "Frozen") {
        return Err(SapError::rule(format!(
            "10001071 - Customer {code} is inactive"
        )));
    }
    Ok(bp)
}
