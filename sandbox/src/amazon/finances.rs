//! Finances, derived from the world's settlements: v0 `listFinancialEventGroups` (one group per
//! settlement period) and 2024-06-19 `listTransactions`: one
//! transaction per order / refund / other row of a settlement, with breakdowns by amount type and
//! the related identifiers (ORDER_ID, FINANCIAL_EVENT_GROUP_ID, SETTLEMENT_ID).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::ratelimit::{LIST_FINANCIAL_EVENT_GROUPS, LIST_TRANSACTIONS};
use super::{Params, gate, iso, parse_iso};
use crate::Shared;
use crate::sap::validation::number;
use crate::world::settlement::{Row, rows};
use crate::world::{Settlement, World};

const PAGE: usize = 100;

/// The longest window Amazon answers: "If `FinancialEventGroupStartedAfter` and
/// `FinancialEventGroupStartedBefore` are more than 180 days apart, no financial event groups are
/// returned." (financesV0.json); "If `PostedAfter` and `PostedBefore` are more than 180 days
/// apart, the response is empty." (finances_2024-06-19.json).
const MAX_WINDOW: Duration = Duration::days(180);

/// A page token bound to the parameters of the call that produced it. Both Finances APIs say to
/// call again "with this token and include the same arguments as the call that produced the
/// token" (financesV0.json, finances_2024-06-19.json); Amazon's v0 tokens carry a
/// `searchQueryChecksum` (a decoded token in amzn/selling-partner-api-models#1192).
fn checksum(p: &Params, token_name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut pairs: Vec<&(String, String)> = p.0.iter().filter(|(k, _)| k != token_name).collect();
    pairs.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pairs.hash(&mut h);
    h.finish()
}

fn page_token(offset: usize, p: &Params, token_name: &str) -> String {
    format!("{offset}.{:016x}", checksum(p, token_name))
}

/// The offset a token stands for; `Err` when it was made for other parameters (or is not ours).
fn token_offset(p: &Params, token_name: &str) -> Result<usize, ()> {
    let Some(token) = p.get(token_name) else {
        return Ok(0);
    };
    let (offset, sum) = token.split_once('.').ok_or(())?;
    if u64::from_str_radix(sum, 16).ok() != Some(checksum(p, token_name)) {
        return Err(());
    }
    offset.parse().map_err(|_| ())
}

// INVENTED: the answer to a token used with other arguments. Amazon documents only that the
// same arguments must be sent; 400 InvalidInput with this text is what peers report for refused
// Finances tokens (amzn/selling-partner-api-models#366, #2667 show InvalidInput for NextToken calls).
const TOKEN_MISMATCH: &str =
    "Request was not valid or data requested exceeds data retention period.";

struct Txn {
    posted: DateTime<Utc>,
    marketplace: usize,
    order_id: String,
    group_id: String,
    value: Value,
}

fn money(currency: &str, d: Decimal) -> Value {
    json!({"currencyCode": currency, "currencyAmount": number(d)})
}

fn transaction(world: &World, s: &Settlement, kind: &str, rows: &[&Row], closed: bool) -> Txn {
    let m = &world.marketplaces[s.marketplace];
    let first = rows[0];
    let posted = first.posted.unwrap_or(s.start);
    let total: Decimal = rows.iter().map(|r| r.amount).sum();
    let mut by_type: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_type.entry(r.amount_type.as_str()).or_default().push(r);
    }
    let breakdowns: Vec<Value> = by_type
        .iter()
        .map(|(t, rs)| {
            let inner: Vec<Value> = rs.iter().map(|r| json!({"breakdownType": r.amount_description, "breakdownAmount": money(&s.currency, r.amount)})).collect();
            json!({"breakdownType": t, "breakdownAmount": money(&s.currency, rs.iter().map(|r| r.amount).sum()), "breakdowns": inner})
        })
        .collect();
    let mut related = vec![
        json!({"relatedIdentifierName": "FINANCIAL_EVENT_GROUP_ID", "relatedIdentifierValue": s.group_id}),
    ];
    if !first.order_id.is_empty() {
        related.push(
            json!({"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": first.order_id}),
        );
    }
    if closed {
        related.push(
            json!({"relatedIdentifierName": "SETTLEMENT_ID", "relatedIdentifierValue": s.id}),
        );
    }
    let id_seed = format!(
        "{}{}{}{}",
        s.id, kind, first.order_id, first.amount_description
    );
    let hash = id_seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let value = json!({
        "sellingPartnerMetadata": {"sellingPartnerId": world.seller_id, "accountType": "Standard Orders", "marketplaceId": m.id},
        "relatedIdentifiers": related,
        "transactionType": kind,
        "transactionId": format!("{hash:016X}"),
        "transactionStatus": "RELEASED",
        "description": if kind == "Other" { first.amount_description.clone() } else { kind.to_string() },
        "postedDate": iso(posted),
        "totalAmount": money(&s.currency, total),
        "marketplaceDetails": {"marketplaceId": m.id, "marketplaceName": m.name},
        "breakdowns": breakdowns,
    });
    Txn {
        posted,
        marketplace: s.marketplace,
        order_id: first.order_id.clone(),
        group_id: s.group_id.clone(),
        value,
    }
}

