//! The company's money like SAP: AdminInfo and exchange rates as service calls, documents in a
//! foreign currency (known currency, the BP's currency, the day's rate, LC and FC totals),
//! payments applying foreign amounts and posting exchange differences, journal lines with
//! foreign amounts on accounts that keep their currency. Plain HTTP, a company of its own.

mod common;
// Dates are in 2019: the world seeded behind the fixture's company has rates around its
// anchor, and these tests need days without one (2019 dates, no world rate).
mod company_fixture;

use common::{client, login, sap_post};
use company_fixture::{Co, company, customer, item, vat_group};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn admin_info_and_currency_rates_are_service_calls_in_v1_and_v2() {
    let co = company("GBP", "GB", json!({"BlockStockNegativeQuantity": "tYES"})).await;
    let c = client();
    let v1 = login(&co.sb, &c, "v1").await;
    for (version, cookie, ctx) in [
        ("v1", &v1, "odata.metadata"),
        ("v2", &co.cookie, "@odata.context"),
    ] {
        let (s, b) = sap_post(
            &co.sb,
            &c,
            cookie,
            version,
            "CompanyService_GetAdminInfo",
            &json!({}),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["LocalCurrency"], "GBP");
        assert_eq!(b["SystemCurrency"], "GBP");
        assert_eq!(b["Country"], "GB");
        assert_eq!(b["BlockStockNegativeQuantity"], "tYES");
        assert!(
            b[ctx]
                .as_str()
                .unwrap()
                .ends_with("$metadata#SAPB1.AdminInfo")
        );
        assert!(
            b.get("ARGainRealizedExchngeDif").is_none(),
            "not an AdminInfo property"
        );
    }
    co.rate("EUR", "20190309", "0.85").await;
    let ask = json!({"Currency": "EUR", "Date": "20190309"});
    let (s, b) = sap_post(&co.sb, &c, &v1, "v1", "SBOBobService_GetCurrencyRate", &ask).await;
    assert_eq!((s, b), (200, json!(0.85)), "v1 answers a bare number");
    let (s, b) = co.post("SBOBobService_GetCurrencyRate", &ask).await;
    assert_eq!(s, 200);
    assert_eq!(b["value"], json!(0.85));
    // No rate carried forward to the next day.
    co.refused(
        "SBOBobService_GetCurrencyRate",
        json!({"Currency": "EUR", "Date": "2019-03-10"}),
        "-10",
        "EUR",
    )
    .await;
    co.refused(
        "SBOBobService_SetCurrencyRate",
        json!({"Currency": "XXX", "Rate": "1.1", "RateDate": "20190309"}),
        "-2028",
        "No matching records",
    )
    .await;
    co.refused(
        "SBOBobService_SetCurrencyRate",
        json!({"Currency": "GBP", "Rate": "1", "RateDate": "20190309"}),
        "-10",
        "local currency",
    )
    .await;
    // The company's currency code may differ from ISO: `$` is USD.
    let (s, b) = common::sap_get(
        &co.sb,
        &co.c,
        &co.cookie,
        "v2",
        "Currencies?$filter=InternationalDescription eq 'USD'",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["value"][0]["Code"], "$");
    co.sb.shutdown().await;
}

async fn eu_company() -> Co {
    let co = company("GBP", "GB", json!({})).await;
    vat_group(
        &co,
        "T-O20",
        "bovcOutputTax",
        "T-VATOUT",
        &[("2018-01-01", 20.0)],
    )
    .await;
    customer(&co, "T-EU", "EUR").await;
    customer(&co, "T-ALL", "##").await;
    item(&co, "T-ITEM", 10.0, 100).await;
    co
}

fn invoice(card: &str, currency: Option<&str>, date: &str, line: Value) -> Value {
    let mut b = json!({"CardCode": card, "DocDate": date, "DocumentLines": [line]});
    if let Some(c) = currency {
        b["DocCurrency"] = json!(c);
    }
    b
}

