//! Feeds API 2021-06-30 for `JSON_LISTINGS_FEED`: build the feed, create a document, upload it
//! with the same Content-Type, create the feed, wait for it and read the processing report.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{ApiRequest, SpApiClient, encode_segment};
use crate::error::{Error, Result};
use crate::listings::PatchOperation;
use crate::rate_limit::Operation;
use crate::reports::ProcessingStatus;
use crate::types::{FeedDocumentId, FeedId, Sku};

/// The JSON listings feed type.
pub const JSON_LISTINGS_FEED: &str = "JSON_LISTINGS_FEED";
/// Content type of a JSON listings feed document (upload with exactly this header).
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";
/// Amazon's limit of messages per feed.
pub const MAX_FEED_MESSAGES: usize = 25_000;

/// One message of a JSON listings feed (`operationType` `PATCH`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingsFeedMessage {
    /// Unique per feed, used to match issues back to messages.
    pub message_id: u32,
    /// SKU.
    pub sku: Sku,
    /// Always `PATCH` here.
    pub operation_type: &'static str,
    /// Product type.
    pub product_type: String,
    /// Patches, as for `patchListingsItem`.
    pub patches: Vec<PatchOperation>,
}

impl ListingsFeedMessage {
    /// A PATCH message from a listings patch request.
    pub fn patch(
        message_id: u32,
        sku: Sku,
        request: crate::listings::ListingsItemPatchRequest,
    ) -> Self {
        ListingsFeedMessage {
            message_id,
            sku,
            operation_type: "PATCH",
            product_type: request.product_type,
            patches: request.patches,
        }
    }
}

/// A JSON listings feed document.
#[derive(Debug, Clone)]
pub struct ListingsFeed {
    /// Seller id (merchant token).
    pub seller_id: String,
    /// Messages (≤ 25,000).
    pub messages: Vec<ListingsFeedMessage>,
}

impl ListingsFeed {
    /// Serialises the feed document.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        if self.messages.is_empty() || self.messages.len() > MAX_FEED_MESSAGES {
            return Err(Error::InvalidArgument(format!(
                "a listings feed needs 1..={MAX_FEED_MESSAGES} messages, got {}",
                self.messages.len()
            )));
        }
        serde_json::to_vec(&json!({
            "header": {"sellerId": self.seller_id, "version": "2.0", "issueLocale": "en_US"},
            "messages": self.messages,
        }))
        .map_err(|e| Error::InvalidArgument(format!("cannot serialise feed: {e}")))
    }
}

/// A feed as Amazon describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Feed {
    /// Feed id.
    pub feed_id: FeedId,
    /// Feed type.
    pub feed_type: String,
    /// Marketplaces.
    #[serde(default)]
    pub marketplace_ids: Vec<String>,
    /// Created.
    pub created_time: DateTime<Utc>,
    /// Status.
    pub processing_status: ProcessingStatus,
    /// Processing start.
    #[serde(default)]
    pub processing_start_time: Option<DateTime<Utc>>,
    /// Processing end.
    #[serde(default)]
    pub processing_end_time: Option<DateTime<Utc>>,
    /// Processing report document.
    #[serde(default)]
    pub result_feed_document_id: Option<FeedDocumentId>,
}

/// A feed document location.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedDocument {
    /// Document id.
    pub feed_document_id: FeedDocumentId,
    /// Pre-signed URL (valid 5 minutes).
    pub url: String,
    /// `GZIP` when compressed.
    #[serde(default)]
    pub compression_algorithm: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateFeedResponse {
    feed_id: FeedId,
}

/// The processing report of a JSON listings feed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ProcessingReport {
    /// Issues per message.
    #[serde(default)]
    pub issues: Vec<FeedIssue>,
    /// Counters.
    #[serde(default)]
    pub summary: Option<FeedSummary>,
}

