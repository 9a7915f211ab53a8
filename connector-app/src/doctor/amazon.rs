//! The Amazon side of `doctor`: token, marketplaces, and the roles the flows need.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use sp_api_client::Error as AmazonError;
use sp_api_client::finances::EventGroupQuery;
use sp_api_client::orders::OrderSearch;
use sp_api_client::reports::{ReportQuery, SETTLEMENT_REPORT_V2};

use super::{Finding, Level};
use crate::commands::ping::amazon_advice;
use crate::flows::Engine;

const AREA: &str = "Amazon";

/// What to do about an error of a call that needs an SP-API role.
fn role_fix(e: &AmazonError, role: &str) -> String {
    match e.status().map(|s| s.as_u16()) {
        Some(403) => format!(
            "the app is not authorised for this call: add the {role} role to the app in Seller Central (Apps and Services > Develop Apps), then authorise it again to get a new refresh token"
        ),
        _ => amazon_advice(e),
    }
}

impl Engine {
    /// Checks the token, the marketplaces and the roles; returns each participating
    /// marketplace's currency (ISO) by marketplace id.
    pub(super) async fn doctor_amazon(&self, out: &mut Vec<Finding>) -> BTreeMap<String, String> {
        let cfg = &self.config;
        let mut currencies = BTreeMap::new();
        match self.amazon.get_marketplace_participations().await {
            Ok(list) => {
                out.push(Finding::ok(
                    AREA,
                    "token and seller",
                    format!(
                        "token obtained; seller {} participates in {} marketplace(s)",
                        cfg.amazon.seller_id,
                        list.len()
                    ),
                ));
                for p in &list {
                    currencies.insert(
                        p.marketplace.id.clone(),
                        p.marketplace.default_currency_code.clone(),
                    );
                }
                for m in &cfg.amazon.marketplaces {
                    match list.iter().find(|p| &p.marketplace.id == m) {
                        Some(p) => out.push(Finding::ok(
                            AREA,
                            format!("marketplace {m}"),
                            format!(
                                "{} ({}), currency {}",
                                p.marketplace.name,
                                p.marketplace.country_code,
                                p.marketplace.default_currency_code
                            ),
                        )),
                        None => out.push(Finding::problem(
                            AREA,
                            Level::Fail,
                            format!("marketplace {m}"),
                            "the seller does not participate in it",
                            "remove it from amazon.marketplaces, or check amazon.seller_id and amazon.region",
                        )),
                    }
                }
            }
            Err(e) => {
                out.push(Finding::problem(
                    AREA,
                    Level::Fail,
                    "token and seller",
                    e.to_string(),
                    amazon_advice(&e),
                ));
                // Without a token no other call can work.
                return currencies;
            }
        }
        let now = Utc::now();
        let mut search = OrderSearch::last_updated_after(now - Duration::hours(1));
        search.marketplace_ids = cfg.amazon.marketplaces.clone();
        search.max_results_per_page = Some(1);
        out.push(match self.amazon.search_orders_page(&search, None).await {
            Ok(_) => Finding::ok(AREA, "orders (searchOrders)", "allowed"),
            Err(e) => Finding::problem(
                AREA,
                Level::Fail,
                "orders (searchOrders)",
                e.to_string(),
                role_fix(&e, "Inventory and Order Tracking"),
            ),
        });
        let mut reports = ReportQuery::types([SETTLEMENT_REPORT_V2]);
        reports.page_size = Some(1);
        out.push(match self.amazon.get_reports_page(&reports, None).await {
            Ok(_) => Finding::ok(AREA, "settlement reports (getReports)", "allowed"),
            Err(e) => Finding::problem(
                AREA,
                Level::Fail,
                "settlement reports (getReports)",
                e.to_string(),
                role_fix(&e, "Finance and Accounting"),
            ),
        });
        let groups = EventGroupQuery::started_after(now - Duration::days(7));
        out.push(
            match self
                .amazon
                .list_financial_event_groups_page(&groups, None)
                .await
            {
                Ok(_) => Finding::ok(AREA, "financial event groups", "allowed"),
                Err(e) => Finding::problem(
                    AREA,
                    Level::Fail,
                    "financial event groups",
                    e.to_string(),
                    role_fix(&e, "Finance and Accounting"),
                ),
            },
        );
        currencies
    }
}
