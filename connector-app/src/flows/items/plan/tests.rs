//! Tests of the items planner.
use super::*;
use serde_json::json;
use std::path::Path;

const DE: &str = "A1PA6795UKMFR9";
const UK: &str = "A1F83G8C2ARO7P";

fn config(items: &str) -> Config {
    let text = format!(
        r#"
        [sap]
        base_url = "https://sap.example.com:50000/b1s/v2"
        company_db = "SBO"
        user = "manager"
        [amazon]
        region = "eu"
        seller_id = "A1SELLER"
        marketplaces = ["{DE}", "{UK}"]
        [marketplaces.{DE}]
        customer = "C-DE"
        [marketplaces.{UK}]
        customer = "C-UK"
        [sku_map]
        "AMZ-MUG" = "A00042"
        "AMZ-MUG-2" = "A00042"
        "B00001" = "A00099"
        [items]
        warehouses = ["01", "02"]
        safety_buffer = 2
        {items}
        [items.price_lists]
        {DE} = {{ price_list = 2, currency = "EUR" }}
        {UK} = {{ price_list = 3, currency = "GBP" }}
        "#
    );
    Config::parse(Path::new("/tmp/t.toml"), &text).unwrap()
}

fn today() -> chrono::NaiveDate {
    "2026-12-02".parse().unwrap()
}

fn item(v: serde_json::Value) -> Item {
    serde_json::from_value(v).unwrap()
}

fn mug() -> Item {
    item(json!({
        "ItemCode": "A00042",
        "ItemPrices": [
            {"PriceList": 1, "Price": 10.0, "Currency": "EUR"},
            {"PriceList": 2, "Price": 19.989, "Currency": "EUR"},
            {"PriceList": 3, "Price": 17.49, "Currency": "GBP"}
        ],
        "ItemWarehouseInfoCollection": [
            {"WarehouseCode": "01", "InStock": 10, "Committed": 3},
            {"WarehouseCode": "02", "InStock": 5.5, "Committed": 0},
            {"WarehouseCode": "FBA", "InStock": 100, "Committed": 0}
        ]
    }))
}

fn state(sku: &str, channel: Option<&str>, price: &str, quantity: Option<i64>) -> ListingState {
    ListingState {
        sku: sku.into(),
        marketplace: DE.into(),
        item_code: "A00042".into(),
        channel: channel.map(Into::into),
        product_type: Some("PRODUCT".into()),
        currency: Some("EUR".into()),
        price: Some(price.parse().unwrap()),
        quantity,
        status: ListingStatus::Observed,
        sent_price: None,
        sent_quantity: None,
        submission: None,
        issues: None,
        problem_key: None,
        pushed_at: None,
        checked_at: "2026-11-27T10:00:00Z".into(),
    }
}

fn target(price: Option<&str>, quantity: Option<u32>) -> Target {
    Target {
        sku: "AMZ-MUG".into(),
        item_code: "A00042".into(),
        marketplace: DE.into(),
        price: price.map(|p| Money::new(p.parse().unwrap(), "EUR")),
        quantity,
    }
}

#[test]
fn one_item_feeds_its_mapped_skus_and_identity_is_the_default() {
    let cfg = config("");
    let index = SkuIndex::new(&cfg);
    assert_eq!(index.skus("A00042"), ["AMZ-MUG", "AMZ-MUG-2"]);
    assert_eq!(index.skus("O'Brien 12\" / x"), ["O'Brien 12\" / x"]);
    // SKU B00001 is mapped to another item, so item B00001 feeds nothing.
    assert!(index.skus("B00001").is_empty());
    assert_eq!(index.skus("A00099"), ["B00001"]);
}

#[test]
fn targets_carry_price_per_marketplace_currency_and_stock_over_configured_warehouses() {
    let (targets, problems) = targets(&[mug()], &config(""), today());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(targets.len(), 4, "2 SKUs x 2 marketplaces");
    let de = targets
        .iter()
        .find(|t| t.sku == "AMZ-MUG-2" && t.marketplace == DE)
        .unwrap();
    assert_eq!(
        de.price,
        Some(Money::new("19.99".parse().unwrap(), "EUR")),
        "to the cent"
    );
    // (10 - 3) + (5.5 - 0) - 2 buffer = 10.5 -> 10 units; FBA warehouse not counted.
    assert_eq!(de.quantity, Some(10));
    let uk = targets.iter().find(|t| t.marketplace == UK).unwrap();
    assert_eq!(uk.price, Some(Money::new("17.49".parse().unwrap(), "GBP")));
}

