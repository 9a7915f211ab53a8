//! The mapping table: which account (or the order's receipt) each settlement row posts to.
//!
//! Rules are keyed by (transaction-type, amount-type, amount-description) with optional marketplace and
//! fulfilment qualifiers. Each key part is an exact value, `*`, or a glob with `*` (`FBA*`, `*Tax`).
//! The most specific matching rule wins: more exact parts first, then more literal characters in globs,
//! then the earlier rule (a user's rules come before the defaults they extend).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

mod cache;
mod pattern;
mod tax;

pub(crate) use cache::LookupCache;
pub use pattern::Pattern;
pub use tax::{LineTax, TaxChoice, TaxOverride, TaxSpec};

/// Symbolic account of the Amazon clearing ("Amazon as a bank") account.
pub const CLEARING: &str = "AmazonClearing";
/// Symbolic bank account that receives the deposit.
pub const BANK: &str = "Bank";
/// Symbolic account for reserves and carried (negative) balances.
pub const RESERVE: &str = "Reserve";
/// Symbolic pass-through account for marketplace-facilitator tax.
pub const FACILITATOR_TAX: &str = "FacilitatorTaxClearing";

/// The shipped default table (TOML), covering every value in the settlement notes.
pub const DEFAULT_TABLE_TOML: &str = include_str!("default_mapping.toml");

/// Where a row posts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// The order's customer receipt (applied to its A/R invoice).
    Receipt,
    /// The order's refund to the buyer (an A/R credit note based on its invoice).
    Refund,
    /// A symbolic account (mapped to a GL code by the table's `[accounts]`).
    Account(String),
}

impl Target {
    fn parse(s: &str) -> Self {
        if s.eq_ignore_ascii_case("receipt") {
            Self::Receipt
        } else if s.eq_ignore_ascii_case("refund") {
            Self::Refund
        } else {
            Self::Account(s.to_owned())
        }
    }

    /// `receipt`, `refund` or the symbolic account name.
    pub fn label(&self) -> &str {
        match self {
            Self::Receipt => "receipt",
            Self::Refund => "refund",
            Self::Account(a) => a,
        }
    }
}

/// Journal-entry group a row's line lands in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Journal {
    /// Selling, referral and FBA fees.
    Fees,
    /// Refunds to buyers.
    Refunds,
    /// FBA inventory reimbursements.
    Reimbursements,
    /// Advertising and promotion programmes.
    Advertising,
    /// Storage fees.
    Storage,
    /// Anything else.
    #[default]
    Other,
    /// Reserves and carried balances (balance-sheet movements).
    Reserves,
    /// Marketplace-facilitator tax pass-through.
    FacilitatorTax,
    /// Unmapped rows posted to the suspense account.
    Suspense,
    /// The payout: clearing to bank.
    Deposit,
    /// A negative payout carried as a balance owed to Amazon.
    CarriedBalance,
}

impl Journal {
    /// Human label used in memos.
    pub fn label(self) -> &'static str {
        match self {
            Self::Fees => "fees",
            Self::Refunds => "refunds",
            Self::Reimbursements => "reimbursements",
            Self::Advertising => "advertising",
            Self::Storage => "storage",
            Self::Other => "other charges",
            Self::Reserves => "reserves and carried balances",
            Self::FacilitatorTax => "marketplace facilitator tax",
            Self::Suspense => "unmapped lines (suspense)",
            Self::Deposit => "deposit",
            Self::CarriedBalance => "negative balance carried",
        }
    }
}

/// One mapping rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// transaction-type pattern.
    pub transaction_type: Pattern,
    /// amount-type pattern.
    pub amount_type: Pattern,
    /// amount-description pattern.
    pub amount_description: Pattern,
    /// marketplace-name qualifier.
    pub marketplace: Pattern,
    /// fulfillment-id qualifier.
    pub fulfillment: Pattern,
    /// Where matching rows post.
    pub to: Target,
    /// Journal group for account targets.
    pub journal: Journal,
    /// Re-route when the order carries marketplace-facilitator tax rows.
    pub when_facilitated: Option<String>,
    /// This row is marketplace-facilitator tax.
    pub facilitator: bool,
    /// The tax code its account lines carry (and whether their amounts include it).
    pub tax: TaxSpec,
}

impl Rule {
    fn key(&self) -> [&Pattern; 5] {
        [
            &self.transaction_type,
            &self.amount_type,
            &self.amount_description,
            &self.marketplace,
            &self.fulfillment,
        ]
    }

