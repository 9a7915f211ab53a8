//! Streaming reader for settlement flat files (V2, and legacy V1 converted into V2 rows).
//!
//! The reader holds one line at a time: a 500,000-row file costs the same memory as a 50-row one.

use std::collections::VecDeque;
use std::io::BufRead;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::amount::parse_amount;
use crate::date::{parse_date, parse_timestamp};
use crate::error::{ReadError, ReadErrorKind};

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

/// Column indexes of the fields we read, by header name.
#[derive(Debug, Default)]
struct Columns {
    settlement_id: usize,
    start: usize,
    end: usize,
    deposit_date: usize,
    total_amount: usize,
    currency: usize,
    transaction_type: usize,
    order_id: Option<usize>,
    merchant_order_id: Option<usize>,
    adjustment_id: Option<usize>,
    shipment_id: Option<usize>,
    marketplace_name: Option<usize>,
    fulfillment_id: Option<usize>,
    posted_date: Option<usize>,
    posted_date_time: Option<usize>,
    sku: Option<usize>,
    quantity: Option<usize>,
    promotion_id: Option<usize>,
    // V2
    amount_type: usize,
    amount_description: usize,
    amount: usize,
    // V1: (type column, amount column, V2 amount-type)
    v1_pairs: Vec<(Option<usize>, usize, &'static str)>,
    v1_other_fee_reason: Option<usize>,
    v1_other_amount: Option<usize>,
}

/// V1 typed amount columns and the V2 amount-type each becomes.
const V1_PAIRS: &[(&str, &str, &str)] = &[
    ("price-type", "price-amount", "ItemPrice"),
    (
        "item-related-fee-type",
        "item-related-fee-amount",
        "ItemFees",
    ),
    ("promotion-type", "promotion-amount", "Promotion"),
    ("shipment-fee-type", "shipment-fee-amount", "ShipmentFees"),
    ("order-fee-type", "order-fee-amount", "OrderFees"),
    (
        "direct-payment-type",
        "direct-payment-amount",
        "DirectPayment",
    ),
];

/// Reads a settlement flat file row by row.
///
/// `new` reads the header and the summary row; iterating yields the detail rows (V1 rows converted
/// into one V2 row per populated amount column).
pub struct SettlementReader<R> {
    input: R,
    buf: Vec<u8>,
    line: String,
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
            line: String::with_capacity(512),
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
        if !this.next_line()? {
            return Err(ReadError::new(None, None, ReadErrorKind::Empty));
        }
        let header_line = std::mem::take(&mut this.line);
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

