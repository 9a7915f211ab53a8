//! Input checks like the Service Layer's: undeclared properties (and UDFs) are rejected, strings
//! longer than SAP's field sizes are refused, numbers may come as strings, dates and times come
//! in several forms and are stored in one.

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::str::FromStr;

use super::lengths::max_len;
use super::schema::{Kind, Scope, enum_has, type_def};
use super::udf::spec_value;
use super::user_tables::too_long;
use super::wire::SapError;

/// Normalises a request body for `type_name` in `scope` (release and UDFs); errors name the
/// first bad property, nested collections included.
pub fn normalize(
    scope: &Scope<'_>,
    type_name: &str,
    body: &Map<String, Value>,
) -> Result<Map<String, Value>, SapError> {
    let def = type_def(type_name)
        .ok_or_else(|| SapError::malformed(format!("Unknown type {type_name}")))?;
    let mut out = Map::new();
    for (k, v) in body {
        if k.starts_with("odata.") || k.starts_with("@odata.") || k.contains("@odata.") {
            continue;
        }
        if k.starts_with("U_") {
            if type_name.starts_with("U_") {
                // A user-table row: its fields are checked by `user_tables`.
                out.insert(k.clone(), v.clone());
                continue;
            }
            // UDFs the company declared (and the Service Layer has loaded) only.
            let spec = scope
                .udf(type_name, k)
                .ok_or_else(|| SapError::invalid_property(k, type_name))?;
            out.insert(k.clone(), spec_value(&spec, type_name, k, v)?);
            continue;
        }
        let Some(kind) = def
            .props
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, kind)| *kind)
            .filter(|_| scope.profile.declares(type_name, k))
        else {
            return Err(SapError::invalid_property(k, type_name));
        };
        if v.is_null() {
            continue;
        }
        let bad =
            || SapError::malformed(format!("Invalid value for property '{k}' of '{type_name}'"));
        let value = match kind {
            Kind::String | Kind::Other(_) => {
                let v = match v {
                    Value::Number(n) => Value::from(n.to_string()),
                    other => other.clone(),
                };
                if let (Some(max), Some(text)) = (max_len(type_name, k), v.as_str())
                    && text.chars().count() > max
                {
                    return Err(too_long(k, type_name));
                }
                v
            }
            Kind::Int => match v {
                Value::Number(n) if n.is_i64() => v.clone(),
                Value::String(s) => Value::from(s.trim().parse::<i64>().map_err(|_| bad())?),
                _ => return Err(bad()),
            },
            Kind::Double => {
                let d = match v {
                    Value::Number(n) => Decimal::from_str(&n.to_string())
                        .or_else(|_| Decimal::from_scientific(&n.to_string()))
                        .map_err(|_| bad())?,
                    Value::String(s) => Decimal::from_str(s.trim()).map_err(|_| bad())?,
                    _ => return Err(bad()),
                };
                // B1 amount columns are numeric(19,6): nothing reaches 10^13.
                if d.abs() >= Decimal::from(10_000_000_000_000i64) {
                    return Err(bad());
                }
                number(d)
            }
            Kind::Date => Value::from(parse_date(v.as_str().ok_or_else(bad)?).ok_or_else(bad)?),
            Kind::Time => Value::from(parse_time(v.as_str().ok_or_else(bad)?).ok_or_else(bad)?),
            Kind::Enum(e) => {
                let s = v.as_str().ok_or_else(bad)?;
                if !enum_has(e, s) {
                    return Err(SapError::malformed(format!(
                        "Enumeration value '{s}' of property '{k}' is not valid"
                    )));
                }
                v.clone()
            }
            Kind::Collection(t) => {
                let items = v.as_array().ok_or_else(bad)?;
                let mut arr = Vec::with_capacity(items.len());
                for item in items {
                    arr.push(Value::Object(normalize(
                        scope,
                        t,
                        item.as_object().ok_or_else(bad)?,
                    )?));
                }
                Value::Array(arr)
            }
            Kind::Complex(t) => Value::Object(normalize(scope, t, v.as_object().ok_or_else(bad)?)?),
        };
        out.insert(k.clone(), value);
    }
    Ok(out)
}

/// A Decimal as a JSON number (no float arithmetic on our side).
pub fn number(d: Decimal) -> Value {
    let s = d.normalize().to_string();
    Value::Number(serde_json::Number::from_str(&s).unwrap_or_else(|_| serde_json::Number::from(0)))
}

/// A JSON number or numeric string as a Decimal.
pub fn decimal(v: Option<&Value>) -> Decimal {
    match v {
        Some(Value::Number(n)) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .unwrap_or_default(),
        Some(Value::String(s)) => Decimal::from_str(s.trim()).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

/// `2024-05-01`, `2024-05-01T10:00:00Z`, `20240501`, `datetime'2024-05-01'` -> `2024-05-01`.
pub fn parse_date(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .strip_prefix("datetime'")
        .and_then(|x| x.strip_suffix('\''))
        .unwrap_or(s);
    let digits: String = s
        .chars()
        .take_while(|c| *c != 'T' && *c != ' ')
        .filter(|c| c.is_ascii_digit())
        .collect();
    if digits.len() < 8 {
        return None;
    }
    let (y, m, d) = (&digits[0..4], &digits[4..6], &digits[6..8]);
    let date = chrono::NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some(date.format("%Y-%m-%d").to_string())
}

/// `18:38`, `18:38:00`, `1838`, `183800`, `2014-06-18T18:38:00Z` -> `18:38:00`.
pub fn parse_time(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.split_once('T').map_or(s, |(_, t)| t);
    let digits: String = s
        .chars()
        .take_while(|c| *c != 'Z' && *c != '+' && *c != '.')
        .filter(|c| c.is_ascii_digit())
        .collect();
    let (h, m, sec) = match digits.len() {
        4 => (&digits[0..2], &digits[2..4], "00"),
        6 => (&digits[0..2], &digits[2..4], &digits[4..6]),
        _ => return None,
    };
    let t = chrono::NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?)?;
    Some(t.format("%H:%M:%S").to_string())
}
