//! Memoised rule lookups: a settlement has few distinct row keys, so each is resolved once.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::{MappingTable, RowKey};

impl RowKey<'_> {
    fn hash64(&self) -> u64 {
        let mut h = DefaultHasher::new();
        (
            self.transaction_type,
            self.amount_type,
            self.amount_description,
            self.marketplace,
            self.fulfillment,
        )
            .hash(&mut h);
        h.finish()
    }

    fn same(&self, k: &[String; 5]) -> bool {
        k[0] == self.transaction_type
            && k[1] == self.amount_type
            && k[2] == self.amount_description
            && k[3] == self.marketplace
            && k[4] == self.fulfillment
    }
}

/// A row key as owned strings, with the rule it resolved to.
type CachedKey = ([String; 5], Option<usize>);

/// Memoises [`MappingTable::lookup`] per distinct row key: a settlement has few distinct keys.
#[derive(Debug, Default)]
pub(crate) struct LookupCache {
    map: HashMap<u64, Vec<CachedKey>>,
}

impl LookupCache {
    pub(crate) fn lookup(&mut self, table: &MappingTable, key: &RowKey<'_>) -> Option<usize> {
        let bucket = self.map.entry(key.hash64()).or_default();
        if let Some((_, hit)) = bucket.iter().find(|(k, _)| key.same(k)) {
            return *hit;
        }
        let hit = table.lookup(key);
        bucket.push((
            [
                key.transaction_type.to_owned(),
                key.amount_type.to_owned(),
                key.amount_description.to_owned(),
                key.marketplace.to_owned(),
                key.fulfillment.to_owned(),
            ],
            hit,
        ));
        hit
    }
}
