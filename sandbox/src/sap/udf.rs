//! User-defined fields (`U_*`) as the Service Layer serves them: on user tables (`@MLC_KEYS`)
//! and on system tables (`OINV` for marketing documents, `OCRD` for business partners, ...).
//!
//! Sources (tags as in `../shared/reference/notes/sap-b1.md`):
//! - A UDF is created with `POST /UserFieldsMD {"Name","Type","Size","TableName"}`; B1 creates it
//!   on the related tables too ("OCRD+ACRD, RDR1→all line tables") [WSL §3.14]: a field added to
//!   one marketing-document header table is a property of every `Document`.
//! - New UDFs are invisible until the Service Layer restarts [WSL §7.2].
//! - An undeclared UDF is refused, in bodies and in `$select`/`$filter`, with
//!   `Property 'U_x' of 'Document' is invalid` (PRAC-56771616945, PRAC-69453083267; code
//!   `-1000` as for any undeclared property, PRAC-65744116067).
//! - A value longer than the field's size is refused, not truncated: "Value too long in property
//!   'U_DraftStatus' of 'StockTransfer'" (PRAC-54041280839).

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::store::SapDb;
use super::user_tables::{serves_field, too_long};
use super::validation::{number, parse_date};
use super::wire::SapError;

/// How a user-defined field stores values.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// `db_Alpha`, `db_Numeric`, `db_Date`, `db_Float`, `db_Memo`.
    pub ty: String,
    /// `EditSize` (the maximum length of a `db_Alpha` value).
    pub size: Option<usize>,
    /// `DefaultValue`, if any.
    pub default: Option<Value>,
}

/// Marketing-document header tables (DI `Documents`): a UDF on any of them is a `Document`
/// property (WSL §3.14).
const DOCUMENT_TABLES: &[&str] = &[
    "OINV", "ORIN", "ORDR", "OQUT", "ODLN", "ORDN", "ODPI", "OPCH", "ORPC", "OPOR", "OPDN", "ORPD",
    "ODRF",
];
/// Marketing-document line tables (DI `Document_Lines`).
const DOCUMENT_LINE_TABLES: &[&str] = &[
    "INV1", "RIN1", "RDR1", "QUT1", "DLN1", "RDN1", "DPI1", "PCH1", "RPC1", "POR1", "PDN1", "RPD1",
    "DRF1",
];

/// The system tables whose UDFs entity or complex type `ty` carries.
fn tables_of(ty: &str) -> &'static [&'static str] {
    match ty {
        "Document" => DOCUMENT_TABLES,
        "DocumentLine" => DOCUMENT_LINE_TABLES,
        "BusinessPartner" => &["OCRD"],
        "Item" => &["OITM"],
        "JournalEntry" => &["OJDT"],
        "JournalEntryLine" => &["JDT1"],
        "Payment" => &["ORCT", "OVPM"],
        "ChartOfAccount" => &["OACT"],
        "Warehouse" => &["OWHS"],
        _ => &[],
    }
}

fn spec_of(f: &serde_json::Map<String, Value>) -> FieldSpec {
    FieldSpec {
        ty: f
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("db_Alpha")
            .to_string(),
        size: f
            .get("EditSize")
            .and_then(Value::as_u64)
            .map(|s| s as usize),
        default: f
            .get("DefaultValue")
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            .cloned(),
    }
}

/// The fields of `table` (`@MLC_KEYS`, `OINV`) the running Service Layer serves, by property
/// name (`U_Key`).
pub fn served_fields(db: &SapDb, table: &str) -> BTreeMap<String, FieldSpec> {
    db.masters("UserFieldsMD")
        .map(|(_, f)| f)
        .filter(|f| f.get("TableName").and_then(Value::as_str) == Some(table))
        .filter_map(|f| {
            let prop = format!("U_{}", f.get("Name")?.as_str()?);
            serves_field(db, table, &prop).then(|| (prop, spec_of(f)))
        })
        .collect()
}

/// The UDF `prop` of type `ty` (`Document`, `DocumentLine`, `BusinessPartner`, ...), if the
/// running Service Layer serves it.
pub fn declared(db: &SapDb, ty: &str, prop: &str) -> Option<FieldSpec> {
    tables_of(ty)
        .iter()
        .find_map(|t| served_fields(db, t).remove(prop))
}

/// A value for UDF `prop` of type `ty`, checked against the field: undeclared → `-1000`, a
/// `db_Alpha` longer than its size → "Value too long".
pub fn field_value(
    fields: &BTreeMap<String, FieldSpec>,
    ty: &str,
    prop: &str,
    v: &Value,
) -> Result<Value, SapError> {
    let Some(spec) = fields.get(prop) else {
        return Err(SapError::invalid_property(prop, ty));
    };
    spec_value(spec, ty, prop, v)
}

/// A value for a known field `spec`.
pub fn spec_value(spec: &FieldSpec, ty: &str, prop: &str, v: &Value) -> Result<Value, SapError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let bad = || SapError::malformed(format!("Invalid value for property '{prop}' of '{ty}'"));
    let text = || match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Ok(match spec.ty.as_str() {
        "db_Alpha" => {
            let s = text().ok_or_else(bad)?;
            if spec.size.is_some_and(|max| s.chars().count() > max) {
                return Err(too_long(prop, ty));
            }
            Value::from(s)
        }
        "db_Numeric" => match v {
            Value::Number(n) if n.is_i64() => v.clone(),
            Value::String(s) => Value::from(s.trim().parse::<i64>().map_err(|_| bad())?),
            _ => return Err(bad()),
        },
        "db_Float" => number(
            Decimal::from_str(text().ok_or_else(bad)?.trim())
                .or_else(|_| Decimal::from_scientific(&text().unwrap_or_default()))
                .map_err(|_| bad())?,
        ),
        "db_Date" => Value::from(parse_date(v.as_str().ok_or_else(bad)?).ok_or_else(bad)?),
        _ => Value::from(text().ok_or_else(bad)?),
    })
}
