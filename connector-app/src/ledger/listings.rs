//! What the items flow remembers per SKU and marketplace: the listing's channel and product type,
//! what Amazon has (as last pushed or read), what was last sent and how Amazon answered.

use std::str::FromStr;

use rusqlite::{Connection, params};
use rust_decimal::Decimal;
use serde::Serialize;

use super::LedgerError;

/// Where a pushed listing change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ListingStatus {
    /// Read from Amazon; nothing sent (or a cancelled feed's change was dropped).
    Observed,
    /// In a feed whose processing report has not been read yet.
    Pending,
    /// Amazon accepted the change (applied asynchronously); verified on a later pass.
    Accepted,
    /// Read back from Amazon with the pushed values.
    Verified,
    /// Amazon refused the change (submission INVALID, feed error, or an issue on read-back).
    Rejected,
    /// The SKU has no listing in this marketplace.
    NotListed,
}

impl ListingStatus {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Observed => "OBSERVED",
            Self::Pending => "PENDING",
            Self::Accepted => "ACCEPTED",
            Self::Verified => "VERIFIED",
            Self::Rejected => "REJECTED",
            Self::NotListed => "NOT_LISTED",
        }
    }
}

impl FromStr for ListingStatus {
    type Err = LedgerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Observed,
            Self::Pending,
            Self::Accepted,
            Self::Verified,
            Self::Rejected,
            Self::NotListed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| LedgerError::Invalid(format!("unknown listing status `{s}`")))
    }
}

/// One SKU's listing in one marketplace, as the items flow knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingState {
    /// Seller SKU.
    pub sku: String,
    /// Marketplace id.
    pub marketplace: String,
    /// SAP ItemCode feeding it.
    pub item_code: String,
    /// Amazon's fulfilment channel code (`DEFAULT` = merchant, `AMAZON_*` = FBA); `None` when
    /// the SKU is not listed.
    pub channel: Option<String>,
    /// The listing's product type (sent with every patch).
    pub product_type: Option<String>,
    /// Currency of the price.
    pub currency: Option<String>,
    /// The price Amazon has, as far as the ledger knows (last accepted push or last read).
    pub price: Option<Decimal>,
    /// The merchant quantity Amazon has, as far as the ledger knows.
    pub quantity: Option<i64>,
    /// Status of the last push.
    pub status: ListingStatus,
    /// Price of the last push (the rejected or pending value when not accepted).
    pub sent_price: Option<Decimal>,
    /// Quantity of the last push.
    pub sent_quantity: Option<i64>,
    /// Submission id, or `feed:{feedId}:{messageId}`.
    pub submission: Option<String>,
    /// Amazon's issues of the last push or read-back (JSON).
    pub issues: Option<String>,
    /// Ledger key of the open FAILED document that shows a rejection in `status`.
    pub problem_key: Option<String>,
    /// Last push (RFC 3339).
    pub pushed_at: Option<String>,
    /// Last read from Amazon (RFC 3339).
    pub checked_at: String,
}

/// The table, appended to the ledger's migrations.
pub(super) const MIGRATION: &str = r#"
CREATE TABLE listings (
    sku TEXT NOT NULL,
    marketplace TEXT NOT NULL,
    item_code TEXT NOT NULL,
    channel TEXT,
    product_type TEXT,
    currency TEXT,
    price TEXT,
    quantity INTEGER,
    status TEXT NOT NULL,
    sent_price TEXT,
    sent_quantity INTEGER,
    submission TEXT,
    issues TEXT,
    problem_key TEXT,
    pushed_at TEXT,
    checked_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (sku, marketplace)
);
CREATE INDEX listings_status ON listings (status);
"#;

fn decimal(text: Option<String>) -> rusqlite::Result<Option<Decimal>> {
    text.map(|t| {
        Decimal::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

/// Every listing row, by SKU and marketplace.
pub(super) fn all(conn: &Connection) -> Result<Vec<ListingState>, LedgerError> {
    let mut stmt = conn.prepare(
        "SELECT sku, marketplace, item_code, channel, product_type, currency, price, quantity, status,
                sent_price, sent_quantity, submission, issues, problem_key, pushed_at, checked_at
         FROM listings ORDER BY sku, marketplace",
    )?;
    let rows = stmt.query_map([], |r| {
        let status: String = r.get(8)?;
        Ok(ListingState {
            sku: r.get(0)?,
            marketplace: r.get(1)?,
            item_code: r.get(2)?,
            channel: r.get(3)?,
            product_type: r.get(4)?,
            currency: r.get(5)?,
            price: decimal(r.get(6)?)?,
            quantity: r.get(7)?,
            status: ListingStatus::from_str(&status).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    8,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
            sent_price: decimal(r.get(9)?)?,
            sent_quantity: r.get(10)?,
            submission: r.get(11)?,
            issues: r.get(12)?,
            problem_key: r.get(13)?,
            pushed_at: r.get(14)?,
            checked_at: r.get(15)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Upserts rows and appends audit rows `(key, event, detail)`, in one transaction.
pub(super) fn put(
    conn: &mut Connection,
    states: &[ListingState],
    audit: &[(String, String, String)],
    at: &str,
) -> Result<(), LedgerError> {
    let tx = conn.transaction()?;
    {
        let mut upsert = tx.prepare(
            "INSERT INTO listings (sku, marketplace, item_code, channel, product_type, currency, price, quantity,
                 status, sent_price, sent_quantity, submission, issues, problem_key, pushed_at, checked_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
             ON CONFLICT (sku, marketplace) DO UPDATE SET item_code = excluded.item_code,
                 channel = excluded.channel, product_type = excluded.product_type, currency = excluded.currency,
                 price = excluded.price, quantity = excluded.quantity, status = excluded.status,
                 sent_price = excluded.sent_price, sent_quantity = excluded.sent_quantity,
                 submission = excluded.submission, issues = excluded.issues, problem_key = excluded.problem_key,
                 pushed_at = excluded.pushed_at, checked_at = excluded.checked_at, updated_at = excluded.updated_at",
        )?;
        for s in states {
            upsert.execute(params![
                s.sku,
                s.marketplace,
                s.item_code,
                s.channel,
                s.product_type,
                s.currency,
                s.price.map(|p| p.to_string()),
                s.quantity,
                s.status.as_str(),
                s.sent_price.map(|p| p.to_string()),
                s.sent_quantity,
                s.submission,
                s.issues,
                s.problem_key,
                s.pushed_at,
                s.checked_at,
                at,
            ])?;
        }
        let mut insert =
            tx.prepare("INSERT INTO audit (at, key, event, detail) VALUES (?1, ?2, ?3, ?4)")?;
        for (key, event, detail) in audit {
            insert.execute(params![at, key, event, detail])?;
        }
    }
    tx.commit()?;
    Ok(())
}
