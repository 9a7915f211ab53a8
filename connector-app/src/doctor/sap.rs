//! The SAP side of `doctor`: version, company and localisation, currencies and rates, every
//! mapped account, tax codes, customers, warehouses, price lists, the key table and key UDF.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use futures::TryStreamExt;
use sap_b1_client::entities::{AdminInfo, BusinessPartner, Currency, UserFieldMD, YesNo};
use sap_b1_client::query::prop;
use sap_b1_client::{EntitySet, Query};
use serde_json::Value;

use super::{Finding, Level};
use crate::commands::ping::sap_advice;
use crate::config::TaxField;
use crate::flows::Engine;
use crate::flows::orders::invoice_key;
use crate::posting::sap_code_of;

const AREA: &str = "SAP";

fn fail(subject: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding::problem(AREA, Level::Fail, subject, detail, fix)
}

impl Engine {
    /// Runs the SAP checks; `currencies` are the configured marketplaces' ISO currencies.
    pub(super) async fn doctor_sap(
        &self,
        currencies: &BTreeMap<String, String>,
        out: &mut Vec<Finding>,
    ) {
        let cfg = &self.config;
        match self.sap.connect().await {
            Ok(info) => out.push(Finding::ok(
                AREA,
                "login",
                format!(
                    "{} as {} (Service Layer {})",
                    cfg.sap.company_db,
                    cfg.sap.user,
                    info.version.as_deref().unwrap_or("version not reported")
                ),
            )),
            Err(e) => {
                out.push(fail(
                    "login",
                    e.to_string(),
                    sap_advice(&e, &cfg.sap.base_url),
                ));
                return;
            }
        }
        match self.has_paid_to_date().await {
            Ok(true) => out.push(Finding::ok(AREA, "document properties", "PaidToDate present (10.0-era metadata)")),
            Ok(false) => out.push(Finding::problem(
                AREA,
                Level::Warn,
                "document properties",
                "9.3-era metadata: documents have no PaidToDate, so a part-paid invoice is seen as wholly open",
                "upgrade the Service Layer to 10.0, or settle part-paid invoices by hand",
            )),
            Err(e) => out.push(fail("document properties", e.to_string(), "the Service Layer's own log")),
        }
        if let Err(e) = self.doctor_company(currencies, out).await {
            out.push(fail(
                "company",
                format!("{e:#}"),
                "the Service Layer's own log; the error above is what it answered",
            ));
        }
        if let Err(e) = self.doctor_periods(out).await {
            out.push(fail(
                "posting periods",
                format!("{e:#}"),
                "the Service Layer's own log; the error above is what it answered",
            ));
        }
        if let Err(e) = self.doctor_masters(out).await {
            out.push(fail(
                "master data",
                format!("{e:#}"),
                "the Service Layer's own log; the error above is what it answered",
            ));
        }
        let _ = self.sap.logout().await;
    }

