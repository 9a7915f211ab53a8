//! The invoice planner's tests: what SAP receives for an Amazon order.

use super::*;
use serde_json::json;
use std::path::Path;
use std::str::FromStr;

fn config(extra: &str) -> Config {
    let text = format!(
        r#"
        [sap]
        base_url = "https://sap.example.com:50000/b1s/v2"
        company_db = "SBO"
        user = "manager"
        [amazon]
        region = "eu"
        seller_id = "A1SELLER"
        marketplaces = ["A1PA6795UKMFR9"]
        [orders]
        shipping = "expense"
        shipping_expense_code = 1
        [marketplaces.A1PA6795UKMFR9]
        customer = "C-AMZ-DE"
        tax_code = "DE19"
        [sku_map]
        "AMZ-MUG" = "A00042"
        {extra}
        "#
    );
    Config::parse(Path::new("/tmp/t.toml"), &text).unwrap()
}

fn money(v: &str) -> serde_json::Value {
    json!({"amount": v, "currencyCode": "EUR"})
}

fn order(status: &str, breakdowns: serde_json::Value) -> Order {
    serde_json::from_value(order_json(status, breakdowns)).unwrap()
}

fn order_json(status: &str, breakdowns: serde_json::Value) -> serde_json::Value {
    json!({
        "orderId": "028-1234567-1234567",
        "createdTime": "2026-11-20T10:00:00Z",
        "lastUpdatedTime": "2026-11-21T08:00:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9", "marketplaceName": "Amazon.de"},
        "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": "AMAZON"},
        "proceeds": {"grandTotal": money("64.47")},
        "orderItems": [{
            "orderItemId": "12345678901234",
            "quantityOrdered": 2,
            "product": {"sellerSku": "AMZ-MUG", "price": {"unitPrice": money("29.99")}},
            "proceeds": {"proceedsTotal": money("64.47"), "breakdowns": breakdowns},
            "fulfillment": {"quantityFulfilled": 2, "quantityUnfulfilled": 0}
        }]
    })
}

fn vat_breakdowns() -> serde_json::Value {
    json!([
        {"type": "ITEM", "subtotal": money("59.98")},
        {"type": "SHIPPING", "subtotal": money("5.95")},
        {"type": "DISCOUNT", "subtotal": money("-1.46"), "detailedBreakdowns": [{"subtype": "ITEM", "value": money("-1.46")}]},
        {"type": "TAX", "subtotal": money("10.29"), "detailedBreakdowns": [
            {"subtype": "ITEM", "value": money("9.34")},
            {"subtype": "SHIPPING", "value": money("0.95")}
        ]}
    ])
}

const KEY: &str = "amz:A1SELLER:order:028-1234567-1234567:invoice";

#[test]
fn shipped_vat_order_becomes_a_net_invoice() {
    let OrderPlan::Invoice(doc) =
        plan_invoice(&order("SHIPPED", vat_breakdowns()), &config(""), KEY)
    else {
        panic!("expected an invoice");
    };
    assert_eq!(doc.card_code.as_deref(), Some("C-AMZ-DE"));
    assert_eq!(doc.num_at_card.as_deref(), Some("028-1234567-1234567"));
    assert_eq!(doc.doc_currency.as_deref(), Some("EUR"));
    let line = &doc.document_lines.as_ref().unwrap()[0];
    assert_eq!(line.item_code.as_deref(), Some("A00042"), "SKU mapped");
    assert_eq!(line.quantity, Some(Decimal::from(2)));
    // 59.98 - 1.46 discount - 9.34 VAT = 49.18 net for 2, i.e. 24.59 each (never a LineTotal
    // alone, from which SAP would derive a discount against its price list); SAP adds 19 %.
    assert_eq!(line.unit_price, Some("24.59".parse().unwrap()));
    assert_eq!(line.line_total, Some("49.18".parse().unwrap()));
    assert_eq!(line.vat_group.as_deref(), Some("DE19"));
    let shipping = &doc.document_additional_expenses.as_ref().unwrap()[0];
    assert_eq!(shipping.expense_code, Some(1));
    assert_eq!(shipping.line_total, Some("5.00".parse().unwrap()));
    assert_wire_shape(&doc);
}

