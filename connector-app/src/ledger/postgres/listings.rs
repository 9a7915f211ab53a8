//! The items flow's listing states on PostgreSQL (the same rows as the SQLite ledger's, per tenant).

use std::str::FromStr;

use ::postgres::Client;
use rust_decimal::Decimal;

use crate::ledger::{LedgerError, ListingState, ListingStatus};

fn decimal(text: Option<String>) -> Result<Option<Decimal>, LedgerError> {
    text.map(|t| {
        Decimal::from_str(&t).map_err(|e| {
            LedgerError::Invalid(format!(
                "listings: stored price `{t}` is not a decimal: {e}"
            ))
        })
    })
    .transpose()
}

/// Every listing row of `tenant`, by SKU and marketplace.
pub(super) fn all(c: &mut Client, tenant: &str) -> Result<Vec<ListingState>, LedgerError> {
    c.query(
        "SELECT sku, marketplace, item_code, channel, product_type, currency, price, quantity, status,
                sent_price, sent_quantity, submission, issues, problem_key, pushed_at, checked_at
         FROM listings WHERE tenant_id = $1 ORDER BY sku, marketplace",
        &[&tenant],
    )?
    .iter()
    .map(|r| {
        Ok(ListingState {
            sku: r.try_get(0)?,
            marketplace: r.try_get(1)?,
            item_code: r.try_get(2)?,
            channel: r.try_get(3)?,
            product_type: r.try_get(4)?,
            currency: r.try_get(5)?,
            price: decimal(r.try_get(6)?)?,
            quantity: r.try_get(7)?,
            status: ListingStatus::from_str(r.try_get(8)?)?,
            sent_price: decimal(r.try_get(9)?)?,
            sent_quantity: r.try_get(10)?,
            submission: r.try_get(11)?,
            issues: r.try_get(12)?,
            problem_key: r.try_get(13)?,
            pushed_at: r.try_get(14)?,
            checked_at: r.try_get(15)?,
        })
    })
    .collect()
}

/// Inside a write: upserts rows and appends audit rows `(key, event, detail)`.
pub(super) fn put(
    c: &mut Client,
    tenant: &str,
    states: &[ListingState],
    audit: &[(String, String, String)],
    at: &str,
) -> Result<(), LedgerError> {
    let upsert = c.prepare(
        "INSERT INTO listings (tenant_id, sku, marketplace, item_code, channel, product_type, currency, price,
             quantity, status, sent_price, sent_quantity, submission, issues, problem_key, pushed_at, checked_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (tenant_id, sku, marketplace) DO UPDATE SET item_code = excluded.item_code,
             channel = excluded.channel, product_type = excluded.product_type, currency = excluded.currency,
             price = excluded.price, quantity = excluded.quantity, status = excluded.status,
             sent_price = excluded.sent_price, sent_quantity = excluded.sent_quantity,
             submission = excluded.submission, issues = excluded.issues, problem_key = excluded.problem_key,
             pushed_at = excluded.pushed_at, checked_at = excluded.checked_at, updated_at = excluded.updated_at",
    )?;
    for s in states {
        let price = s.price.map(|p| p.to_string());
        let sent_price = s.sent_price.map(|p| p.to_string());
        c.execute(
            &upsert,
            &[
                &tenant,
                &s.sku,
                &s.marketplace,
                &s.item_code,
                &s.channel,
                &s.product_type,
                &s.currency,
                &price,
                &s.quantity,
                &s.status.as_str(),
                &sent_price,
                &s.sent_quantity,
                &s.submission,
                &s.issues,
                &s.problem_key,
                &s.pushed_at,
                &s.checked_at,
                &at,
            ],
        )?;
    }
    let insert = c.prepare(
        "INSERT INTO audit (tenant_id, at, key, event, detail) VALUES ($1, $2, $3, $4, $5)",
    )?;
    for (key, event, detail) in audit {
        c.execute(&insert, &[&tenant, &at, key, event, detail])?;
    }
    Ok(())
}