    async fn doctor_company(
        &self,
        currencies: &BTreeMap<String, String>,
        out: &mut Vec<Finding>,
    ) -> anyhow::Result<()> {
        let cfg = &self.config;
        let Some(company) = self.company().await? else {
            out.push(Finding::problem(
                AREA,
                Level::Warn,
                "company",
                "CompanyService_GetAdminInfo is not answered: local currency and localisation unknown",
                "a Service Layer user with rights to read the company details",
            ));
            return Ok(());
        };
        let AdminInfo {
            local_currency,
            country,
            enable_branches,
            ..
        } = &company;
        let local = local_currency.clone().unwrap_or_default();
        let country = country.clone().unwrap_or_default();
        let sales_tax = matches!(country.as_str(), "US" | "CA");
        out.push(Finding::ok(
            AREA,
            "company",
            format!(
                "local currency {local}, country {country} ({})",
                if sales_tax {
                    "sales-tax localisation: lines carry TaxCode"
                } else {
                    "VAT localisation: lines carry VatGroup"
                }
            ),
        ));
        match (sales_tax, cfg.orders.tax_field) {
            (true, TaxField::VatGroup) => out.push(fail(
                "orders.tax_field",
                "\"vat-group\" on a sales-tax localisation: SAP would refuse or ignore VatGroup on every line",
                "set orders.tax_field = \"tax-code\"",
            )),
            (false, TaxField::TaxCode) => out.push(fail(
                "orders.tax_field",
                "\"tax-code\" on a VAT localisation: SAP would refuse or ignore TaxCode on every line",
                "set orders.tax_field = \"vat-group\"",
            )),
            _ => {}
        }
        if *enable_branches == Some(YesNo::Yes) {
            out.push(fail(
                "branches",
                "the company uses branches: SAP refuses documents without BPL_IDAssignedToInvoice, which the connector does not send yet",
                "post into a company without branches, or wait for branch support",
            ));
        }
        let known: Vec<Currency> = self
            .sap
            .currencies()
            .stream(&Query::new())
            .try_collect()
            .await?;
        let today = Utc::now().date_naive();
        for (marketplace, iso) in currencies
            .iter()
            .filter(|(m, _)| cfg.amazon.marketplaces.contains(m))
        {
            let subject = format!("currency {iso} ({marketplace})");
            let Some(code) = sap_code_of(&known, iso) else {
                out.push(fail(
                    subject,
                    format!("no SAP currency has the ISO code {iso} (InternationalDescription)"),
                    format!("add {iso} in Administration > Setup > Financials > Currencies"),
                ));
                continue;
            };
            if code == local {
                out.push(Finding::ok(
                    AREA,
                    subject,
                    format!("the local currency ({code})"),
                ));
                continue;
            }
            match self.rate_on(code, today).await? {
                Some(rate) => out.push(Finding::ok(
                    AREA,
                    subject,
                    format!("foreign currency '{code}', SAP's rate on {today}: {rate} {local}"),
                )),
                None => out.push(fail(
                    subject,
                    format!("no exchange rate for {code} on {today}"),
                    "enter the day's rate (Administration > Exchange Rates and Indexes); SAP refuses foreign-currency documents without it, and the connector holds them",
                )),
            }
        }
        Ok(())
    }