/// An issue of one feed message, or of the whole feed when it has neither `message_id` nor
/// `sku` (Amazon: `messageId` is "Not provided if the error is not related to a message (e.g.
/// feed formatting issue)").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedIssue {
    /// Message the issue belongs to.
    #[serde(default)]
    pub message_id: Option<u32>,
    /// SKU.
    #[serde(default)]
    pub sku: Option<Sku>,
    /// Code: optional in Amazon's schema ("An Optional error code that maps to documentation";
    /// only `severity` and `message` are required, listings-feed-processing-report-schema-v2.json).
    #[serde(default)]
    pub code: Option<String>,
    /// `ERROR`, `WARNING` or `INFO`.
    pub severity: crate::listings::IssueSeverity,
    /// Message.
    pub message: String,
    /// Attribute concerned.
    #[serde(default)]
    pub attribute_name: Option<String>,
}

/// Counters of a processing report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedSummary {
    /// Errors.
    #[serde(default)]
    pub errors: u32,
    /// Warnings.
    #[serde(default)]
    pub warnings: u32,
    /// Messages processed.
    #[serde(default)]
    pub messages_processed: u32,
    /// Messages accepted.
    #[serde(default)]
    pub messages_accepted: u32,
    /// Messages invalid.
    #[serde(default)]
    pub messages_invalid: u32,
}

/// How a waited-for feed ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FeedOutcome {
    /// `DONE`: read the processing report.
    Done(Feed),
    /// `CANCELLED`.
    Cancelled(Feed),
}

/// A submitted feed; [`wait`](Self::wait) polls `getFeed` until it ends.
#[derive(Debug, Clone)]
pub struct FeedHandle {
    client: SpApiClient,
    /// Feed id.
    pub feed_id: FeedId,
}

impl FeedHandle {
    /// A handle for an existing feed id.
    pub fn new(client: SpApiClient, feed_id: FeedId) -> Self {
        FeedHandle { client, feed_id }
    }

    /// Polls every `interval` until the feed is final or `timeout` passed; `FATAL` is
    /// [`Error::FeedFatal`].
    #[tracing::instrument(skip(self), fields(feed_id = %self.feed_id))]
    pub async fn wait(&self, interval: Duration, timeout: Duration) -> Result<FeedOutcome> {
        let start = tokio::time::Instant::now();
        loop {
            let feed = self.client.get_feed(&self.feed_id).await?;
            match feed.processing_status {
                ProcessingStatus::Done => return Ok(FeedOutcome::Done(feed)),
                ProcessingStatus::Cancelled => return Ok(FeedOutcome::Cancelled(feed)),
                ProcessingStatus::Fatal => {
                    return Err(Error::FeedFatal {
                        feed_id: feed.feed_id.0,
                        result_feed_document_id: feed.result_feed_document_id.map(|d| d.0),
                    });
                }
                ref status => {
                    let waited = start.elapsed();
                    if waited + interval > timeout {
                        return Err(Error::WaitTimeout {
                            what: format!("feed {}", self.feed_id),
                            status: status.to_string(),
                            waited,
                        });
                    }
                    tokio::time::sleep(interval).await;
                }
            }
        }
    }
}

impl SpApiClient {
    /// `createFeedDocument`: returns where to upload the feed content.
    pub async fn create_feed_document(&self, content_type: &str) -> Result<FeedDocument> {
        let request = ApiRequest::new(
            Operation::CreateFeedDocument,
            reqwest::Method::POST,
            "/feeds/2021-06-30/documents",
        )
        .json(&json!({"contentType": content_type}))?;
        self.send_json(request).await
    }

