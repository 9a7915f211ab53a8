//! Which column holds which field: the header read by name, V1's typed amount columns.

use super::Layout;
use crate::error::{ReadError, ReadErrorKind};

/// Column indexes of the fields we read, by header name.
#[derive(Debug, Default)]
pub(super) struct Columns {
    pub(super) settlement_id: usize,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) deposit_date: usize,
    pub(super) total_amount: usize,
    pub(super) currency: usize,
    pub(super) transaction_type: usize,
    pub(super) order_id: Option<usize>,
    pub(super) merchant_order_id: Option<usize>,
    pub(super) adjustment_id: Option<usize>,
    pub(super) shipment_id: Option<usize>,
    pub(super) marketplace_name: Option<usize>,
    pub(super) fulfillment_id: Option<usize>,
    pub(super) posted_date: Option<usize>,
    pub(super) posted_date_time: Option<usize>,
    pub(super) sku: Option<usize>,
    pub(super) quantity: Option<usize>,
    pub(super) promotion_id: Option<usize>,
    // V2
    pub(super) amount_type: usize,
    pub(super) amount_description: usize,
    pub(super) amount: usize,
    // V1: (type column, amount column, V2 amount-type)
    pub(super) v1_pairs: Vec<(Option<usize>, usize, &'static str)>,
    pub(super) v1_other_fee_reason: Option<usize>,
    pub(super) v1_other_amount: Option<usize>,
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

impl Columns {
    pub(super) fn from_header(header: &[String], line: u64) -> Result<(Self, Layout), ReadError> {
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