fn transactions(world: &World, now: DateTime<Utc>) -> Vec<Txn> {
    let mut out = Vec::new();
    for s in world.settlements.iter().filter(|s| s.start <= now) {
        let closed = s.end <= now;
        let all = rows(world, s);
        let visible: Vec<&Row> = all
            .iter()
            .filter(|r| r.posted.is_some_and(|t| t <= now))
            .collect();
        let mut groups: BTreeMap<(String, String, String), Vec<&Row>> = BTreeMap::new();
        for r in visible {
            let kind = match r.transaction_type.as_str() {
                "Order" => "Shipment",
                "Refund" => "Refund",
                _ => "Other",
            };
            let sub = if kind == "Other" {
                r.amount_description.clone()
            } else {
                r.adjustment_id.clone()
            };
            groups
                .entry((kind.to_string(), r.order_id.clone(), sub))
                .or_default()
                .push(r);
        }
        for ((kind, _, _), rs) in groups {
            out.push(transaction(world, s, &kind, &rs, closed));
        }
    }
    out.sort_by(|a, b| {
        a.posted.cmp(&b.posted).then_with(|| {
            a.value["transactionId"]
                .as_str()
                .cmp(&b.value["transactionId"].as_str())
        })
    });
    out
}

/// `GET /finances/2024-06-19/transactions`.
pub(crate) async fn list_transactions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let fin = match gate(&shared, &headers, &LIST_TRANSACTIONS).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let p = Params::parse(q.as_deref());
    let now = shared.clock.now();
    let related = match (
        p.get("relatedIdentifierName"),
        p.get("relatedIdentifierValue"),
    ) {
        (Some(n), Some(v)) if n == "ORDER_ID" || n == "FINANCIAL_EVENT_GROUP_ID" => {
            Some((n.to_string(), v.to_string()))
        }
        (Some(n), Some(_)) => {
            return fin.error(
                400,
                "InvalidInput",
                &format!("relatedIdentifierName {n} is not supported."),
            );
        }
        (None, None) => None,
        _ => {
            return fin.error(
                400,
                "InvalidInput",
                "relatedIdentifierName and relatedIdentifierValue go together.",
            );
        }
    };
    let after = match p.get("postedAfter").map(parse_iso) {
        Some(Some(t)) => Some(t),
        Some(None) => return fin.error(400, "InvalidInput", "postedAfter is not a valid date."),
        None if related.is_none() => {
            return fin.error(400, "InvalidInput", "postedAfter is required.");
        }
        None => None,
    };
    let latest = now - Duration::minutes(2);
    let before = match p.get("postedBefore").map(parse_iso) {
        Some(Some(t)) if t > latest => {
            return fin.error(
                400,
                "InvalidInput",
                "postedBefore must be at least 2 minutes before now.",
            );
        }
        Some(Some(t)) => t,
        Some(None) => return fin.error(400, "InvalidInput", "postedBefore is not a valid date."),
        None => latest,
    };
    let market = p.get("marketplaceId").map(str::to_string);
    let status = p.get("transactionStatus").map(str::to_string);
    let Ok(offset) = token_offset(&p, "nextToken") else {
        return fin.error(400, "InvalidInput", TOKEN_MISMATCH);
    };
    if after.is_some_and(|a| before - a > MAX_WINDOW) {
        return fin.json(200, &json!({"payload": {"transactions": []}}));
    }
    let world = shared.world();
    let matching: Vec<Value> = transactions(&world, now)
        .into_iter()
        .filter(|t| after.is_none_or(|a| t.posted >= a) && t.posted <= before)
        .filter(|t| {
            market
                .as_deref()
                .is_none_or(|m| m == world.marketplaces[t.marketplace].id)
        })
        .filter(|t| {
            status
                .as_deref()
                .is_none_or(|s| t.value["transactionStatus"] == s)
        })
        .filter(|t| match &related {
            Some((n, v)) if n == "ORDER_ID" => &t.order_id == v,
            Some((_, v)) => &t.group_id == v,
            None => true,
        })
        .map(|t| t.value)
        .collect();
    let page: Vec<Value> = matching.iter().skip(offset).take(PAGE).cloned().collect();
    let mut payload = json!({"transactions": page});
    if offset + PAGE < matching.len() {
        payload["nextToken"] = Value::from(page_token(offset + PAGE, &p, "nextToken"));
    }
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
    let Ok(offset) = token_offset(&p, "NextToken") else {
        return fin.error(400, "InvalidInput", TOKEN_MISMATCH);
    };
    // INVENTED: an open end counts up to now; the model gives no default for
    // FinancialEventGroupStartedBefore.
    if let Some(a) = after
        && before.unwrap_or(now) - a > MAX_WINDOW
    {
        return fin.json(200, &json!({"payload": {"FinancialEventGroupList": []}}));
    }
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
                // Amazon Currency Converter for Sellers: the payout in the seller's bank currency.
                "ConvertedTotal": match crate::world::converter::converted(
                    world.kind,
                    &s.currency,
                    total,
                    s.deposit.date_naive(),
                ) {
                    Some((to, amount)) => json!({"CurrencyCode": to, "CurrencyAmount": number(amount)}),
                    None => money(total),
                },
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
        payload["NextToken"] = Value::from(page_token(offset + page, &p, "NextToken"));
    }
    fin.json(200, &json!({"payload": payload}))
}
