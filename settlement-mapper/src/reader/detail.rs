//! One detail line to rows, borrowed from the line buffer: no per-row allocation on the V2 path.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::columns::Columns;
use super::{Layout, SettlementRow, Summary};
use crate::amount::parse_amount;
use crate::date::{DateError, parse_date};
use crate::error::{ReadError, ReadErrorKind};

/// One amount-bearing detail row whose text cells borrow the reader's line (or are constants of
/// the V1 conversion); [`SettlementRow`] is its owned form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowRef<'a> {
    pub(crate) line: u64,
    pub(crate) transaction_type: &'a str,
    pub(crate) order_id: &'a str,
    pub(crate) merchant_order_id: &'a str,
    pub(crate) adjustment_id: &'a str,
    pub(crate) shipment_id: &'a str,
    pub(crate) marketplace_name: &'a str,
    pub(crate) amount_type: &'a str,
    pub(crate) amount_description: &'a str,
    pub(crate) amount: Decimal,
    pub(crate) fulfillment_id: &'a str,
    pub(crate) posted_date: Option<NaiveDate>,
    pub(crate) sku: &'a str,
    pub(crate) quantity_purchased: Option<u32>,
    pub(crate) promotion_id: &'a str,
}

impl RowRef<'_> {
    /// The owned row the public iterator yields.
    pub(crate) fn owned(&self) -> SettlementRow {
        SettlementRow {
            line: self.line,
            transaction_type: self.transaction_type.to_owned(),
            order_id: self.order_id.to_owned(),
            merchant_order_id: self.merchant_order_id.to_owned(),
            adjustment_id: self.adjustment_id.to_owned(),
            shipment_id: self.shipment_id.to_owned(),
            marketplace_name: self.marketplace_name.to_owned(),
            amount_type: self.amount_type.to_owned(),
            amount_description: self.amount_description.to_owned(),
            amount: self.amount,
            fulfillment_id: self.fulfillment_id.to_owned(),
            posted_date: self.posted_date,
            sku: self.sku.to_owned(),
            quantity_purchased: self.quantity_purchased,
            promotion_id: self.promotion_id.to_owned(),
        }
    }
}

/// The last date cell read and its value: the rows of one order share their posted date, so most
/// rows reuse it instead of parsing again.
#[derive(Debug, Default)]
pub(super) struct DateCache {
    cell: String,
    date: Option<NaiveDate>,
}

impl DateCache {
    fn parse(&mut self, cell: &str) -> Result<NaiveDate, DateError> {
        if let Some(date) = self.date
            && self.cell == cell
        {
            return Ok(date);
        }
        let date = parse_date(cell)?;
        self.cell.clear();
        self.cell.push_str(cell);
        self.date = Some(date);
        Ok(date)
    }
}

/// A line's tab-separated cells (untrimmed), as the positions of its tabs: a cell is sliced out
/// of the line only when it is read.
pub(super) struct Cells<'a> {
    text: &'a str,
    tabs: &'a [u32],
}

impl<'a> Cells<'a> {
    /// Cell `i`, if the line has that many.
    fn get(&self, i: usize) -> Option<&'a str> {
        let start = match i {
            0 => 0,
            _ => *self.tabs.get(i - 1)? as usize + 1,
        };
        let end = self
            .tabs
            .get(i)
            .map_or(self.text.len(), |&tab| tab as usize);
        Some(&self.text[start..end])
    }

    /// How many cells the line has.
    fn len(&self) -> usize {
        self.tabs.len() + 1
    }
}

/// Splits a line into its cells: records the position of every tab in `tabs` (cleared first).
///
/// Cells are a few bytes apart, too close for a search per tab to pay off: the line is scanned
/// eight bytes at a time, each word giving the positions of all its tabs at once. A line longer
/// than 4 GiB is not a settlement line; its cells end at the last tab found before that.
pub(super) fn split_cells<'a>(text: &'a str, tabs: &'a mut Vec<u32>) -> Cells<'a> {
    const LOW7: u64 = u64::from_ne_bytes([0x7F; 8]);
    const TABS: u64 = u64::from_ne_bytes([b'\t'; 8]);
    tabs.clear();
    let bytes = &text.as_bytes()[..text.len().min(u32::MAX as usize)];
    let mut words = bytes.chunks_exact(8);
    let mut at = 0u32;
    for word in words.by_ref() {
        let x = u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) ^ TABS;
        // 0x80 in exactly the bytes that were tabs (no carry crosses a byte).
        let mut found = !(((x & LOW7) + LOW7) | x | LOW7);
        while found != 0 {
            tabs.push(at + found.trailing_zeros() / 8);
            found &= found - 1;
        }
        at += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == b'\t' {
            tabs.push(at + i as u32);
        }
    }
    Cells { text, tabs }
}

