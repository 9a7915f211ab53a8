//! The fake SP-API and LWA: token endpoint, `x-amz-access-token` on every call, per-operation
//! token buckets, Orders (v2026-01-01 and v0), Reports with gzip documents, Finances, Listings,
//! Feeds and Sellers.

pub mod fba_inventory;
pub mod feeds;
pub mod finances;
pub mod listings;
pub mod lwa;
pub mod order_reports;
pub mod orders;
pub mod ratelimit;
pub mod reports;
pub mod sellers;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::world::World;
use crate::{SandboxConfig, Shared};
use ratelimit::{Buckets, Operation};

/// State of the Amazon fakes.
#[derive(Debug)]
pub struct AmazonState {
    /// Issued access tokens and their expiry.
    pub(crate) tokens: Mutex<HashMap<String, DateTime<Utc>>>,
    /// Whether the seller revoked the app (refresh token now answers `invalid_grant`).
    pub(crate) revoked: Mutex<bool>,
    /// Token buckets.
    pub(crate) buckets: Buckets,
    /// The fake catalog (listings) the Listings API and feeds change.
    pub(crate) catalog: Mutex<listings::Catalog>,
    /// Feeds and their documents.
    pub(crate) feeds: Mutex<feeds::FeedStore>,
    /// Reports created with createReport.
    pub(crate) created_reports: Mutex<Vec<reports::CreatedReport>>,
    latency: Duration,
    listing_delay: chrono::Duration,
    /// Charset announced on report documents.
    pub(crate) charset: String,
}

/// The listing processing delay in sandbox time: Amazon's time divided by `time_scale`, as the
/// token buckets refill `time_scale` times faster.
fn scaled_delay(config: &SandboxConfig) -> chrono::Duration {
    if config.time_scale <= 0.0 || !config.time_scale.is_finite() {
        return config.listing_apply_delay;
    }
    let ms = config.listing_apply_delay.num_milliseconds() as f64 / config.time_scale;
    chrono::Duration::milliseconds(ms.round() as i64)
}

impl AmazonState {
    pub(crate) fn new(config: &SandboxConfig, world: &World) -> Self {
        Self {
            tokens: Mutex::new(HashMap::new()),
            revoked: Mutex::new(false),
            buckets: Buckets::new(config.time_scale),
            catalog: Mutex::new(listings::Catalog::from_world(world, scaled_delay(config))),
            feeds: Mutex::new(feeds::FeedStore::default()),
            created_reports: Mutex::new(Vec::new()),
            latency: config.sp_api_latency,
            listing_delay: scaled_delay(config),
            charset: config.report_charset.clone(),
        }
    }

    /// What a state file keeps of the Amazon side: everything requests change except the
    /// token buckets.
    pub(crate) fn to_saved(&self) -> SavedAmazon {
        SavedAmazon {
            tokens: self
                .tokens
                .lock()
                .expect("tokens")
                .iter()
                .map(|(t, e)| (t.clone(), *e))
                .collect(),
            revoked: *self.revoked.lock().expect("revoked"),
            catalog: self.catalog.lock().expect("catalog").clone(),
            feeds: self.feeds.lock().expect("feeds").clone(),
            created_reports: self.created_reports.lock().expect("reports").clone(),
        }
    }

    /// Puts back what [`AmazonState::to_saved`] kept.
    pub(crate) fn restore(&self, saved: SavedAmazon) {
        *self.tokens.lock().expect("tokens") = saved.tokens.into_iter().collect();
        *self.revoked.lock().expect("revoked") = saved.revoked;
        *self.catalog.lock().expect("catalog") = saved.catalog.with_delay(self.listing_delay);
        *self.feeds.lock().expect("feeds") = saved.feeds;
        *self.created_reports.lock().expect("reports") = saved.created_reports;
    }

    pub(crate) fn reset(&self, world: &World) {
        self.tokens.lock().expect("tokens").clear();
        *self.revoked.lock().expect("revoked") = false;
        self.buckets.reset();
        *self.catalog.lock().expect("catalog") =
            listings::Catalog::from_world(world, self.listing_delay);
        *self.feeds.lock().expect("feeds") = feeds::FeedStore::default();
        self.created_reports.lock().expect("reports").clear();
    }
}

/// The Amazon side as a state file holds it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SavedAmazon {
    /// Issued LWA access tokens: like the real ones, they outlive a restart of the client.
    tokens: BTreeMap<String, DateTime<Utc>>,
    revoked: bool,
    catalog: listings::Catalog,
    feeds: feeds::FeedStore,
    created_reports: Vec<reports::CreatedReport>,
}

