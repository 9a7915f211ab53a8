//! The receipts a settlement held (difference above the write-off tolerance) as the report shows
//! them: each with its ledger key and state; until one posts, the clearing account keeps its amount.

use rust_decimal::Decimal;
use serde::Serialize;

use super::money;
use crate::flows::settlements::held::{HeldReceipt, held_receipt_key};

/// One held receipt and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldState {
    /// The receipt and its difference.
    #[serde(flatten)]
    pub receipt: HeldReceipt,
    /// Its ledger key (`replay` / `dismiss` it).
    pub key: String,
    /// Its ledger state (`HELD`, `POSTED`, `DISMISSED`...).
    pub state: String,
}

impl HeldState {
    /// Whether it still waits (not posted, not dismissed by a person).
    pub fn waiting(&self) -> bool {
        !matches!(self.state.as_str(), "POSTED" | "DISMISSED")
    }
}

/// The held receipts stored with the settlement's summary (`payload`), with their states.
pub(super) fn states(
    payload: Option<&serde_json::Value>,
    seller: &str,
    id: &str,
    state_of: impl Fn(&str) -> Option<String>,
) -> Vec<HeldState> {
    let held: Vec<HeldReceipt> = payload
        .and_then(|v| serde_json::from_value(v["held"].clone()).ok())
        .unwrap_or_default();
    held.into_iter()
        .map(|h| {
            let key = held_receipt_key(seller, id, &h.order_id, h.date);
            let state = state_of(&key).unwrap_or_else(|| "not planned".to_owned());
            HeldState {
                receipt: h,
                key,
                state,
            }
        })
        .collect()
}

/// The verdict's words for the receipts still waiting, or `None`.
pub(super) fn verdict_part(held: &[HeldState], currency: &str) -> Option<String> {
    let waiting: Vec<&HeldState> = held.iter().filter(|h| h.waiting()).collect();
    if waiting.is_empty() {
        return None;
    }
    let amount: Decimal = waiting.iter().map(|h| h.receipt.receipt).sum();
    let orders: Vec<String> = waiting
        .iter()
        .map(|h| {
            format!(
                "{} (invoice {}, {} off)",
                h.receipt.order_id,
                h.receipt.invoice_num,
                money(h.receipt.difference)
            )
        })
        .collect();
    Some(format!(
        "{} receipt(s) held, {} {currency}, kept on the clearing account until replayed: {}",
        waiting.len(),
        money(amount),
        orders.join(", ")
    ))
}
