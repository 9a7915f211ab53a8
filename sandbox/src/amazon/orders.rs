//! Orders API v2026-01-01 (`searchOrders`, `getOrder`) and the deprecated v0 (`getOrders`,
//! `getOrder`, `getOrderItems`).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::ratelimit::{GET_ORDER, GET_ORDER_ITEMS_V0, GET_ORDER_V0, GET_ORDERS_V0, SEARCH_ORDERS};
use super::{Finisher, Params, gate, iso, parse_iso};
use crate::Shared;
use crate::world::marketplaces::US_FACILITATOR;
use crate::world::{Channel, Marketplace, Order, OrderItem, OrderStatus, World};

fn money(amount: Decimal, currency: &str) -> Value {
    json!({"amount": format!("{:.2}", amount), "currencyCode": currency})
}

fn money_v0(amount: Decimal, currency: &str) -> Value {
    json!({"CurrencyCode": currency, "Amount": format!("{:.2}", amount)})
}

fn status_2026(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Pending => "PENDING",
        OrderStatus::Unshipped => "UNSHIPPED",
        OrderStatus::Shipped => "SHIPPED",
        OrderStatus::Canceled => "CANCELLED",
    }
}

pub(crate) fn status_v0(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Pending => "Pending",
        OrderStatus::Unshipped => "Unshipped",
        OrderStatus::Shipped => "Shipped",
        OrderStatus::Canceled => "Canceled",
    }
}

/// Who collects an item's tax: `taxCollections` names Amazon where it withholds any (model
/// `ItemTaxCollection`: "`MARKETPLACE_FACILITATOR` (Tax is withheld and remitted to the taxing
/// authority by Amazon on behalf of the seller)"), and EU deemed-supplier items carry their
/// `reportingScheme` (`UOSS`: "the item being purchased is held in the EU for shipment").
fn item_tax_2026(m: &Marketplace, it: &OrderItem) -> Value {
    let mut tax = json!({});
    if !it.net_tax().withheld.is_zero() {
        tax["taxCollections"] =
            json!([{"model": "MARKETPLACE_FACILITATOR", "responsibleParty": m.facilitator}]);
        if let Some(scheme) = m.reporting_scheme {
            tax["taxCalculationBreakdowns"] = json!([{"reportingScheme": scheme}]);
        }
    }
    tax
}