/// The exact JSON we send (pinned: a change here is a change to what SAP receives).
fn assert_wire_shape(doc: &Document) {
    let v = serde_json::to_value(doc).unwrap();
    assert_eq!(v["DocDate"], "2026-11-21");
    assert_eq!(v["DocumentLines"][0]["UnitPrice"], "24.59");
    assert_eq!(v["DocumentLines"][0]["LineTotal"], "49.18");
    assert!(
        v.get("DocEntry").is_none(),
        "no server-owned fields are sent: {v}"
    );
}

#[test]
fn shipping_as_an_item_line_and_tax_as_a_tax_code() {
    let mut cfg = config("");
    cfg.orders.shipping = Shipping::ItemLine("SHIPPING".into());
    cfg.orders.tax_field = TaxField::TaxCode;
    let OrderPlan::Invoice(doc) = plan_invoice(&order("SHIPPED", vat_breakdowns()), &cfg, KEY)
    else {
        panic!("expected an invoice");
    };
    // What SAP receives: the shipping is a second line on the shipping item, no additional
    // expense; every line carries TaxCode (US/CA sales tax), none VatGroup.
    let v = serde_json::to_value(&*doc).unwrap();
    let lines = v["DocumentLines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{v}");
    assert_eq!(lines[0]["ItemCode"], "A00042");
    assert_eq!(lines[0]["UnitPrice"], "24.59", "49.18 for 2");
    assert_eq!(lines[1]["ItemCode"], "SHIPPING");
    assert_eq!(lines[1]["UnitPrice"], "5.00", "5.95 - 0.95 VAT");
    for line in lines {
        assert_eq!(line["TaxCode"], "DE19", "{line}");
        assert!(line.get("VatGroup").is_none(), "{line}");
    }
    assert!(v.get("DocumentAdditionalExpenses").is_none(), "{v}");
}

#[test]
fn waiting_cancelled_and_unknown_orders() {
    let cfg = config("");
    assert!(matches!(
        plan_invoice(&order("UNSHIPPED", vat_breakdowns()), &cfg, KEY),
        OrderPlan::NotYet(_)
    ));
    assert!(matches!(
        plan_invoice(&order("PARTIALLY_SHIPPED", vat_breakdowns()), &cfg, KEY),
        OrderPlan::NotYet(_)
    ));
    assert!(matches!(
        plan_invoice(&order("PENDING", vat_breakdowns()), &cfg, KEY),
        OrderPlan::NotYet(_)
    ));
    assert!(matches!(
        plan_invoice(&order("CANCELLED", vat_breakdowns()), &cfg, KEY),
        OrderPlan::Never(_)
    ));
    let accepted = config("").clone();
    let mut accepted = accepted;
    accepted.orders.invoice_when = InvoiceWhen::Accepted;
    assert!(matches!(
        plan_invoice(&order("UNSHIPPED", vat_breakdowns()), &accepted, KEY),
        OrderPlan::Invoice(_)
    ));
    assert!(matches!(
        plan_invoice(&order("LOST_IN_SPACE", vat_breakdowns()), &cfg, KEY),
        OrderPlan::Hold(_)
    ));
}

#[test]
fn tax_inclusive_prices_without_a_tax_breakdown_are_held_not_guessed() {
    let b = json!([{"type": "ITEM", "subtotal": money("59.98")}]);
    let OrderPlan::Hold(reason) = plan_invoice(&order("SHIPPED", b.clone()), &config(""), KEY)
    else {
        panic!("expected a hold");
    };
    assert!(reason.contains("no TAX breakdown"), "{reason}");
    // A sales-tax marketplace's prices are net: no TAX needed.
    let mut cfg = config("");
    cfg.marketplaces
        .get_mut("A1PA6795UKMFR9")
        .unwrap()
        .prices_include_tax = false;
    let OrderPlan::Invoice(doc) = plan_invoice(&order("SHIPPED", b), &cfg, KEY) else {
        panic!()
    };
    assert_eq!(
        doc.document_lines.unwrap()[0].unit_price,
        Some("29.99".parse().unwrap())
    );
}

