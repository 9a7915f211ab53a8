//! The SAP company that matches the world: chart of accounts, warehouses, price lists, one
//! customer per marketplace, and an item per catalog entry with prices and stock.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{Channel, World, round2};
use crate::sap::entities::{Stamp, create};
use crate::sap::store::{SapDb, UndoLog, set_def};

/// Accounts of the fake company: (code, name, postable, inactive).
pub const ACCOUNTS: &[(&str, &str, bool, bool)] = &[
    ("1000", "Assets", false, false),
    ("1200", "Bank", true, false),
    ("1400", "Accounts receivable", true, false),
    ("1420", "Amazon clearing", true, false),
    ("1425", "Amazon reserved balances", true, false),
    ("1430", "Marketplace facilitator tax clearing", true, false),
    ("1499", "Old Amazon clearing (inactive)", true, true),
    ("2000", "Liabilities", false, false),
    ("2200", "Output VAT", true, false),
    ("4000", "Sales revenue", true, false),
    ("4010", "Shipping revenue", true, false),
    ("4900", "Amazon reimbursements", true, false),
    ("6000", "Expenses", false, false),
    ("6100", "Amazon selling fees", true, false),
    ("6110", "FBA fees", true, false),
    ("6120", "Storage and inbound fees", true, false),
    ("6190", "Other Amazon charges", true, false),
    ("7000", "Refunds and returns", true, false),
];

fn add(db: &mut SapDb, set: &str, body: Value, stamp: &Stamp) {
    let def = set_def(set).expect("served set");
    let body = body.as_object().cloned().unwrap_or_default();
    if let Err(e) = create(db, def, &body, stamp, &mut UndoLog::default()) {
        panic!("seeding {set} failed: {e:?} for {body:?}");
    }
}

/// Puts opening stock on an item, as a goods receipt would (the Service Layer ignores InStock in
/// Item bodies).
fn receive_stock(db: &mut SapDb, item_code: &str, warehouse: &str, quantity: i64) {
    let key = crate::sap::store::Key::Str(item_code.to_string());
    let Some(mut item) = db.get("Items", &key).cloned() else {
        return;
    };
    if let Some(rows) = item
        .get_mut("ItemWarehouseInfoCollection")
        .and_then(Value::as_array_mut)
    {
        for r in rows
            .iter_mut()
            .filter(|r| r.get("WarehouseCode").and_then(Value::as_str) == Some(warehouse))
        {
            r["InStock"] = Value::from(quantity);
        }
    }
    crate::sap::entities::refresh_item_totals(&mut item);
    db.put("Items", key, item, &mut UndoLog::default());
}

/// Builds the company database for `world`.
pub fn seed(world: &World) -> SapDb {
    let mut db = SapDb::default();
    let stamp = Stamp {
        date: (world.anchor - chrono::Duration::days(super::HISTORY_DAYS + 30))
            .format("%Y-%m-%d")
            .to_string(),
        time: "09:00:00".into(),
    };
    for (code, name, postable, inactive) in ACCOUNTS {
        add(
            &mut db,
            "ChartOfAccounts",
            json!({"Code": code, "Name": name, "ActiveAccount": if *postable {"tYES"} else {"tNO"}, "FrozenFor": if *inactive {"tYES"} else {"tNO"}, "AcctCurrency": "##"}),
            &stamp,
        );
    }
    for (code, name) in [
        ("EUR", "Euro"),
        ("GBP", "British Pound"),
        ("USD", "US Dollar"),
    ] {
        add(
            &mut db,
            "Currencies",
            json!({"Code": code, "Name": name}),
            &stamp,
        );
    }
    for (code, name) in [(1, "Freight"), (2, "Gift wrap")] {
        add(
            &mut db,
            "AdditionalExpenses",
            json!({"ExpensCode": code, "Name": name, "RevenuesAccount": "4010", "ExpenseAccount": "6190", "TaxLiable": "tYES", "DistributionMethod": "aed_None"}),
            &stamp,
        );
    }
    add(
        &mut db,
        "Warehouses",
        json!({"WarehouseCode": "01", "WarehouseName": "Main warehouse"}),
        &stamp,
    );
    add(
        &mut db,
        "Warehouses",
        json!({"WarehouseCode": "FBA", "WarehouseName": "Amazon FBA"}),
        &stamp,
    );
    add(
        &mut db,
        "PriceLists",
        json!({"PriceListNo": 1, "PriceListName": "Base Price", "DefaultPrimeCurrency": "EUR", "IsGrossPrice": "tNO", "Active": "tYES"}),
        &stamp,
    );
    add(
        &mut db,
        "PriceLists",
        json!({"PriceListNo": 2, "PriceListName": "Amazon EU", "DefaultPrimeCurrency": "EUR", "IsGrossPrice": "tYES", "Active": "tYES"}),
        &stamp,
    );
    add(
        &mut db,
        "PriceLists",
        json!({"PriceListNo": 3, "PriceListName": "Amazon UK", "DefaultPrimeCurrency": "GBP", "IsGrossPrice": "tYES", "Active": "tYES"}),
        &stamp,
    );
    for m in &world.marketplaces {
        let list = if m.currency == "GBP" { 3 } else { 2 };
        add(
            &mut db,
            "BusinessPartners",
            json!({"CardCode": m.customer, "CardName": format!("Amazon customers {}", m.name), "CardType": "cCustomer", "Currency": m.currency, "PriceListNum": list, "DebitorAccount": "1400", "VatGroup": m.tax_code}),
            &stamp,
        );
    }
    add(
        &mut db,
        "BusinessPartners",
        json!({"CardCode": "C-INACTIVE", "CardName": "Closed customer", "CardType": "cCustomer", "Frozen": "tYES", "Valid": "tNO"}),
        &stamp,
    );
    add(
        &mut db,
        "BusinessPartners",
        json!({"CardCode": "V-AMAZON", "CardName": "Amazon EU S.a.r.l.", "CardType": "cSupplier", "Currency": "EUR"}),
        &stamp,
    );
    for p in &world.catalog {
        let (wh, other) = if p.channel == Channel::Afn {
            ("FBA", "01")
        } else {
            ("01", "FBA")
        };
        let net = round2(p.price_eur / Decimal::new(119, 2));
        add(
            &mut db,
            "Items",
            json!({
                "ItemCode": p.item_code,
                "ItemName": p.title,
                "BarCode": p.asin,
                "DefaultWarehouse": wh,
                "ItemPrices": [
                    {"PriceList": 1, "Price": crate::sap::validation::number(net), "Currency": "EUR"},
                    {"PriceList": 2, "Price": crate::sap::validation::number(p.price_eur), "Currency": "EUR"},
                    {"PriceList": 3, "Price": crate::sap::validation::number(p.price_gbp), "Currency": "GBP"},
                ],
                "ItemWarehouseInfoCollection": [{"WarehouseCode": wh}, {"WarehouseCode": other}],
            }),
            &stamp,
        );
        receive_stock(&mut db, &p.item_code, wh, p.stock);
    }
    db
}
