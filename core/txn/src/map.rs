//! The growable register store (`alloc`): apply, commit/abort, replicate, merge.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::{execute, supersedes, Versioned};
use crate::op::{Isolation, MicroOp};
use crate::stamp::Stamp;

/// The committed writes of one transaction, exported for replication.
///
/// Invariant of sets built by [`RegisterMap::apply`] / [`RegisterMap::execute`]: `writes`
/// holds each written key once, with the transaction's final value, sorted by key; every
/// write carries `stamp`. [`RegisterMap::merge`] does not rely on that (a set from the wire
/// with repeated keys merges deterministically by the same last-writer-wins rule).
/// Serialised as `[counter, node, [[key, value], ...]]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WriteSet<K = i64, V = i64> {
    /// The stamp of the transaction; orders this set against every other.
    pub stamp: Stamp,
    /// `(key, value)` pairs.
    pub writes: Vec<(K, V)>,
}

impl<K, V> WriteSet<K, V> {
    /// True when the transaction wrote nothing (nothing to replicate).
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

impl<K: Serialize, V: Serialize> Serialize for WriteSet<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.stamp.counter, self.stamp.node, &self.writes).serialize(serializer)
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for WriteSet<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (counter, node, writes) = <(u64, u32, Vec<(K, V)>)>::deserialize(deserializer)?;
        Ok(Self {
            stamp: Stamp::new(counter, node),
            writes,
        })
    }
}

/// A committed transaction: what to answer the client and what to replicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied<K = i64, V = i64> {
    /// The micro-operations in request order: reads carry the value observed, writes are
    /// echoed unchanged.
    pub completed: Vec<MicroOp<K, V>>,
    /// The final write of each key, to send to peers (empty for read-only transactions).
    pub writes: WriteSet<K, V>,
    /// The isolation level the transaction ran under.
    pub isolation: Isolation,
}

/// A transaction that has run but is not yet visible: nothing of it is in the store until
/// [`Pending::commit`]. [`Pending::abort`] (or dropping it) discards it without a trace.
/// Holding the store's `&mut` borrow, it prevents any other transaction or merge from
/// interleaving with it.
#[derive(Debug)]
#[must_use = "a pending transaction is discarded unless committed"]
pub struct Pending<'s, K: Ord, V> {
    store: &'s mut RegisterMap<K, V>,
    completed: Vec<MicroOp<K, V>>,
    writes: WriteSet<K, V>,
    isolation: Isolation,
}

impl<K: Ord + Clone, V: Ord + Clone> Pending<'_, K, V> {
    /// The completed micro-operations (reads filled in), in request order.
    pub fn completed(&self) -> &[MicroOp<K, V>] {
        &self.completed
    }

    /// The write set commit would publish.
    pub fn writes(&self) -> &WriteSet<K, V> {
        &self.writes
    }

    /// Publishes the write set atomically (per key by last-writer-wins, as
    /// [`RegisterMap::merge`]) and returns the reply and the set to replicate.
    pub fn commit(self) -> Applied<K, V> {
        self.store.merge(&self.writes);
        Applied {
            completed: self.completed,
            writes: self.writes,
            isolation: self.isolation,
        }
    }

    /// Discards the transaction: the store is exactly as before [`RegisterMap::apply`].
    pub fn abort(self) {}
}

/// The register store: each key holds the [`Versioned`] value of the largest
/// `(stamp, value)` among the write sets published here.
///
/// Invariant: the state is a function of the *set* of write sets published (by commit or
/// merge), independent of their order or repetition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegisterMap<K = i64, V = i64> {
    map: BTreeMap<K, Versioned<V>>,
}

impl<K: Ord, V> Default for RegisterMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Ord, V> RegisterMap<K, V> {
    /// An empty store.
    pub const fn new() -> Self {
        Self {
            map: BTreeMap::new(),
        }
    }

    /// The current version of `key`, if it was ever written.
    pub fn get(&self, key: &K) -> Option<&Versioned<V>> {
        self.map.get(key)
    }

    /// The current value of `key`, if it was ever written.
    pub fn value(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|v| &v.value)
    }

    /// Number of keys ever written.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if no key was ever written.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every key with its version, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &Versioned<V>)> {
        self.map.iter()
    }
}

impl<K: Ord + Clone, V: Ord + Clone> RegisterMap<K, V> {
    /// Runs `txn` with every write stamped `stamp` and returns it pending: the completed
    /// micro-operations and the write set, not yet visible. Reads see the transaction's own
    /// earlier writes, otherwise the committed store (see [`Isolation`]). Commit with
    /// [`Pending::commit`], or abort.
    ///
    /// The stamp should come from a [`LamportClock`](crate::LamportClock) that has observed
    /// every merged stamp, so the commit is newer than everything it read.
    pub fn apply(
        &mut self,
        txn: &[MicroOp<K, V>],
        isolation: Isolation,
        stamp: Stamp,
    ) -> Pending<'_, K, V> {
        let mut completed = txn.to_vec();
        let writes = self.execute(&mut completed, stamp);
        Pending {
            store: self,
            completed,
            writes,
            isolation,
        }
    }

    /// The allocation-light core of [`RegisterMap::apply`]: fills the reads of `txn` in
    /// place and returns its write set, publishing nothing (`&self`). Publish it with
    /// [`RegisterMap::merge`] to commit; drop it to abort.
    pub fn execute(&self, txn: &mut [MicroOp<K, V>], stamp: Stamp) -> WriteSet<K, V> {
        let mut writes = Vec::with_capacity(txn.iter().filter(|op| op.is_write()).count());
        // A `Vec` buffer never refuses an insertion.
        let _infallible = execute(|key| self.value(key), txn, &mut writes);
        WriteSet { stamp, writes }
    }

    /// Publishes a write set as one step: each key takes the write if its
    /// `(stamp, value)` is larger than the stored one (last-writer-wins), so a stale set
    /// never overwrites a newer value. Idempotent, commutative and associative. Returns how
    /// many keys changed.
    pub fn merge(&mut self, set: &WriteSet<K, V>) -> usize {
        let mut changed = 0;
        for (key, value) in &set.writes {
            match self.map.get_mut(key) {
                Some(current) => {
                    if supersedes(set.stamp, value, current) {
                        current.value = value.clone();
                        current.stamp = set.stamp;
                        changed += 1;
                    }
                }
                None => {
                    self.map.insert(
                        key.clone(),
                        Versioned {
                            value: value.clone(),
                            stamp: set.stamp,
                        },
                    );
                    changed += 1;
                }
            }
        }
        changed
    }
}
