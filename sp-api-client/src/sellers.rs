//! Sellers API v1: marketplace participations, the cheapest check that credentials work.

use serde::Deserialize;

use crate::client::{ApiRequest, SpApiClient};
use crate::error::Result;
use crate::rate_limit::Operation;

/// A marketplace the seller can sell in, and whether they do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketplaceParticipation {
    /// The marketplace.
    pub marketplace: MarketplaceInfo,
    /// The seller's participation.
    pub participation: Participation,
    /// Store name.
    #[serde(default)]
    pub store_name: Option<String>,
}

/// Marketplace details.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketplaceInfo {
    /// Marketplace id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Country code.
    pub country_code: String,
    /// Default currency.
    pub default_currency_code: String,
    /// Default language.
    pub default_language_code: String,
    /// Domain.
    pub domain_name: String,
}

/// Participation flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participation {
    /// Selling in this marketplace.
    pub is_participating: bool,
    /// Has suspended listings.
    pub has_suspended_listings: bool,
}

#[derive(Deserialize)]
struct Payload {
    payload: Vec<MarketplaceParticipation>,
}

impl SpApiClient {
    /// `getMarketplaceParticipations`: use as the connection check (rate 0.016/s, burst 15).
    pub async fn get_marketplace_participations(&self) -> Result<Vec<MarketplaceParticipation>> {
        let response: Payload = self
            .send_json(ApiRequest::get(
                Operation::GetMarketplaceParticipations,
                "/sellers/v1/marketplaceParticipations",
            ))
            .await?;
        Ok(response.payload)
    }
}
