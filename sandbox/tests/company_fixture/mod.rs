//! A company of the tests' own, set up through the sandbox's company settings and plain Service
//! Layer calls (not the generated world): currencies, accounts, tax codes, customers and an item.
#![allow(dead_code)]

use reqwest::Client;
use sandbox::Sandbox;
use serde_json::{Value, json};

use crate::common::{client, login, sap_post};

/// A session on a started sandbox.
pub struct Co {
    /// The sandbox.
    pub sb: Sandbox,
    /// HTTP client.
    pub c: Client,
    /// v2 session cookie.
    pub cookie: String,
}

impl Co {
    /// POSTs `body` to `path` (v2); returns status and answer.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        sap_post(&self.sb, &self.c, &self.cookie, "v2", path, body).await
    }

    /// POSTs and asserts 201 (or 204), returning the answer.
    pub async fn add(&self, path: &str, body: Value) -> Value {
        let (s, b) = self.post(path, &body).await;
        assert!(s == 201 || s == 204, "POST {path}: {s} {b}");
        b
    }

    /// POSTs and asserts SAP's refusal: status 400, `code`, message containing `text`.
    pub async fn refused(&self, path: &str, body: Value, code: &str, text: &str) {
        let (s, b) = self.post(path, &body).await;
        assert_eq!(s, 400, "{b}");
        assert_eq!(b["error"]["code"], code, "{b}");
        let msg = b["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(text), "{msg:?} should contain {text:?}");
    }

    /// Sets a rate through `SBOBobService_SetCurrencyRate` (`YYYYMMDD`).
    pub async fn rate(&self, currency: &str, date: &str, rate: &str) {
        self.add(
            "SBOBobService_SetCurrencyRate",
            json!({"Currency": currency, "Rate": rate, "RateDate": date}),
        )
        .await;
    }
}

/// Starts a sandbox and sets up a company: `local` currency, `country`, plus `extra` AdminInfo
/// properties. Adds currencies `EUR` (ISO EUR), `GBP` (ISO GBP) and `$` (ISO USD) when missing,
/// accounts `T-AR`, `T-REV`, `T-BANK` (all currencies), `T-BANK-EUR` (EUR only), `T-GBP` (GBP
/// only), `T-CLEAR`, `T-VATOUT`, `T-VATIN`, `T-EXP`, `T-FXGAIN`, `T-FXLOSS`.
pub async fn company(local: &str, country: &str, extra: Value) -> Co {
    let sb = crate::common::start(5).await;
    let mut info = json!({
        "LocalCurrency": local,
        "SystemCurrency": local,
        "Country": country,
        "ARGainRealizedExchngeDif": "T-FXGAIN",
        "ARLossRealizedExchangeDi": "T-FXLOSS",
    });
    if let (Some(i), Value::Object(x)) = (info.as_object_mut(), extra) {
        i.extend(x);
    }
    sb.set_sap_admin_info(info);
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let co = Co { sb, c, cookie };
    for (code, iso) in [("EUR", "EUR"), ("GBP", "GBP"), ("$", "USD")] {
        // Present already in some seeds: then only the ISO code is checked below.
        let _ = co
            .post(
                "Currencies",
                &json!({"Code": code, "Name": iso, "InternationalDescription": iso}),
            )
            .await;
    }
    for (code, cur) in [
        ("T-AR", "##"),
        ("T-REV", "##"),
        ("T-BANK", "##"),
        ("T-BANK-EUR", "EUR"),
        ("T-GBP", "GBP"),
        ("T-CLEAR", "##"),
        ("T-VATOUT", "##"),
        ("T-VATIN", "##"),
        ("T-EXP", "##"),
        ("T-FXGAIN", "##"),
        ("T-FXLOSS", "##"),
    ] {
        co.add(
            "ChartOfAccounts",
            json!({"Code": code, "Name": code, "ActiveAccount": "tYES", "AcctCurrency": cur}),
        )
        .await;
    }
    co
}

/// A customer `code` in `currency` (`##` = all currencies) on price list 91.
pub async fn customer(co: &Co, code: &str, currency: &str) {
    co.add(
        "BusinessPartners",
        json!({"CardCode": code, "CardName": code, "CardType": "cCustomer", "Currency": currency,
               "PriceListNum": 91, "DebitorAccount": "T-AR"}),
    )
    .await;
}

/// An item `code` priced `price` on list 91, stocked in warehouse `T1` with `stock` units.
pub async fn item(co: &Co, code: &str, price: f64, stock: i64) {
    co.add(
        "Items",
        json!({"ItemCode": code, "ItemName": code, "DefaultWarehouse": "T1",
               "ItemPrices": [{"PriceList": 91, "Price": price}],
               "ItemWarehouseInfoCollection": [{"WarehouseCode": "T1"}]}),
    )
    .await;
    assert!(co.sb.set_item_stock(code, "T1", stock));
}

/// A VAT group with rate lines (`[(effective from, rate)]`) posting to `account`.
pub async fn vat_group(co: &Co, code: &str, category: &str, account: &str, lines: &[(&str, f64)]) {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(from, r)| json!({"Effectivefrom": from, "Rate": r}))
        .collect();
    co.add(
        "VatGroups",
        json!({"Code": code, "Name": code, "Category": category, "TaxAccount": account,
               "Inactive": "tNO", "VatGroups_Lines": lines}),
    )
    .await;
}

/// A number in an answer as f64 (what SAP serves).
pub fn n(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}
