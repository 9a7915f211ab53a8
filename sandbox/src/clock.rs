//! The sandbox clock: real time plus an offset tests can advance, so token expiry, session idle
//! timeouts and settlement closing can be exercised without waiting.

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

/// Wall clock shifted by a test-controlled offset.
#[derive(Debug)]
pub struct Clock {
    start_utc: DateTime<Utc>,
    start: Instant,
    offset: Mutex<Duration>,
}

impl Clock {
    /// A clock that starts at `start_utc` now.
    pub fn starting_at(start_utc: DateTime<Utc>) -> Self {
        Self {
            start_utc,
            start: Instant::now(),
            offset: Mutex::new(Duration::zero()),
        }
    }

    /// The current sandbox time.
    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = Duration::from_std(self.start.elapsed()).unwrap_or_else(|_| Duration::zero());
        self.start_utc + elapsed + *self.offset.lock().expect("clock lock")
    }

    /// Moves the sandbox time forward.
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().expect("clock lock") += by;
    }
}

impl Clock {
    /// Drops any offset added with [`Clock::advance`].
    pub fn reset_offset(&self) {
        *self.offset.lock().expect("clock lock") = Duration::zero();
    }
}
