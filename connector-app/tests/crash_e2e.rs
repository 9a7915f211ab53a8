//! Crash tests: crash at each dangerous point, restart, run again; exactly one SAP document per key,
//! every record posted, the cursor consistent and the audit trail showing the recovery.

use std::path::{Path, PathBuf};
use std::sync::Arc;

mod common;

use chrono::{DateTime, Utc};
use common::{
    SESSIONS, TIME_SCALE, edit_config, engine_for, ledger, start_sandbox, workspace, writer_for,
};
use connector_app::demo::{DemoSummary, run_flows};
use connector_app::failpoint;
use connector_app::flows::settlements::SettlementPart;
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
    // One SAP session: documents go out one after the other, so "the document in flight when the
    // process died" is exactly one, not one per session depending on timing.
    edit_config(
        &config,
        &format!("sessions = {SESSIONS}\n"),
        "sessions = 1\n",
    );
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

/// Arms `point` to fire on its `nth` hit and runs the flows in a task; asserts that the task died
/// at that failpoint (not at any other panic, and not by finishing).
async fn run_and_crash(s: &Setup, point: &str, nth: u32) {
    failpoint::arm(point, nth);
    let (sb, config) = (s.sb.clone(), s.config.clone());
    let result = tokio::spawn(async move { run_flows(&sb, &config, SEED, TIME_SCALE).await }).await;
    failpoint::clear();
    assert_crashed_at(result, point);
}

/// The task panicked with the failpoint's own message.
fn assert_crashed_at<T: std::fmt::Debug>(result: Result<T, tokio::task::JoinError>, point: &str) {
    let panic = match result {
        Ok(finished) => panic!("the run did not crash at {point}; it finished: {finished:?}"),
        Err(e) => e.into_panic(),
    };
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|m| (*m).to_owned()))
        .unwrap_or_default();
    assert_eq!(
        message,
        format!("failpoint {point}: simulated crash"),
        "the run died, but not at the armed failpoint"
    );
}

/// The orders cursor, read from the ledger.
fn orders_cursor(config: &Path) -> Option<DateTime<Utc>> {
    ledger(config)
        .cursor("orders")
        .unwrap()
        .map(|c| DateTime::parse_from_rfc3339(&c).unwrap().to_utc())
}

/// The cursor a completed orders run leaves: the end of its window, a few minutes before now.
fn assert_cursor_at_window_end(config: &Path) {
    let cursor = orders_cursor(config).expect("the completed run set the orders cursor");
    let now = Utc::now();
    assert!(
        cursor <= now - chrono::Duration::minutes(3) && cursor > now - chrono::Duration::minutes(5),
        "the cursor is the window's end (now - 3 min): {cursor} at {now}"
    );
}

/// Documents in SAP carrying a settlement part's reference (payments by `TransferReference`,
/// journal entries by `Reference2`).
fn part_documents_in_sap(sb: &Sandbox, reference: &str) -> usize {
    sb.sap_entities("IncomingPayments")
        .iter()
        .filter(|p| p["TransferReference"] == reference)
        .count()
        + sb.sap_entities("JournalEntries")
            .iter()
            .filter(|j| j["Reference2"] == reference)
            .count()
}

/// Every settlement part in the ledger: (key, state, the planned part).
fn parts_of(config: &Path) -> Vec<(String, DocState, SettlementPart)> {
    ledger(config)
        .list(&DocFilter {
            flow: Some("settlements".into()),
            ..DocFilter::default()
        })
        .unwrap()
        .into_iter()
        .filter(|d| d.kind == "settlement_part")
        .map(|d| {
            let part: SettlementPart = serde_json::from_str(&d.payload).unwrap();
            (d.key, d.state, part)
        })
        .collect()
}

