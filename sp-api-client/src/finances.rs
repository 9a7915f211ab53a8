//! Finances: v0 `listFinancialEventGroups` and v2024-06-19 `listTransactions`, typed enough to
//! find settlement periods not seen yet. Amounts are JSON numbers here; they are read from their
//! literal text into `Decimal`, never through `f64`.

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::client::{ApiRequest, SpApiClient};
use crate::error::{Error, Result};
use crate::orders::MIN_DATA_AGE;
use crate::pagination::paginate;
use crate::rate_limit::Operation;
use crate::types::{Money, Page, iso};

/// A financial event group: roughly one settlement / disbursement period.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct FinancialEventGroup {
    /// Group id.
    pub financial_event_group_id: String,
    /// `Open` or `Closed`.
    #[serde(default)]
    pub processing_status: Option<String>,
    /// Transfer status, e.g. `Succeeded`.
    #[serde(default)]
    pub fund_transfer_status: Option<String>,
    /// Total in the marketplace currency.
    #[serde(default)]
    pub original_total: Option<Money>,
    /// Total converted to the payout currency.
    #[serde(default)]
    pub converted_total: Option<Money>,
    /// When the funds were transferred.
    #[serde(default)]
    pub fund_transfer_date: Option<DateTime<Utc>>,
    /// Bank trace id.
    #[serde(default)]
    pub trace_id: Option<String>,
    /// Last digits of the bank account.
    #[serde(default)]
    pub account_tail: Option<String>,
    /// Opening balance.
    #[serde(default)]
    pub beginning_balance: Option<Money>,
    /// Period start.
    #[serde(default)]
    pub financial_event_group_start: Option<DateTime<Utc>>,
    /// Period end (absent while open).
    #[serde(default)]
    pub financial_event_group_end: Option<DateTime<Utc>>,
}

/// One page of `listFinancialEventGroups`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FinancialEventGroupsPage {
    /// Groups.
    #[serde(default)]
    pub financial_event_group_list: Vec<FinancialEventGroup>,
    /// Next page token.
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
struct Payload<T> {
    payload: T,
}

/// Filters of `listFinancialEventGroups`.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct EventGroupQuery {
    /// Groups started after this time.
    pub started_after: DateTime<Utc>,
    /// Groups started before this time (clamped to now − 2 min).
    pub started_before: Option<DateTime<Utc>>,
    /// Page size (1–100).
    pub max_results_per_page: Option<u32>,
}

impl EventGroupQuery {
    /// Groups started after `t`.
    pub fn started_after(t: DateTime<Utc>) -> Self {
        EventGroupQuery {
            started_after: t,
            started_before: None,
            max_results_per_page: Some(100),
        }
    }
}

/// An amount in `listTransactions` (`{currencyCode, currencyAmount: number}`).
pub type Currency = Money;

/// A 2024-06-19 transaction.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Transaction {
    /// Seller, account type, marketplace.
    #[serde(default)]
    pub selling_partner_metadata: Option<SellingPartnerMetadata>,
    /// Related ids such as `FINANCIAL_EVENT_GROUP_ID` or `ORDER_ID`.
    #[serde(default)]
    pub related_identifiers: Vec<RelatedIdentifier>,
    /// e.g. `Shipment`, `Refund`, `Transfer`.
    #[serde(default)]
    pub transaction_type: Option<String>,
    /// Transaction id.
    #[serde(default)]
    pub transaction_id: Option<String>,
    /// `DEFERRED`, `RELEASED`, …
    #[serde(default)]
    pub transaction_status: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Posting time.
    #[serde(default)]
    pub posted_date: Option<DateTime<Utc>>,
    /// Total.
    #[serde(default)]
    pub total_amount: Option<Currency>,
    /// Breakdown of the total.
    #[serde(default)]
    pub breakdowns: Vec<Breakdown>,
    /// Items, kept as raw JSON (exact numbers).
    #[serde(default)]
    pub items: Option<Box<RawValue>>,
    /// Contexts, kept as raw JSON (exact numbers).
    #[serde(default)]
    pub contexts: Option<Box<RawValue>>,
}

