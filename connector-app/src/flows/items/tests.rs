//! Tests of the `[items]` section as the flow reads it.
use std::path::Path;

use crate::config::{Config, Rounding, TEMPLATE};

fn parse(items: &str) -> Result<Config, String> {
    let text = TEMPLATE.replace(
        &TEMPLATE[TEMPLATE.find("\n[items]").unwrap()..],
        &format!("\n{items}"),
    );
    Config::parse(Path::new("/etc/mlc/ml-connector.toml"), &text).map_err(|e| e.to_string())
}

#[test]
fn the_template_turns_the_flow_on_and_no_section_turns_it_off() {
    let c = Config::parse(Path::new("/etc/mlc/ml-connector.toml"), TEMPLATE).unwrap();
    assert!(c.items.enabled);
    assert_eq!(c.items.marketplaces, ["A1PA6795UKMFR9"]);
    assert_eq!(c.items.price_lists["A1PA6795UKMFR9"].price_list, 2);
    assert_eq!(c.items.warehouses, ["01"]);
    assert_eq!(c.items.feed_threshold, 100);
    assert_eq!(c.items.rounding, Rounding::default());
    assert!(!parse("").unwrap().items.enabled);
}

#[test]
fn items_errors_name_file_key_and_reason() {
    let e =
        parse("[items]\nwarehouses = [\"01\"]\nmarketplaces = [\"ATVPDKIKX0DER\"]").unwrap_err();
    assert!(
        e.starts_with("/etc/mlc/ml-connector.toml: key `items.marketplaces`")
            && e.contains("not in amazon.marketplaces"),
        "{e}"
    );
    let e = parse(
        "[items]\n[items.price_lists]\nA1PA6795UKMFR9 = { price_list = 2, currency = \"euro\" }",
    )
    .unwrap_err();
    assert!(
        e.contains("key `items.price_lists.A1PA6795UKMFR9`") && e.contains("euro"),
        "{e}"
    );
    let e = parse("[items]\nwarehouses = [\"01\"]\nrounding = \"ceil 0.99\"").unwrap_err();
    assert!(e.contains("key `items.rounding`"), "{e}");
    let e = parse("[items]\nwarehouses = [\"01\"]\nfeed_threshold = 0").unwrap_err();
    assert!(e.contains("key `items.feed_threshold`"), "{e}");
    let e = parse("[items]\nwarehouses = [\"01\"]\noverlap = \"soon\"").unwrap_err();
    assert!(e.contains("key `items.overlap`"), "{e}");
    let e = parse("[items]").unwrap_err();
    assert!(
        e.contains("key `items`") && e.contains("nothing to sync"),
        "{e}"
    );
    let e = parse("[items]\nwarehouses = [\"01\"]\nsafety_bufer = 2").unwrap_err();
    assert!(e.contains("safety_bufer"), "{e}");
}
