//! Streaming reader for settlement flat files (V2, and legacy V1 converted into V2 rows).
//!
//! The reader holds one line at a time: a 500,000-row file costs the same memory as a 50-row one.
//! The mapper reads rows borrowed from that line (`SettlementReader::next_rows`): cells are
//! slices of the line buffer, so a V2 row costs no allocation; the public iterator yields owned
//! [`SettlementRow`]s.

use std::collections::VecDeque;
use std::io::BufRead;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::amount::parse_amount;
use crate::date::parse_timestamp;
use crate::error::{ReadError, ReadErrorKind};

mod columns;
mod detail;

use columns::Columns;
pub(crate) use detail::RowRef;
use detail::{Context, DateCache, parse_detail, split_cells};

/// Which flat-file layout a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`: one amount per row.
    V2,
    /// The legacy "Flat File" layout with typed amount columns.
    V1,
}

/// The settlement's summary row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Amazon's settlement id.
    pub settlement_id: String,
    /// Start of the settlement period.
    pub start: DateTime<Utc>,
    /// End of the settlement period.
    pub end: DateTime<Utc>,
    /// Projected deposit date.
    pub deposit_date: DateTime<Utc>,
    /// Net payout; may be zero or negative.
    pub total_amount: Decimal,
    /// ISO currency code of every amount in the file.
    pub currency: String,
    /// Layout of the file.
    pub layout: Layout,
    /// Number of columns in the header.
    pub columns: usize,
}

/// One amount-bearing detail row, in V2 terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettlementRow {
    /// Physical line of the file the row came from.
    pub line: u64,
    /// `Order`, `Refund`, `other-transaction`, ...
    pub transaction_type: String,
    /// Amazon order id, removal order id, shipment id or empty.
    pub order_id: String,
    /// The seller's own order reference.
    pub merchant_order_id: String,
    /// Refund / reimbursement adjustment id.
    pub adjustment_id: String,
    /// Shipment id.
    pub shipment_id: String,
    /// `Amazon.de`, `Non-Amazon UK`, ... (may be empty).
    pub marketplace_name: String,
    /// `ItemPrice`, `ItemFees`, `other-transaction`, ...
    pub amount_type: String,
    /// `Principal`, `Commission`, `Current Reserve Amount`, ...
    pub amount_description: String,
    /// Signed amount: positive means Amazon owes the seller more.
    pub amount: Decimal,
    /// `AFN` / `MFN` or empty.
    pub fulfillment_id: String,
    /// Posted date (UTC), when present.
    pub posted_date: Option<NaiveDate>,
    /// Seller SKU.
    pub sku: String,
    /// Quantity, when present.
    pub quantity_purchased: Option<u32>,
    /// Promotion id (free text).
    pub promotion_id: String,
}

/// Reads a settlement flat file row by row.
///
/// `new` reads the header and the summary row; iterating yields the detail rows (V1 rows converted
/// into one V2 row per populated amount column).
pub struct SettlementReader<R> {
    input: R,
    /// The current line's bytes, line ending removed.
    buf: Vec<u8>,
    /// Where the current line's text starts in `buf` (after a byte-order mark).
    start: usize,
    /// The current line decoded from Windows-1252, when it is not UTF-8.
    decoded: String,
    /// Positions of the current line's tabs (the allocation is kept from line to line).
    tabs: Vec<u32>,
    dates: DateCache,
    line_no: u64,
    header: Vec<String>,
    cols: Columns,
    summary: Summary,
    pending: VecDeque<SettlementRow>,
    warnings: Vec<String>,
    cp1252_lines: u64,
    done: bool,
}

