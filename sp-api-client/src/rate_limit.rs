//! Client-side token buckets, one per (seller, region, operation), seeded with Amazon's published
//! usage plans and adjusted from `x-amzn-RateLimit-Limit`. Calls wait for a token instead of
//! being rejected, so a burst is paced rather than answered with 429s.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Every SP-API operation this crate calls, with Amazon's default usage plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Orders 2026-01-01 `searchOrders`.
    SearchOrders,
    /// Orders 2026-01-01 `getOrder`.
    GetOrder,
    /// Orders v0 `getOrders` (deprecated by Amazon).
    GetOrdersV0,
    /// Orders v0 `getOrderItems` (deprecated by Amazon).
    GetOrderItemsV0,
    /// Reports `getReports`.
    GetReports,
    /// Reports `getReport`.
    GetReport,
    /// Reports `createReport`.
    CreateReport,
    /// Reports `cancelReport`.
    CancelReport,
    /// Reports `getReportDocument`.
    GetReportDocument,
    /// Listings Items `getListingsItem`.
    GetListingsItem,
    /// Listings Items `patchListingsItem`.
    PatchListingsItem,
    /// The limit of `patchListingsItem` with `mode=VALIDATION_PREVIEW` (1 rps), on top of the
    /// operation's own.
    PatchListingsItemPreview,
    /// Feeds `createFeedDocument`.
    CreateFeedDocument,
    /// Feeds `createFeed`.
    CreateFeed,
    /// The limit of `createFeed` for a `JSON_LISTINGS_FEED` (5 per 5 minutes per region), on top
    /// of `createFeed`'s own.
    JsonListingsFeed,
    /// Feeds `getFeed`.
    GetFeed,
    /// Feeds `getFeedDocument`.
    GetFeedDocument,
    /// Sellers `getMarketplaceParticipations`.
    GetMarketplaceParticipations,
    /// FBA Inventory v1 `getInventorySummaries`.
    GetInventorySummaries,
    /// Finances v0 `listFinancialEventGroups`.
    ListFinancialEventGroups,
    /// Finances 2024-06-19 `listTransactions`.
    ListTransactions,
    /// Download of a pre-signed report or feed document URL (not rate limited by SP-API).
    DownloadDocument,
    /// Upload of a feed document to its pre-signed URL (not rate limited by SP-API).
    UploadDocument,
}

