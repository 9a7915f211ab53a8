//! Whether SAP lets an item be sold on a given day: its Active / Inactive settings with their
//! optional date ranges (Item master data, General tab; Service Layer `Items` properties `Valid`,
//! `ValidFrom`, `ValidTo`, `Frozen`, `FrozenFrom`, `FrozenTo`, all in the v4 metadata).
//!
//! SAP's help for the same fields on business partners: "Active — displays additional fields that
//! allow you to define a period in which the business partner is active. When a business partner
//! exceeds its active period, you can no longer post sales or purchasing documents" (SAP B1 2007A
//! help, quoted at answers.sap.com/questions/4713290); items use the same pair of settings to
//! limit "the time period in which an article can be used in purchasing or sales documents"
//! (sap-b1-blog.com glossary, "Valid until"). So: `Valid = tYES` with dates is active only inside
//! them; `Frozen = tYES` with dates is inactive only inside them, without dates always; a missing
//! end is open. Both ends are whole days and inclusive.

use chrono::NaiveDate;
use sap_b1_client::entities::{Item, SapDate, YesNo};

fn within(day: NaiveDate, from: Option<SapDate>, to: Option<SapDate>) -> bool {
    from.is_none_or(|f| f.0 <= day) && to.is_none_or(|t| day <= t.0)
}

/// Whether the item may be sold on `day` (the company's date): not inactive, not frozen then.
pub fn is_active(item: &Item, day: NaiveDate) -> bool {
    if item.frozen == Some(YesNo::Yes) {
        return !within(day, item.frozen_from, item.frozen_to);
    }
    if item.valid == Some(YesNo::No) {
        return false;
    }
    within(day, item.valid_from, item.valid_to)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn item(v: serde_json::Value) -> Item {
        serde_json::from_value(v).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_frozen_window_stops_sales_inside_it_only() {
        let frozen = item(json!({"ItemCode": "A", "Valid": "tNO", "Frozen": "tYES",
            "FrozenFrom": "2026-12-01T00:00:00Z", "FrozenTo": "2026-12-10T00:00:00Z"}));
        assert!(is_active(&frozen, day("2026-11-30")));
        assert!(!is_active(&frozen, day("2026-12-01")));
        assert!(!is_active(&frozen, day("2026-12-10")));
        assert!(is_active(&frozen, day("2026-12-11")));
        let open_ended =
            item(json!({"ItemCode": "A", "Frozen": "tYES", "FrozenFrom": "2026-12-05"}));
        assert!(is_active(&open_ended, day("2026-12-04")));
        assert!(!is_active(&open_ended, day("2030-01-01")));
        let always = item(json!({"ItemCode": "A", "Frozen": "tYES", "FrozenFrom": null}));
        assert!(!is_active(&always, day("2026-12-04")));
    }

    #[test]
    fn an_active_window_allows_sales_inside_it_only() {
        let window = item(json!({"ItemCode": "A", "Valid": "tYES", "Frozen": "tNO",
            "ValidFrom": "2026-12-01", "ValidTo": "2026-12-24"}));
        assert!(!is_active(&window, day("2026-11-30")));
        assert!(is_active(&window, day("2026-12-24")));
        assert!(!is_active(&window, day("2026-12-25")));
        assert!(is_active(
            &item(json!({"ItemCode": "A", "Valid": "tYES"})),
            day("2026-12-25")
        ));
        assert!(!is_active(
            &item(json!({"ItemCode": "A", "Valid": "tNO"})),
            day("2026-12-25")
        ));
    }
}
