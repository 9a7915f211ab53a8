//! Reports API 2021-06-30: list, get, create, documents, a handle that waits for a report, the
//! settlement report listing and the bulk order report.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use encoding_rs::Encoding;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{ApiRequest, SpApiClient, encode_segment};
use crate::document::DocumentText;
use crate::error::{Error, Result};
use crate::orders::MIN_DATA_AGE;
use crate::pagination::paginate;
use crate::rate_limit::Operation;
use crate::types::{Page, ReportDocumentId, ReportId, iso, string_enum};

/// The only settlement report type that survives Amazon's 2026-11-11 removals.
pub const SETTLEMENT_REPORT_V2: &str = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2";
/// Tab-separated all-orders report by last update, for bulk backfill.
pub const ALL_ORDERS_BY_LAST_UPDATE: &str = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";

string_enum!(
    /// Processing status of a report.
    ProcessingStatus {
        /// Cancelled, or nothing to report.
        Cancelled = "CANCELLED",
        /// Finished; a document is available.
        Done = "DONE",
        /// Failed (often a per-report-type cooldown).
        Fatal = "FATAL",
        /// Being generated.
        InProgress = "IN_PROGRESS",
        /// Waiting to be generated.
        InQueue = "IN_QUEUE",
    }
);

impl ProcessingStatus {
    /// True for `DONE`, `CANCELLED` and `FATAL`.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            ProcessingStatus::Done | ProcessingStatus::Cancelled | ProcessingStatus::Fatal
        )
    }
}

/// A report as Amazon describes it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Report {
    /// Report id.
    pub report_id: ReportId,
    /// Report type.
    pub report_type: String,
    /// Processing status.
    pub processing_status: ProcessingStatus,
    /// When the report was requested.
    pub created_time: DateTime<Utc>,
    /// Marketplaces covered.
    #[serde(default)]
    pub marketplace_ids: Vec<String>,
    /// Start of the data window.
    #[serde(default)]
    pub data_start_time: Option<DateTime<Utc>>,
    /// End of the data window.
    #[serde(default)]
    pub data_end_time: Option<DateTime<Utc>>,
    /// Processing start.
    #[serde(default)]
    pub processing_start_time: Option<DateTime<Utc>>,
    /// Processing end.
    #[serde(default)]
    pub processing_end_time: Option<DateTime<Utc>>,
    /// Schedule that created it.
    #[serde(default)]
    pub report_schedule_id: Option<String>,
    /// Document id once `DONE` (or an error document for `FATAL`).
    #[serde(default)]
    pub report_document_id: Option<ReportDocumentId>,
}

/// One page of `getReports`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetReportsResponse {
    /// Reports on this page.
    pub reports: Vec<Report>,
    /// Token for the next page.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// Where and how to fetch a report document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportDocument {
    /// Document id.
    pub report_document_id: ReportDocumentId,
    /// Pre-signed URL (valid 5 minutes).
    pub url: String,
    /// `GZIP` when compressed.
    #[serde(default)]
    pub compression_algorithm: Option<String>,
}

/// Filters of `getReports`.
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct ReportQuery {
    /// Report types (1–10).
    pub report_types: Vec<String>,
    /// Status filter.
    pub processing_statuses: Vec<ProcessingStatus>,
    /// Marketplace filter (1–10).
    pub marketplace_ids: Vec<String>,
    /// Page size (1–100).
    pub page_size: Option<u32>,
    /// Earliest creation time (Amazon keeps reports 90 days).
    pub created_since: Option<DateTime<Utc>>,
    /// Latest creation time.
    pub created_until: Option<DateTime<Utc>>,
}

impl ReportQuery {
    /// Reports of the given types.
    pub fn types<S: Into<String>>(types: impl IntoIterator<Item = S>) -> Self {
        ReportQuery {
            report_types: types.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Only reports with these statuses.
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = ProcessingStatus>) -> Self {
        self.processing_statuses = statuses.into_iter().collect();
        self
    }

    /// Only reports created since `t`.
    pub fn created_since(mut self, t: DateTime<Utc>) -> Self {
        self.created_since = Some(t);
        self
    }

    /// Only reports created until `t`.
    pub fn created_until(mut self, t: DateTime<Utc>) -> Self {
        self.created_until = Some(t);
        self
    }

    /// Only reports of these marketplaces.
    pub fn marketplace_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.marketplace_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Page size (1–100).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }
}

