//! Amazon Currency Converter for Sellers: a payout Amazon converts into another currency than the
//! company's is held with the reason, not posted at a made-up amount.

mod common;

use common::{TIME_SCALE, edit_config, start_sandbox_in, workspace};
use connector_app::demo::run_flows;
use sandbox::world::WorldKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_converted_into_a_foreign_currency_is_held_with_the_reason() {
    // The UK company's EUR payouts are not converted by Amazon (its Finances ConvertedTotal stays
    // in EUR): listing EUR as converted must not post EUR as if it were pounds.
    let sb = start_sandbox_in(WorldKind::Eu, 5, 80).await;
    let (_dir, config) = workspace(&sb);
    edit_config(
        &config,
        "currency_converter = []",
        "currency_converter = [\"EUR\"]",
    );
    let run = run_flows(&sb, &config, 5, TIME_SCALE).await.unwrap();
    let s = &run.settlements;
    let held: Vec<_> = s.settlements.iter().filter(|x| x.state == "held").collect();
    assert!(!held.is_empty(), "{:?}", s.settlements);
    for x in &held {
        assert_eq!(x.currency, "EUR", "{x:?}");
        assert!(
            x.reasons.iter().any(|r| r
                .contains("converted its payout into EUR, which is not the company's currency")),
            "{x:?}"
        );
    }
    // Pound settlements post as before.
    assert!(
        s.settlements
            .iter()
            .any(|x| x.currency == "GBP" && x.state == "posted")
    );
    sb.shutdown().await;
}
