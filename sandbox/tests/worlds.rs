//! The two worlds: a US seller on Amazon.com/.ca/.com.mx with marketplace-facilitator sales tax,
//! and a UK seller on Amazon.co.uk/.de/.fr with VAT collected by the seller at home and by Amazon
//! as deemed supplier abroad. Settlements agree with the Orders API the way Amazon's do, and each
//! world has its SAP company (local currency, rates, tax codes, accounts, customers, prices).

mod common;

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use rust_decimal::Decimal;
use sandbox::amazon::orders::order_2026;
use sandbox::sap::store::{Key, SapDb};
use sandbox::world::settlement::{HEADER, rows, to_flat_file_v2};
use sandbox::world::{HISTORY_DAYS, World, WorldKind, round2, sap_seed};
use serde_json::Value;

fn world(kind: WorldKind, orders: usize) -> World {
    World::generate(
        kind,
        7,
        orders,
        Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap(),
    )
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_else(|| panic!("amount string: {v}"))).unwrap()
}

#[test]
fn the_na_world_is_a_us_seller_on_com_ca_and_mx() {
    let w = world(WorldKind::Na, 1500);
    let ids: Vec<(&str, &str, &str)> = w
        .marketplaces
        .iter()
        .map(|m| (m.id, m.currency, m.name))
        .collect();
    assert_eq!(
        ids,
        [
            ("ATVPDKIKX0DER", "USD", "Amazon.com"),
            ("A2EUQ1WTGCTBG2", "CAD", "Amazon.ca"),
            ("A1AM78C64UM0Y8", "MXN", "Amazon.com.mx"),
        ]
    );
    assert!(
        w.marketplaces
            .iter()
            .all(|m| m.vat_rate.is_zero() && !m.facilitator_vat),
        "no VAT"
    );
    let mut places = BTreeSet::new();
    for o in &w.orders {
        let m = &w.marketplaces[o.marketplace];
        assert!(m.order_prefixes.contains(&&o.id[..3]), "{}", o.id);
        assert!(!o.prices_include_tax, "sales tax comes on top");
        let before_tax: Decimal = o
            .items
            .iter()
            .map(|i| i.item_price + i.shipping - i.promotion)
            .sum();
        assert_eq!(o.total(), before_tax + o.tax().total);
        let tax = o.tax();
        match (m.code, o.jurisdiction) {
            ("US", "OR") => assert_eq!(tax.total, Decimal::ZERO, "Oregon has no sales tax"),
            ("US", "CO") => {
                // Amazon collects the state's part, the seller the home-rule city's.
                assert!(tax.withheld > Decimal::ZERO && tax.seller() > Decimal::ZERO);
            }
            ("US", _) => {
                assert!(tax.total > Decimal::ZERO);
                assert_eq!(tax.withheld, tax.total, "marketplace facilitator state");
            }
            _ => {
                assert_eq!(
                    tax.withheld,
                    Decimal::ZERO,
                    "the seller collects GST/HST and IVA"
                );
            }
        }
        for it in &o.items {
            let rate = it.seller_rate;
            if it.tax_code == "MPF" || it.tax_code == "EX" {
                assert_eq!(rate, Decimal::ZERO);
            }
            // Sales tax is charged on the price: seller part = price x rate.
            assert_eq!(
                it.item_tax - it.item_tax_withheld,
                round2(it.item_price * rate / Decimal::ONE_HUNDRED)
            );
        }
        places.insert((m.code, o.jurisdiction));
    }
    for p in [
        ("US", "CA"),
        ("US", "CO"),
        ("US", "OR"),
        ("CA", "ON"),
        ("MX", "CMX"),
    ] {
        assert!(places.contains(&p), "{p:?} in {places:?}");
    }
}