#[tokio::test]
async fn foreign_currency_invoices_need_a_known_currency_the_bp_currency_and_the_days_rate() {
    let co = eu_company().await;
    let line = json!({"ItemCode": "T-ITEM", "Quantity": 2, "UnitPrice": 10, "VatGroup": "T-O20"});
    co.refused(
        "Invoices",
        invoice("T-EU", Some("XXX"), "2019-03-09", line.clone()),
        "-2028",
        "No matching",
    )
    .await;
    co.refused(
        "Invoices",
        invoice("T-EU", Some("GBP"), "2019-03-09", line.clone()),
        "-10",
        "business partner currency",
    )
    .await;
    co.refused(
        "Invoices",
        invoice("T-EU", None, "2019-03-09", line.clone()),
        "-10",
        "exchange rate",
    )
    .await;
    co.rate("EUR", "20190309", "0.85").await;
    let a = co
        .add(
            "Invoices",
            invoice("T-EU", None, "2019-03-09", line.clone()),
        )
        .await;
    assert_eq!(a["DocCurrency"], "EUR", "the BP's currency by default");
    assert_eq!(a["DocRate"], json!(0.85));
    let l = &a["DocumentLines"][0];
    assert_eq!(l["RowTotalFC"], json!(20), "2 x 10 EUR");
    assert_eq!(
        l["LineTotal"],
        json!(17),
        "LineTotal is local currency: 20 x 0.85"
    );
    assert_eq!(l["TaxTotal"], json!(3.4));
    assert_eq!(a["DocTotalFc"], json!(24));
    assert_eq!(a["VatSumFc"], json!(4));
    assert_eq!(a["DocTotal"], json!(20.4));
    assert_eq!(a["VatSum"], json!(3.4));
    assert_eq!(a["PaidToDate"], json!(0));
    assert_eq!(a["PaidToDateFC"], json!(0));
    // A LineTotal sent on an FC document is local currency: 17 GBP = 20 EUR.
    let b = co
        .add(
            "Invoices",
            invoice(
                "T-ALL",
                Some("EUR"),
                "2019-03-09",
                json!({"ItemCode": "T-ITEM", "LineTotal": 17, "VatGroup": "T-O20"}),
            ),
        )
        .await;
    assert_eq!(b["DocumentLines"][0]["RowTotalFC"], json!(20));
    assert_eq!(b["DocumentLines"][0]["LineTotal"], json!(17));
    assert_eq!(b["DocTotalFc"], json!(24));
    // A `##` customer may be invoiced in local currency: no rate, FC fields zero.
    let g = co
        .add(
            "Invoices",
            invoice(
                "T-ALL",
                Some("GBP"),
                "2019-03-11",
                json!({"ItemCode": "T-ITEM", "UnitPrice": 10, "VatGroup": "T-O20"}),
            ),
        )
        .await;
    assert_eq!(g["DocRate"], json!(1));
    assert_eq!(g["DocTotal"], json!(12));
    assert_eq!(g["DocTotalFc"], json!(0));
    assert_eq!(g["DocumentLines"][0]["RowTotalFC"], json!(0));
    // A list price kept in local currency is the document currency's price at the day's rate:
    // 8.50 GBP = 10 EUR, so a row of 10 EUR has no discount.
    co.add(
        "Items",
        json!({"ItemCode": "T-GBP-PRICED", "ItemPrices": [{"PriceList": 91, "Price": 8.5, "Currency": "GBP"}]}),
    )
    .await;
    let p = co
        .add(
            "Invoices",
            invoice(
                "T-EU",
                None,
                "2019-03-09",
                json!({"ItemCode": "T-GBP-PRICED", "RowTotalFC": 10}),
            ),
        )
        .await;
    assert_eq!(p["DocumentLines"][0]["UnitPrice"], json!(10));
    assert_eq!(p["DocumentLines"][0]["DiscountPercent"], json!(0));
    co.sb.shutdown().await;
}

