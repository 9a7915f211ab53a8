//! Crash tests: crash at each dangerous point, restart, run again; exactly one SAP document per key,
//! every record posted, the cursor consistent and the audit trail showing the recovery.

use std::path::{Path, PathBuf};
use std::sync::Arc;

mod common;

use common::{TIME_SCALE, edit_config, engine_for, ledger, start_sandbox, workspace, writer_for};
use connector_app::demo::{DemoSummary, run_flows};
use connector_app::failpoint;
use connector_app::ledger::{DocFilter, DocState, Ledger};
use sandbox::Sandbox;
use sandbox::faults::{FaultKind, FaultRule, System, Trigger};
use sandbox::world::OrderStatus;

const SEED: u64 = 21;

/// Failpoints are process-wide: one crash test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Setup {
    sb: Arc<Sandbox>,
    _dir: tempfile::TempDir,
    config: PathBuf,
}

async fn setup(split_settlements: bool) -> Setup {
    let sb = Arc::new(start_sandbox(SEED, 50).await);
    let (dir, config) = workspace(&sb);
    if split_settlements {
        edit_config(
            &config,
            "[settlements]\n",
            "[settlements]\nmax_documents_per_batch = 2\n",
        );
    }
    Setup {
        sb,
        _dir: dir,
        config,
    }
}

/// Runs the flows in a task that "crashes" at the armed point; returns whether it crashed.
async fn run_and_crash(s: &Setup) -> bool {
    let (sb, config) = (s.sb.clone(), s.config.clone());
    let result = tokio::spawn(async move { run_flows(&sb, &config, SEED, TIME_SCALE).await }).await;
    failpoint::clear();
    result.is_err()
}

fn assert_clean_end_state(s: &Setup, after: &DemoSummary) {
    let sb = &s.sb;
    let world = sb.world();
    let shipped = world
        .orders
        .iter()
        .filter(|o| o.status == OrderStatus::Shipped)
        .count();
    assert_eq!(
        sb.sap_count("Invoices"),
        shipped,
        "one invoice per shipped order"
    );
    assert_eq!(sb.sap_duplicates("Invoices", "NumAtCard").len(), 0);
    assert_eq!(after.duplicates_in_sap, 0);
    let l = ledger(&s.config);
    for state in [
        DocState::Planned,
        DocState::Sending,
        DocState::Unknown,
        DocState::Failed,
        DocState::Held,
    ] {
        let left = l
            .list(&DocFilter {
                state: Some(state),
                ..DocFilter::default()
            })
            .unwrap();
        assert!(
            left.is_empty(),
            "{state}: {:?}",
            left.iter().map(|d| &d.key).collect::<Vec<_>>()
        );
    }
    assert!(
        l.cursor("orders").unwrap().is_some(),
        "the orders cursor moved after the completed run"
    );
}

