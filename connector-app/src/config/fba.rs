//! `[fba]`: the SAP warehouse that mirrors Amazon's FBA stock, reconciled by `ml-connector fba
//! reconcile` (absent = no FBA warehouse is kept), and whether the adjustments that make it equal
//! to Amazon's are planned (`post`): not at all, held for review, or posted.

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
    /// What a reconciliation does with a difference (default: report it only).
    pub post: FbaPost,
    /// The seller's own warehouse the units sent to Amazon leave: a shortfall in the FBA
    /// warehouse is transferred from it (as far as it holds units) before anything is received.
    pub inbound_from: Option<String>,
    /// Offset account (`AccountCode`) of the goods issue rows (default: the item's).
    pub issue_account: Option<String>,
    /// Offset account (`AccountCode`) of the goods receipt rows (default: the item's).
    pub receipt_account: Option<String>,
}

/// `fba.post`: what happens to the adjustment of an item whose units differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FbaPost {
    /// Report the difference; plan nothing.
    #[default]
    Off,
    /// Plan the adjustment HELD for review: `ml-connector replay KEY` posts it.
    Hold,
    /// Post it with `fba reconcile --post` and on the `run` schedule.
    Post,
}

/// `[fba]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFba {
    warehouse: Option<String>,
    marketplace: Option<String>,
    post: Option<String>,
    inbound_from: Option<String>,
    issue_account: Option<String>,
    receipt_account: Option<String>,
}

/// A non-empty, trimmed optional text.
fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
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
        let post = match self.post.as_deref().map(str::trim) {
            None | Some("off") => FbaPost::Off,
            Some("hold") => FbaPost::Hold,
            Some("post") => FbaPost::Post,
            Some(other) => {
                return Err(Invalid::new(
                    "fba.post",
                    format!("`{other}` is not one of \"off\", \"hold\", \"post\""),
                ));
            }
        };
        let inbound_from = text(self.inbound_from);
        if inbound_from.as_deref() == Some(warehouse.as_str()) {
            return Err(Invalid::new(
                "fba.inbound_from",
                "name the seller's own warehouse, not the FBA warehouse itself",
            ));
        }
        Ok(FbaConfig {
            enabled: true,
            warehouse,
            marketplace,
            post,
            inbound_from,
            issue_account: text(self.issue_account),
            receipt_account: text(self.receipt_account),
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
        assert_eq!(c.fba.post, super::FbaPost::Off, "opt-in");
        let c = parse_at(&format!(
            "{TEMPLATE}\n[fba]\nwarehouse = \"FBA\"\npost = \"hold\"\ninbound_from = \"01\"\nissue_account = \"6950\"\n"
        ))
        .unwrap();
        assert_eq!(c.fba.post, super::FbaPost::Hold);
        assert_eq!(c.fba.inbound_from.as_deref(), Some("01"));
        assert_eq!(c.fba.issue_account.as_deref(), Some("6950"));
        assert_eq!(c.fba.receipt_account, None);
        for (bad, key) in [
            ("post = \"yes\"", "fba.post"),
            ("inbound_from = \"FBA\"", "fba.inbound_from"),
        ] {
            let e = parse_at(&format!("{TEMPLATE}\n[fba]\nwarehouse = \"FBA\"\n{bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("key `{key}`")), "{e}");
        }
    }
}
