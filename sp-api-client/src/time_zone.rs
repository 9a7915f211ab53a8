//! The time zone of each marketplace, for dates a seller's books take from Amazon's UTC times (an
//! invoice's date of supply, a settlement's posting month).
//!
//! Amazon's own dates per marketplace: US, CA and MX run on Pacific time (the zones Amazon Ads
//! reports each marketplace's dates in, as collected by `@scaleleap/amazon-marketplaces`
//! `AmazonMarketplaceTimeZone`, PR #534); every other marketplace on its country's zone. The
//! rules are today's (no tz database in the build: chrono-tz would compile the whole IANA
//! database for fifteen zones): US DST from the second Sunday of March to the first Sunday of
//! November at 02:00 local; EU summer time from the last Sunday of March to the last Sunday of
//! October at 01:00 UTC; New South Wales from the first Sunday of October to the first Sunday of
//! April; Egypt (since 2023) from the last Friday of April to the last Thursday of October; none
//! elsewhere (Mexico City stopped in 2022, Sao Paulo in 2019, Istanbul in 2016).

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};

/// How a zone moves its clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dst {
    None,
    Us,
    Eu,
    NewSouthWales,
    Egypt,
}

/// A marketplace's time zone: its IANA name and the rule that gives its UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketplaceZone {
    /// IANA name, e.g. `America/Los_Angeles`.
    pub iana: &'static str,
    /// Standard offset from UTC in minutes.
    standard_minutes: i32,
    dst: Dst,
}

const fn z(iana: &'static str, standard_minutes: i32, dst: Dst) -> MarketplaceZone {
    MarketplaceZone {
        iana,
        standard_minutes,
        dst,
    }
}

const PACIFIC: MarketplaceZone = z("America/Los_Angeles", -8 * 60, Dst::Us);

/// Marketplace id -> zone, for every marketplace of [`crate::region::MARKETPLACES`].
const ZONES: &[(&str, MarketplaceZone)] = &[
    ("A2EUQ1WTGCTBG2", PACIFIC),                                    // CA
    ("ATVPDKIKX0DER", PACIFIC),                                     // US
    ("A1AM78C64UM0Y8", PACIFIC),                                    // MX
    ("A2Q3Y263D00KWC", z("America/Sao_Paulo", -3 * 60, Dst::None)), // BR
    ("A28R8C7NBKEWEA", z("Europe/Dublin", 0, Dst::Eu)),             // IE
    ("A1RKKUPIHCS9HS", z("Europe/Madrid", 60, Dst::Eu)),            // ES
    ("A1F83G8C2ARO7P", z("Europe/London", 0, Dst::Eu)),             // UK
    ("A13V1IB3VIYZZH", z("Europe/Paris", 60, Dst::Eu)),             // FR
    ("AMEN7PMS3EDWL", z("Europe/Brussels", 60, Dst::Eu)),           // BE
    ("A1805IZSGTT6HS", z("Europe/Amsterdam", 60, Dst::Eu)),         // NL
    ("A1PA6795UKMFR9", z("Europe/Berlin", 60, Dst::Eu)),            // DE
    ("APJ6JRA9NG5V4", z("Europe/Rome", 60, Dst::Eu)),               // IT
    ("A2NODRKZP88ZB9", z("Europe/Stockholm", 60, Dst::Eu)),         // SE
    ("AE08WJ6YKNBMC", z("Africa/Johannesburg", 2 * 60, Dst::None)), // ZA
    ("A1C3SOZRARQ6R3", z("Europe/Warsaw", 60, Dst::Eu)),            // PL
    ("ARBP9OOSHTCHU", z("Africa/Cairo", 2 * 60, Dst::Egypt)),       // EG
    ("A33AVAJ2PDY3EV", z("Europe/Istanbul", 3 * 60, Dst::None)),    // TR
    ("A17E79C6D8DWNP", z("Asia/Riyadh", 3 * 60, Dst::None)),        // SA
    ("A2VIGQ35RCS4UG", z("Asia/Dubai", 4 * 60, Dst::None)),         // AE
    ("A21TJRUUN4KGV", z("Asia/Kolkata", 5 * 60 + 30, Dst::None)),   // IN
    ("A19VAU5U5O7RUS", z("Asia/Singapore", 8 * 60, Dst::None)),     // SG
    (
        "A39IBJ37TRP1C6",
        z("Australia/Sydney", 10 * 60, Dst::NewSouthWales),
    ), // AU
    ("A1VC38T7YXB528", z("Asia/Tokyo", 9 * 60, Dst::None)),         // JP
];

