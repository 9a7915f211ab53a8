//! OData query options: `$filter` (with escaped literals), `$select`, `$orderby`, `$top`, `$skip`.
//!
//! Values from outside (SKUs, order ids) only ever enter a filter as [`Literal`]s, which are
//! quoted with `'` doubled, so no value can end the literal and change the query.

use std::fmt;

use chrono::{NaiveDate, NaiveTime, Timelike};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rust_decimal::Decimal;

/// Characters left as-is in a query value: unreserved characters only.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Characters left as-is inside a key literal in a path segment (`Items('A-1')`).
const KEY_SEGMENT: &AsciiSet = &QUERY_VALUE.remove(b'\'');

/// A typed OData literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string, rendered `'...'` with `'` doubled.
    String(String),
    /// An integer.
    Int(i64),
    /// A decimal number.
    Decimal(Decimal),
    /// A date, rendered `'YYYY-MM-DD'` (accepted by v1 and v2).
    Date(NaiveDate),
    /// A time, rendered `'HH:MM:SS'` (SAP compares hours and minutes only).
    Time(NaiveTime),
}

impl Literal {
    /// Render as OData text (not yet URL-encoded).
    pub fn render(&self) -> String {
        match self {
            Literal::String(s) => quote(s),
            Literal::Int(n) => n.to_string(),
            Literal::Decimal(d) => d.normalize().to_string(),
            Literal::Date(d) => format!("'{}'", d.format("%Y-%m-%d")),
            Literal::Time(t) => format!("'{:02}:{:02}:{:02}'", t.hour(), t.minute(), t.second()),
        }
    }
}

/// Quote a string as an OData literal, doubling every `'`.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

impl From<&str> for Literal {
    fn from(v: &str) -> Self {
        Literal::String(v.to_string())
    }
}
impl From<String> for Literal {
    fn from(v: String) -> Self {
        Literal::String(v)
    }
}
impl From<&String> for Literal {
    fn from(v: &String) -> Self {
        Literal::String(v.clone())
    }
}
impl From<i32> for Literal {
    fn from(v: i32) -> Self {
        Literal::Int(v.into())
    }
}
impl From<i64> for Literal {
    fn from(v: i64) -> Self {
        Literal::Int(v)
    }
}
impl From<Decimal> for Literal {
    fn from(v: Decimal) -> Self {
        Literal::Decimal(v)
    }
}
impl From<NaiveDate> for Literal {
    fn from(v: NaiveDate) -> Self {
        Literal::Date(v)
    }
}
impl From<NaiveTime> for Literal {
    fn from(v: NaiveTime) -> Self {
        Literal::Time(v)
    }
}

/// An entity key in a URL: `Items('A1')` or `Invoices(42)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// Numeric key (`DocEntry`, `JdtNum`, `PriceListNo`).
    Int(i64),
    /// String key (`ItemCode`, `CardCode`, `WarehouseCode`, `Code`).
    Str(String),
}

impl Key {
    /// The `(...)` path suffix, with quotes doubled and unsafe characters percent-encoded.
    pub fn to_path_segment(&self) -> String {
        match self {
            Key::Int(n) => format!("({n})"),
            Key::Str(s) => format!("({})", utf8_percent_encode(&quote(s), KEY_SEGMENT)),
        }
    }

    /// Read a key back from a `Location` header such as `/b1s/v1/Items('i011')` or `Invoices(123)`.
    pub fn from_location(location: &str) -> Option<Key> {
        let open = location.find('(')?;
        let close = location.rfind(')')?;
        let inner = location.get(open + 1..close)?;
        let decoded = percent_encoding::percent_decode_str(inner)
            .decode_utf8()
            .ok()?;
        if let Some(quoted) = decoded
            .strip_prefix('\'')
            .and_then(|s| s.strip_suffix('\''))
        {
            Some(Key::Str(quoted.replace("''", "'")))
        } else {
            decoded.trim().parse().ok().map(Key::Int)
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(n) => write!(f, "{n}"),
            Key::Str(s) => f.write_str(s),
        }
    }
}

