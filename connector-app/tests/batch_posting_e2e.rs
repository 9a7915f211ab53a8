//! Several invoices per `$batch` request, each in its own changeset with its key row: one refusal
//! rolls back only its own invoice, what SAP did not execute is sent again, and crashes or a lost
//! answer at any point of a batched request leave every invoice once (resolved by the key rows).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::{edit_config, ledger, since, start_sandbox, workspace, writer_for};
use connector_app::failpoint;
use connector_app::flows::orders::{OrdersReport, SyncOptions};
use connector_app::ledger::{DocFilter, DocState, Ledger, OnFailed, PlanBody, PlanRequest};
use connector_app::posting::{KeyTable, PostOutcome, instance_id};
use sandbox::Sandbox;
use sandbox::faults::{FaultKind, FaultRule, System, Trigger};
use sandbox::world::OrderStatus;

/// Failpoints are process-wide: one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PER_BATCH: usize = 5;

struct Setup {
    sb: Arc<Sandbox>,
    _dir: tempfile::TempDir,
    config: PathBuf,
    since: DateTime<Utc>,
}

/// A workspace with the key table in SAP, one session and `PER_BATCH` invoices per request.
async fn setup(seed: u64, orders: usize) -> Setup {
    let sb = Arc::new(start_sandbox(seed, orders).await);
    let (dir, config) = workspace(&sb);
    edit_config(
        &config,
        &format!("sessions = {}\n", common::SESSIONS),
        &format!("sessions = 1\ninvoices_per_batch = {PER_BATCH}\n"),
    );
    let engine = writer_for(&config);
    engine.sap.connect().await.unwrap();
    KeyTable::new("MLC_KEYS", instance_id(&engine.config.workspace.ledger))
        .create(&engine.sap)
        .await
        .unwrap();
    drop(engine);
    sb.restart_service_layer();
    let since = chrono::NaiveDate::parse_from_str(&since(&sb), "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    Setup {
        sb,
        _dir: dir,
        config,
        since,
    }
}

async fn sync(config: &Path, since: DateTime<Utc>) -> OrdersReport {
    writer_for(config)
        .sync_orders(&SyncOptions {
            since: Some(since),
            dry_run: false,
        })
        .await
        .unwrap()
}

/// Runs an orders sync with `point` armed for its `nth` hit; asserts it died there.
async fn sync_and_crash(s: &Setup, point: &str, nth: u32) {
    failpoint::arm(point, nth);
    let (config, since) = (s.config.clone(), s.since);
    let result = tokio::spawn(async move { sync(&config, since).await }).await;
    failpoint::clear();
    let panic = result.expect_err("the run crashed").into_panic();
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|m| (*m).to_owned()))
        .unwrap_or_default();
    assert_eq!(message, format!("failpoint {point}: simulated crash"));
}

