//! Checks of SAP master data a document refers to (customers, items, G/L accounts), cached for one
//! run. A problem is typed, so a flow can hold the record with a reason a person can act on.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use anyhow::Result;
use sap_b1_client::Error as SapError;
use sap_b1_client::Query;
use sap_b1_client::entities::{AdminInfo, ChartOfAccount, SapDate, YesNo};
use sap_b1_client::query::prop;

use crate::flows::Engine;

/// The SAP company lacks something the configuration needs (a UDF, a table): no document can
/// be posted until it is set up. The command exits with the configuration exit code.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SapSetupError(pub String);

/// What is wrong with a G/L account the mapping names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountProblem {
    /// No account has this code (internal or display).
    Missing,
    /// A title account (not postable).
    Title,
    /// Frozen today, or outside its valid range.
    Inactive,
    /// A control account (`LockManualTransaction`): manual journal entries may not post to it.
    Control,
    /// Manual postings blocked (`BlockManualPosting`).
    ManualBlocked,
    /// A reconciliation account (`ReconciledAccount`, e.g. a tax account).
    Reconciliation,
    /// A fixed-currency account in another currency than the lines posted to it.
    Currency {
        /// The account's currency.
        account: String,
        /// The currency of the lines (the company's, or a foreign settlement's).
        local: String,
    },
    /// The code is a display code (`FormatCode`); SAP posts by the internal code.
    DisplayCode {
        /// The account's internal code.
        internal: String,
    },
}

/// Why a master record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterProblem {
    /// The customer does not exist.
    CustomerMissing {
        /// CardCode.
        card_code: String,
    },
    /// The customer is frozen or not valid.
    CustomerInactive {
        /// CardCode.
        card_code: String,
    },
    /// The item does not exist.
    ItemMissing {
        /// ItemCode.
        item_code: String,
        /// The Amazon SKU it was mapped from.
        sku: String,
    },
    /// The item exists but is not a sales item.
    ItemNotSold {
        /// ItemCode.
        item_code: String,
        /// The Amazon SKU it was mapped from.
        sku: String,
    },
    /// The item is frozen or not valid.
    ItemInactive {
        /// ItemCode.
        item_code: String,
        /// The Amazon SKU it was mapped from.
        sku: String,
    },
    /// The item the connector puts on shipping lines (`orders.shipping_item`) cannot be used: it
    /// is not an Amazon SKU, so `[sku_map]` is not the fix.
    ShippingItem {
        /// ItemCode.
        item_code: String,
        /// What is wrong with it ("does not exist", "is not a sales item", "is inactive (frozen)").
        reason: &'static str,
    },
    /// The promotion item (`orders.promotion_item`) cannot be used on an invoice.
    PromotionItem {
        /// ItemCode.
        item_code: String,
        /// What is wrong with it, as for the shipping item.
        reason: &'static str,
    },
    /// A G/L account of the mapping cannot take the journal lines the connector posts.
    Account {
        /// Account code as the mapping names it.
        code: String,
        /// The mapping's symbolic name for it.
        symbol: String,
        /// What is wrong with it.
        kind: AccountProblem,
    },
}

fn sku_note(item_code: &str, sku: &str) -> String {
    if item_code == sku {
        String::new()
    } else {
        format!(" (Amazon SKU {sku})")
    }
}

fn symbol_note(code: &str, symbol: &str) -> String {
    if code == symbol {
        String::new()
    } else {
        format!(" ({symbol})")
    }
}

impl MasterProblem {
    /// The same problem found on an order's shipping line (`orders.shipping_item`), not on an
    /// Amazon SKU; other problems are returned as they are.
    pub fn on_shipping_line(self) -> Self {
        let (item_code, reason) = match self {
            Self::ItemMissing { item_code, .. } => (item_code, "does not exist"),
            Self::ItemNotSold { item_code, .. } => (item_code, "is not a sales item"),
            Self::ItemInactive { item_code, .. } => (item_code, "is inactive (frozen)"),
            other => return other,
        };
        Self::ShippingItem { item_code, reason }
    }

