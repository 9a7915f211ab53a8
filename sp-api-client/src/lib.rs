//! A typed client for Amazon's Selling Partner API (SP-API) that never trips Amazon's rate
//! limits.
//!
//! * **Auth**: Login with Amazon refresh-token grant; the access token is cached, refreshed
//!   60 s before expiry by one caller while the others wait, refreshed once more when Amazon
//!   says it expired, and sent as `x-amz-access-token` (no SigV4). The client secret can be
//!   rotated while the client runs. All secrets are `secrecy` types.
//! * **Rate limits**: a token bucket per (seller, region, operation) seeded with Amazon's
//!   published usage plans, adjusted from `x-amzn-RateLimit-Limit`, shared by all clones. Calls
//!   wait for a token. 429 / 5xx answers are retried with jittered exponential backoff that
//!   never waits less than 1/rate, a bounded number of times; writes are retried only on 429.
//! * **APIs**: Orders v2026-01-01 (with a v0 fallback producing the same types), Reports
//!   (including gzip and charset handling of documents, settlement report listing), Finances,
//!   Listings Items, Feeds (`JSON_LISTINGS_FEED`), FBA Inventory and Sellers.
//!
//! # Layout
//!
//! | module | what |
//! |---|---|
//! | [`client`] | [`SpApiClient`], its builder and the request path (auth, rate limits, retries) |
//! | [`auth`] | LWA credentials, token cache, typed LWA errors |
//! | [`rate_limit`] | operations, usage plans, token buckets, retry policy |
//! | [`region`] | regions, hosts, marketplace ids |
//! | [`time_zone`] | each marketplace's time zone (local dates of Amazon's UTC times) |
//! | [`error`] | transport / server-reported / parse / auth errors |
//! | [`types`] | exact [`Money`], id newtypes, [`Page`] |
//! | [`orders`], [`orders_v0`] | orders |
//! | [`reports`], [`document`] | reports, document download and decoding |
//! | [`order_report`] | parser of the all-orders report used for backfill |
//! | [`finances`] | financial event groups, transactions |
//! | [`listings`], [`feeds`] | listings items, JSON listings feeds |
//! | [`fba_inventory`] | FBA inventory summaries per SKU |
//! | [`sellers`] | marketplace participations (connection check) |
//! | [`observe`] | an optional hook called per HTTP attempt (metrics: 429s, retries, latency) |
//!
//! # Example
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use sp_api_client::{LwaCredentials, Region, SpApiClient};
//! use sp_api_client::orders::{IncludedData, OrderSearch};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = SpApiClient::builder()
//!     .region(Region::Europe)
//!     .credentials(LwaCredentials::new("amzn1.application-oa2-client.x", "secret", "Atzr|x"))
//!     .app_id("my-tool/1.0")
//!     .build()?;
//! let since = chrono::Utc::now() - chrono::Duration::days(1);
//! let search = OrderSearch::last_updated_after(since)
//!     .marketplace_ids(["A1PA6795UKMFR9"])
//!     .included_data([IncludedData::Proceeds, IncludedData::Fulfillment]);
//! let orders: Vec<_> = client.search_orders(search).try_collect().await?;
//! for order in &orders {
//!     println!("{} {:?}", order.order_id, order.proceeds.as_ref().and_then(|p| p.grand_total.as_ref()));
//! }
//! # Ok(())
//! # }
//! ```

pub mod auth;
mod builder;
pub mod client;
pub mod document;
pub mod error;
pub mod fba_inventory;
pub mod feeds;
pub mod finances;
pub mod listings;
pub mod observe;
pub mod order_report;
pub mod orders;
pub mod orders_v0;
mod pagination;
pub mod rate_limit;
pub mod region;
pub mod reports;
pub mod sellers;
pub mod time_zone;
pub mod types;

pub use auth::{LwaCredentials, LwaError, LwaErrorCode};
pub use client::{BuildError, SpApiClient, SpApiClientBuilder};
pub use error::{ApiError, ApiErrorDetail, Error, ParseError, Result};
pub use observe::{RequestEvent, RequestObserver};
pub use rate_limit::{Operation, RateLimiter, RetryPolicy, UsagePlan};
pub use region::{MARKETPLACES, Marketplace, Region};
pub use types::{AmazonOrderId, Money, Page, Sku};

// Compiles the README's examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
