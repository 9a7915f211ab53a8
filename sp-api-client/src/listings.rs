//! Listings Items API 2021-08-01: read a listing, patch its price (`purchasable_offer`) or
//! quantity (`fulfillment_availability`), optionally as a `VALIDATION_PREVIEW`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::client::{ApiRequest, SpApiClient, encode_segment};
use crate::error::{Error, Result};
use crate::rate_limit::Operation;
use crate::types::{Money, Sku, string_enum};

string_enum!(
    /// JSON Patch operation.
    PatchOp {
        /// Add values.
        Add = "add",
        /// Replace the whole attribute (wipes sibling offer fields such as sale prices).
        Replace = "replace",
        /// Merge into the entry matched by its selector fields.
        Merge = "merge",
        /// Delete values.
        Delete = "delete",
    }
);

/// One patch of a listing attribute. `path` must be a top-level attribute
/// (`/attributes/purchasable_offer`); Amazon rejects nested paths.
#[derive(Debug, Clone, Serialize)]
pub struct PatchOperation {
    /// Operation.
    pub op: PatchOp,
    /// JSON pointer to a top-level attribute.
    pub path: String,
    /// Attribute values (raw JSON so numbers keep their exact decimal text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Vec<Box<RawValue>>>,
}

/// Body of `patchListingsItem`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingsItemPatchRequest {
    /// The listing's product type (from `getListingsItem` summaries; Amazon's pricing sample
    /// uses `PRODUCT` for offer-only patches).
    pub product_type: String,
    /// Patches (at least one).
    pub patches: Vec<PatchOperation>,
}

fn raw(json: String) -> Box<RawValue> {
    // Only called with text we produced from serde_json plus a decimal literal.
    RawValue::from_string(json).expect("valid JSON built by this module")
}

impl ListingsItemPatchRequest {
    /// Sets the price (`purchasable_offer.our_price`, tax-inclusive `value_with_tax`) for one
    /// marketplace with a `merge` keyed by `audience = ALL`, which leaves sale prices and
    /// minimum prices untouched. The amount is written as an exact JSON number. `merge` on
    /// `purchasable_offer` is newer than Amazon's documented `replace` example: check a first
    /// use with [`PatchMode::ValidationPreview`], or switch with
    /// [`with_op(PatchOp::Replace)`](Self::with_op) (which replaces the whole offer).
    pub fn price(product_type: impl Into<String>, marketplace_id: &str, price: &Money) -> Self {
        let value = format!(
            r#"{{"marketplace_id":{},"currency":{},"audience":"ALL","our_price":[{{"schedule":[{{"value_with_tax":{}}}]}}]}}"#,
            serde_json::Value::from(marketplace_id),
            serde_json::Value::from(price.currency_code.as_str()),
            price.amount.normalize()
        );
        ListingsItemPatchRequest {
            product_type: product_type.into(),
            patches: vec![PatchOperation {
                op: PatchOp::Merge,
                path: "/attributes/purchasable_offer".into(),
                value: Some(vec![raw(value)]),
            }],
        }
    }

    /// Sets the merchant-fulfilled quantity (`fulfillment_availability`, channel `DEFAULT`)
    /// with a `merge`, keeping `restock_date` and lead times.
    pub fn quantity(product_type: impl Into<String>, quantity: u32) -> Self {
        let value = format!(r#"{{"fulfillment_channel_code":"DEFAULT","quantity":{quantity}}}"#);
        ListingsItemPatchRequest {
            product_type: product_type.into(),
            patches: vec![PatchOperation {
                op: PatchOp::Merge,
                path: "/attributes/fulfillment_availability".into(),
                value: Some(vec![raw(value)]),
            }],
        }
    }

    /// Uses another operation (e.g. `replace`) for every patch.
    #[must_use]
    pub fn with_op(mut self, op: PatchOp) -> Self {
        for p in &mut self.patches {
            p.op = op.clone();
        }
        self
    }

    /// Appends the patches of another request (same product type).
    #[must_use]
    pub fn and(mut self, other: ListingsItemPatchRequest) -> Self {
        self.patches.extend(other.patches);
        self
    }

    fn validate(&self) -> Result<()> {
        if self.product_type.trim().is_empty() {
            return Err(Error::InvalidArgument("productType is required".into()));
        }
        if self.patches.is_empty() {
            return Err(Error::InvalidArgument(
                "at least one patch is required".into(),
            ));
        }
        for p in &self.patches {
            let top_level = p
                .path
                .strip_prefix("/attributes/")
                .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
            if !top_level {
                return Err(Error::InvalidArgument(format!(
                    "patch path {:?} must be a top-level attribute like /attributes/purchasable_offer",
                    p.path
                )));
            }
        }
        Ok(())
    }
}

/// Whether a patch is applied or only validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatchMode {
    /// Submit the change (applied asynchronously after `ACCEPTED`).
    #[default]
    Apply,
    /// Only validate (`mode=VALIDATION_PREVIEW`): answers `VALID` or `INVALID` with issues.
    ValidationPreview,
}