/// What to create with `createReport`.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct ReportSpec {
    /// Report type.
    pub report_type: String,
    /// Marketplaces.
    pub marketplace_ids: Vec<String>,
    /// Data window start.
    pub data_start_time: Option<DateTime<Utc>>,
    /// Data window end.
    pub data_end_time: Option<DateTime<Utc>>,
    /// Report-type specific options.
    pub report_options: BTreeMap<String, String>,
}

impl ReportSpec {
    /// A report of `report_type` for marketplaces.
    pub fn new<S: Into<String>>(
        report_type: impl Into<String>,
        marketplace_ids: impl IntoIterator<Item = S>,
    ) -> Self {
        ReportSpec {
            report_type: report_type.into(),
            marketplace_ids: marketplace_ids.into_iter().map(Into::into).collect(),
            data_start_time: None,
            data_end_time: None,
            report_options: BTreeMap::new(),
        }
    }

    /// Sets the data window.
    pub fn window(mut self, start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Self {
        self.data_start_time = Some(start);
        self.data_end_time = end;
        self
    }

    /// Adds a report option.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.report_options.insert(key.into(), value.into());
        self
    }
}

/// How a waited-for report ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ReportOutcome {
    /// `DONE`: the report has a document.
    Done(Report),
    /// `CANCELLED`: usually means there was no data for the window.
    NoData(Report),
}

/// A report that is being generated; [`wait`](Self::wait) polls `getReport` until it ends.
#[derive(Debug, Clone)]
pub struct ReportHandle {
    client: SpApiClient,
    /// The report id.
    pub report_id: ReportId,
}

impl ReportHandle {
    /// A handle for an existing report id.
    pub fn new(client: SpApiClient, report_id: ReportId) -> Self {
        ReportHandle { client, report_id }
    }

