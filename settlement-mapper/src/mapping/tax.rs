//! Tax on account lines: which tax code (SAP `TaxGroup`) a rule's rows carry, whether their amounts
//! include that tax, and the per-(account, marketplace, fulfilment) overrides.
//!
//! Amazon has charged UK VAT on its fees to UK-established sellers since 1 August 2024: the fee
//! rows of the settlement are gross (`Commission −8.64` = 15 % of 47.99 × 1.20), except the FBA
//! fee of an order on which the buyer paid no VAT (`−3.30`, no VAT; reviews/accounting.md B2).
//! A rule (or an override) therefore names the code, `tax_gross = true` for VAT-inclusive amounts,
//! and optionally `tax_code_untaxed_order`, the code of rows of an order whose `ItemPrice / Tax`
//! rows are all zero or absent (zero-rated or export orders). `[tax_rates]` holds each gross code's rate, so
//! the VAT can be taken out of the gross amount before SAP adds it back.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Pattern;

/// The tax a journal line's amount carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LineTax {
    /// The tax code (SAP `TaxGroup` in VAT localisations).
    pub code: String,
    /// The amount includes the tax (Amazon's fee with its VAT); `false`: the amount is net.
    pub gross: bool,
}

/// A rule's tax, or an override's, as written (every part optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxSpec {
    /// Tax code; `""` means no tax.
    pub tax_code: Option<String>,
    /// Whether the amounts include the tax.
    pub tax_gross: Option<bool>,
    /// Tax code of rows whose order carries no item tax (`""`: no tax).
    pub tax_code_untaxed_order: Option<String>,
}

impl TaxSpec {
    /// Parts of `self` win, the rest comes from `base`.
    fn over(&self, base: &TaxSpec) -> TaxSpec {
        TaxSpec {
            tax_code: self.tax_code.clone().or_else(|| base.tax_code.clone()),
            tax_gross: self.tax_gross.or(base.tax_gross),
            tax_code_untaxed_order: self
                .tax_code_untaxed_order
                .clone()
                .or_else(|| base.tax_code_untaxed_order.clone()),
        }
    }

    fn is_empty(&self) -> bool {
        self.tax_code.is_none() && self.tax_gross.is_none() && self.tax_code_untaxed_order.is_none()
    }
}

/// The tax a row resolves to: for any order, and for an order that carries no item tax.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxChoice {
    /// The line's tax (None: no tax code).
    pub taxed: Option<LineTax>,
    /// When set, the tax of rows of an order without item tax (its inner `None`: no tax code).
    pub untaxed_order: Option<Option<LineTax>>,
}

fn line_tax(code: Option<&str>, gross: bool) -> Option<LineTax> {
    code.map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| LineTax {
            code: c.to_owned(),
            gross,
        })
}

impl TaxSpec {
    fn choice(&self) -> TaxChoice {
        let gross = self.tax_gross.unwrap_or(false);
        TaxChoice {
            taxed: line_tax(self.tax_code.as_deref(), gross),
            untaxed_order: self
                .tax_code_untaxed_order
                .as_deref()
                .map(|c| line_tax(Some(c), gross)),
        }
    }
}

/// A `[[tax]]` override: the tax of rows posting to `account` from `marketplace` and
/// `fulfillment` (patterns, `*` by default), whatever their rule says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxOverride {
    /// Symbolic account pattern.
    pub account: Pattern,
    /// marketplace-name pattern.
    pub marketplace: Pattern,
    /// fulfillment-id pattern.
    pub fulfillment: Pattern,
    /// The tax parts it sets.
    pub spec: TaxSpec,
}

/// `[[tax]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTaxOverride {
    #[serde(default = "super::star")]
    account: String,
    #[serde(default = "super::star")]
    marketplace: String,
    #[serde(default = "super::star")]
    fulfillment: String,
    #[serde(default)]
    tax_code: Option<String>,
    #[serde(default)]
    tax_gross: Option<bool>,
    #[serde(default)]
    tax_code_untaxed_order: Option<String>,
}

impl RawTaxOverride {
    pub(super) fn parse(self, index: usize) -> Result<TaxOverride, String> {
        let spec = TaxSpec {
            tax_code: self.tax_code,
            tax_gross: self.tax_gross,
            tax_code_untaxed_order: self.tax_code_untaxed_order,
        };
        if spec.is_empty() {
            return Err(format!(
                "[[tax]] {index} ({} / {} / {}) sets none of tax_code, tax_gross, tax_code_untaxed_order",
                self.account, self.marketplace, self.fulfillment
            ));
        }
        Ok(TaxOverride {
            account: Pattern::parse(&self.account),
            marketplace: Pattern::parse(&self.marketplace),
            fulfillment: Pattern::parse(&self.fulfillment),
            spec,
        })
    }
}

impl TaxOverride {
    fn key(&self) -> [&Pattern; 3] {
        [&self.account, &self.marketplace, &self.fulfillment]
    }

    fn specificity(&self) -> (u32, u32) {
        let k = self.key();
        (
            k.iter().map(|p| p.exact()).sum(),
            k.iter().map(|p| p.literal_chars()).sum(),
        )
    }

    fn matches(&self, account: &str, marketplace: &str, fulfillment: &str) -> bool {
        self.account.matches(account)
            && self.marketplace.matches(marketplace)
            && self.fulfillment.matches(fulfillment)
    }
}

