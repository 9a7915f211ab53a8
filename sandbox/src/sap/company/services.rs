//! The company's service calls: `CompanyService_GetAdminInfo`, `SBOBobService_GetCurrencyRate`
//! and `SBOBobService_SetCurrencyRate`, with the parameters of the real `$metadata`
//! (v3 `FunctionImport` / v4 `Function`/`Action`: `GetCurrencyRate(Currency, Date) -> Edm.Double`,
//! `SetCurrencyRate(RateDate, Currency, Rate: Edm.String)`, `GetAdminInfo() -> SAPB1.AdminInfo`).
//! Public request examples (`programacionparaaprender/cursogithub`,
//! `DesarrolloSoftware/SAPDeveloper/apisap.md`): `SetCurrencyRate {"Currency":"EUR","Rate":"4.8",
//! "RateDate":"20161129"}` and `GetCurrencyRate {"Currency":"US$","Date":"20211001"}`: dates as
//! `YYYYMMDD`, currencies by the company's own code (`US$`, not ISO).

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::super::schema::type_def;
use super::super::store::{SapDb, UndoLog};
use super::super::validation::{decimal, number};
use super::super::wire::{SapError, SapResponse, Version, render};
use super::{admin_info, check_currency, local_currency, rate, set_rate};

/// Answers a company service call, or `None` when `rest` is not one.
pub fn route(
    db: &mut SapDb,
    undo: &mut UndoLog,
    root: &str,
    version: Version,
    method: &str,
    rest: &str,
    body: &[u8],
) -> Result<Option<SapResponse>, SapError> {
    let name = rest.trim_end_matches('/');
    if !matches!(
        name,
        "CompanyService_GetAdminInfo"
            | "SBOBobService_GetCurrencyRate"
            | "SBOBobService_SetCurrencyRate"
    ) {
        return Ok(None);
    }
    if method != "POST" {
        // The metadata declares these imports with m:HttpMethod="POST" (v3).
        return Err(SapError::new(
            405,
            "-1000",
            format!("Method {method} is not allowed on this resource"),
        ));
    }
    let params = params(body)?;
    let resp = match name {
        "CompanyService_GetAdminInfo" => get_admin_info(db, root, version)?,
        "SBOBobService_GetCurrencyRate" => get_currency_rate(db, root, version, &params)?,
        _ => set_currency_rate(db, undo, &params)?,
    };
    Ok(Some(resp))
}

fn params(body: &[u8]) -> Result<Map<String, Value>, SapError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(SapError::malformed("Invalid JSON in the request body")),
    }
}

fn text<'a>(p: &'a Map<String, Value>, k: &str) -> Result<&'a str, SapError> {
    p.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        // INVENTED: the text for a missing service parameter; not quoted in our sources.
        .ok_or_else(|| SapError::malformed(format!("Parameter '{k}' is missing")))
}

/// `YYYYMMDD` (the form public examples send) or `YYYY-MM-DD[...]` as `YYYY-MM-DD`.
fn service_date(s: &str) -> Result<String, SapError> {
    let digits: String = s
        .chars()
        .take_while(|c| *c != 'T')
        .filter(char::is_ascii_digit)
        .collect();
    if digits.len() != 8 {
        // INVENTED: the text for an unreadable date parameter; not quoted in our sources.
        return Err(SapError::malformed(format!("Invalid date '{s}'")));
    }
    Ok(format!(
        "{}-{}-{}",
        &digits[..4],
        &digits[4..6],
        &digits[6..]
    ))
}

fn context(root: &str, version: Version, what: &str) -> (String, Value) {
    let key = match version {
        Version::V1 => "odata.metadata",
        Version::V2 => "@odata.context",
    };
    (key.into(), Value::from(format!("{root}/$metadata#{what}")))
}

fn get_admin_info(db: &SapDb, root: &str, version: Version) -> Result<SapResponse, SapError> {
    // INVENTED: the answer for a company without settings; a real company always has them.
    let info = admin_info(db).ok_or_else(|| SapError::not_found(400))?;
    let declared = type_def("AdminInfo");
    let props: Map<String, Value> = info
        .iter()
        .filter(|(k, _)| declared.is_some_and(|d| d.props.iter().any(|(n, _)| n == k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut out = render("AdminInfo", &props, version);
    let (k, v) = context(root, version, "SAPB1.AdminInfo");
    out.insert(k, v);
    Ok(SapResponse::json(200, Value::Object(out)))
}

fn get_currency_rate(
    db: &SapDb,
    root: &str,
    version: Version,
    p: &Map<String, Value>,
) -> Result<SapResponse, SapError> {
    let currency = text(p, "Currency")?;
    let date = service_date(text(p, "Date")?)?;
    check_currency(db, currency)?;
    let r = if local_currency(db) == Some(currency) {
        // INVENTED: the rate of the local currency answered as 1.
        Decimal::ONE
    } else {
        // INVENTED: the code and text for a day without a rate; not quoted in our sources.
        rate(db, currency, &date).ok_or_else(|| {
            SapError::rule(format!(
                "Exchange rate for '{currency}' on {date} is not defined"
            ))
        })?
    };
    // v1: a bare number (public examples, notes sap-b1.md "Exchange rates").
    // INVENTED: v2 wraps the Edm.Double in OData v4's primitive form {"@odata.context","value"}.
    let body = match version {
        Version::V1 => number(r),
        Version::V2 => {
            let (k, v) = context(root, version, "Edm.Double");
            json!({ k: v, "value": number(r) })
        }
    };
    Ok(SapResponse::json(200, body))
}

fn set_currency_rate(
    db: &mut SapDb,
    undo: &mut UndoLog,
    p: &Map<String, Value>,
) -> Result<SapResponse, SapError> {
    let currency = text(p, "Currency")?.to_string();
    let date = service_date(text(p, "RateDate")?)?;
    // The metadata types Rate as Edm.String; numbers are accepted too.
    let r = decimal(p.get("Rate"));
    check_currency(db, &currency)?;
    if local_currency(db) == Some(currency.as_str()) {
        // INVENTED: the text for a rate on the local currency; not quoted in our sources.
        return Err(SapError::rule(format!(
            "Cannot set an exchange rate for the local currency '{currency}'"
        )));
    }
    if r <= Decimal::ZERO {
        // INVENTED: the text for a rate <= 0; not quoted in our sources.
        return Err(SapError::rule("Exchange rate must be positive"));
    }
    set_rate(db, &currency, &date, r, undo);
    Ok(SapResponse::no_content())
}