impl Operation {
    /// Every operation, in declaration order (a test compares their plans with Amazon's models).
    pub const ALL: &'static [Operation] = &[
        Operation::SearchOrders,
        Operation::GetOrder,
        Operation::GetOrdersV0,
        Operation::GetOrderItemsV0,
        Operation::GetReports,
        Operation::GetReport,
        Operation::CreateReport,
        Operation::CancelReport,
        Operation::GetReportDocument,
        Operation::GetListingsItem,
        Operation::PatchListingsItem,
        Operation::PatchListingsItemPreview,
        Operation::CreateFeedDocument,
        Operation::CreateFeed,
        Operation::JsonListingsFeed,
        Operation::GetFeed,
        Operation::GetFeedDocument,
        Operation::GetMarketplaceParticipations,
        Operation::GetInventorySummaries,
        Operation::ListFinancialEventGroups,
        Operation::ListTransactions,
        Operation::DownloadDocument,
        Operation::UploadDocument,
    ];

    /// Amazon's operation id; for a limit on top of an operation, the id and the case it covers.
    pub fn name(self) -> &'static str {
        match self {
            Operation::SearchOrders => "searchOrders",
            Operation::GetOrder => "getOrder",
            Operation::GetOrdersV0 => "getOrders",
            Operation::GetOrderItemsV0 => "getOrderItems",
            Operation::GetReports => "getReports",
            Operation::GetReport => "getReport",
            Operation::CreateReport => "createReport",
            Operation::CancelReport => "cancelReport",
            Operation::GetReportDocument => "getReportDocument",
            Operation::GetListingsItem => "getListingsItem",
            Operation::PatchListingsItem => "patchListingsItem",
            Operation::PatchListingsItemPreview => "patchListingsItem(VALIDATION_PREVIEW)",
            Operation::CreateFeedDocument => "createFeedDocument",
            Operation::CreateFeed => "createFeed",
            Operation::JsonListingsFeed => "createFeed(JSON_LISTINGS_FEED)",
            Operation::GetFeed => "getFeed",
            Operation::GetFeedDocument => "getFeedDocument",
            Operation::GetMarketplaceParticipations => "getMarketplaceParticipations",
            Operation::GetInventorySummaries => "getInventorySummaries",
            Operation::ListFinancialEventGroups => "listFinancialEventGroups",
            Operation::ListTransactions => "listTransactions",
            Operation::DownloadDocument => "downloadDocument",
            Operation::UploadDocument => "uploadDocument",
        }
    }

    /// Amazon's published default usage plan: (requests per second, burst). `None` for calls
    /// that do not go to SP-API.
    pub fn default_plan(self) -> Option<UsagePlan> {
        let (rate, burst) = match self {
            Operation::SearchOrders => (0.0056, 20),
            Operation::GetOrder => (0.5, 30),
            Operation::GetOrdersV0 => (0.0167, 20),
            Operation::GetOrderItemsV0 => (0.5, 30),
            Operation::GetReports | Operation::CancelReport => (0.0222, 10),
            Operation::GetReport => (2.0, 15),
            Operation::CreateReport | Operation::GetReportDocument => (0.0167, 15),
            // The one deliberate difference from the models (tests/rate_limits.rs lists it):
            // listingsItems_2021-08-01.json gives getListingsItem burst 10, Amazon's "Listings
            // Items API Rate Limits" page
            // (https://developer-docs.amazon.com/sp-api/docs/listings-items-api-rate-limits)
            // gives 5. The page wins: it is where Amazon documents the limits in force (with the
            // per-application limits the model lacks), and when two sources disagree the lower
            // burst is the safe one: it only paces a sixth call a little sooner, whereas a burst
            // Amazon does not grant answers with 429s.
            Operation::GetListingsItem => (5.0, 5),
            Operation::PatchListingsItem => (5.0, 5),
            // "Note: Both the putListingsItem and patchListingsItem operations have a throttling
            // rate of one request per second when mode is VALIDATION_PREVIEW." (changelog
            // 2024-01-31, https://developer-docs.amazon.com/sp-api/changelog/update-listings-items-api-v2021-08-01-now-supports-previewing-errors).
            // No burst is published; 1 is the one that never exceeds the rate.
            Operation::PatchListingsItemPreview => (1.0, 1),
            Operation::CreateFeedDocument => (0.5, 15),
            Operation::CreateFeed => (0.0083, 15),
            // "Throttle rate per region increases from one feed submission per five minutes to
            // five feed submissions per five minutes" (changelog 2025-05-06, "Feed size and rate
            // limit changes for the JSON_LISTINGS_FEED",
            // https://developer-docs.amazon.com/sp-api/changelog/update-feed-size-and-rate-limit-changes-for-the-json_listings_feed).
            // Buckets are per seller and region, which is what "per region" means for one seller.
            Operation::JsonListingsFeed => (5.0 / 300.0, 5),
            Operation::GetFeed => (2.0, 15),
            Operation::GetFeedDocument => (0.0222, 10),
            Operation::GetMarketplaceParticipations => (0.016, 15),
            // fba-inventory-api-model/fbaInventory.json, getInventorySummaries "Usage Plan":
            // rate 2, burst 2.
            Operation::GetInventorySummaries => (2.0, 2),
            Operation::ListFinancialEventGroups => (0.5, 30),
            Operation::ListTransactions => (0.5, 10),
            Operation::DownloadDocument | Operation::UploadDocument => return None,
        };
        Some(UsagePlan { rate, burst })
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A token-bucket usage plan: `rate` tokens per second up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsagePlan {
    /// Sustained requests per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BucketKey {
    pub(crate) seller: Arc<str>,
    pub(crate) region: Arc<str>,
    pub(crate) operation: Operation,
}

#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    // May go negative: callers reserve a token and sleep until it exists, which keeps them
    // in arrival order without a wake-up loop.
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }
}

/// The set of token buckets. Every clone of a client shares it; pass one to several builders to
/// share buckets between clients that act for the same seller.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    buckets: Arc<Mutex<HashMap<BucketKey, Bucket>>>,
    scale: f64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            buckets: Arc::default(),
            scale: 1.0,
        }
    }
}

impl RateLimiter {
    /// An empty set of buckets; each is created full on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Buckets whose published rates are multiplied by `scale`: for a test double that runs
    /// Amazon's limits on a faster clock (never for the real SP-API). `scale` <= 0 means 1.
    pub fn with_time_scale(scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        Self {
            buckets: Arc::default(),
            scale,
        }
    }

    fn with_bucket<R>(&self, key: &BucketKey, f: impl FnOnce(&mut Bucket) -> R) -> Option<R> {
        let plan = key.operation.default_plan()?;
        let mut map = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let scale = self.scale;
        let bucket = map.entry(key.clone()).or_insert_with(|| Bucket {
            rate: plan.rate * scale,
            burst: f64::from(plan.burst),
            tokens: f64::from(plan.burst),
            last: now,
        });
        bucket.refill(now);
        Some(f(bucket))
    }

    /// Takes one token, sleeping until it is available.
    pub(crate) async fn acquire(&self, key: &BucketKey) {
        let wait = self
            .with_bucket(key, |b| {
                b.tokens -= 1.0;
                if b.tokens >= 0.0 {
                    Duration::ZERO
                } else {
                    Duration::from_secs_f64(-b.tokens / b.rate)
                }
            })
            .unwrap_or(Duration::ZERO);
        if !wait.is_zero() {
            tracing::debug!(operation = %key.operation, ?wait, "waiting for a rate-limit token");
            tokio::time::sleep(wait).await;
        }
    }

