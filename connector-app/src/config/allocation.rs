//! `[items.allocation]`: how one item's merchant-fulfilled stock is shared between the marketplaces
//! it is listed on, by default and per SKU group (`[[items.allocation.groups]]`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Invalid;

/// How a pool of units is offered across marketplaces.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AllocationPolicy {
    /// Every marketplace offers all of it (the sum offered can exceed the stock: each sale on one
    /// marketplace is still offered on the others until the next push).
    #[default]
    Full,
    /// Fixed shares per marketplace (weights); a marketplace not named gets nothing. Rounding
    /// never gives out more than the pool (largest remainder).
    Shares(BTreeMap<String, u32>),
    /// Each marketplace in this order first gets its minimum (while units are left); whatever
    /// remains goes to the first. A listed marketplace not named here gets nothing.
    Priority {
        /// Marketplaces, most important first.
        order: Vec<String>,
        /// Units each marketplace is given before the first takes the rest.
        minimum: u32,
    },
    /// One marketplace offers all of it, the others 0.
    Single(String),
}

/// A policy for the SKUs matching some patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationGroup {
    /// SKU patterns: an exact SKU, or a prefix ending in `*`.
    pub skus: Vec<String>,
    /// The group's policy.
    pub policy: AllocationPolicy,
}

impl AllocationGroup {
    /// Whether a SKU belongs to the group.
    pub fn matches(&self, sku: &str) -> bool {
        self.skus.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => sku.starts_with(prefix),
            None => p == sku,
        })
    }
}

/// `[items.allocation]`, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllocationConfig {
    /// The policy of SKUs in no group.
    pub default: AllocationPolicy,
    /// Groups, first match wins.
    pub groups: Vec<AllocationGroup>,
    /// Whether open merchant-fulfilled orders (pending, unshipped, partly shipped) are read from
    /// Amazon on each run and taken out of the pool (SAP does not know them yet).
    pub open_orders: bool,
}

impl AllocationConfig {
    /// The policy of an item whose SKUs are `skus` (the first group any of them matches).
    pub fn policy_for<'a>(
        &self,
        skus: impl IntoIterator<Item = &'a str> + Clone,
    ) -> &AllocationPolicy {
        self.groups
            .iter()
            .find(|g| skus.clone().into_iter().any(|s| g.matches(s)))
            .map_or(&self.default, |g| &g.policy)
    }
}

/// A policy as written (the section itself and each group).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAllocation {
    policy: Option<String>,
    shares: Option<BTreeMap<String, u32>>,
    priority: Option<Vec<String>>,
    minimum: Option<u32>,
    marketplace: Option<String>,
    skus: Option<Vec<String>>,
    open_orders: Option<bool>,
    #[serde(default)]
    groups: Vec<RawAllocation>,
}

impl RawAllocation {
    /// Validates the section; `marketplaces` are the items marketplaces.
    pub(super) fn validate(self, marketplaces: &[String]) -> Result<AllocationConfig, Invalid> {
        let key = "items.allocation";
        if self.skus.is_some() {
            return Err(Invalid::new(
                key,
                "`skus` belongs in a [[items.allocation.groups]] entry",
            ));
        }
        let open_orders = self.open_orders.unwrap_or(true);
        let mut groups = Vec::new();
        for (i, g) in self.groups.iter().enumerate() {
            let gkey = format!("{key}.groups[{i}]");
            if !g.groups.is_empty() || g.open_orders.is_some() {
                return Err(Invalid::new(
                    &gkey,
                    "a group holds `skus` and a policy only",
                ));
            }
            let skus = g.skus.clone().unwrap_or_default();
            if skus.is_empty() || skus.iter().any(|s| s.trim().is_empty() || s == "*") {
                return Err(Invalid::new(
                    &gkey,
                    "list the group's SKUs (`skus = [\"MUG-*\", \"A00042\"]`; a pattern is a SKU or a prefix ending in `*`, not `*` alone)",
                ));
            }
            groups.push(AllocationGroup {
                skus,
                policy: g.policy(&gkey, marketplaces)?,
            });
        }
        Ok(AllocationConfig {
            default: self.policy(key, marketplaces)?,
            groups,
            open_orders,
        })
    }