#[test]
fn inactive_frozen_oversold_and_unread_stock() {
    let cfg = config("");
    let mut frozen = mug();
    frozen.frozen = Some(YesNo::Yes);
    assert_eq!(available_quantity(&frozen, &cfg.items, today()), Some(0));
    let mut inactive = mug();
    inactive.valid = Some(YesNo::No);
    assert_eq!(available_quantity(&inactive, &cfg.items, today()), Some(0));
    let oversold = item(json!({"ItemCode": "X", "ItemWarehouseInfoCollection": [
        {"WarehouseCode": "01", "InStock": 1, "Committed": 4}]}));
    assert_eq!(available_quantity(&oversold, &cfg.items, today()), Some(0));
    let unread = item(json!({"ItemCode": "X"}));
    assert_eq!(available_quantity(&unread, &cfg.items, today()), None);
    // Prices not read (stock-only pass): the target carries no price.
    let stock_only = item(json!({"ItemCode": "A00042", "ItemWarehouseInfoCollection": []}));
    let (t, _) = targets(&[stock_only], &cfg, today());
    assert!(t.iter().all(|t| t.price.is_none() && t.quantity == Some(0)));
}

#[test]
fn price_problems_are_reported_not_guessed() {
    let cfg = config("");
    let wrong_currency = item(json!({"ItemCode": "A00042", "ItemPrices": [
        {"PriceList": 2, "Price": 20, "Currency": "USD"},
        {"PriceList": 3, "Price": 0, "Currency": "GBP"}]}));
    let (t, problems) = targets(&[wrong_currency], &cfg, today());
    assert!(t.is_empty(), "no price and no stock read: nothing to send");
    assert_eq!(problems.len(), 2);
    assert!(problems[0].reason.contains("priced in USD"), "{problems:?}");
    assert!(
        problems[1].reason.contains("no price in price list 3"),
        "{problems:?}"
    );
}

#[test]
fn rounding_rules() {
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let r = |s: &str| s.parse::<Rounding>().unwrap();
    let eur = |p: &str, rule: Rounding| round_price(d(p), rule, "EUR");
    assert_eq!(eur("12.345", Rounding::default()), d("12.35"));
    assert_eq!(eur("12.32", r("nearest 0.05")), d("12.30"));
    assert_eq!(eur("12.33", r("nearest 0.05")), d("12.35"));
    assert_eq!(eur("12.31", r("up 0.10")), d("12.40"));
    assert_eq!(eur("12.30", r("ending 0.99")), d("12.99"));
    assert_eq!(eur("12.99", r("ending 0.99")), d("12.99"));
    assert_eq!(eur("13.00", r("ending 0.99")), d("13.99"));
    assert_eq!(
        eur("12.3456", r("nearest 0.001")),
        d("12.35"),
        "never below a cent"
    );
    assert!("sometimes 1".parse::<Rounding>().is_err());
    assert!("ending 1.5".parse::<Rounding>().is_err());
}

#[test]
fn currencies_without_cents_get_whole_prices() {
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let r = |s: &str| s.parse::<Rounding>().unwrap();
    let yen = |p: &str, rule: Rounding| round_price(d(p), rule, "JPY");
    assert_eq!(yen("1980.40", Rounding::default()), d("1980"));
    assert_eq!(yen("1980.50", Rounding::default()), d("1981"));
    assert_eq!(yen("1234.2", r("up 0.10")), d("1235"), "up stays up");
    assert_eq!(yen("1234", r("nearest 10")), d("1230"));
    assert_eq!(yen("1235", r("up 100")), d("1300"));
    assert_eq!(yen("1980", Rounding::default()).to_string(), "1980");
    // Three-decimal currencies keep their third decimal.
    assert_eq!(
        round_price(d("12.3456"), Rounding::Nearest(d("0.001")), "KWD"),
        d("12.346")
    );
    // The marketplace's price list in JPY: a whole-yen price goes out, with the per-currency rule.
    let cfg = config("[items.rounding_by_currency]\nJPY = \"nearest 10\"\n");
    let mut items = cfg.items.clone();
    items.price_lists.get_mut(UK).unwrap().currency = "JPY".into();
    let priced = item(json!({"ItemCode": "A00042", "ItemPrices": [
        {"PriceList": 3, "Price": 1984.5, "Currency": "JPY"}]}));
    let money = price_for(&priced, UK, &items).unwrap().unwrap();
    assert_eq!(
        (money.amount, money.currency_code.as_str()),
        (d("1980"), "JPY")
    );
}

