//! Settlements -> incoming payments + journal entries that tie out to the deposit.
//!
//! Each closed settlement report is downloaded, kept (hashed) in the ledger, mapped by
//! `settlement-mapper`, checked against SAP (every account exists and is postable, every SKU maps to
//! an item, every paid order has its invoice), and posted as one `$batch` changeset — or, above
//! `max_documents_per_batch`, as several parts, each atomic, each with its own ledger key, resumed
//! at the first part not posted. Every document carries a reference (`MLC{settlement}-{part}`) by
//! which a part is looked up before it is ever sent again.

pub mod plan;
pub mod report;

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use futures::TryStreamExt;
use rust_decimal::Decimal;
use sap_b1_client::entities::Document;
use sap_b1_client::query::prop;
use sap_b1_client::{Batch, ChangeSet, Error as SapError, Query};
use serde::Serialize;
use serde_json::{Value, json};
use settlement_mapper::mapping::MappingTable;
use settlement_mapper::postings::SettlementPostings;
use settlement_mapper::{SettlementReader, map_settlement};
use tracing::{info, warn};

use self::plan::{Application, InvoiceInfo, PlanInput, plan_documents};
use super::{Attempt, Engine, PostOutcome, Problem};
use crate::ledger::{DocFilter, DocState, Ledger, Planned};

/// Flow name in the ledger.
pub const FLOW: &str = "settlements";
/// Source kind of a settlement flat file in the ledger.
pub const SOURCE_KIND: &str = "settlement_report";

/// Ledger key of a settlement.
pub fn settlement_key(seller: &str, id: &str) -> String {
    format!("amz:{seller}:settlement:{id}")
}

/// Ledger key of one posting part of a settlement.
pub fn part_key(seller: &str, id: &str, part: usize) -> String {
    format!("amz:{seller}:settlement:{id}:part:{part}")
}

/// The reference every document of a part carries (short: SAP's TransferReference holds 27).
pub fn part_reference(id: &str, part: usize) -> String {
    format!("MLC{id}-{part}")
}

/// Options of a settlements sync.
#[derive(Debug, Clone, Default)]
pub struct SettlementOptions {
    /// Map and check, post nothing.
    pub dry_run: bool,
}

/// One settlement's outcome in a run.
#[derive(Debug, Clone, Serialize)]
pub struct SettlementOutcome {
    /// Settlement id.
    pub settlement_id: String,
    /// Currency.
    pub currency: String,
    /// End of the settlement period.
    pub end: chrono::DateTime<Utc>,
    /// The deposit (total-amount).
    pub total_amount: Decimal,
    /// `posted`, `already-posted`, `held`, `failed`, `partly-posted`, `would-post`.
    pub state: String,
    /// Rows sum to the total and clearing nets to zero after the deposit.
    pub tied_out: bool,
    /// Documents in SAP for it (payments + journal entries).
    pub documents: usize,
    /// Why it is held or failed.
    pub reasons: Vec<String>,
    /// Per order: receipt vs invoice.
    pub applications: Vec<Application>,
    /// Partial and over-payments, amounts on account.
    pub notes: Vec<String>,
}

/// What a settlements run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SettlementsReport {
    /// Settlement reports Amazon listed.
    pub reports_listed: u64,
    /// Distinct settlements read.
    pub settlements_seen: u64,
    /// Settlements whose last part was posted in this run.
    pub settlements_posted: u64,
    /// Settlements posted by an earlier run.
    pub already_posted: u64,
    /// Posted settlements (this run) that tie out.
    pub settlements_tied_out: u64,
    /// Parts posted in this run.
    pub parts_posted: u64,
    /// Parts found in SAP by their reference instead of being sent again.
    pub parts_found_in_sap: u64,
    /// Held settlements and why.
    pub held: Vec<Problem>,
    /// Failed parts or unreadable files.
    pub failed: Vec<Problem>,
    /// Parts whose outcome is unknown.
    pub unknown: Vec<Problem>,
    /// Per settlement.
    pub settlements: Vec<SettlementOutcome>,
    /// Closed Finances periods with no settlement report (Amazon's gap, or not published yet).
    pub gaps: Vec<String>,
}

impl SettlementsReport {
    /// Whether anything needs a person.
    pub fn needs_attention(&self) -> bool {
        !self.held.is_empty() || !self.failed.is_empty() || !self.unknown.is_empty()
    }
}