/// An order as v2026-01-01 returns it, with the datasets in `included`.
pub fn order_2026(world: &World, o: &Order, included: &[String]) -> Value {
    let m = &world.marketplaces[o.marketplace];
    let has = |d: &str| included.iter().any(|x| x == d);
    let priced = o.status != OrderStatus::Pending;
    let items: Vec<Value> = o
        .items
        .iter()
        .map(|it| {
            let p = &world.catalog[it.product];
            let unit = it.item_price / Decimal::from(it.quantity);
            let mut item = json!({
                "orderItemId": it.order_item_id,
                "quantityOrdered": it.quantity,
                "product": {"asin": p.asin, "title": p.title, "sellerSku": p.sku, "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"}},
            });
            if priced {
                item["product"]["price"] = json!({"unitPrice": money(unit, m.currency)});
            }
            if has("PROCEEDS") && priced {
                let mut breakdowns = vec![json!({"type": "ITEM", "subtotal": money(it.item_price, m.currency)})];
                if it.shipping > Decimal::ZERO {
                    breakdowns.push(json!({"type": "SHIPPING", "subtotal": money(it.shipping, m.currency)}));
                }
                if it.promotion > Decimal::ZERO {
                    breakdowns.push(json!({"type": "DISCOUNT", "subtotal": money(-it.promotion, m.currency), "detailedBreakdowns": [{"subtype": "ITEM", "value": money(-it.promotion, m.currency)}]}));
                }
                // VAT prices include the tax (TAX then reports the VAT part per component); US,
                // CA and MX prices do not (the tax comes on top, as `ItemTax` in v0).
                let mut tax_parts = vec![json!({"subtype": "ITEM", "value": money(it.item_tax, m.currency)})];
                if it.shipping > Decimal::ZERO {
                    tax_parts.push(json!({"subtype": "SHIPPING", "value": money(it.shipping_tax, m.currency)}));
                }
                if it.promotion_tax > Decimal::ZERO {
                    tax_parts.push(json!({"subtype": "DISCOUNT", "value": money(-it.promotion_tax, m.currency)}));
                }
                let tax = it.net_tax().total;
                breakdowns.push(json!({"type": "TAX", "subtotal": money(tax, m.currency), "detailedBreakdowns": tax_parts}));
                let mut total = it.item_price + it.shipping - it.promotion;
                if !m.prices_include_tax {
                    total += tax;
                }
                item["proceeds"] = json!({"proceedsTotal": money(total, m.currency), "breakdowns": breakdowns});
            }
            if has("TAX") && priced {
                item["tax"] = item_tax_2026(m, it);
            }
            if has("PROMOTION")
                && let Some(pid) = &it.promotion_id
            {
                item["promotion"] = json!({"breakdowns": [{"promotionId": pid}]});
            }
            if has("FULFILLMENT") {
                let shipped = if o.status == OrderStatus::Shipped { it.quantity } else { 0 };
                item["fulfillment"] = json!({"quantityFulfilled": shipped, "quantityUnfulfilled": it.quantity - shipped});
            }
            item
        })
        .collect();
    let mut order = json!({
        "orderId": o.id,
        "createdTime": iso(o.purchased),
        "lastUpdatedTime": iso(o.last_updated),
        "programs": [],
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": m.id, "marketplaceName": m.name},
        "orderItems": items,
    });
    if has("FULFILLMENT") {
        order["fulfillment"] = json!({
            "fulfillmentStatus": status_2026(o.status),
            "fulfilledBy": if o.channel == Channel::Afn { "AMAZON" } else { "MERCHANT" },
            "fulfillmentServiceLevel": "STANDARD",
        });
    }
    if has("PROCEEDS") && priced {
        order["proceeds"] = json!({"grandTotal": money(o.total(), m.currency)});
    }
    // Model `Order.packages` ("Shipping packages created for this order … Only available for
    // merchant-fulfilled (FBM) orders"), `OrderPackage`: `packageReferenceId` (required),
    // `createdTime`, `packageStatus.status` (`SHIPPED`: "Package dispatch confirmation to
    // customer"), `shipTime` ("when this package was handed over to the carrier") and
    // `packageItems` (`orderItemId`, `quantity`). FBA orders carry none.
    // INVENTED: one package per shipped order holding every unit, created 30 minutes before it
    // is handed over (the world ships each order whole).
    if has("PACKAGES")
        && o.channel == Channel::Mfn
        && let Some(shipped) = o.shipped
    {
        let items: Vec<Value> = o
            .items
            .iter()
            .map(|it| json!({"orderItemId": it.order_item_id, "quantity": it.quantity}))
            .collect();
        order["packages"] = json!([{
            "packageReferenceId": "1",
            "createdTime": iso(shipped - Duration::minutes(30)),
            "packageStatus": {"status": "SHIPPED"},
            "shipTime": iso(shipped),
            "packageItems": items,
        }]);
    }
    if has("BUYER") {
        order["buyer"] = json!({"buyerEmail": format!("{}@marketplace.amazon.{}", &o.id[4..11], m.domain.trim_start_matches("www.amazon."))});
    }
    order
}

fn param_hash(p: &Params) -> u64 {
    let mut kept: Vec<&(String, String)> =
        p.0.iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "paginationToken" | "maxResultsPerPage" | "includedData"
                )
            })
            .collect();
    kept.sort();
    let mut h = DefaultHasher::new();
    kept.hash(&mut h);
    h.finish()
}

struct Window {
    created: bool,
    after: DateTime<Utc>,
    before: DateTime<Utc>,
}

