//! Value types shared by the entities: v1/v2 dates and times, and `tYES`/`tNO`.

use std::fmt;

use chrono::{NaiveDate, NaiveTime, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use super::sap_enum;
use crate::query::Literal;

sap_enum! {
    /// SAP's `BoYesNoEnum`.
    pub enum YesNo {
        /// `tYES`.
        Yes = "tYES",
        /// `tNO`.
        No = "tNO",
    }
}

/// A calendar date. Reads v1 `2014-04-01`, v2 `2023-10-26T00:00:00Z` and `20140401`; writes `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SapDate(pub NaiveDate);

impl SapDate {
    /// Parse any of the date forms SAP produces.
    pub fn parse(text: &str) -> Option<SapDate> {
        let t = text.trim();
        let date_part = t.split('T').next().unwrap_or(t);
        NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(date_part, "%Y%m%d"))
            .ok()
            .map(SapDate)
    }
}

impl fmt::Display for SapDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl From<NaiveDate> for SapDate {
    fn from(d: NaiveDate) -> Self {
        SapDate(d)
    }
}

impl From<SapDate> for Literal {
    fn from(d: SapDate) -> Self {
        Literal::Date(d.0)
    }
}

impl Serialize for SapDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SapDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SapDate::parse(&s).ok_or_else(|| de::Error::custom(format!("not a SAP date: `{s}`")))
    }
}

/// A time of day. Reads `13:14:45`, `13:14`, `131445`, `1314` and v1 `PT13H14M45S`; writes `HH:MM:SS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SapTime(pub NaiveTime);

impl SapTime {
    /// Parse any of the time forms SAP produces.
    pub fn parse(text: &str) -> Option<SapTime> {
        let t = text.trim();
        if let Some(iso) = t.strip_prefix("PT") {
            return parse_iso_duration_time(iso).map(SapTime);
        }
        let t = t.split(['.', 'Z', '+']).next().unwrap_or(t);
        ["%H:%M:%S", "%H:%M", "%H%M%S", "%H%M"]
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(t, f).ok())
            .map(SapTime)
    }
}

fn parse_iso_duration_time(text: &str) -> Option<NaiveTime> {
    let (mut h, mut m, mut s) = (0u32, 0u32, 0u32);
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            '.' => number.push(c),
            'H' | 'M' | 'S' => {
                let whole: u32 = number.split('.').next()?.parse().ok()?;
                match c {
                    'H' => h = whole,
                    'M' => m = whole,
                    _ => s = whole,
                }
                number.clear();
            }
            _ => return None,
        }
    }
    NaiveTime::from_hms_opt(h, m, s)
}

impl fmt::Display for SapTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}:{:02}",
            self.0.hour(),
            self.0.minute(),
            self.0.second()
        )
    }
}

impl From<SapTime> for Literal {
    fn from(t: SapTime) -> Self {
        Literal::Time(t.0)
    }
}

impl Serialize for SapTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SapTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SapTime::parse(&s).ok_or_else(|| de::Error::custom(format!("not a SAP time: `{s}`")))
    }
}

/// Combine SAP's `UpdateDate` + `UpdateTime` pair (server local time) into one timestamp.
pub(crate) fn combine(
    date: Option<SapDate>,
    time: Option<SapTime>,
) -> Option<chrono::NaiveDateTime> {
    Some(date?.0.and_time(time.map_or(NaiveTime::MIN, |t| t.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_all_forms() {
        let want = NaiveDate::from_ymd_opt(2023, 10, 26).unwrap();
        for s in [
            "2023-10-26",
            "2023-10-26T00:00:00Z",
            "20231026",
            "2023-10-26T00:00:00",
        ] {
            assert_eq!(SapDate::parse(s), Some(SapDate(want)), "{s}");
        }
        assert_eq!(SapDate(want).to_string(), "2023-10-26");
    }

    #[test]
    fn times_in_all_forms() {
        let want = NaiveTime::from_hms_opt(13, 14, 45).unwrap();
        for s in ["13:14:45", "131445", "PT13H14M45S"] {
            assert_eq!(SapTime::parse(s), Some(SapTime(want)), "{s}");
        }
        assert_eq!(
            SapTime::parse("13:14"),
            Some(SapTime(NaiveTime::from_hms_opt(13, 14, 0).unwrap()))
        );
    }

    #[test]
    fn update_date_and_time_combine() {
        let d = SapDate::parse("2023-10-26T00:00:00Z");
        let t = SapTime::parse("13:14:45");
        assert_eq!(combine(d, t).unwrap().to_string(), "2023-10-26 13:14:45");
        assert_eq!(combine(None, t), None);
    }

    #[test]
    fn unknown_enum_values_survive() {
        let v: YesNo = serde_json::from_str("\"tMAYBE\"").unwrap();
        assert_eq!(v, YesNo::Unknown("tMAYBE".into()));
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"tMAYBE\"");
    }
}