#[test]
fn unit_prices_give_back_the_net_at_sap_rounding() {
    for (net, qty) in [("10.00", 3), ("49.18", 2), ("0.01", 7), ("199.99", 1)] {
        let net: Decimal = net.parse().unwrap();
        let qty = Decimal::from(qty);
        let price = unit_price(net, qty);
        assert_eq!((price * qty).round_dp(2), net, "{net} / {qty}");
    }
}

#[test]
fn other_marketplaces_are_not_ours_and_key_goes_into_the_udf() {
    let mut o = order("SHIPPED", vat_breakdowns());
    o.sales_channel.marketplace_id = Some("ATVPDKIKX0DER".into());
    assert!(matches!(
        plan_invoice(&o, &config(""), KEY),
        OrderPlan::Never(_)
    ));
    let mut cfg = config("");
    cfg.sap.key_udf = Some("U_MLC_Key".into());
    let OrderPlan::Invoice(doc) = plan_invoice(&order("SHIPPED", vat_breakdowns()), &cfg, KEY)
    else {
        panic!()
    };
    assert_eq!(doc.extra["U_MLC_Key"], KEY);
}

#[test]
fn the_freight_takes_the_code_of_the_rate_amazon_charged_on_it() {
    // 19 % on the item, 7 % on the shipping: the freight is not at the marketplace's code.
    let cfg = config(
        r#"[marketplaces.A1PA6795UKMFR9.tax_codes]
"19" = "DE19"
"7" = "DE7""#,
    );
    let breakdowns = json!([
        {"type": "ITEM", "subtotal": money("59.50")},
        {"type": "SHIPPING", "subtotal": money("5.35")},
        {"type": "TAX", "subtotal": money("9.85"), "detailedBreakdowns": [
            {"subtype": "ITEM", "value": money("9.50")},
            {"subtype": "SHIPPING", "value": money("0.35")}
        ]}
    ]);
    let OrderPlan::Invoice(doc) = plan_invoice(&order("SHIPPED", breakdowns), &cfg, KEY) else {
        panic!("expected an invoice");
    };
    let v = serde_json::to_value(&*doc).unwrap();
    assert_eq!(v["DocumentLines"][0]["VatGroup"], "DE19", "{v}");
    let freight = &v["DocumentAdditionalExpenses"][0];
    assert_eq!(freight["VatGroup"], "DE7", "{v}");
    assert_eq!(freight["LineTotal"], "5.00");
    // Without a shipping tax the freight keeps the marketplace's code.
    let OrderPlan::Invoice(doc) =
        plan_invoice(&order("SHIPPED", vat_breakdowns()), &config(""), KEY)
    else {
        panic!("expected an invoice");
    };
    let v = serde_json::to_value(&*doc).unwrap();
    assert_eq!(v["DocumentAdditionalExpenses"][0]["VatGroup"], "DE19");
}

fn invoice(o: serde_json::Value, cfg: &Config) -> Box<Document> {
    match plan_invoice(&serde_json::from_value(o).unwrap(), cfg, KEY) {
        OrderPlan::Invoice(doc) => doc,
        other => panic!("expected an invoice, got {other:?}"),
    }
}

#[test]
fn the_invoice_is_dated_by_its_first_package_shipped_in_the_marketplace_time_zone() {
    let mut o = order_json("SHIPPED", vat_breakdowns());
    o["fulfillment"]["fulfilledBy"] = json!("MERCHANT");
    o["lastUpdatedTime"] = json!("2026-12-03T09:00:00Z");
    o["packages"] = json!([
        // Cancelled before it left: not a shipment.
        {"packageReferenceId": "0", "packageStatus": {"status": "CANCELLED"}, "shipTime": "2026-11-28T10:00:00Z"},
        {"packageReferenceId": "2", "packageStatus": {"status": "DELIVERED"}, "shipTime": "2026-12-02T10:00:00Z",
         "packageItems": [{"orderItemId": "12345678901234", "quantity": 1}]},
        // Handed to the carrier at 00:30 on 1 December in Berlin (23:30 UTC on 30 November).
        {"packageReferenceId": "1", "packageStatus": {"status": "SHIPPED"}, "shipTime": "2026-11-30T23:30:00Z",
         "packageItems": [{"orderItemId": "12345678901234", "quantity": 1}]}
    ]);
    let doc = invoice(o, &config(""));
    let v = serde_json::to_value(&*doc).unwrap();
    assert_eq!(v["DocDate"], "2026-12-01", "{v}");
    assert_eq!(v["TaxDate"], "2026-12-01");
    let comments = doc.comments.as_deref().unwrap();
    assert!(
        comments.contains("dated by its first package's ship time, Europe/Berlin"),
        "{comments}"
    );
    assert!(
        comments.ends_with(KEY),
        "the key ends the comments: {comments}"
    );
}

