//! Credentials encrypted at rest with XChaCha20-Poly1305.
//!
//! The store is one JSON file; each credential set (e.g. `sap`, `amazon`) is a map of fields encrypted
//! as a whole with a fresh random nonce and its name as associated data, so entries cannot be swapped.
//! A key check entry lets a wrong key be refused before anything is read or written. The key comes from
//! a key file (32 random bytes, hex, created 0600 by `init`) or from the `ML_CONNECTOR_KEY` variable.
//! Values are `SecretString`s: they never reach `Debug`, logs or errors.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::{Deserialize, Serialize};

/// Environment variable that can carry the key (64 hex characters) instead of a key file.
pub const KEY_ENV: &str = "ML_CONNECTOR_KEY";

const KEY_CHECK_AAD: &[u8] = b"ml-connector key check v1";
const KEY_CHECK_TEXT: &[u8] = b"ml-connector";

/// Credential store errors; none of them carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The key file or store could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The key is not 32 bytes of hex.
    #[error("{origin}: the key must be 64 hexadecimal characters (32 bytes)")]
    BadKey {
        /// Where the key came from.
        origin: String,
    },
    /// A key file exists already; `init` never overwrites one.
    #[error(
        "{0}: a key file exists already; it is not overwritten (credentials stored with it would become unreadable)"
    )]
    KeyExists(PathBuf),
    /// The store was written with another key.
    #[error(
        "{path}: these credentials were stored with a different key; check the key file or {KEY_ENV} (nothing was changed)"
    )]
    WrongKey {
        /// The store file.
        path: PathBuf,
    },
    /// The key or credentials file can be read by other users of the machine.
    #[error(
        "{path}: readable by other users (mode {mode:03o}); it must be private to its owner: run `chmod 600 {path}`"
    )]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The store file is not a credentials store, or it was altered or damaged.
    #[error(
        "{path}: not a readable credentials file ({reason}); move it aside and store the credentials again with `ml-connector credentials set sap` and `ml-connector credentials set amazon`"
    )]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What is wrong (never a secret).
        reason: String,
    },
}

/// Refuses a key or credentials file that group or others may read or write (as `ssh` refuses
/// a private key with open permissions): the key decrypts every stored secret.
fn refuse_exposed(path: &Path) -> Result<(), CredentialError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).map_err(|source| CredentialError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(CredentialError::Exposed {
                path: path.to_owned(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The 32-byte encryption key.
pub struct CredentialKey {
    bytes: SecretBox<[u8; 32]>,
    origin: String,
}

impl std::fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CredentialKey({}, [redacted])", self.origin)
    }
}

impl CredentialKey {
    /// Creates a new random key file readable by its owner only. Never overwrites.
    pub fn create_file(path: &Path) -> Result<Self, CredentialError> {
        let io = |source| CredentialError::Io {
            path: path.to_owned(),
            source,
        };
        let key = chacha20poly1305::Key::generate();
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(key.as_slice());
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                CredentialError::KeyExists(path.to_owned())
            } else {
                io(e)
            }
        })?;
        file.write_all(format!("{}\n", hex::encode(bytes)).as_bytes())
            .map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self {
            bytes: SecretBox::new(Box::new(bytes)),
            origin: path.display().to_string(),
        })
    }

    /// Loads the key from `ML_CONNECTOR_KEY` when `env_value` is given, else from the key file.
    pub fn load(key_file: &Path, env_value: Option<SecretString>) -> Result<Self, CredentialError> {
        if let Some(value) = env_value {
            return Self::parse(value.expose_secret(), KEY_ENV);
        }
        let text = fs::read_to_string(key_file).map_err(|source| CredentialError::Io {
            path: key_file.to_owned(),
            source,
        })?;
        refuse_exposed(key_file)?;
        Self::parse(&text, &key_file.display().to_string())
    }

    fn parse(text: &str, origin: &str) -> Result<Self, CredentialError> {
        let bad = || CredentialError::BadKey {
            origin: origin.to_owned(),
        };
        let text = text.trim();
        if text.len() != 64 {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| bad())?;
        Ok(Self {
            bytes: SecretBox::new(Box::new(bytes)),
            origin: origin.to_owned(),
        })
    }

    /// The AEAD of this key (the fleet seals tenant credentials with it, bound to the tenant).
    pub(crate) fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.bytes.expose_secret().into())
    }
}

