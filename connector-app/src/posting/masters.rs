//! Checks of SAP master data a document refers to (customers, items, G/L accounts), cached for one
//! run. A problem is typed, so a flow can hold the record with a reason a person can act on.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use anyhow::Result;
use sap_b1_client::Error as SapError;
use sap_b1_client::entities::YesNo;

use crate::flows::Engine;

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
    /// The G/L account does not exist.
    AccountMissing {
        /// Account code.
        code: String,
        /// The mapping's symbolic name for it.
        symbol: String,
    },
    /// The G/L account is a title account (not postable).
    AccountTitle {
        /// Account code.
        code: String,
        /// The mapping's symbolic name for it.
        symbol: String,
    },
    /// The G/L account is frozen.
    AccountInactive {
        /// Account code.
        code: String,
        /// The mapping's symbolic name for it.
        symbol: String,
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
            Self::AccountMissing { code, symbol } => write!(
                f,
                "G/L account {code}{} does not exist in SAP: map {symbol} to a G/L code in the settlement mapping's [accounts]",
                symbol_note(code, symbol)
            ),
            Self::AccountTitle { code, symbol } => write!(
                f,
                "G/L account {code}{} is a title account: map {symbol} to a postable account",
                symbol_note(code, symbol)
            ),
            Self::AccountInactive { code, symbol } => write!(
                f,
                "G/L account {code}{} is inactive in SAP",
                symbol_note(code, symbol)
            ),
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
        let verdict = match self.sap.business_partners().get(card_code).await {
            Ok(bp) if bp.frozen == Some(YesNo::Yes) || bp.valid == Some(YesNo::No) => {
                Some(MasterProblem::CustomerInactive { card_code: card })
            }
            Ok(_) => None,
            Err(SapError::NotFound(_)) => Some(MasterProblem::CustomerMissing { card_code: card }),
            Err(e) => return Err(e.into()),
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
        let verdict = match self.sap.items().get(item_code).await {
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
            Err(SapError::NotFound(_)) => Some(MasterProblem::ItemMissing {
                item_code: item_code_owned,
                sku,
            }),
            Err(e) => return Err(e.into()),
        };
        store(&self.masters.items, item_code, verdict.clone());
        Ok(verdict)
    }

    /// Checks that a G/L account exists, is postable (not a title account) and active (cached).
    pub async fn check_account(&self, code: &str, symbol: &str) -> Result<Option<MasterProblem>> {
        if let Some(hit) = cached(&self.masters.accounts, code) {
            return Ok(hit);
        }
        let (code_owned, symbol) = (code.to_owned(), symbol.to_owned());
        let verdict = match self.sap.chart_of_accounts().get(code).await {
            Ok(acct) if acct.active_account == Some(YesNo::No) => {
                Some(MasterProblem::AccountTitle {
                    code: code_owned,
                    symbol,
                })
            }
            Ok(acct) if acct.extra.get("FrozenFor").and_then(|v| v.as_str()) == Some("tYES") => {
                Some(MasterProblem::AccountInactive {
                    code: code_owned,
                    symbol,
                })
            }
            Ok(_) => None,
            Err(SapError::NotFound(_)) => Some(MasterProblem::AccountMissing {
                code: code_owned,
                symbol,
            }),
            Err(e) => return Err(e.into()),
        };
        store(&self.masters.accounts, code, verdict.clone());
        Ok(verdict)
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
                MasterProblem::AccountTitle {
                    code: "1000".into(),
                    symbol: "Bank".into()
                }
            ]),
            "customer C1 does not exist in SAP: create it or fix [marketplaces] in the config; \
             G/L account 1000 (Bank) is a title account: map Bank to a postable account"
        );
    }
}