fn window(p: &Params, now: DateTime<Utc>, names: [&str; 4]) -> Result<Window, String> {
    let [ca, cb, la, lb] = names;
    let (created, after) = match (p.get(ca), p.get(la)) {
        (Some(a), None) => (true, a),
        (None, Some(a)) => (false, a),
        (Some(_), Some(_)) => return Err(format!("{ca} and {la} cannot both be specified.")),
        (None, None) => return Err(format!("Either {ca} or {la} must be specified.")),
    };
    let after = parse_iso(after).ok_or_else(|| format!("Invalid date: {after}"))?;
    let before_name = if created { cb } else { lb };
    let latest = now - Duration::minutes(2);
    let before = match p.get(before_name) {
        Some(b) => {
            let b = parse_iso(b).ok_or_else(|| format!("Invalid date: {b}"))?;
            if b > latest {
                return Err(format!(
                    "{before_name} must be no later than 2 minutes before the time the request was submitted. The most updated data is 2 minutes after an order is created or last updated."
                ));
            }
            b
        }
        None => latest,
    };
    if after > before {
        return Err(format!(
            "{} must be before {before_name}.",
            if created { ca } else { la }
        ));
    }
    if (!created && p.get(cb).is_some()) || (created && p.get(lb).is_some()) {
        return Err("LastUpdated and Created filters cannot be combined.".into());
    }
    Ok(Window {
        created,
        after,
        before,
    })
}

fn select<'a>(
    world: &'a World,
    w: &Window,
    markets: &[String],
    include: impl Fn(&Order) -> bool,
) -> Vec<&'a Order> {
    let mut v: Vec<&Order> = world
        .orders
        .iter()
        .filter(|o| {
            let t = if w.created {
                o.purchased
            } else {
                o.last_updated
            };
            t >= w.after && t <= w.before
        })
        .filter(|o| {
            markets.is_empty()
                || markets
                    .iter()
                    .any(|m| m == world.marketplaces[o.marketplace].id)
        })
        .filter(|o| include(o))
        .collect();
    v.sort_by_key(|o| {
        if w.created {
            o.purchased
        } else {
            o.last_updated
        }
    });
    v
}

/// Offset paging with opaque tokens bound to the other parameters; tokens live 24 hours.
fn paginate(
    p: &Params,
    token_name: &str,
    total: usize,
    page: usize,
    now: DateTime<Utc>,
) -> Result<(usize, Option<String>), String> {
    let hash = param_hash(p);
    let offset = match p.get(token_name) {
        None => 0,
        Some(t) => {
            let mut parts = t.split('.');
            let (Some(off), Some(h), Some(issued)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err("Invalid pagination token.".into());
            };
            if h != format!("{hash:x}") {
                return Err(
                    "The pagination token is not valid for these request parameters.".into(),
                );
            }
            let issued: i64 = issued.parse().map_err(|_| "Invalid pagination token.")?;
            if now.timestamp() - issued > 24 * 3600 {
                return Err("The pagination token has expired.".into());
            }
            off.parse().map_err(|_| "Invalid pagination token.")?
        }
    };
    let next =
        (offset + page < total).then(|| format!("{}.{hash:x}.{}", offset + page, now.timestamp()));
    Ok((offset, next))
}

