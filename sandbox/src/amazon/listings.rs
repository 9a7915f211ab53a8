//! Listings Items 2021-08-01: get and patch, applied to the fake catalog. `VALIDATION_PREVIEW`
//! validates without applying; SKUs arrive URL-encoded; only top-level attribute paths are allowed.

use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ratelimit::{GET_LISTINGS_ITEM, PATCH_LISTINGS_ITEM, PATCH_LISTINGS_ITEM_PREVIEW};
use super::{Params, gate, iso};
use crate::Shared;
use crate::world::{Channel, OrderStatus, World};

/// One offer of a SKU in one marketplace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    /// Seller SKU.
    pub sku: String,
    /// Marketplace id.
    pub marketplace_id: String,
    /// ASIN.
    pub asin: String,
    /// Title.
    pub title: String,
    /// Product type.
    pub product_type: String,
    /// `DEFAULT` (merchant) or `AMAZON_EU` (FBA).
    pub fulfillment_channel_code: String,
    /// Price with tax.
    pub price: Decimal,
    /// Currency.
    pub currency: String,
    /// Quantity (FBA quantities are Amazon's and not settable).
    pub quantity: i64,
    /// Last change.
    pub last_updated: Option<DateTime<Utc>>,
}

/// The fake Amazon catalog.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Catalog {
    /// All listings.
    pub listings: Vec<Listing>,
    /// Accepted submissions not applied yet: (sku, marketplace, due, changes).
    pending: Vec<(String, String, DateTime<Utc>, Vec<Change>)>,
    /// How long an ACCEPTED submission takes to show (Amazon processes them asynchronously).
    /// Configuration, not state: a restored catalog takes it from the current config.
    #[serde(skip)]
    delay: chrono::Duration,
    /// Issues found while applying accepted submissions: (sku, marketplace, issue).
    #[serde(default)]
    issues: Vec<(String, String, Value)>,
}

impl Catalog {
    /// The catalog that matches the world.
    pub fn from_world(world: &World, delay: chrono::Duration) -> Self {
        // INVENTED: the seeded starting point, not an Amazon behaviour: each merchant offer shows
        // what the seller last set, SAP's stock less the units of the world's open (pending,
        // unshipped) merchant orders, which SAP does not know yet. FBA offers show Amazon's stock.
        let mut open = vec![0i64; world.catalog.len()];
        for o in world.orders.iter().filter(|o| {
            o.channel == Channel::Mfn
                && matches!(o.status, OrderStatus::Pending | OrderStatus::Unshipped)
        }) {
            for it in &o.items {
                open[it.product] += i64::from(it.quantity);
            }
        }
        let mut listings = Vec::new();
        for (i, p) in world.catalog.iter().enumerate() {
            let quantity = if p.channel == Channel::Mfn {
                (p.stock - open[i]).max(0)
            } else {
                p.stock
            };
            for m in &world.marketplaces {
                listings.push(Listing {
                    sku: p.sku.clone(),
                    marketplace_id: m.id.to_string(),
                    asin: p.asin.clone(),
                    title: p.title.clone(),
                    product_type: "PRODUCT".into(),
                    fulfillment_channel_code: if p.channel == Channel::Afn {
                        "AMAZON_EU".into()
                    } else {
                        "DEFAULT".into()
                    },
                    price: if m.currency == "GBP" {
                        p.price_gbp
                    } else {
                        p.price_eur
                    },
                    currency: m.currency.to_string(),
                    quantity,
                    last_updated: None,
                });
            }
        }
        Self {
            listings,
            pending: Vec::new(),
            delay,
            issues: Vec::new(),
        }
    }

    /// The same catalog with another processing delay for new submissions.
    pub(crate) fn with_delay(self, delay: chrono::Duration) -> Self {
        Self { delay, ..self }
    }