    /// The same problem, found on a promotion line (its item is `orders.promotion_item`).
    pub fn on_promotion_line(self) -> Self {
        match self.on_shipping_line() {
            Self::ShippingItem { item_code, reason } => Self::PromotionItem { item_code, reason },
            other => other,
        }
    }
}

impl fmt::Display for MasterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CustomerMissing { card_code } => write!(
                f,
                "customer {card_code} does not exist in SAP: create it or fix [marketplaces] in the config"
            ),
            Self::CustomerInactive { card_code } => {
                write!(f, "customer {card_code} is inactive (frozen) in SAP")
            }
            Self::ItemMissing { item_code, sku } => write!(
                f,
                "item {item_code}{} does not exist in SAP: map the SKU to an ItemCode in [sku_map]",
                sku_note(item_code, sku)
            ),
            Self::ItemNotSold { item_code, sku } => write!(
                f,
                "item {item_code}{} is not a sales item in SAP",
                sku_note(item_code, sku)
            ),
            Self::ItemInactive { item_code, sku } => write!(
                f,
                "item {item_code}{} is inactive (frozen) in SAP",
                sku_note(item_code, sku)
            ),
            Self::ShippingItem { item_code, reason } => write!(
                f,
                "shipping item {item_code} (orders.shipping_item) {reason} in SAP: create it as a sales item, name another with orders.shipping_item, or set orders.shipping = \"expense\" with orders.shipping_expense_code"
            ),
            Self::PromotionItem { item_code, reason } => write!(
                f,
                "promotion item {item_code} (orders.promotion_item) {reason} in SAP: create it as a sales item without stock, name another with orders.promotion_item, or remove orders.promotion_item"
            ),
            Self::Account { code, symbol, kind } => {
                let name = format!("G/L account {code}{}", symbol_note(code, symbol));
                match kind {
                    AccountProblem::Missing => write!(
                        f,
                        "{name} does not exist in SAP: map {symbol} to a G/L code in the settlement mapping's [accounts]"
                    ),
                    AccountProblem::Title => write!(
                        f,
                        "{name} is a title account: map {symbol} to a postable account"
                    ),
                    AccountProblem::Inactive => write!(f, "{name} is inactive in SAP"),
                    AccountProblem::Control => write!(
                        f,
                        "{name} is a control account (LockManualTransaction): manual journal entries cannot post to it; map {symbol} to another account"
                    ),
                    AccountProblem::ManualBlocked => write!(
                        f,
                        "{name} blocks manual postings (BlockManualPosting): map {symbol} to another account"
                    ),
                    AccountProblem::Reconciliation => write!(
                        f,
                        "{name} is a reconciliation account (ReconciledAccount) and cannot be posted manually: map {symbol} to another account"
                    ),
                    AccountProblem::Currency { account, local } => write!(
                        f,
                        "{name} only takes {account}, the lines posted to it are in {local}: map {symbol} (or \"{symbol}.<ISO currency>\" for a settlement currency) to an account in {local} or all currencies (##)"
                    ),
                    AccountProblem::DisplayCode { internal } => write!(
                        f,
                        "{name} is a display code; SAP posts by the internal code {internal}: map {symbol} to \"{internal}\""
                    ),
                }
            }
        }
    }
}