/// A checked settlement: the mapper's postings, and the SAP documents or what holds them.
pub struct CheckedSettlement {
    /// Mapper output.
    pub postings: SettlementPostings,
    /// Documents, or every reason it cannot be posted.
    pub plan: Result<plan::SettlementPlan, Vec<String>>,
}

/// Marketplace ids and the names settlement files give them.
const MARKETPLACE_NAMES: &[(&str, &str)] = &[
    ("ATVPDKIKX0DER", "amazon.com"),
    ("A2EUQ1WTGCTBG2", "amazon.ca"),
    ("A1AM78C64UM0Y8", "amazon.com.mx"),
    ("A2Q3Y263D00KWC", "amazon.com.br"),
    ("A1PA6795UKMFR9", "amazon.de"),
    ("A13V1IB3VIYZZH", "amazon.fr"),
    ("A1F83G8C2ARO7P", "amazon.co.uk"),
    ("APJ6JRA9NG5V4", "amazon.it"),
    ("A1RKKUPIHCS9HS", "amazon.es"),
    ("A1805IZSGTT6HS", "amazon.nl"),
    ("A2NODRKZP88ZB9", "amazon.se"),
    ("A1C3SOZRARQ6R3", "amazon.pl"),
    ("AMEN7PMS3EDWL", "amazon.com.be"),
    ("A33AVAJ2PDY3EV", "amazon.com.tr"),
    ("A21TJRUUN4KGV", "amazon.in"),
    ("A1VC38T7YXB528", "amazon.co.jp"),
    ("A39IBJ37TRP1C6", "amazon.com.au"),
    ("A19VAU5U5O7RUS", "amazon.sg"),
    ("A2VIGQ35RCS4UG", "amazon.ae"),
    ("A17E79C6D8DWNP", "amazon.sa"),
];