#[test]
fn without_a_package_the_invoice_is_dated_by_the_last_update_and_says_why() {
    // FBA: Amazon gives no packages. 23:30 UTC on 21 November is 22 November in Berlin.
    let mut o = order_json("SHIPPED", vat_breakdowns());
    o["lastUpdatedTime"] = json!("2026-11-21T23:30:00Z");
    let doc = invoice(o, &config(""));
    assert_eq!(
        serde_json::to_value(&*doc).unwrap()["DocDate"],
        "2026-11-22"
    );
    let comments = doc.comments.as_deref().unwrap();
    assert!(
        comments.contains(
            "Amazon's last update (Amazon gives no packages for FBA orders), Europe/Berlin"
        ),
        "{comments}"
    );
    // A merchant order whose packages carry no ship time yet.
    let mut o = order_json("SHIPPED", vat_breakdowns());
    o["fulfillment"]["fulfilledBy"] = json!("MERCHANT");
    o["packages"] = json!([{"packageReferenceId": "1", "packageStatus": {"status": "PENDING"}}]);
    let doc = invoice(o, &config(""));
    assert!(
        doc.comments
            .as_deref()
            .unwrap()
            .contains("Amazon sent no package with a ship time"),
        "{doc:?}"
    );
}

/// An Amazon.com seller: sales tax on top of net prices, a matrix whose 6.5 % entry is the
/// seller's own code (a state where it collects), Amazon's facilitated code for the rest.
fn us_config(extra: &str) -> Config {
    let text = format!(
        r#"
        [sap]
        base_url = "https://sap.example.com:50000/b1s/v2"
        company_db = "SBO"
        user = "manager"
        [amazon]
        region = "na"
        seller_id = "A1SELLER"
        marketplaces = ["ATVPDKIKX0DER"]
        [orders]
        shipping = "expense"
        shipping_expense_code = 1
        tax_field = "tax-code"
        {extra}
        [marketplaces.ATVPDKIKX0DER]
        customer = "C-AMZ-US"
        tax_code = "EX"
        tax_codes = {{ "6.5" = "WA65", "0" = "EX" }}
        facilitated_tax_code = "MPF"
        prices_include_tax = false
        "#
    );
    Config::parse(Path::new("/tmp/t.toml"), &text).unwrap()
}

fn usd(v: &str) -> serde_json::Value {
    json!({"amount": v, "currencyCode": "USD"})
}

/// A US order shipped to Washington (6.5 %): item 1 facilitated with shipping, item 2 not.
fn us_order(fulfilled_by: &str) -> serde_json::Value {
    let item = |id: &str, sku: &str, price: &str, tax: &str, shipping: Option<(&str, &str)>| {
        let mut b = vec![json!({"type": "ITEM", "subtotal": usd(price)})];
        let mut t = vec![json!({"subtype": "ITEM", "value": usd(tax)})];
        if let Some((s, st)) = shipping {
            b.push(json!({"type": "SHIPPING", "subtotal": usd(s)}));
            t.push(json!({"subtype": "SHIPPING", "value": usd(st)}));
        }
        b.push(json!({"type": "TAX", "subtotal": usd(tax), "detailedBreakdowns": t}));
        json!({
            "orderItemId": id,
            "quantityOrdered": 1,
            "product": {"sellerSku": sku},
            "proceeds": {"breakdowns": b},
            "fulfillment": {"quantityFulfilled": 1, "quantityUnfulfilled": 0}
        })
    };
    let mut facilitated = item("1", "AMZ-MUG", "20.00", "1.30", Some(("4.99", "0.32")));
    facilitated["tax"] = json!({"taxCollections": [
        {"model": "MARKETPLACE_FACILITATOR", "responsibleParty": "Amazon Services, Inc."}
    ]});
    json!({
        "orderId": "111-1234567-1234567",
        "createdTime": "2026-11-30T20:00:00Z",
        // 05:00 UTC on 1 December is the evening of 30 November in Seattle.
        "lastUpdatedTime": "2026-12-01T05:00:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "ATVPDKIKX0DER", "marketplaceName": "Amazon.com"},
        "fulfillment": {"fulfillmentStatus": "SHIPPED", "fulfilledBy": fulfilled_by},
        "proceeds": {"grandTotal": usd("28.71")},
        "orderItems": [facilitated, item("2", "AMZ-CUP", "10.00", "0.65", None)]
    })
}

