//! The bounded, allocation-free register store over `heapless::FnvIndexMap`.

use core::hash::Hash;

use heapless::FnvIndexMap;

use crate::engine::{execute, supersedes, Full, Versioned};
use crate::op::MicroOp;
use crate::stamp::Stamp;

/// A register store of at most `N` keys (`N` a power of two, as `FnvIndexMap` requires),
/// with the same semantics as [`RegisterMap`](crate::RegisterMap): buffered execution with
/// [`BoundedStore::execute`], atomic last-writer-wins publication with
/// [`BoundedStore::publish`].
///
/// Full policy: a write set that needs more new keys than the free room is refused as a
/// whole with [`Full::Store`] and the store is unchanged (no partial publication), so
/// atomicity holds even when full. Keys are never evicted.
#[derive(Debug, Clone)]
pub struct BoundedStore<K, V, const N: usize> {
    map: FnvIndexMap<K, Versioned<V>, N>,
}

impl<K: Eq + Hash, V, const N: usize> Default for BoundedStore<K, V, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Eq + Hash, V, const N: usize> BoundedStore<K, V, N> {
    /// An empty store.
    pub const fn new() -> Self {
        Self {
            map: FnvIndexMap::new(),
        }
    }

    /// Most keys the store holds.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if no key was ever written.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The current version of `key`.
    pub fn get(&self, key: &K) -> Option<&Versioned<V>> {
        self.map.get(key)
    }

    /// The current value of `key`.
    pub fn value(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|v| &v.value)
    }

    /// Every key with its version, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &Versioned<V>)> {
        self.map.iter()
    }
}

impl<K: Ord + Hash + Clone, V: Ord + Clone, const N: usize> BoundedStore<K, V, N> {
    /// Runs `txn` without publishing anything (`&self`): fills reads in place (own earlier
    /// writes first, then committed values) and returns each key's final write, sorted by
    /// key. Publish the result with [`BoundedStore::publish`] to commit; drop it to abort.
    ///
    /// Refuses with [`Full::Buffer`] when the transaction writes more than `W` distinct
    /// keys; the store is untouched either way.
    pub fn execute<const W: usize>(
        &self,
        txn: &mut [MicroOp<K, V>],
    ) -> Result<heapless::Vec<(K, V), W>, Full> {
        let mut writes = heapless::Vec::new();
        execute(|key| self.value(key), txn, &mut writes)?;
        Ok(writes)
    }

    /// Publishes the writes of one write set stamped `stamp`, all or nothing: per key the
    /// larger `(stamp, value)` wins (so a stale set never overwrites a newer value);
    /// idempotent, commutative and associative. Returns how many keys changed, or
    /// [`Full::Store`] (state unchanged) when the new keys do not fit.
    pub fn publish(&mut self, stamp: Stamp, writes: &[(K, V)]) -> Result<usize, Full> {
        let sorted = writes.windows(2).all(|w| w[0].0 < w[1].0);
        let new_keys = writes
            .iter()
            .enumerate()
            .filter(|(i, (key, _))| {
                !self.map.contains_key(key)
                    && if sorted {
                        true
                    } else {
                        !writes[..*i].iter().any(|(earlier, _)| earlier == key)
                    }
            })
            .count();
        if self.map.len() + new_keys > N {
            return Err(Full::Store { capacity: N });
        }
        let mut changed = 0;
        for (key, value) in writes {
            match self.map.get_mut(key) {
                Some(current) => {
                    if supersedes(stamp, value, current) {
                        current.value = value.clone();
                        current.stamp = stamp;
                        changed += 1;
                    }
                }
                None => {
                    let version = Versioned {
                        value: value.clone(),
                        stamp,
                    };
                    // Room was checked above for every new key.
                    if self.map.insert(key.clone(), version).is_err() {
                        return Err(Full::Store { capacity: N });
                    }
                    changed += 1;
                }
            }
        }
        Ok(changed)
    }

    /// [`BoundedStore::publish`] for a replicated [`WriteSet`](crate::WriteSet).
    #[cfg(feature = "alloc")]
    pub fn merge(&mut self, set: &crate::WriteSet<K, V>) -> Result<usize, Full> {
        self.publish(set.stamp, &set.writes)
    }
}
