//! Taxes like SAP: the localisation's tax property (VatGroup for VAT, TaxCode for US sales tax),
//! the rate of the document date, tax per row rounded per row, gross prices kept, price and
//! discount derived from row totals (KBA 3697554), freight taxed like rows, automatic VAT lines
//! on journal entries, credit notes drawn from an invoice, negative stock blocked, and the books
//! views (tax per code, open items). Plain HTTP, a company of its own.

mod common;
mod company_fixture;

use company_fixture::{Co, company, customer, item, vat_group};
use rust_decimal::Decimal;
use sandbox::inspect::books::TaxReportLine;
use serde_json::{Value, json};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn vat_company(extra: Value) -> Co {
    let co = company("GBP", "GB", extra).await;
    vat_group(
        &co,
        "T-O20",
        "bovcOutputTax",
        "T-VATOUT",
        &[("2020-01-01", 20.0), ("2026-03-01", 17.5)],
    )
    .await;
    vat_group(
        &co,
        "T-I20",
        "bovcInputTax",
        "T-VATIN",
        &[("2020-01-01", 20.0)],
    )
    .await;
    co.add(
        "VatGroups",
        json!({"Code": "T-OFF", "Name": "retired", "Category": "bovcOutputTax", "Inactive": "tYES",
               "VatGroups_Lines": [{"Effectivefrom": "2020-01-01", "Rate": 5}]}),
    )
    .await;
    customer(&co, "T-GB", "GBP").await;
    customer(&co, "T-EU", "EUR").await;
    item(&co, "T-ITEM", 10.0, 100).await;
    item(&co, "T-FREE", 0.0, 100).await;
    co
}

fn inv(card: &str, date: &str, lines: Value) -> Value {
    json!({"CardCode": card, "DocDate": date, "DocumentLines": lines})
}

#[tokio::test]
async fn vat_rows_take_the_rate_of_the_document_date_rounded_per_row() {
    let co = vat_company(json!({})).await;
    let row = |code: &str| json!([{"ItemCode": "T-ITEM", "UnitPrice": 10, "VatGroup": code}]);
    let feb = co
        .add("Invoices", inv("T-GB", "2026-02-15", row("T-O20")))
        .await;
    assert_eq!(feb["VatSum"], json!(2), "20 % before 1 March");
    assert_eq!(feb["DocTotal"], json!(12));
    let mar = co
        .add("Invoices", inv("T-GB", "2026-03-09", row("T-O20")))
        .await;
    assert_eq!(mar["VatSum"], json!(1.75), "17.5 % from 1 March");
    assert_eq!(mar["DocumentLines"][0]["TaxPercentagePerRow"], json!(17.5));
    // Two rows of 0.13 at 17.5 %: 0.02275 each, rounded per row to 0.02 (0.05 on the sum).
    let small = json!({"ItemCode": "T-ITEM", "UnitPrice": 0.13, "VatGroup": "T-O20"});
    let two = co
        .add("Invoices", inv("T-GB", "2026-03-09", json!([small, small])))
        .await;
    assert_eq!(two["VatSum"], json!(0.04));
    for (lines, what) in [
        (
            json!([{"ItemCode": "T-ITEM", "UnitPrice": 10, "TaxCode": "T-O20"}]),
            "TaxCode in a VAT localisation",
        ),
        (row("T-XX"), "unknown VAT group"),
        (row("T-OFF"), "inactive VAT group"),
        (row("T-I20"), "input-tax group on a sales row"),
    ] {
        let (s, b) = co.post("Invoices", &inv("T-GB", "2026-03-09", lines)).await;
        assert_eq!(s, 400, "{what}: {b}");
        assert_eq!(
            b["error"]["message"], "10000180 - Specify valid tax code",
            "{what}"
        );
    }
    assert_eq!(
        co.sb.sap_tax_report("2026-03-01", "2026-03-31"),
        vec![TaxReportLine {
            code: "T-O20".into(),
            base: dec("10.26"),
            tax: dec("1.79")
        }]
    );
    assert_eq!(
        co.sb.sap_tax_report("2026-02-01", "2026-02-28")[0].tax,
        dec("2")
    );
    // A row without a VAT group takes the business partner's.
    co.add(
        "BusinessPartners",
        json!({"CardCode": "T-GBV", "CardName": "T-GBV", "CardType": "cCustomer", "Currency": "GBP",
               "PriceListNum": 91, "DebitorAccount": "T-AR", "VatGroup": "T-O20"}),
    )
    .await;
    let d = co
        .add(
            "Invoices",
            inv(
                "T-GBV",
                "2026-02-15",
                json!([{"ItemCode": "T-ITEM", "UnitPrice": 10}]),
            ),
        )
        .await;
    assert_eq!(d["DocumentLines"][0]["VatGroup"], "T-O20");
    assert_eq!(d["VatSum"], json!(2));
    co.sb.shutdown().await;
}

