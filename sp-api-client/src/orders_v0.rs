//! Orders API v0 `getOrders` + `getOrderItems`, kept only as a fallback: Amazon deprecated
//! them (removal 2027-03-27). Results are mapped onto the v2026 [`Order`] type so callers do
//! not care which API served them.
//!
//! Mapping choices (v0 has no proceeds breakdown): `ITEM` = `ItemPrice`, `SHIPPING` =
//! `ShippingPrice`, `GIFT_WRAP` = `GiftWrapPrice`, `COD_FEE` = `CODFee`, `TAX` = item + shipping
//! (+ gift wrap) tax, `DISCOUNT` = −(promotion + shipping discount), i.e. discounts are negative
//! and the breakdowns sum to the line's proceeds total.

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::client::{ApiRequest, SpApiClient, encode_segment};
use crate::error::{Error, Result};
use crate::orders::{
    DetailedBreakdown, FulfilledBy, FulfillmentStatus, ItemFulfillment, ItemPrice, ItemProceeds,
    ItemTax, ItemTaxCollection, Order, OrderAlias, OrderFulfillment, OrderItem, OrderProceeds,
    OrderSearch, OrderWindow, ProceedsBreakdown, Product, SalesChannel,
};
use crate::pagination::paginate;
use crate::rate_limit::Operation;
use crate::types::{AmazonOrderId, Money, Page, Sku, iso};

/// A v0 order as Amazon sends it (PascalCase, no items).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct OrderV0 {
    /// Order id.
    pub amazon_order_id: AmazonOrderId,
    /// Seller's order id.
    #[serde(default)]
    pub seller_order_id: Option<String>,
    /// Purchase time.
    pub purchase_date: DateTime<Utc>,
    /// Last change.
    pub last_update_date: DateTime<Utc>,
    /// `Pending`, `Unshipped`, `Shipped`, `Canceled`, …
    pub order_status: String,
    /// `AFN` or `MFN`.
    #[serde(default)]
    pub fulfillment_channel: Option<String>,
    /// e.g. `Amazon.de`.
    #[serde(default)]
    pub sales_channel: Option<String>,
    /// Order total (absent for pending orders).
    #[serde(default)]
    pub order_total: Option<Money>,
    /// Marketplace id.
    #[serde(default)]
    pub marketplace_id: Option<String>,
    /// Service level category.
    #[serde(default)]
    pub shipment_service_level_category: Option<String>,
    /// Business order flag.
    #[serde(default)]
    pub is_business_order: Option<bool>,
    /// Prime flag.
    #[serde(default)]
    pub is_prime: Option<bool>,
}

/// A v0 order item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct OrderItemV0 {
    /// ASIN.
    #[serde(rename = "ASIN")]
    pub asin: String,
    /// Seller SKU.
    #[serde(rename = "SellerSKU", default)]
    pub seller_sku: Option<Sku>,
    /// Item id.
    pub order_item_id: String,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Quantity ordered.
    pub quantity_ordered: u32,
    /// Quantity shipped.
    #[serde(default)]
    pub quantity_shipped: Option<u32>,
    /// Unit price × quantity.
    #[serde(default)]
    pub item_price: Option<Money>,
    /// Shipping price.
    #[serde(default)]
    pub shipping_price: Option<Money>,
    /// Gift wrap price.
    #[serde(default)]
    pub gift_wrap_price: Option<Money>,
    /// Item tax.
    #[serde(default)]
    pub item_tax: Option<Money>,
    /// Shipping tax.
    #[serde(default)]
    pub shipping_tax: Option<Money>,
    /// Gift wrap tax.
    #[serde(default)]
    pub gift_wrap_tax: Option<Money>,
    /// Shipping discount.
    #[serde(default)]
    pub shipping_discount: Option<Money>,
    /// Tax on the shipping discount (ordersV0.json `OrderItem.ShippingDiscountTax`).
    #[serde(default)]
    pub shipping_discount_tax: Option<Money>,
    /// Promotion discount.
    #[serde(default)]
    pub promotion_discount: Option<Money>,
    /// Tax on the promotion discounts (ordersV0.json `OrderItem.PromotionDiscountTax`: "The tax
    /// on the total of all promotional discounts").
    #[serde(default)]
    pub promotion_discount_tax: Option<Money>,
    /// Cash-on-delivery fee.
    #[serde(rename = "CODFee", default)]
    pub cod_fee: Option<Money>,
    /// `BusinessPrice` for B2B.
    #[serde(default)]
    pub price_designation: Option<String>,
    /// Who collects the item's tax (v0 `TaxCollection`: `Model` `MarketplaceFacilitator`).
    #[serde(default)]
    pub tax_collection: Option<TaxCollectionV0>,
}