impl MarketplaceZone {
    /// The zone of a marketplace id (`None` for an id not in Amazon's table).
    pub fn of(marketplace_id: &str) -> Option<MarketplaceZone> {
        ZONES
            .iter()
            .find(|(id, _)| *id == marketplace_id)
            .map(|(_, zone)| *zone)
    }

    /// The zone's UTC offset at `at`.
    pub fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        let minutes = self.standard_minutes + if self.in_dst(at) { 60 } else { 0 };
        FixedOffset::east_opt(minutes * 60).expect("offsets of the table are within a day")
    }

    /// The calendar day `at` falls on in this zone.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        self.offset_at(at)
            .from_utc_datetime(&at.naive_utc())
            .date_naive()
    }

    fn in_dst(&self, at: DateTime<Utc>) -> bool {
        let year = at.year();
        // `local` at `hour` in standard time, as UTC.
        let std_utc = |day: NaiveDate, hour: i64| {
            utc(day) + Duration::hours(hour) - Duration::minutes(self.standard_minutes.into())
        };
        match self.dst {
            Dst::None => false,
            Dst::Us => {
                let start = std_utc(nth_weekday(year, 3, Weekday::Sun, 2), 2);
                // 02:00 daylight time is 01:00 standard time.
                let end = std_utc(nth_weekday(year, 11, Weekday::Sun, 1), 1);
                start <= at && at < end
            }
            Dst::Eu => {
                let start = utc(last_weekday(year, 3, Weekday::Sun)) + Duration::hours(1);
                let end = utc(last_weekday(year, 10, Weekday::Sun)) + Duration::hours(1);
                start <= at && at < end
            }
            Dst::NewSouthWales => {
                // Southern summer: from October into the next year's April.
                let start = std_utc(nth_weekday(year, 10, Weekday::Sun, 1), 2);
                // 03:00 daylight time is 02:00 standard time.
                let end = std_utc(nth_weekday(year, 4, Weekday::Sun, 1), 2);
                at < end || start <= at
            }
            Dst::Egypt => {
                if year < 2023 {
                    return false;
                }
                let start = std_utc(last_weekday(year, 4, Weekday::Fri), 0);
                // The end of the last Thursday (24:00 daylight = 23:00 standard).
                let end = std_utc(last_weekday(year, 10, Weekday::Thu), 23);
                start <= at && at < end
            }
        }
    }
}

fn utc(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

/// The `n`th (1-based) `weekday` of `month`.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
        .expect("a month has 4 of each day")
}

