use std::time::Duration;

use super::*;
use crate::fleet::metrics::Metrics;

/// The value of the series `line_start` (everything before the value) in `text`.
fn value(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

#[test]
fn counters_and_the_histogram_render_with_help_type_and_labels() {
    let m = Metrics::new("w1", Duration::from_secs(30));
    let api = m.api("acme \"eu\"");
    api.record(Api::SpApi, "searchOrders", true, false, Duration::ZERO);
    api.record(Api::SpApi, "searchOrders", false, true, Duration::ZERO);
    api.record(
        Api::Sap,
        "POST Login",
        false,
        false,
        Duration::from_millis(3),
    );
    api.record(
        Api::Sap,
        "GET Items({key})",
        false,
        false,
        Duration::from_millis(40),
    );
    api.record(
        Api::Sap,
        "GET Items({key})",
        false,
        true,
        Duration::from_secs(45),
    );
    let text = m.render();
    let t = "tenant=\"acme \\\"eu\\\"\"";
    for (series, want) in [
        (
            format!("mlc_api_requests_total{{{t},api=\"sp-api\",operation=\"searchOrders\"}}"),
            2.0,
        ),
        (
            format!("mlc_api_throttled_total{{{t},api=\"sp-api\",operation=\"searchOrders\"}}"),
            1.0,
        ),
        (
            format!("mlc_api_retries_total{{{t},api=\"sp-api\",operation=\"searchOrders\"}}"),
            1.0,
        ),
        (
            format!("mlc_api_requests_total{{{t},api=\"sap\",operation=\"GET Items({{key}})\"}}"),
            2.0,
        ),
        (
            format!("mlc_api_retries_total{{{t},api=\"sap\",operation=\"POST Login\"}}"),
            0.0,
        ),
        (
            format!("mlc_sap_request_duration_seconds_bucket{{{t},le=\"0.005\"}}"),
            1.0,
        ),
        (
            format!("mlc_sap_request_duration_seconds_bucket{{{t},le=\"0.05\"}}"),
            2.0,
        ),
        (
            format!("mlc_sap_request_duration_seconds_bucket{{{t},le=\"30\"}}"),
            2.0,
        ),
        (
            format!("mlc_sap_request_duration_seconds_bucket{{{t},le=\"+Inf\"}}"),
            3.0,
        ),
        (
            format!("mlc_sap_request_duration_seconds_count{{{t}}}"),
            3.0,
        ),
        (
            format!("mlc_sap_request_duration_seconds_sum{{{t}}}"),
            45.043,
        ),
    ] {
        assert_eq!(value(&text, &series), Some(want), "{series} in\n{text}");
    }
    for family in [
        "# TYPE mlc_api_requests_total counter",
        "# TYPE mlc_api_throttled_total counter",
        "# TYPE mlc_api_retries_total counter",
        "# TYPE mlc_sap_request_duration_seconds histogram",
        "# HELP mlc_sap_request_duration_seconds ",
    ] {
        assert!(text.contains(family), "{family} in\n{text}");
    }
    m.forget("acme \"eu\"");
    assert!(
        !m.render().contains("acme"),
        "a forgotten tenant is not rendered"
    );
}

/// The worker's clients (built by `tenant_clients`) against the sandbox with one 429 injected on
/// the orders API: the orders run is counted per operation, with the throttle, its retry and the
/// Service Layer's latency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_against_the_sandbox_counts_the_429_its_retry_and_sap_latency() {
    use sandbox::faults::{FaultKind, FaultRule, System, Trigger};

    use crate::config::Config;
    use crate::connect::Secrets;
    use crate::credentials::{CredentialKey, CredentialStore};
    use crate::flows::{Engine, Flow, RunOptions};
    use crate::ledger::SqliteLedger;

    let time_scale = 1000.0;
    let sb = sandbox::Sandbox::start(crate::demo::sandbox_config(5, 8, time_scale))
        .await
        .unwrap();
    sb.add_fault(
        FaultRule::new(
            System::SpApi,
            "/orders/2026-01-01/orders",
            FaultKind::QuotaExceeded,
        )
        .method("GET")
        .trigger(Trigger::Times(1)),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = crate::demo::write_workspace(dir.path(), &sb, 1, time_scale).unwrap();
    let config = Config::load(&path).unwrap();
    let key = CredentialKey::load(&config.workspace.key_file, None).unwrap();
    let secrets =
        Secrets::load(&CredentialStore::open(&config.workspace.credentials, key).unwrap()).unwrap();
    let metrics = Metrics::new("w1", Duration::from_secs(30));
    let (sap, amazon) =
        crate::fleet::worker::tenant_clients(&config, secrets, &metrics, "t1").unwrap();
    let ledger = SqliteLedger::open(&config.workspace.ledger).unwrap();
    let engine = Engine::new(config, ledger, sap, amazon);
    let since = sb
        .world()
        .orders
        .iter()
        .map(|o| o.last_updated)
        .min()
        .unwrap()
        - chrono::Duration::days(1);
    let options = RunOptions {
        since: Some(since),
        dry_run: false,
    };
    engine.run_flow(Flow::Orders, &options).await.unwrap();

    let text = metrics.render();
    let sp = |family: &str, op: &str| {
        value(
            &text,
            &format!("{family}{{tenant=\"t1\",api=\"sp-api\",operation=\"{op}\"}}"),
        )
    };
    // The fault path is that of `searchOrders` and `getOrder`: whichever the run called first.
    let throttled: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("mlc_api_throttled_total{tenant=\"t1\",api=\"sp-api\",operation=\"")
        })
        .filter_map(|l| l.strip_suffix("\"} 1"))
        .collect();
    assert!(
        matches!(throttled.as_slice(), ["searchOrders" | "getOrder"]),
        "one 429 on the orders path: {text}"
    );
    let op = throttled[0];
    assert!(sp("mlc_api_retries_total", op) >= Some(1.0), "{text}");
    assert!(sp("mlc_api_requests_total", op) >= Some(2.0), "{text}");
    let all_throttled: f64 = text
        .lines()
        .filter(|l| l.starts_with("mlc_api_throttled_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(all_throttled, 1.0, "{text}");
    let sap_requests: f64 = text
        .lines()
        .filter(|l| l.starts_with("mlc_api_requests_total{tenant=\"t1\",api=\"sap\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        text.contains(
            "mlc_api_requests_total{tenant=\"t1\",api=\"sap\",operation=\"POST Login\"} 1"
        ),
        "{text}"
    );
    assert!(sap_requests > 1.0, "{text}");
    assert_eq!(
        value(
            &text,
            "mlc_sap_request_duration_seconds_count{tenant=\"t1\"}"
        ),
        Some(sap_requests),
        "every SAP attempt is in the histogram: {text}"
    );
    assert!(
        !text.contains(&sb.seller_id()) && !text.contains("$filter"),
        "no ids or queries in labels: {text}"
    );
    drop(engine);
    sb.shutdown().await;
}
