//! One writer per workspace: an exclusive OS lock on a file beside the ledger, held while a command
//! may post. The OS releases it when the process ends, even on a crash, so there is no stale lease.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Held while this process may write to SAP and Amazon for the workspace.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
    path: PathBuf,
}

/// Another process holds the workspace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Someone else is writing.
    #[error(
        "another ml-connector is writing to this workspace ({holder}); wait for it to finish or stop it (lock file {path})"
    )]
    Busy {
        /// Who holds it, as it wrote itself into the lock file.
        holder: String,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be opened.
    #[error("lock file {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

impl WriterLock {
    /// Takes the workspace's writer lock (`<ledger>.lock`) without waiting.
    pub fn acquire(ledger: &Path, command: &str) -> Result<Self, LockError> {
        let path = ledger.with_extension("lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Busy {
                    holder: if holder.is_empty() {
                        "unknown process".to_owned()
                    } else {
                        holder.to_owned()
                    },
                    path,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        write!(
            file,
            "pid {} running `{command}` since {}",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        )
        .map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ml-connector.db");
        let first = WriterLock::acquire(&ledger, "run").unwrap();
        let err = WriterLock::acquire(&ledger, "sync orders")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("pid {} running `run`", std::process::id())),
            "{err}"
        );
        drop(first);
        assert!(
            WriterLock::acquire(&ledger, "sync orders").is_ok(),
            "released with its holder"
        );
    }
}
