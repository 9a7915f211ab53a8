//! `[posting]`: how sales reach SAP, per marketplace: an A/R invoice per order (`per-order`, the
//! default) or a handful of documents per settlement part whose amounts come from the settlement
//! (`summary`), switchable at a cut-over date.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use super::Invalid;

/// How a marketplace's sales are posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PostingMode {
    /// One A/R invoice per shipped order (orders flow); settlements pay them.
    #[default]
    PerOrder,
    /// Orders post nothing; each settlement part becomes a summary A/R invoice (a line per SKU and
    /// tax code), a summary credit note for its refunds and one payment closing both.
    Summary,
}

/// `[posting]`, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostingConfig {
    /// The mode of marketplaces not listed in `marketplaces`.
    pub mode: PostingMode,
    /// Per marketplace id, a mode other than `mode`.
    pub marketplaces: BTreeMap<String, PostingMode>,
    /// Summary mode applies to sales posted (settlement) or dated (order) on or after this day;
    /// earlier ones stay per order. `None`: from the start.
    pub summary_from: Option<NaiveDate>,
}

impl PostingConfig {
    /// The mode of a marketplace, by its id.
    pub fn mode_of(&self, marketplace_id: &str) -> PostingMode {
        self.marketplaces
            .get(marketplace_id)
            .copied()
            .unwrap_or(self.mode)
    }

    /// Whether a sale of `marketplace_id` dated `date` is summarised by its settlement (and so
    /// gets no invoice of its own).
    pub fn summarises(&self, marketplace_id: &str, date: NaiveDate) -> bool {
        self.mode_of(marketplace_id) == PostingMode::Summary
            && self.summary_from.is_none_or(|from| date >= from)
    }

    /// Whether any marketplace is in summary mode.
    pub fn any_summary(&self) -> bool {
        self.mode == PostingMode::Summary
            || self
                .marketplaces
                .values()
                .any(|m| *m == PostingMode::Summary)
    }
}

/// `[posting]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPosting {
    mode: Option<PostingMode>,
    #[serde(default)]
    marketplaces: BTreeMap<String, PostingMode>,
    summary_from: Option<String>,
}

impl RawPosting {
    /// Validates `[posting]`; `synced` is `amazon.marketplaces`.
    pub(super) fn validate(self, synced: &[String]) -> Result<PostingConfig, Invalid> {
        for id in self.marketplaces.keys() {
            if !synced.contains(id) {
                return Err(Invalid::new(
                    format!("posting.marketplaces.{id}"),
                    format!("{id} is not in amazon.marketplaces"),
                ));
            }
        }
        let summary_from = match self.summary_from.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| {
                Invalid::new(
                    "posting.summary_from",
                    format!("\"{s}\" is not a date YYYY-MM-DD ({e})"),
                )
            })?),
        };
        Ok(PostingConfig {
            mode: self.mode.unwrap_or_default(),
            marketplaces: self.marketplaces,
            summary_from,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{TEMPLATE, parse_at};
    use super::*;

    /// The template with its `[posting]` section's body replaced.
    fn with(body: &str) -> String {
        TEMPLATE.replace("mode = \"per-order\"", body)
    }

    #[test]
    fn per_order_by_default_summary_from_the_cut_over_date() {
        let c = parse_at(TEMPLATE).unwrap();
        assert_eq!(c.posting.mode_of("A1PA6795UKMFR9"), PostingMode::PerOrder);
        assert!(!c.posting.any_summary());
        let c = parse_at(&with(
            "mode = \"per-order\"\nsummary_from = \"2026-06-01\"\nmarketplaces = { A1PA6795UKMFR9 = \"summary\" }",
        ))
        .unwrap();
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(c.posting.any_summary());
        assert!(!c.posting.summarises("A1PA6795UKMFR9", day("2026-05-31")));
        assert!(c.posting.summarises("A1PA6795UKMFR9", day("2026-06-01")));
        assert!(!c.posting.summarises("A13V1IB3VIYZZH", day("2026-06-01")));
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = parse_at(&with("mode = \"daily\"")).unwrap_err().to_string();
        assert!(e.contains("daily"), "{e}");
        let e = parse_at(&with("summary_from = \"1 June\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("key `posting.summary_from`"), "{e}");
        let e = parse_at(&with("marketplaces = { ATVPDKIKX0DER = \"summary\" }"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("key `posting.marketplaces.ATVPDKIKX0DER`"),
            "{e}"
        );
    }
}
