//! Flow schedules: a fixed interval (`30s`, `15m`, `6h`, `1d`) or a five-field cron expression
//! (`minute hour day-of-month month day-of-week`, UTC).
//!
//! Intervals are read by `humantime`; cron expressions by `croner`, with Vixie cron's rule for the
//! two day fields: when both are restricted, a day matches either (`0 0 13 * 5` runs on the 13th
//! and on every Friday).

use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};

/// When a flow runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every so often, counted from the end of the previous run.
    Every(Duration),
    /// At the minutes a cron expression names (UTC).
    Cron(Cron),
}

impl Schedule {
    /// Parses `15m` / `6h` / `1d` / `30s` or a five-field cron expression.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.split_whitespace().count() == 5 {
            return Cron::parse(text).map(Self::Cron);
        }
        parse_duration(text).map(Self::Every).map_err(|e| {
            format!("{e}; write an interval such as `15m`, `6h`, `1d`, or a cron expression such as `*/15 * * * *`")
        })
    }

    /// The next run after `last_end`.
    pub fn next_after(&self, last_end: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Every(d) => {
                last_end + chrono::Duration::from_std(*d).unwrap_or(chrono::Duration::MAX)
            }
            Self::Cron(c) => c.next_after(last_end),
        }
    }
}

/// Parses a positive duration of at least a second: `30s`, `15m`, `6h`, `1d`, `400d` (also
/// combinations such as `1h 30m`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}; units: s, m, h, d)"))?;
    if d.is_zero() {
        return Err(format!("`{text}` must be longer than zero"));
    }
    if d < Duration::from_secs(1) {
        return Err(format!("`{text}` is shorter than a second"));
    }
    Ok(d)
}

/// The five fields, in order, for error messages.
const FIELDS: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];

/// A parsed five-field cron expression (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    /// Boxed: croner's parsed pattern is large and `Schedule::Every` is not.
    cron: Box<croner::Cron>,
}

impl Cron {
    /// Parses `minute hour day-of-month month day-of-week`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("`{text}`: a cron expression has five fields"));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        match parser.parse(text) {
            Ok(cron) => Ok(Self {
                text: text.to_owned(),
                cron: Box::new(cron),
            }),
            Err(e) => {
                // croner does not say which field is wrong: try each on its own to name it.
                for (i, name) in FIELDS.iter().enumerate() {
                    let mut alone = ["*"; 5];
                    alone[i] = fields[i];
                    if let Err(e) = parser.parse(&alone.join(" ")) {
                        return Err(format!("`{text}`: {name} field `{}`: {e}", fields[i]));
                    }
                }
                Err(format!("`{text}`: {e}"))
            }
        }
    }

    /// The first matching minute strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        // An expression that never matches (`0 0 30 2 *`) waits five years, then is looked at again.
        self.cron
            .find_next_occurrence(&t, false)
            .unwrap_or_else(|_| t + chrono::Duration::days(5 * 366))
    }
}

impl std::fmt::Display for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn intervals() {
        assert_eq!(
            Schedule::parse("15m").unwrap(),
            Schedule::Every(Duration::from_secs(900))
        );
        assert_eq!(
            Schedule::parse("1d").unwrap(),
            Schedule::Every(Duration::from_secs(86_400))
        );
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert_eq!(
            parse_duration("400d"),
            Ok(Duration::from_secs(400 * 86_400))
        );
        assert!(Schedule::parse("0m").is_err());
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("500ms").is_err());
        assert!(
            Schedule::parse("soon")
                .unwrap_err()
                .contains("cron expression")
        );
    }

    #[test]
    fn cron_next_runs() {
        let every_quarter = Schedule::parse("*/15 * * * *").unwrap();
        assert_eq!(
            every_quarter.next_after(at("2026-11-27T10:07:31Z")),
            at("2026-11-27T10:15:00Z")
        );
        assert_eq!(
            every_quarter.next_after(at("2026-11-27T10:15:00Z")),
            at("2026-11-27T10:30:00Z")
        );
        let weekdays_at_six = Schedule::parse("0 6 * * 1-5").unwrap();
        // 2026-11-27 is a Friday; the next weekday 06:00 is Monday the 30th.
        assert_eq!(
            weekdays_at_six.next_after(at("2026-11-27T07:00:00Z")),
            at("2026-11-30T06:00:00Z")
        );
        let sundays = Schedule::parse("30 2 * * 7").unwrap();
        assert_eq!(
            sundays.next_after(at("2026-11-27T00:00:00Z")),
            at("2026-11-29T02:30:00Z")
        );
        let first_of_month = Schedule::parse("0 3 1 * *").unwrap();
        assert_eq!(
            first_of_month.next_after(at("2026-11-27T00:00:00Z")),
            at("2026-12-01T03:00:00Z")
        );
        assert!(
            Schedule::parse("61 * * * *")
                .unwrap_err()
                .contains("minute field")
        );
        assert!(
            Schedule::parse("0 0 * 13 *")
                .unwrap_err()
                .contains("month field `13`")
        );
    }

    #[test]
    fn day_of_month_and_day_of_week_both_set_fire_on_either() {
        // As in Vixie cron: the 13th of each month, and every Friday.
        let s = Schedule::parse("0 0 13 * 5").unwrap();
        let mut t = at("2026-11-27T07:00:00Z"); // a Friday, after midnight
        let mut runs = Vec::new();
        for _ in 0..4 {
            t = s.next_after(t);
            runs.push(t);
        }
        assert_eq!(
            runs,
            [
                at("2026-12-04T00:00:00Z"), // Friday
                at("2026-12-11T00:00:00Z"), // Friday
                at("2026-12-13T00:00:00Z"), // the 13th, a Sunday
                at("2026-12-18T00:00:00Z"), // Friday
            ]
        );
    }

    #[test]
    fn the_expression_is_displayed_as_written() {
        let Schedule::Cron(c) = Schedule::parse("*/15 * * * *").unwrap() else {
            panic!("not a cron schedule");
        };
        assert_eq!(c.to_string(), "*/15 * * * *");
    }
}