    /// Applies the submissions that are due.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.2 <= now);
        self.pending = later;
        for (sku, market, at, changes) in due {
            let Some(l) = self.find_mut(&sku, &market) else {
                continue;
            };
            // Amazon's pricing guardrail, checked after ACCEPTED: a price far above the current
            // one is not applied and shows as an issue on the listing (modelled: Amazon does not
            // publish the threshold or the code).
            let too_high = changes
                .iter()
                .any(|c| matches!(c, Change::Price(p) if *p > l.price * Decimal::TEN));
            let changes: Vec<Change> = if too_high {
                changes
                    .into_iter()
                    .filter(|c| !matches!(c, Change::Price(_)))
                    .collect()
            } else {
                changes
            };
            let priced = changes.iter().any(|c| matches!(c, Change::Price(_)));
            apply(l, &changes, at);
            if too_high || priced {
                self.issues.retain(|(s, m, _)| !(*s == sku && *m == market));
            }
            if too_high {
                let mut issue = issue(
                    PRICING_ERROR_CODE,
                    "Potential pricing error: the price is much higher than the current price of this offer. The price was not changed.",
                    Some("purchasable_offer"),
                );
                issue["marketplaceIds"] = json!([market]);
                issue["categories"] = json!(["INVALID_PRICE"]);
                self.issues.push((sku, market, issue));
            }
        }
    }

    /// Issues of a listing (from accepted submissions Amazon refused while applying them).
    pub fn issues_of(&self, sku: &str, marketplace: &str) -> Vec<Value> {
        self.issues
            .iter()
            .filter(|(s, m, _)| s == sku && m == marketplace)
            .map(|(_, _, i)| i.clone())
            .collect()
    }

    /// Queues validated changes; they show after the processing delay.
    pub fn submit(
        &mut self,
        sku: &str,
        marketplace: &str,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) {
        self.submit_at(sku, marketplace, changes, now);
        self.settle(now);
    }

    /// Queues validated changes that show at `due` (or later, after the processing delay).
    pub fn submit_at(
        &mut self,
        sku: &str,
        marketplace: &str,
        changes: Vec<Change>,
        due: DateTime<Utc>,
    ) {
        self.pending.push((
            sku.to_string(),
            marketplace.to_string(),
            due + self.delay,
            changes,
        ));
    }

    fn find_mut(&mut self, sku: &str, marketplace: &str) -> Option<&mut Listing> {
        self.listings
            .iter_mut()
            .find(|l| l.sku == sku && l.marketplace_id == marketplace)
    }
}

/// Code of the modelled pricing-guardrail issue.
// INVENTED: code 90001001, its text and the 10x threshold; Amazon documents that it may not apply
// a price it judges an error, but publishes neither the threshold nor the code.
pub const PRICING_ERROR_CODE: &str = "90001001";

fn issue(code: &str, message: &str, attribute: Option<&str>) -> Value {
    let mut v = json!({"code": code, "message": message, "severity": "ERROR", "categories": ["INVALID_ATTRIBUTE"]});
    if let Some(a) = attribute {
        v["attributeNames"] = json!([a]);
    }
    v
}

fn dec(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        Value::String(s) => Decimal::from_str(s).ok(),
        _ => None,
    }
}

/// A change a patch makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    /// New price with tax.
    Price(Decimal),
    /// New merchant-fulfilled quantity.
    Quantity(i64),
}

