//! Company-wide rules SAP applies to every object it adds, before the object's own checks
//! (posting periods, branches, ...). Called by `entities::create` for every POST.

use super::store::{Entity, SapDb};
use super::wire::SapError;

/// Checks company-wide rules for a new entity of set `set`.
pub fn check_posting(_db: &SapDb, _set: &str, _e: &Entity) -> Result<(), SapError> {
    Ok(())
}
