//! Domain primitives shared by every API area: exact money, id newtypes, open enums.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

/// An amount with its ISO currency code. The amount is exact: it is read from the JSON text
/// (a string in Orders, a number in Finances) without ever passing through a float.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub struct Money {
    /// The exact amount.
    #[serde(
        alias = "Amount",
        alias = "CurrencyAmount",
        alias = "currencyAmount",
        deserialize_with = "exact_decimal::deserialize",
        serialize_with = "exact_decimal::serialize_str"
    )]
    pub amount: Decimal,
    /// ISO 4217 currency code.
    #[serde(rename = "currencyCode", alias = "CurrencyCode")]
    pub currency_code: String,
}

impl Money {
    /// Builds an amount in a currency.
    pub fn new(amount: Decimal, currency_code: impl Into<String>) -> Self {
        Money {
            amount,
            currency_code: currency_code.into(),
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency_code)
    }
}

/// Serde helpers reading a `Decimal` from the literal JSON text of a number or a string.
pub mod exact_decimal {
    use super::*;
    use serde::de::Error as _;
    use serde_json::value::RawValue;

    /// Parses `text` (a JSON number literal or the contents of a JSON string) as an exact decimal.
    pub fn parse(text: &str) -> Result<Decimal, rust_decimal::Error> {
        let text = text.trim();
        if text.contains(['e', 'E']) {
            Decimal::from_scientific(text)
        } else {
            text.parse::<Decimal>()
        }
    }

    /// Deserialises a number or numeric string into a `Decimal` without going through `f64`.
    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Decimal, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(de)?;
        let text = raw.get();
        let inner;
        let literal = if text.starts_with('"') {
            inner = serde_json::from_str::<String>(text).map_err(D::Error::custom)?;
            inner.as_str()
        } else {
            text
        };
        parse(literal).map_err(|e| D::Error::custom(format!("invalid decimal {literal:?}: {e}")))
    }

    /// Like [`deserialize`] for an optional field (`null` or absent gives `None`).
    pub fn deserialize_option<'de, D: Deserializer<'de>>(
        de: D,
    ) -> Result<Option<Decimal>, D::Error> {
        let raw: Option<Box<RawValue>> = Deserialize::deserialize(de)?;
        match raw {
            None => Ok(None),
            Some(raw) if raw.get() == "null" => Ok(None),
            Some(raw) => deserialize(&*raw).map(Some).map_err(D::Error::custom),
        }
    }

    /// Serialises as a JSON string, the form Amazon's `Decimal` type uses.
    pub fn serialize_str<S: serde::Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }
}

macro_rules! id_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }
    };
}

id_newtype!(
    /// An Amazon order id (`3-7-7` digits, e.g. `902-1845936-5435065`).
    AmazonOrderId
);
id_newtype!(
    /// A seller SKU.
    Sku
);
id_newtype!(
    /// A report id.
    ReportId
);
id_newtype!(
    /// A report document id.
    ReportDocumentId
);
id_newtype!(
    /// A feed id.
    FeedId
);
id_newtype!(
    /// A feed document id.
    FeedDocumentId
);
id_newtype!(
    /// A selling partner id (the Seller Central "Merchant Token").
    SellerId
);

/// Defines an enum of Amazon wire strings with an `Unknown(String)` arm, so a value Amazon adds
/// later never breaks deserialisation.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $s:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version of the crate does not know.
            Unknown(String),
        }

        impl $name {
            /// Amazon's wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $s,)*
                    Self::Unknown(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($s => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::from(s.as_str()))
            }
        }
    };
}
pub(crate) use string_enum;

/// A page of results plus the token for the next page (absent on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Items on this page.
    pub items: Vec<T>,
    /// Token to pass to the page-at-a-time call for the next page.
    pub next_token: Option<String>,
}

/// Deserialises a timestamp that Amazon sometimes sends in a non-ISO form (the sandbox sends
/// epoch seconds as `"1.569521782042E9"`); unreadable values become `None` rather than an error.
pub(crate) fn lenient_datetime<'de, D: Deserializer<'de>>(
    de: D,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, D::Error> {
    let raw: Option<String> = Option::deserialize(de)?;
    Ok(raw.and_then(|s| parse_datetime(&s)))
}

pub(crate) fn parse_datetime(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    let secs = exact_decimal::parse(s).ok()?;
    let whole = i64::try_from(secs.trunc()).ok()?;
    chrono::DateTime::from_timestamp(whole, 0)
}

/// Formats a timestamp as Amazon wants it in query strings (`2026-01-02T03:04:05Z`).
pub(crate) fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