/// `str::trim`, without its Unicode scan for the usual cell that starts and ends with a visible
/// ASCII character (which no trim would change).
fn trim(cell: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x7F);
    if visible(cell.as_bytes().first()) && visible(cell.as_bytes().last()) {
        cell
    } else {
        cell.trim()
    }
}

/// What a detail line is read against: its columns, the header and the summary row.
pub(super) struct Context<'c> {
    pub(super) cols: &'c Columns,
    pub(super) header: &'c [String],
    pub(super) summary: &'c Summary,
}

/// Reads detail line `no` (its `cells`, untrimmed) and hands each of its rows to `emit`: one row
/// for V2, one per populated amount column for V1. Nothing is emitted for a line with an error.
pub(super) fn parse_detail<F: FnMut(&RowRef<'_>)>(
    ctx: &Context<'_>,
    dates: &mut DateCache,
    no: u64,
    cells: &Cells<'_>,
    emit: &mut F,
) -> Result<(), ReadError> {
    let (c, header, summary) = (ctx.cols, ctx.header, ctx.summary);
    let cell = |i: usize| cells.get(i).map_or("", trim);
    let opt = |i: Option<usize>| i.map_or("", cell);
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
        ("", v) => Some(
            dates
                .parse(v)
                .map_err(|e| ReadError::at(no, "posted-date-time", e))?,
        ),
        (v, _) => Some(
            dates
                .parse(v)
                .map_err(|e| ReadError::at(no, "posted-date", e))?,
        ),
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
    let base = RowRef {
        line: no,
        transaction_type,
        order_id: opt(c.order_id),
        merchant_order_id: opt(c.merchant_order_id),
        adjustment_id: opt(c.adjustment_id),
        shipment_id: opt(c.shipment_id),
        marketplace_name: opt(c.marketplace_name),
        amount_type: "",
        amount_description: "",
        amount: Decimal::ZERO,
        fulfillment_id: opt(c.fulfillment_id),
        posted_date,
        sku: opt(c.sku),
        quantity_purchased,
        promotion_id: opt(c.promotion_id),
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
            let row = RowRef {
                amount_type: cell(c.amount_type),
                amount_description: cell(c.amount_description),
                amount: amount_at(c.amount)?,
                ..base
            };
            emit(&row);
            Ok(())
        }
        Layout::V1 => {
            if transaction_type.is_empty() {
                return Err(ReadError::at(
                    no,
                    "transaction-type",
                    ReadErrorKind::Malformed("the detail row has no `transaction-type`".to_owned()),
                ));
            }
            // Every amount of the line is read before any row is handed on.
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
                rows.push(RowRef {
                    amount_type: v2_type,
                    amount_description: description,
                    amount: amount_at(amount_col)?,
                    ..base
                });
            }
            if let Some(i) = c.v1_other_amount
                && !cell(i).is_empty()
            {
                // V1 names non-order events in transaction-type; V2 spells them as
                // other-transaction / other-transaction / <event name>.
                let (tt, at, ad) = if matches!(transaction_type, "Order" | "Refund") {
                    (transaction_type, "Other", "other-amount")
                } else {
                    ("other-transaction", "other-transaction", transaction_type)
                };
                rows.push(RowRef {
                    transaction_type: tt,
                    amount_type: at,
                    amount_description: ad,
                    amount: amount_at(i)?,
                    ..base
                });
            }
            rows.iter().for_each(emit);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time split gives the cells `str::split` gives, tabs at every position of a
    /// word included, and the trim what `str::trim` gives.
    #[test]
    fn cells_are_the_tab_separated_pieces() {
        let lines = [
            "",
            "\t",
            "a",
            "\t\t\t\t\t\t\t\t\t",
            "Order\t028-7130974-6854703\t\tAmazon.de\tItemPrice\tPrincipal\t54,20\t",
            "1234567\t89\tabcdefgh\tijklmnopq\t\u{e9}t\u{e9}\t \u{a0}x\u{a0} \t",
            "seven..\teight...\tnine.....\t",
        ];
        let mut tabs = Vec::new();
        for line in lines {
            let cells = split_cells(line, &mut tabs);
            let want: Vec<&str> = line.split('\t').collect();
            let got: Vec<&str> = (0..cells.len()).map(|i| cells.get(i).unwrap()).collect();
            assert_eq!(got, want, "{line:?}");
            assert_eq!(cells.get(cells.len()), None, "{line:?}");
            for cell in got {
                assert_eq!(trim(cell), cell.trim(), "{cell:?}");
            }
        }
    }
}