/// v0 `TaxCollection` of an order item.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaxCollectionV0 {
    /// `MarketplaceFacilitator` (the v0 model's one value).
    #[serde(default)]
    pub model: Option<String>,
    /// e.g. `Amazon Services, Inc.`.
    #[serde(default)]
    pub responsible_party: Option<String>,
}

#[derive(Deserialize)]
struct Payload<T> {
    payload: T,
}

/// One page of v0 `getOrders`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrdersListV0 {
    /// Orders.
    pub orders: Vec<OrderV0>,
    /// Next page token.
    #[serde(default)]
    pub next_token: Option<String>,
    /// Applied window end (the sandbox sends epoch seconds here; unreadable values are dropped).
    #[serde(default, deserialize_with = "crate::types::lenient_datetime")]
    pub created_before: Option<DateTime<Utc>>,
    /// Applied window end.
    #[serde(default, deserialize_with = "crate::types::lenient_datetime")]
    pub last_updated_before: Option<DateTime<Utc>>,
}

/// One page of v0 `getOrderItems`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderItemsListV0 {
    /// The order.
    pub amazon_order_id: AmazonOrderId,
    /// Items.
    pub order_items: Vec<OrderItemV0>,
    /// Next page token.
    #[serde(default)]
    pub next_token: Option<String>,
}

fn v0_status(status: &FulfillmentStatus) -> &str {
    match status {
        FulfillmentStatus::PendingAvailability => "PendingAvailability",
        FulfillmentStatus::Pending => "Pending",
        FulfillmentStatus::Unshipped => "Unshipped",
        FulfillmentStatus::PartiallyShipped => "PartiallyShipped",
        FulfillmentStatus::Shipped => "Shipped",
        FulfillmentStatus::Cancelled => "Canceled",
        FulfillmentStatus::Unfulfillable => "Unfulfillable",
        FulfillmentStatus::Unknown(s) => s,
    }
}

fn status_from_v0(status: &str) -> FulfillmentStatus {
    match status {
        "PendingAvailability" => FulfillmentStatus::PendingAvailability,
        "Pending" => FulfillmentStatus::Pending,
        "Unshipped" => FulfillmentStatus::Unshipped,
        "PartiallyShipped" => FulfillmentStatus::PartiallyShipped,
        "Shipped" => FulfillmentStatus::Shipped,
        "Canceled" => FulfillmentStatus::Cancelled,
        "Unfulfillable" => FulfillmentStatus::Unfulfillable,
        other => FulfillmentStatus::Unknown(other.to_owned()),
    }
}

fn sum(parts: &[Option<&Money>]) -> Option<Money> {
    let present: Vec<&Money> = parts.iter().flatten().copied().collect();
    let first = present.first()?;
    Some(Money::new(
        present.iter().map(|m| m.amount).sum(),
        first.currency_code.clone(),
    ))
}

fn breakdown(
    kind: &str,
    subtotal: Money,
    details: Vec<(&str, Option<&Money>)>,
) -> ProceedsBreakdown {
    ProceedsBreakdown {
        kind: kind.to_owned(),
        subtotal,
        detailed_breakdowns: details
            .into_iter()
            .filter_map(|(subtype, m)| {
                m.map(|m| DetailedBreakdown {
                    subtype: Some(subtype.to_owned()),
                    value: m.clone(),
                })
            })
            .collect(),
    }
}

