//! `ml-connector doctor`: everything a first sync needs from the SAP company and the Amazon
//! account, checked before anything is posted. Each finding says what to change and where.
//!
//! The checks read only (no document is created); [`Engine::doctor`] gathers them, the command
//! prints them. Exit 0 only when a first sync would post.

mod amazon;
mod sap;
mod stock;

use std::fmt;

use crate::flows::Engine;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// As the connector needs it.
    Ok,
    /// Works, but a person should know (e.g. exactly-once without SAP's key table).
    Warn,
    /// A first sync would fail, hold or mis-post because of this.
    Fail,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Ok => "ok",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        })
    }
}

/// One thing checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `SAP` or `Amazon`.
    pub area: &'static str,
    /// What was checked (`account AmazonClearing (1420)`, `customer C-AMZ-US`, ...).
    pub subject: String,
    /// Verdict.
    pub level: Level,
    /// What was found.
    pub detail: String,
    /// What to change and where, for a warning or failure.
    pub fix: Option<String>,
}

impl Finding {
    pub(crate) fn ok(
        area: &'static str,
        subject: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Finding {
            area,
            subject: subject.into(),
            level: Level::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub(crate) fn problem(
        area: &'static str,
        level: Level,
        subject: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            area,
            subject: subject.into(),
            level,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Everything the doctor found.
#[derive(Debug, Clone, Default)]
pub struct Diagnosis {
    /// Findings in the order they were checked.
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    /// Whether a first sync would post (no failure).
    pub fn ready(&self) -> bool {
        self.findings.iter().all(|f| f.level != Level::Fail)
    }

    /// Findings at `level`.
    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }
}

impl Engine {
    /// Runs every check against SAP and Amazon (read-only).
    pub async fn doctor(&self) -> Diagnosis {
        let mut d = Diagnosis::default();
        let currencies = self.doctor_amazon(&mut d.findings).await;
        self.doctor_sap(&currencies, &mut d.findings).await;
        d.findings.extend(stock::allocation_finding(&self.config));
        d
    }
}
