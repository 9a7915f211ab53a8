//! Login with Amazon: `POST /auth/o2/token`, refresh-token grant, 1 h tokens, `invalid_grant` for
//! a revoked refresh token, `invalid_client` for wrong client credentials.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use chrono::Duration;
use rand::RngExt;
use serde_json::{Value, json};

use super::json_response;
use crate::Shared;

fn fields(body: &[u8]) -> Vec<(String, String)> {
    if body.first() == Some(&b'{') {
        return serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
    }
    super::Params::parse(Some(&String::from_utf8_lossy(body))).0
}

fn oauth_error(status: u16, code: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error_description": description, "error": code}),
    )
}

/// The token endpoint.
pub(crate) async fn token(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let f = fields(&body);
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let creds = &shared.config.credentials;
    if get("grant_type") != Some("refresh_token") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server",
        );
    }
    if get("client_id") != Some(creds.lwa_client_id.as_str())
        || get("client_secret") != Some(creds.lwa_client_secret.as_str())
    {
        return oauth_error(401, "invalid_client", "Client authentication failed");
    }
    let Some(refresh) = get("refresh_token") else {
        return oauth_error(
            400,
            "invalid_request",
            "The request is missing a required parameter : refresh_token",
        );
    };
    if refresh != creds.lwa_refresh_token || *shared.amazon.revoked.lock().expect("revoked") {
        return oauth_error(
            400,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token. User may have revoked or didn't grant the permission.",
        );
    }
    let token = {
        let mut rng = shared.rng.lock().expect("rng");
        let tail: String = (0..120)
            .map(|_| {
                char::from(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                        [rng.random_range(0..64)],
                )
            })
            .collect();
        format!("Atza|IwEBI{tail}")
    };
    let expires = shared.clock.now() + Duration::seconds(3600);
    shared
        .amazon
        .tokens
        .lock()
        .expect("tokens")
        .insert(token.clone(), expires);
    let mut r = json_response(
        200,
        &json!({"access_token": token, "refresh_token": refresh, "token_type": "bearer", "expires_in": 3600}),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    r
}