#[tokio::test]
async fn foreign_payments_apply_applied_fc_and_post_the_exchange_difference() {
    let co = eu_company().await;
    co.rate("EUR", "20190309", "0.85").await;
    co.rate("EUR", "20190310", "0.9").await;
    let line = json!({"ItemCode": "T-ITEM", "Quantity": 2, "UnitPrice": 10, "VatGroup": "T-O20"});
    let inv = co
        .add("Invoices", invoice("T-EU", None, "2019-03-09", line))
        .await;
    let entry = inv["DocEntry"].clone();
    let pay = |applied_fc: f64, account: &str, date: &str| {
        json!({"CardCode": "T-EU", "DocDate": date, "DocCurrency": "EUR",
               "TransferAccount": account, "TransferSum": applied_fc,
               "PaymentInvoices": [{"DocEntry": entry, "InvoiceType": "it_Invoice", "AppliedFC": applied_fc}]})
    };
    co.refused(
        "IncomingPayments",
        pay(25.0, "T-BANK-EUR", "2019-03-10"),
        "-10",
        "exceeds its open balance",
    )
    .await;
    co.refused(
        "IncomingPayments",
        pay(24.0, "T-GBP", "2019-03-10"),
        "-10",
        "currency 'GBP'",
    )
    .await;
    co.refused(
        "IncomingPayments",
        pay(24.0, "T-BANK-EUR", "2019-03-12"),
        "-10",
        "exchange rate",
    )
    .await;
    let p = co
        .add("IncomingPayments", pay(24.0, "T-BANK-EUR", "2019-03-10"))
        .await;
    assert_eq!(p["DocRate"], json!(0.9));
    assert_eq!(p["PaymentInvoices"][0]["AppliedFC"], json!(24));
    assert_eq!(
        p["PaymentInvoices"][0]["SumApplied"],
        json!(21.6),
        "24 EUR at 0.90"
    );
    let inv = co
        .sb
        .sap_entity(
            "Invoices",
            &sandbox::sap::store::Key::Int(inv["DocEntry"].as_i64().unwrap()),
        )
        .unwrap();
    assert_eq!(inv["DocumentStatus"], "bost_Close");
    assert_eq!(inv["PaidToDateFC"], json!(24));
    assert_eq!(
        inv["PaidToDate"],
        json!(20.4),
        "cleared at the invoice's own rate"
    );
    // 21.60 received against 20.40 booked: a realized gain of 1.20.
    let je: Vec<Value> = co.sb.sap_entities("JournalEntries");
    assert_eq!(je.len(), 1, "{je:?}");
    let lines = je[0]["JournalEntryLines"].as_array().unwrap();
    let gain = lines
        .iter()
        .find(|l| l["AccountCode"] == "T-FXGAIN")
        .unwrap();
    assert_eq!(gain["Credit"], json!(1.2));
    assert!(
        co.sb.sap_open_items("T-EU").is_empty(),
        "{:?}",
        co.sb.sap_open_items("T-EU")
    );
    let balances = co.sb.sap_account_balances();
    let bal = |acct: &str, cur: &str| {
        balances
            .iter()
            .find(|b| b.account == acct && b.currency == cur)
            .map(|b| (b.lc, b.fc))
    };
    assert_eq!(bal("T-BANK-EUR", "EUR"), Some((dec("21.6"), dec("24"))));
    assert_eq!(
        bal("T-AR", "EUR"),
        Some((dec("0"), dec("0"))),
        "{balances:?}"
    );
    assert_eq!(bal("T-FXGAIN", "GBP"), Some((dec("-1.2"), dec("0"))));
    assert_eq!(bal("T-VATOUT", "EUR"), Some((dec("-3.4"), dec("-4"))));
    co.sb.shutdown().await;
}

#[tokio::test]
async fn journal_lines_carry_foreign_amounts_on_accounts_that_keep_their_currency() {
    let co = eu_company().await;
    co.rate("EUR", "20190309", "0.85").await;
    let je = |acct: &str, fc: bool| {
        let (d, c) = if fc {
            (
                json!({"AccountCode": acct, "FCCurrency": "EUR", "FCDebit": 10}),
                json!({"AccountCode": "T-CLEAR", "FCCurrency": "EUR", "FCCredit": 10}),
            )
        } else {
            (
                json!({"AccountCode": acct, "Debit": 8.5}),
                json!({"AccountCode": "T-CLEAR", "Credit": 8.5}),
            )
        };
        json!({"ReferenceDate": "2019-03-09", "JournalEntryLines": [d, c]})
    };
    let a = co.add("JournalEntries", je("T-BANK-EUR", true)).await;
    let l = &a["JournalEntryLines"][0];
    assert_eq!(l["Debit"], json!(8.5), "10 EUR at 0.85");
    assert_eq!(l["FCDebit"], json!(10));
    assert_eq!(a["JournalEntryLines"][1]["Credit"], json!(8.5));
    co.refused(
        "JournalEntries",
        je("T-BANK-EUR", false),
        "-10",
        "currency 'EUR'",
    )
    .await;
    co.refused("JournalEntries", je("T-GBP", true), "-10", "currency 'GBP'")
        .await;
    let mut late = je("T-BANK-EUR", true);
    late["ReferenceDate"] = json!("2019-03-20");
    co.refused("JournalEntries", late, "-10", "exchange rate")
        .await;
    co.sb.shutdown().await;
}