    /// Polls every `interval` until the report is final or `timeout` passed. `CANCELLED` is
    /// [`ReportOutcome::NoData`]; `FATAL` is [`Error::ReportFatal`].
    #[tracing::instrument(skip(self), fields(report_id = %self.report_id))]
    pub async fn wait(&self, interval: Duration, timeout: Duration) -> Result<ReportOutcome> {
        let start = tokio::time::Instant::now();
        loop {
            let report = self.client.get_report(&self.report_id).await?;
            match report.processing_status {
                ProcessingStatus::Done => return Ok(ReportOutcome::Done(report)),
                ProcessingStatus::Cancelled => return Ok(ReportOutcome::NoData(report)),
                ProcessingStatus::Fatal => {
                    return Err(Error::ReportFatal {
                        report_id: report.report_id.0,
                        report_document_id: report.report_document_id.map(|d| d.0),
                    });
                }
                ref status => {
                    let waited = start.elapsed();
                    if waited + interval > timeout {
                        return Err(Error::WaitTimeout {
                            what: format!("report {}", self.report_id),
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateReportResponse {
    report_id: ReportId,
}

impl SpApiClient {
    /// `getReports`, one page. With a `next_token` only the token is sent (Amazon rejects the
    /// other parameters alongside it).
    pub async fn get_reports_page(
        &self,
        query: &ReportQuery,
        next_token: Option<&str>,
    ) -> Result<GetReportsResponse> {
        let mut request = ApiRequest::get(Operation::GetReports, "/reports/2021-06-30/reports");
        request = match next_token {
            Some(token) => request.query("nextToken", token),
            None => request
                .query_list("reportTypes", &query.report_types)
                .query_list(
                    "processingStatuses",
                    &query
                        .processing_statuses
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>(),
                )
                .query_list("marketplaceIds", &query.marketplace_ids)
                .query_opt("pageSize", query.page_size.map(|n| n.to_string()))
                .query_opt("createdSince", query.created_since.map(iso))
                .query_opt("createdUntil", query.created_until.map(iso)),
        };
        self.send_json(request).await
    }

    /// `getReports` as a stream across all pages.
    pub fn get_reports(&self, query: ReportQuery) -> BoxStream<'static, Result<Report>> {
        let client = self.clone();
        paginate(move |token: Option<String>| {
            let client = client.clone();
            let query = query.clone();
            async move {
                let page = client.get_reports_page(&query, token.as_deref()).await?;
                Ok(Page {
                    items: page.reports,
                    next_token: page.next_token,
                })
            }
        })
    }

    /// `DONE` settlement reports (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`) created since
    /// `since`. Settlement reports are generated by Amazon on its own schedule: they can only be
    /// listed, never created, and only 90 days back (an earlier `since` is raised to that).
    pub fn settlement_reports_since(
        &self,
        since: DateTime<Utc>,
    ) -> BoxStream<'static, Result<Report>> {
        let oldest = Utc::now() - chrono::Duration::days(90) + chrono::Duration::minutes(5);
        let since = since.max(oldest);
        self.get_reports(
            ReportQuery::types([SETTLEMENT_REPORT_V2])
                .statuses([ProcessingStatus::Done])
                .created_since(since)
                .page_size(100),
        )
    }

    /// `getReport`.
    pub async fn get_report(&self, report_id: &ReportId) -> Result<Report> {
        self.send_json(ApiRequest::get(
            Operation::GetReport,
            format!(
                "/reports/2021-06-30/reports/{}",
                encode_segment(report_id.as_str())
            ),
        ))
        .await
    }

    /// `cancelReport` (only reports still `IN_QUEUE` can be cancelled).
    pub async fn cancel_report(&self, report_id: &ReportId) -> Result<()> {
        self.execute(ApiRequest::new(
            Operation::CancelReport,
            reqwest::Method::DELETE,
            format!(
                "/reports/2021-06-30/reports/{}",
                encode_segment(report_id.as_str())
            ),
        ))
        .await?;
        Ok(())
    }

    /// `createReport`; returns a handle to wait on. Settlement reports cannot be created.
    pub async fn create_report(&self, spec: &ReportSpec) -> Result<ReportHandle> {
        if spec.report_type.contains("SETTLEMENT") {
            return Err(Error::InvalidArgument(
                "settlement reports cannot be requested; list them with settlement_reports_since"
                    .into(),
            ));
        }
        if spec.marketplace_ids.is_empty() {
            return Err(Error::InvalidArgument(
                "createReport needs at least one marketplace id".into(),
            ));
        }
        let mut body = json!({
            "reportType": spec.report_type,
            "marketplaceIds": spec.marketplace_ids,
        });
        if let Some(t) = spec.data_start_time {
            body["dataStartTime"] = json!(iso(t));
        }
        if let Some(t) = spec.data_end_time {
            body["dataEndTime"] = json!(iso(t));
        }
        if !spec.report_options.is_empty() {
            body["reportOptions"] = json!(spec.report_options);
        }
        let request = ApiRequest::new(
            Operation::CreateReport,
            reqwest::Method::POST,
            "/reports/2021-06-30/reports",
        )
        .json(&body)?;
        let created: CreateReportResponse = self.send_json(request).await?;
        Ok(ReportHandle::new(self.clone(), created.report_id))
    }

    /// Requests the tab-separated all-orders report (by last update) for a backfill window;
    /// the window end is clamped to now − 2 min.
    pub async fn request_all_orders_report(
        &self,
        marketplace_ids: &[&str],
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
    ) -> Result<ReportHandle> {
        let latest = Utc::now() - MIN_DATA_AGE;
        let end = end.map(|e| e.min(latest));
        self.create_report(
            &ReportSpec::new(ALL_ORDERS_BY_LAST_UPDATE, marketplace_ids.iter().copied())
                .window(start, end),
        )
        .await
    }

    /// `getReportDocument`.
    pub async fn get_report_document(
        &self,
        report_document_id: &ReportDocumentId,
    ) -> Result<ReportDocument> {
        self.send_json(ApiRequest::get(
            Operation::GetReportDocument,
            format!(
                "/reports/2021-06-30/documents/{}",
                encode_segment(report_document_id.as_str())
            ),
        ))
        .await
    }

    /// Downloads and decodes a report document (gunzip, charset; see
    /// [`decode_document`](crate::document::decode_document)).
    pub async fn download_report_document(
        &self,
        document: &ReportDocument,
        fallback: &'static Encoding,
    ) -> Result<DocumentText> {
        self.download_document(
            &document.url,
            document.compression_algorithm.as_deref(),
            fallback,
        )
        .await
    }

    /// `getReportDocument` + download for a `DONE` report.
    pub async fn download_report(
        &self,
        report: &Report,
        fallback: &'static Encoding,
    ) -> Result<DocumentText> {
        let id = report.report_document_id.as_ref().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "report {} has no document (status {})",
                report.report_id, report.processing_status
            ))
        })?;
        let document = self.get_report_document(id).await?;
        self.download_report_document(&document, fallback).await
    }
}