impl From<&str> for Key {
    fn from(v: &str) -> Self {
        Key::Str(v.to_string())
    }
}
impl From<String> for Key {
    fn from(v: String) -> Self {
        Key::Str(v)
    }
}
impl From<i32> for Key {
    fn from(v: i32) -> Self {
        Key::Int(v.into())
    }
}
impl From<i64> for Key {
    fn from(v: i64) -> Self {
        Key::Int(v)
    }
}

/// A rendered `$filter` expression. Build with [`prop`] and combine with [`Filter::and`] / [`Filter::or`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter(String);

impl Filter {
    /// The expression text (not URL-encoded).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `(self) and (other)`.
    pub fn and(self, other: Filter) -> Filter {
        Filter(format!("({}) and ({})", self.0, other.0))
    }

    /// `(self) or (other)`.
    pub fn or(self, other: Filter) -> Filter {
        Filter(format!("({}) or ({})", self.0, other.0))
    }

    /// `not (self)`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Filter {
        Filter(format!("not ({})", self.0))
    }

    /// Records changed on or after `date` (`UpdateDate ge 'date'`).
    pub fn changed_on_or_after(date: NaiveDate) -> Filter {
        prop("UpdateDate").ge(date)
    }

    /// Records changed at or after `date` + `time` using the `UpdateDate`/`UpdateTime` pair
    /// (Items, BusinessPartners, marketing documents). SAP compares times to the minute, so
    /// pair this with an overlap window and idempotent processing.
    pub fn changed_since(date: NaiveDate, time: NaiveTime) -> Filter {
        prop("UpdateDate")
            .gt(date)
            .or(prop("UpdateDate").eq(date).and(prop("UpdateTime").ge(time)))
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A property reference in a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop(String);

/// Start a filter on a property, e.g. `prop("ItemCode").eq("A'1")`.
///
/// # Panics
/// When `name` is not a property identifier (letters, digits, `_`, `/`). Property names come
/// from code, never from outside data; values go through [`Literal`].
pub fn prop(name: &str) -> Prop {
    assert!(
        is_identifier(name),
        "`{name}` is not an OData property name"
    );
    Prop(name.to_string())
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

impl Prop {
    fn cmp(&self, op: &str, value: impl Into<Literal>) -> Filter {
        Filter(format!("{} {op} {}", self.0, value.into().render()))
    }
    /// `prop eq value`.
    pub fn eq(&self, value: impl Into<Literal>) -> Filter {
        self.cmp("eq", value)
    }
    /// `prop ne value`.
    pub fn ne(&self, value: impl Into<Literal>) -> Filter {
        self.cmp("ne", value)
    }
    /// `prop gt value`.
    pub fn gt(&self, value: impl Into<Literal>) -> Filter {
        self.cmp("gt", value)
    }
    /// `prop ge value`.
    pub fn ge(&self, value: impl Into<Literal>) -> Filter {
        self.cmp("ge", value)
    }
    /// `prop lt value`.
    pub fn lt(&self, value: impl Into<Literal>) -> Filter {
        self.cmp("lt", value)
    }
    /// `prop le value`.
    pub fn le(&self, value: impl Into<Literal>) -> Filter {
        self.cmp("le", value)
    }
    /// `startswith(prop, 'value')`.
    pub fn starts_with(&self, value: &str) -> Filter {
        Filter(format!("startswith({}, {})", self.0, quote(value)))
    }
    /// `contains(prop, 'value')`.
    pub fn contains(&self, value: &str) -> Filter {
        Filter(format!("contains({}, {})", self.0, quote(value)))
    }
    /// `prop eq null`.
    pub fn is_null(&self) -> Filter {
        Filter(format!("{} eq null", self.0))
    }
}

/// Sort direction for `$orderby`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// Query options for a collection read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Query {
    filter: Option<Filter>,
    select: Vec<String>,
    order_by: Vec<(String, Order)>,
    top: Option<u32>,
    skip: Option<u32>,
    page_size: Option<u32>,
}

impl Query {
    /// An empty query (all records, server page size).
    pub fn new() -> Query {
        Query::default()
    }

    /// Set `$filter` (replacing any previous one).
    pub fn filter(mut self, filter: Filter) -> Query {
        self.filter = Some(filter);
        self
    }

    /// Add properties to `$select`.
    pub fn select<I, S>(mut self, props: I) -> Query
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for p in props {
            let p = p.as_ref();
            assert!(is_identifier(p), "`{p}` is not an OData property name");
            self.select.push(p.to_string());
        }
        self
    }

    /// Add a `$orderby` key.
    pub fn order_by(mut self, prop: &str, order: Order) -> Query {
        assert!(
            is_identifier(prop),
            "`{prop}` is not an OData property name"
        );
        self.order_by.push((prop.to_string(), order));
        self
    }

    /// Set `$top`.
    pub fn top(mut self, n: u32) -> Query {
        self.top = Some(n);
        self
    }

    /// Set `$skip`.
    pub fn skip(mut self, n: u32) -> Query {
        self.skip = Some(n);
        self
    }

    /// Ask for pages of `n` records (`Prefer: odata.maxpagesize=n`).
    pub fn page_size(mut self, n: u32) -> Query {
        self.page_size = Some(n);
        self
    }

    /// The requested page size, if any.
    pub fn requested_page_size(&self) -> Option<u32> {
        self.page_size
    }

    /// The URL-encoded query string without the leading `?` (empty when there are no options).
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(f) = &self.filter {
            parts.push(format!("$filter={}", encode(f.as_str())));
        }
        if !self.select.is_empty() {
            parts.push(format!("$select={}", encode(&self.select.join(","))));
        }
        if !self.order_by.is_empty() {
            let keys: Vec<String> = self
                .order_by
                .iter()
                .map(|(p, o)| match o {
                    Order::Asc => format!("{p} asc"),
                    Order::Desc => format!("{p} desc"),
                })
                .collect();
            parts.push(format!("$orderby={}", encode(&keys.join(","))));
        }
        if let Some(n) = self.top {
            parts.push(format!("$top={n}"));
        }
        if let Some(n) = self.skip {
            parts.push(format!("$skip={n}"));
        }
        parts.join("&")
    }

    /// `path` plus `?query` when there are options.
    pub fn apply_to(&self, path: &str) -> String {
        let qs = self.to_query_string();
        if qs.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{qs}")
        }
    }
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_with_quotes_is_one_literal() {
        let f = prop("ItemCode").eq(r#"O'Brien's "mug""#);
        assert_eq!(f.as_str(), r#"ItemCode eq 'O''Brien''s "mug"'"#);
    }

    #[test]
    fn changed_since_uses_the_date_time_pair() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        let t = NaiveTime::from_hms_opt(10, 15, 0).unwrap();
        assert_eq!(
            Filter::changed_since(d, t).as_str(),
            "(UpdateDate gt '2024-05-01') or ((UpdateDate eq '2024-05-01') and (UpdateTime ge '10:15:00'))"
        );
    }

    #[test]
    fn query_string_is_encoded() {
        let q = Query::new()
            .filter(prop("ItemCode").starts_with("A&B"))
            .select(["ItemCode", "ItemName"])
            .order_by("ItemCode", Order::Asc)
            .top(5)
            .skip(10);
        assert_eq!(
            q.to_query_string(),
            "$filter=startswith%28ItemCode%2C%20%27A%26B%27%29&$select=ItemCode%2CItemName&$orderby=ItemCode%20asc&$top=5&$skip=10"
        );
    }

    #[test]
    fn keys_render_and_parse_back() {
        assert_eq!(Key::from(42).to_path_segment(), "(42)");
        assert_eq!(Key::from("A'1 /x").to_path_segment(), "('A''1%20%2Fx')");
        assert_eq!(
            Key::from_location("/b1s/v1/Items('i011')"),
            Some(Key::from("i011"))
        );
        assert_eq!(
            Key::from_location("https://h/b1s/v2/Invoices(123)"),
            Some(Key::Int(123))
        );
        assert_eq!(Key::from_location("Items('O''B')"), Some(Key::from("O'B")));
    }

    #[test]
    #[should_panic(expected = "not an OData property name")]
    fn property_names_cannot_carry_expressions() {
        let _ = prop("ItemCode eq 'x' or 1");
    }
}