impl OrderItemV0 {
    /// Maps the item onto the v2026 item type.
    pub fn into_order_item(self) -> OrderItem {
        let mut breakdowns = Vec::new();
        for (kind, money) in [
            ("ITEM", &self.item_price),
            ("SHIPPING", &self.shipping_price),
            ("GIFT_WRAP", &self.gift_wrap_price),
            ("COD_FEE", &self.cod_fee),
        ] {
            if let Some(m) = money {
                breakdowns.push(breakdown(kind, m.clone(), Vec::new()));
            }
        }
        let negate = |m: &Money| Money::new(-m.amount, m.currency_code.clone());
        // The tax on discounts lowers the tax, as the discounts lower the proceeds. Amazon's
        // v0 → v2026 map (selling-partner-api-samples, orders-api-migration-data.json) puts
        // `PromotionDiscountTax` in the `TAX` detail of subtype `DISCOUNT`; it names no place for
        // `ShippingDiscountTax`, which goes to a second `SHIPPING` detail so the shipping part's
        // tax stays net of its discount (same as the `DISCOUNT` breakdown's `SHIPPING` detail).
        let nonzero = |m: &&Money| !m.amount.is_zero();
        let promo_tax = self
            .promotion_discount_tax
            .as_ref()
            .filter(nonzero)
            .map(negate);
        let ship_disc_tax = self
            .shipping_discount_tax
            .as_ref()
            .filter(nonzero)
            .map(negate);
        if let Some(tax) = sum(&[
            self.item_tax.as_ref(),
            self.shipping_tax.as_ref(),
            self.gift_wrap_tax.as_ref(),
            promo_tax.as_ref(),
            ship_disc_tax.as_ref(),
        ]) {
            breakdowns.push(breakdown(
                "TAX",
                tax,
                vec![
                    ("ITEM", self.item_tax.as_ref()),
                    ("SHIPPING", self.shipping_tax.as_ref()),
                    ("GIFT_WRAP", self.gift_wrap_tax.as_ref()),
                    ("DISCOUNT", promo_tax.as_ref()),
                    ("SHIPPING", ship_disc_tax.as_ref()),
                ],
            ));
        }
        let promo = self.promotion_discount.as_ref().map(negate);
        let ship_disc = self.shipping_discount.as_ref().map(negate);
        if let Some(discount) = sum(&[promo.as_ref(), ship_disc.as_ref()]) {
            breakdowns.push(breakdown(
                "DISCOUNT",
                discount,
                vec![("ITEM", promo.as_ref()), ("SHIPPING", ship_disc.as_ref())],
            ));
        }
        let proceeds_total = sum(&breakdowns
            .iter()
            .map(|b| Some(&b.subtotal))
            .collect::<Vec<_>>());
        // ItemPrice is unit price × quantity; only state a unit price when it divides exactly.
        let unit_price = self.item_price.as_ref().and_then(|p| {
            let qty = Decimal::from(self.quantity_ordered);
            if qty.is_zero() {
                return None;
            }
            let unit = p.amount / qty;
            (unit * qty == p.amount).then(|| Money::new(unit, p.currency_code.clone()))
        });
        OrderItem {
            order_item_id: self.order_item_id,
            quantity_ordered: self.quantity_ordered,
            product: Product {
                asin: Some(self.asin),
                title: self.title,
                seller_sku: self.seller_sku,
                price: Some(ItemPrice {
                    unit_price,
                    price_designation: self.price_designation,
                }),
                serial_numbers: Vec::new(),
            },
            proceeds: (!breakdowns.is_empty()).then_some(ItemProceeds {
                proceeds_total,
                breakdowns,
            }),
            fulfillment: self.quantity_shipped.map(|shipped| ItemFulfillment {
                quantity_fulfilled: Some(shipped),
                quantity_unfulfilled: Some(self.quantity_ordered.saturating_sub(shipped)),
            }),
            promotion: None,
            programs: Vec::new(),
            // v0 `TaxCollection.Model` `MarketplaceFacilitator` is v2026's
            // `taxCollections[].model` `MARKETPLACE_FACILITATOR`.
            tax: self.tax_collection.map(|c| ItemTax {
                tax_collections: vec![ItemTaxCollection {
                    model: c.model.map(|m| {
                        if m == "MarketplaceFacilitator" {
                            crate::orders::MARKETPLACE_FACILITATOR.to_owned()
                        } else {
                            m
                        }
                    }),
                    responsible_party: c.responsible_party,
                }],
                tax_calculation_breakdowns: Vec::new(),
            }),
        }
    }
}

impl OrderV0 {
    /// Maps the order and its items onto the v2026 order type.
    pub fn into_order(self, items: Vec<OrderItemV0>) -> Order {
        let mut programs = Vec::new();
        if self.is_prime == Some(true) {
            programs.push("PRIME".to_owned());
        }
        if self.is_business_order == Some(true) {
            programs.push("AMAZON_BUSINESS".to_owned());
        }
        let channel_name = match self.sales_channel.as_deref() {
            Some("Non-Amazon") => "NON_AMAZON",
            _ => "AMAZON",
        };
        Order {
            order_id: self.amazon_order_id,
            order_aliases: self
                .seller_order_id
                .map(|id| OrderAlias {
                    alias_id: id,
                    alias_type: "SELLER_ORDER_ID".to_owned(),
                })
                .into_iter()
                .collect(),
            created_time: self.purchase_date,
            last_updated_time: self.last_update_date,
            programs,
            sales_channel: SalesChannel {
                channel_name: channel_name.to_owned(),
                marketplace_id: self.marketplace_id,
                marketplace_name: self.sales_channel,
            },
            buyer: None,
            recipient: None,
            proceeds: self.order_total.map(|total| OrderProceeds {
                grand_total: Some(total),
                breakdowns: Vec::new(),
            }),
            fulfillment: Some(OrderFulfillment {
                fulfillment_status: status_from_v0(&self.order_status),
                fulfilled_by: self.fulfillment_channel.as_deref().map(|c| match c {
                    "AFN" => FulfilledBy::Amazon,
                    "MFN" => FulfilledBy::Merchant,
                    other => FulfilledBy::Unknown(other.to_owned()),
                }),
                fulfillment_service_level: self.shipment_service_level_category,
            }),
            order_items: items
                .into_iter()
                .map(OrderItemV0::into_order_item)
                .collect(),
            packages: Vec::new(),
            payment: None,
            tax: None,
        }
    }
}

