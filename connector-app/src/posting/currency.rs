//! The company's currencies as SAP names them, and its daily exchange rates, cached per engine.
//!
//! SAP's currency codes are the company's own (`$`, `Can`, `EUR`, ...); the ISO code is
//! `InternationalDescription` (OCRN). Amazon speaks ISO, so every amount that goes to SAP has its
//! currency translated here. A document in another currency than the company's needs SAP's rate
//! for its date: SAP refuses it otherwise.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Result;
use chrono::NaiveDate;
use futures::TryStreamExt;
use rust_decimal::Decimal;
use sap_b1_client::Error as SapError;
use sap_b1_client::Query;
use sap_b1_client::entities::Currency;

use crate::flows::Engine;

/// Cached currency data of one engine.
#[derive(Debug, Default)]
pub struct CurrencyCache {
    currencies: tokio::sync::OnceCell<Vec<Currency>>,
    rates: Mutex<HashMap<(String, NaiveDate), Option<Decimal>>>,
}

/// SAP's code for an ISO currency among `currencies`: the one whose `InternationalDescription` is
/// it, else the one whose code is it.
pub fn sap_code_of<'a>(currencies: &'a [Currency], iso: &str) -> Option<&'a str> {
    currencies
        .iter()
        .find(|c| c.international_description.as_deref() == Some(iso))
        .or_else(|| currencies.iter().find(|c| c.code.as_deref() == Some(iso)))
        .and_then(|c| c.code.as_deref())
}

impl Engine {
    /// The company's currencies (read once).
    pub async fn sap_currencies(&self) -> Result<&[Currency]> {
        Ok(self
            .currency
            .currencies
            .get_or_try_init(|| async {
                self.sap
                    .currencies()
                    .stream(&Query::new())
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?
            .as_slice())
    }

    /// SAP's code for the ISO currency `iso`: the configured one (`[sap.currencies]`), else the
    /// company's currency with that ISO code; `None` when the company has no such currency.
    pub async fn sap_currency(&self, iso: &str) -> Result<Option<String>> {
        if let Some(code) = self.config.sap.currencies.get(iso) {
            return Ok(Some(code.clone()));
        }
        Ok(sap_code_of(self.sap_currencies().await?, iso).map(str::to_owned))
    }

    /// Whether SAP's currency `code` is not the company's own (`false` when the company's
    /// settings are unreadable: amounts then go as they are).
    pub async fn is_foreign(&self, code: &str) -> Result<bool> {
        Ok(self
            .company()
            .await?
            .and_then(|c| c.local_currency)
            .is_some_and(|local| local != code))
    }

    /// SAP's rate of `code` (SAP's code) on `date`, `None` when the company has none for that day.
    pub async fn rate_on(&self, code: &str, date: NaiveDate) -> Result<Option<Decimal>> {
        let key = (code.to_owned(), date);
        if let Some(hit) = self
            .currency
            .rates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(*hit);
        }
        let rate = match self.sap.currency_rate(code, date).await {
            Ok(r) if !r.is_zero() => Some(r),
            Ok(_) => None,
            // SAP answers a missing rate with an error of its own.
            Err(SapError::Validation(_) | SapError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        self.currency
            .rates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, rate);
        Ok(rate)
    }
}