    /// How many times faster than Amazon's published rates this limiter refills (1 for the real
    /// SP-API).
    pub fn time_scale(&self) -> f64 {
        self.scale
    }

    /// Current sustained rate of a bucket (requests per second).
    pub(crate) fn rate(&self, key: &BucketKey) -> Option<f64> {
        self.with_bucket(key, |b| b.rate)
    }

    /// Adopts the rate Amazon reported in `x-amzn-RateLimit-Limit`.
    pub(crate) fn observe_limit(&self, key: &BucketKey, rate: f64) {
        if rate.is_finite() && rate > 0.0 {
            self.with_bucket(key, |b| {
                if (b.rate - rate).abs() > f64::EPSILON {
                    tracing::debug!(operation = %key.operation, old = b.rate, new = rate, "rate limit updated from header");
                    b.rate = rate;
                }
            });
        }
    }

    /// Amazon said 429: our bucket was fuller than Amazon's, so empty it.
    pub(crate) fn throttled(&self, key: &BucketKey) {
        self.with_bucket(key, |b| b.tokens = b.tokens.min(0.0));
    }

    /// The current rate of `operation` for a seller and region, as seen by this limiter.
    pub fn current_rate(&self, seller: &str, region: &str, operation: Operation) -> Option<f64> {
        self.rate(&BucketKey {
            seller: seller.into(),
            region: region.into(),
            operation,
        })
    }
}

/// Retry policy for throttling (429) and server errors (500/502/503/504).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (at least 1).
    pub max_attempts: u32,
    /// Smallest delay before a retry; the delay is never below 1/rate of the operation.
    pub base_delay: Duration,
    /// Largest delay between two attempts (raised to 1/rate if that is longer).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The policy on a clock `scale` times faster: base and maximum delays divided by `scale`
    /// (for a test double whose rate limits run on [`RateLimiter::with_time_scale`]).
    #[must_use]
    pub fn scaled(self, scale: f64) -> Self {
        if !(scale.is_finite() && scale > 0.0) || scale == 1.0 {
            return self;
        }
        RetryPolicy {
            base_delay: self.base_delay.div_f64(scale),
            max_delay: self.max_delay.div_f64(scale),
            ..self
        }
    }

    /// Delay before attempt `failed_attempts + 1`: at least 1/rate, doubled per failure, capped,
    /// plus up to 25 % jitter.
    pub fn delay(&self, failed_attempts: u32, rate: Option<f64>) -> Duration {
        let per_token = rate
            .filter(|r| *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r))
            .unwrap_or(Duration::ZERO);
        let floor = self.base_delay.max(per_token);
        let exp = failed_attempts.saturating_sub(1).min(16);
        let cap = self.max_delay.max(per_token);
        let delay = floor.saturating_mul(1 << exp).min(cap);
        let jitter = delay.mul_f64(rand::random::<f64>() * 0.25);
        delay + jitter
    }
}

#[cfg(test)]
mod scale_tests {
    use super::*;

    #[test]
    fn all_lists_every_operation() {
        // No wildcard: a new variant fails to compile here until it is added to ALL too.
        let index = |op: Operation| match op {
            Operation::SearchOrders => 0,
            Operation::GetOrder => 1,
            Operation::GetOrdersV0 => 2,
            Operation::GetOrderItemsV0 => 3,
            Operation::GetReports => 4,
            Operation::GetReport => 5,
            Operation::CreateReport => 6,
            Operation::CancelReport => 7,
            Operation::GetReportDocument => 8,
            Operation::GetListingsItem => 9,
            Operation::PatchListingsItem => 10,
            Operation::PatchListingsItemPreview => 11,
            Operation::CreateFeedDocument => 12,
            Operation::CreateFeed => 13,
            Operation::JsonListingsFeed => 14,
            Operation::GetFeed => 15,
            Operation::GetFeedDocument => 16,
            Operation::GetMarketplaceParticipations => 17,
            Operation::GetInventorySummaries => 18,
            Operation::ListFinancialEventGroups => 19,
            Operation::ListTransactions => 20,
            Operation::DownloadDocument => 21,
            Operation::UploadDocument => 22,
        };
        for (i, op) in Operation::ALL.iter().enumerate() {
            assert_eq!(index(*op), i, "{op} out of place in Operation::ALL");
        }
        assert_eq!(Operation::ALL.len(), 23);
    }

    #[test]
    fn a_time_scale_multiplies_published_rates() {
        let plain = RateLimiter::new();
        let fast = RateLimiter::with_time_scale(100.0);
        let rate = |l: &RateLimiter| l.current_rate("S", "eu", Operation::SearchOrders).unwrap();
        assert!((rate(&fast) - rate(&plain) * 100.0).abs() < 1e-9);
        assert!((rate(&RateLimiter::with_time_scale(-1.0)) - rate(&plain)).abs() < 1e-12);
    }
}