    /// Reads the next non-blank line into `self.line`, decoded, without its line ending.
    fn next_line(&mut self) -> Result<bool, ReadError> {
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
            let start = if self.line_no == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                3
            } else {
                0
            };
            let bytes = &self.buf[start..];
            if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            self.line.clear();
            match std::str::from_utf8(bytes) {
                Ok(s) => self.line.push_str(s),
                Err(_) => {
                    self.cp1252_lines += 1;
                    if self.cp1252_lines == 1 {
                        self.warnings.push(format!(
                            "line {}: not valid UTF-8; read as Windows-1252",
                            self.line_no
                        ));
                    }
                    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
                    self.line.push_str(&text);
                }
            }
            return Ok(true);
        }
    }

    fn read_summary(&mut self, header_no: u64) -> Result<(), ReadError> {
        if !self.next_line()? {
            return Err(ReadError::on_line(
                header_no + 1,
                ReadErrorKind::NoSummary(
                    "no summary row: the file ends after its header".to_owned(),
                ),
            ));
        }
        let no = self.line_no;
        let line = std::mem::take(&mut self.line);
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

    fn read_detail(&mut self) -> Result<bool, ReadError> {
        if !self.next_line()? {
            return Ok(false);
        }
        let cells: Vec<&str> = self.line.split('\t').map(str::trim).collect();
        let rows = parse_detail(
            &self.cols,
            &self.header,
            &self.summary,
            self.line_no,
            &cells,
        )?;
        self.pending.extend(rows);
        Ok(true)
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
            match self.read_detail() {
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

impl Columns {
    fn from_header(header: &[String], line: u64) -> Result<(Self, Layout), ReadError> {
        let find = |name: &str| header.iter().position(|h| h == name);
        for (i, h) in header.iter().enumerate() {
            if !h.is_empty() && header[..i].contains(h) {
                return Err(ReadError::at(line, h, ReadErrorKind::DuplicateColumn));
            }
        }
        let need = |name: &str| {
            find(name).ok_or_else(|| {
                ReadError::on_line(line, ReadErrorKind::MissingColumn(name.to_owned()))
            })
        };
        let layout = if find("amount-type").is_some() || find("amount").is_some() {
            Layout::V2
        } else if V1_PAIRS.iter().any(|(_, a, _)| find(a).is_some())
            || find("other-amount").is_some()
        {
            Layout::V1
        } else {
            return Err(ReadError::on_line(
                line,
                ReadErrorKind::MissingColumn("amount-type".to_owned()),
            ));
        };
        let mut cols = Columns {
            settlement_id: need("settlement-id")?,
            start: need("settlement-start-date")?,
            end: need("settlement-end-date")?,
            deposit_date: need("deposit-date")?,
            total_amount: need("total-amount")?,
            currency: need("currency")?,
            transaction_type: need("transaction-type")?,
            order_id: find("order-id"),
            merchant_order_id: find("merchant-order-id"),
            adjustment_id: find("adjustment-id"),
            shipment_id: find("shipment-id"),
            marketplace_name: find("marketplace-name"),
            fulfillment_id: find("fulfillment-id"),
            posted_date: find("posted-date"),
            posted_date_time: find("posted-date-time"),
            sku: find("sku"),
            quantity: find("quantity-purchased"),
            promotion_id: find("promotion-id"),
            ..Columns::default()
        };
        match layout {
            Layout::V2 => {
                cols.amount_type = need("amount-type")?;
                cols.amount_description = need("amount-description")?;
                cols.amount = need("amount")?;
            }
            Layout::V1 => {
                for (type_col, amount_col, v2_type) in V1_PAIRS {
                    if let Some(a) = find(amount_col) {
                        cols.v1_pairs.push((find(type_col), a, v2_type));
                    }
                }
                if let Some(a) = find("misc-fee-amount") {
                    cols.v1_pairs.push((None, a, "MiscFee"));
                }
                if let Some(a) = find("other-fee-amount") {
                    cols.v1_pairs.push((None, a, "OtherFee"));
                }
                cols.v1_other_fee_reason = find("other-fee-reason-description");
                cols.v1_other_amount = find("other-amount");
            }
        }
        Ok((cols, layout))
    }
}

fn parse_detail(
    c: &Columns,
    header: &[String],
    summary: &Summary,
    no: u64,
    cells: &[&str],
) -> Result<Vec<SettlementRow>, ReadError> {
    let cell = |i: usize| cells.get(i).copied().unwrap_or("");
    let opt = |i: Option<usize>| i.map(cell).unwrap_or("");
    let id = cell(c.settlement_id);
    if !id.is_empty() && id != summary.settlement_id {
        return Err(ReadError::at(
            no,
            "settlement-id",
            ReadErrorKind::SettlementId {
                expected: summary.settlement_id.clone(),
                found: id.to_owned(),
            },
        ));
    }
    let currency = cell(c.currency);
    if !currency.is_empty() && !currency.eq_ignore_ascii_case(&summary.currency) {
        return Err(ReadError::at(
            no,
            "currency",
            ReadErrorKind::Currency {
                expected: summary.currency.clone(),
                found: currency.to_owned(),
            },
        ));
    }
    if !cell(c.total_amount).is_empty() {
        return Err(ReadError::at(
            no,
            "total-amount",
            ReadErrorKind::Malformed(
                "a second summary row: a file holds exactly one settlement".to_owned(),
            ),
        ));
    }
    let transaction_type = cell(c.transaction_type);
    let posted_date = match (opt(c.posted_date), opt(c.posted_date_time)) {
        ("", "") => None,
        ("", v) => Some(parse_date(v).map_err(|e| ReadError::at(no, "posted-date-time", e))?),
        (v, _) => Some(parse_date(v).map_err(|e| ReadError::at(no, "posted-date", e))?),
    };
    let quantity_purchased = match opt(c.quantity) {
        "" => None,
        q => Some(q.parse::<u32>().map_err(|_| {
            ReadError::at(
                no,
                "quantity-purchased",
                ReadErrorKind::Quantity(q.to_owned()),
            )
        })?),
    };
    let base = SettlementRow {
        line: no,
        transaction_type: transaction_type.to_owned(),
        order_id: opt(c.order_id).to_owned(),
        merchant_order_id: opt(c.merchant_order_id).to_owned(),
        adjustment_id: opt(c.adjustment_id).to_owned(),
        shipment_id: opt(c.shipment_id).to_owned(),
        marketplace_name: opt(c.marketplace_name).to_owned(),
        amount_type: String::new(),
        amount_description: String::new(),
        amount: Decimal::ZERO,
        fulfillment_id: opt(c.fulfillment_id).to_owned(),
        posted_date,
        sku: opt(c.sku).to_owned(),
        quantity_purchased,
        promotion_id: opt(c.promotion_id).to_owned(),
    };
    let amount_at = |i: usize| -> Result<Decimal, ReadError> {
        parse_amount(cell(i)).map_err(|e| ReadError::at(no, &header[i], e))
    };
    match summary.layout {
        Layout::V2 => {
            for (i, what) in [
                (c.transaction_type, "transaction-type"),
                (c.amount_type, "amount-type"),
                (c.amount_description, "amount-description"),
                (c.amount, "amount"),
            ] {
                if cell(i).is_empty() {
                    let reason = if cells.len() <= i {
                        format!(
                            "the row is cut before its `{what}` cell ({} of {} cells)",
                            cells.len(),
                            header.len()
                        )
                    } else {
                        format!("the detail row has no `{what}`")
                    };
                    return Err(ReadError::at(no, what, ReadErrorKind::Malformed(reason)));
                }
            }
            let mut row = base;
            row.amount_type = cell(c.amount_type).to_owned();
            row.amount_description = cell(c.amount_description).to_owned();
            row.amount = amount_at(c.amount)?;
            Ok(vec![row])
        }
        Layout::V1 => {
            if transaction_type.is_empty() {
                return Err(ReadError::at(
                    no,
                    "transaction-type",
                    ReadErrorKind::Malformed("the detail row has no `transaction-type`".to_owned()),
                ));
            }
            let mut rows = Vec::new();
            for &(type_col, amount_col, v2_type) in &c.v1_pairs {
                if cell(amount_col).is_empty() {
                    continue;
                }
                let description = match (type_col, v2_type) {
                    (Some(t), _) => {
                        let d = cell(t);
                        if d.is_empty() {
                            return Err(ReadError::at(
                                no,
                                &header[t],
                                ReadErrorKind::Malformed(format!(
                                    "`{}` has an amount but no type",
                                    header[amount_col]
                                )),
                            ));
                        }
                        d
                    }
                    (None, "OtherFee") => match opt(c.v1_other_fee_reason) {
                        "" => "OtherFee",
                        reason => reason,
                    },
                    (None, other) => other,
                };
                let mut row = base.clone();
                row.amount_type = v2_type.to_owned();
                row.amount_description = description.to_owned();
                row.amount = amount_at(amount_col)?;
                rows.push(row);
            }
            if let Some(i) = c.v1_other_amount
                && !cell(i).is_empty()
            {
                let mut row = base.clone();
                // V1 names non-order events in transaction-type; V2 spells them as
                // other-transaction / other-transaction / <event name>.
                if matches!(transaction_type, "Order" | "Refund") {
                    row.amount_type = "Other".to_owned();
                    row.amount_description = "other-amount".to_owned();
                } else {
                    row.transaction_type = "other-transaction".to_owned();
                    row.amount_type = "other-transaction".to_owned();
                    row.amount_description = transaction_type.to_owned();
                }
                row.amount = amount_at(i)?;
                rows.push(row);
            }
            Ok(rows)
        }
    }
}
