//! `[sku_map]`: Amazon SKU -> SAP ItemCode overrides (a SKU not listed is its own ItemCode).

use std::collections::BTreeMap;

use super::Invalid;

/// Every override names an ItemCode.
pub(super) fn validate(sku_map: &BTreeMap<String, String>) -> Result<(), Invalid> {
    for (sku, item) in sku_map {
        if item.trim().is_empty() {
            return Err(Invalid::new(
                format!("sku_map.\"{sku}\""),
                "must name a SAP ItemCode",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{TEMPLATE, parse_at};

    #[test]
    fn a_sku_maps_to_its_override_or_itself() {
        let c = parse_at(TEMPLATE).unwrap();
        assert_eq!(c.item_code("X-1"), "X-1");
        let mapped = TEMPLATE.replace(
            "# \"AMZ-BLUE-MUG\" = \"A00042\"",
            "\"AMZ-BLUE-MUG\" = \"A00042\"",
        );
        assert_eq!(
            parse_at(&mapped).unwrap().item_code("AMZ-BLUE-MUG"),
            "A00042"
        );
        let bad = TEMPLATE.replace("[sku_map]", "[sku_map]\nunknown_key = 1\n[typo]");
        assert!(parse_at(&bad).is_err());
        let bad = TEMPLATE.replace("# \"AMZ-BLUE-MUG\" = \"A00042\"", "\"AMZ-BLUE-MUG\" = \"\"");
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `sku_map.\"AMZ-BLUE-MUG\"`")
        );
    }
}
