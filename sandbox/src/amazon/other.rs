//! Sellers `getMarketplaceParticipations` and Finances v0 `listFinancialEventGroups`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Duration;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::ratelimit::{GET_MARKETPLACE_PARTICIPATIONS, LIST_FINANCIAL_EVENT_GROUPS};
use super::{Params, gate, iso, parse_iso};
use crate::Shared;
use crate::sap::validation::number;
use crate::world::settlement::rows;

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
            let (lang, domain) = match m.code {
                "DE" => ("de_DE", "www.amazon.de"),
                "FR" => ("fr_FR", "www.amazon.fr"),
                _ => ("en_GB", "www.amazon.co.uk"),
            };
            let country = if m.code == "UK" { "GB" } else { m.code };
            json!({
                "marketplace": {"id": m.id, "countryCode": country, "name": m.name, "defaultCurrencyCode": m.currency, "defaultLanguageCode": lang, "domainName": domain},
                "participation": {"isParticipating": true, "hasSuspendedListings": false},
                "storeName": "Sandbox Trading",
            })
        })
        .collect();
    fin.json(200, &json!({"payload": payload}))
}

/// `GET /finances/v0/financialEventGroups`: one group per settlement period (open ones included).
pub(crate) async fn list_financial_event_groups(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let fin = match gate(&shared, &headers, &LIST_FINANCIAL_EVENT_GROUPS).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let p = Params::parse(q.as_deref());
    let now = shared.clock.now();
    let page: usize = p
        .get("MaxResultsPerPage")
        .and_then(|s| s.parse().ok())
        .filter(|n| (1..=100).contains(n))
        .unwrap_or(10);
    let after = p.get("FinancialEventGroupStartedAfter").and_then(parse_iso);
    let before = p
        .get("FinancialEventGroupStartedBefore")
        .and_then(parse_iso);
    if before.is_some_and(|b| b > now - Duration::minutes(2)) {
        return fin.error(
            400,
            "InvalidInput",
            "FinancialEventGroupStartedBefore must be at least 2 minutes before now.",
        );
    }
    let offset: usize = p.get("NextToken").and_then(|t| t.parse().ok()).unwrap_or(0);
    let world = shared.world();
    let groups: Vec<Value> = world
        .settlements
        .iter()
        .filter(|s| {
            s.start <= now
                && after.is_none_or(|a| s.start >= a)
                && before.is_none_or(|b| s.start < b)
        })
        .map(|s| {
            let closed = s.end <= now;
            let total: Decimal = if closed {
                s.total
            } else {
                rows(&world, s)
                    .iter()
                    .filter(|r| r.posted.is_none_or(|t| t <= now))
                    .map(|r| r.amount)
                    .sum()
            };
            let money =
                |d: Decimal| json!({"CurrencyCode": s.currency, "CurrencyAmount": number(d)});
            let mut g = json!({
                "FinancialEventGroupId": s.group_id,
                "ProcessingStatus": if closed { "Closed" } else { "Open" },
                "OriginalTotal": money(total),
                "ConvertedTotal": money(total),
                "BeginningBalance": money(Decimal::ZERO),
                "FinancialEventGroupStart": iso(s.start),
            });
            if closed {
                g["FinancialEventGroupEnd"] = Value::from(iso(s.end));
                if s.total > Decimal::ZERO {
                    g["FundTransferStatus"] = Value::from(if s.deposit <= now {
                        "Succeeded"
                    } else {
                        "Processing"
                    });
                    g["FundTransferDate"] = Value::from(iso(s.deposit));
                    g["TraceId"] = Value::from(format!("{}TRACE", &s.id[..6]));
                    g["AccountTail"] = Value::from("123");
                }
            }
            g
        })
        .collect();
    let list: Vec<Value> = groups.iter().skip(offset).take(page).cloned().collect();
    let mut payload = json!({"FinancialEventGroupList": list});
    if offset + page < groups.len() {
        payload["NextToken"] = Value::from((offset + page).to_string());
    }
    fin.json(200, &json!({"payload": payload}))
}