    fn specificity(&self) -> (u32, u32) {
        let k = self.key();
        (
            k.iter().map(|p| p.exact()).sum(),
            k.iter().map(|p| p.literal_chars()).sum(),
        )
    }

    fn matches(&self, k: &RowKey<'_>) -> bool {
        self.transaction_type.matches(k.transaction_type)
            && self.amount_type.matches(k.amount_type)
            && self.amount_description.matches(k.amount_description)
            && self.marketplace.matches(k.marketplace)
            && self.fulfillment.matches(k.fulfillment)
    }
}

/// What to do with rows no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UnmappedPolicy {
    /// Hold the settlement and list every unmapped triple (default).
    #[default]
    Hold,
    /// Post unmapped rows to the suspense account and warn.
    Suspense,
}

/// Which date journal lines and receipts carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PostingDate {
    /// Everything on the settlement's deposit date (default).
    #[default]
    DepositDate,
    /// Split by the calendar month (UTC) of each row's posted-date; earlier months post on their last day.
    PostedMonth,
}

/// Table-wide policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Unknown triples: hold or suspense.
    pub unmapped: UnmappedPolicy,
    /// Symbolic suspense account.
    pub suspense_account: String,
    /// Posting-date policy.
    pub posting_date: PostingDate,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            unmapped: UnmappedPolicy::Hold,
            suspense_account: "AmazonSuspense".to_owned(),
            posting_date: PostingDate::DepositDate,
        }
    }
}

/// The full mapping: rules, symbolic account -> GL code, policies.
#[derive(Debug, Clone)]
pub struct MappingTable {
    rules: Vec<Rule>,
    /// `[[tax]]` overrides of the rules' tax per (account, marketplace, fulfilment).
    tax_overrides: Vec<TaxOverride>,
    /// `[tax_rates]`: tax code -> rate in percent (for taking the tax out of gross amounts).
    pub tax_rates: BTreeMap<String, Decimal>,
    /// Symbolic account -> SAP GL account code.
    pub accounts: BTreeMap<String, String>,
    /// Policies.
    pub policy: Policy,
}

/// A mapping file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// Not valid TOML or wrong shape.
    #[error("invalid mapping TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// A rule is not usable.
    #[error("rule {index} ({key}): {reason}")]
    Rule {
        /// 1-based position among the file's `[[rule]]` entries.
        index: usize,
        /// The rule's key as written.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// `[tax_rates]` or a `[[tax]]` override is not usable.
    #[error("{0}")]
    Tax(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[serde(default = "yes")]
    include_defaults: bool,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    accounts: BTreeMap<String, String>,
    #[serde(default)]
    rule: Vec<RawRule>,
    #[serde(default)]
    tax_rates: BTreeMap<String, String>,
    #[serde(default)]
    tax: Vec<tax::RawTaxOverride>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    unmapped: Option<UnmappedPolicy>,
    suspense_account: Option<String>,
    posting_date: Option<PostingDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    transaction_type: String,
    amount_type: String,
    #[serde(default = "star")]
    amount_description: String,
    #[serde(default = "star")]
    marketplace: String,
    #[serde(default = "star")]
    fulfillment: String,
    to: String,
    #[serde(default)]
    journal: Option<Journal>,
    #[serde(default)]
    when_facilitated: Option<String>,
    #[serde(default)]
    facilitator: bool,
    #[serde(default)]
    tax_code: Option<String>,
    #[serde(default)]
    tax_gross: Option<bool>,
    #[serde(default)]
    tax_code_untaxed_order: Option<String>,
}

fn star() -> String {
    "*".to_owned()
}

/// The row fields a rule looks at.
#[derive(Debug, Clone, Copy)]
pub struct RowKey<'a> {
    /// transaction-type.
    pub transaction_type: &'a str,
    /// amount-type.
    pub amount_type: &'a str,
    /// amount-description.
    pub amount_description: &'a str,
    /// marketplace-name.
    pub marketplace: &'a str,
    /// fulfillment-id.
    pub fulfillment: &'a str,
}

impl MappingTable {
    /// The shipped default table.
    pub fn default_table() -> Self {
        Self::parse(DEFAULT_TABLE_TOML, false).expect("the shipped default mapping is valid")
    }

    /// Loads a table from TOML; with `include_defaults = true` (the default) its rules extend and
    /// override the shipped defaults.
    pub fn from_toml(text: &str) -> Result<Self, MappingError> {
        Self::parse(text, true)
    }