fn in_state(config: &Path, state: DocState) -> Vec<String> {
    ledger(config)
        .list(&DocFilter {
            state: Some(state),
            ..DocFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|d| d.key)
        .collect()
}

fn order_of(key: &str) -> String {
    key.split(':').nth(3).unwrap().to_owned()
}

/// One invoice per shipped order, one key row per invoice (plus the lease), nothing in doubt.
fn assert_every_invoice_once(s: &Setup) {
    let shipped =
        s.sb.world()
            .orders
            .iter()
            .filter(|o| o.status == OrderStatus::Shipped)
            .count();
    assert_eq!(s.sb.sap_count("Invoices"), shipped);
    assert!(s.sb.sap_duplicates("Invoices", "NumAtCard").is_empty());
    assert_eq!(s.sb.sap_count("U_MLC_KEYS"), shipped + 1);
    for state in [
        DocState::Planned,
        DocState::Sending,
        DocState::Unknown,
        DocState::Failed,
    ] {
        assert_eq!(in_state(&s.config, state), Vec::<String>::new(), "{state}");
    }
}

fn audit_text(config: &Path) -> String {
    ledger(config)
        .audit_rows(None, None)
        .unwrap()
        .iter()
        .map(|r| format!("{} {}\n", r.key, r.detail))
        .collect()
}

fn batch_requests(sb: &Sandbox) -> u64 {
    sb.sap_requests()
        .iter()
        .filter(|(k, _)| k.contains("$batch"))
        .map(|(_, n)| n)
        .sum()
}

/// Plans `n` copies of invoices posted by a first sync under new keys (`test:copy:{i}`, NumAtCard
/// `COPY-{i}`); copy `bad` names a customer SAP does not have.
fn plan_copies(config: &Path, n: usize, bad: Option<usize>) -> Vec<String> {
    let posted = ledger(config)
        .list(&DocFilter {
            state: Some(DocState::Posted),
            ..DocFilter::default()
        })
        .unwrap();
    assert!(posted.len() >= n, "{} posted", posted.len());
    let mut l = ledger(config);
    let mut keys = Vec::new();
    for (i, doc) in posted.iter().take(n).enumerate() {
        let mut body: serde_json::Value = serde_json::from_str(&doc.payload).unwrap();
        body["NumAtCard"] = format!("COPY-{i}").into();
        if bad == Some(i) {
            body["CardCode"] = "NOSUCHCUST".into();
        }
        let key = format!("test:copy:{i}");
        l.plan_or_replan(&PlanRequest {
            key: &key,
            flow: "orders",
            kind: "invoice",
            source_id: None,
            body: PlanBody::Ready(&body.to_string()),
            on_failed: OnFailed::Keep,
        })
        .unwrap();
        keys.push(key);
    }
    keys
}

fn copies_in_sap(sb: &Sandbox, i: usize) -> usize {
    sb.sap_by_num_at_card("Invoices", &format!("COPY-{i}"))
        .len()
}

/// Posts `keys` in one call with `point` armed for its first hit; asserts it died there.
async fn post_and_crash(config: &Path, keys: &[String], point: &str) {
    failpoint::arm(point, 1);
    let (config, keys) = (config.to_owned(), keys.to_vec());
    let result = tokio::spawn(async move { writer_for(&config).post_invoices(&keys).await }).await;
    failpoint::clear();
    let panic = result.expect_err("the call crashed").into_panic();
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|m| (*m).to_owned()))
        .unwrap_or_default();
    assert_eq!(message, format!("failpoint {point}: simulated crash"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_a_batch_of_six_committed_finds_all_six_by_their_key_rows() {
    let _serial = SERIAL.lock().await;
    let s = setup(65, 30).await;
    sync(&s.config, s.since).await;
    let keys = plan_copies(&s.config, 6, None);
    s.sb.reset_request_counts();
    post_and_crash(&s.config, &keys, "invoice.after_2xx_before_posted").await;
    assert_eq!(batch_requests(&s.sb), 1, "the six went in one request");
    assert_eq!(in_state(&s.config, DocState::Sending), keys);
    for i in 0..6 {
        assert_eq!(copies_in_sap(&s.sb, i), 1, "SAP committed copy {i}");
    }
    s.sb.reset_request_counts();
    let outcomes = writer_for(&s.config).post_invoices(&keys).await.unwrap();
    for (key, outcome) in &outcomes {
        assert!(
            matches!(
                outcome,
                PostOutcome::FoundExisting {
                    by_other_instance: None,
                    ..
                }
            ),
            "{key}: {outcome:?}"
        );
    }
    assert_eq!(batch_requests(&s.sb), 0, "nothing was sent again");
    for i in 0..6 {
        assert_eq!(copies_in_sap(&s.sb, i), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_a_batch_of_six_went_out_sends_each_once_after_reading_key_rows() {
    let _serial = SERIAL.lock().await;
    let s = setup(66, 30).await;
    sync(&s.config, s.since).await;
    let keys = plan_copies(&s.config, 6, None);
    post_and_crash(&s.config, &keys, "invoice.after_sending_stored").await;
    assert_eq!(in_state(&s.config, DocState::Sending), keys);
    for i in 0..6 {
        assert_eq!(copies_in_sap(&s.sb, i), 0, "copy {i} never reached SAP");
    }
    let outcomes = writer_for(&s.config).post_invoices(&keys).await.unwrap();
    for (key, outcome) in &outcomes {
        assert!(
            matches!(outcome, PostOutcome::Posted { .. }),
            "{key}: {outcome:?}"
        );
    }
    for i in 0..6 {
        assert_eq!(copies_in_sap(&s.sb, i), 1);
    }
    let audit = audit_text(&s.config);
    for key in &keys {
        assert!(
            audit.contains(&format!(
                "{key} the process stopped while sending; not found in SAP"
            )),
            "{key}: {audit}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_invoice_rolls_back_alone_and_the_rest_of_its_batch_is_sent_again() {
    let _serial = SERIAL.lock().await;
    let s = setup(61, 30).await;
    let first = sync(&s.config, s.since).await;
    assert!(first.invoices_posted > 6, "{first:?}");
    let keys = plan_copies(&s.config, 6, Some(2));
    s.sb.reset_request_counts();
    let engine = writer_for(&s.config);
    let outcomes = engine.post_invoices(&keys).await.unwrap();
    drop(engine);
    assert_eq!(outcomes.len(), 6);
    for (key, outcome) in &outcomes {
        let i: usize = key.rsplit(':').next().unwrap().parse().unwrap();
        let copies = copies_in_sap(&s.sb, i);
        if i == 2 {
            assert!(
                matches!(outcome, PostOutcome::Failed(r) if r.contains("SAP refused the invoice")),
                "{outcome:?}"
            );
            assert_eq!(copies, 0, "the refused invoice is not in SAP");
        } else {
            assert!(
                matches!(outcome, PostOutcome::Posted { .. }),
                "{key}: {outcome:?}"
            );
            assert_eq!(copies, 1, "{key} once");
        }
    }
    // SAP stops at the refused changeset: the three after it were sent again, in one more request.
    assert_eq!(batch_requests(&s.sb), 2, "{:?}", s.sb.sap_requests());
    let audit = audit_text(&s.config);
    assert!(
        audit.contains("test:copy:4 not executed: SAP stopped at an earlier changeset's error"),
        "{audit}"
    );
    assert!(!audit.contains("test:copy:1 not executed"), "{audit}");
    assert_eq!(in_state(&s.config, DocState::Failed), vec!["test:copy:2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_with_a_batch_stored_sending_sends_it_after_reading_its_key_rows() {
    let _serial = SERIAL.lock().await;
    let s = setup(62, 40).await;
    sync_and_crash(&s, "invoice.after_sending_stored", 2).await;
    let sending = in_state(&s.config, DocState::Sending);
    assert!(
        (1..=PER_BATCH).contains(&sending.len()),
        "the crashed request's invoices, all of them, were left SENDING: {sending:?}"
    );
    for key in &sending {
        assert!(
            s.sb.sap_by_num_at_card("Invoices", &order_of(key))
                .is_empty(),
            "{key} never reached SAP"
        );
    }
    let after = sync(&s.config, s.since).await;
    assert_eq!(after.found_in_sap, 0, "{after:?}");
    assert_every_invoice_once(&s);
    let audit = audit_text(&s.config);
    for key in &sending {
        assert!(
            audit.contains(&format!(
                "{key} the process stopped while sending; not found in SAP"
            )),
            "{key}: {audit}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_a_batch_committed_finds_every_invoice_of_it_by_its_key_row() {
    let _serial = SERIAL.lock().await;
    let s = setup(63, 40).await;
    sync_and_crash(&s, "invoice.after_2xx_before_posted", 2).await;
    let sending = in_state(&s.config, DocState::Sending);
    assert!((1..=PER_BATCH).contains(&sending.len()), "{sending:?}");
    for key in &sending {
        assert_eq!(
            s.sb.sap_by_num_at_card("Invoices", &order_of(key)).len(),
            1,
            "SAP committed {key}"
        );
    }
    s.sb.reset_request_counts();
    let after = sync(&s.config, s.since).await;
    assert_eq!(after.found_in_sap, sending.len() as u64, "{after:?}");
    assert_every_invoice_once(&s);
    let audit = audit_text(&s.config);
    for key in &sending {
        assert!(
            audit.contains(&format!(
                "{key} its key row in SAP says this connector posted it"
            )),
            "{key}: {audit}"
        );
    }
}

/// The group commit stores POSTED without waiting for the disk: a crash right after (before any
/// sync) keeps it (a process crash loses no committed transaction), so nothing of that request is
/// in doubt or looked up again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_a_batch_is_stored_posted_unsynced_keeps_it_posted() {
    let _serial = SERIAL.lock().await;
    let s = setup(66, 40).await;
    sync_and_crash(&s, "invoice.after_posted_stored_unsynced", 2).await;
    let posted = in_state(&s.config, DocState::Posted);
    assert!(
        (2..=2 * PER_BATCH).contains(&posted.len()),
        "two requests (of what was planned so far, at most {PER_BATCH} each) stored POSTED: {posted:?}"
    );
    assert_eq!(in_state(&s.config, DocState::Sending), Vec::<String>::new());
    assert_eq!(s.sb.sap_count("Invoices"), posted.len());
    let after = sync(&s.config, s.since).await;
    assert_eq!(after.found_in_sap, 0, "nothing in doubt: {after:?}");
    assert_every_invoice_once(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_answer_is_lost_is_resolved_by_key_rows_and_never_sent_again() {
    let _serial = SERIAL.lock().await;
    let s = setup(64, 40).await;
    // SAP commits the first batched request and the answer never arrives.
    s.sb.add_fault(
        FaultRule::new(System::Sap, "/$batch", FaultKind::CommitThenDrop)
            .method("POST")
            .trigger(Trigger::Times(1)),
    );
    let first = sync(&s.config, s.since).await;
    let unknown: Vec<String> = first.unknown.iter().map(|p| p.key.clone()).collect();
    assert!((1..=PER_BATCH).contains(&unknown.len()), "{first:?}");
    assert_eq!(in_state(&s.config, DocState::Unknown).len(), unknown.len());
    for key in &unknown {
        assert_eq!(s.sb.sap_by_num_at_card("Invoices", &order_of(key)).len(), 1);
    }
    s.sb.reset_request_counts();
    let second = sync(&s.config, s.since).await;
    assert_eq!(second.found_in_sap, unknown.len() as u64, "{second:?}");
    assert_eq!(second.invoices_posted, 0);
    assert_eq!(
        batch_requests(&s.sb),
        0,
        "nothing was sent again: {:?}",
        s.sb.sap_requests()
    );
    assert_every_invoice_once(&s);
}