/// `GET /orders/2026-01-01/orders`.
pub(crate) async fn search_orders(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let fin = match gate(&shared, &headers, &SEARCH_ORDERS).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let p = Params::parse(q.as_deref());
    let now = shared.clock.now();
    let w = match window(
        &p,
        now,
        [
            "createdAfter",
            "createdBefore",
            "lastUpdatedAfter",
            "lastUpdatedBefore",
        ],
    ) {
        Ok(w) => w,
        Err(e) => return fin.error(400, "InvalidInput", &e),
    };
    let page: usize = match p.get("maxResultsPerPage").map(str::parse) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => {
            return fin.error(
                400,
                "InvalidInput",
                "maxResultsPerPage must be between 1 and 100.",
            );
        }
    };
    let statuses = p.list("fulfillmentStatuses");
    let by = p.get("fulfilledBy").map(str::to_string);
    let included = p.list("includedData");
    let world = shared.world();
    let orders = select(&world, &w, &p.list("marketplaceIds"), |o| {
        (statuses.is_empty() || statuses.iter().any(|s| s == status_2026(o.status)))
            && by.as_deref().is_none_or(|b| {
                b == if o.channel == Channel::Afn {
                    "AMAZON"
                } else {
                    "MERCHANT"
                }
            })
    });
    let (offset, next) = match paginate(
        &p,
        "paginationToken",
        orders.len(),
        page,
        shared.clock.now(),
    ) {
        Ok(x) => x,
        Err(e) => return fin.error(400, "InvalidInput", &e),
    };
    let list: Vec<Value> = orders
        .iter()
        .skip(offset)
        .take(page)
        .map(|o| order_2026(&world, o, &included))
        .collect();
    let mut body = json!({"orders": list});
    body[if w.created {
        "createdBefore"
    } else {
        "lastUpdatedBefore"
    }] = Value::from(iso(w.before));
    if let Some(n) = next {
        body["pagination"] = json!({"nextToken": n});
    }
    fin.json(200, &body)
}

fn find<'a>(world: &'a World, id: &str, now: DateTime<Utc>) -> Option<&'a Order> {
    world
        .orders
        .iter()
        .find(|o| o.id == id && o.purchased <= now)
}

fn not_found(fin: &Finisher, id: &str) -> Response {
    fin.error(404, "NotFound", &format!("Order {id} not found."))
}

/// `GET /orders/2026-01-01/orders/{orderId}`.
pub(crate) async fn get_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let fin = match gate(&shared, &headers, &GET_ORDER).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let world = shared.world();
    match find(&world, &id, shared.clock.now()) {
        Some(o) => fin.json(200, &json!({"order": order_2026(&world, o, &Params::parse(q.as_deref()).list("includedData"))})),
        None => not_found(&fin, &id),
    }
}

fn order_v0(world: &World, o: &Order) -> Value {
    let m = &world.marketplaces[o.marketplace];
    let units: u32 = o.items.iter().map(|i| i.quantity).sum();
    let shipped = if o.status == OrderStatus::Shipped {
        units
    } else {
        0
    };
    let mut v = json!({
        "AmazonOrderId": o.id,
        "PurchaseDate": iso(o.purchased),
        "LastUpdateDate": iso(o.last_updated),
        "OrderStatus": status_v0(o.status),
        "FulfillmentChannel": o.channel.code(),
        "SalesChannel": m.name,
        "ShipServiceLevel": format!("Std {} Dom", m.code),
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": units - shipped,
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": m.id,
        "ShipmentServiceLevelCategory": "Standard",
        "OrderType": "StandardOrder",
        "EarliestShipDate": iso(o.purchased + Duration::hours(2)),
        "LatestShipDate": iso(o.purchased + Duration::days(2)),
        "IsBusinessOrder": false,
        "IsPrime": false,
        "IsPremiumOrder": false,
        "IsGlobalExpressEnabled": false,
        "IsReplacementOrder": false,
        "IsSoldByAB": false,
        "IsISPU": false,
        "IsAccessPointOrder": false,
        "HasRegulatedItems": false,
    });
    if o.status != OrderStatus::Pending {
        v["OrderTotal"] = money_v0(o.total(), m.currency);
    }
    v
}