    fn parse(text: &str, defaults_allowed: bool) -> Result<Self, MappingError> {
        let raw: RawTable = toml::from_str(text)?;
        let mut rules = Vec::with_capacity(raw.rule.len());
        for (i, r) in raw.rule.into_iter().enumerate() {
            let key = format!(
                "{} / {} / {}",
                r.transaction_type, r.amount_type, r.amount_description
            );
            let fail = |reason: String| MappingError::Rule {
                index: i + 1,
                key: key.clone(),
                reason,
            };
            if r.transaction_type.trim().is_empty() || r.amount_type.trim().is_empty() {
                return Err(fail(
                    "transaction_type and amount_type must not be empty (use \"*\")".into(),
                ));
            }
            if r.to.trim().is_empty() {
                return Err(fail(
                    "`to` must name an account, `receipt` or `refund`".into(),
                ));
            }
            let to = Target::parse(r.to.trim());
            if matches!(to, Target::Receipt | Target::Refund) && r.facilitator {
                return Err(fail(
                    "a facilitator-tax rule must post to an account".into(),
                ));
            }
            let tax = TaxSpec {
                tax_code: r.tax_code,
                tax_gross: r.tax_gross,
                tax_code_untaxed_order: r.tax_code_untaxed_order,
            };
            if to == Target::Receipt && tax != TaxSpec::default() {
                return Err(fail(
                    "a receipt rule takes no tax code (the invoice carries the tax)".into(),
                ));
            }
            let rule = Rule {
                transaction_type: Pattern::parse(&r.transaction_type),
                amount_type: Pattern::parse(&r.amount_type),
                amount_description: Pattern::parse(&r.amount_description),
                marketplace: Pattern::parse(&r.marketplace),
                fulfillment: Pattern::parse(&r.fulfillment),
                journal: r.journal.unwrap_or_default(),
                to,
                when_facilitated: r.when_facilitated,
                facilitator: r.facilitator,
                tax,
            };
            if rules.iter().any(|o: &Rule| o.key() == rule.key()) {
                return Err(fail("another rule in this file has the same key".into()));
            }
            rules.push(rule);
        }
        let tax_rates = tax::parse_rates(raw.tax_rates).map_err(MappingError::Tax)?;
        let tax_overrides = raw
            .tax
            .into_iter()
            .enumerate()
            .map(|(i, o)| o.parse(i + 1))
            .collect::<Result<Vec<_>, _>>()
            .map_err(MappingError::Tax)?;
        for (i, r) in rules.iter().enumerate() {
            tax::check_rates("", &r.tax, &tax_rates).map_err(|reason| MappingError::Rule {
                index: i + 1,
                key: format!(
                    "{} / {} / {}",
                    r.transaction_type, r.amount_type, r.amount_description
                ),
                reason,
            })?;
        }
        for (i, o) in tax_overrides.iter().enumerate() {
            tax::check_rates(&format!("[[tax]] {}", i + 1), &o.spec, &tax_rates)
                .map_err(MappingError::Tax)?;
        }
        let mut table = Self {
            rules,
            tax_overrides,
            tax_rates,
            accounts: raw.accounts,
            policy: Policy::default(),
        };
        if defaults_allowed && raw.include_defaults {
            let defaults = Self::default_table();
            for d in defaults.rules {
                if !table.rules.iter().any(|r| r.key() == d.key()) {
                    table.rules.push(d);
                }
            }
        }
        let p = raw.policy;
        if let Some(u) = p.unmapped {
            table.policy.unmapped = u;
        }
        if let Some(s) = p.suspense_account {
            table.policy.suspense_account = s;
        }
        if let Some(d) = p.posting_date {
            table.policy.posting_date = d;
        }
        Ok(table)
    }