    /// Posting periods for today and the week ahead (`CompanyService_GetFinancePeriods`): SAP
    /// refuses a document dated in a locked period ("Posting period locked; specify an alternative
    /// date") or outside every period.
    async fn doctor_periods(&self, out: &mut Vec<Finding>) -> anyhow::Result<()> {
        let request = sap_b1_client::Request::post("CompanyService_GetFinancePeriods")
            .json_body(r#"{"PeriodCategoryParams":{}}"#)
            .retry(sap_b1_client::Retry::Idempotent);
        let answer: Value = match self.sap.send_json(request).await {
            Ok(v) => v,
            Err(e) => {
                out.push(Finding::problem(
                    AREA,
                    Level::Warn,
                    "posting periods",
                    format!("not readable: {e}"),
                    "a Service Layer user allowed to read the posting periods, or check them by hand",
                ));
                return Ok(());
            }
        };
        let periods = answer["value"].as_array().cloned().unwrap_or_default();
        if periods.is_empty() {
            out.push(Finding::ok(
                AREA,
                "posting periods",
                "none defined: every date posts",
            ));
            return Ok(());
        }
        let day = |v: &Value| {
            v.as_str()
                .and_then(|s| s.get(..10))
                .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        };
        let today = Utc::now().date_naive();
        let mut problems = Vec::new();
        for d in (0..8).map(|n| today + chrono::Duration::days(n)) {
            let period = periods.iter().find(|p| {
                day(&p["PostingDateFrom"]).is_some_and(|f| f <= d)
                    && day(&p["PostingDateTo"]).is_some_and(|t| d <= t)
            });
            match period {
                None => problems.push(format!("no posting period covers {d}")),
                Some(p) => {
                    let status = p["PeriodStatus"].as_str().unwrap_or_default();
                    if matches!(status, "ltLocked" | "ltUnlockedExceptSales") {
                        problems.push(format!(
                            "period {} is {status} on {d}",
                            p["PeriodCode"].as_str().unwrap_or("?")
                        ));
                    }
                }
            }
        }
        problems.dedup();
        out.push(if problems.is_empty() {
            Finding::ok(AREA, "posting periods", format!("open from {today} for a week"))
        } else {
            fail(
                "posting periods",
                format!("{}: SAP refuses documents dated then", problems.join("; ")),
                "open the period (Administration > System Initialization > Posting Periods) before the first sync",
            )
        });
        Ok(())
    }

    async fn doctor_masters(&self, out: &mut Vec<Finding>) -> anyhow::Result<()> {
        let cfg = &self.config;
        // Every account of the settlement mapping takes manual journal lines.
        let table = self.posting_table().await?;
        for (symbol, code) in &table.accounts {
            let subject = format!("account {symbol} ({code})");
            // `AmazonClearing.EUR`: the account for settlements in that currency.
            let currency = match symbol.rsplit_once('.') {
                Some((_, iso)) => self.sap_currency(iso).await?,
                None => None,
            };
            out.push(
                match self
                    .check_account_in(code, symbol, currency.as_deref())
                    .await?
                {
                    None => Finding::ok(AREA, subject, "postable"),
                    Some(p) => fail(
                        subject,
                        p.to_string(),
                        "the settlement mapping's [accounts], or the account in SAP",
                    ),
                },
            );
        }
        // Customers and tax codes per marketplace.
        let tax_set = match cfg.orders.tax_field {
            TaxField::VatGroup => "VatGroups",
            TaxField::TaxCode => "SalesTaxCodes",
        };
        let taxes: EntitySet<Value> = EntitySet::new(self.sap.clone(), tax_set);
        let local = self.company().await?.and_then(|c| c.local_currency);
        for (id, m) in &cfg.marketplaces {
            let subject = format!("customer {} ({id})", m.customer);
            let mut bp_currency = None;
            out.push(match self.check_customer(&m.customer).await? {
                Some(p) => fail(
                    subject,
                    p.to_string(),
                    format!("[marketplaces.{id}] customer, or the business partner in SAP"),
                ),
                None => {
                    let bp: Option<BusinessPartner> = self
                        .sap
                        .business_partners()
                        .first(&Query::new().filter(prop("CardCode").eq(m.customer.as_str())))
                        .await?;
                    bp_currency = bp.and_then(|b| b.currency);
                    let currency = bp_currency.clone().unwrap_or_default();
                    Finding::ok(AREA, subject, format!("active, currency {currency}"))
                }
            });
            if let Some(f) =
                freight_row_finding(cfg, id, m, bp_currency.as_deref(), local.as_deref())
            {
                out.push(f);
            }
            let codes: BTreeSet<&String> = m
                .tax_code
                .iter()
                .chain(m.tax_codes.values())
                .chain(m.facilitated_tax_code.iter())
                .collect();
            for code in codes {
                let subject = format!("tax code {code} ({id})");
                let found = taxes
                    .first(&Query::new().filter(prop("Code").eq(code.as_str())))
                    .await?;
                out.push(match found {
                    None => fail(
                        subject,
                        format!("not in {tax_set}"),
                        format!("[marketplaces.{id}] tax_code, or orders.tax_field"),
                    ),
                    Some(t) if t.get("Inactive").and_then(Value::as_str) == Some("tYES") => fail(
                        subject,
                        format!("inactive in {tax_set}"),
                        "activate it in SAP or pick another code",
                    ),
                    Some(_) => Finding::ok(AREA, subject, format!("in {tax_set}")),
                });
            }
        }
        // Warehouses and price lists the flows name.
        // Each warehouse once, with every key that names it (an invoice line's warehouse per
        // fulfilment channel included).
        let mut warehouses: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for w in &cfg.items.warehouses {
            warehouses
                .entry(w.as_str())
                .or_default()
                .push("items.warehouses");
        }
        for (key, w) in cfg.orders.warehouses() {
            warehouses.entry(w).or_default().push(key);
        }
        for (w, keys) in warehouses {
            let found = self
                .sap
                .warehouses()
                .first(&Query::new().filter(prop("WarehouseCode").eq(w)))
                .await?;
            out.push(match found {
                Some(_) => Finding::ok(AREA, format!("warehouse {w}"), "exists"),
                None => fail(format!("warehouse {w}"), "does not exist", keys.join(" / ")),
            });
        }
        for (marketplace, list) in &cfg.items.price_lists {
            let subject = format!("price list {} ({marketplace})", list.price_list);
            let found = self
                .sap
                .price_lists()
                .first(&Query::new().filter(prop("PriceListNo").eq(i64::from(list.price_list))))
                .await?;
            out.push(match found {
                Some(_) => Finding::ok(AREA, subject, "exists"),
                None => fail(
                    subject,
                    "does not exist",
                    format!("[items.price_lists.{marketplace}]"),
                ),
            });
        }
        self.doctor_keys(out).await
    }

    async fn doctor_keys(&self, out: &mut Vec<Finding>) -> anyhow::Result<()> {
        let cfg = &self.config;
        match self.key_table().await? {
            Some(t) => out.push(Finding::ok(AREA, "key table", format!("{} present: SAP refuses a second copy of any document", t.entity_set()))),
            None => out.push(Finding::problem(
                AREA,
                Level::Warn,
                "key table",
                match &cfg.sap.key_table {
                    Some(name) => format!("U_{name} is not visible to the Service Layer"),
                    None => "sap.key_table is off".to_owned(),
                },
                "run `ml-connector setup` and restart the Service Layer; until then exactly-once depends on this being the only connector writing to this company",
            )),
        }
        let Some(udf) = &cfg.sap.key_udf else {
            return Ok(());
        };
        let name = udf.strip_prefix("U_").unwrap_or(udf);
        let needed = invoice_key(&cfg.amazon.seller_id, "000-0000000-0000000").len();
        let fields: Vec<UserFieldMD> = self
            .sap
            .entity_set::<UserFieldMD>()
            .stream(&Query::new().filter(prop("TableName").eq("OINV").and(prop("Name").eq(name))))
            .try_collect()
            .await?;
        let subject = format!("key UDF {udf} on A/R invoices");
        out.push(match fields.first() {
            None => fail(
                subject,
                "not defined on OINV: SAP refuses every invoice that carries it",
                format!("create an alphanumeric user-defined field {name} of size {needed} or more on Marketing Documents (OINV), restart the Service Layer; or remove sap.key_udf"),
            ),
            Some(f) if f.size.is_some_and(|s| usize::try_from(s).unwrap_or(0) < needed) => fail(
                subject,
                format!("size {} holds fewer than the {needed} characters of our keys: SAP refuses longer values", f.size.unwrap_or(0)),
                format!("enlarge {name} to {needed} or more"),
            ),
            Some(_) => Finding::ok(AREA, subject, "defined, large enough"),
        });
        Ok(())
    }
}

/// A warning where invoices of a marketplace carry shipping as a freight row (`orders.shipping =
/// "expense"`) that cannot equal what Amazon charged: a freight row is net and in local currency
/// (SDK DocumentsAdditionalExpenses: `LineTotal` "in local currency"; `LineTotalFC`,
/// `LineGrossFC` read-only), so SAP's own rounded tax, or its conversion back into the invoice's
/// currency, leaves the invoice a cent or a few off the receipt.
fn freight_row_finding(
    cfg: &crate::config::Config,
    id: &str,
    m: &crate::config::MarketplaceMapping,
    currency: Option<&str>,
    local: Option<&str>,
) -> Option<Finding> {
    if !matches!(cfg.orders.shipping, crate::config::Shipping::Expense(_)) {
        return None;
    }
    // "##": all currencies (the customer's documents can be in any).
    let foreign = match (currency, local) {
        (Some(c), Some(l)) => !c.eq_ignore_ascii_case(l),
        _ => false,
    };
    let why = match (m.prices_include_tax, foreign) {
        (false, false) => return None,
        (true, _) => {
            "its prices include VAT, and SAP adds its own rounded VAT to a freight row's net"
        }
        (false, true) => {
            "its invoices are in a foreign currency, and a freight row is in local currency"
        }
    };
    Some(Finding::problem(
        AREA,
        Level::Warn,
        format!("shipping ({id})"),
        format!(
            "orders.shipping = \"expense\": {why}, so an invoice can be a cent or a few off what Amazon charged (left open or written off)"
        ),
        "orders.shipping = \"item-line\" with orders.shipping_item (a sales item without stock): the line carries the exact amount",
    ))
}