/// Validates patches; returns the changes or the issues.
pub fn validate_patches(patches: &[Value], listing: &Listing) -> Result<Vec<Change>, Vec<Value>> {
    let mut changes = Vec::new();
    let mut issues = Vec::new();
    for (i, p) in patches.iter().enumerate() {
        let op = p.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = p.get("path").and_then(Value::as_str).unwrap_or_default();
        if !["add", "replace", "merge", "delete"].contains(&op) {
            // INVENTED: issue code 4000003 and its text; Amazon rejects such patches but the
            // code it uses for them is not in its models or docs.
            issues.push(issue(
                "4000003",
                &format!("Invalid operation provided in patch at index of {i}."),
                None,
            ));
            continue;
        }
        let Some(attr) = path
            .strip_prefix("/attributes/")
            .filter(|a| !a.is_empty() && !a.contains('/'))
        else {
            // INVENTED: issue code 4000003 and its text; Amazon rejects such patches but the
            // code it uses for them is not in its models or docs.
            issues.push(issue(
                "4000003",
                &format!("Invalid path provided in patch at index of {i}."),
                None,
            ));
            continue;
        };
        if op == "delete" {
            continue;
        }
        let first = p
            .get("value")
            .and_then(Value::as_array)
            .and_then(|a| a.first());
        match attr {
            "purchasable_offer" => {
                let price = first
                    .and_then(|o| o.get("our_price"))
                    .and_then(|x| x.get(0))
                    .and_then(|x| x.get("schedule"))
                    .and_then(|x| x.get(0))
                    .and_then(|x| dec(x.get("value_with_tax")));
                let currency_ok = first
                    .and_then(|o| o.get("currency"))
                    .and_then(Value::as_str)
                    .is_none_or(|c| c == listing.currency);
                match price {
                    Some(pr) if pr > Decimal::ZERO && currency_ok => {
                        changes.push(Change::Price(pr))
                    }
                    _ => issues.push(issue(
                        "4000001",
                        "The provided value for 'purchasable_offer' is invalid.",
                        Some("purchasable_offer"),
                    )),
                }
            }
            "fulfillment_availability" => {
                let code = first
                    .and_then(|o| o.get("fulfillment_channel_code"))
                    .and_then(Value::as_str);
                let qty = first
                    .and_then(|o| o.get("quantity"))
                    .and_then(Value::as_i64);
                match (code, qty) {
                    (Some("DEFAULT"), Some(q))
                        if q >= 0 && listing.fulfillment_channel_code == "DEFAULT" =>
                    {
                        changes.push(Change::Quantity(q))
                    }
                    (Some("DEFAULT"), Some(_)) if listing.fulfillment_channel_code != "DEFAULT" => {
                        issues.push(issue(
                            "90220",
                            "The quantity of an offer fulfilled by Amazon cannot be set.",
                            Some("fulfillment_availability"),
                        ))
                    }
                    _ => issues.push(issue(
                        "4000001",
                        "The provided value for 'fulfillment_availability' is invalid.",
                        Some("fulfillment_availability"),
                    )),
                }
            }
            _ => {}
        }
    }
    if issues.is_empty() {
        Ok(changes)
    } else {
        Err(issues)
    }
}

/// Applies validated changes.
pub fn apply(listing: &mut Listing, changes: &[Change], now: DateTime<Utc>) {
    for c in changes {
        match c {
            Change::Price(p) => listing.price = *p,
            Change::Quantity(q) => listing.quantity = *q,
        }
    }
    listing.last_updated = Some(now);
}

fn listing_json(l: &Listing, issues: Vec<Value>, included: &[String]) -> Value {
    let included: Vec<&str> = if included.is_empty() {
        vec!["summaries"]
    } else {
        included.iter().map(String::as_str).collect()
    };
    let mut v = json!({"sku": l.sku});
    let price_num = crate::sap::validation::number(l.price);
    for d in included {
        match d {
            "summaries" => {
                v["summaries"] = json!([{"marketplaceId": l.marketplace_id, "asin": l.asin, "productType": l.product_type, "conditionType": "new_new", "status": ["BUYABLE", "DISCOVERABLE"], "itemName": l.title, "createdDate": "2024-01-02T10:00:00Z", "lastUpdatedDate": l.last_updated.map_or("2024-01-02T10:00:00Z".to_string(), iso)}]);
            }
            "attributes" => {
                v["attributes"] = json!({
                    "purchasable_offer": [{"marketplace_id": l.marketplace_id, "currency": l.currency, "audience": "ALL", "our_price": [{"schedule": [{"value_with_tax": price_num}]}]}],
                    "fulfillment_availability": [{"fulfillment_channel_code": l.fulfillment_channel_code, "quantity": l.quantity}],
                });
            }
            "offers" => {
                v["offers"] = json!([{"marketplaceId": l.marketplace_id, "offerType": "B2C", "price": {"currencyCode": l.currency, "amount": format!("{:.2}", l.price)}, "audience": {"value": "ALL", "displayName": "Sell on Amazon"}}]);
            }
            "fulfillmentAvailability" => {
                v["fulfillmentAvailability"] = json!([{"fulfillmentChannelCode": l.fulfillment_channel_code, "quantity": l.quantity}]);
            }
            "issues" => v["issues"] = Value::from(issues.clone()),
            _ => {}
        }
    }
    v
}

