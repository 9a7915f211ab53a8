//! Company-level service calls: the company's settings and its exchange rates.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::client::SapClient;
use crate::entities::{AdminInfo, Currency};
use crate::entity_set::EntitySet;
use crate::error::{Error, Result};
use crate::request::{Request, Retry};

impl SapClient {
    /// `POST CompanyService_GetAdminInfo`: local and system currency, country, branches.
    pub async fn admin_info(&self) -> Result<AdminInfo> {
        // A read, although SAP serves it as a POST: safe to retry.
        let request = Request::post("CompanyService_GetAdminInfo").retry(Retry::Idempotent);
        self.send_json(request).await
    }

    /// The company's currencies (`Currencies`, key `Code`).
    pub fn currencies(&self) -> EntitySet<Currency> {
        self.entity_set()
    }

    /// `POST SBOBobService_GetCurrencyRate`: local-currency units per one unit of `currency`
    /// (SAP's code) on `date`. SAP refuses when the company has no rate for that day.
    pub async fn currency_rate(&self, currency: &str, date: NaiveDate) -> Result<Decimal> {
        let body = json!({"Currency": currency, "Date": date.format("%Y-%m-%d").to_string()});
        let request = Request::post("SBOBobService_GetCurrencyRate")
            .json_body(body.to_string())
            .retry(Retry::Idempotent);
        let value: Value = self.send_json(request).await?;
        rate_of(&value).ok_or_else(|| Error::UnexpectedResponse {
            message: "SBOBobService_GetCurrencyRate did not answer a number".into(),
            body: value.to_string(),
        })
    }
}

/// The number in `{"value": 1.1}` (v1 and v2) or a bare number, as a decimal.
fn rate_of(v: &Value) -> Option<Decimal> {
    let n = match v {
        Value::Object(m) => m.get("value")?,
        other => other,
    };
    match n {
        Value::Number(x) => x.to_string().parse().ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_from_both_answer_shapes() {
        assert_eq!(
            rate_of(&json!({"odata.metadata": "x#Edm.Double", "value": 1.3675})),
            Some("1.3675".parse().unwrap())
        );
        assert_eq!(rate_of(&json!(0.74)), Some("0.74".parse().unwrap()));
        assert_eq!(
            rate_of(&json!({"value": "17.05"})),
            Some("17.05".parse().unwrap())
        );
        assert_eq!(rate_of(&json!({"value": null})), None);
    }
}
