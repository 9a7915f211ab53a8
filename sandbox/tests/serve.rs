//! `sandbox serve`: the JSON line with every key, `--port`, the human output (the CLI's parsing of
//! the arguments is tested in `connector-app`).

mod common;

use std::sync::{Arc, Mutex};

use common::client;
use sandbox::serve::{ServeArgs, serve_until};
use serde_json::Value;

#[tokio::test]
async fn json_line_lists_urls_and_credentials_and_port_fixes_the_first_port() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        drop(l);
        // the next port must be free too; pick again if not
        if std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            p
        } else {
            0
        }
    };
    let args = ServeArgs {
        seed: 1,
        orders: 500,
        json: true,
        port,
        time_scale: 60.0,
        ..ServeArgs::default()
    };
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sink = lines.clone();
    let task = tokio::spawn(serve_until(
        args,
        async move {
            let _ = stop_rx.await;
        },
        move |l| sink.lock().unwrap().push(l.to_string()),
    ));
    let info: Value = loop {
        if let Some(l) = lines.lock().unwrap().first() {
            break serde_json::from_str(l).unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(lines.lock().unwrap().len(), 1, "exactly one JSON line");
    for k in [
        "sap_base_url",
        "sp_api_base_url",
        "lwa_token_url",
        "sap_company_db",
        "sap_user",
        "sap_password",
        "lwa_client_id",
        "lwa_client_secret",
        "lwa_refresh_token",
        "seller_id",
        "marketplace_ids",
    ] {
        assert!(!info[k].is_null(), "missing {k}");
    }
    assert_eq!(info["world"], "na", "the US seller by default");
    assert_eq!(
        info["marketplace_ids"],
        serde_json::json!(["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"])
    );
    let sap = info["sap_base_url"].as_str().unwrap();
    if port != 0 {
        assert_eq!(sap, format!("http://127.0.0.1:{port}/b1s/v2"));
        assert_eq!(
            info["sp_api_base_url"],
            format!("http://127.0.0.1:{}", port + 1)
        );
    }
    let c = client();
    let login = c
        .post(format!("{sap}/Login"))
        .json(&serde_json::json!({"CompanyDB": info["sap_company_db"], "UserName": info["sap_user"], "Password": info["sap_password"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = c
        .post(info["lwa_token_url"].as_str().unwrap())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", info["lwa_refresh_token"].as_str().unwrap()),
            ("client_id", info["lwa_client_id"].as_str().unwrap()),
            ("client_secret", info["lwa_client_secret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    stop_tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn human_output_names_urls_and_credentials() {
    let args = ServeArgs {
        orders: 20,
        world: sandbox::world::WorldKind::Eu,
        ..ServeArgs::default()
    };
    assert_eq!(args.time_scale, 1.0, "default: Amazon's real numbers");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    serve_until(args, async {}, move |l| {
        sink.lock().unwrap().push(l.to_string())
    })
    .await
    .unwrap();
    let text = lines.lock().unwrap().join("\n");
    assert!(
        text.contains("/b1s/v2")
            && text.contains("/auth/o2/token")
            && text.contains("manager")
            && text.contains("refresh_token")
            && text.contains("eu world")
            && text.contains("A1F83G8C2ARO7P,A1PA6795UKMFR9,A13V1IB3VIYZZH"),
        "{text}"
    );
}
