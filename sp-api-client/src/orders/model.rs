//! The order domain types (Orders API v2026-01-01 shape).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{AmazonOrderId, Money, Sku, string_enum};

string_enum!(
    /// Order fulfilment status (v2026 names; v0 statuses are mapped onto these).
    FulfillmentStatus {
        /// Not yet available (pre-orders).
        PendingAvailability = "PENDING_AVAILABILITY",
        /// Placed, payment not authorised: no prices yet.
        Pending = "PENDING",
        /// Paid, not shipped.
        Unshipped = "UNSHIPPED",
        /// Some items shipped.
        PartiallyShipped = "PARTIALLY_SHIPPED",
        /// All items shipped.
        Shipped = "SHIPPED",
        /// Cancelled.
        Cancelled = "CANCELLED",
        /// Cannot be fulfilled.
        Unfulfillable = "UNFULFILLABLE",
    }
);

string_enum!(
    /// Who fulfils the order.
    FulfilledBy {
        /// The seller (MFN).
        Merchant = "MERCHANT",
        /// Amazon (FBA / AFN).
        Amazon = "AMAZON",
    }
);

string_enum!(
    /// Optional data sets `searchOrders` / `getOrder` include on request.
    IncludedData {
        /// Buyer name, email, company, PO number.
        Buyer = "BUYER",
        /// Delivery address and preferences.
        Recipient = "RECIPIENT",
        /// Order and item proceeds (prices, taxes, discounts).
        Proceeds = "PROCEEDS",
        /// Points cost.
        Expense = "EXPENSE",
        /// Promotion ids.
        Promotion = "PROMOTION",
        /// Cancellation requests.
        Cancellation = "CANCELLATION",
        /// Fulfilment status and windows.
        Fulfillment = "FULFILLMENT",
        /// Packages (FBM tracking).
        Packages = "PACKAGES",
        /// Tax details.
        Tax = "TAX",
        /// Payment details.
        Payment = "PAYMENT",
        /// Fulfillment orders.
        FulfillmentOrders = "FULFILLMENT_ORDERS",
    }
);

/// An Amazon order with its items (v2026-01-01 shape; also produced from v0 data).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Order {
    /// Amazon order id.
    pub order_id: AmazonOrderId,
    /// Other ids of the order, e.g. the seller's own order id.
    #[serde(default)]
    pub order_aliases: Vec<OrderAlias>,
    /// When the order was placed.
    pub created_time: DateTime<Utc>,
    /// When the order last changed.
    pub last_updated_time: DateTime<Utc>,
    /// Programs such as `PRIME`, `BUSINESS`.
    #[serde(default)]
    pub programs: Vec<String>,
    /// Where the order was placed.
    pub sales_channel: SalesChannel,
    /// Buyer details (with `includedData=BUYER`).
    #[serde(default)]
    pub buyer: Option<Buyer>,
    /// Recipient details (with `includedData=RECIPIENT`).
    #[serde(default)]
    pub recipient: Option<Recipient>,
    /// Order totals (with `includedData=PROCEEDS`).
    #[serde(default)]
    pub proceeds: Option<OrderProceeds>,
    /// Fulfilment status (with `includedData=FULFILLMENT`).
    #[serde(default)]
    pub fulfillment: Option<OrderFulfillment>,
    /// Items of the order.
    #[serde(default)]
    pub order_items: Vec<OrderItem>,
    /// Shipping packages with their ship time (with `includedData=PACKAGES`; model
    /// `Order.packages`: "Only available for merchant-fulfilled (FBM) orders").
    #[serde(default)]
    pub packages: Vec<OrderPackage>,
    /// Payment details, untyped (with `includedData=PAYMENT`).
    #[serde(default)]
    pub payment: Option<serde_json::Value>,
    /// Tax details, untyped (with `includedData=TAX`).
    #[serde(default)]
    pub tax: Option<serde_json::Value>,
}

impl Order {
    /// The seller's own order id, if any alias carries it.
    pub fn seller_order_id(&self) -> Option<&str> {
        self.order_aliases
            .iter()
            .find(|a| a.alias_type == "SELLER_ORDER_ID")
            .map(|a| a.alias_id.as_str())
    }

    /// The fulfilment status, if included.
    pub fn status(&self) -> Option<&FulfillmentStatus> {
        self.fulfillment.as_ref().map(|f| &f.fulfillment_status)
    }

    /// Who fulfils the order, if included.
    pub fn fulfilled_by(&self) -> Option<&FulfilledBy> {
        self.fulfillment.as_ref()?.fulfilled_by.as_ref()
    }
}