/// The most specific override matching, over the rule's own tax; `None` taxes nothing.
pub(super) fn resolve(
    rule: &TaxSpec,
    overrides: &[TaxOverride],
    account: &str,
    marketplace: &str,
    fulfillment: &str,
) -> TaxChoice {
    let mut best: Option<(&TaxOverride, (u32, u32))> = None;
    for o in overrides {
        if o.matches(account, marketplace, fulfillment) {
            let s = o.specificity();
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((o, s));
            }
        }
    }
    match best {
        Some((o, _)) => o.spec.over(rule).choice(),
        None => rule.choice(),
    }
}

/// Every gross code needs a rate: the VAT is taken out of the amount with it. `what` prefixes the
/// reason (empty for a rule, whose error names it already).
pub(super) fn check_rates(
    what: &str,
    spec: &TaxSpec,
    rates: &BTreeMap<String, Decimal>,
) -> Result<(), String> {
    if spec.tax_gross != Some(true) {
        return Ok(());
    }
    for code in [&spec.tax_code, &spec.tax_code_untaxed_order]
        .into_iter()
        .flatten()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
    {
        if !rates.contains_key(code) {
            let reason = format!(
                "tax code `{code}` is gross (tax_gross = true) but [tax_rates] has no rate for it (e.g. {code} = \"20\")"
            );
            return Err(if what.is_empty() {
                reason
            } else {
                format!("{what}: {reason}")
            });
        }
    }
    Ok(())
}

/// Parses `[tax_rates]` (`code = "percent"`).
pub(super) fn parse_rates(
    raw: BTreeMap<String, String>,
) -> Result<BTreeMap<String, Decimal>, String> {
    raw.into_iter()
        .map(|(code, rate)| {
            rate.trim()
                .parse::<Decimal>()
                .ok()
                .filter(|r| !r.is_sign_negative() && *r < Decimal::ONE_HUNDRED)
                .map(|r| (code.clone(), r))
                .ok_or_else(|| {
                    format!("[tax_rates] {code} = \"{rate}\" is not a rate in percent (0 to 99.99, e.g. \"20\")")
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{MappingTable, RowKey};
    use super::*;

    const TABLE: &str = r#"
        [tax_rates]
        I1 = "20"
        I0 = "0"
        [[rule]]
        transaction_type = "*"
        amount_type = "ItemFees"
        amount_description = "Commission"
        to = "ReferralFees"
        journal = "fees"
        tax_code = "I1"
        tax_gross = true
        [[tax]]
        account = "Fba*"
        tax_code = "I1"
        tax_gross = true
        tax_code_untaxed_order = "I0"
        [[tax]]
        account = "*Fees"
        marketplace = "Amazon.com"
        tax_code = ""
        [[tax]]
        account = "ReferralFees"
        marketplace = "Amazon.de"
        fulfillment = "MFN"
        tax_code = "I1"
        tax_gross = false
    "#;

    fn choice(t: &MappingTable, desc: &str, mkt: &str, ful: &str) -> TaxChoice {
        let key = RowKey {
            transaction_type: "Order",
            amount_type: "ItemFees",
            amount_description: desc,
            marketplace: mkt,
            fulfillment: ful,
        };
        let i = t.lookup(&key).unwrap();
        t.tax_for(i, t.rule(i).to.label(), mkt, ful)
    }

    fn tax(code: &str, gross: bool) -> Option<LineTax> {
        Some(LineTax {
            code: code.into(),
            gross,
        })
    }

    #[test]
    fn the_rule_s_tax_is_overridden_per_account_marketplace_and_fulfilment() {
        let t = MappingTable::from_toml(TABLE).unwrap();
        // The rule's own tax.
        let c = choice(&t, "Commission", "Amazon.co.uk", "AFN");
        assert_eq!((c.taxed, c.untaxed_order), (tax("I1", true), None));
        // A default rule (FBA fees) taxed by an account override, with the untaxed-order code.
        let c = choice(&t, "FBAPerUnitFulfillmentFee", "Amazon.co.uk", "AFN");
        assert_eq!(c.taxed, tax("I1", true));
        assert_eq!(c.untaxed_order, Some(tax("I0", true)));
        // Per marketplace: no tax on Amazon.com, even over the rule's own code.
        let c = choice(&t, "Commission", "Amazon.com", "AFN");
        assert_eq!(c.taxed, None);
        // Per marketplace and fulfilment: the most specific override wins; gross = false is kept.
        assert_eq!(
            choice(&t, "Commission", "Amazon.de", "MFN").taxed,
            tax("I1", false)
        );
        assert_eq!(
            choice(&t, "Commission", "Amazon.de", "AFN").taxed,
            tax("I1", true)
        );
        // An untaxed rule without override stays untaxed.
        assert_eq!(
            choice(&t, "DigitalServicesFee", "Amazon.co.uk", "AFN"),
            TaxChoice::default()
        );
        assert_eq!(t.tax_rate("I1"), Some(Decimal::from(20)));
    }

    #[test]
    fn bad_tax_settings_say_where() {
        let err = MappingTable::from_toml(&TABLE.replace("I1 = \"20\"", "")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("rule 1 (* / ItemFees / Commission): tax code `I1` is gross"),
            "{err}"
        );
        let err = MappingTable::from_toml(&TABLE.replace("\"20\"", "\"20%\"")).unwrap_err();
        assert!(
            err.to_string()
                .contains("[tax_rates] I1 = \"20%\" is not a rate"),
            "{err}"
        );
        let err = MappingTable::from_toml("[[tax]]\naccount = \"FbaFees\"\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("[[tax]] 1 (FbaFees / * / *) sets none"),
            "{err}"
        );
        let err = MappingTable::from_toml(
            "[[rule]]\ntransaction_type = \"Order\"\namount_type = \"ItemPrice\"\nto = \"receipt\"\ntax_code = \"O1\"\n",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("a receipt rule takes no tax code"),
            "{err}"
        );
    }
}
