//! Memoised rule lookups: a settlement has few distinct row keys, so each is resolved once.

use std::hash::{BuildHasher, Hasher};

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use super::RowKey;

/// A field's length and its first, middle and last bytes: enough to tell a settlement's few
/// distinct keys apart at a fixed cost per field (a key is compared in full on every hit, so two
/// keys that share these only share a probe sequence).
fn summary(field: &str) -> u64 {
    let b = field.as_bytes();
    match b {
        [] => 0,
        [first, ..] => {
            let n = b.len();
            (n as u64) << 24
                | u64::from(*first) << 16
                | u64::from(b[n / 2]) << 8
                | u64::from(b[n - 1])
        }
    }
}

impl RowKey<'_> {
    fn hash64(&self, state: &FixedState) -> u64 {
        let mut h = state.build_hasher();
        h.write_u64(
            summary(self.transaction_type)
                ^ summary(self.amount_type).rotate_left(32)
                ^ summary(self.marketplace).rotate_left(48),
        );
        h.write_u64(summary(self.amount_description) ^ summary(self.fulfillment).rotate_left(32));
        h.finish()
    }

    fn same(&self, k: &[Box<str>; 5]) -> bool {
        *k[0] == *self.transaction_type
            && *k[1] == *self.amount_type
            && *k[2] == *self.amount_description
            && *k[3] == *self.marketplace
            && *k[4] == *self.fulfillment
    }
}

/// A row key as owned strings, with its hash and what it resolved to.
type CachedKey<V> = (u64, [Box<str>; 5], V);

/// Memoises what a distinct row key resolves to (its rule, and the mapper's interned ids): a
/// settlement has few distinct keys, and a row's lookup is one hash of borrowed strings.
#[derive(Debug)]
pub(crate) struct LookupCache<V> {
    table: HashTable<CachedKey<V>>,
    state: FixedState,
}

impl<V> Default for LookupCache<V> {
    fn default() -> Self {
        Self {
            table: HashTable::new(),
            state: FixedState::default(),
        }
    }
}

impl<V: Copy> LookupCache<V> {
    /// What `key` resolved to, if it was seen before.
    pub(crate) fn get(&self, key: &RowKey<'_>) -> Option<V> {
        let hash = key.hash64(&self.state);
        self.table
            .find(hash, |(h, k, _)| *h == hash && key.same(k))
            .map(|(_, _, v)| *v)
    }

    /// Remembers what `key` resolved to.
    pub(crate) fn insert(&mut self, key: &RowKey<'_>, value: V) {
        let hash = key.hash64(&self.state);
        let owned = [
            key.transaction_type.into(),
            key.amount_type.into(),
            key.amount_description.into(),
            key.marketplace.into(),
            key.fulfillment.into(),
        ];
        self.table
            .insert_unique(hash, (hash, owned, value), |(h, _, _)| *h);
    }
}