impl PatchMode {
    /// The `includedData` this mode may ask for. The model's `patchListingsItem.includedData`
    /// enum says of `identifiers`: "Can only be requested when `mode` is `VALIDATION_PREVIEW`"
    /// (listingsItems_2021-08-01.json), and Amazon answers 400 otherwise; `issues` (the default)
    /// is allowed in both modes.
    pub fn included_data(self) -> &'static str {
        match self {
            PatchMode::Apply => "issues",
            PatchMode::ValidationPreview => "issues,identifiers",
        }
    }

    /// The limit a call in this mode counts against besides `patchListingsItem`'s: previews have
    /// their own of 1 request per second ("Both the putListingsItem and patchListingsItem
    /// operations have a throttling rate of one request per second when mode is
    /// VALIDATION_PREVIEW", changelog "Listings Items API v2021-08-01 now supports previewing
    /// errors", 2024-01-31). Amazon does not say whether a preview also counts against the 5 rps
    /// of the operation; waiting for both never sends too early.
    pub fn extra_limit(self) -> Option<Operation> {
        match self {
            PatchMode::Apply => None,
            PatchMode::ValidationPreview => Some(Operation::PatchListingsItemPreview),
        }
    }
}

string_enum!(
    /// Status of a listings submission.
    SubmissionStatus {
        /// Queued; applied asynchronously (may still fail later).
        Accepted = "ACCEPTED",
        /// Rejected; see the issues.
        Invalid = "INVALID",
        /// Validation preview passed.
        Valid = "VALID",
    }
);

string_enum!(
    /// Severity of a listing issue.
    IssueSeverity {
        /// Blocks the change or the listing.
        Error = "ERROR",
        /// Worth fixing.
        Warning = "WARNING",
        /// Informational.
        Info = "INFO",
    }
);

/// A problem Amazon reports with a listing or a submission.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Issue {
    /// Issue code, e.g. `4000001`.
    pub code: String,
    /// Message.
    pub message: String,
    /// Severity.
    pub severity: IssueSeverity,
    /// Attributes concerned.
    #[serde(default)]
    pub attribute_names: Vec<String>,
    /// Categories, e.g. `INVALID_ATTRIBUTE`.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Marketplaces concerned.
    #[serde(default)]
    pub marketplace_ids: Vec<String>,
    /// Enforcement actions, untyped.
    #[serde(default)]
    pub enforcements: Option<serde_json::Value>,
}

/// Answer of `patchListingsItem`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListingsItemSubmissionResponse {
    /// SKU.
    pub sku: Sku,
    /// Status.
    pub status: SubmissionStatus,
    /// Submission id.
    pub submission_id: String,
    /// Issues found.
    #[serde(default)]
    pub issues: Vec<Issue>,
}

impl ListingsItemSubmissionResponse {
    /// True when no issue has severity `ERROR` and the status is not `INVALID`.
    pub fn is_ok(&self) -> bool {
        self.status != SubmissionStatus::Invalid
            && !self
                .issues
                .iter()
                .any(|i| i.severity == IssueSeverity::Error)
    }
}

string_enum!(
    /// Data sets `getListingsItem` can include.
    ListingsIncludedData {
        /// Summaries (ASIN, product type, status).
        Summaries = "summaries",
        /// Attributes as JSON.
        Attributes = "attributes",
        /// Issues.
        Issues = "issues",
        /// Offers (prices).
        Offers = "offers",
        /// Fulfilment availability (quantities).
        FulfillmentAvailability = "fulfillmentAvailability",
        /// Procurement.
        Procurement = "procurement",
        /// Relationships.
        Relationships = "relationships",
        /// Product types.
        ProductTypes = "productTypes",
    }
);

/// A listing as `getListingsItem` returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListingsItem {
    /// SKU.
    pub sku: Sku,
    /// Per-marketplace summaries.
    #[serde(default)]
    pub summaries: Vec<ItemSummary>,
    /// Offers.
    #[serde(default)]
    pub offers: Vec<ItemOffer>,
    /// Quantities per channel.
    #[serde(default)]
    pub fulfillment_availability: Vec<FulfillmentAvailability>,
    /// Issues.
    #[serde(default)]
    pub issues: Vec<Issue>,
    /// Attributes, untyped (product-type specific).
    #[serde(default)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Summary of a listing in one marketplace.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemSummary {
    /// Marketplace.
    pub marketplace_id: String,
    /// ASIN.
    #[serde(default)]
    pub asin: Option<String>,
    /// Product type.
    pub product_type: String,
    /// Status flags, e.g. `BUYABLE`.
    #[serde(default)]
    pub status: Vec<String>,
    /// Item name.
    #[serde(default)]
    pub item_name: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_date: Option<DateTime<Utc>>,
    /// Last updated.
    #[serde(default)]
    pub last_updated_date: Option<DateTime<Utc>>,
}