impl<R: BufRead> SettlementReader<R> {
    /// Reads the header and the summary row.
    pub fn new(input: R) -> Result<Self, ReadError> {
        let mut this = Self {
            input,
            buf: Vec::with_capacity(512),
            start: 0,
            decoded: String::new(),
            tabs: Vec::new(),
            dates: DateCache::default(),
            line_no: 0,
            header: Vec::new(),
            cols: Columns::default(),
            summary: Summary {
                settlement_id: String::new(),
                start: DateTime::UNIX_EPOCH,
                end: DateTime::UNIX_EPOCH,
                deposit_date: DateTime::UNIX_EPOCH,
                total_amount: Decimal::ZERO,
                currency: String::new(),
                layout: Layout::V2,
                columns: 0,
            },
            pending: VecDeque::new(),
            warnings: Vec::new(),
            cp1252_lines: 0,
            done: false,
        };
        let Some(header_line) = this.next_line_text()? else {
            return Err(ReadError::new(None, None, ReadErrorKind::Empty));
        };
        let header_no = this.line_no;
        this.header = header_line
            .split('\t')
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let (cols, layout) = Columns::from_header(&this.header, header_no)?;
        this.cols = cols;
        this.summary.layout = layout;
        this.summary.columns = this.header.len();
        this.read_summary(header_no)?;
        Ok(this)
    }

    /// The summary row.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Warnings so far (e.g. lines decoded as Windows-1252).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Takes the warnings collected so far.
    pub fn take_warnings(&mut self) -> Vec<String> {
        if self.cp1252_lines > 1 {
            self.warnings.push(format!(
                "{} lines in all were not valid UTF-8 and were read as Windows-1252",
                self.cp1252_lines
            ));
            self.cp1252_lines = 1;
        }
        std::mem::take(&mut self.warnings)
    }

    /// Reads the next non-blank line into `buf` (from `start`), without its line ending.
    fn next_raw_line(&mut self) -> Result<bool, ReadError> {
        loop {
            self.buf.clear();
            let n = self.input.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(false);
            }
            self.line_no += 1;
            if self.line_no == 1 && looks_like_utf16(&self.buf) {
                return Err(ReadError::on_line(1, ReadErrorKind::Utf16));
            }
            while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                self.buf.pop();
            }
            self.start = if self.line_no == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                3
            } else {
                0
            };
            if self.buf[self.start..]
                .iter()
                .all(|b| b.is_ascii_whitespace())
            {
                continue;
            }
            return Ok(true);
        }
    }

    /// The next non-blank line as text (for the header and the summary row).
    fn next_line_text(&mut self) -> Result<Option<String>, ReadError> {
        if !self.next_raw_line()? {
            return Ok(None);
        }
        Ok(Some(
            decode(
                &self.buf[self.start..],
                self.line_no,
                &mut self.decoded,
                &mut self.cp1252_lines,
                &mut self.warnings,
            )
            .to_owned(),
        ))
    }

    fn read_summary(&mut self, header_no: u64) -> Result<(), ReadError> {
        let Some(line) = self.next_line_text()? else {
            return Err(ReadError::on_line(
                header_no + 1,
                ReadErrorKind::NoSummary(
                    "no summary row: the file ends after its header".to_owned(),
                ),
            ));
        };
        let no = self.line_no;
        let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
        let cell = |i: usize| cells.get(i).copied().unwrap_or("");
        let c = &self.cols;
        let tt = cell(c.transaction_type);
        if !tt.is_empty() || cell(c.total_amount).is_empty() {
            return Err(ReadError::on_line(
                no,
                ReadErrorKind::NoSummary(format!(
                    "expected the summary row (settlement-id, dates, total-amount, currency) as the first row after the header, found a detail row{}",
                    if tt.is_empty() {
                        String::new()
                    } else {
                        format!(" of type `{tt}`")
                    }
                )),
            ));
        }
        let header = &self.header;
        let required = |i: usize| -> Result<&str, ReadError> {
            let v = cell(i);
            if v.is_empty() {
                Err(ReadError::at(
                    no,
                    &header[i],
                    ReadErrorKind::MissingSummaryValue,
                ))
            } else {
                Ok(v)
            }
        };
        let ts = |i: usize| -> Result<DateTime<Utc>, ReadError> {
            parse_timestamp(required(i)?).map_err(|e| ReadError::at(no, &header[i], e))
        };
        self.summary.settlement_id = required(c.settlement_id)?.to_owned();
        self.summary.start = ts(c.start)?;
        self.summary.end = ts(c.end)?;
        self.summary.deposit_date = ts(c.deposit_date)?;
        self.summary.total_amount = parse_amount(required(c.total_amount)?)
            .map_err(|e| ReadError::at(no, &header[c.total_amount], e))?;
        self.summary.currency = required(c.currency)?.to_ascii_uppercase();
        Ok(())
    }

    /// Reads the next detail line and hands each of its rows to `emit`, borrowed from the line;
    /// `Ok(false)` at the end of the file.
    pub(crate) fn next_rows<F: FnMut(&RowRef<'_>)>(
        &mut self,
        emit: &mut F,
    ) -> Result<bool, ReadError> {
        // Most lines lie whole in the input's buffer: read them there, without copying.
        loop {
            let avail = match self.input.fill_buf() {
                Ok(avail) => avail,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            let Some(newline) = memchr::memchr(b'\n', avail) else {
                // The last line, or one that runs past the buffer: copied below.
                break;
            };
            self.line_no += 1;
            let mut line = &avail[..newline];
            while let [rest @ .., b'\r'] = line {
                line = rest;
            }
            if self.line_no == 1 && line.starts_with(b"\xEF\xBB\xBF") {
                line = &line[3..];
            }
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                self.input.consume(newline + 1);
                continue;
            }
            let text = decode(
                line,
                self.line_no,
                &mut self.decoded,
                &mut self.cp1252_lines,
                &mut self.warnings,
            );
            let cells = split_cells(text, &mut self.tabs);
            let ctx = Context {
                cols: &self.cols,
                header: &self.header,
                summary: &self.summary,
            };
            let read = parse_detail(&ctx, &mut self.dates, self.line_no, &cells, emit);
            self.input.consume(newline + 1);
            return read.map(|()| true);
        }
        if !self.next_raw_line()? {
            return Ok(false);
        }
        let text = decode(
            &self.buf[self.start..],
            self.line_no,
            &mut self.decoded,
            &mut self.cp1252_lines,
            &mut self.warnings,
        );
        let cells = split_cells(text, &mut self.tabs);
        let ctx = Context {
            cols: &self.cols,
            header: &self.header,
            summary: &self.summary,
        };
        parse_detail(&ctx, &mut self.dates, self.line_no, &cells, emit).map(|()| true)
    }
}

