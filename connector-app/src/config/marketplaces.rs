//! `[marketplaces.ID]`: the SAP customer and tax code of each synced Amazon marketplace.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Invalid;

/// Marketplace -> SAP customer and tax.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketplaceMapping {
    /// SAP customer CardCode.
    pub customer: String,
    /// Tax code (VatGroup in EU localisations, TaxCode in US ones).
    #[serde(default)]
    pub tax_code: Option<String>,
    /// Whether Amazon's item and shipping prices include the tax (EU/UK VAT: yes; US sales tax: no).
    #[serde(default = "default_true")]
    pub prices_include_tax: bool,
    /// Tax code by the rate Amazon charged, in percent (`{ "20" = "O1", "0" = "O0" }`): an item
    /// whose tax is that rate of its net gets that code (a zero-rated book is not invoiced at the
    /// standard rate). Items at no listed rate, and shipping, take `tax_code`.
    #[serde(default)]
    pub tax_codes: BTreeMap<String, String>,
    /// Tax code of the items whose tax Amazon collects as marketplace facilitator / deemed
    /// supplier (Orders API `taxCollections[].model` `MARKETPLACE_FACILITATOR`), whatever rate
    /// Amazon charged: the seller's invoice carries none of that tax. Unset: such items take their
    /// code as any other.
    #[serde(default)]
    pub facilitated_tax_code: Option<String>,
}

impl MarketplaceMapping {
    /// The code for an item taxed `tax` on `net` by Amazon: the listed rate within half a point
    /// (Amazon rounds each amount to the cent), else `tax_code`.
    pub fn tax_code_for(
        &self,
        net: rust_decimal::Decimal,
        tax: rust_decimal::Decimal,
    ) -> Option<&str> {
        self.charged_code(net, tax).or(self.tax_code.as_deref())
    }

    /// Whether an item taxed `tax` on `net` is at one of the `tax_codes` rates, i.e. a tax the
    /// seller charges (a rate Amazon collects itself is not listed there).
    pub fn charges_tax(&self, net: rust_decimal::Decimal, tax: rust_decimal::Decimal) -> bool {
        self.charged_code(net, tax).is_some()
    }

    fn charged_code(&self, net: rust_decimal::Decimal, tax: rust_decimal::Decimal) -> Option<&str> {
        use rust_decimal::Decimal;
        if net.is_zero() {
            return None;
        }
        let charged = tax / net * Decimal::ONE_HUNDRED;
        let half = Decimal::new(5, 1);
        self.tax_codes
            .iter()
            .filter_map(|(rate, code)| Some((rate.trim().parse::<Decimal>().ok()?, code)))
            .filter(|(rate, _)| (charged - rate).abs() <= half)
            .min_by_key(|(rate, _)| (charged - rate).abs())
            .map(|(_, code)| code.as_str())
    }
}

fn default_true() -> bool {
    true
}

/// Every synced marketplace (`amazon.marketplaces`) has a section, and every section a customer.
pub(super) fn validate(
    mappings: &BTreeMap<String, MarketplaceMapping>,
    synced: &[String],
) -> Result<(), Invalid> {
    for id in synced {
        if !mappings.contains_key(id) {
            return Err(Invalid::new(
                format!("marketplaces.{id}"),
                format!(
                    "marketplace {id} is synced but has no [marketplaces.{id}] section with its SAP customer"
                ),
            ));
        }
    }
    for (id, m) in mappings {
        if m.customer.trim().is_empty() {
            return Err(Invalid::new(
                format!("marketplaces.{id}.customer"),
                "must name a SAP CardCode",
            ));
        }
        for rate in m.tax_codes.keys() {
            if rate.trim().parse::<rust_decimal::Decimal>().is_err() {
                return Err(Invalid::new(
                    format!("marketplaces.{id}.tax_codes"),
                    format!("\"{rate}\" is not a rate in percent (e.g. \"20\" or \"5.5\")"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{TEMPLATE, parse_at};

    #[test]
    fn a_synced_marketplace_needs_its_section() {
        let c = parse_at(TEMPLATE).unwrap();
        assert_eq!(c.marketplaces["A1PA6795UKMFR9"].customer, "C-AMZ-DE");
        assert!(c.marketplaces["A1PA6795UKMFR9"].prices_include_tax);
        let bad = TEMPLATE.replace(
            "[marketplaces.A1PA6795UKMFR9]",
            "[marketplaces.A13V1IB3VIYZZH]",
        );
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `marketplaces.A1PA6795UKMFR9`")
        );
        let bad = TEMPLATE.replace("customer = \"C-AMZ-DE\"", "customer = \" \"");
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `marketplaces.A1PA6795UKMFR9.customer`: must name a SAP CardCode")
        );
    }
}