/// A price offer in one marketplace.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemOffer {
    /// Marketplace.
    pub marketplace_id: String,
    /// `B2C` or `B2B`.
    pub offer_type: String,
    /// Price.
    pub price: Money,
}

/// Quantity available in one fulfilment channel.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentAvailability {
    /// `DEFAULT` for merchant-fulfilled; `AMAZON_*` for FBA.
    pub fulfillment_channel_code: String,
    /// Quantity.
    #[serde(default)]
    pub quantity: Option<u32>,
}

impl ListingsItem {
    /// The price offered to everyone (`B2C`) in a marketplace.
    pub fn price_in(&self, marketplace_id: &str) -> Option<&Money> {
        self.offers
            .iter()
            .find(|o| o.marketplace_id == marketplace_id && o.offer_type == "B2C")
            .map(|o| &o.price)
    }

    /// The merchant-fulfilled quantity.
    pub fn merchant_quantity(&self) -> Option<u32> {
        self.fulfillment_availability
            .iter()
            .find(|f| f.fulfillment_channel_code == "DEFAULT")
            .and_then(|f| f.quantity)
    }
}

impl SpApiClient {
    fn listing_path(&self, sku: &Sku) -> Result<String> {
        let seller = self.seller_id().ok_or_else(|| {
            Error::InvalidArgument(
                "Listings calls need the seller id: set it on the builder".into(),
            )
        })?;
        Ok(format!(
            "/listings/2021-08-01/items/{}/{}",
            encode_segment(seller),
            encode_segment(sku.as_str())
        ))
    }

    /// `getListingsItem` for one marketplace.
    pub async fn get_listings_item(
        &self,
        sku: &Sku,
        marketplace_id: &str,
        included_data: &[ListingsIncludedData],
    ) -> Result<ListingsItem> {
        let request = ApiRequest::get(Operation::GetListingsItem, self.listing_path(sku)?)
            .query("marketplaceIds", marketplace_id)
            .query_list(
                "includedData",
                &included_data.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
            );
        self.send_json(request).await
    }

    /// `patchListingsItem` for one marketplace (Amazon accepts only one per call). The answer
    /// is returned even when it reports `INVALID`: inspect [`ListingsItemSubmissionResponse::issues`].
    pub async fn patch_listings_item(
        &self,
        sku: &Sku,
        marketplace_id: &str,
        patch: &ListingsItemPatchRequest,
        mode: PatchMode,
    ) -> Result<ListingsItemSubmissionResponse> {
        patch.validate()?;
        let request = ApiRequest::new(
            Operation::PatchListingsItem,
            reqwest::Method::PATCH,
            self.listing_path(sku)?,
        )
        .also_limited_by(mode.extra_limit())
        .query("marketplaceIds", marketplace_id)
        .query("includedData", mode.included_data());
        let request = match mode {
            PatchMode::Apply => request,
            PatchMode::ValidationPreview => request.query("mode", "VALIDATION_PREVIEW"),
        };
        self.send_json(request.json(patch)?).await
    }

    /// Convenience: set the price of a SKU in one marketplace.
    pub async fn set_price(
        &self,
        sku: &Sku,
        marketplace_id: &str,
        product_type: &str,
        price: &Money,
        mode: PatchMode,
    ) -> Result<ListingsItemSubmissionResponse> {
        if price.amount <= Decimal::ZERO {
            return Err(Error::InvalidArgument(format!(
                "price must be positive, got {price}"
            )));
        }
        let patch = ListingsItemPatchRequest::price(product_type, marketplace_id, price);
        self.patch_listings_item(sku, marketplace_id, &patch, mode)
            .await
    }

    /// Convenience: set the merchant-fulfilled quantity of a SKU in one marketplace.
    pub async fn set_quantity(
        &self,
        sku: &Sku,
        marketplace_id: &str,
        product_type: &str,
        quantity: u32,
        mode: PatchMode,
    ) -> Result<ListingsItemSubmissionResponse> {
        let patch = ListingsItemPatchRequest::quantity(product_type, quantity);
        self.patch_listings_item(sku, marketplace_id, &patch, mode)
            .await
    }
}
