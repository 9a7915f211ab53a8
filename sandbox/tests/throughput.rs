//! Posting throughput with per-session serialisation and latency (measurements, not assertions;
//! run with `cargo test -p sandbox --test throughput -- --ignored --nocapture`).

mod common;

use std::time::{Duration, Instant};

use common::*;
use sandbox::{Sandbox, SandboxConfig};

async fn post_many(sessions: usize, per_session: usize, latency: Duration) -> Duration {
    let sb = Sandbox::start(SandboxConfig {
        sap_latency: latency,
        ..config(20)
    })
    .await
    .unwrap();
    let c = client();
    let mut cookies = Vec::new();
    for _ in 0..sessions {
        cookies.push(login(&sb, &c, "v2").await);
    }
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (i, cookie) in cookies.into_iter().enumerate() {
        let (c, url) = (c.clone(), format!("{}/Invoices", sb.sap_base_url()));
        tasks.push(tokio::spawn(async move {
            for j in 0..per_session {
                let r = c
                    .post(&url)
                    .header("Cookie", &cookie)
                    .header("Prefer", "return-no-content")
                    .json(&invoice("TM-MUG-0000", &format!("{i}-{j}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 204);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = t.elapsed();
    assert_eq!(sb.sap_count("Invoices"), sessions * per_session);
    assert!(sb.sap_duplicates("Invoices", "NumAtCard").is_empty());
    sb.shutdown().await;
    elapsed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn posting_throughput() {
    for (sessions, latency) in [(1, 0), (4, 0), (1, 20), (4, 20)] {
        let n = 200 / sessions;
        let e = post_many(sessions, n, Duration::from_millis(latency)).await;
        println!(
            "{sessions} session(s), {latency} ms latency: {} invoices in {e:?} = {:.0}/s",
            sessions * n,
            (sessions * n) as f64 / e.as_secs_f64()
        );
    }
}
