//! Flow schedules: a fixed interval (`30s`, `15m`, `6h`, `1d`) or a five-field cron expression
//! (`minute hour day-of-month month day-of-week`, UTC; `*`, `*/n`, `a-b`, `a-b/n` and lists).

use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike, Utc};

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

/// Parses `30s`, `15m`, `6h`, `1d` (a positive whole number and a unit).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration"))?;
    let secs = match unit.trim() {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("`{text}` is not a duration (units: s, m, h, d)")),
    };
    if secs == 0 {
        return Err(format!("`{text}` must be longer than zero"));
    }
    Ok(Duration::from_secs(secs))
}

/// A parsed five-field cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
}

impl Cron {
    /// Parses `minute hour day-of-month month day-of-week`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("`{text}`: a cron expression has five fields"));
        }
        let f = |i: usize, lo: u32, hi: u32, name: &str| {
            field(fields[i], lo, hi)
                .map_err(|e| format!("`{text}`: {name} field `{}`: {e}", fields[i]))
        };
        let mut weekdays = f(4, 0, 7, "day-of-week")?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1; // 7 is Sunday too
        }
        Ok(Self {
            text: text.to_owned(),
            minutes: f(0, 0, 59, "minute")?,
            hours: f(1, 0, 23, "hour")?,
            days: f(2, 1, 31, "day-of-month")?,
            months: f(3, 1, 12, "month")?,
            weekdays,
        })
    }

    /// The first matching minute strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let mut c = t
            .with_second(0)
            .and_then(|c| c.with_nanosecond(0))
            .unwrap_or(t)
            + chrono::Duration::minutes(1);
        // Five years of minutes bounds the search for expressions like `0 0 29 2 *`.
        for _ in 0..(5 * 366 * 24 * 60) {
            let matches = self.months & (1 << c.month()) != 0
                && self.days & (1 << c.day()) != 0
                && self.weekdays & (1 << c.weekday().num_days_from_sunday()) != 0
                && self.hours & (1 << c.hour()) != 0
                && self.minutes & (1 << c.minute()) != 0;
            if matches {
                return c;
            }
            c += chrono::Duration::minutes(1);
        }
        c
    }
}

impl std::fmt::Display for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn field(text: &str, lo: u32, hi: u32) -> Result<u64, String> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| format!("bad step `{s}`"))?),
            None => (part, 1),
        };
        if step == 0 {
            return Err("step must be above zero".into());
        }
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (num(a, lo, hi)?, num(b, lo, hi)?)
        } else {
            let a = num(range, lo, hi)?;
            (a, if part.contains('/') { hi } else { a })
        };
        if a > b {
            return Err(format!("range {a}-{b} is backwards"));
        }
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

fn num(s: &str, lo: u32, hi: u32) -> Result<u32, String> {
    let n: u32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if n < lo || n > hi {
        return Err(format!("{n} is outside {lo}-{hi}"));
    }
    Ok(n)
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
        assert!(Schedule::parse("0m").is_err());
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
        assert!(
            Schedule::parse("61 * * * *")
                .unwrap_err()
                .contains("minute field")
        );
    }
}