#[test]
fn the_eu_world_is_a_uk_seller_with_deemed_supplier_vat_abroad() {
    let w = world(WorldKind::Eu, 1500);
    let ids: Vec<(&str, &str)> = w.marketplaces.iter().map(|m| (m.id, m.currency)).collect();
    assert_eq!(
        ids,
        [
            ("A1F83G8C2ARO7P", "GBP"),
            ("A1PA6795UKMFR9", "EUR"),
            ("A13V1IB3VIYZZH", "EUR"),
        ]
    );
    for m in &w.marketplaces {
        let j = &m.jurisdictions[0];
        assert_eq!(m.vat_rate, j.facilitator_rate(false) + j.seller_rate(false));
        assert_eq!(m.facilitator_vat, j.facilitator_bp[0] > 0, "{}", m.code);
    }
    let mut rates = BTreeSet::new();
    for o in &w.orders {
        let m = &w.marketplaces[o.marketplace];
        assert!(o.prices_include_tax);
        let gross: Decimal = o
            .items
            .iter()
            .map(|i| i.item_price + i.shipping - i.promotion)
            .sum();
        assert_eq!(o.total(), gross, "VAT is inside the price");
        let tax = o.tax();
        match m.code {
            "UK" => assert_eq!(tax.withheld, Decimal::ZERO, "the UK seller collects UK VAT"),
            _ => assert_eq!(tax.withheld, tax.total, "Amazon is the deemed supplier"),
        }
        for it in &o.items {
            let p = &w.catalog[it.product];
            let rate = m.jurisdictions[0].facilitator_rate(p.reduced)
                + m.jurisdictions[0].seller_rate(p.reduced);
            assert_eq!(
                it.item_tax,
                round2(it.item_price * rate / (Decimal::ONE_HUNDRED + rate))
            );
            rates.insert((m.code, rate.normalize().to_string()));
        }
    }
    for r in [
        ("UK", "20"),
        ("UK", "0"),
        ("DE", "19"),
        ("DE", "7"),
        ("FR", "20"),
        ("FR", "5.5"),
    ] {
        assert!(
            rates.contains(&(r.0, r.1.to_string())),
            "{r:?} in {rates:?}"
        );
    }
}

#[test]
fn every_settled_order_agrees_with_the_orders_api() {
    let included: Vec<String> = ["PROCEEDS", "TAX"].map(String::from).to_vec();
    for kind in [WorldKind::Na, WorldKind::Eu] {
        let w = world(kind, 1200);
        let mut checked = 0;
        for s in &w.settlements {
            let rs = rows(&w, s);
            assert_eq!(
                rs.iter().map(|r| r.amount).sum::<Decimal>(),
                s.total,
                "{kind} settlement {} ties out",
                s.id
            );
            for &oi in &s.orders {
                let o = &w.orders[oi];
                let mine: Vec<_> = rs
                    .iter()
                    .filter(|r| r.transaction_type == "Order" && r.order_id == o.id)
                    .collect();
                let paid: Decimal = mine
                    .iter()
                    .filter(|r| r.amount_type == "ItemPrice" || r.amount_type == "Promotion")
                    .map(|r| r.amount)
                    .sum();
                let withheld: Decimal = mine
                    .iter()
                    .filter(|r| r.amount_type == "ItemWithheldTax")
                    .map(|r| r.amount)
                    .sum();
                let api = order_2026(&w, o, &included);
                assert_eq!(
                    paid,
                    dec(&api["proceeds"]["grandTotal"]["amount"]),
                    "{}",
                    o.id
                );
                assert_eq!(
                    api["proceeds"]["grandTotal"]["currencyCode"],
                    w.marketplaces[o.marketplace].currency
                );
                let mut api_withheld = Decimal::ZERO;
                for (it, item) in o.items.iter().zip(api["orderItems"].as_array().unwrap()) {
                    let tax = dec(&item["proceeds"]["breakdowns"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|b| b["type"] == "TAX")
                        .unwrap()["subtotal"]["amount"]);
                    assert_eq!(tax, it.net_tax().total);
                    let collected =
                        item["tax"]["taxCollections"][0]["model"] == "MARKETPLACE_FACILITATOR";
                    assert_eq!(collected, !it.net_tax().withheld.is_zero(), "{}", o.id);
                    if collected {
                        api_withheld += it.net_tax().withheld;
                    }
                }
                assert_eq!(withheld, -api_withheld, "{}: withheld rows", o.id);
                checked += 1;
            }
            for &oi in &s.refunds {
                let o = &w.orders[oi];
                let back: Decimal = rs
                    .iter()
                    .filter(|r| r.transaction_type == "Refund" && r.order_id == o.id)
                    .filter(|r| r.amount_type == "ItemPrice" || r.amount_type == "Promotion")
                    .map(|r| r.amount)
                    .sum();
                let it = &o.items[0];
                let mut refunded = it.item_price - it.promotion;
                if !o.prices_include_tax {
                    refunded += it.item_tax - it.promotion_tax;
                }
                assert_eq!(back, -refunded, "{kind} refund of {}", o.id);
            }
        }
        assert!(checked > 100, "{kind}: {checked} orders checked");
    }
}

