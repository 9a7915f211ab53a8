//! The company's tax codes: `VatGroups` (EU/UK VAT localisations) and `SalesTaxCodes` (US and
//! Canada), stored as the entity sets SAP serves, with the shapes of the real `$metadata`.

use rust_decimal::Decimal;
use serde_json::Value;

use super::accounts::{is_yes, s as prop};
use super::company::{admin_info, uses_sales_tax};
use super::store::{Entity, Key, SapDb};
use super::validation::decimal;
use super::wire::SapError;

/// SAP's answer to an unknown or unusable tax code (notes sap-b1.md, error table, WSL p23).
pub fn invalid_tax_code() -> SapError {
    SapError::rule("10000180 - Specify valid tax code")
}

// INVENTED: rates for databases seeded before the company had AdminInfo and tax code sets (the
// old world seed); used only when the company has no AdminInfo and the code is in neither set.
const PRE_SETTINGS_RATES: &[(&str, &str)] = &[
    ("DE19", "19"),
    ("DE7", "7"),
    ("FR20", "20"),
    ("FR55", "5.5"),
    ("UK20", "20"),
    ("UK0", "0"),
    ("EX0", "0"),
];

/// The tax code a document line (or freight row, or journal line) names and its rate on `date`.
///
/// With company settings, the localisation decides the property: `TaxCode` for US/Canadian
/// sales tax (`SalesTaxCodes`), `VatGroup` for VAT (`VatGroups`; SDK `Document_Lines~VatGroup`:
/// "Country-specific property for EU"). `vat_prop`/`tax_prop` are the property names the row
/// uses (`VatGroup`/`TaxCode` on documents, `TaxGroup`/`TaxCode` on journal lines).
/// `Ok(None)` when the row names no code.
pub fn row_tax(
    db: &SapDb,
    row: &Entity,
    vat_prop: &str,
    tax_prop: &str,
    date: &str,
) -> Result<Option<(String, Decimal)>, SapError> {
    let vat = prop(row, vat_prop);
    let sales = prop(row, tax_prop);
    if admin_info(db).is_none() {
        let Some(code) = sales.or(vat) else {
            return Ok(None);
        };
        let r = rate_on(db, code, date)
            .or_else(|| {
                PRE_SETTINGS_RATES
                    .iter()
                    .find(|(c, _)| *c == code)
                    .and_then(|(_, r)| r.parse().ok())
            })
            .ok_or_else(invalid_tax_code)?;
        return Ok(Some((code.to_string(), r)));
    }
    // INVENTED: a code in the other localisation's property is answered like an unknown code
    // (SAP's own reaction to the wrong property is not quoted in our sources).
    let (code, set) = if uses_sales_tax(db) {
        if vat.is_some() {
            return Err(invalid_tax_code());
        }
        (sales, "SalesTaxCodes")
    } else {
        if sales.is_some() {
            return Err(invalid_tax_code());
        }
        (vat, "VatGroups")
    };
    let Some(code) = code else {
        return Ok(None);
    };
    let def = db
        .master(set, &Key::Str(code.to_string()))
        .ok_or_else(invalid_tax_code)?;
    if is_yes(def, "Inactive") {
        return Err(invalid_tax_code());
    }
    let r = if set == "VatGroups" {
        vat_group_rate(def, date)
    } else {
        decimal(def.get("Rate"))
    };
    Ok(Some((code.to_string(), r)))
}

/// The G/L account a tax code's amounts post to: a VAT group's `TaxAccount`, else `None` (sales
/// tax codes post through their authorities, which the sandbox does not model).
pub fn tax_account(db: &SapDb, code: &str) -> Option<String> {
    db.master("VatGroups", &Key::Str(code.to_string()))
        .and_then(|g| prop(g, "TaxAccount"))
        .map(str::to_string)
}

/// The rate in percent of tax code `code` on `date` (`YYYY-MM-DD`): a VAT group's rate from its
/// `VatGroups_Lines` (the last line whose `Effectivefrom` is on or before the date), or a sales
/// tax code's `Rate`. `None` for an unknown code.
pub fn rate_on(db: &SapDb, code: &str, date: &str) -> Option<Decimal> {
    if let Some(g) = db.master("VatGroups", &Key::Str(code.to_string())) {
        return Some(vat_group_rate(g, date));
    }
    db.master("SalesTaxCodes", &Key::Str(code.to_string()))
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

/// Checks that a VAT group on an A/R document row is an output-tax group: SDK
/// `VatGroups~Category` "Determines whether the tax group applies to sales documents (output
/// tax) or to purchase documents (input tax)".
// INVENTED: an input-tax group on a sales row is answered like an unknown code.
pub fn check_output_group(db: &SapDb, code: &str) -> Result<(), SapError> {
    match db
        .master("VatGroups", &Key::Str(code.to_string()))
        .and_then(|g| prop(g, "Category"))
    {
        Some("bovcInputTax") if admin_info(db).is_some() => Err(invalid_tax_code()),
        _ => Ok(()),
    }
}

/// Checks that a journal line's tax group can be used on a manual journal entry: SAP's Tax
/// Groups – Setup window, "Acquisition/Reverse": "The unique structure of journal entry that
/// involves acquisition tax, is supported only by the creation of purchasing documents such as
/// A/P Invoice or A/P Down Payment Invoice. Acquisition tax codes are not available for selection
/// in manual journal entry" (help.sap.com, SAP Business One 2005 online help).
// INVENTED: the refusal's code and text (SAP's answer over the Service Layer is not quoted).
pub fn check_journal_group(db: &SapDb, code: Option<&str>) -> Result<(), SapError> {
    let Some(code) = code else {
        return Ok(());
    };
    match db.master("VatGroups", &Key::Str(code.to_string())) {
        Some(g) if is_yes(g, "AcquisitionReverse") => Err(SapError::rule(format!(
            "Tax code '{code}' is an acquisition/reverse tax code; it is available on A/P documents only [JDT1.VatGroup]"
        ))),
        _ => Ok(()),
    }
}