/// A shipping package of a merchant-fulfilled order (model `OrderPackage`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OrderPackage {
    /// "A unique identifier for this package within the context of the order."
    pub package_reference_id: String,
    /// When the package was created and prepared for shipment.
    #[serde(default)]
    pub created_time: Option<DateTime<Utc>>,
    /// Its current status.
    #[serde(default)]
    pub package_status: Option<PackageStatus>,
    /// Carrier.
    #[serde(default)]
    pub carrier: Option<String>,
    /// "The exact time when this package was handed over to the carrier": the date of supply.
    #[serde(default)]
    pub ship_time: Option<DateTime<Utc>>,
    /// Shipping method.
    #[serde(default)]
    pub shipping_service: Option<String>,
    /// Carrier tracking number.
    #[serde(default)]
    pub tracking_number: Option<String>,
    /// The order items (and quantities) in this package.
    #[serde(default)]
    pub package_items: Vec<PackageItem>,
}

impl OrderPackage {
    /// A package that left: shipped, in transit or delivered with a ship time, not cancelled.
    pub fn shipped_at(&self) -> Option<DateTime<Utc>> {
        match self.package_status.as_ref().map(|s| &s.status) {
            Some(PackageState::Cancelled | PackageState::Pending) => None,
            _ => self.ship_time,
        }
    }
}

string_enum!(
    /// Primary status of a package (model `PackageStatus.status`).
    PackageState {
        /// Before carrier handoff.
        Pending = "PENDING",
        /// Within the carrier network.
        InTransit = "IN_TRANSIT",
        /// Dispatched to the customer.
        Shipped = "SHIPPED",
        /// Delivered.
        Delivered = "DELIVERED",
        /// Terminated before delivery.
        Cancelled = "CANCELLED",
        /// Delivery failed.
        Undeliverable = "UNDELIVERABLE",
    }
);

/// A package's status (model `PackageStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageStatus {
    /// Primary status.
    pub status: PackageState,
    /// Finer status, e.g. `PICKED_UP`.
    #[serde(default)]
    pub detailed_status: Option<String>,
}

/// An order item in a package (model `PackageItem`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageItem {
    /// The order item.
    pub order_item_id: String,
    /// Units of it in the package.
    pub quantity: u32,
}

/// An alternative id of an order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAlias {
    /// The id.
    pub alias_id: String,
    /// Its kind, e.g. `SELLER_ORDER_ID`.
    pub alias_type: String,
}

/// The channel an order came from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesChannel {
    /// `AMAZON` or `NON_AMAZON`.
    pub channel_name: String,
    /// Marketplace id.
    #[serde(default)]
    pub marketplace_id: Option<String>,
    /// Marketplace name, e.g. `Amazon.de`.
    #[serde(default)]
    pub marketplace_name: Option<String>,
}

/// Buyer details.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    /// Buyer name.
    #[serde(default)]
    pub buyer_name: Option<String>,
    /// Anonymised buyer email.
    #[serde(default)]
    pub buyer_email: Option<String>,
    /// Company name (business orders).
    #[serde(default)]
    pub buyer_company_name: Option<String>,
    /// Purchase order number (business orders).
    #[serde(default)]
    pub buyer_purchase_order_number: Option<String>,
}

/// Recipient of the order.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    /// Delivery address.
    #[serde(default)]
    pub delivery_address: Option<Address>,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Company.
    #[serde(default)]
    pub company_name: Option<String>,
    /// Line 1.
    #[serde(default)]
    pub address_line1: Option<String>,
    /// Line 2.
    #[serde(default)]
    pub address_line2: Option<String>,
    /// Line 3.
    #[serde(default)]
    pub address_line3: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// State or region.
    #[serde(default)]
    pub state_or_region: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// ISO country code.
    #[serde(default)]
    pub country_code: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
}

/// Order-level proceeds.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderProceeds {
    /// Grand total paid by the buyer.
    #[serde(default)]
    pub grand_total: Option<Money>,
    /// Totals per category.
    #[serde(default)]
    pub breakdowns: Vec<ProceedsBreakdown>,
}

/// Proceeds of one category (`ITEM`, `SHIPPING`, `TAX`, `DISCOUNT`, …).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProceedsBreakdown {
    /// Category.
    #[serde(rename = "type")]
    pub kind: String,
    /// Amount.
    pub subtotal: Money,
    /// Finer breakdown (items only).
    #[serde(default)]
    pub detailed_breakdowns: Vec<DetailedBreakdown>,
}