#[test]
fn settlement_files_read_like_the_region_files() {
    let na = world(WorldKind::Na, 800);
    let s = na
        .settlements
        .iter()
        .find(|s| s.marketplace == 0 && !s.orders.is_empty())
        .unwrap();
    let text = to_flat_file_v2(&na, s);
    assert_eq!(text.lines().next(), Some(HEADER));
    let summary: Vec<&str> = text.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!(
        summary[1],
        s.start.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    );
    assert_eq!(summary[5], "USD");
    let descs: BTreeSet<String> = text
        .lines()
        .skip(2)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(!f[14].contains(','), "decimal point: {}", f[14]);
            if !f[16].is_empty() {
                assert_eq!(f[16].len(), 10);
                assert_eq!(&f[16][4..5], "-", "posted-date {}", f[16]);
            }
            format!("{}/{}/{}", f[11], f[12], f[13])
        })
        .collect();
    for d in [
        "Amazon.com/ItemPrice/Principal",
        "Amazon.com/ItemPrice/Tax",
        "Amazon.com/ItemWithheldTax/MarketplaceFacilitatorTax-Principal",
        "Amazon.com/ItemFees/Commission",
    ] {
        assert!(descs.contains(d), "{d} in {descs:?}");
    }
    assert!(
        !descs.iter().any(|d| d.contains("VAT")),
        "no VAT in a US file"
    );
    if let Some(reference) = reference("settlements/HANDMADE_xieyi138_V2_US_synthetic.txt") {
        assert_eq!(reference.lines().next(), Some(HEADER), "same 24 columns");
    }

    let eu = world(WorldKind::Eu, 800);
    for (mi, comma) in [(0, false), (1, true)] {
        let s = eu
            .settlements
            .iter()
            .find(|s| s.marketplace == mi && !s.orders.is_empty())
            .unwrap();
        let text = to_flat_file_v2(&eu, s);
        let summary: Vec<&str> = text.lines().nth(1).unwrap().split('\t').collect();
        assert_eq!(
            summary[1],
            s.start.format("%d.%m.%Y %H:%M:%S UTC").to_string()
        );
        assert_eq!(summary[4].contains(','), comma, "{}", summary[4]);
    }
    // Promotions carry their VAT in a TaxDiscount row, as the genuine UK file does.
    let promo = eu
        .settlements
        .iter()
        .flat_map(|s| rows(&eu, s))
        .find(|r| r.amount_description == "TaxDiscount");
    assert!(promo.is_some_and(|r| r.amount_type == "Promotion" && !r.promotion_id.is_empty()));
    // UK VAT on Amazon's fees (20 % since August 2024): the referral fee (15 %) plus 20 %.
    let mut fees = 0;
    for r in eu.settlements.iter().flat_map(|s| rows(&eu, s)) {
        if r.amount_description != "Commission" || r.transaction_type != "Order" {
            continue;
        }
        let o = eu.orders.iter().find(|o| o.id == r.order_id).unwrap();
        let it = o
            .items
            .iter()
            .find(|i| i.order_item_id == r.order_item_code)
            .unwrap();
        let net = round2((it.item_price + it.shipping) * Decimal::new(15, 2));
        assert_eq!(r.amount, -round2(net * Decimal::new(12, 1)), "{}", o.id);
        fees += 1;
    }
    assert!(fees > 0);
}