    /// Uploads feed content to the pre-signed URL with the Content-Type given to
    /// `createFeedDocument` (Amazon rejects a mismatch). No SP-API headers are sent.
    pub async fn upload_feed_document(
        &self,
        url: &str,
        content_type: &str,
        content: Vec<u8>,
    ) -> Result<()> {
        let started = self.inner.observer.start();
        let response = self
            .inner
            .http
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(content)
            .send()
            .await;
        self.inner.observer.report(
            started,
            Operation::UploadDocument,
            "PUT",
            response.as_ref().ok().map(|r| r.status().as_u16()),
            1,
        );
        let response = response.map_err(|e| Error::Transport {
            operation: Operation::UploadDocument,
            // The pre-signed URL grants write access: keep it out of errors.
            source: e.without_url(),
        })?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(Error::Document(format!(
                "feed upload answered HTTP {status}: {}",
                crate::error::truncate(&body, 300)
            )));
        }
        Ok(())
    }

    /// `createFeed`; a `JSON_LISTINGS_FEED` also waits for the feed type's limit of 5 feeds per
    /// 5 minutes per region ([`Operation::JsonListingsFeed`]). It takes exactly one marketplace: Amazon answers
    /// "Too many 'marketplaceIds' values provided. Expected a maximum of 1." otherwise
    /// (amzn/selling-partner-api-models#4726, 2025-04-04), so more are refused here.
    pub async fn create_feed(
        &self,
        feed_type: &str,
        marketplace_ids: &[&str],
        input_feed_document_id: &FeedDocumentId,
    ) -> Result<FeedHandle> {
        if feed_type == JSON_LISTINGS_FEED && marketplace_ids.len() != 1 {
            return Err(Error::InvalidArgument(format!(
                "a {JSON_LISTINGS_FEED} applies to exactly one marketplace, got {}",
                marketplace_ids.len()
            )));
        }
        let request = ApiRequest::new(
            Operation::CreateFeed,
            reqwest::Method::POST,
            "/feeds/2021-06-30/feeds",
        )
        .also_limited_by((feed_type == JSON_LISTINGS_FEED).then_some(Operation::JsonListingsFeed))
        .json(&json!({
            "feedType": feed_type,
            "marketplaceIds": marketplace_ids,
            "inputFeedDocumentId": input_feed_document_id,
        }))?;
        let created: CreateFeedResponse = self.send_json(request).await?;
        Ok(FeedHandle::new(self.clone(), created.feed_id))
    }

    /// Creates a document, uploads the feed and creates a `JSON_LISTINGS_FEED` for one
    /// marketplace (see [`create_feed`](Self::create_feed) for its limits).
    pub async fn submit_listings_feed(
        &self,
        feed: &ListingsFeed,
        marketplace_id: &str,
    ) -> Result<FeedHandle> {
        let content = feed.to_json()?;
        let document = self.create_feed_document(JSON_CONTENT_TYPE).await?;
        self.upload_feed_document(&document.url, JSON_CONTENT_TYPE, content)
            .await?;
        self.create_feed(
            JSON_LISTINGS_FEED,
            &[marketplace_id],
            &document.feed_document_id,
        )
        .await
    }

    /// `getFeed`.
    pub async fn get_feed(&self, feed_id: &FeedId) -> Result<Feed> {
        self.send_json(ApiRequest::get(
            Operation::GetFeed,
            format!(
                "/feeds/2021-06-30/feeds/{}",
                encode_segment(feed_id.as_str())
            ),
        ))
        .await
    }

    /// `getFeedDocument`.
    pub async fn get_feed_document(
        &self,
        feed_document_id: &FeedDocumentId,
    ) -> Result<FeedDocument> {
        self.send_json(ApiRequest::get(
            Operation::GetFeedDocument,
            format!(
                "/feeds/2021-06-30/documents/{}",
                encode_segment(feed_document_id.as_str())
            ),
        ))
        .await
    }

    /// Downloads and parses the processing report of a finished JSON listings feed.
    pub async fn listings_feed_result(&self, feed: &Feed) -> Result<ProcessingReport> {
        let id = feed.result_feed_document_id.as_ref().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "feed {} has no result document (status {})",
                feed.feed_id, feed.processing_status
            ))
        })?;
        let document = self.get_feed_document(id).await?;
        let text = self
            .download_document(
                &document.url,
                document.compression_algorithm.as_deref(),
                encoding_rs::UTF_8,
            )
            .await?;
        crate::error::parse_json(Operation::GetFeedDocument, &text.text, None)
    }
}