impl Engine {
    /// The settlement mapping table: the configured file (extending the defaults) or the defaults.
    pub fn settlement_table(&self) -> Result<MappingTable> {
        match &self.config.settlements.mapping {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("settlement mapping {}", path.display()))?;
                MappingTable::from_toml(&text)
                    .with_context(|| format!("settlement mapping {}", path.display()))
            }
            None => Ok(MappingTable::default_table()),
        }
    }

    /// Lists closed settlement reports, and posts every settlement not posted yet.
    pub async fn sync_settlements(&self, options: &SettlementOptions) -> Result<SettlementsReport> {
        let mut report = SettlementsReport::default();
        self.sap.connect().await.context("SAP login")?;
        if !options.dry_run {
            self.recover_parts(&mut report).await?;
        }
        let since = Utc::now() - Duration::from_std(self.config.settlements.lookback)?;
        let reports: Vec<_> = self
            .amazon
            .settlement_reports_since(since)
            .try_collect()
            .await
            .context("Amazon getReports (settlements)")?;
        report.reports_listed = reports.len() as u64;
        // Amazon publishes overlapping reports: one settlement is handled once per run.
        let mut seen = BTreeSet::new();
        for r in reports {
            if self.stopping() {
                break;
            }
            let doc = self
                .amazon
                .download_report(&r, encoding_rs::WINDOWS_1252)
                .await
                .with_context(|| format!("downloading settlement report {}", r.report_id))?;
            let bytes = doc.text.into_bytes();
            let id = settlement_id_of(&bytes);
            if let Some(id) = &id
                && !seen.insert(id.clone())
            {
                continue;
            }
            self.process_settlement(
                &bytes,
                &format!("report {}", r.report_id),
                options.dry_run,
                &mut report,
            )
            .await?;
        }
        report.gaps = self.settlement_gaps(since, &report.settlements).await?;
        for gap in &report.gaps {
            warn!("{gap}");
        }
        Ok(report)
    }

    /// Closed financial event groups (Finances API) that no settlement report of the window matches
    /// (same currency and total, period end within a day).
    async fn settlement_gaps(
        &self,
        since: chrono::DateTime<Utc>,
        seen: &[SettlementOutcome],
    ) -> Result<Vec<String>> {
        let groups: Vec<_> = self
            .amazon
            .list_financial_event_groups(sp_api_client::finances::EventGroupQuery::started_after(
                since,
            ))
            .try_collect()
            .await
            .context("Amazon listFinancialEventGroups")?;
        Ok(unmatched_groups(&groups, seen))
    }

    /// Posts a settlement from a downloaded file through the same checks and ledger.
    pub async fn import_settlement(
        &self,
        bytes: &[u8],
        name: &str,
        options: &SettlementOptions,
    ) -> Result<SettlementsReport> {
        let mut report = SettlementsReport::default();
        self.sap.connect().await.context("SAP login")?;
        self.process_settlement(bytes, name, options.dry_run, &mut report)
            .await?;
        Ok(report)
    }

    /// Maps and checks a settlement against SAP without posting: the postings and every problem.
    pub async fn check_settlement(&self, bytes: &[u8], name: &str) -> Result<CheckedSettlement> {
        let table = self.settlement_table()?;
        let postings = map_settlement(bytes, &table).with_context(|| name.to_owned())?;
        self.sap.connect().await.context("SAP login")?;
        let plan = self
            .plan_settlement(&postings, bytes, &table, false)
            .await?;
        Ok(CheckedSettlement { postings, plan })
    }

    async fn process_settlement(
        &self,
        bytes: &[u8],
        name: &str,
        dry_run: bool,
        report: &mut SettlementsReport,
    ) -> Result<()> {
        let table = self.settlement_table()?;
        let postings = match map_settlement(bytes, &table) {
            Ok(p) => p,
            Err(e) => {
                report.failed.push(Problem {
                    key: name.to_owned(),
                    reason: format!("unreadable settlement: {e}"),
                });
                return Ok(());
            }
        };
        report.settlements_seen += 1;
        let id = postings.settlement_id.clone();
        let key = settlement_key(&self.config.amazon.seller_id, &id);
        let mut outcome = SettlementOutcome {
            settlement_id: id.clone(),
            currency: postings.currency.clone(),
            end: postings.end,
            total_amount: postings.total_amount,
            state: String::new(),
            tied_out: postings.ties_out && postings.clearing_balance_after_payout().is_zero(),
            documents: 0,
            reasons: Vec::new(),
            applications: Vec::new(),
            notes: Vec::new(),
        };
        let existing = self.ledger().get(&key)?;
        if existing
            .as_ref()
            .is_some_and(|r| r.state == DocState::Posted)
        {
            report.already_posted += 1;
            outcome.state = "already-posted".into();
            report.settlements.push(outcome);
            return Ok(());
        }
        let parts_planned = existing
            .as_ref()
            .is_some_and(|r| r.state == DocState::Planned);
        if !parts_planned {
            let checked = self
                .plan_settlement(&postings, bytes, &table, !dry_run)
                .await?;
            match checked {
                Err(reasons) => {
                    outcome.state = "held".into();
                    outcome.reasons.clone_from(&reasons);
                    let reason = reasons.join("; ");
                    if !dry_run {
                        let mut ledger = self.ledger();
                        let source = ledger.put_source(SOURCE_KIND, &id, bytes)?;
                        match ledger.plan(
                            &key,
                            FLOW,
                            "settlement",
                            Some(source),
                            "{}",
                            Some(&reason),
                        )? {
                            Planned::Existing(DocState::Held) => {
                                ledger.transition(&key, DocState::Held, &reason)?
                            }
                            Planned::Existing(DocState::Failed) => {
                                ledger.transition(&key, DocState::Planned, "re-checked")?;
                                ledger.transition(&key, DocState::Held, &reason)?;
                            }
                            _ => {}
                        }
                    }
                    report.held.push(Problem { key, reason });
                    report.settlements.push(outcome);
                    return Ok(());
                }
                Ok(plan) => {
                    outcome.applications.clone_from(&plan.applications);
                    outcome.notes.clone_from(&plan.notes);
                    let parts =
                        split_parts(&plan, &id, self.config.settlements.max_documents_per_batch);
                    outcome.documents = parts
                        .iter()
                        .map(|p| p["documents"].as_array().map_or(0, Vec::len))
                        .sum();
                    if dry_run {
                        outcome.state = "would-post".into();
                        report.settlements.push(outcome);
                        return Ok(());
                    }
                    let summary = json!({
                        "settlement_id": id,
                        "currency": postings.currency,
                        "total_amount": postings.total_amount,
                        "parts": parts.len(),
                        "documents": outcome.documents,
                        "applications": plan.applications,
                        "notes": plan.notes,
                    });
                    let mut ledger = self.ledger();
                    let source = ledger.put_source(SOURCE_KIND, &id, bytes)?;
                    if let Planned::Existing(DocState::Held | DocState::Failed) = ledger.plan(
                        &key,
                        FLOW,
                        "settlement",
                        Some(source),
                        &summary.to_string(),
                        None,
                    )? {
                        ledger.replan(&key, &summary.to_string(), Some(source))?;
                    }
                    for (n, part) in parts.iter().enumerate() {
                        let pk = part_key(&self.config.amazon.seller_id, &id, n + 1);
                        if let Planned::Existing(DocState::Failed) = ledger.plan(
                            &pk,
                            FLOW,
                            "settlement_part",
                            Some(source),
                            &part.to_string(),
                            None,
                        )? {
                            ledger.replan(&pk, &part.to_string(), Some(source))?;
                        }
                    }
                }
            }
        } else if dry_run {
            outcome.state = "partly-posted".into();
            report.settlements.push(outcome);
            return Ok(());
        }
        // Post the parts in order; stop at the first one that does not go in.
        let prefix = format!("{key}:part:");
        let mut parts = self.ledger().list(&DocFilter {
            key_contains: Some(prefix.clone()),
            flow: Some(FLOW.into()),
            ..DocFilter::default()
        })?;
        parts.retain(|p| p.key.starts_with(&prefix));
        parts.sort_by_key(|p| p.key[prefix.len()..].parse::<usize>().unwrap_or(usize::MAX));
        let mut all_posted = true;
        for part in &parts {
            if part.state == DocState::Posted {
                continue;
            }
            if self.stopping() {
                all_posted = false;
                break;
            }
            crate::failpoint::hit("settlement.between_parts");
            self.progress(|| {
                format!(
                    "settlement {id}: posting {}",
                    part.key.rsplit(':').take(2).collect::<Vec<_>>().join(" ")
                )
            });
            match self.post_part(&part.key).await? {
                PostOutcome::Posted { .. } => report.parts_posted += 1,
                PostOutcome::FoundExisting { .. } => report.parts_found_in_sap += 1,
                PostOutcome::Failed(reason) => {
                    report.failed.push(Problem {
                        key: part.key.clone(),
                        reason: reason.clone(),
                    });
                    outcome.reasons.push(reason);
                    all_posted = false;
                    break;
                }
                PostOutcome::Unknown(reason) => {
                    report.unknown.push(Problem {
                        key: part.key.clone(),
                        reason: reason.clone(),
                    });
                    outcome.reasons.push(reason);
                    all_posted = false;
                    break;
                }
            }
        }
        if all_posted {
            self.ledger().transition(
                &key,
                DocState::Posted,
                &format!("all {} part(s) posted", parts.len()),
            )?;
            report.settlements_posted += 1;
            if outcome.tied_out {
                report.settlements_tied_out += 1;
            }
            outcome.state = "posted".into();
            info!(settlement = %id, parts = parts.len(), "settlement posted");
        } else {
            outcome.state = "partly-posted".into();
        }
        report.settlements.push(outcome);
        Ok(())
    }

    /// Checks a mapped settlement against SAP and builds its documents (or the reasons not to).
    async fn plan_settlement(
        &self,
        postings: &SettlementPostings,
        bytes: &[u8],
        table: &MappingTable,
        create_missing: bool,
    ) -> Result<Result<plan::SettlementPlan, Vec<String>>> {
        let mut problems = Vec::new();
        // Accounts: every line's, plus clearing for the payments.
        let mut accounts = BTreeSet::new();
        accounts.insert((
            table
                .resolve(settlement_mapper::mapping::CLEARING)
                .to_owned(),
            settlement_mapper::mapping::CLEARING.to_owned(),
        ));
        for je in &postings.journal_entries {
            for l in &je.lines {
                accounts.insert((l.account.clone(), l.symbol.clone()));
            }
        }
        for (code, symbol) in &accounts {
            if let Err(p) = self.check_account(code, symbol).await? {
                problems.push(p);
            }
        }
        // SKUs of order and refund rows map to items that exist.
        for sku in skus_of(bytes) {
            if let Err(p) = self.check_item(self.config.item_code(&sku), &sku).await? {
                problems.push(p);
            }
        }
        let order_ids: Vec<String> = postings
            .receipts
            .iter()
            .filter(|r| !r.amount.is_zero())
            .map(|r| r.order_id.clone())
            .collect();
        let mut invoices = self.invoices_for(&order_ids).await?;
        if self.config.settlements.missing_invoice == crate::config::MissingInvoice::CreateInvoice {
            let missing: BTreeSet<String> = order_ids
                .iter()
                .filter(|id| !invoices.contains_key(*id))
                .cloned()
                .collect();
            if !missing.is_empty() {
                if create_missing {
                    problems.extend(
                        self.create_invoices_from_rows(postings, bytes, &missing)
                            .await?,
                    );
                    let created: Vec<String> = missing.into_iter().collect();
                    invoices.extend(self.invoices_for(&created).await?);
                } else {
                    problems.push(format!(
                        "{} order(s) have no invoice; posting creates them from the settlement's rows (settlements.missing_invoice = \"create-invoice\"): {}",
                        missing.len(),
                        missing.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        let customers: HashMap<String, String> = self
            .config
            .marketplaces
            .iter()
            .filter_map(|(id, m)| {
                MARKETPLACE_NAMES
                    .iter()
                    .find(|(mid, _)| mid == id)
                    .map(|(_, name)| ((*name).to_owned(), m.customer.clone()))
            })
            .collect();
        let plan = plan_documents(&PlanInput {
            postings,
            table,
            invoices: &invoices,
            customers: &customers,
            grouping: self.config.settlements.receipts,
            missing: self.config.settlements.missing_invoice,
        });
        Ok(match plan {
            Ok(plan) if problems.is_empty() => Ok(plan),
            Ok(_) => Err(problems),
            Err(mut reasons) => {
                reasons.extend(problems);
                Err(reasons)
            }
        })
    }

    /// Creates the missing invoices of a settlement's orders from its own rows (policy
    /// `create-invoice`), through the orders flow's exactly-once posting; returns what failed.
    async fn create_invoices_from_rows(
        &self,
        postings: &SettlementPostings,
        bytes: &[u8],
        missing: &BTreeSet<String>,
    ) -> Result<Vec<String>> {
        let mut rows: std::collections::BTreeMap<String, Vec<settlement_mapper::SettlementRow>> =
            Default::default();
        for row in SettlementReader::new(bytes)?.filter_map(Result::ok) {
            if row.transaction_type == "Order" && missing.contains(&row.order_id) {
                rows.entry(row.order_id.clone()).or_default().push(row);
            }
        }
        let mut problems = Vec::new();
        for (order_id, rows) in rows {
            let marketplace = rows
                .iter()
                .map(|r| r.marketplace_name.to_ascii_lowercase())
                .find(|m| !m.is_empty())
                .unwrap_or_default();
            let mapping = MARKETPLACE_NAMES
                .iter()
                .find(|(_, name)| *name == marketplace)
                .and_then(|(id, _)| self.config.marketplaces.get(*id));
            let Some(mapping) = mapping else {
                problems.push(format!("order {order_id} ({marketplace}) has no invoice and its marketplace has no customer in [marketplaces]"));
                continue;
            };
            let key = crate::flows::orders::invoice_key(&self.config.amazon.seller_id, &order_id);
            let doc =
                plan::invoice_from_rows(&self.config, mapping, &key, &order_id, &rows, postings);
            if let Err(reason) = self.check_masters(&doc).await? {
                problems.push(format!(
                    "order {order_id}: cannot create its invoice: {reason}"
                ));
                continue;
            }
            let payload = serde_json::to_string(&doc)?;
            {
                let mut ledger = self.ledger();
                let source = ledger.put_source(SOURCE_KIND, &postings.settlement_id, bytes)?;
                let planned = ledger.plan(
                    &key,
                    crate::flows::orders::FLOW,
                    "invoice",
                    Some(source),
                    &payload,
                    None,
                )?;
                if let Planned::Existing(DocState::Held | DocState::Failed) = planned {
                    ledger.replan(&key, &payload, Some(source))?;
                }
            }
            match self.post_invoice(&key).await? {
                PostOutcome::Posted { .. } | PostOutcome::FoundExisting { .. } => {
                    info!(order = %order_id, settlement = %postings.settlement_id, "invoice created from the settlement");
                }
                PostOutcome::Failed(reason) | PostOutcome::Unknown(reason) => {
                    problems.push(format!(
                        "order {order_id}: its invoice could not be created: {reason}"
                    ));
                }
            }
        }
        Ok(problems)
    }

    /// Invoices in SAP for these Amazon order ids (by NumAtCard), with their open amounts.
    async fn invoices_for(&self, order_ids: &[String]) -> Result<HashMap<String, InvoiceInfo>> {
        let mut found = HashMap::new();
        for chunk in order_ids.chunks(20) {
            let Some(filter) = chunk
                .iter()
                .map(|id| prop("NumAtCard").eq(id.as_str()))
                .reduce(|a, b| a.or(b))
            else {
                continue;
            };
            let query = Query::new()
                .filter(filter)
                .select([
                    "DocEntry",
                    "DocNum",
                    "CardCode",
                    "NumAtCard",
                    "DocTotal",
                    "PaidToDate",
                    "Cancelled",
                ])
                .page_size(100);
            let docs: Vec<Document> = self.sap.invoices().stream(&query).try_collect().await?;
            for d in docs {
                if d.cancelled == Some(sap_b1_client::entities::YesNo::Yes) {
                    continue;
                }
                let (Some(order), Some(entry)) = (d.num_at_card.clone(), d.doc_entry) else {
                    continue;
                };
                let total = d.doc_total.unwrap_or_default();
                let paid = d
                    .extra
                    .get("PaidToDate")
                    .and_then(decimal_of)
                    .unwrap_or_default();
                found.insert(
                    order,
                    InvoiceInfo {
                        doc_entry: entry.0,
                        doc_num: d.doc_num,
                        card_code: d.card_code.unwrap_or_default(),
                        total,
                        open: total - paid,
                    },
                );
            }
        }
        Ok(found)
    }

    /// Resolves parts left SENDING / UNKNOWN by an earlier run.
    async fn recover_parts(&self, report: &mut SettlementsReport) -> Result<()> {
        for state in [DocState::Sending, DocState::Unknown] {
            let filter = DocFilter {
                state: Some(state),
                flow: Some(FLOW.to_owned()),
                ..DocFilter::default()
            };
            let docs = self.ledger().list(&filter)?;
            for doc in docs {
                match self.post_part(&doc.key).await? {
                    PostOutcome::Posted { .. } => report.parts_posted += 1,
                    PostOutcome::FoundExisting { .. } => report.parts_found_in_sap += 1,
                    PostOutcome::Failed(reason) => report.failed.push(Problem {
                        key: doc.key.clone(),
                        reason,
                    }),
                    PostOutcome::Unknown(reason) => report.unknown.push(Problem {
                        key: doc.key.clone(),
                        reason,
                    }),
                }
            }
        }
        Ok(())
    }

    /// Posts one part as one atomic changeset, exactly once.
    pub async fn post_part(&self, key: &str) -> Result<PostOutcome> {
        self.post_with_session_retry(key, || self.post_part_once(key))
            .await
    }

    async fn post_part_once(&self, key: &str) -> Result<Attempt> {
        let record = self
            .ledger()
            .get(key)?
            .ok_or_else(|| anyhow::anyhow!("no document with key `{key}` in the ledger"))?;
        let part: Value = serde_json::from_str(&record.payload)?;
        let reference = part["reference"].as_str().unwrap_or_default().to_owned();
        let documents = part["documents"].as_array().cloned().unwrap_or_default();
        let found = self.find_part(&reference).await?;
        if !found.is_empty() {
            let detail = format!(
                "found in SAP by reference {reference}: {}; not sent again",
                describe(&found)
            );
            self.record_found(key, record.state, found[0].1, None, &detail)?;
            return Ok(Attempt::Done(PostOutcome::FoundExisting {
                doc_entry: found[0].1,
                doc_num: None,
            }));
        }
        let mut changeset = ChangeSet::new();
        for d in &documents {
            changeset = changeset.post(d["set"].as_str().unwrap_or_default(), &d["body"])?;
        }
        let detail = json!({"request": "POST $batch (one changeset)", "reference": reference, "documents": documents.len()});
        self.record_sending(key, record.state, &detail.to_string())?;
        match self.sap.batch(&Batch::new().changeset(changeset)).await {
            Ok(resp) => {
                if let Some(err) = resp.first_error() {
                    if let SapError::Session(e) = &err {
                        return Ok(Attempt::NotExecuted(e.to_string()));
                    }
                    // SAP rolled the whole changeset back.
                    let reason =
                        format!("SAP refused part {reference} (nothing of it was posted): {err}");
                    self.ledger().transition(key, DocState::Failed, &reason)?;
                    warn!(key, %reason, "settlement part failed");
                    return Ok(Attempt::Done(PostOutcome::Failed(reason)));
                }
                let created: Vec<(String, i64)> = resp
                    .parts()
                    .zip(&documents)
                    .map(|(p, d)| {
                        let set = d["set"].as_str().unwrap_or_default().to_owned();
                        let entry = p
                            .json::<Value>()
                            .ok()
                            .and_then(|v| {
                                v.get("DocEntry")
                                    .or_else(|| v.get("JdtNum"))
                                    .and_then(Value::as_i64)
                            })
                            .or_else(|| {
                                p.location_key().and_then(|k| {
                                    k.to_path_segment()
                                        .trim_matches(|c| c == '(' || c == ')')
                                        .parse()
                                        .ok()
                                })
                            })
                            .unwrap_or_default();
                        (set, entry)
                    })
                    .collect();
                let first = created.first().map_or(0, |c| c.1);
                self.ledger().mark_posted(
                    key,
                    first,
                    None,
                    &format!("posted {}", describe(&created)),
                )?;
                Ok(Attempt::Done(PostOutcome::Posted {
                    doc_entry: first,
                    doc_num: None,
                }))
            }
            Err(SapError::Session(e)) => Ok(Attempt::NotExecuted(e.to_string())),
            Err(e) => {
                let reason = format!("outcome unknown: {e}");
                self.ledger().transition(key, DocState::Unknown, &reason)?;
                warn!(key, %reason, "settlement part outcome unknown");
                Ok(Attempt::Done(PostOutcome::Unknown(reason)))
            }
        }
    }

    /// Documents in SAP that carry a part's reference: (entity set, key).
    async fn find_part(&self, reference: &str) -> Result<Vec<(String, i64)>> {
        let mut found = Vec::new();
        let q = Query::new()
            .filter(prop("TransferReference").eq(reference))
            .select(["DocEntry"]);
        for p in self
            .sap
            .incoming_payments()
            .stream(&q)
            .try_collect::<Vec<_>>()
            .await?
        {
            if let Some(e) = p.doc_entry {
                found.push(("IncomingPayments".to_owned(), i64::from(e.0)));
            }
        }
        let q = Query::new()
            .filter(prop("Reference2").eq(reference))
            .select(["JdtNum"]);
        for j in self
            .sap
            .journal_entries()
            .stream(&q)
            .try_collect::<Vec<_>>()
            .await?
        {
            if let Some(n) = j.jdt_num {
                found.push(("JournalEntries".to_owned(), i64::from(n)));
            }
        }
        Ok(found)
    }
}

/// Closed financial event groups that no seen settlement matches (currency, total, end within a day).
fn unmatched_groups(
    groups: &[sp_api_client::finances::FinancialEventGroup],
    seen: &[SettlementOutcome],
) -> Vec<String> {
    let mut gaps = Vec::new();
    for g in groups {
        if g.processing_status.as_deref() != Some("Closed") {
            continue;
        }
        let (Some(end), Some(total)) = (g.financial_event_group_end, g.original_total.as_ref())
        else {
            continue;
        };
        let matched = seen.iter().any(|s| {
            s.currency == total.currency_code
                && s.total_amount == total.amount
                && (s.end - end).num_hours().abs() <= 24
        });
        if !matched {
            gaps.push(format!(
                "financial event group {} ({} to {}, {} {}) is closed but no settlement report matches it: Amazon may not have published it yet; check Seller Central's statements",
                g.financial_event_group_id,
                g.financial_event_group_start.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                end.format("%Y-%m-%d"),
                total.amount,
                total.currency_code
            ));
        }
    }
    gaps
}

/// Splits a settlement's documents into parts of at most `max` documents, each with its reference.
fn split_parts(plan: &plan::SettlementPlan, id: &str, max: usize) -> Vec<Value> {
    let mut docs: Vec<(&str, Value)> = Vec::new();
    for p in &plan.payments {
        docs.push((
            "IncomingPayments",
            serde_json::to_value(p).unwrap_or_default(),
        ));
    }
    for j in &plan.journal_entries {
        docs.push((
            "JournalEntries",
            serde_json::to_value(j).unwrap_or_default(),
        ));
    }
    docs.chunks(max.max(1))
        .enumerate()
        .map(|(n, chunk)| {
            let reference = part_reference(id, n + 1);
            let documents: Vec<Value> = chunk
                .iter()
                .map(|(set, body)| {
                    let mut body = body.clone();
                    let field = if *set == "IncomingPayments" {
                        "TransferReference"
                    } else {
                        "Reference2"
                    };
                    body[field] = Value::String(reference.clone());
                    json!({"set": set, "body": body})
                })
                .collect();
            json!({"reference": reference, "documents": documents})
        })
        .collect()
}

fn describe(docs: &[(String, i64)]) -> String {
    docs.iter()
        .map(|(set, e)| format!("{set}({e})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn decimal_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The settlement id of a file, from its summary row.
fn settlement_id_of(bytes: &[u8]) -> Option<String> {
    SettlementReader::new(bytes)
        .ok()
        .map(|r| r.summary().settlement_id.clone())
}

/// Distinct SKUs of the file's order and refund rows.
fn skus_of(bytes: &[u8]) -> BTreeSet<String> {
    let Ok(reader) = SettlementReader::new(bytes) else {
        return BTreeSet::new();
    };
    reader
        .filter_map(Result::ok)
        .filter(|r| matches!(r.transaction_type.as_str(), "Order" | "Refund") && !r.sku.is_empty())
        .map(|r| r.sku)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outcome(total: &str, end: &str) -> SettlementOutcome {
        SettlementOutcome {
            settlement_id: "1".into(),
            currency: "EUR".into(),
            end: chrono::DateTime::parse_from_rfc3339(end).unwrap().to_utc(),
            total_amount: total.parse().unwrap(),
            state: "posted".into(),
            tied_out: true,
            documents: 3,
            reasons: vec![],
            applications: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn closed_groups_without_a_settlement_are_gaps() {
        let groups: Vec<sp_api_client::finances::FinancialEventGroup> = serde_json::from_value(json!([
            {"FinancialEventGroupId": "G1", "ProcessingStatus": "Closed", "OriginalTotal": {"CurrencyCode": "EUR", "CurrencyAmount": 128.84},
             "FinancialEventGroupStart": "2024-09-13T08:59:52Z", "FinancialEventGroupEnd": "2024-09-27T08:59:52Z"},
            {"FinancialEventGroupId": "G2", "ProcessingStatus": "Closed", "OriginalTotal": {"CurrencyCode": "EUR", "CurrencyAmount": 99.00},
             "FinancialEventGroupStart": "2024-09-27T08:59:52Z", "FinancialEventGroupEnd": "2024-10-11T08:59:52Z"},
            {"FinancialEventGroupId": "G3", "ProcessingStatus": "Open", "OriginalTotal": {"CurrencyCode": "EUR", "CurrencyAmount": 5.00},
             "FinancialEventGroupStart": "2024-10-11T08:59:52Z"}
        ]))
        .unwrap();
        let seen = [outcome("128.84", "2024-09-27T08:59:52Z")];
        let gaps = unmatched_groups(&groups, &seen);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(
            gaps[0].starts_with("financial event group G2 (2024-09-27 to 2024-10-11, 99"),
            "{}",
            gaps[0]
        );
    }

    #[test]
    fn parts_carry_their_reference_and_respect_the_size() {
        let plan = plan::SettlementPlan {
            payments: vec![Default::default(), Default::default(), Default::default()],
            journal_entries: vec![Default::default(), Default::default()],
            ..Default::default()
        };
        let parts = split_parts(&plan, "24001234567", 2);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0]["reference"], "MLC24001234567-1");
        assert_eq!(parts[1]["documents"][1]["set"], "JournalEntries");
        assert_eq!(
            parts[1]["documents"][0]["body"]["TransferReference"],
            "MLC24001234567-2"
        );
        assert_eq!(
            parts[2]["documents"][0]["body"]["Reference2"],
            "MLC24001234567-3"
        );
        assert!(
            part_reference("24001234567", 12).len() <= 27,
            "fits SAP's TransferReference"
        );
    }
}
