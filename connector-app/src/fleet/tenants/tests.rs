//! A tenant travels whole in the database: its files, and credentials that open only as itself.

use std::collections::BTreeMap;

use secrecy::SecretString;

use super::*;
use crate::ledger::suite::Pg;

const FLEET_KEY: &str = "4242424242424242424242424242424242424242424242424242424242424242";

fn fleet_key() -> CredentialKey {
    CredentialKey::load(Path::new("/nonexistent"), Some(FLEET_KEY.into())).unwrap()
}

/// A seller's workspace with a settlement mapping and a SAP CA file beside its configuration.
fn workspace(dir: &Path) -> PathBuf {
    let text = crate::config::TEMPLATE
        .replace(
            "# mapping = \"mapping.toml\"",
            "mapping = \"my-mapping.toml\"",
        )
        .replace(
            "# ca_file = \"sap-ca.pem\"",
            "ca_file = \"certs/my-ca.pem\"",
        );
    let config = dir.join("ml-connector.toml");
    std::fs::write(&config, text).unwrap();
    std::fs::write(dir.join("my-mapping.toml"), "# the seller's mapping\n").unwrap();
    std::fs::create_dir(dir.join("certs")).unwrap();
    std::fs::write(dir.join("certs/my-ca.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
    let key = CredentialKey::create_file(&dir.join("ml-connector.key")).unwrap();
    let mut store = CredentialStore::open(&dir.join("credentials.json"), key).unwrap();
    let fields = |pairs: &[(&str, &str)]| -> BTreeMap<String, SecretString> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v)))
            .collect()
    };
    let now = chrono::Utc::now();
    store
        .set("sap", fields(&[("password", "sap-pw")]), now)
        .unwrap();
    store
        .set(
            "amazon",
            fields(&[
                ("client_id", "id"),
                ("client_secret", "cs"),
                ("refresh_token", "rt"),
            ]),
            now,
        )
        .unwrap();
    config
}

#[test]
fn a_tenants_files_and_credentials_live_in_the_database_bound_to_it() {
    let Some(pg) = Pg::from_env("tenant_files") else {
        return;
    };
    let (a, b) = (format!("{}-a", pg.tenant), format!("{}-b", pg.tenant));
    let seller = tempfile::tempdir().unwrap();
    let config = workspace(seller.path());
    let mut admin = pg.admin();
    add(
        &mut admin,
        &a,
        &from_workspace(&config, fleet_key(), &a).unwrap(),
        false,
    )
    .unwrap();
    add(
        &mut admin,
        &b,
        &from_workspace(&config, fleet_key(), &b).unwrap(),
        false,
    )
    .unwrap();
    // The seller's workspace is gone: a worker on another machine has only the database.
    drop(seller);
    let loaded = load(&mut admin, &a, fleet_key()).unwrap();
    let mapping = loaded.config.settlements.mapping.clone().unwrap();
    let ca = loaded.config.sap.ca_file.clone().unwrap();
    assert_eq!(
        std::fs::read_to_string(&mapping).unwrap(),
        "# the seller's mapping\n"
    );
    assert_eq!(
        std::fs::read_to_string(&ca).unwrap(),
        "-----BEGIN CERTIFICATE-----\n"
    );
    drop(loaded.files);
    assert!(
        !mapping.exists(),
        "the files are removed with the tenant's work"
    );
    let stored: String = admin
        .query_one("SELECT config FROM tenants WHERE id = $1", &[&a])
        .unwrap()
        .get(0);
    assert!(
        stored.contains("mapping = \"settlement-mapping.toml\"") && !stored.contains("my-mapping")
    );
    assert_eq!(
        stored_files(&mut admin, &a).unwrap(),
        vec![(MAPPING_FILE, 23), (CA_FILE, 28)]
    );

    // a's credentials copied into b's row do not open as b.
    admin
        .execute(
            "UPDATE tenants SET credentials = (SELECT credentials FROM tenants WHERE id = $1) WHERE id = $2",
            &[&a, &b],
        )
        .unwrap();
    let err = load(&mut admin, &b, fleet_key()).err().unwrap().to_string();
    assert!(
        err.contains(&format!("tenant `{b}`: its credentials do not open")),
        "{err}"
    );

    // A tenant sealed before the binding (the bare store) still opens, and is bound at its load.
    let bare = with_store_file(None, fleet_key(), |s| {
        let f = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), SecretString::from(v))]);
        s.set("sap", f("password", "old-pw"), chrono::Utc::now())?;
        let amazon = [
            ("client_id", "i"),
            ("client_secret", "s"),
            ("refresh_token", "r"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v)))
        .collect();
        s.set("amazon", amazon, chrono::Utc::now())?;
        Ok(())
    })
    .unwrap()
    .1;
    admin
        .execute(
            "UPDATE tenants SET credentials = $2 WHERE id = $1",
            &[&b.as_str(), &bare.as_slice()],
        )
        .unwrap();
    let loaded = load(&mut admin, &b, fleet_key()).unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(loaded.secrets.sap_password.expose_secret(), "old-pw");
    let now_bound: Vec<u8> = admin
        .query_one("SELECT credentials FROM tenants WHERE id = $1", &[&b])
        .unwrap()
        .get(0);
    assert!(now_bound != bare && now_bound.starts_with(b"mlc-tenant-credentials-v2\n"));
    load(&mut admin, &b, fleet_key()).unwrap();
}
