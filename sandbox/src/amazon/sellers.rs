//! Sellers `getMarketplaceParticipations`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::gate;
use super::ratelimit::GET_MARKETPLACE_PARTICIPATIONS;
use crate::Shared;

/// `GET /sellers/v1/marketplaceParticipations`.
pub(crate) async fn marketplace_participations(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    let fin = match gate(&shared, &headers, &GET_MARKETPLACE_PARTICIPATIONS).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let world = shared.world();
    let payload: Vec<Value> = world
        .marketplaces
        .iter()
        .map(|m| {
            json!({
                "marketplace": {"id": m.id, "countryCode": m.country, "name": m.name, "defaultCurrencyCode": m.currency, "defaultLanguageCode": m.language, "domainName": m.domain},
                "participation": {"isParticipating": true, "hasSuspendedListings": false},
                "storeName": "Sandbox Trading",
            })
        })
        .collect();
    fin.json(200, &json!({"payload": payload}))
}