#[tokio::test]
async fn sales_tax_companies_use_tax_code_and_refuse_vat_group() {
    let co = company("$", "US", json!({})).await;
    co.add(
        "SalesTaxCodes",
        json!({"Code": "T-NY", "Name": "New York City", "Rate": 8.875}),
    )
    .await;
    customer(&co, "T-US", "$").await;
    item(&co, "T-ITEM", 100.0, 10).await;
    let a = co
        .add(
            "Invoices",
            inv(
                "T-US",
                "2026-03-09",
                json!([{"ItemCode": "T-ITEM", "TaxCode": "T-NY"}]),
            ),
        )
        .await;
    assert_eq!(a["DocCurrency"], "$", "the company's own currency code");
    assert_eq!(
        a["DocumentLines"][0]["TaxTotal"],
        json!(8.88),
        "8.875 rounded half away from zero"
    );
    assert_eq!(a["DocTotal"], json!(108.88));
    co.refused(
        "Invoices",
        inv(
            "T-US",
            "2026-03-09",
            json!([{"ItemCode": "T-ITEM", "VatGroup": "T-NY"}]),
        ),
        "-10",
        "10000180 - Specify valid tax code",
    )
    .await;
    let report = co.sb.sap_tax_report("2026-03-01", "2026-03-31");
    assert_eq!(report.len(), 1);
    assert_eq!((report[0].base, report[0].tax), (dec("100"), dec("8.88")));
    co.sb.shutdown().await;
}

#[tokio::test]
async fn gross_prices_are_kept_and_row_totals_derive_price_and_discount() {
    let co = vat_company(json!({})).await;
    let one = |line: Value| inv("T-GB", "2026-02-15", json!([line]));
    let g = co
        .add(
            "Invoices",
            one(json!({"ItemCode": "T-ITEM", "PriceAfterVAT": 11.99, "VatGroup": "T-O20"})),
        )
        .await;
    let l = &g["DocumentLines"][0];
    assert_eq!(l["GrossTotal"], json!(11.99), "the gross is kept");
    assert_eq!(l["TaxTotal"], json!(2), "11.99 x 20/120 = 1.998");
    assert_eq!(l["LineTotal"], json!(9.99));
    assert_eq!(g["DocTotal"], json!(11.99));
    let d = co
        .add(
            "Invoices",
            one(json!({"ItemCode": "T-ITEM", "LineTotal": 8, "VatGroup": "T-O20"})),
        )
        .await;
    let l = &d["DocumentLines"][0];
    assert_eq!(l["UnitPrice"], json!(10), "the price list's price");
    assert_eq!(l["DiscountPercent"], json!(20), "1 - 8 / 10");
    assert_eq!(l["Price"], json!(8));
    assert_eq!(l["LineTotal"], json!(8));
    co.refused(
        "Invoices",
        one(json!({"ItemCode": "T-ITEM", "LineTotal": 0, "VatGroup": "T-O20"})),
        "-5002",
        "Enter a discount percentage of less than 100",
    )
    .await;
    let z = co
        .add(
            "Invoices",
            one(json!({"ItemCode": "T-FREE", "Quantity": 2, "LineTotal": 7, "VatGroup": "T-O20"})),
        )
        .await;
    let l = &z["DocumentLines"][0];
    assert_eq!(
        (l["UnitPrice"].clone(), l["DiscountPercent"].clone()),
        (json!(3.5), json!(0))
    );
    co.sb.shutdown().await;
}