/// Each planned part's documents are in SAP exactly once.
fn assert_every_part_once_in_sap(s: &Setup) {
    let parts = parts_of(&s.config);
    assert!(!parts.is_empty());
    for (key, state, part) in &parts {
        assert_eq!(*state, DocState::Posted, "{key}");
        assert_eq!(
            part_documents_in_sap(&s.sb, &part.reference),
            part.documents.len(),
            "{key}: every document of the part, once"
        );
    }
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
    // The run after the crash accounts for every order it read exactly once: what recovery
    // resolved is not counted again when its order is read.
    assert_eq!(
        after.orders.orders_accounted(),
        after.orders_seen,
        "{:?}",
        after.orders
    );
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
    drop(l);
    assert_cursor_at_window_end(&s.config);
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
    run_and_crash(&s, "invoice.after_sending_stored", 3).await;
    let crashed = ledger(&s.config)
        .list(&DocFilter {
            state: Some(DocState::Sending),
            ..DocFilter::default()
        })
        .unwrap();
    assert_eq!(
        crashed.len(),
        1,
        "the crashed invoice, and only it, was left SENDING: {:?}",
        crashed.iter().map(|d| &d.key).collect::<Vec<_>>()
    );
    let order_of = |key: &str| key.split(':').nth(3).unwrap().to_owned();
    assert!(
        s.sb.sap_by_num_at_card("Invoices", &order_of(&crashed[0].key))
            .is_empty(),
        "the crashed invoice never reached SAP"
    );
    assert_eq!(s.sb.sap_count("Invoices"), 2, "the two before it did");
    assert_eq!(
        orders_cursor(&s.config),
        None,
        "the crashed run moved no cursor"
    );
    let never_sent = crashed;
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
    run_and_crash(&s, "invoice.after_send_before_response", 1).await;
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
    run_and_crash(&s, "invoice.after_2xx_before_posted", 5).await;
    assert_eq!(
        s.sb.sap_count("Invoices"),
        5,
        "SAP created the fifth invoice"
    );
    assert_eq!(orders_cursor(&s.config), None);
    let after = run_flows(&s.sb, &s.config, SEED, TIME_SCALE).await.unwrap();
    assert_eq!(
        after.invoices_found_in_sap, 1,
        "the invoice SAP created is recognised by its key, not sent again"
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
    run_and_crash(&s, "settlement.between_parts", 2).await;
    // Half-posted: the first part's documents are in SAP, the others' are not.
    let parts = parts_of(&s.config);
    assert!(parts.len() >= 2, "the settlement was split into parts");
    let (first_key, first_state, first) =
        &parts.iter().find(|(k, ..)| k.ends_with(":part:1")).unwrap();
    assert_eq!(*first_state, DocState::Posted, "{first_key}");
    assert_eq!(
        part_documents_in_sap(&s.sb, &first.reference),
        first.documents.len()
    );
    let settlement = first_key.trim_end_matches(":part:1");
    let rest: Vec<_> = parts
        .iter()
        .filter(|(k, ..)| k.starts_with(settlement) && k != first_key)
        .collect();
    assert!(!rest.is_empty(), "the crashed settlement has more parts");
    for (key, state, part) in &rest {
        assert_eq!(*state, DocState::Planned, "{key}");
        assert_eq!(part_documents_in_sap(&s.sb, &part.reference), 0, "{key}");
    }
    assert_eq!(
        ledger(&s.config).get(settlement).unwrap().unwrap().state,
        DocState::Planned,
        "the settlement is not posted yet"
    );
    let after = run_flows(&s.sb, &s.config, SEED, TIME_SCALE).await.unwrap();
    assert!(after.settlements_posted >= 1);
    assert_eq!(
        after.settlements.held.len()
            + after.settlements.failed.len()
            + after.settlements.unknown.len(),
        0
    );
    assert_clean_end_state(&s, &after);
    assert_every_part_once_in_sap(&s);
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
    assert_crashed_at(crashed, "listing.after_push_before_record");
    // Restart: the unrecorded push is planned again (Amazon's patch is idempotent), pushed again,
    // recorded, and a further run sends nothing.
    s.sb.reset_request_counts();
    let engine = writer_for(&s.config);
    let again = engine.sync_items(&ItemsOptions::default()).await.unwrap();
    assert!(!again.needs_attention(), "{:?}", again.issues);
    assert!(
        again.planned.iter().any(|p| p.sku == product.sku.as_str()),
        "the restart plans the unrecorded push again: {:?}",
        again.planned
    );
    let pushes =
        s.sb.sp_api_calls()
            .get("patchListingsItem")
            .map_or(0, |c| c.accepted);
    assert!(pushes >= 1, "the restart pushed it again");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_a_normal_2xx_before_the_response_is_read() {
    let _serial = SERIAL.lock().await;
    let s = setup(false).await;
    // No injected fault: SAP answers 201 and the process dies before reading it.
    run_and_crash(&s, "invoice.after_send_before_response", 4).await;
    assert_eq!(
        s.sb.sap_count("Invoices"),
        4,
        "SAP created the fourth invoice"
    );
    let sending = ledger(&s.config)
        .list(&DocFilter {
            state: Some(DocState::Sending),
            ..DocFilter::default()
        })
        .unwrap();
    assert_eq!(sending.len(), 1);
    let after = run_flows(&s.sb, &s.config, SEED, TIME_SCALE).await.unwrap();
    assert_eq!(
        after.invoices_found_in_sap, 1,
        "found by its key, not sent again"
    );
    assert_clean_end_state(&s, &after);
    assert!(audit_text(&s.config).contains(&format!(
        "{} the process stopped while sending",
        sending[0].key
    )));
}

/// The part left SENDING by a crash.
fn sending_part(config: &Path) -> (String, SettlementPart) {
    let sending: Vec<_> = parts_of(config)
        .into_iter()
        .filter(|(_, state, _)| *state == DocState::Sending)
        .collect();
    assert_eq!(sending.len(), 1, "one part was left SENDING");
    let (key, _, part) = sending.into_iter().next().unwrap();
    (key, part)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_a_settlement_part_is_stored_sending() {
    let _serial = SERIAL.lock().await;
    let s = setup(true).await;
    run_and_crash(&s, "settlement_part.after_sending_stored", 2).await;
    let (key, part) = sending_part(&s.config);
    assert_eq!(
        part_documents_in_sap(&s.sb, &part.reference),
        0,
        "{key} never reached SAP"
    );
    let after = run_flows(&s.sb, &s.config, SEED, TIME_SCALE).await.unwrap();
    assert_eq!(after.settlements.parts_found_in_sap, 0);
    assert_clean_end_state(&s, &after);
    assert_every_part_once_in_sap(&s);
    assert!(audit_text(&s.config).contains(&format!(
        "{key} the process stopped while sending; not found in SAP"
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_a_settlement_part_2xx_before_posted_is_stored() {
    let _serial = SERIAL.lock().await;
    let s = setup(true).await;
    run_and_crash(&s, "settlement_part.after_2xx_before_posted", 2).await;
    let (key, part) = sending_part(&s.config);
    assert_eq!(
        part_documents_in_sap(&s.sb, &part.reference),
        part.documents.len(),
        "SAP committed {key}"
    );
    let after = run_flows(&s.sb, &s.config, SEED, TIME_SCALE).await.unwrap();
    assert_eq!(
        after.settlements.parts_found_in_sap, 1,
        "the committed part is found by its reference, not sent again"
    );
    assert_clean_end_state(&s, &after);
    assert_every_part_once_in_sap(&s);
}