/// Joins problems into one hold reason.
pub fn hold_reason(problems: &[MasterProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

type Cache = Mutex<HashMap<String, Option<MasterProblem>>>;

/// Cached checks of SAP master data (customers, items, accounts) for one run.
#[derive(Debug, Default)]
pub struct MasterChecks {
    customers: Cache,
    items: Cache,
    accounts: Cache,
    company: tokio::sync::OnceCell<Option<AdminInfo>>,
    resolved: Mutex<HashMap<String, String>>,
    paid_to_date: tokio::sync::OnceCell<bool>,
}

fn cached(map: &Cache, key: &str) -> Option<Option<MasterProblem>> {
    map.lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(key)
        .cloned()
}

fn store(map: &Cache, key: &str, value: Option<MasterProblem>) {
    map.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key.to_owned(), value);
}

impl Engine {
    /// Checks that a customer exists and is active in SAP (cached per run).
    pub async fn check_customer(&self, card_code: &str) -> Result<Option<MasterProblem>> {
        if let Some(hit) = cached(&self.masters.customers, card_code) {
            return Ok(hit);
        }
        let card = card_code.to_owned();
        let found = self
            .sap
            .business_partners()
            .first(&Query::new().filter(prop("CardCode").eq(card_code)))
            .await?
            .ok_or(());
        let verdict = match found {
            Ok(bp) if bp.frozen == Some(YesNo::Yes) || bp.valid == Some(YesNo::No) => {
                Some(MasterProblem::CustomerInactive { card_code: card })
            }
            Ok(_) => None,
            Err(()) => Some(MasterProblem::CustomerMissing { card_code: card }),
        };
        store(&self.masters.customers, card_code, verdict.clone());
        Ok(verdict)
    }

    /// Checks that an item exists, is a sales item and is not frozen (cached per run).
    pub async fn check_item(&self, item_code: &str, sku: &str) -> Result<Option<MasterProblem>> {
        if let Some(hit) = cached(&self.masters.items, item_code) {
            return Ok(hit);
        }
        let (item_code_owned, sku) = (item_code.to_owned(), sku.to_owned());
        let found = self
            .sap
            .items()
            .first(&Query::new().filter(prop("ItemCode").eq(item_code)))
            .await?
            .ok_or(());
        let verdict = match found {
            Ok(item) if item.sales_item == Some(YesNo::No) => Some(MasterProblem::ItemNotSold {
                item_code: item_code_owned,
                sku,
            }),
            Ok(item) if item.frozen == Some(YesNo::Yes) || item.valid == Some(YesNo::No) => {
                Some(MasterProblem::ItemInactive {
                    item_code: item_code_owned,
                    sku,
                })
            }
            Ok(_) => None,
            Err(()) => Some(MasterProblem::ItemMissing {
                item_code: item_code_owned,
                sku,
            }),
        };
        store(&self.masters.items, item_code, verdict.clone());
        Ok(verdict)
    }

    /// Checks that a G/L account exists, is postable (not a title account), active today, and
    /// takes lines of a manual journal entry in the company's currency (cached per run). `code`
    /// is SAP's internal code: a display code (`FormatCode`) is found and named, see
    /// [`Engine::resolve_account`].
    pub async fn check_account(&self, code: &str, symbol: &str) -> Result<Option<MasterProblem>> {
        self.check_account_in(code, symbol, None).await
    }

    /// [`Engine::check_account`] for lines in `currency` (SAP's code; `None`: the company's own).
    pub async fn check_account_in(
        &self,
        code: &str,
        symbol: &str,
        currency: Option<&str>,
    ) -> Result<Option<MasterProblem>> {
        let cache_key = format!("{code}\u{1f}{}", currency.unwrap_or(""));
        if let Some(hit) = cached(&self.masters.accounts, &cache_key) {
            return Ok(hit);
        }
        let local = match currency {
            Some(c) => Some(c.to_owned()),
            None => self.company().await?.and_then(|c| c.local_currency.clone()),
        };
        let verdict = match self.account_by(code).await? {
            Some((acct, by_format)) => {
                let internal = acct.code.clone().unwrap_or_default();
                match account_problem(&acct, chrono::Utc::now().date_naive(), local.as_deref()) {
                    Some(kind) => Some(MasterProblem::Account {
                        code: code.to_owned(),
                        symbol: symbol.to_owned(),
                        kind,
                    }),
                    None if by_format => Some(MasterProblem::Account {
                        code: code.to_owned(),
                        symbol: symbol.to_owned(),
                        kind: AccountProblem::DisplayCode { internal },
                    }),
                    None => None,
                }
            }
            None => Some(MasterProblem::Account {
                code: code.to_owned(),
                symbol: symbol.to_owned(),
                kind: AccountProblem::Missing,
            }),
        };
        store(&self.masters.accounts, &cache_key, verdict.clone());
        Ok(verdict)
    }

    /// The internal code of the account a mapping names: `code` itself when it is an internal
    /// code, else the `Code` of the account whose display code (`FormatCode`) it is (segmented
    /// charts post by `_SYS…` codes), else `code` unchanged.
    pub async fn resolve_account(&self, code: &str) -> Result<String> {
        let known = self
            .masters
            .resolved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(code)
            .cloned();
        if let Some(internal) = known {
            return Ok(internal);
        }
        let internal = match self.account_by(code).await? {
            Some((acct, true)) => acct.code.unwrap_or_else(|| code.to_owned()),
            _ => code.to_owned(),
        };
        self.masters
            .resolved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(code.to_owned(), internal.clone());
        Ok(internal)
    }

    /// The account with internal code `code`, else the one with that display code (`true`).
    async fn account_by(&self, code: &str) -> Result<Option<(ChartOfAccount, bool)>> {
        let set = self.sap.chart_of_accounts();
        if let Some(a) = set
            .first(&Query::new().filter(prop("Code").eq(code)))
            .await?
        {
            return Ok(Some((a, false)));
        }
        Ok(set
            .first(&Query::new().filter(prop("FormatCode").eq(code)))
            .await?
            .map(|a| (a, true)))
    }

    /// Fails with [`SapSetupError`] when `sap.key_udf` names a field A/R invoices do not have
    /// (SAP refuses every invoice and every lookup that names it).
    pub async fn check_key_udf(&self) -> Result<()> {
        let Some(udf) = &self.config.sap.key_udf else {
            return Ok(());
        };
        if self.sap.invoices().has_property(udf).await? {
            return Ok(());
        }
        Err(SapSetupError(format!(
            "sap.key_udf: {udf} is not a field of A/R invoices in this company (SAP refuses every invoice that carries it): run `ml-connector setup udf` and restart the Service Layer, or remove sap.key_udf"
        ))
        .into())
    }

    /// Whether the server's documents have `PaidToDate` (SAP added it after 9.3): probed once.
    pub async fn has_paid_to_date(&self) -> Result<bool> {
        Ok(*self
            .masters
            .paid_to_date
            .get_or_try_init(|| async { self.sap.invoices().has_property("PaidToDate").await })
            .await?)
    }

    /// The company's settings (`CompanyService_GetAdminInfo`), read once per engine; `None` when
    /// the server does not answer the call.
    pub async fn company(&self) -> Result<Option<AdminInfo>> {
        self.masters
            .company
            .get_or_try_init(|| async {
                match self.sap.admin_info().await {
                    Ok(info) => Ok(Some(info)),
                    Err(SapError::NotFound(_)) => Ok(None),
                    Err(e) => Err(anyhow::Error::from(e)),
                }
            })
            .await
            .cloned()
    }
}

/// Why an account cannot take a manual journal line on `today` in a company whose local currency
/// is `local` (SDK `ChartOfAccounts` members: `ActiveAccount`, `FrozenFor`/`FrozenFrom`/`FrozenTo`,
/// `ValidFor`/`ValidFrom`/`ValidTo`, `LockManualTransaction` "control account",
/// `BlockManualPosting`, `ReconciledAccount` "cannot be posted manually", `AcctCurrency`).
pub fn account_problem(
    acct: &ChartOfAccount,
    today: chrono::NaiveDate,
    local: Option<&str>,
) -> Option<AccountProblem> {
    let yes = |v: &Option<YesNo>| *v == Some(YesNo::Yes);
    let in_range = |from: Option<SapDate>, to: Option<SapDate>| {
        from.is_none_or(|f| f.0 <= today) && to.is_none_or(|t| today <= t.0)
    };
    if acct.active_account == Some(YesNo::No) {
        return Some(AccountProblem::Title);
    }
    if yes(&acct.frozen_for) && in_range(acct.frozen_from, acct.frozen_to) {
        return Some(AccountProblem::Inactive);
    }
    if yes(&acct.valid_for) && !in_range(acct.valid_from, acct.valid_to) {
        return Some(AccountProblem::Inactive);
    }
    if yes(&acct.lock_manual_transaction) {
        return Some(AccountProblem::Control);
    }
    if yes(&acct.block_manual_posting) {
        return Some(AccountProblem::ManualBlocked);
    }
    if yes(&acct.reconciled_account) {
        return Some(AccountProblem::Reconciliation);
    }
    match (acct.acct_currency.as_deref(), local) {
        (Some(c), Some(l)) if c != "##" && !c.is_empty() && c != l => {
            Some(AccountProblem::Currency {
                account: c.to_owned(),
                local: l.to_owned(),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_as_before_and_name_the_sku() {
        let p = MasterProblem::ItemMissing {
            item_code: "A00042".into(),
            sku: "AMZ-MUG".into(),
        };
        assert_eq!(
            p.to_string(),
            "item A00042 (Amazon SKU AMZ-MUG) does not exist in SAP: map the SKU to an ItemCode in [sku_map]"
        );
        let same = MasterProblem::ItemInactive {
            item_code: "A1".into(),
            sku: "A1".into(),
        };
        assert_eq!(same.to_string(), "item A1 is inactive (frozen) in SAP");
        assert_eq!(
            hold_reason(&[
                MasterProblem::CustomerMissing {
                    card_code: "C1".into()
                },
                MasterProblem::Account {
                    code: "1000".into(),
                    symbol: "Bank".into(),
                    kind: AccountProblem::Title,
                }
            ]),
            "customer C1 does not exist in SAP: create it or fix [marketplaces] in the config; \
             G/L account 1000 (Bank) is a title account: map Bank to a postable account"
        );
    }

    fn account(props: serde_json::Value) -> ChartOfAccount {
        let mut v =
            serde_json::json!({"Code": "1420", "ActiveAccount": "tYES", "AcctCurrency": "##"});
        v.as_object_mut()
            .unwrap()
            .extend(props.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn accounts_that_refuse_manual_lines_are_named_by_sap_flag() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let check = |props| account_problem(&account(props), today, Some("USD"));
        assert_eq!(check(serde_json::json!({})), None);
        assert_eq!(
            check(serde_json::json!({"ActiveAccount": "tNO"})),
            Some(AccountProblem::Title)
        );
        assert_eq!(
            check(serde_json::json!({"LockManualTransaction": "tYES"})),
            Some(AccountProblem::Control)
        );
        assert_eq!(
            check(serde_json::json!({"BlockManualPosting": "tYES"})),
            Some(AccountProblem::ManualBlocked)
        );
        assert_eq!(
            check(serde_json::json!({"ReconciledAccount": "tYES"})),
            Some(AccountProblem::Reconciliation)
        );
        // Frozen only within its range; valid only within its range.
        assert_eq!(
            check(
                serde_json::json!({"FrozenFor": "tYES", "FrozenFrom": "2026-11-01", "FrozenTo": "2026-11-30"})
            ),
            None
        );
        assert_eq!(
            check(serde_json::json!({"FrozenFor": "tYES"})),
            Some(AccountProblem::Inactive)
        );
        assert_eq!(
            check(serde_json::json!({"ValidFor": "tYES", "ValidFrom": "2027-01-01"})),
            Some(AccountProblem::Inactive)
        );
        assert_eq!(
            check(serde_json::json!({"AcctCurrency": "CAD"})),
            Some(AccountProblem::Currency {
                account: "CAD".into(),
                local: "USD".into()
            })
        );
        assert_eq!(check(serde_json::json!({"AcctCurrency": "USD"})), None);
        let control = MasterProblem::Account {
            code: "1400".into(),
            symbol: "AmazonClearing".into(),
            kind: AccountProblem::Control,
        };
        assert!(control.to_string().contains("control account"), "{control}");
    }
}