/// One encrypted credential set as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sealed {
    nonce: String,
    ciphertext: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fields: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoreFile {
    version: u32,
    key_check: Sealed,
    entries: BTreeMap<String, Sealed>,
}

/// What `list` shows: names, field names and dates, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialInfo {
    /// Credential set name (`sap`, `amazon`).
    pub name: String,
    /// Field names in the set.
    pub fields: Vec<String>,
    /// First stored.
    pub created_at: String,
    /// Last replaced.
    pub updated_at: String,
}

/// A decrypted credential set.
pub struct Credential {
    fields: BTreeMap<String, SecretString>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Credential {
    /// A field's value.
    pub fn field(&self, name: &str) -> Option<&SecretString> {
        self.fields.get(name)
    }
}

/// The encrypted credential store.
pub struct CredentialStore {
    path: PathBuf,
    key: CredentialKey,
    file: StoreFile,
}

impl CredentialStore {
    /// Opens (or starts) the store at `path` with `key`; refuses a key that does not match.
    pub fn open(path: &Path, key: CredentialKey) -> Result<Self, CredentialError> {
        let file = match fs::read(path) {
            Ok(bytes) => {
                refuse_exposed(path)?;
                let file: StoreFile =
                    serde_json::from_slice(&bytes).map_err(|e| CredentialError::Corrupt {
                        path: path.to_owned(),
                        reason: e.to_string(),
                    })?;
                let corrupt = |reason: String| CredentialError::Corrupt {
                    path: path.to_owned(),
                    reason,
                };
                match open_sealed(&key, &file.key_check, KEY_CHECK_AAD) {
                    Ok(check) if check == KEY_CHECK_TEXT => {}
                    Ok(_) => return Err(corrupt("its key check is not the connector's".into())),
                    Err(Unsealed::Malformed) => {
                        return Err(corrupt("its key check is not hexadecimal".into()));
                    }
                    // Another key, or a damaged key check: an entry the key opens tells them
                    // apart (the key is right, the file was altered).
                    Err(Unsealed::Refused) => {
                        let opens = |(name, sealed): (&String, &Sealed)| {
                            open_sealed(&key, sealed, name.as_bytes()).is_ok()
                        };
                        if file.entries.iter().any(opens) {
                            return Err(corrupt(
                                "its key check was altered although the key opens its entries"
                                    .into(),
                            ));
                        }
                        return Err(CredentialError::WrongKey {
                            path: path.to_owned(),
                        });
                    }
                }
                file
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StoreFile {
                version: 1,
                key_check: seal(&key, KEY_CHECK_TEXT, KEY_CHECK_AAD),
                entries: BTreeMap::new(),
            },
            Err(source) => {
                return Err(CredentialError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Ok(Self {
            path: path.to_owned(),
            key,
            file,
        })
    }

    /// Stores (or replaces) a credential set and writes the file atomically.
    pub fn set(
        &mut self,
        name: &str,
        fields: BTreeMap<String, SecretString>,
        now: DateTime<Utc>,
    ) -> Result<(), CredentialError> {
        let plain: BTreeMap<&str, &str> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        let json = secrecy::SecretString::from(serde_json::to_string(&plain).unwrap_or_default());
        let mut sealed = seal(&self.key, json.expose_secret().as_bytes(), name.as_bytes());
        let stamp = now.to_rfc3339_opts(SecondsFormat::Secs, true);
        sealed.created_at = Some(
            self.file
                .entries
                .get(name)
                .and_then(|e| e.created_at.clone())
                .unwrap_or_else(|| stamp.clone()),
        );
        sealed.updated_at = Some(stamp);
        sealed.fields = fields.keys().cloned().collect();
        let mut next = self.file.clone();
        next.entries.insert(name.to_owned(), sealed);
        self.write(&next)?;
        self.file = next;
        Ok(())
    }

    /// Decrypts a credential set.
    pub fn get(&self, name: &str) -> Result<Option<Credential>, CredentialError> {
        let Some(sealed) = self.file.entries.get(name) else {
            return Ok(None);
        };
        // The key passed the store's key check when it was opened: an entry it cannot open was
        // altered or damaged, not written with another key.
        let plain = open_sealed(&self.key, sealed, name.as_bytes()).map_err(|e| {
            CredentialError::Corrupt {
                path: self.path.clone(),
                reason: match e {
                    Unsealed::Malformed => format!("entry `{name}` is not hexadecimal"),
                    Unsealed::Refused => format!(
                        "entry `{name}` was altered or damaged: the right key does not open it"
                    ),
                },
            }
        })?;
        let map: BTreeMap<String, String> =
            serde_json::from_slice(&plain).map_err(|_| CredentialError::Corrupt {
                path: self.path.clone(),
                reason: format!("entry `{name}` is not readable"),
            })?;
        Ok(Some(Credential {
            fields: map
                .into_iter()
                .map(|(k, v)| (k, SecretString::from(v)))
                .collect(),
        }))
    }

    /// Removes a credential set; returns whether it existed.
    pub fn delete(&mut self, name: &str) -> Result<bool, CredentialError> {
        let mut next = self.file.clone();
        if next.entries.remove(name).is_none() {
            return Ok(false);
        }
        self.write(&next)?;
        self.file = next;
        Ok(true)
    }

    /// Names, fields and dates of the stored sets.
    pub fn list(&self) -> Vec<CredentialInfo> {
        self.file
            .entries
            .iter()
            .map(|(name, s)| CredentialInfo {
                name: name.clone(),
                fields: s.fields.clone(),
                created_at: s.created_at.clone().unwrap_or_default(),
                updated_at: s.updated_at.clone().unwrap_or_default(),
            })
            .collect()
    }

    fn write(&self, file: &StoreFile) -> Result<(), CredentialError> {
        let io = |source| CredentialError::Io {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.with_extension("tmp");
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut out = options.open(&tmp).map_err(io)?;
        let text = serde_json::to_vec_pretty(file).unwrap_or_default();
        out.write_all(&text).map_err(io)?;
        out.sync_all().map_err(io)?;
        fs::rename(&tmp, &self.path).map_err(io)
    }
}

fn seal(key: &CredentialKey, plain: &[u8], aad: &[u8]) -> Sealed {
    let nonce = XNonce::generate();
    let ciphertext = key
        .cipher()
        .encrypt(&nonce, Payload { msg: plain, aad })
        .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
    Sealed {
        nonce: hex::encode(nonce.as_slice()),
        ciphertext: hex::encode(&ciphertext),
        created_at: None,
        updated_at: None,
        fields: Vec::new(),
    }
}

/// Why a sealed value did not open.
enum Unsealed {
    /// Its nonce or ciphertext is not the hex of the right length: the file was damaged.
    Malformed,
    /// The cipher refused it: another key, or altered bytes.
    Refused,
}

fn open_sealed(key: &CredentialKey, sealed: &Sealed, aad: &[u8]) -> Result<Vec<u8>, Unsealed> {
    let nonce_bytes = hex::decode(&sealed.nonce).map_err(|_| Unsealed::Malformed)?;
    let nonce = XNonce::try_from(nonce_bytes.as_slice()).map_err(|_| Unsealed::Malformed)?;
    let ciphertext = hex::decode(&sealed.ciphertext).map_err(|_| Unsealed::Malformed)?;
    key.cipher()
        .decrypt(
            &nonce,
            Payload {
                msg: &ciphertext,
                aad,
            },
        )
        .map_err(|_| Unsealed::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, SecretString> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v)))
            .collect()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[cfg(unix)]
    #[test]
    fn key_and_store_readable_by_others_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("key");
        let store_path = dir.path().join("credentials.json");
        let key = CredentialKey::create_file(&key_path).unwrap();
        let mut store = CredentialStore::open(&store_path, key).unwrap();
        store
            .set("sap", fields(&[("password", "x")]), now())
            .unwrap();
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = CredentialKey::load(&key_path, None).unwrap_err();
        assert!(
            err.to_string()
                .contains("readable by other users (mode 644)")
                && err.to_string().contains("chmod 600"),
            "{err}"
        );
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(&store_path, fs::Permissions::from_mode(0o640)).unwrap();
        let key = CredentialKey::load(&key_path, None).unwrap();
        let err = CredentialStore::open(&store_path, key).err().unwrap();
        assert!(
            matches!(err, CredentialError::Exposed { mode: 0o640, .. }),
            "{err}"
        );
    }

    #[test]
    fn round_trip_and_nothing_readable_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("key");
        let store_path = dir.path().join("credentials.json");
        let key = CredentialKey::create_file(&key_path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let mut store = CredentialStore::open(&store_path, key).unwrap();
        store
            .set("sap", fields(&[("password", "hunter2-very-secret")]), now())
            .unwrap();
        let on_disk = fs::read_to_string(&store_path).unwrap();
        assert!(!on_disk.contains("hunter2"));

        let key = CredentialKey::load(&key_path, None).unwrap();
        let store = CredentialStore::open(&store_path, key).unwrap();
        let sap = store.get("sap").unwrap().unwrap();
        assert_eq!(
            sap.field("password").unwrap().expose_secret(),
            "hunter2-very-secret"
        );
        assert!(!format!("{sap:?}").contains("hunter2"));
        assert_eq!(store.list()[0].fields, vec!["password".to_owned()]);
    }

    /// A store and key file in the on-disk format of the first release, sealed independently of
    /// this code (XChaCha20-Poly1305 built from HChaCha20 + the IETF AEAD): they must keep opening.
    #[test]
    fn reads_a_store_written_in_the_v1_format() {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("key");
        let store_path = dir.path().join("credentials.json");
        fs::write(
            &key_path,
            include_str!("../tests/resources/credentials_v1.key"),
        )
        .unwrap();
        fs::write(
            &store_path,
            include_str!("../tests/resources/credentials_v1.json"),
        )
        .unwrap();
        #[cfg(unix)]
        for path in [&key_path, &store_path] {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let key = CredentialKey::load(&key_path, None).unwrap();
        let store = CredentialStore::open(&store_path, key).unwrap();
        let sap = store.get("sap").unwrap().unwrap();
        assert_eq!(sap.field("user").unwrap().expose_secret(), "manager");
        assert_eq!(sap.field("password").unwrap().expose_secret(), "s3cret");
        assert_eq!(store.list()[0].created_at, "2026-11-27T10:00:00Z");
    }

    #[test]
    fn wrong_key_is_refused_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store_path = dir.path().join("credentials.json");
        let right = CredentialKey::create_file(&dir.path().join("right")).unwrap();
        let mut store = CredentialStore::open(&store_path, right).unwrap();
        store
            .set("sap", fields(&[("password", "p")]), now())
            .unwrap();
        let before = fs::read(&store_path).unwrap();

        let wrong = CredentialKey::create_file(&dir.path().join("wrong")).unwrap();
        let err = CredentialStore::open(&store_path, wrong).err().unwrap();
        assert!(matches!(err, CredentialError::WrongKey { .. }), "{err}");
        assert!(err.to_string().contains("nothing was changed"));
        assert_eq!(fs::read(&store_path).unwrap(), before);
    }

    #[test]
    fn key_from_env_and_bad_keys() {
        let k = CredentialKey::load(
            Path::new("/nonexistent"),
            Some(SecretString::from("ab".repeat(32))),
        );
        assert!(k.is_ok());
        let err = CredentialKey::load(Path::new("/nonexistent"), Some(SecretString::from("xyz")))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ML_CONNECTOR_KEY: the key must be 64 hexadecimal characters (32 bytes)"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        CredentialKey::create_file(&path).unwrap();
        assert!(matches!(
            CredentialKey::create_file(&path),
            Err(CredentialError::KeyExists(_))
        ));
    }

    #[test]
    fn entries_cannot_be_swapped() {
        let dir = tempfile::tempdir().unwrap();
        let store_path = dir.path().join("credentials.json");
        let key = CredentialKey::create_file(&dir.path().join("key")).unwrap();
        let mut store = CredentialStore::open(&store_path, key).unwrap();
        store
            .set("sap", fields(&[("password", "a")]), now())
            .unwrap();
        store
            .set("amazon", fields(&[("refresh_token", "b")]), now())
            .unwrap();
        // Move the sap ciphertext under the amazon name: authentication must fail.
        let mut file: serde_json::Value =
            serde_json::from_slice(&fs::read(&store_path).unwrap()).unwrap();
        let sap = file["entries"]["sap"].clone();
        file["entries"]["amazon"] = sap;
        fs::write(&store_path, serde_json::to_vec(&file).unwrap()).unwrap();
        let key = CredentialKey::load(&dir.path().join("key"), None).unwrap();
        let store = CredentialStore::open(&store_path, key).unwrap();
        assert!(store.get("amazon").is_err());
        assert!(store.get("sap").unwrap().is_some());
    }
}