    /// The rules, in precedence order for equal specificity.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The most specific rule matching `key`, if any.
    pub fn lookup(&self, key: &RowKey<'_>) -> Option<usize> {
        let mut best: Option<(usize, (u32, u32))> = None;
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.matches(key) {
                let s = rule.specificity();
                if best.is_none_or(|(_, b)| s > b) {
                    best = Some((i, s));
                }
            }
        }
        best.map(|(i, _)| i)
    }

    /// Rule by index (from [`MappingTable::lookup`]).
    pub fn rule(&self, index: usize) -> &Rule {
        &self.rules[index]
    }

    /// The tax of rows of rule `index` posting to `account` (symbolic) from `marketplace` and
    /// `fulfillment`: the most specific `[[tax]]` override over the rule's own tax.
    pub fn tax_for(
        &self,
        index: usize,
        account: &str,
        marketplace: &str,
        fulfillment: &str,
    ) -> TaxChoice {
        tax::resolve(
            &self.rules[index].tax,
            &self.tax_overrides,
            account,
            marketplace,
            fulfillment,
        )
    }

    /// The rate in percent of tax code `code` from `[tax_rates]`.
    pub fn tax_rate(&self, code: &str) -> Option<Decimal> {
        self.tax_rates.get(code).copied()
    }

    /// The GL code for a symbolic account, or the symbol itself when unmapped.
    pub fn resolve<'a>(&'a self, symbol: &'a str) -> &'a str {
        self.accounts.get(symbol).map_or(symbol, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(tt: &'a str, at: &'a str, ad: &'a str) -> RowKey<'a> {
        RowKey {
            transaction_type: tt,
            amount_type: at,
            amount_description: ad,
            marketplace: "",
            fulfillment: "",
        }
    }

    fn target(table: &MappingTable, k: RowKey<'_>) -> Option<String> {
        table
            .lookup(&k)
            .map(|i| table.rule(i).to.label().to_owned())
    }

    #[test]
    fn most_specific_rule_wins() {
        let t = MappingTable::default_table();
        assert_eq!(
            target(&t, key("Order", "ItemFees", "Commission")).unwrap(),
            "ReferralFees"
        );
        assert_eq!(
            target(&t, key("Order", "ItemFees", "FBAPerUnitFulfillmentFee")).unwrap(),
            "FbaFees"
        );
        assert_eq!(
            target(&t, key("Order", "ItemFees", "DigitalServicesFee")).unwrap(),
            "SellingFees"
        );
        assert_eq!(
            target(&t, key("Order", "ItemPrice", "Principal")).unwrap(),
            "receipt"
        );
        assert_eq!(
            target(&t, key("Refund", "ItemPrice", "Principal")).unwrap(),
            "refund"
        );
        assert_eq!(
            target(&t, key("Chargeback Refund", "ItemPrice", "Principal")).unwrap(),
            "Refunds"
        );
        assert_eq!(
            target(
                &t,
                key(
                    "other-transaction",
                    "other-transaction",
                    "Current Reserve Amount"
                )
            )
            .unwrap(),
            "Reserve"
        );
        assert_eq!(target(&t, key("Mystery", "Thing", "Unknown")), None);
    }

    #[test]
    fn user_rules_extend_and_override_defaults() {
        let t = MappingTable::from_toml(
            r#"
            [accounts]
            ReferralFees = "6100"
            [policy]
            unmapped = "suspense"
            posting_date = "posted-month"
            [[rule]]
            transaction_type = "Order"
            amount_type = "ItemFees"
            amount_description = "Commission"
            marketplace = "Amazon.de"
            to = "ReferralFeesDE"
            journal = "fees"
            "#,
        )
        .unwrap();
        let mut k = key("Order", "ItemFees", "Commission");
        k.marketplace = "Amazon.de";
        assert_eq!(target(&t, k).unwrap(), "ReferralFeesDE");
        k.marketplace = "Amazon.fr";
        assert_eq!(target(&t, k).unwrap(), "ReferralFees");
        assert_eq!(t.resolve("ReferralFees"), "6100");
        assert_eq!(t.resolve("FbaFees"), "FbaFees");
        assert_eq!(t.policy.unmapped, UnmappedPolicy::Suspense);
        assert_eq!(t.policy.posting_date, PostingDate::PostedMonth);
    }

    #[test]
    fn bad_tables_say_which_rule() {
        let err = MappingTable::from_toml(
            "[[rule]]\ntransaction_type = \"Order\"\namount_type = \"X\"\nto = \"A\"\n[[rule]]\ntransaction_type = \"Order\"\namount_type = \"X\"\nto = \"B\"\n",
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("rule 2 (Order / X / *)"),
            "{err}"
        );
        let err = MappingTable::from_toml("[[rule]]\ntransaction_type = \"Order\"\n").unwrap_err();
        assert!(
            err.to_string().contains("missing field `amount_type`"),
            "{err}"
        );
        let err = MappingTable::from_toml("[polcy]\nunmapped = \"hold\"\n").unwrap_err();
        assert!(err.to_string().contains("polcy"), "{err}");
    }
}
