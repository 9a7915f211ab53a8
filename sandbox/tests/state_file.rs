//! `SandboxConfig::state_file`: a restarted sandbox is the same fake SAP and fake Amazon (documents
//! and their numbering, listing changes, created reports, added orders); a file of another world
//! is refused with a clear error; without a state file nothing is kept.

mod common;

use std::path::PathBuf;

use common::*;
use reqwest::Client;
use sandbox::serve::{ServeArgs, serve_until};
use sandbox::world::WorldKind;
use sandbox::{Sandbox, SandboxConfig, SandboxError};
use serde_json::{Value, json};

const DE: &str = "A1PA6795UKMFR9";

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "sandbox-state-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("sandbox.json")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn persistent(seed: u64, file: PathBuf) -> SandboxConfig {
    SandboxConfig {
        seed,
        time_scale: 100_000.0,
        state_file: Some(file),
        ..config(100)
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The URL of a merchant-fulfilled listing on Amazon.de, and its SKU.
fn mfn_listing_url(sb: &Sandbox) -> (String, String) {
    let w = sb.world();
    let p = w
        .catalog
        .iter()
        .find(|p| p.channel == sandbox::world::Channel::Mfn)
        .unwrap();
    let url = format!(
        "{}/listings/2021-08-01/items/{}/{}?marketplaceIds={DE}",
        sb.sp_api_base_url(),
        sb.seller_id(),
        enc(&p.sku)
    );
    (url, p.sku.clone())
}

async fn listing_price(sb: &Sandbox, c: &Client, token: &str) -> String {
    let (url, _) = mfn_listing_url(sb);
    let r = c
        .get(format!("{url}&includedData=offers"))
        .header("x-amz-access-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["offers"][0]["price"]["amount"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_restarted_sandbox_keeps_documents_numbering_listings_and_reports() {
    let dir = TempDir::new("restart");
    let c = client();

    let sb = Sandbox::start(persistent(1, dir.file())).await.unwrap();
    assert!(!sb.restored());
    let cookie = login(&sb, &c, "v2").await;
    let (s, first) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "amz:S:order:1:invoice"),
    )
    .await;
    assert_eq!(s, 201, "{first}");
    let token = access_token(&sb, &c).await;
    let (url, _) = mfn_listing_url(&sb);
    let r = c
        .patch(&url)
        .header("x-amz-access-token", &token)
        .json(&json!({"productType": "PRODUCT", "patches": [{"op": "replace", "path": "/attributes/purchasable_offer", "value": [{"marketplace_id": DE, "currency": "EUR", "audience": "ALL", "our_price": [{"schedule": [{"value_with_tax": 12.34}]}]}]}]}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ACCEPTED", "{body}");
    let r = sp_post(
        &sb,
        &c,
        &token,
        "/reports/2021-06-30/reports",
        &json!({"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [DE]}),
    )
    .await;
    let report_id = r["reportId"].as_str().unwrap().to_string();
    let added = sb.add_orders(3);
    let stopped_at = sb.now();
    sb.close().await.unwrap();
    assert!(dir.file().exists());

    let sb = Sandbox::start(persistent(1, dir.file())).await.unwrap();
    assert!(sb.restored());
    assert!(sb.now() >= stopped_at, "the clock goes on where it stopped");
    let cookie = login(&sb, &c, "v2").await;
    let (s, kept) = sap_get(&sb, &c, &cookie, "v2", "Invoices(1)").await;
    assert_eq!(s, 200, "{kept}");
    assert_eq!(kept["DocNum"], first["DocNum"]);
    assert_eq!(kept["NumAtCard"], "amz:S:order:1:invoice");
    assert_eq!(kept["DocTotal"], first["DocTotal"]);
    let (s, next) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "amz:S:order:2:invoice"),
    )
    .await;
    assert_eq!(s, 201, "{next}");
    assert_eq!(next["DocEntry"], 2, "numbering continues");
    assert_eq!(next["DocNum"], 100_002);
    // The token issued before the restart is still good for its hour, as on Amazon.
    assert_eq!(listing_price(&sb, &c, &token).await, "12.34");
    let r = sp_get(
        &sb,
        &c,
        &token,
        &format!("/reports/2021-06-30/reports/{report_id}"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let again = sp_post(
        &sb,
        &c,
        &token,
        "/reports/2021-06-30/reports",
        &json!({"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [DE]}),
    )
    .await;
    assert_ne!(again["reportId"].as_str().unwrap(), report_id);
    let w = sb.world();
    assert!(added.iter().all(|id| w.orders.iter().any(|o| &o.id == id)));
    sb.close().await.unwrap();

    // A third start sees the second run's invoice too.
    let sb = Sandbox::start(persistent(1, dir.file())).await.unwrap();
    assert_eq!(sb.sap_count("Invoices"), 2);
    sb.shutdown().await;
}

async fn sp_post(sb: &Sandbox, c: &Client, token: &str, path: &str, body: &Value) -> Value {
    sp_post_status(sb, c, token, path, body, 202).await
}

#[tokio::test]
async fn a_state_file_of_another_world_is_refused() {
    let dir = TempDir::new("mismatch");
    Sandbox::start(persistent(1, dir.file()))
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    let saved = std::fs::read(dir.file()).unwrap();
    let err = Sandbox::start(persistent(2, dir.file())).await.unwrap_err();
    assert!(
        matches!(
            err,
            SandboxError::StateMismatch {
                file_seed: 1,
                file_orders: 100,
                seed: 2,
                orders: 100,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("holds a sandbox of seed 1 with 100 orders"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.file()).unwrap(), saved, "file untouched");

    // Same seed and size, the other seller.
    let na = SandboxConfig {
        world: WorldKind::Na,
        ..persistent(1, dir.file())
    };
    let err = Sandbox::start(na).await.unwrap_err();
    assert!(
        matches!(
            err,
            SandboxError::StateMismatch {
                file_world: WorldKind::Eu,
                world: WorldKind::Na,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("start it with --world eu"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.file()).unwrap(), saved, "file untouched");

    std::fs::write(dir.file(), b"{\"format\": 1, \"seed\": 1}").unwrap();
    let err = Sandbox::start(persistent(1, dir.file())).await.unwrap_err();
    assert!(matches!(err, SandboxError::StateCorrupt { .. }), "{err}");
}

#[tokio::test]
async fn without_a_state_file_nothing_is_kept() {
    let c = client();
    let sb = start(100).await;
    let cookie = login(&sb, &c, "v2").await;
    let (s, _) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "amz:S:order:1:invoice"),
    )
    .await;
    assert_eq!(s, 201);
    sb.save().unwrap();
    assert!(!sb.restored());
    sb.close().await.unwrap();
    let sb = start(100).await;
    assert_eq!(sb.sap_count("Invoices"), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn serve_saves_the_state_file_when_stopped() {
    let dir = TempDir::new("serve");
    let file = dir.file();
    let args = ServeArgs {
        orders: 100,
        state_file: Some(file.clone()),
        ..ServeArgs::default()
    };
    let mut lines = Vec::new();
    serve_until(args.clone(), async {}, |l| lines.push(l.to_string()))
        .await
        .unwrap();
    assert!(file.exists());
    assert!(lines.iter().any(|l| l.contains("new world")), "{lines:?}");
    lines.clear();
    serve_until(args, async {}, |l| lines.push(l.to_string()))
        .await
        .unwrap();
    assert!(lines.iter().any(|l| l.contains("(restored)")), "{lines:?}");
}

#[tokio::test]
async fn a_feed_in_progress_finishes_after_a_restart() {
    let dir = TempDir::new("feed");
    let c = client();
    let sb = Sandbox::start(persistent(1, dir.file())).await.unwrap();
    let token = access_token(&sb, &c).await;
    let (_, sku) = mfn_listing_url(&sb);
    let ct = "application/json; charset=UTF-8";
    let doc = sp_post_status(
        &sb,
        &c,
        &token,
        "/feeds/2021-06-30/documents",
        &json!({"contentType": ct}),
        201,
    )
    .await;
    let feed = json!({"header": {"sellerId": sb.seller_id(), "version": "2.0", "issueLocale": "en_US"}, "messages": [
        {"messageId": 1, "sku": sku, "operationType": "PATCH", "productType": "PRODUCT", "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability", "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}]}]},
    ]});
    let r = c
        .put(doc["url"].as_str().unwrap())
        .header("Content-Type", ct)
        .body(feed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let created = sp_post(
        &sb,
        &c,
        &token,
        "/feeds/2021-06-30/feeds",
        &json!({"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [DE], "inputFeedDocumentId": doc["feedDocumentId"]}),
    )
    .await;
    let feed_id = created["feedId"].as_str().unwrap().to_string();
    sb.close().await.unwrap();

    let sb = Sandbox::start(persistent(1, dir.file())).await.unwrap();
    assert_ne!(sb.listing(&sku, DE).unwrap().quantity, 3, "not applied yet");
    sb.advance_clock(chrono::Duration::seconds(10));
    let f: Value = sp_get(
        &sb,
        &c,
        &token,
        &format!("/feeds/2021-06-30/feeds/{feed_id}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(f["processingStatus"], "DONE", "{f}");
    let result: Value = sp_get(
        &sb,
        &c,
        &token,
        &format!(
            "/feeds/2021-06-30/documents/{}",
            f["resultFeedDocumentId"].as_str().unwrap()
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    let gz = c
        .get(result["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["summary"]["messagesAccepted"], 1);
    assert_eq!(sb.listing(&sku, DE).unwrap().quantity, 3);
    sb.shutdown().await;
}

async fn sp_post_status(
    sb: &Sandbox,
    c: &Client,
    token: &str,
    path: &str,
    body: &Value,
    status: u16,
) -> Value {
    let r = c
        .post(format!("{}{path}", sb.sp_api_base_url()))
        .header("x-amz-access-token", token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), status);
    r.json().await.unwrap()
}

/// The NA world restores from its file like the EU one: same orders, same settlements, the same
/// company with its `$` currency and daily rates.
#[tokio::test]
async fn an_na_world_restores_from_its_state_file() {
    let dir = TempDir::new("na");
    let na = || SandboxConfig {
        world: WorldKind::Na,
        ..persistent(3, dir.file())
    };
    let sb = Sandbox::start(na()).await.unwrap();
    assert!(!sb.restored());
    let (orders, settlements) = {
        let w = sb.world();
        (
            w.orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
            w.settlements
                .iter()
                .map(|s| s.id.clone())
                .collect::<Vec<_>>(),
        )
    };
    sb.close().await.unwrap();
    let sb = Sandbox::start(na()).await.unwrap();
    assert!(sb.restored());
    let w = sb.world();
    assert_eq!(w.kind, WorldKind::Na);
    assert_eq!(
        w.orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
        orders
    );
    assert_eq!(
        w.settlements
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>(),
        settlements
    );
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let (status, usd) = sap_get(&sb, &c, &cookie, "v2", "Currencies('%24')").await;
    assert_eq!(
        (status, usd["InternationalDescription"].as_str()),
        (200, Some("USD"))
    );
    sb.shutdown().await;
}
