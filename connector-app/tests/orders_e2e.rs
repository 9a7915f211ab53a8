//! Orders -> invoices end to end against the sandbox over real HTTP.

use std::str::FromStr;

use connector_app::demo::{run_flows, sandbox_config, write_workspace};
use rust_decimal::Decimal;
use sandbox::Sandbox;
use sandbox::world::OrderStatus;

const SEED: u64 = 11;

fn dec(v: &serde_json::Value) -> Decimal {
    match v {
        serde_json::Value::String(s) => Decimal::from_str(s).unwrap(),
        serde_json::Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap(),
        other => panic!("not a number: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sync_posts_one_invoice_per_shipped_order_and_a_second_posts_none() {
    let sb = Sandbox::start(sandbox_config(SEED, 80, 1000.0))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_workspace(dir.path(), &sb, 2).unwrap();

    let first = run_flows(&sb, &config, SEED, 1000.0).await.unwrap();
    let world = sb.world();
    let shipped: Vec<_> = world
        .orders
        .iter()
        .filter(|o| o.status == OrderStatus::Shipped)
        .collect();
    assert!(shipped.len() > 20, "the world has shipped orders");
    assert_eq!(first.failed, 0, "{:?}", first.orders.failed);
    assert_eq!(first.unknown, 0, "{:?}", first.orders.unknown);
    assert_eq!(
        first.invoices_posted as usize + first.held,
        shipped.len(),
        "{:?}",
        first.orders.held
    );
    assert_eq!(first.duplicates_in_sap, 0);

    // Every posted invoice: right customer, items, quantities and totals.
    for o in &shipped {
        let docs = sb.sap_by_num_at_card("Invoices", &o.id);
        if first.orders.held.iter().any(|h| h.key.contains(&o.id)) {
            assert!(docs.is_empty());
            continue;
        }
        assert_eq!(docs.len(), 1, "order {}", o.id);
        let inv = &docs[0];
        let m = &world.marketplaces[o.marketplace];
        assert_eq!(inv["CardCode"], m.customer, "order {}", o.id);
        assert_eq!(inv["DocCurrency"], m.currency);
        let lines = inv["DocumentLines"].as_array().unwrap();
        assert_eq!(lines.len(), o.items.len());
        for (line, item) in lines.iter().zip(&o.items) {
            assert_eq!(line["ItemCode"], world.catalog[item.product].item_code);
            assert_eq!(dec(&line["Quantity"]), Decimal::from(item.quantity));
        }
        // What the buyer paid (VAT-inclusive) is the invoice total where the seller charges the VAT;
        // where Amazon collects it, the invoice is the net amount.
        let gross: Decimal = o
            .items
            .iter()
            .map(|i| i.item_price + i.shipping - i.promotion)
            .sum();
        let vat: Decimal = o.items.iter().map(|i| i.item_tax + i.shipping_tax).sum();
        let total = dec(&inv["DocTotal"]);
        if m.facilitator_vat {
            let promo_vat: Decimal = o
                .items
                .iter()
                .map(|i| {
                    sandbox::world::round2(
                        i.promotion * m.vat_rate / (Decimal::ONE_HUNDRED + m.vat_rate),
                    )
                })
                .sum();
            assert_eq!(total, gross - vat + promo_vat, "order {}", o.id);
        } else {
            assert!(
                (total - gross).abs() <= Decimal::new(2, 2),
                "order {}: {total} vs {gross}",
                o.id
            );
        }
    }

    eprintln!(
        "first run: posted {} held {} seen {} not yet {}",
        first.invoices_posted, first.held, first.orders_seen, first.not_yet_shipped
    );
    let second = run_flows(&sb, &config, SEED, 1000.0).await.unwrap();
    assert_eq!(second.invoices_posted, 0);
    assert_eq!(second.invoices_found_in_sap, 0);
    assert_eq!(second.already_posted, first.invoices_posted);
    assert_eq!(second.duplicates_in_sap, 0);
    assert_eq!(sb.sap_count("Invoices"), first.invoices_posted as usize);
    sb.shutdown().await;
}
