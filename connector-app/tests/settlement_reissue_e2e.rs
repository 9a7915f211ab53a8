//! A settlement comes back: downloaded again, re-issued with other rows, or copied under another
//! id. Posted money is never posted twice and never silently ignored; a held one can be dismissed.

mod common;

use common::{TIME_SCALE, cli, engine_for, start_sandbox_in, workspace};
use connector_app::demo::run_flows;
use connector_app::flows::settlements::{SOURCE_KIND, SettlementOptions};
use connector_app::ledger::{DocFilter, DocState, Ledger};
use rust_decimal::Decimal;
use sandbox::world::WorldKind;

const SEED: u64 = 5;

/// The stored file of a posted settlement, and its id.
fn posted_settlement(config: &std::path::Path) -> (String, Vec<u8>) {
    let ledger = common::ledger(config);
    let rec = ledger
        .list(&DocFilter {
            state: Some(DocState::Posted),
            flow: Some("settlements".into()),
            ..DocFilter::default()
        })
        .unwrap()
        .into_iter()
        .find(|d| d.kind == "settlement")
        .expect("the demo posted a settlement");
    let id = rec.key.rsplit(':').next().unwrap().to_owned();
    let body = ledger
        .latest_source(SOURCE_KIND, &id)
        .unwrap()
        .unwrap()
        .body;
    (id, body)
}

/// `text` with the first fee row and the total changed by `delta` (so it still ties out).
fn reissue(text: &str, delta: Decimal) -> String {
    let mut lines: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    let comma = lines[1][4].contains(',');
    let read = |s: &str| s.replace(',', ".").parse::<Decimal>().unwrap();
    let write = |d: Decimal| {
        let s = d.round_dp(2).to_string();
        if comma { s.replace('.', ",") } else { s }
    };
    lines[1][4] = write(read(&lines[1][4]) + delta);
    let fee = lines
        .iter()
        .position(|l| l.get(13).is_some_and(|d| d == "Commission"))
        .expect("a commission row");
    lines[fee][14] = write(read(&lines[fee][14]) + delta);
    lines
        .iter()
        .map(|l| l.join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_that_comes_back_is_never_posted_twice_nor_ignored() {
    let sb = start_sandbox_in(WorldKind::Na, SEED, 60).await;
    let (dir, config) = workspace(&sb);
    run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    let seller = connector_app::config::Config::load(&config)
        .unwrap()
        .amazon
        .seller_id;
    // `status` counts a settlement's parts apart from the settlements, and shows each settlement's
    // total in its currency and, for CAD/MXN, in the company's (converted by Amazon here).
    let st = common::status_of(&config);
    assert!(
        st.contains("posting parts") && st.contains("settlements "),
        "{st}"
    );
    assert!(st.contains(" CAD (") && st.contains(" local)"), "{st}");
    let (id, body) = posted_settlement(&config);
    let text = String::from_utf8(body).unwrap();
    let before = common::sap_documents(&sb);
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };

    // The same file again: posted, nothing to do.
    let same = write("same.txt", &text);
    let (code, out) = cli(&config, &["settlement", "check", &same]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("is posted") && out.contains("nothing would be posted"),
        "{out}"
    );
    let (code, out) = cli(&config, &["settlement", "import", &same]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("already-posted"), "{out}");

    // Re-issued: same id, a fee 1.25 lower and the total with it. Held with the difference.
    let reissued = write("reissued.txt", &reissue(&text, Decimal::new(-125, 2)));
    let (code, out) = cli(&config, &["settlement", "check", &reissued]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("re-issued"), "{out}");
    let (code, out) = cli(&config, &["settlement", "import", &reissued]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("re-issued"), "{out}");
    assert!(
        out.contains("(-1.25)"),
        "the total's change is shown: {out}"
    );
    assert!(
        out.contains("ItemFees / Commission"),
        "the changed category is shown: {out}"
    );
    assert_eq!(common::sap_documents(&sb), before, "nothing posted");
    let reissue_key = common::ledger(&config)
        .list(&DocFilter {
            state: Some(DocState::Held),
            key_contains: Some(format!("settlement:{id}:reissue:")),
            ..DocFilter::default()
        })
        .unwrap()
        .pop()
        .expect("the re-issue is held under its own key")
        .key;
    assert!(common::status_of(&config).contains(&reissue_key));

    // A person books the difference by hand and dismisses the re-issue: it stays dismissed.
    let (code, out) = cli(
        &config,
        &["dismiss", &reissue_key, "--reason", "booked by hand"],
    );
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = cli(&config, &["settlement", "import", &reissued]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("dismissed"), "{out}");
    assert!(!common::status_of(&config).contains(&reissue_key));
    let rec = common::ledger(&config).get(&reissue_key).unwrap().unwrap();
    assert_eq!(rec.state, DocState::Dismissed);
    assert_eq!(rec.reason.as_deref(), Some("dismissed: booked by hand"));
    // A posted settlement cannot be dismissed.
    let posted_key = format!("amz:{seller}:settlement:{id}");
    let (code, out) = cli(&config, &["dismiss", &posted_key, "--reason", "x"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("cancelled in SAP"), "{out}");

    // The same rows under a new id: a copy, held naming the posted settlement.
    let new_id = "99000000001";
    let copy = write("copy.txt", &text.replace(&id, new_id));
    let (code, out) = cli(&config, &["settlement", "import", &copy]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!("same rows, total and period as settlement {id}")),
        "{out}"
    );
    assert_eq!(common::sap_documents(&sb), before, "nothing posted twice");
    let copy_key = format!("amz:{seller}:settlement:{new_id}");
    assert_eq!(
        common::ledger(&config)
            .get(&copy_key)
            .unwrap()
            .unwrap()
            .state,
        DocState::Held
    );
    // replay does not post it either.
    let (code, out) = cli(&config, &["replay", &copy_key]);
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(common::sap_documents(&sb), before);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlements_sync_reads_what_it_read_before_from_the_ledger() {
    let sb = start_sandbox_in(WorldKind::Eu, SEED, 60).await;
    let (_dir, config) = workspace(&sb);
    run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    let engine = engine_for(&config);
    let report = engine
        .sync_settlements(&SettlementOptions::default())
        .await
        .unwrap();
    assert!(report.reports_listed > 0);
    assert_eq!(report.reports_downloaded, 0, "{report:?}");
    assert_eq!(report.reports_from_ledger, report.reports_listed);
    assert_eq!(report.settlements_posted, 0);
    assert!(report.already_posted > 0);
    sb.shutdown().await;
}
