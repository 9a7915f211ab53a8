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