#[test]
fn items_amazon_collects_the_tax_of_take_the_facilitated_code_whatever_the_matrix_says() {
    let doc = invoice(us_order("AMAZON"), &us_config(""));
    let v = serde_json::to_value(&*doc).unwrap();
    let lines = v["DocumentLines"].as_array().unwrap();
    // Washington is a marketplace-facilitator state: Amazon's 6.5 % is not the seller's, though
    // the seller's matrix has a 6.5 % code.
    assert_eq!(lines[0]["TaxCode"], "MPF", "{v}");
    assert_eq!(
        lines[0]["UnitPrice"], "20",
        "net: the tax is not on the invoice"
    );
    // The seller's own item at the same rate keeps the matrix's code.
    assert_eq!(lines[1]["TaxCode"], "WA65", "{v}");
    // Only the facilitated item carries shipping: the freight is facilitated too.
    assert_eq!(v["DocumentAdditionalExpenses"][0]["TaxCode"], "MPF", "{v}");
    assert_eq!(v["DocumentAdditionalExpenses"][0]["LineTotal"], "4.99");
    assert_eq!(v["DocDate"], "2026-11-30", "Pacific time");
    assert!(
        doc.comments
            .as_deref()
            .unwrap()
            .contains("America/Los_Angeles")
    );
    // Without a facilitated code the matrix decides, as before.
    let mut cfg = us_config("");
    cfg.marketplaces
        .get_mut("ATVPDKIKX0DER")
        .unwrap()
        .facilitated_tax_code = None;
    let v = serde_json::to_value(&*invoice(us_order("AMAZON"), &cfg)).unwrap();
    assert_eq!(v["DocumentLines"][0]["TaxCode"], "WA65", "{v}");
}

#[test]
fn item_lines_leave_the_warehouse_of_their_fulfilment_channel() {
    let cfg = us_config("warehouse = \"01\"\nfba_warehouse = \"AMZ\"");
    let fba = invoice(us_order("AMAZON"), &cfg);
    let merchant = invoice(us_order("MERCHANT"), &cfg);
    for (doc, expected) in [(fba, "AMZ"), (merchant, "01")] {
        for line in doc.document_lines.as_ref().unwrap() {
            assert_eq!(line.warehouse_code.as_deref(), Some(expected), "{line:?}");
        }
    }
    // The shipping item line moves no stock: it names no warehouse.
    let mut cfg = us_config("fba_warehouse = \"AMZ\"");
    cfg.orders.shipping = Shipping::ItemLine("SHIPPING".into());
    let doc = invoice(us_order("AMAZON"), &cfg);
    let lines = doc.document_lines.as_ref().unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].warehouse_code.as_deref(), Some("AMZ"));
    assert_eq!(lines[2].warehouse_code, None, "{:?}", lines[2]);
    // Nothing configured: no warehouse, SAP's item default (today's behaviour).
    let doc = invoice(us_order("MERCHANT"), &us_config(""));
    assert_eq!(doc.document_lines.as_ref().unwrap()[0].warehouse_code, None);
}

fn promoted_net_breakdowns() -> serde_json::Value {
    json!([
        {"type": "ITEM", "subtotal": money("59.98")},
        {"type": "DISCOUNT", "subtotal": money("-1.46"), "detailedBreakdowns": [{"subtype": "ITEM", "value": money("-1.46")}]},
        {"type": "TAX", "subtotal": money("11.12"), "detailedBreakdowns": [
            {"subtype": "ITEM", "value": money("11.40")},
            {"subtype": "DISCOUNT", "value": money("-0.28")}
        ]}
    ])
}

