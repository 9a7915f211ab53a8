//! The configuration side of `doctor` for stock: whether merchant-fulfilled stock can be offered
//! on several marketplaces at once (no I/O).

use super::{Finding, Level};
use crate::config::{AllocationPolicy, Config};

const AREA: &str = "Amazon";

/// A warning when `[items]` sends quantities to more than one marketplace and the default policy
/// offers the whole stock on each (a unit sold on one is still offered on the others).
pub(super) fn allocation_finding(config: &Config) -> Option<Finding> {
    let items = &config.items;
    if !items.enabled || items.warehouses.is_empty() || items.marketplaces.len() < 2 {
        return None;
    }
    Some(if items.allocation.default == AllocationPolicy::Full {
        Finding::problem(
            AREA,
            Level::Warn,
            "stock shared between marketplaces",
            format!(
                "every one of the {} items marketplaces offers an item's whole merchant-fulfilled stock: the same unit can sell twice before the next push",
                items.marketplaces.len()
            ),
            "share it in [items.allocation]: policy = \"shares\" with shares = { MARKETPLACE = WEIGHT, ... }, or \"priority\" / \"single\"",
        )
    } else {
        Finding::ok(
            AREA,
            "stock shared between marketplaces",
            "the sum offered never exceeds the stock ([items.allocation])",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigError, TEMPLATE};

    fn parse_at(text: &str) -> Result<Config, ConfigError> {
        Config::parse(std::path::Path::new("/etc/mlc/ml-connector.toml"), text)
    }

    #[test]
    fn a_whole_stock_offered_on_two_marketplaces_is_a_warning() {
        let two = TEMPLATE
            .replace(
                "marketplaces = [\"A1PA6795UKMFR9\"]",
                "marketplaces = [\"A1PA6795UKMFR9\", \"A13V1IB3VIYZZH\"]",
            )
            .replace(
                "[sku_map]",
                "[marketplaces.A13V1IB3VIYZZH]\ncustomer = \"C-FR\"\n\n[sku_map]",
            );
        let c = parse_at(&two).unwrap();
        assert_eq!(c.items.marketplaces.len(), 2);
        assert_eq!(allocation_finding(&c).unwrap().level, Level::Warn);
        let shared = parse_at(&format!(
            "{two}\n[items.allocation]\npolicy = \"shares\"\nshares = {{ A1PA6795UKMFR9 = 1, A13V1IB3VIYZZH = 1 }}\n"
        ))
        .unwrap();
        assert_eq!(allocation_finding(&shared).unwrap().level, Level::Ok);
        assert!(
            allocation_finding(&parse_at(TEMPLATE).unwrap()).is_none(),
            "one marketplace"
        );
    }
}
