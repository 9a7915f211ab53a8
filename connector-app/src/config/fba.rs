//! `[fba]`: the SAP warehouse that mirrors Amazon's FBA stock, reconciled by `ml-connector fba
//! reconcile` (absent = no FBA warehouse is kept).

use serde::Deserialize;

use super::Invalid;

/// `[fba]`, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FbaConfig {
    /// Whether an `[fba]` section exists.
    pub enabled: bool,
    /// The SAP warehouse code holding the units at Amazon (e.g. `FBA`).
    pub warehouse: String,
    /// The marketplace whose FBA inventory is read (a unified account shares one pool across its
    /// marketplaces, so reading one is enough; default: the first of `amazon.marketplaces`).
    pub marketplace: String,
}

/// `[fba]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFba {
    warehouse: Option<String>,
    marketplace: Option<String>,
}

impl RawFba {
    /// Validates `[fba]`; `synced` is `amazon.marketplaces`.
    pub(super) fn validate(self, synced: &[String]) -> Result<FbaConfig, Invalid> {
        let warehouse = self
            .warehouse
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty())
            .ok_or_else(|| {
                Invalid::new(
                    "fba.warehouse",
                    "name the SAP warehouse that holds the units at Amazon (e.g. warehouse = \"FBA\")",
                )
            })?;
        let marketplace = match self.marketplace {
            Some(m) if synced.contains(&m) => m,
            Some(m) => {
                return Err(Invalid::new(
                    "fba.marketplace",
                    format!("{m} is not in amazon.marketplaces"),
                ));
            }
            None => synced.first().cloned().unwrap_or_default(),
        };
        Ok(FbaConfig {
            enabled: true,
            warehouse,
            marketplace,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{TEMPLATE, parse_at};

    #[test]
    fn the_section_names_a_warehouse_and_defaults_the_marketplace() {
        assert!(!parse_at(TEMPLATE).unwrap().fba.enabled);
        let c = parse_at(&format!("{TEMPLATE}\n[fba]\nwarehouse = \"FBA\"\n")).unwrap();
        assert_eq!(
            (c.fba.warehouse.as_str(), c.fba.marketplace.as_str()),
            ("FBA", "A1PA6795UKMFR9")
        );
        let e = parse_at(&format!("{TEMPLATE}\n[fba]\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("key `fba.warehouse`"), "{e}");
        let e = parse_at(&format!(
            "{TEMPLATE}\n[fba]\nwarehouse = \"FBA\"\nmarketplace = \"ATVPDKIKX0DER\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("key `fba.marketplace`"), "{e}");
    }
}