    fn policy(&self, key: &str, marketplaces: &[String]) -> Result<AllocationPolicy, Invalid> {
        let fail = |reason: String| Invalid::new(key, reason);
        let known = |m: &String| {
            if marketplaces.contains(m) {
                Ok(())
            } else {
                Err(fail(format!("{m} is not one of the items marketplaces")))
            }
        };
        let policy = self.policy.as_deref().unwrap_or("full");
        let stray = |fields: &[(&str, bool)]| -> Result<(), Invalid> {
            match fields.iter().find(|(_, set)| *set) {
                Some((name, _)) => Err(fail(format!(
                    "`{name}` does not apply to policy `{policy}`"
                ))),
                None => Ok(()),
            }
        };
        let (shares, priority, minimum, single) = (
            self.shares.is_some(),
            self.priority.is_some(),
            self.minimum.is_some(),
            self.marketplace.is_some(),
        );
        match policy {
            "full" => {
                stray(&[
                    ("shares", shares),
                    ("priority", priority),
                    ("minimum", minimum),
                    ("marketplace", single),
                ])?;
                Ok(AllocationPolicy::Full)
            }
            "shares" => {
                stray(&[
                    ("priority", priority),
                    ("minimum", minimum),
                    ("marketplace", single),
                ])?;
                let shares = self.shares.clone().unwrap_or_default();
                shares.keys().try_for_each(known)?;
                if shares.values().all(|w| *w == 0) {
                    return Err(fail(
                        "policy `shares` needs `shares = { MARKETPLACE = WEIGHT, ... }` with a weight above 0".into(),
                    ));
                }
                Ok(AllocationPolicy::Shares(shares))
            }
            "priority" => {
                stray(&[("shares", shares), ("marketplace", single)])?;
                let order = self.priority.clone().unwrap_or_default();
                if order.is_empty() {
                    return Err(fail(
                        "policy `priority` needs `priority = [MARKETPLACE, ...]`, most important first".into(),
                    ));
                }
                order.iter().try_for_each(known)?;
                if let Some(dup) = order
                    .iter()
                    .enumerate()
                    .find(|(i, m)| order[..*i].contains(m))
                {
                    return Err(fail(format!("{} is named twice in `priority`", dup.1)));
                }
                Ok(AllocationPolicy::Priority {
                    order,
                    minimum: self.minimum.unwrap_or(0),
                })
            }
            "single" => {
                stray(&[
                    ("shares", shares),
                    ("priority", priority),
                    ("minimum", minimum),
                ])?;
                let m = self.marketplace.clone().ok_or_else(|| {
                    fail("policy `single` needs `marketplace = MARKETPLACE`".into())
                })?;
                known(&m)?;
                Ok(AllocationPolicy::Single(m))
            }
            other => Err(fail(format!(
                "policy `{other}` is not `full`, `shares`, `priority` or `single`"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{TEMPLATE, parse_at};
    use super::AllocationPolicy;

    const DE: &str = "A1PA6795UKMFR9";

    fn with(section: &str) -> Result<super::AllocationConfig, String> {
        parse_at(&format!("{TEMPLATE}\n[items.allocation]\n{section}"))
            .map(|c| c.items.allocation)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn policies_parse_and_groups_match_by_prefix() {
        let a = with(&format!(
            "policy = \"shares\"\nshares = {{ {DE} = 3 }}\nopen_orders = false\n[[items.allocation.groups]]\nskus = [\"MUG-*\", \"A1\"]\npolicy = \"single\"\nmarketplace = \"{DE}\""
        ))
        .unwrap();
        assert_eq!(
            a.default,
            AllocationPolicy::Shares([(DE.to_owned(), 3)].into())
        );
        assert!(!a.open_orders);
        assert_eq!(
            a.policy_for(["MUG-RED"]),
            &AllocationPolicy::Single(DE.into())
        );
        assert_eq!(a.policy_for(["A1"]), &AllocationPolicy::Single(DE.into()));
        assert_eq!(a.policy_for(["A12"]), &a.default);
        let none = parse_at(TEMPLATE).unwrap().items.allocation;
        assert_eq!(none.default, AllocationPolicy::Full);
        assert!(none.open_orders);
    }

    #[test]
    fn bad_policies_name_the_key_and_the_reason() {
        let e = with("policy = \"fair\"").unwrap_err();
        assert!(
            e.contains("key `items.allocation`") && e.contains("`fair`"),
            "{e}"
        );
        let e = with("policy = \"shares\"").unwrap_err();
        assert!(e.contains("weight above 0"), "{e}");
        let e = with("policy = \"single\"\nmarketplace = \"ATVPDKIKX0DER\"").unwrap_err();
        assert!(
            e.contains("ATVPDKIKX0DER is not one of the items marketplaces"),
            "{e}"
        );
        let e = with(&format!(
            "policy = \"full\"\nminimum = 2\nmarketplace = \"{DE}\""
        ))
        .unwrap_err();
        assert!(
            e.contains("`minimum` does not apply to policy `full`"),
            "{e}"
        );
        let e = with(&format!(
            "policy = \"priority\"\npriority = [\"{DE}\", \"{DE}\"]"
        ))
        .unwrap_err();
        assert!(e.contains("named twice"), "{e}");
        let e = with("[[items.allocation.groups]]\nskus = [\"*\"]").unwrap_err();
        assert!(e.contains("key `items.allocation.groups[0]`"), "{e}");
    }
}