impl Transaction {
    /// The value of a related identifier, e.g. `FINANCIAL_EVENT_GROUP_ID`.
    pub fn related(&self, name: &str) -> Option<&str> {
        self.related_identifiers
            .iter()
            .find(|r| r.related_identifier_name.as_deref() == Some(name))
            .and_then(|r| r.related_identifier_value.as_deref())
    }
}

/// Seller metadata of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SellingPartnerMetadata {
    /// Seller id.
    #[serde(default)]
    pub selling_partner_id: Option<String>,
    /// Account type.
    #[serde(default)]
    pub account_type: Option<String>,
    /// Marketplace id.
    #[serde(default)]
    pub marketplace_id: Option<String>,
}

/// A related identifier.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatedIdentifier {
    /// Name, e.g. `ORDER_ID`.
    #[serde(default)]
    pub related_identifier_name: Option<String>,
    /// Value.
    #[serde(default)]
    pub related_identifier_value: Option<String>,
}

/// A nested amount breakdown.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Breakdown {
    /// Type, e.g. `Tax`, `Fees`.
    #[serde(default)]
    pub breakdown_type: Option<String>,
    /// Amount.
    #[serde(default)]
    pub breakdown_amount: Option<Currency>,
    /// Sub-breakdowns.
    #[serde(default)]
    pub breakdowns: Vec<Breakdown>,
}

/// One page of `listTransactions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionsPage {
    /// Transactions.
    #[serde(default)]
    pub transactions: Vec<Transaction>,
    /// Next page token.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// Filters of `listTransactions`.
#[derive(Debug, Clone, PartialEq, Default)]
#[must_use]
pub struct TransactionQuery {
    /// Posted after.
    pub posted_after: Option<DateTime<Utc>>,
    /// Posted before (clamped to now − 2 min).
    pub posted_before: Option<DateTime<Utc>>,
    /// Marketplace.
    pub marketplace_id: Option<String>,
    /// `DEFERRED`, `RELEASED`, `DEFERRED_RELEASED`.
    pub transaction_status: Option<String>,
    /// `(FINANCIAL_EVENT_GROUP_ID | ORDER_ID, value)`.
    pub related_identifier: Option<(String, String)>,
}

impl TransactionQuery {
    /// Transactions posted since `t`.
    pub fn posted_after(t: DateTime<Utc>) -> Self {
        TransactionQuery {
            posted_after: Some(t),
            ..Self::default()
        }
    }

    /// Transactions of one financial event group (settlement period).
    pub fn in_event_group(group_id: impl Into<String>) -> Self {
        TransactionQuery {
            related_identifier: Some(("FINANCIAL_EVENT_GROUP_ID".into(), group_id.into())),
            ..Self::default()
        }
    }
}

fn clamp(t: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    let latest = Utc::now() - MIN_DATA_AGE;
    t.map(|t| t.min(latest))
}

/// The longest window the Finances APIs answer. listFinancialEventGroups: "If
/// `FinancialEventGroupStartedAfter` and `FinancialEventGroupStartedBefore` are more than 180
/// days apart, no financial event groups are returned." (financesV0.json); listTransactions:
/// "If `PostedAfter` and `PostedBefore` are more than 180 days apart, the response is empty."
/// (finances_2024-06-19.json). Longer windows are split into windows of this length.
pub const MAX_WINDOW: Duration = Duration::days(180);

/// `[after, before)` cut into consecutive windows of at most [`MAX_WINDOW`]. Both APIs treat the
/// start as inclusive ("after (or at)", "on or after") and the end as exclusive ("before (but
/// not at)", "before (but not on)"), so the windows neither overlap nor leave gaps.
pub fn split_window(
    after: DateTime<Utc>,
    before: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut windows = Vec::new();
    let mut start = after;
    while before - start > MAX_WINDOW {
        windows.push((start, start + MAX_WINDOW));
        start += MAX_WINDOW;
    }
    windows.push((start, before));
    windows
}

impl SpApiClient {
    /// `listFinancialEventGroups`, one page. `NextToken` goes with the original filters.
    pub async fn list_financial_event_groups_page(
        &self,
        query: &EventGroupQuery,
        next_token: Option<&str>,
    ) -> Result<FinancialEventGroupsPage> {
        let request = ApiRequest::get(
            Operation::ListFinancialEventGroups,
            "/finances/v0/financialEventGroups",
        )
        .query_opt(
            "MaxResultsPerPage",
            query.max_results_per_page.map(|n| n.to_string()),
        )
        .query("FinancialEventGroupStartedAfter", iso(query.started_after))
        .query_opt(
            "FinancialEventGroupStartedBefore",
            query.started_before.map(iso),
        )
        .query_opt("NextToken", next_token);
        let page: Payload<FinancialEventGroupsPage> = self.send_json(request).await?;
        Ok(page.payload)
    }

