//! The SAP company that matches the world: its settings, currencies, rates, tax codes and chart
//! of accounts (`sap_company`), warehouses, price lists per marketplace currency, one customer per
//! marketplace in its currency, and an item per catalog entry with prices and stock.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::sap_company::sap_currency;
use super::{Channel, World, WorldKind, round2};
use crate::sap::entities::{Stamp, create};
use crate::sap::store::{SapDb, UndoLog, set_def};
use crate::sap::validation::number;

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
    let Some(mut item) = db.master("Items", &key).cloned() else {
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
    super::sap_company::seed(world, &mut db, &mut |db, set, body| {
        add(db, set, body, &stamp)
    });
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
    let local = sap_currency(world.kind, world.kind.local_currency());
    add(
        &mut db,
        "PriceLists",
        json!({"PriceListNo": 1, "PriceListName": "Base Price", "DefaultPrimeCurrency": local, "IsGrossPrice": "tNO", "Active": "tYES"}),
        &stamp,
    );
    for (mi, m) in world.marketplaces.iter().enumerate() {
        if world.marketplaces[..mi]
            .iter()
            .any(|o| o.price_list == m.price_list)
        {
            continue;
        }
        add(
            &mut db,
            "PriceLists",
            json!({"PriceListNo": m.price_list, "PriceListName": format!("Amazon {}", m.currency), "DefaultPrimeCurrency": m.sap_currency, "IsGrossPrice": if m.prices_include_tax {"tYES"} else {"tNO"}, "Active": "tYES"}),
            &stamp,
        );
    }
    for m in &world.marketplaces {
        let mut bp = json!({"CardCode": m.customer, "CardName": format!("Amazon customers {}", m.name), "CardType": "cCustomer", "Currency": m.sap_currency, "PriceListNum": m.price_list, "DebitorAccount": "1400"});
        if world.kind == WorldKind::Eu {
            bp["VatGroup"] = json!(m.jurisdictions[0].tax_code[0]);
        }
        add(&mut db, "BusinessPartners", bp, &stamp);
    }
    add(
        &mut db,
        "BusinessPartners",
        json!({"CardCode": "C-INACTIVE", "CardName": "Closed customer", "CardType": "cCustomer", "Frozen": "tYES", "Valid": "tNO"}),
        &stamp,
    );
    let (vendor, vendor_currency) = match world.kind {
        WorldKind::Na => ("Amazon Services LLC", "$"),
        WorldKind::Eu => ("Amazon EU S.a r.l., UK Branch", "GBP"),
    };
    add(
        &mut db,
        "BusinessPartners",
        json!({"CardCode": "V-AMAZON", "CardName": vendor, "CardType": "cSupplier", "Currency": vendor_currency, "DebitorAccount": "2100"}),
        &stamp,
    );
    // The shipping charge's item (the connector's `orders.shipping_item`): a sales item without
    // stock, so the freight is a document line priced in the invoice's currency, gross where the
    // marketplace's prices include VAT (a freight row is net and local: SDK
    // DocumentsAdditionalExpenses~LineTotal "in local currency", LineTotalFC read-only).
    add(
        &mut db,
        "Items",
        json!({"ItemCode": "SHIPPING", "ItemName": "Amazon shipping charges", "InventoryItem": "tNO", "SalesItem": "tYES", "PurchaseItem": "tNO"}),
        &stamp,
    );
    // The promotions' item (`orders.promotion_item`): a promotion is a line of its own, quantity
    // -1, where prices are net of tax.
    add(
        &mut db,
        "Items",
        json!({"ItemCode": "PROMOTION", "ItemName": "Amazon promotions", "InventoryItem": "tNO", "SalesItem": "tYES", "PurchaseItem": "tNO"}),
        &stamp,
    );
    for p in &world.catalog {
        let (wh, other) = if p.channel == Channel::Afn {
            ("FBA", "01")
        } else {
            ("01", "FBA")
        };
        // The base list holds the home marketplace's price before tax, in the local currency.
        let home = &world.marketplaces[0];
        let net = if home.prices_include_tax {
            let rate = home.jurisdictions[0].seller_rate(p.reduced)
                + home.jurisdictions[0].facilitator_rate(p.reduced);
            round2(p.price(0) * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED + rate))
        } else {
            p.price(0)
        };
        let mut prices = vec![json!({"PriceList": 1, "Price": number(net), "Currency": local})];
        for (mi, m) in world.marketplaces.iter().enumerate() {
            if world.marketplaces[..mi]
                .iter()
                .any(|o| o.price_list == m.price_list)
            {
                continue;
            }
            prices.push(json!({"PriceList": m.price_list, "Price": number(p.price(mi)), "Currency": m.sap_currency}));
        }
        add(
            &mut db,
            "Items",
            json!({
                "ItemCode": p.item_code,
                "ItemName": p.title,
                "BarCode": p.asin,
                "DefaultWarehouse": wh,
                "ItemPrices": prices,
                "ItemWarehouseInfoCollection": [{"WarehouseCode": wh}, {"WarehouseCode": other}],
            }),
            &stamp,
        );
        receive_stock(&mut db, &p.item_code, wh, p.stock);
    }
    db
}