/// The last `weekday` of `month`.
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let mut day = NaiveDate::from_ymd_opt(y, m, 1).expect("first of a month") - Duration::days(1);
    while day.weekday() != weekday {
        day -= Duration::days(1);
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn every_marketplace_of_amazons_table_has_a_zone() {
        for m in crate::region::MARKETPLACES {
            assert!(MarketplaceZone::of(m.id).is_some(), "{}", m.country_code);
        }
        assert_eq!(MarketplaceZone::of("XYZ"), None);
    }

    #[test]
    fn pacific_time_changes_at_two_in_the_morning_local() {
        let us = MarketplaceZone::of("ATVPDKIKX0DER").unwrap();
        // 2026: DST from Sunday 8 March 10:00 UTC to Sunday 1 November 09:00 UTC.
        assert_eq!(
            us.offset_at(at("2026-03-08T09:59:59Z")).local_minus_utc(),
            -8 * 3600
        );
        assert_eq!(
            us.offset_at(at("2026-03-08T10:00:00Z")).local_minus_utc(),
            -7 * 3600
        );
        assert_eq!(
            us.offset_at(at("2026-11-01T08:59:59Z")).local_minus_utc(),
            -7 * 3600
        );
        assert_eq!(
            us.offset_at(at("2026-11-01T09:00:00Z")).local_minus_utc(),
            -8 * 3600
        );
        // A parcel handed over on the evening of 30 November in California is November's.
        assert_eq!(
            us.local_date(at("2026-12-01T03:30:00Z")),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
    }

    #[test]
    fn european_summer_time_changes_at_one_utc() {
        let de = MarketplaceZone::of("A1PA6795UKMFR9").unwrap();
        let uk = MarketplaceZone::of("A1F83G8C2ARO7P").unwrap();
        // 2026: last Sundays 29 March and 25 October.
        assert_eq!(
            de.offset_at(at("2026-03-29T00:59:59Z")).local_minus_utc(),
            3600
        );
        assert_eq!(
            de.offset_at(at("2026-03-29T01:00:00Z")).local_minus_utc(),
            7200
        );
        assert_eq!(
            uk.offset_at(at("2026-10-25T00:59:59Z")).local_minus_utc(),
            3600
        );
        assert_eq!(
            uk.offset_at(at("2026-10-25T01:00:00Z")).local_minus_utc(),
            0
        );
        // 22:30 UTC on 30 June is 00:30 on 1 July in Berlin, 23:30 on 30 June in London.
        assert_eq!(
            de.local_date(at("2026-06-30T22:30:00Z")),
            NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
        );
        assert_eq!(
            uk.local_date(at("2026-06-30T22:30:00Z")),
            NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
        );
    }

    #[test]
    fn southern_and_fixed_zones() {
        let au = MarketplaceZone::of("A39IBJ37TRP1C6").unwrap();
        // 2026: daylight until Sunday 5 April 03:00 (16:00 UTC the day before), again from
        // Sunday 4 October 02:00 (16:00 UTC on the 3rd).
        assert_eq!(
            au.offset_at(at("2026-01-15T00:00:00Z")).local_minus_utc(),
            11 * 3600
        );
        assert_eq!(
            au.offset_at(at("2026-04-04T16:00:00Z")).local_minus_utc(),
            10 * 3600
        );
        assert_eq!(
            au.offset_at(at("2026-10-03T15:59:59Z")).local_minus_utc(),
            10 * 3600
        );
        assert_eq!(
            au.offset_at(at("2026-10-03T16:00:00Z")).local_minus_utc(),
            11 * 3600
        );
        let india = MarketplaceZone::of("A21TJRUUN4KGV").unwrap();
        assert_eq!(
            india.local_date(at("2026-03-31T18:30:00Z")),
            NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
        );
        let eg = MarketplaceZone::of("ARBP9OOSHTCHU").unwrap();
        // 2026: from Friday 24 April 00:00 (22:00 UTC the 23rd) to the end of Thursday 29 October.
        assert_eq!(
            eg.offset_at(at("2026-04-23T21:59:59Z")).local_minus_utc(),
            2 * 3600
        );
        assert_eq!(
            eg.offset_at(at("2026-04-23T22:00:00Z")).local_minus_utc(),
            3 * 3600
        );
        assert_eq!(
            eg.offset_at(at("2026-10-29T20:59:59Z")).local_minus_utc(),
            3 * 3600
        );
        assert_eq!(
            eg.offset_at(at("2026-10-29T21:00:00Z")).local_minus_utc(),
            2 * 3600
        );
    }
}