    /// `listFinancialEventGroups` as a stream (window end clamped once, up front). A window over
    /// 180 days (an open end counts up to now) is asked for in consecutive windows of
    /// [`MAX_WINDOW`], because Amazon returns nothing for it.
    pub fn list_financial_event_groups(
        &self,
        mut query: EventGroupQuery,
    ) -> BoxStream<'static, Result<FinancialEventGroup>> {
        query.started_before = clamp(query.started_before);
        let end = query
            .started_before
            .unwrap_or_else(|| Utc::now() - MIN_DATA_AGE);
        let windows = split_window(query.started_after, end);
        if windows.len() > 1 {
            let client = self.clone();
            return stream::iter(windows)
                .map(move |(after, before)| {
                    client.list_financial_event_groups(EventGroupQuery {
                        started_after: after,
                        started_before: Some(before),
                        ..query.clone()
                    })
                })
                .flatten()
                .boxed();
        }
        let client = self.clone();
        paginate(move |token: Option<String>| {
            let client = client.clone();
            let query = query.clone();
            async move {
                let page = client
                    .list_financial_event_groups_page(&query, token.as_deref())
                    .await?;
                Ok(Page {
                    items: page.financial_event_group_list,
                    next_token: page.next_token,
                })
            }
        })
    }

    /// `listTransactions` (2024-06-19), one page.
    pub async fn list_transactions_page(
        &self,
        query: &TransactionQuery,
        next_token: Option<&str>,
    ) -> Result<TransactionsPage> {
        if query.posted_after.is_none() && query.related_identifier.is_none() {
            return Err(Error::InvalidArgument(
                "listTransactions needs postedAfter or a related identifier".into(),
            ));
        }
        let (name, value) = match &query.related_identifier {
            Some((n, v)) => (Some(n.clone()), Some(v.clone())),
            None => (None, None),
        };
        let request = ApiRequest::get(
            Operation::ListTransactions,
            "/finances/2024-06-19/transactions",
        )
        .query_opt("postedAfter", query.posted_after.map(iso))
        .query_opt("postedBefore", query.posted_before.map(iso))
        .query_opt("marketplaceId", query.marketplace_id.clone())
        .query_opt("transactionStatus", query.transaction_status.clone())
        .query_opt("relatedIdentifierName", name)
        .query_opt("relatedIdentifierValue", value)
        .query_opt("nextToken", next_token);
        let page: Payload<TransactionsPage> = self.send_json(request).await?;
        Ok(page.payload)
    }

    /// `listTransactions` as a stream (window end clamped once, up front). A `postedAfter`
    /// window over 180 days (an open end counts up to Amazon's default, now − 2 min) is asked for
    /// in consecutive windows of [`MAX_WINDOW`], because Amazon answers it with an empty list.
    pub fn list_transactions(
        &self,
        mut query: TransactionQuery,
    ) -> BoxStream<'static, Result<Transaction>> {
        query.posted_before = clamp(query.posted_before);
        if let Some(after) = query.posted_after {
            let end = query
                .posted_before
                .unwrap_or_else(|| Utc::now() - MIN_DATA_AGE);
            let windows = split_window(after, end);
            if windows.len() > 1 {
                let client = self.clone();
                return stream::iter(windows)
                    .map(move |(after, before)| {
                        client.list_transactions(TransactionQuery {
                            posted_after: Some(after),
                            posted_before: Some(before),
                            ..query.clone()
                        })
                    })
                    .flatten()
                    .boxed();
            }
        }
        let client = self.clone();
        paginate(move |token: Option<String>| {
            let client = client.clone();
            let query = query.clone();
            async move {
                let page = client
                    .list_transactions_page(&query, token.as_deref())
                    .await?;
                Ok(Page {
                    items: page.transactions,
                    next_token: page.next_token,
                })
            }
        })
    }
}