/// A sub-category amount.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailedBreakdown {
    /// Sub-category.
    #[serde(default)]
    pub subtype: Option<String>,
    /// Amount.
    pub value: Money,
}

/// Order fulfilment information.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderFulfillment {
    /// Status.
    pub fulfillment_status: FulfillmentStatus,
    /// Who fulfils.
    #[serde(default)]
    pub fulfilled_by: Option<FulfilledBy>,
    /// Service level, e.g. `STANDARD`.
    #[serde(default)]
    pub fulfillment_service_level: Option<String>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OrderItem {
    /// Amazon's order item id.
    pub order_item_id: String,
    /// Quantity ordered.
    pub quantity_ordered: u32,
    /// The product sold.
    pub product: Product,
    /// Proceeds of the item (with `includedData=PROCEEDS`).
    #[serde(default)]
    pub proceeds: Option<ItemProceeds>,
    /// Quantities fulfilled (with `includedData=FULFILLMENT`).
    #[serde(default)]
    pub fulfillment: Option<ItemFulfillment>,
    /// Promotions applied.
    #[serde(default)]
    pub promotion: Option<ItemPromotion>,
    /// Programs such as `TRANSPARENCY`.
    #[serde(default)]
    pub programs: Vec<String>,
    /// Who collects the item's tax (with `includedData=TAX`).
    #[serde(default)]
    pub tax: Option<ItemTax>,
}

impl OrderItem {
    /// Whether Amazon withholds and remits the item's tax as marketplace facilitator (model
    /// `ItemTaxCollection.model` = `MARKETPLACE_FACILITATOR`).
    pub fn tax_collected_by_marketplace(&self) -> bool {
        self.tax.as_ref().is_some_and(|t| {
            t.tax_collections
                .iter()
                .any(|c| c.model.as_deref() == Some(MARKETPLACE_FACILITATOR))
        })
    }
}

/// `ItemTaxCollection.model` of tax Amazon "withholds and remits to the taxing authority on
/// behalf of the seller".
pub const MARKETPLACE_FACILITATOR: &str = "MARKETPLACE_FACILITATOR";

/// Tax information of an order item (model `ItemTax`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemTax {
    /// Who collects the tax.
    #[serde(default)]
    pub tax_collections: Vec<ItemTaxCollection>,
    /// How it was calculated (e.g. `reportingScheme` `UOSS`).
    #[serde(default)]
    pub tax_calculation_breakdowns: Vec<ItemTaxCalculationBreakdown>,
}

/// One tax collection of an item (model `ItemTaxCollection`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemTaxCollection {
    /// `MARKETPLACE_FACILITATOR` where Amazon withholds and remits the tax.
    #[serde(default)]
    pub model: Option<String>,
    /// The party that withholds and remits it.
    #[serde(default)]
    pub responsible_party: Option<String>,
}

/// A tax calculation breakdown of an item (model `ItemTaxCalculationBreakdown`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemTaxCalculationBreakdown {
    /// The reporting scheme, e.g. `UOSS` or `IOSS`.
    #[serde(default)]
    pub reporting_scheme: Option<String>,
}

/// The product of an order line.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// ASIN.
    #[serde(default)]
    pub asin: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Seller SKU.
    #[serde(default)]
    pub seller_sku: Option<Sku>,
    /// Unit price.
    #[serde(default)]
    pub price: Option<ItemPrice>,
    /// Serial numbers (FBA).
    #[serde(default)]
    pub serial_numbers: Vec<String>,
}

/// Price of a product.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPrice {
    /// Price of one unit.
    #[serde(default)]
    pub unit_price: Option<Money>,
    /// `BusinessPrice` for B2B prices.
    #[serde(default)]
    pub price_designation: Option<String>,
}

/// Proceeds of one order line.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemProceeds {
    /// Total for the line.
    #[serde(default)]
    pub proceeds_total: Option<Money>,
    /// Per category.
    #[serde(default)]
    pub breakdowns: Vec<ProceedsBreakdown>,
}

/// Fulfilled and unfulfilled quantities.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFulfillment {
    /// Shipped quantity.
    #[serde(default)]
    pub quantity_fulfilled: Option<u32>,
    /// Not yet shipped quantity.
    #[serde(default)]
    pub quantity_unfulfilled: Option<u32>,
}

/// Promotions applied to a line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPromotion {
    /// Promotion ids.
    #[serde(default)]
    pub breakdowns: Vec<PromotionBreakdown>,
}

/// One promotion.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionBreakdown {
    /// Promotion id.
    #[serde(default)]
    pub promotion_id: Option<String>,
}