/// Audit detail rows of every key, joined, for "the trail shows the recovery" checks.
fn audit_text(config: &Path) -> String {
    ledger(config)
        .audit_rows(None, None)
        .unwrap()
        .iter()
        .map(|r| format!("{} {}\n", r.key, r.detail))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_sending_is_stored_before_the_post() {
    let _serial = SERIAL.lock().await;
    let s = setup(false).await;
    failpoint::arm("invoice.after_sending_stored", 3);
    assert!(run_and_crash(&s).await, "the run crashed");
    let crashed = ledger(&s.config)
        .list(&DocFilter {
            state: Some(DocState::Sending),
            ..DocFilter::default()
        })
        .unwrap();
    // The crashed invoice, and the one in flight on the second session when the process died.
    assert!(
        (1..=2).contains(&crashed.len()),
        "the crashed invoice was left SENDING: {:?}",
        crashed.iter().map(|d| &d.key).collect::<Vec<_>>()
    );
    // The crashed one never reached SAP (the other may have).
    let order_of = |key: &str| key.split(':').nth(3).unwrap().to_owned();
    let never_sent: Vec<_> = crashed
        .iter()
        .filter(|d| {
            s.sb.sap_by_num_at_card("Invoices", &order_of(&d.key))
                .is_empty()
        })
        .collect();
    assert!(!never_sent.is_empty(), "the crashed invoice is not in SAP");
    let after = run_flows(&s.sb, &s.config, SEED, TIME_SCALE).await.unwrap();
    assert_clean_end_state(&s, &after);
    let audit = audit_text(&s.config);
    assert!(
        never_sent.iter().any(|d| audit.contains(&format!(
            "{} the process stopped while sending; not found in SAP",
            d.key
        ))),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_the_post_is_sent_before_the_response_is_read() {
    let _serial = SERIAL.lock().await;
    let s = setup(false).await;
    // SAP commits the invoice, the answer never arrives, and the process dies right there.
    s.sb.add_fault(
        FaultRule::new(System::Sap, "/Invoices", FaultKind::CommitThenDrop)
            .method("POST")
            .trigger(Trigger::Times(1)),
    );
    failpoint::arm("invoice.after_send_before_response", 1);
    assert!(run_and_crash(&s).await);
    let invoices_before = s.sb.sap_count("Invoices");
    let after = run_flows(&s.sb, &s.config, SEED, TIME_SCALE).await.unwrap();
    assert!(
        after.invoices_found_in_sap >= 1,
        "the committed invoice is found, not sent again"
    );
    assert!(s.sb.sap_count("Invoices") > invoices_before);
    assert_clean_end_state(&s, &after);
    assert!(audit_text(&s.config).contains("not sent again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_a_2xx_before_posted_is_stored() {
    let _serial = SERIAL.lock().await;
    let s = setup(false).await;
    failpoint::arm("invoice.after_2xx_before_posted", 5);
    assert!(run_and_crash(&s).await);
    let after = run_flows(&s.sb, &s.config, SEED, TIME_SCALE).await.unwrap();
    // The crashed invoice, and the one posted alongside it on the second session if SAP had
    // executed it when the process died: found by their keys, not sent again.
    assert!(
        (1..=2).contains(&after.invoices_found_in_sap),
        "the invoices SAP created are recognised by their keys: {}",
        after.invoices_found_in_sap
    );
    assert_clean_end_state(&s, &after);
    let audit = audit_text(&s.config);
    assert!(
        audit.contains("the process stopped while sending") && audit.contains("not sent again"),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_between_two_parts_of_a_split_settlement() {
    let _serial = SERIAL.lock().await;
    let s = setup(true).await;
    failpoint::arm("settlement.between_parts", 2);
    assert!(run_and_crash(&s).await);
    let jes_before = s.sb.sap_count("JournalEntries") + s.sb.sap_count("IncomingPayments");
    assert!(jes_before > 0, "the first part went in before the crash");
    let after = run_flows(&s.sb, &s.config, SEED, TIME_SCALE).await.unwrap();
    assert!(after.settlements_posted >= 1);
    assert_eq!(
        after.settlements.held.len()
            + after.settlements.failed.len()
            + after.settlements.unknown.len(),
        0
    );
    assert_clean_end_state(&s, &after);
    // Each part's documents exist once: no reference twice in payments or journal memos.
    assert_eq!(
        s.sb.sap_duplicates("IncomingPayments", "TransferReference")
            .len(),
        0
    );
    let engine = engine_for(&s.config);
    let settled: Vec<_> = after
        .settlements
        .settlements
        .iter()
        .filter(|x| x.state != "held")
        .collect();
    for x in settled {
        let rec = engine.reconcile_settlement(&x.settlement_id).await.unwrap();
        assert!(
            rec.clearing_balance.is_zero(),
            "settlement {} clearing after resume",
            x.settlement_id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_a_listings_push_before_it_is_recorded() {
    use connector_app::flows::items::ItemsOptions;
    use sandbox::world::Channel;

    let _serial = SERIAL.lock().await;
    let s = setup(false).await;
    // The demo workspace syncs items; settle everything once.
    run_flows(&s.sb, &s.config, SEED, TIME_SCALE).await.unwrap();
    let world = s.sb.world();
    let product = world
        .catalog
        .iter()
        .find(|p| p.channel == Channel::Mfn)
        .unwrap();
    let engine = writer_for(&s.config);
    engine
        .sap
        .items()
        .update(
            product.item_code.as_str(),
            &serde_json::json!({"ItemPrices": [{"PriceList": 2, "Price": 44.44}]}),
        )
        .await
        .unwrap();
    drop(engine);
    failpoint::arm("listing.after_push_before_record", 1);
    let config = s.config.clone();
    let crashed = tokio::spawn(async move {
        let engine = writer_for(&config);
        engine.sync_items(&ItemsOptions::default()).await
    })
    .await;
    failpoint::clear();
    assert!(
        crashed.is_err(),
        "the items run crashed after Amazon accepted the push"
    );
    // Restart: the unrecorded push is planned again (Amazon's patch is idempotent), recorded, and a
    // further run sends nothing.
    let engine = writer_for(&s.config);
    let again = engine.sync_items(&ItemsOptions::default()).await.unwrap();
    assert!(!again.needs_attention(), "{:?}", again.issues);
    let listing = s.sb.listing(&product.sku, "A1PA6795UKMFR9").unwrap();
    assert_eq!(listing.price, "44.44".parse().unwrap());
    let quiet = engine.sync_items(&ItemsOptions::default()).await.unwrap();
    assert_eq!(quiet.listings_updated, 0, "{:?}", quiet.planned);
    let audit = audit_text(&s.config);
    assert!(
        audit.contains(&product.sku),
        "the push is in the audit trail"
    );
}