impl SpApiClient {
    /// v0 `getOrders`, one page (deprecated by Amazon; prefer
    /// [`search_orders_page`](Self::search_orders_page)). `NextToken` is sent together with the
    /// original filters. Marketplace ids are required by v0.
    pub async fn get_orders_v0_page(
        &self,
        search: &OrderSearch,
        next_token: Option<&str>,
    ) -> Result<OrdersListV0> {
        if search.marketplace_ids.is_empty() {
            return Err(Error::InvalidArgument(
                "Orders v0 getOrders needs marketplace ids".into(),
            ));
        }
        let search = match next_token {
            None => search.clone().clamped(Utc::now())?,
            Some(_) => search.clone(),
        };
        let (after_key, before_key, after, before) = match search.window {
            OrderWindow::Created { after, before } => {
                ("CreatedAfter", "CreatedBefore", after, before)
            }
            OrderWindow::LastUpdated { after, before } => {
                ("LastUpdatedAfter", "LastUpdatedBefore", after, before)
            }
        };
        let statuses: Vec<&str> = search.fulfillment_statuses.iter().map(v0_status).collect();
        let channels: Vec<&str> = search
            .fulfilled_by
            .iter()
            .map(|f| match f {
                FulfilledBy::Amazon => "AFN",
                FulfilledBy::Merchant => "MFN",
                FulfilledBy::Unknown(s) => s.as_str(),
            })
            .collect();
        let request = ApiRequest::get(Operation::GetOrdersV0, "/orders/v0/orders")
            .query_list("MarketplaceIds", &search.marketplace_ids)
            .query(after_key, iso(after))
            .query_opt(before_key, before.map(iso))
            .query_list("OrderStatuses", &statuses)
            .query_list("FulfillmentChannels", &channels)
            .query_opt(
                "MaxResultsPerPage",
                search.max_results_per_page.map(|n| n.to_string()),
            )
            .query_opt("NextToken", next_token);
        let page: Payload<OrdersListV0> = self.send_json(request).await?;
        Ok(page.payload)
    }

    /// v0 `getOrderItems`, one page (deprecated by Amazon; prefer [`get_order`](Self::get_order)).
    pub async fn get_order_items_v0_page(
        &self,
        order_id: &AmazonOrderId,
        next_token: Option<&str>,
    ) -> Result<OrderItemsListV0> {
        let request = ApiRequest::get(
            Operation::GetOrderItemsV0,
            format!(
                "/orders/v0/orders/{}/orderItems",
                encode_segment(order_id.as_str())
            ),
        )
        .query_opt("NextToken", next_token);
        let page: Payload<OrderItemsListV0> = self.send_json(request).await?;
        Ok(page.payload)
    }

    /// All items of an order via v0 `getOrderItems`.
    pub async fn get_order_items_v0(&self, order_id: &AmazonOrderId) -> Result<Vec<OrderItemV0>> {
        let client = self.clone();
        let id = order_id.clone();
        paginate(move |token: Option<String>| {
            let client = client.clone();
            let id = id.clone();
            async move {
                let page = client
                    .get_order_items_v0_page(&id, token.as_deref())
                    .await?;
                Ok(Page {
                    items: page.order_items,
                    next_token: page.next_token,
                })
            }
        })
        .try_collect()
        .await
    }

    /// Fallback to [`search_orders`](Self::search_orders) on the deprecated v0 API: streams
    /// orders with their items (one `getOrderItems` call per order, rate limited at 0.5/s).
    pub fn search_orders_v0(&self, search: OrderSearch) -> BoxStream<'static, Result<Order>> {
        let client = self.clone();
        let clamped = search.clamped(Utc::now()).map_err(|e| e.to_string());
        let pages_client = client.clone();
        paginate(move |token: Option<String>| {
            let client = pages_client.clone();
            let clamped = clamped.clone();
            async move {
                let search = clamped.map_err(Error::InvalidArgument)?;
                let page = client.get_orders_v0_page(&search, token.as_deref()).await?;
                Ok(Page {
                    items: page.orders,
                    next_token: page.next_token,
                })
            }
        })
        .then(move |order: Result<OrderV0>| {
            let client = client.clone();
            async move {
                let order = order?;
                let items = client.get_order_items_v0(&order.amazon_order_id).await?;
                Ok(order.into_order(items))
            }
        })
        .boxed()
    }
}
