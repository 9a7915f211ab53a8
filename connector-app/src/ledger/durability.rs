//! Group commit for the SQLite ledger: a transaction committed without waiting for the disk, made
//! durable by one `fdatasync` of the write-ahead log that may cover several transactions (several
//! requests, several sessions), taken outside the ledger's lock.
//!
//! Why this is as durable as `synchronous = FULL` where it is waited for: in WAL mode a transaction
//! is durable once its frames, commit frame included, are on stable storage; with `FULL` SQLite
//! syncs the WAL file after writing them, with `NORMAL` it writes them and syncs only at
//! checkpoints ("WAL mode … synchronous=NORMAL … the WAL file is synchronized before each
//! checkpoint … but no sync operations occur during most transactions",
//! <https://www.sqlite.org/pragma.html#pragma_synchronous>). [`WalSync::sync`] syncs that same
//! file after the commit returned, so a waited-for [`Durability`] is on disk exactly as a `FULL`
//! commit would be. And because the WAL is replayed as a prefix on recovery (each frame's checksum
//! covers the frames before it, <https://www.sqlite.org/fileformat2.html#walformat>), one sync makes
//! durable every transaction committed before it: a power loss can only lose the newest
//! transactions not yet synced, never an older one while keeping a newer one.
//!
//! A process crash loses nothing committed (the frames are in the operating system's cache); only
//! a power loss or kernel crash can lose a committed transaction that nobody waited for.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::LedgerError;

/// Makes the commits of one SQLite ledger file durable, several at a time.
#[derive(Debug)]
pub struct WalSync {
    /// The ledger's write-ahead log (`{ledger}-wal`).
    wal: PathBuf,
    /// Commits counted so far (a commit's ticket is its number).
    committed: AtomicU64,
    /// The highest ticket known to be on disk; held while syncing, so that waiters queue behind
    /// one sync and most find their ticket covered by it.
    synced: Mutex<u64>,
    /// `fdatasync` calls made (what the tests count).
    syncs: AtomicU64,
}

impl WalSync {
    /// The sync of the ledger file at `ledger` (its WAL is `{ledger}-wal`).
    pub(super) fn new(ledger: &std::path::Path) -> Self {
        let mut wal = ledger.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            wal: PathBuf::from(wal),
            committed: AtomicU64::new(0),
            synced: Mutex::new(0),
            syncs: AtomicU64::new(0),
        }
    }

    /// Counts a commit that just returned (call it under the ledger's lock, after `COMMIT`): its
    /// ticket.
    pub(super) fn committed(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Returns once the commit with `ticket` (and every one before it) is on disk: at most one
    /// `fdatasync` of the WAL, none when a sync that started after that commit already finished.
    pub fn sync(&self, ticket: u64) -> Result<(), LedgerError> {
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        if *synced >= ticket {
            return Ok(());
        }
        // Every commit counted by now has written its frames: this sync covers them all.
        let upto = self.committed.load(Ordering::SeqCst);
        let failed = |e: std::io::Error| {
            LedgerError::Invalid(format!(
                "the ledger's write-ahead log {} could not be synced to disk: {e}; nothing was sent",
                self.wal.display()
            ))
        };
        // Opened by path each time: SQLite may replace the file (after the last connection closed
        // it), and a sync of a stale descriptor would prove nothing.
        match std::fs::OpenOptions::new().write(true).open(&self.wal) {
            Ok(file) => {
                self.syncs.fetch_add(1, Ordering::SeqCst);
                file.sync_data().map_err(failed)?;
            }
            // No WAL: SQLite checkpointed it into the database file (and synced that) and removed it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(failed(e)),
        }
        *synced = upto.max(*synced);
        Ok(())
    }

    /// `fdatasync` calls made so far.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::SeqCst)
    }
}

/// What a group committed without waiting for the disk still needs to be durable.
#[derive(Debug)]
#[must_use = "a deferred commit is durable only once waited for (or covered by a later sync)"]
pub enum Durability {
    /// Already durable (the backend's commit waits for the disk, or there is no disk).
    Durable,
    /// Committed; durable once the WAL is synced up to `ticket`.
    Pending {
        /// The ledger file's sync.
        sync: Arc<WalSync>,
        /// This commit's ticket.
        ticket: u64,
    },
}

impl Durability {
    /// Blocks until the commit is on disk (one `fdatasync` at most, shared with every commit made
    /// before it). Call it without holding the ledger's lock: other sessions keep writing meanwhile.
    pub fn wait(self) -> Result<(), LedgerError> {
        match self {
            Self::Durable => Ok(()),
            Self::Pending { sync, ticket } => sync.sync(ticket),
        }
    }

    /// [`Durability::wait`] on a blocking thread, so an async runtime's worker is not held by the
    /// disk.
    pub async fn wait_async(self) -> Result<(), LedgerError> {
        match self {
            Self::Durable => Ok(()),
            pending => tokio::task::spawn_blocking(move || pending.wait())
                .await
                .map_err(|e| {
                    LedgerError::Invalid(format!("the ledger's sync did not finish: {e}"))
                })?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sync_covers_every_commit_made_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("l.sqlite");
        std::fs::write(dir.path().join("l.sqlite-wal"), b"frames").unwrap();
        let s = WalSync::new(&ledger);
        let (a, b) = (s.committed(), s.committed());
        s.sync(b).unwrap();
        assert_eq!(s.syncs(), 1);
        // `a` was committed before the sync started: covered, no second sync.
        s.sync(a).unwrap();
        s.sync(b).unwrap();
        assert_eq!(s.syncs(), 1);
        // A commit after that sync needs one of its own.
        let c = s.committed();
        s.sync(c).unwrap();
        assert_eq!(s.syncs(), 2);
    }

    #[test]
    fn a_missing_wal_means_checkpointed_and_a_bad_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = WalSync::new(&dir.path().join("gone.sqlite"));
        let t = s.committed();
        s.sync(t).unwrap();
        assert_eq!(s.syncs(), 0);
        // A directory where the WAL should be cannot be synced as a file: the error names it.
        std::fs::create_dir(dir.path().join("dir.sqlite-wal")).unwrap();
        let s = WalSync::new(&dir.path().join("dir.sqlite"));
        let t = s.committed();
        let e = s.sync(t).unwrap_err().to_string();
        assert!(
            e.contains("dir.sqlite-wal") && e.contains("nothing was sent"),
            "{e}"
        );
    }
}