#[tokio::test]
async fn freight_is_taxed_like_rows_in_local_and_foreign_currency() {
    let co = vat_company(json!({})).await;
    co.add(
        "AdditionalExpenses",
        json!({"ExpensCode": 91, "Name": "T-Freight", "RevenuesAccount": "T-REV"}),
    )
    .await;
    let doc = |card: &str, freight: f64| {
        json!({"CardCode": card, "DocDate": "2026-02-15",
               "DocumentLines": [{"ItemCode": "T-ITEM", "UnitPrice": 10, "VatGroup": "T-O20"}],
               "DocumentAdditionalExpenses": [{"ExpenseCode": 91, "LineTotal": freight, "VatGroup": "T-O20"}]})
    };
    let a = co.add("Invoices", doc("T-GB", 5.0)).await;
    assert_eq!(a["DocumentAdditionalExpenses"][0]["TaxSum"], json!(1));
    assert_eq!(a["DocTotal"], json!(18), "12 + 5 + 1");
    co.rate("EUR", "20260215", "0.85").await;
    let f = co.add("Invoices", doc("T-EU", 8.5)).await;
    let x = &f["DocumentAdditionalExpenses"][0];
    assert_eq!(
        x["LineTotalFC"],
        json!(10),
        "LineTotal is LC: 8.50 GBP = 10 EUR"
    );
    assert_eq!(x["TaxSumFC"], json!(2));
    assert_eq!(f["DocTotalFc"], json!(24), "10 + 2 + 10 + 2 EUR");
    co.sb.shutdown().await;
}

#[tokio::test]
async fn credit_notes_drawn_from_an_invoice_inherit_it_and_reduce_it() {
    let co = vat_company(json!({})).await;
    let i = co
        .add(
            "Invoices",
            inv("T-GB", "2026-02-15", json!([{"ItemCode": "T-ITEM", "Quantity": 2, "UnitPrice": 10, "VatGroup": "T-O20"}])),
        )
        .await;
    let base = |qty: i64| {
        json!({"CardCode": "T-GB", "DocDate": "2026-02-20",
               "DocumentLines": [{"BaseType": 13, "BaseEntry": i["DocEntry"], "BaseLine": 0, "Quantity": qty}]})
    };
    co.refused("CreditNotes", base(3), "-10", "open quantity")
        .await;
    let cn = co.add("CreditNotes", base(1)).await;
    let l = &cn["DocumentLines"][0];
    assert_eq!(l["ItemCode"], "T-ITEM");
    assert_eq!(l["VatGroup"], "T-O20", "the invoice's tax code");
    assert_eq!(l["UnitPrice"], json!(10), "the invoice's price");
    assert_eq!(cn["DocTotal"], json!(12));
    let open = co.sb.sap_open_items("T-GB");
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (open[0].set.as_str(), open[0].open_lc),
        ("Invoices", dec("12"))
    );
    co.refused("CreditNotes", base(2), "-10", "open quantity")
        .await;
    co.add("CreditNotes", base(1)).await;
    assert!(co.sb.sap_open_items("T-GB").is_empty());
    let report = co.sb.sap_tax_report("2026-02-01", "2026-02-28");
    assert_eq!(
        (report[0].base, report[0].tax),
        (dec("0"), dec("0")),
        "credited in full"
    );
    co.sb.shutdown().await;
}

