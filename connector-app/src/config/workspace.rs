//! `[workspace]`: where the ledger, the encryption key and the credential store live.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::resolve;

/// Files of the workspace (resolved to absolute paths).
#[derive(Debug, Clone)]
pub struct WorkspacePaths {
    /// SQLite ledger.
    pub ledger: PathBuf,
    /// Encrypted credential store.
    pub credentials: PathBuf,
    /// Key file.
    pub key_file: PathBuf,
}

/// `[workspace]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkspace {
    ledger: Option<PathBuf>,
    credentials: Option<PathBuf>,
    key_file: Option<PathBuf>,
}

impl RawWorkspace {
    /// The paths, defaulted and resolved against the config file's directory `dir`.
    pub(super) fn resolve(self, dir: &Path) -> WorkspacePaths {
        let path =
            |p: Option<PathBuf>, default: &str| resolve(dir, p.unwrap_or_else(|| default.into()));
        WorkspacePaths {
            ledger: path(self.ledger, "ml-connector.db"),
            credentials: path(self.credentials, "credentials.json"),
            key_file: path(self.key_file, "ml-connector.key"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{TEMPLATE, parse_at};

    #[test]
    fn relative_paths_resolve_against_the_config_file() {
        let c = parse_at(TEMPLATE).unwrap();
        assert_eq!(c.workspace.ledger, Path::new("/etc/mlc/ml-connector.db"));
        assert_eq!(c.workspace.key_file, Path::new("/etc/mlc/ml-connector.key"));
        let absolute = TEMPLATE.replace(
            "ledger = \"ml-connector.db\"",
            "ledger = \"/var/lib/mlc.db\"",
        );
        assert_eq!(
            parse_at(&absolute).unwrap().workspace.ledger,
            Path::new("/var/lib/mlc.db")
        );
    }
}