#[test]
fn only_what_differs_is_sent_and_fba_never_gets_a_quantity() {
    let mfn = state("AMZ-MUG", Some("DEFAULT"), "19.99", Some(10));
    assert_eq!(
        diff(&target(Some("19.99"), Some(10)), &mfn),
        Decision::Unchanged
    );
    let Decision::Change(c) = diff(&target(Some("21.5"), Some(10)), &mfn) else {
        panic!()
    };
    assert_eq!(
        (c.price_old, c.price_new, c.quantity_new),
        (
            Some("19.99".parse().unwrap()),
            Some("21.5".parse().unwrap()),
            None
        )
    );
    let Decision::Change(c) = diff(&target(None, Some(0)), &mfn) else {
        panic!()
    };
    assert_eq!(
        (c.price_new, c.quantity_old, c.quantity_new),
        (None, Some(10), Some(0))
    );

    let fba = state("AMZ-MUG", Some("AMAZON_EU"), "19.99", Some(100));
    assert_eq!(
        diff(&target(Some("19.99"), Some(3)), &fba),
        Decision::Unchanged,
        "FBA stock is Amazon's"
    );
    let Decision::Change(c) = diff(&target(Some("18"), Some(3)), &fba) else {
        panic!()
    };
    assert!(c.fba && c.quantity_new.is_none() && c.quantity_old.is_none());

    let unlisted = state("AMZ-MUG", None, "0", None);
    assert_eq!(
        diff(&target(Some("1"), None), &unlisted),
        Decision::NotListed
    );
}

#[test]
fn pending_and_rejected_values_are_not_sent_again() {
    let mut pending = state("AMZ-MUG", Some("DEFAULT"), "19.99", Some(10));
    pending.status = ListingStatus::Pending;
    pending.sent_price = Some("25".parse().unwrap());
    assert_eq!(
        diff(&target(Some("25"), Some(10)), &pending),
        Decision::Unchanged
    );
    let mut rejected = pending.clone();
    rejected.status = ListingStatus::Rejected;
    assert_eq!(
        diff(&target(Some("25"), Some(10)), &rejected),
        Decision::StillRejected
    );
    // A new value is worth a new try; the rejected field is left out.
    let Decision::Change(c) = diff(&target(Some("25"), Some(4)), &rejected) else {
        panic!()
    };
    assert_eq!((c.price_new, c.quantity_new), (None, Some(4)));
    let Decision::Change(c) = diff(&target(Some("24"), Some(10)), &rejected) else {
        panic!()
    };
    assert_eq!(c.price_new, Some("24".parse().unwrap()));
    // SAP went back to what Amazon has: the refusal no longer matters.
    assert_eq!(
        diff(&target(Some("19.99"), Some(10)), &rejected),
        Decision::Moot
    );
    // Prices not read this run: nothing is known about the refused price.
    assert_eq!(
        diff(&target(None, Some(10)), &rejected),
        Decision::StillRejected
    );
}

fn listing(v: serde_json::Value) -> ListingsItem {
    serde_json::from_value(v).unwrap()
}

#[test]
fn a_listing_with_any_amazon_channel_is_fba() {
    let l = |v: serde_json::Value| listing(json!({"sku": "X", "fulfillmentAvailability": v}));
    assert_eq!(channel_of(&l(json!([]))), "DEFAULT");
    assert_eq!(
        channel_of(&l(
            json!([{"fulfillmentChannelCode": "DEFAULT", "quantity": 3}])
        )),
        "DEFAULT"
    );
    assert_eq!(
        channel_of(&l(json!([
            {"fulfillmentChannelCode": "DEFAULT", "quantity": 0},
            {"fulfillmentChannelCode": "AMAZON_EU", "quantity": 12}
        ]))),
        "AMAZON_EU"
    );
}

#[test]
fn read_back_verdicts() {
    let mut s = state("AMZ-MUG", Some("DEFAULT"), "19.99", Some(10));
    s.status = ListingStatus::Accepted;
    s.sent_price = Some("21.5".parse().unwrap());
    s.sent_quantity = Some(4);
    let applied = listing(json!({"sku": "AMZ-MUG",
        "offers": [{"marketplaceId": DE, "offerType": "B2C", "price": {"currencyCode": "EUR", "amount": "21.50"}}],
        "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 4}],
        "issues": [{"code": "100", "message": "Missing image", "severity": "ERROR", "attributeNames": ["main_product_image_locator"]}]}));
    assert_eq!(
        judge(&s, &applied),
        Verdict::Applied,
        "unrelated issues do not count"
    );
    let stale = listing(json!({"sku": "AMZ-MUG",
        "offers": [{"marketplaceId": DE, "offerType": "B2C", "price": {"currencyCode": "EUR", "amount": "19.99"}}],
        "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 4}]}));
    assert_eq!(judge(&s, &stale), Verdict::NotYet);
    let refused = listing(json!({"sku": "AMZ-MUG",
        "issues": [{"code": "8541", "message": "Potential pricing error", "severity": "ERROR",
                    "attributeNames": ["purchasable_offer"], "marketplaceIds": [DE]}]}));
    let Verdict::Rejected(why) = judge(&s, &refused) else {
        panic!()
    };
    assert_eq!(why, ["8541 Potential pricing error"]);
}