/// `GET /orders/v0/orders` (deprecated).
pub(crate) async fn get_orders_v0(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let fin = match gate(&shared, &headers, &GET_ORDERS_V0).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let p = Params::parse(q.as_deref());
    let markets = p.list("MarketplaceIds");
    if markets.is_empty() {
        return fin.error(
            400,
            "InvalidInput",
            "Missing required parameter MarketplaceIds",
        );
    }
    let w = match window(
        &p,
        shared.clock.now(),
        [
            "CreatedAfter",
            "CreatedBefore",
            "LastUpdatedAfter",
            "LastUpdatedBefore",
        ],
    ) {
        Ok(w) => w,
        Err(e) => return fin.error(400, "InvalidInput", &e),
    };
    let page: usize = p
        .get("MaxResultsPerPage")
        .and_then(|s| s.parse().ok())
        .filter(|n| (1..=100).contains(n))
        .unwrap_or(100);
    let statuses = p.list("OrderStatuses");
    let channels = p.list("FulfillmentChannels");
    let world = shared.world();
    let orders = select(&world, &w, &markets, |o| {
        (statuses.is_empty() || statuses.iter().any(|s| s == status_v0(o.status)))
            && (channels.is_empty() || channels.iter().any(|c| c == o.channel.code()))
    });
    let (offset, next) = match paginate(&p, "NextToken", orders.len(), page, shared.clock.now()) {
        Ok(x) => x,
        Err(e) => return fin.error(400, "InvalidInput", &e),
    };
    let list: Vec<Value> = orders
        .iter()
        .skip(offset)
        .take(page)
        .map(|o| order_v0(&world, o))
        .collect();
    let mut payload = json!({"Orders": list});
    payload[if w.created {
        "CreatedBefore"
    } else {
        "LastUpdatedBefore"
    }] = Value::from(iso(w.before));
    if let Some(n) = next {
        payload["NextToken"] = Value::from(n);
    }
    fin.json(200, &json!({"payload": payload}))
}

/// `GET /orders/v0/orders/{orderId}` (deprecated).
pub(crate) async fn get_order_v0(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let fin = match gate(&shared, &headers, &GET_ORDER_V0).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let world = shared.world();
    match find(&world, &id, shared.clock.now()) {
        Some(o) => fin.json(200, &json!({"payload": order_v0(&world, o)})),
        None => not_found(&fin, &id),
    }
}

/// `GET /orders/v0/orders/{orderId}/orderItems` (deprecated).
pub(crate) async fn get_order_items_v0(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let fin = match gate(&shared, &headers, &GET_ORDER_ITEMS_V0).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let world = shared.world();
    let Some(o) = find(&world, &id, shared.clock.now()) else {
        return not_found(&fin, &id);
    };
    let m = &world.marketplaces[o.marketplace];
    let cur = m.currency;
    let items: Vec<Value> = o
        .items
        .iter()
        .map(|it| {
            let p = &world.catalog[it.product];
            let mut v = json!({
                "ASIN": p.asin,
                "SellerSKU": p.sku,
                "OrderItemId": it.order_item_id,
                "Title": p.title,
                "QuantityOrdered": it.quantity,
                "QuantityShipped": if o.status == OrderStatus::Shipped { it.quantity } else { 0 },
                "ProductInfo": {"NumberOfItems": "1"},
                "IsGift": "false",
                "IsTransparency": false,
                "SerialNumberRequired": false,
                "PromotionIds": it.promotion_id.iter().collect::<Vec<_>>(),
            });
            if o.status != OrderStatus::Pending {
                v["ItemPrice"] = money_v0(it.item_price, cur);
                v["ItemTax"] = money_v0(it.item_tax, cur);
                v["ShippingPrice"] = money_v0(it.shipping, cur);
                v["ShippingTax"] = money_v0(it.shipping_tax, cur);
                v["PromotionDiscount"] = money_v0(it.promotion, cur);
                v["PromotionDiscountTax"] = money_v0(it.promotion_tax, cur);
                // `TaxCollection` (v0 model): Model `MarketplaceFacilitator`, ResponsibleParty
                // "Amazon Services, Inc." ("The `MarketplaceFacilitator` entity for the US
                // marketplace").
                // The EU deemed supplier has no value in that enum, so EU items carry none.
                if !it.net_tax().withheld.is_zero() && m.facilitator == US_FACILITATOR {
                    v["TaxCollection"] = json!({"Model": "MarketplaceFacilitator", "ResponsibleParty": m.facilitator});
                }
            }
            v
        })
        .collect();
    fin.json(
        200,
        &json!({"payload": {"AmazonOrderId": o.id, "OrderItems": items}}),
    )
}
