//! The date forms Amazon writes into settlement files, and nothing else.
//!
//! NA V2 files use `2024-10-09 14:28:38 UTC`, EU and UK V2 files `13.09.2024 08:59:52 UTC`, V1 files
//! ISO-8601 with an offset (`2025-06-05T22:07:18+00:00`); posted-date cells carry the date-only form of
//! each. Anything else (Excel's `09/06/25`, a missing zone) is an error rather than a guess.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// Why a cell could not be read as a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a settlement date (expected `YYYY-MM-DD HH:MM:SS UTC`, `DD.MM.YYYY HH:MM:SS UTC`, ISO-8601 with an offset, or a date-only form of these)"
)]
pub struct DateError(pub String);

/// Parses a timestamp cell; a date-only cell is midnight UTC of that day.
pub fn parse_timestamp(cell: &str) -> Result<DateTime<Utc>, DateError> {
    let err = || DateError(cell.to_owned());
    let b = cell.as_bytes();
    if b.len() == 23 && cell.ends_with(" UTC") {
        let date = parse_date_only(&cell[..10]).ok_or_else(err)?;
        if b[10] != b' ' {
            return Err(err());
        }
        let time = parse_hms(&b[11..19]).ok_or_else(err)?;
        return Ok(NaiveDateTime::new(date, time).and_utc());
    }
    if b.len() == 10 {
        let date = parse_date_only(cell).ok_or_else(err)?;
        return Ok(date.and_time(NaiveTime::MIN).and_utc());
    }
    // ISO-8601 / RFC 3339 with an explicit offset (`Z` or `+hh:mm`).
    if b.len() >= 20 && b[4] == b'-' && (b[10] == b'T' || b[10] == b't') {
        return DateTime::parse_from_rfc3339(cell)
            .map(|dt| dt.with_timezone(&Utc))
            .map_err(|_| err());
    }
    Err(err())
}

/// Parses a date cell: a date-only form, or the UTC date of any timestamp form.
pub fn parse_date(cell: &str) -> Result<NaiveDate, DateError> {
    if cell.len() == 10 {
        return parse_date_only(cell).ok_or_else(|| DateError(cell.to_owned()));
    }
    parse_timestamp(cell).map(|ts| ts.date_naive())
}

/// `YYYY-MM-DD` or `DD.MM.YYYY`.
fn parse_date_only(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 {
        return None;
    }
    let (y, m, d) = if b[4] == b'-' && b[7] == b'-' {
        (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?)
    } else if b[2] == b'.' && b[5] == b'.' {
        (num(&b[6..10])?, num(&b[3..5])?, num(&b[0..2])?)
    } else {
        return None;
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// `HH:MM:SS`.
fn parse_hms(b: &[u8]) -> Option<NaiveTime> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    NaiveTime::from_hms_opt(num(&b[0..2])?, num(&b[3..5])?, num(&b[6..8])?)
}

fn num(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn reads_every_form_amazon_writes() {
        assert_eq!(
            parse_timestamp("2024-10-09 14:28:38 UTC").unwrap(),
            utc("2024-10-09T14:28:38Z")
        );
        assert_eq!(
            parse_timestamp("13.09.2024 08:59:52 UTC").unwrap(),
            utc("2024-09-13T08:59:52Z")
        );
        assert_eq!(
            parse_timestamp("2025-06-05T22:07:18+00:00").unwrap(),
            utc("2025-06-05T22:07:18Z")
        );
        assert_eq!(
            parse_timestamp("2003-10-03T16:00:00-07:00").unwrap(),
            utc("2003-10-03T23:00:00Z")
        );
        assert_eq!(
            parse_timestamp("2024-10-18").unwrap(),
            utc("2024-10-18T00:00:00Z")
        );
        assert_eq!(
            parse_timestamp("15.11.2024").unwrap(),
            utc("2024-11-15T00:00:00Z")
        );
        assert_eq!(
            parse_date("15.11.2024").unwrap(),
            NaiveDate::from_ymd_opt(2024, 11, 15).unwrap()
        );
        assert_eq!(
            parse_date("2003-10-03T23:30:00-07:00").unwrap(),
            NaiveDate::from_ymd_opt(2003, 10, 4).unwrap()
        );
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "09/06/25",
            "2024-10-09 14:28:38",
            "2024-10-09 14:28:38 PST",
            "2024-13-01",
            "31.02.2024",
            "2024-10-09T14:28:38",
            "yesterday",
            "",
            "2024-10-09 25:00:00 UTC",
            "13.09.2024T08:59:52 UTC",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
