//! `[schedule]`: when the daemon runs each flow (an interval or a cron expression, UTC).

use serde::Deserialize;

use super::Invalid;
use crate::schedule::Schedule;

/// Flow schedules.
#[derive(Debug, Clone)]
pub struct Schedules {
    /// Orders -> invoices.
    pub orders: Schedule,
    /// Settlements -> receipts and journal entries.
    pub settlements: Schedule,
    /// SAP items -> Amazon listings.
    pub items: Schedule,
    /// Amazon's FBA stock against SAP's FBA warehouse (report only).
    pub fba: Schedule,
}

/// `[schedule]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    orders: Option<String>,
    settlements: Option<String>,
    items: Option<String>,
    fba: Option<String>,
}

impl RawSchedule {
    /// Parses each flow's schedule, defaulting to 15m / 6h / 30m / 1d.
    pub(super) fn validate(self) -> Result<Schedules, Invalid> {
        let schedule = |key: &str, v: Option<String>, default: &str| {
            Schedule::parse(v.as_deref().unwrap_or(default)).map_err(|e| Invalid::new(key, e))
        };
        Ok(Schedules {
            orders: schedule("schedule.orders", self.orders, "15m")?,
            settlements: schedule("schedule.settlements", self.settlements, "6h")?,
            items: schedule("schedule.items", self.items, "30m")?,
            fba: schedule("schedule.fba", self.fba, "1d")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{TEMPLATE, parse_at};
    use crate::schedule::Schedule;

    #[test]
    fn schedules_are_intervals_or_cron() {
        let c = parse_at(TEMPLATE).unwrap();
        assert_eq!(c.schedule.orders, Schedule::Every(Duration::from_secs(900)));
        let cron = TEMPLATE.replace("settlements = \"6h\"", "settlements = \"0 6 * * 1-5\"");
        assert!(matches!(
            parse_at(&cron).unwrap().schedule.settlements,
            Schedule::Cron(_)
        ));
        let bad = TEMPLATE.replace("orders = \"15m\"", "orders = \"sometimes\"");
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `schedule.orders`: `sometimes` is not a duration")
        );
    }
}
