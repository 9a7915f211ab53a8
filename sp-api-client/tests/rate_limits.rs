//! The client's rate-limit table against the usage plans in Amazon's models
//! (`../shared/reference/sp-api/models`, each operation's description carries a
//! "Rate (requests per second) | Burst" table). Every operation is compared; the deliberate
//! differences are listed here, each with its reason in `rate_limit.rs`.

mod common;

use serde_json::Value;
use sp_api_client::rate_limit::Operation;

/// Where each operation's plan is published: (model file, operationId). `None`: not an SP-API
/// call (pre-signed document URLs).
fn model_of(op: Operation) -> Option<(&'static str, &'static str)> {
    Some(match op {
        Operation::SearchOrders => ("orders_2026-01-01.json", "searchOrders"),
        Operation::GetOrder => ("orders_2026-01-01.json", "getOrder"),
        Operation::GetOrdersV0 => ("ordersV0.json", "getOrders"),
        Operation::GetOrderItemsV0 => ("ordersV0.json", "getOrderItems"),
        Operation::GetReports => ("reports_2021-06-30.json", "getReports"),
        Operation::GetReport => ("reports_2021-06-30.json", "getReport"),
        Operation::CreateReport => ("reports_2021-06-30.json", "createReport"),
        Operation::CancelReport => ("reports_2021-06-30.json", "cancelReport"),
        Operation::GetReportDocument => ("reports_2021-06-30.json", "getReportDocument"),
        Operation::GetListingsItem => ("listingsItems_2021-08-01.json", "getListingsItem"),
        Operation::PatchListingsItem => ("listingsItems_2021-08-01.json", "patchListingsItem"),
        Operation::CreateFeedDocument => ("feeds_2021-06-30.json", "createFeedDocument"),
        Operation::CreateFeed => ("feeds_2021-06-30.json", "createFeed"),
        Operation::GetFeed => ("feeds_2021-06-30.json", "getFeed"),
        Operation::GetFeedDocument => ("feeds_2021-06-30.json", "getFeedDocument"),
        Operation::GetMarketplaceParticipations => ("sellers.json", "getMarketplaceParticipations"),
        Operation::ListFinancialEventGroups => ("financesV0.json", "listFinancialEventGroups"),
        Operation::ListTransactions => ("finances_2024-06-19.json", "listTransactions"),
        Operation::DownloadDocument | Operation::UploadDocument => return None,
        other => panic!("{other} has no entry in model_of: add where Amazon publishes its plan"),
    })
}

/// A usage plan as (rate, burst).
type Plan = (f64, u32);

/// Limits the models do not carry, published in Amazon's changelogs (sources in `rate_limit.rs`):
/// previews 1 rps (2024-01-31), `JSON_LISTINGS_FEED` 5 feeds per 5 minutes per region (2025-05-06).
/// `getInventorySummaries` too: its model (`fba-inventory-api-model/fbaInventory.json`, usage plan
/// 2 rps, burst 2) is not among the reference models.
const CHANGELOG_LIMITS: &[(Operation, Plan)] = &[
    (Operation::GetInventorySummaries, (2.0, 2)),
    (Operation::PatchListingsItemPreview, (1.0, 1)),
    (Operation::JsonListingsFeed, (5.0 / 300.0, 5)),
];

/// Deliberate differences: (operation, client's plan, model's plan).
const DIFFERENCES: &[(Operation, Plan, Plan)] = &[
    // Amazon's Listings Items rate-limit page says burst 5; the lower documented burst wins.
    (Operation::GetListingsItem, (5.0, 5), (5.0, 10)),
];

/// The (rate, burst) in the usage-plan table of an operation's description.
fn model_plan(model: &Value, operation_id: &str) -> Plan {
    let op = model["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .find(|o| o["operationId"] == operation_id)
        .unwrap_or_else(|| panic!("{operation_id} not in the model"));
    let description = op["description"].as_str().unwrap();
    // "| Rate (requests per second) | Burst |\n| ---- | ---- |\n| 0.0167 | 15 |"
    let row = description
        .lines()
        .map(|l| l.trim())
        .filter(|l| l.starts_with('|'))
        .find_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            match cells.as_slice() {
                [rate, burst] => Some((rate.parse().ok()?, burst.parse().ok()?)),
                _ => None,
            }
        });
    row.unwrap_or_else(|| panic!("no usage plan table in {operation_id}'s description"))
}

#[test]
fn every_rate_limit_matches_the_models_or_is_a_listed_difference() {
    let mut models = std::collections::HashMap::new();
    let mut mismatches = Vec::new();
    let mut differences_seen = Vec::new();
    for &op in Operation::ALL {
        let plan = op.default_plan();
        if let Some((_, documented)) = CHANGELOG_LIMITS.iter().find(|(o, _)| *o == op) {
            let plan = plan.unwrap_or_else(|| panic!("{op} has no plan"));
            assert_eq!((plan.rate, plan.burst), *documented, "{op}");
            continue;
        }
        let Some((file, id)) = model_of(op) else {
            assert!(plan.is_none(), "{op} is not an SP-API call but has a plan");
            continue;
        };
        if !models.contains_key(file) {
            let Some(text) = common::reference(&format!("sp-api/models/{file}")) else {
                return;
            };
            models.insert(file, serde_json::from_str::<Value>(&text).unwrap());
        }
        assert_eq!(op.name(), id, "the client's operation id");
        let plan = plan.unwrap_or_else(|| panic!("{op} has no plan"));
        let client = (plan.rate, plan.burst);
        let model = model_plan(&models[file], id);
        match DIFFERENCES.iter().find(|(o, _, _)| *o == op) {
            Some((_, c, m)) => {
                assert_eq!(
                    (client, model),
                    (*c, *m),
                    "{op}: the listed difference no longer holds; update DIFFERENCES"
                );
                differences_seen.push(op);
            }
            None if client != model => {
                mismatches.push(format!("{op}: client {client:?}, model {file} {model:?}"))
            }
            None => {}
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    assert_eq!(differences_seen.len(), DIFFERENCES.len());
}
