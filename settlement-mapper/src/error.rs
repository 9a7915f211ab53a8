//! Errors that say where: line, column and what was found.

use std::fmt;

use crate::amount::AmountError;
use crate::date::DateError;

/// A settlement file could not be read; names the line and column at fault.
#[derive(Debug)]
pub struct ReadError {
    /// 1-based physical line number in the file, when the problem is on a line.
    pub line: Option<u64>,
    /// Header name of the column at fault, when there is one.
    pub column: Option<String>,
    /// What is wrong.
    pub kind: ReadErrorKind,
}

/// What is wrong with the input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// The underlying reader failed.
    #[error("reading failed: {0}")]
    Io(#[from] std::io::Error),
    /// Nothing but blank lines (or nothing at all).
    #[error("the file is empty")]
    Empty,
    /// The file is UTF-16 (Excel's "Unicode text"), which the flat-file reader does not decode.
    #[error(
        "the file is UTF-16 (as Excel saves \"Unicode text\"), not UTF-8: open it and save it as UTF-8 (\"Text (Tab delimited)\" or \"CSV UTF-8\" with tabs), or download the report from Amazon again"
    )]
    Utf16,
    /// The header lacks a column that the layout needs.
    #[error("the header has no `{0}` column: this is not a V2 or V1 settlement flat file")]
    MissingColumn(String),
    /// The header names a column twice.
    #[error("the header names the column twice")]
    DuplicateColumn,
    /// The first data row is not a summary row (or there is none).
    #[error("{0}")]
    NoSummary(String),
    /// A required summary value is empty.
    #[error("the summary row has no value here")]
    MissingSummaryValue,
    /// An amount cell could not be read.
    #[error(transparent)]
    Amount(#[from] AmountError),
    /// A date cell could not be read.
    #[error(transparent)]
    Date(#[from] DateError),
    /// A quantity cell is not a whole number.
    #[error("`{0}` is not a whole quantity")]
    Quantity(String),
    /// A detail row lacks a cell that carries its meaning, or is otherwise not a detail row.
    #[error("{0}")]
    Malformed(String),
    /// A detail row is in another currency than the summary.
    #[error(
        "currency `{found}` differs from the settlement's `{expected}`: one settlement has one currency"
    )]
    Currency {
        /// The summary row's currency.
        expected: String,
        /// This row's currency.
        found: String,
    },
    /// A detail row belongs to another settlement.
    #[error("settlement-id `{found}` differs from the summary's `{expected}`")]
    SettlementId {
        /// The summary row's settlement id.
        expected: String,
        /// This row's settlement id.
        found: String,
    },
}

impl ReadError {
    pub(crate) fn new(
        line: Option<u64>,
        column: Option<&str>,
        kind: impl Into<ReadErrorKind>,
    ) -> Self {
        Self {
            line,
            column: column.map(str::to_owned),
            kind: kind.into(),
        }
    }

    pub(crate) fn at(line: u64, column: &str, kind: impl Into<ReadErrorKind>) -> Self {
        Self::new(Some(line), Some(column), kind)
    }

    pub(crate) fn on_line(line: u64, kind: impl Into<ReadErrorKind>) -> Self {
        Self::new(Some(line), None, kind)
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.line, &self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column `{column}`: {}", self.kind)
            }
            (Some(line), None) => write!(f, "line {line}: {}", self.kind),
            (None, Some(column)) => write!(f, "column `{column}`: {}", self.kind),
            (None, None) => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.kind.source()
    }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        Self::new(None, None, e)
    }
}