/// A line's text: the bytes themselves when they are UTF-8, else their Windows-1252 reading in
/// `decoded` (with a warning for the first such line).
fn decode<'a>(
    bytes: &'a [u8],
    line_no: u64,
    decoded: &'a mut String,
    cp1252_lines: &mut u64,
    warnings: &mut Vec<String>,
) -> &'a str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => {
            *cp1252_lines += 1;
            if *cp1252_lines == 1 {
                warnings.push(format!(
                    "line {line_no}: not valid UTF-8; read as Windows-1252"
                ));
            }
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            decoded.clear();
            decoded.push_str(&text);
            decoded
        }
    }
}

/// Whether a first line is UTF-16: a UTF-16 byte-order mark, or (without one) a NUL in every
/// other byte, which ASCII text in UTF-16 has and a UTF-8 or Windows-1252 file never does.
fn looks_like_utf16(first_line: &[u8]) -> bool {
    if first_line.starts_with(b"\xFF\xFE") || first_line.starts_with(b"\xFE\xFF") {
        return true;
    }
    let nuls = first_line.iter().filter(|b| **b == 0).count();
    first_line.len() >= 4 && nuls * 3 >= first_line.len()
}

impl<R: BufRead> Iterator for SettlementReader<R> {
    type Item = Result<SettlementRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(row) = self.pending.pop_front() {
                return Some(Ok(row));
            }
            if self.done {
                return None;
            }
            let mut pending = std::mem::take(&mut self.pending);
            let read = self.next_rows(&mut |row: &RowRef<'_>| pending.push_back(row.owned()));
            self.pending = pending;
            match read {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