#[test]
fn a_promotion_on_net_prices_is_a_line_of_its_own_with_the_promotion_item() {
    // SAP would tax the discounted net 58.52 at 19 % = 11.12 (11.1188); Amazon taxed the price
    // and the promotion apart (11.40 - 0.28 = 11.12 here, a cent off on other amounts): the
    // promotion is a line of its own so each is rounded as Amazon did.
    let net = |mut cfg: Config| {
        for m in cfg.marketplaces.values_mut() {
            m.prices_include_tax = false;
        }
        cfg
    };
    let mut cfg = net(config(""));
    cfg.orders.promotion_item = Some("PROMO".into());
    let OrderPlan::Invoice(doc) =
        plan_invoice(&order("SHIPPED", promoted_net_breakdowns()), &cfg, KEY)
    else {
        panic!("expected an invoice");
    };
    let lines = doc.document_lines.as_ref().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0].item_code.as_deref(), Some("A00042"));
    assert_eq!(lines[0].quantity, Some(Decimal::from(2)));
    assert_eq!(
        lines[0].line_total,
        Some(Decimal::from_str("59.98").unwrap())
    );
    assert_eq!(lines[1].item_code.as_deref(), Some("PROMO"));
    assert_eq!(lines[1].quantity, Some(-Decimal::ONE));
    assert_eq!(
        lines[1].unit_price,
        Some(Decimal::from_str("1.46").unwrap())
    );
    assert_eq!(
        lines[1].line_total,
        Some(Decimal::from_str("-1.46").unwrap())
    );
    assert_eq!(
        lines[1].vat_group, lines[0].vat_group,
        "the item's tax code"
    );
    assert!(
        lines[1]
            .free_text
            .as_deref()
            .is_some_and(|t| t.starts_with(PROMOTION_LINE_TEXT) && t.ends_with("AMZ-MUG")),
        "{:?}",
        lines[1].free_text
    );
    // Without a promotion item the discount comes off the item's line, as before.
    let OrderPlan::Invoice(doc) = plan_invoice(
        &order("SHIPPED", promoted_net_breakdowns()),
        &net(config("")),
        KEY,
    ) else {
        panic!("expected an invoice");
    };
    let lines = doc.document_lines.as_ref().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0].line_total,
        Some(Decimal::from_str("58.52").unwrap())
    );
}

#[test]
fn shipping_on_an_item_line_is_gross_where_prices_include_vat() {
    // 3.99 charged with 0.67 VAT: net 3.32 + SAP's 20 % (0.66) would be 3.98.
    let mut cfg = config("");
    cfg.orders.shipping = Shipping::ItemLine("SHIP".into());
    cfg.marketplaces
        .get_mut("A1PA6795UKMFR9")
        .unwrap()
        .prices_include_tax = true;
    let breakdowns = json!([
        {"type": "ITEM", "subtotal": money("59.98")},
        {"type": "SHIPPING", "subtotal": money("3.99")},
        {"type": "TAX", "subtotal": money("10.67"), "detailedBreakdowns": [
            {"subtype": "ITEM", "value": money("10.00")},
            {"subtype": "SHIPPING", "value": money("0.67")}
        ]}
    ]);
    cfg.marketplaces
        .get_mut("A1PA6795UKMFR9")
        .unwrap()
        .tax_codes
        .insert("20".into(), "UK20".into());
    let OrderPlan::Invoice(doc) = plan_invoice(&order("SHIPPED", breakdowns), &cfg, KEY) else {
        panic!("expected an invoice");
    };
    let ship = doc
        .document_lines
        .as_ref()
        .unwrap()
        .iter()
        .find(|l| l.item_code.as_deref() == Some("SHIP"))
        .expect("a shipping line");
    assert_eq!(
        ship.price_after_vat,
        Some(Decimal::from_str("3.99").unwrap())
    );
    assert_eq!(ship.unit_price, None);
    assert_eq!(ship.line_total, None);
}
