//! Which file the ledger opened (device and inode), so that a write after the file was deleted or
//! replaced under the running process stops the run instead of going to an unlinked file.

use std::path::{Path, PathBuf};

use super::LedgerError;

/// The identity of an opened ledger file.
#[derive(Debug, Clone)]
pub(super) struct FileIdentity {
    path: PathBuf,
    #[cfg(unix)]
    id: (u64, u64),
}

impl FileIdentity {
    /// The identity of `path` now.
    pub(super) fn of(path: &Path) -> Result<Self, LedgerError> {
        let meta = std::fs::metadata(path).map_err(|e| {
            LedgerError::Gone(format!("the ledger {} cannot be read: {e}", path.display()))
        })?;
        #[cfg(not(unix))]
        let _ = meta;
        Ok(Self {
            path: path.to_owned(),
            #[cfg(unix)]
            id: unix_id(&meta),
        })
    }

    /// Ok while the path still names the file that was opened.
    pub(super) fn check(&self) -> Result<(), LedgerError> {
        let gone = |what: &str| {
            LedgerError::Gone(format!(
                "the ledger {} was {what} while this run was writing to it; stopped so that nothing \
                 is recorded where nobody will read it. Restore the ledger from a backup (or move \
                 the new file away) and run again: documents posted meanwhile are found in SAP by \
                 their keys",
                self.path.display()
            ))
        };
        match std::fs::metadata(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(gone("deleted")),
            Err(e) => Err(LedgerError::Gone(format!(
                "the ledger {} cannot be read: {e}",
                self.path.display()
            ))),
            #[cfg(unix)]
            Ok(meta) if unix_id(&meta) != self.id => Err(gone("replaced by another file")),
            Ok(_) => Ok(()),
        }
    }
}

#[cfg(unix)]
fn unix_id(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(test)]
mod tests {
    use crate::ledger::{Ledger, LedgerError, SqliteLedger};

    #[test]
    fn a_deleted_or_replaced_ledger_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let mut l = SqliteLedger::open(&path).unwrap();
        l.set_cursor("orders", "a").unwrap();
        std::fs::remove_file(&path).unwrap();
        let e = l.set_cursor("orders", "b").unwrap_err();
        assert!(matches!(e, LedgerError::Gone(_)), "{e}");
        assert!(e.to_string().contains("was deleted"), "{e}");
        // Another file in its place is not the ledger this run opened.
        std::fs::write(&path, b"").unwrap();
        let e = l.audit("k", "note", "x").unwrap_err();
        assert!(e.to_string().contains("replaced"), "{e}");
    }
}
