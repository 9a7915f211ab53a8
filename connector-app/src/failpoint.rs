//! Crash points for tests: a named point that, when armed, aborts the flow there as a crash would
//! (the ledger keeps what it had committed, SAP keeps what it had executed).
//!
//! Compiled only with the `failpoints` feature (the crate's own tests enable it); in a normal build
//! `hit` is an empty inline function.

#[cfg(feature = "failpoints")]
mod armed {
    use std::collections::HashMap;
    use std::sync::Mutex;

    static ARMED: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

    /// Arms `name` to fire on its `nth` hit (1 = the first).
    pub fn arm(name: &str, nth: u32) {
        ARMED
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(HashMap::new)
            .insert(name.to_owned(), nth);
    }

    /// Disarms every point.
    pub fn clear() {
        *ARMED.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Crashes here if `name` is armed and this is its hit.
    pub fn hit(name: &str) {
        let fire = {
            let mut guard = ARMED.lock().unwrap_or_else(|p| p.into_inner());
            match guard.as_mut().and_then(|m| m.get_mut(name)) {
                Some(n) if *n <= 1 => {
                    guard.as_mut().map(|m| m.remove(name));
                    true
                }
                Some(n) => {
                    *n -= 1;
                    false
                }
                None => false,
            }
        };
        if fire {
            panic!("failpoint {name}: simulated crash");
        }
    }

    /// Crashes at `{kind}.{point}` if it is armed (the posting engine's points per document kind).
    pub fn hit_at(kind: &str, point: &str) {
        hit(&format!("{kind}.{point}"));
    }
}

#[cfg(feature = "failpoints")]
pub use armed::{arm, clear, hit, hit_at};

/// Crash points are compiled out of normal builds.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}

/// Crash points are compiled out of normal builds.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit_at(_kind: &str, _point: &str) {}