/// `GET /listings/2021-08-01/items/{sellerId}/{sku}`.
pub(crate) async fn get_listings_item(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((seller, sku)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let fin = match gate(&shared, &headers, &GET_LISTINGS_ITEM).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let p = Params::parse(q.as_deref());
    let markets = p.list("marketplaceIds");
    if markets.len() != 1 {
        return fin.error(
            400,
            "InvalidInput",
            "Exactly one marketplaceId must be provided.",
        );
    }
    if seller != shared.world().seller_id {
        return fin.error(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
        );
    }
    let mut catalog = shared.amazon.catalog.lock().expect("catalog");
    catalog.settle(shared.clock.now());
    match catalog
        .listings
        .iter()
        .find(|l| l.sku == sku && l.marketplace_id == markets[0])
    {
        Some(l) => fin.json(
            200,
            &listing_json(
                l,
                catalog.issues_of(&l.sku, &l.marketplace_id),
                &p.list("includedData"),
            ),
        ),
        None => fin.error(
            404,
            "NOT_FOUND",
            &format!("SKU '{sku}' not found in marketplace {}", markets[0]),
        ),
    }
}

/// `PATCH /listings/2021-08-01/items/{sellerId}/{sku}`.
pub(crate) async fn patch_listings_item(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((seller, sku)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let fin = match gate(&shared, &headers, &PATCH_LISTINGS_ITEM).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let p = Params::parse(q.as_deref());
    let markets = p.list("marketplaceIds");
    if markets.len() != 1 {
        return fin.error(
            400,
            "InvalidInput",
            "Exactly one marketplaceId must be provided.",
        );
    }
    if seller != shared.world().seller_id {
        return fin.error(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
        );
    }
    let preview = p.get("mode") == Some("VALIDATION_PREVIEW");
    // listingsItems_2021-08-01.json, patchListingsItem.includedData: `identifiers` "Can only be
    // requested when `mode` is `VALIDATION_PREVIEW`"; a field report of a live submit that sent
    // it anyway: "Amazon HTTP `400` for all three rows" (issue #15, reviews/spapi-fidelity.md A1).
    let included = p.list("includedData");
    if let Some(bad) = included
        .iter()
        .find(|d| !["issues", "identifiers"].contains(&d.as_str()))
    {
        // INVENTED: the message text; the model only lists the two values.
        return fin.error(
            400,
            "InvalidInput",
            &format!("Invalid includedData value: {bad}."),
        );
    }
    if !preview && included.iter().any(|d| d == "identifiers") {
        // INVENTED: the message text (the review's field report gives the status only).
        return fin.error(
            400,
            "InvalidInput",
            "includedData 'identifiers' can only be requested when mode is VALIDATION_PREVIEW.",
        );
    }
    if preview {
        // The gate counted the call under its operation; a refusal by this second limit is
        // counted under the limit's own name, so totals count each call once more only when
        // it was throttled.
        if !shared.amazon.buckets.take(&PATCH_LISTINGS_ITEM_PREVIEW) {
            shared
                .requests
                .sp_api(PATCH_LISTINGS_ITEM_PREVIEW.name, false);
            return fin.finish(super::quota_exceeded());
        }
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return fin.error(400, "InvalidInput", "Request body is not valid JSON.");
    };
    let patches = req
        .get("patches")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if req.get("productType").and_then(Value::as_str).is_none() || patches.is_empty() {
        return fin.error(
            400,
            "InvalidInput",
            "productType and at least one patch are required.",
        );
    }
    let submission_id = format!(
        "{:032x}",
        (shared.next_counter() as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
    );
    let now = shared.clock.now();
    let mut catalog = shared.amazon.catalog.lock().expect("catalog");
    catalog.settle(now);
    let Some(listing) = catalog.find_mut(&sku, &markets[0]) else {
        return fin.error(
            404,
            "NOT_FOUND",
            &format!("SKU '{sku}' not found in marketplace {}", markets[0]),
        );
    };
    let (status, issues) = match validate_patches(&patches, listing) {
        Ok(changes) => {
            if !preview {
                catalog.submit(&sku, &markets[0], changes, now);
            }
            (if preview { "VALID" } else { "ACCEPTED" }, vec![])
        }
        Err(issues) => ("INVALID", issues),
    };
    fin.json(
        200,
        &json!({"sku": sku, "status": status, "submissionId": submission_id, "issues": issues}),
    )
}