/// The Amazon server's routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/auth/o2/token", post(lwa::token))
        .route("/orders/2026-01-01/orders", get(orders::search_orders))
        .route("/fba/inventory/v1/summaries", get(fba_inventory::summaries))
        .route(
            "/orders/2026-01-01/orders/{order_id}",
            get(orders::get_order),
        )
        .route("/orders/v0/orders", get(orders::get_orders_v0))
        .route("/orders/v0/orders/{order_id}", get(orders::get_order_v0))
        .route(
            "/orders/v0/orders/{order_id}/orderItems",
            get(orders::get_order_items_v0),
        )
        .route(
            "/reports/2021-06-30/reports",
            get(reports::get_reports).post(reports::create_report),
        )
        .route(
            "/reports/2021-06-30/reports/{report_id}",
            get(reports::get_report),
        )
        .route(
            "/reports/2021-06-30/documents/{document_id}",
            get(reports::get_report_document),
        )
        .route("/s3/reports/{document_id}", get(reports::download))
        .route(
            "/finances/2024-06-19/transactions",
            get(finances::list_transactions),
        )
        .route(
            "/finances/v0/financialEventGroups",
            get(finances::list_financial_event_groups),
        )
        .route(
            "/sellers/v1/marketplaceParticipations",
            get(sellers::marketplace_participations),
        )
        .route(
            "/listings/2021-08-01/items/{seller_id}/{sku}",
            get(listings::get_listings_item).patch(listings::patch_listings_item),
        )
        .route(
            "/feeds/2021-06-30/documents",
            post(feeds::create_feed_document),
        )
        .route(
            "/feeds/2021-06-30/documents/{document_id}",
            get(feeds::get_feed_document),
        )
        .route("/feeds/2021-06-30/feeds", post(feeds::create_feed))
        .route("/feeds/2021-06-30/feeds/{feed_id}", get(feeds::get_feed))
        .route(
            "/s3/feeds/{document_id}",
            get(feeds::download).put(feeds::upload),
        )
        // JSON_LISTINGS_FEED documents may be up to ~10 MiB.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            crate::faults::amazon_layer,
        ))
        .with_state(shared)
}

async fn not_found() -> Response {
    let mut r = error(
        403,
        "MissingAuthenticationToken",
        "Missing Authentication Token",
        "",
    );
    r.headers_mut().insert(
        "x-amzn-ErrorType",
        HeaderValue::from_static("MissingAuthenticationTokenException"),
    );
    r
}

/// ISO-8601 UTC with seconds, as Amazon prints it.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an ISO-8601 timestamp parameter.
pub fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
}

fn request_id(shared: &Shared) -> String {
    let mut rng = shared.rng.lock().expect("rng");
    let hex = |rng: &mut rand::rngs::StdRng, n: usize| -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
            .collect()
    };
    format!(
        "{}-{}-{}-{}-{}",
        hex(&mut rng, 8),
        hex(&mut rng, 4),
        hex(&mut rng, 4),
        hex(&mut rng, 4),
        hex(&mut rng, 12)
    )
}

/// A JSON response.
pub fn json_response(status: u16, body: &Value) -> Response {
    let mut r = Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `{"errors":[{code, message, details}]}`.
pub fn error(status: u16, code: &str, message: &str, details: &str) -> Response {
    json_response(
        status,
        &json!({"errors": [{"code": code, "message": message, "details": details}]}),
    )
}

/// 429 QuotaExceeded (no rate-limit header on 429, as documented).
pub fn quota_exceeded() -> Response {
    error(
        429,
        "QuotaExceeded",
        "You exceeded your quota for the requested resource.",
        "",
    )
}

/// Authorises and throttles one SP-API call; on success, returns the finishing function that
/// adds `x-amzn-RequestId` and `x-amzn-RateLimit-Limit`.
pub(crate) async fn gate(
    shared: &Shared,
    headers: &HeaderMap,
    op: &'static Operation,
) -> Result<Finisher, Response> {
    if !shared.amazon.latency.is_zero() {
        tokio::time::sleep(shared.amazon.latency).await;
    }
    let rid = request_id(shared);
    let with_id = |mut r: Response| {
        if let Ok(v) = HeaderValue::from_str(&rid) {
            r.headers_mut().insert("x-amzn-RequestId", v);
        }
        r
    };
    let token = headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok());
    let denied = |details: &str| {
        with_id(error(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            details,
        ))
    };
    let Some(token) = token else {
        return Err(denied(""));
    };
    let expiry = shared
        .amazon
        .tokens
        .lock()
        .expect("tokens")
        .get(token)
        .copied();
    match expiry {
        None => {
            return Err(denied(
                "The access token you provided is revoked, malformed or invalid.",
            ));
        }
        Some(e) if e <= shared.clock.now() => {
            return Err(denied("The access token you provided has expired."));
        }
        Some(_) => {}
    }
    let accepted = shared.amazon.buckets.take(op);
    shared.requests.sp_api(op.name, accepted);
    if !accepted {
        return Err(with_id(quota_exceeded()));
    }
    Ok(Finisher {
        request_id: rid,
        rate: shared.amazon.buckets.scaled_rate(op),
    })
}

/// Adds the per-response headers.
#[derive(Debug)]
pub(crate) struct Finisher {
    request_id: String,
    rate: f64,
}

impl Finisher {
    /// Finishes a response: request id always, rate limit on 2xx/400/404 only.
    pub(crate) fn finish(&self, mut r: Response) -> Response {
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            h.insert("x-amzn-RequestId", v);
        }
        let s = r.status().as_u16();
        if ((200..300).contains(&s) || s == 400 || s == 404)
            && let Ok(v) = HeaderValue::from_str(&format_rate(self.rate))
        {
            r.headers_mut().insert("x-amzn-RateLimit-Limit", v);
        }
        r
    }

    /// A JSON success response.
    pub(crate) fn json(&self, status: u16, body: &Value) -> Response {
        self.finish(json_response(status, body))
    }

    /// An error response.
    pub(crate) fn error(&self, status: u16, code: &str, message: &str) -> Response {
        self.finish(error(status, code, message, ""))
    }
}

fn format_rate(r: f64) -> String {
    let s = format!("{r:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Query parameters as received (decoded, repeated keys kept).
#[derive(Debug, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        Params(
            raw.unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (crate::sap::odata::decode(k), crate::sap::odata::decode(v))
                })
                .collect(),
        )
    }

    /// One value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A list parameter: comma-separated and/or repeated.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}