fn str_of<'a>(db: &'a SapDb, set: &str, key: &str, prop: &str) -> &'a str {
    db.master(set, &Key::Str(key.to_string()))
        .unwrap_or_else(|| panic!("{set}('{key}')"))
        .get(prop)
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[test]
fn each_world_has_its_sap_company() {
    use sandbox::sap::{company, tax};
    for (kind, local, country, tax_set) in [
        (WorldKind::Na, "$", "US", "SalesTaxCodes"),
        (WorldKind::Eu, "GBP", "GB", "VatGroups"),
    ] {
        let w = world(kind, 600);
        let db = sap_seed::seed(&w);
        assert_eq!(company::local_currency(&db), Some(local));
        assert_eq!(company::country(&db), Some(country));
        assert_eq!(company::uses_sales_tax(&db), kind == WorldKind::Na);
        assert_eq!(
            str_of(&db, "Currencies", local, "InternationalDescription"),
            kind.local_currency()
        );
        // A rate for every day of the history and after, for every settlement currency.
        let first = (w.anchor - Duration::days(HISTORY_DAYS)).date_naive();
        for m in w
            .marketplaces
            .iter()
            .filter(|m| m.currency != kind.local_currency())
        {
            assert_eq!(
                str_of(
                    &db,
                    "Currencies",
                    m.sap_currency,
                    "InternationalDescription"
                ),
                m.currency
            );
            let mut day = first;
            while day <= (w.anchor + Duration::days(30)).date_naive() {
                let date = day.format("%Y-%m-%d").to_string();
                let r = company::rate(&db, m.sap_currency, &date)
                    .unwrap_or_else(|| panic!("{kind}: rate of {} on {date}", m.sap_currency));
                assert_eq!(Some(r), w.exchange_rate(m.currency, day));
                day += Duration::days(1);
            }
            let clearing = sandbox::world::sap_company::clearing_account(kind, m.currency);
            assert_eq!(
                str_of(&db, "ChartOfAccounts", clearing, "AcctCurrency"),
                m.sap_currency
            );
        }
        assert_eq!(
            str_of(&db, "ChartOfAccounts", "1400", "LockManualTransaction"),
            "tYES"
        );
        assert_eq!(
            str_of(&db, "ChartOfAccounts", "8100", "Name"),
            "Exchange rate differences"
        );
        for (mi, m) in w.marketplaces.iter().enumerate() {
            assert_eq!(
                str_of(&db, "BusinessPartners", m.customer, "Currency"),
                m.sap_currency
            );
            let pl = db.get("PriceLists", &Key::Int(m.price_list)).unwrap();
            assert_eq!(pl["DefaultPrimeCurrency"], m.sap_currency);
            let p = &w.catalog[0];
            let item = db.get("Items", &Key::Str(p.item_code.clone())).unwrap();
            let price = item["ItemPrices"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["PriceList"] == m.price_list)
                .unwrap();
            assert_eq!(price["Currency"], m.sap_currency);
            assert_eq!(
                Decimal::from_str(&price["Price"].to_string()).unwrap(),
                p.price(mi)
            );
        }
        // Every tax code an order line names exists, with the rate the seller charges.
        let today = w.anchor.format("%Y-%m-%d").to_string();
        for it in w.orders.iter().flat_map(|o| o.items.iter()) {
            assert!(
                db.get(tax_set, &Key::Str(it.tax_code.into())).is_some(),
                "{}",
                it.tax_code
            );
            assert_eq!(
                tax::rate_on(&db, it.tax_code, &today),
                Some(it.seller_rate),
                "{}",
                it.tax_code
            );
        }
        for m in &w.marketplaces {
            if !m.fee_tax_code.is_empty() {
                assert_eq!(
                    str_of(&db, "VatGroups", m.fee_tax_code, "Category"),
                    "bovcInputTax"
                );
                assert_eq!(
                    tax::rate_on(&db, m.fee_tax_code, &today),
                    Some(m.fee_vat_rate)
                );
            }
        }
    }
}

#[tokio::test]
async fn the_na_sandbox_serves_its_company_and_marketplaces() {
    let sb = start_in(WorldKind::Na, 100).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let (status, cur) = sap_get(&sb, &c, &cookie, "v2", "Currencies('%24')").await;
    assert_eq!(status, 200, "{cur}");
    assert_eq!(cur["InternationalDescription"], "USD");
    let (status, codes) = sap_get(&sb, &c, &cookie, "v2", "SalesTaxCodes('MPF')").await;
    assert_eq!(status, 200, "{codes}");
    assert_eq!(codes["Rate"], 0.0);
    let token = access_token(&sb, &c).await;
    let r = sp_get(&sb, &c, &token, "/sellers/v1/marketplaceParticipations").await;
    let v: Value = r.json().await.unwrap();
    let got: Vec<(String, String)> = v["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["marketplace"]["countryCode"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                p["marketplace"]["defaultCurrencyCode"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("US", "USD"), ("CA", "CAD"), ("MX", "MXN")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    sb.shutdown().await;
}
