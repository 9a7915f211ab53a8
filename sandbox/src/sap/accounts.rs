//! Helpers shared by the document modules: SAP's rounding, string and flag reads, the checks on
//! accounts and business partners every posting makes.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use super::store::{Entity, Key, SapDb};
use super::validation::parse_date;
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

/// Checks a G/L account can take postings: it exists, is not a title account, is not inactive
/// (payments: no posting date at hand, so only an open-ended `FrozenFor` counts).
pub fn check_account(db: &SapDb, code: &str) -> Result<(), SapError> {
    check_account_on(db, code, None).map(|_| ())
}

/// Whether `date` (`YYYY-MM-DD`) is in the range `from`..=`to` of an account (either end may be
/// missing: open).
fn in_range(acct: &Entity, from: &str, to: &str, date: &str) -> bool {
    s(acct, from).is_none_or(|f| parse_date(f).is_none_or(|f| f.as_str() <= date))
        && s(acct, to).is_none_or(|t| parse_date(t).is_none_or(|t| date <= t.as_str()))
}

fn has_range(acct: &Entity, from: &str, to: &str) -> bool {
    s(acct, from).is_some() || s(acct, to).is_some()
}

/// Checks a G/L account can take a posting dated `date` (if known): it exists, is an active
/// (postable) account, and is not inactive on that date.
///
/// SDK `ChartOfAccounts` members (`ValidFor`/`ValidFrom`/`ValidTo`: the account is active in that
/// range; `FrozenFor`/`FrozenFrom`/`FrozenTo`: inactive in that range, or for good without dates);
/// all six exist in M3 and M4.
pub fn check_account_on<'a>(
    db: &'a SapDb,
    code: &str,
    date: Option<&str>,
) -> Result<&'a Entity, SapError> {
    let acct = db
        .master("ChartOfAccounts", &Key::Str(code.to_string()))
        .ok_or_else(|| SapError::not_found(400))?;
    if !is_yes(acct, "ActiveAccount") {
        // INVENTED: the -10 text for a title (non-postable) account; SAP's wording is not quoted in our sources.
        return Err(SapError::rule(format!(
            "Account '{code}' is a title account and cannot be used in transactions"
        )));
    }
    // INVENTED: the -10 text for an inactive account; SAP's wording is not quoted in our sources.
    let inactive = || SapError::rule(format!("Account '{code}' is inactive"));
    if is_yes(acct, "FrozenFor") {
        let frozen = match date {
            _ if !has_range(acct, "FrozenFrom", "FrozenTo") => true,
            Some(d) => in_range(acct, "FrozenFrom", "FrozenTo", d),
            None => false,
        };
        if frozen {
            return Err(inactive());
        }
    }
    if is_yes(acct, "ValidFor")
        && let Some(d) = date
        && !in_range(acct, "ValidFrom", "ValidTo", d)
    {
        return Err(inactive());
    }
    Ok(acct)
}

/// Checks a G/L account can take a line of a manual journal entry dated `date`:
/// [`check_account_on`], and the blocks SAP puts on manual postings.
///
/// - `LockManualTransaction` (OACT.LocManTran, the control-account flag, review F7);
/// - `BlockManualPosting`: "creating manual journal entries … for the given account will be
///   blocked", available since 9.3 (SAP Business One tip of the week, G3G,
///   <https://www.g3g.com/block-manual-postings-to-accounts/>);
/// - `ReconciledAccount`: "Reconciliation accounts, such as tax accounts and goods receipt
///   clearing accounts, cannot be posted manually" (SDK `ChartOfAccounts~ReconciledAccount`).
///
/// INVENTED: the wording of the three refusals (code `-10`, SAP's business-rule code).
pub fn check_manual_account(db: &SapDb, code: &str, date: &str) -> Result<(), SapError> {
    let acct = check_account_on(db, code, Some(date))?;
    if is_yes(acct, "LockManualTransaction") {
        return Err(SapError::rule(format!(
            "Account '{code}' is a control account; it cannot be used in a manual journal entry"
        )));
    }
    if is_yes(acct, "BlockManualPosting") {
        return Err(SapError::rule(format!(
            "Manual postings to account '{code}' are blocked"
        )));
    }
    if is_yes(acct, "ReconciledAccount") {
        return Err(SapError::rule(format!(
            "Account '{code}' is a reconciliation account and cannot be posted manually"
        )));
    }
    Ok(())
}

/// The document's business partner: it exists and is active.
pub fn customer<'a>(db: &'a SapDb, e: &Entity) -> Result<&'a Entity, SapError> {
    // INVENTED: the text for a document without CardCode; SAP's wording is not quoted in our sources.
    let code = s(e, "CardCode").ok_or_else(|| SapError::rule("Specify the BP code (CardCode)"))?;
    let bp = db
        .master("BusinessPartners", &Key::Str(code.to_string()))
        .ok_or_else(|| SapError::not_found(400))?;
    if s(bp, "Valid") == Some("tNO") || is_yes(bp, "Frozen") {
        return Err(SapError::rule(format!(
            "10001071 - Customer {code} is inactive"
        )));
    }
    Ok(bp)
}
