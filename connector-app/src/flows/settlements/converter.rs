//! Amazon Currency Converter for Sellers: a settlement in the marketplace's currency whose payout
//! Amazon converts into the seller's bank currency before it pays out.
//!
//! The settlement file knows only the marketplace currency; what reached the bank is Amazon's
//! converted amount of the settlement's financial event group (Finances v0
//! `listFinancialEventGroups`: `OriginalTotal` in the marketplace currency, `ConvertedTotal` in the
//! disbursement currency; reference notes, settlement.md §4). A settlement and its group share no
//! identifier, so the group is the closed one with the settlement's currency and total whose end is
//! within a day of the settlement's (Amazon support's advice, amzn/selling-partner-api-models#5143).
//!
//! The deposit's journal entry then credits the clearing account in the settlement currency (at
//! SAP's rate) and debits the bank with the converted amount in the company's currency; what
//! Amazon's conversion gave more or less than SAP's rate goes to `CurrencyConversion`.

use anyhow::{Context, Result};
use futures::TryStreamExt;
use rust_decimal::Decimal;
use settlement_mapper::postings::SettlementPostings;
use sp_api_client::finances::EventGroupQuery;

use crate::flows::Engine;

/// Symbolic account of the difference between Amazon's conversion and SAP's rate.
pub const CURRENCY_CONVERSION: &str = "CurrencyConversion";

impl Engine {
    /// The deposit of `postings` in the company's currency when Amazon converts its currency
    /// (`settlements.currency_converter`): `Ok(None)` when it does not or nothing is paid out,
    /// `Err` with the hold reason when Amazon's converted amount is not known (yet).
    pub(super) async fn converted_deposit(
        &self,
        postings: &SettlementPostings,
    ) -> Result<Result<Option<Decimal>, String>> {
        let converted = &self.config.settlements.currency_converter;
        if !converted.contains(&postings.currency) || postings.total_amount <= Decimal::ZERO {
            return Ok(Ok(None));
        }
        // A settlement in the company's own currency needs no conversion.
        match self.sap_currency(&postings.currency).await? {
            Some(code) if self.is_foreign(&code).await? => {}
            _ => return Ok(Ok(None)),
        }
        let mut query = EventGroupQuery::started_after(postings.start - chrono::Duration::days(2));
        query.started_before = Some(postings.start + chrono::Duration::days(2));
        let groups: Vec<_> = self
            .amazon
            .list_financial_event_groups(query)
            .try_collect()
            .await
            .context("Amazon listFinancialEventGroups (the converted deposit)")?;
        let group = groups.iter().find(|g| {
            g.original_total.as_ref().is_some_and(|t| {
                t.currency_code == postings.currency && t.amount == postings.total_amount
            }) && g
                .financial_event_group_end
                .is_some_and(|end| (end - postings.end).num_hours().abs() <= 24)
        });
        let id = &postings.settlement_id;
        let Some(group) = group else {
            return Ok(Err(format!(
                "settlement {id}: Amazon's Finances API has no financial event group with its total \
                 ({} {}) and period yet, so the amount converted for the bank is not known \
                 (settlements.currency_converter lists {}); run again later",
                postings.total_amount, postings.currency, postings.currency
            )));
        };
        let Some(total) = &group.converted_total else {
            return Ok(Err(format!(
                "settlement {id}: financial event group {} has no ConvertedTotal",
                group.financial_event_group_id
            )));
        };
        let local = match self.sap_currency(&total.currency_code).await? {
            Some(code) => !self.is_foreign(&code).await?,
            None => false,
        };
        if !local {
            return Ok(Err(format!(
                "settlement {id}: Amazon converted its payout into {}, which is not the company's \
                 currency; only conversions into it are supported (remove {} from \
                 settlements.currency_converter to post the deposit in {})",
                total.currency_code, postings.currency, postings.currency
            )));
        }
        Ok(Ok(Some(total.amount)))
    }
}