#[tokio::test]
async fn several_foreign_invoices_paid_at_once_leave_no_rounding_residue() {
    let co = eu_company().await;
    co.rate("EUR", "20190309", "0.85").await;
    co.rate("EUR", "20190310", "0.9").await;
    let mut entries = Vec::new();
    for _ in 0..2 {
        // 0.33 EUR at 0.85 = 0.2805, booked 0.28 GBP.
        let i = co
            .add(
                "Invoices",
                invoice(
                    "T-EU",
                    None,
                    "2019-03-09",
                    json!({"ItemCode": "T-ITEM", "UnitPrice": 0.33}),
                ),
            )
            .await;
        assert_eq!(i["DocTotal"], json!(0.28));
        entries.push(i["DocEntry"].clone());
    }
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| json!({"DocEntry": e, "InvoiceType": "it_Invoice", "AppliedFC": 0.33}))
        .collect();
    let pay = json!({"CardCode": "T-EU", "DocDate": "2019-03-10", "DocCurrency": "EUR",
                     "TransferAccount": "T-BANK-EUR", "TransferSum": 0.66, "PaymentInvoices": rows});
    let p = co.add("IncomingPayments", pay.clone()).await;
    assert_eq!(
        p["PaymentInvoices"][0]["SumApplied"],
        json!(0.3),
        "0.297 per row"
    );
    // 0.66 EUR at 0.90 = 0.594 → 0.59 received against 0.56 booked: gain 0.03, not 0.04.
    let je = co.sb.sap_entities("JournalEntries");
    let gain = je[0]["JournalEntryLines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["AccountCode"] == "T-FXGAIN")
        .cloned()
        .unwrap();
    assert_eq!(gain["Credit"], json!(0.03));
    assert!(
        co.sb.sap_open_items("T-EU").is_empty(),
        "{:?}",
        co.sb.sap_open_items("T-EU")
    );
    let balances = co.sb.sap_account_balances();
    let ar: Vec<_> = balances.iter().filter(|b| b.account == "T-AR").collect();
    assert!(
        ar.iter().all(|b| b.lc.is_zero() && b.fc.is_zero()),
        "{ar:?}"
    );
    // Both invoices are closed: paying them again is refused.
    co.refused("IncomingPayments", pay, "-10", "exceeds its open balance")
        .await;
    co.sb.shutdown().await;
}

#[tokio::test]
async fn foreign_credit_notes_take_the_base_currency_and_realize_the_rate_difference() {
    let co = eu_company().await;
    co.rate("EUR", "20190309", "0.85").await;
    co.rate("EUR", "20190310", "0.9").await;
    let line = json!({"ItemCode": "T-ITEM", "Quantity": 2, "UnitPrice": 10, "VatGroup": "T-O20"});
    let credit = |entry: &Value, currency: Option<&str>| {
        let mut b = json!({"CardCode": "T-ALL", "DocDate": "2019-03-10",
            "DocumentLines": [{"BaseType": 13, "BaseEntry": entry, "BaseLine": 0, "Quantity": 2}]});
        if let Some(c) = currency {
            b["DocCurrency"] = json!(c);
        }
        b
    };
    let i = co
        .add(
            "Invoices",
            invoice("T-ALL", Some("EUR"), "2019-03-09", line.clone()),
        )
        .await;
    co.refused(
        "CreditNotes",
        credit(&i["DocEntry"], Some("GBP")),
        "-10",
        "base document currency",
    )
    .await;
    let cn = co.add("CreditNotes", credit(&i["DocEntry"], None)).await;
    assert_eq!(
        cn["DocCurrency"], "EUR",
        "the invoice's currency, not the ## BP's default"
    );
    assert_eq!(cn["DocRate"], json!(0.9), "the rate of its own date");
    assert_eq!(cn["DocTotalFc"], json!(24));
    assert_eq!(cn["DocTotal"], json!(21.6));
    assert_eq!(cn["DocumentStatus"], "bost_Close");
    let je = co.sb.sap_entities("JournalEntries");
    assert_eq!(je.len(), 1);
    assert_eq!(je[0]["OriginalJournal"], "ttARCredItnote");
    let gain = je[0]["JournalEntryLines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["AccountCode"] == "T-FXGAIN")
        .cloned()
        .unwrap();
    assert_eq!(
        gain["Credit"],
        json!(1.2),
        "21.60 credited against 20.40 booked"
    );
    assert!(
        co.sb.sap_open_items("T-ALL").is_empty(),
        "{:?}",
        co.sb.sap_open_items("T-ALL")
    );
    let ar: Vec<_> = co
        .sb
        .sap_account_balances()
        .into_iter()
        .filter(|b| b.account == "T-AR")
        .collect();
    assert!(
        ar.iter().all(|b| b.lc.is_zero() && b.fc.is_zero()),
        "{ar:?}"
    );
    // With CopyExchangeRateInCopyTo the credit note keeps the invoice's rate: no difference.
    co.sb
        .set_sap_admin_info(json!({"LocalCurrency": "GBP", "Country": "GB",
        "CopyExchangeRateInCopyTo": "tYES",
        "ARGainRealizedExchngeDif": "T-FXGAIN", "ARLossRealizedExchangeDi": "T-FXLOSS"}));
    let i = co
        .add(
            "Invoices",
            invoice("T-ALL", Some("EUR"), "2019-03-09", line),
        )
        .await;
    let cn = co.add("CreditNotes", credit(&i["DocEntry"], None)).await;
    assert_eq!(cn["DocRate"], json!(0.85));
    assert_eq!(cn["DocTotal"], json!(20.4));
    assert_eq!(co.sb.sap_entities("JournalEntries").len(), 1);
    co.sb.shutdown().await;
}