#[tokio::test]
async fn automatic_vat_adds_the_tax_line_to_the_groups_tax_account() {
    let co = vat_company(json!({})).await;
    let je = |auto: &str| {
        json!({"ReferenceDate": "2026-02-15", "AutoVAT": auto, "JournalEntryLines": [
            {"AccountCode": "T-EXP", "Debit": 100, "TaxGroup": "T-I20"},
            {"AccountCode": "T-BANK", "Credit": 120}]})
    };
    co.refused("JournalEntries", je("tNO"), "-5002", "Unbalanced")
        .await;
    let a = co.add("JournalEntries", je("tYES")).await;
    let lines = a["JournalEntryLines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    let t = lines.iter().find(|l| l["VatLine"] == "tYES").unwrap();
    assert_eq!(t["AccountCode"], "T-VATIN");
    assert_eq!(t["Debit"], json!(20));
    let report = co.sb.sap_tax_report("2026-02-01", "2026-02-28");
    assert_eq!(
        (report[0].code.as_str(), report[0].tax),
        ("T-I20", dec("-20")),
        "input tax"
    );
    co.sb.shutdown().await;
}

#[tokio::test]
async fn automatic_vat_on_a_foreign_currency_line_keeps_both_currencies() {
    let co = vat_company(json!({})).await;
    co.rate("EUR", "20260215", "0.85").await;
    // A fee of 8.64 EUR posted net (7.20) with the input group, against 8.64 EUR of clearing.
    let je = json!({"ReferenceDate": "2026-02-15", "AutoVAT": "tYES", "JournalEntryLines": [
        {"AccountCode": "T-EXP", "Debit": 6.12, "FCCurrency": "EUR", "FCDebit": 7.20, "TaxGroup": "T-I20"},
        {"AccountCode": "T-BANK", "Credit": 7.34, "FCCurrency": "EUR", "FCCredit": 8.64}]});
    let a = co.add("JournalEntries", je).await;
    let lines = a["JournalEntryLines"].as_array().unwrap();
    let t = lines.iter().find(|l| l["VatLine"] == "tYES").unwrap();
    assert_eq!(
        (t["Debit"].clone(), t["FCDebit"].clone()),
        (json!(1.22), json!(1.44))
    );
    let tax = co.sb.sap_journal_tax("2026-02-01", "2026-02-28");
    assert_eq!(tax.len(), 1, "{tax:?}");
    assert_eq!(
        (tax[0].code.as_str(), tax[0].currency.as_str(), tax[0].tax),
        ("T-I20", "EUR", dec("-1.44"))
    );
    let report = co.sb.sap_tax_report("2026-02-01", "2026-02-28");
    assert_eq!(
        report[0].tax,
        dec("-1.22"),
        "the VAT return is in local currency"
    );
    co.sb.shutdown().await;
}

#[tokio::test]
async fn reverse_charge_groups_are_not_for_journal_entries() {
    let co = vat_company(json!({})).await;
    co.add(
        "VatGroups",
        json!({"Code": "T-RC", "Name": "reverse charge", "Category": "bovcInputTax",
               "TaxAccount": "T-VATIN", "AcquisitionReverse": "tYES", "Inactive": "tNO",
               "VatGroups_Lines": [{"Effectivefrom": "2020-01-01", "Rate": 20}]}),
    )
    .await;
    let je = json!({"ReferenceDate": "2026-02-15", "AutoVAT": "tYES", "JournalEntryLines": [
        {"AccountCode": "T-EXP", "Debit": 100, "TaxGroup": "T-RC"},
        {"AccountCode": "T-BANK", "Credit": 100}]});
    co.refused("JournalEntries", je, "-10", "acquisition/reverse")
        .await;
    co.sb.shutdown().await;
}

#[tokio::test]
async fn negative_stock_is_refused_when_the_company_blocks_it() {
    let co = vat_company(json!({"BlockStockNegativeQuantity": "tYES"})).await;
    assert!(co.sb.set_item_stock("T-ITEM", "T1", 1));
    let qty = |q: i64| {
        inv(
            "T-GB",
            "2026-02-15",
            json!([{"ItemCode": "T-ITEM", "Quantity": q, "UnitPrice": 1, "VatGroup": "T-O20"}]),
        )
    };
    co.refused(
        "Invoices",
        qty(2),
        "-10",
        "Quantity falls into negative inventory [INV1.ItemCode][line:1]",
    )
    .await;
    co.add("Invoices", qty(1)).await;
    co.sb.set_sap_admin_info(
        json!({"LocalCurrency": "GBP", "Country": "GB", "BlockStockNegativeQuantity": "tNO"}),
    );
    co.add("Invoices", qty(1)).await;
    co.sb.shutdown().await;
}
