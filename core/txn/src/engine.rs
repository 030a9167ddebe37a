//! Shared transaction execution: buffered final writes and the last-writer-wins rule.

use core::fmt;

use crate::op::MicroOp;
use crate::stamp::Stamp;

/// A register's current value and the stamp of the write set that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Versioned<V> {
    /// The value.
    pub value: V,
    /// The stamp of the write set that published `value`.
    pub stamp: Stamp,
}

/// A bounded structure could not take a transaction or write set. Whatever refused leaves
/// its state exactly as before the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Full {
    /// The store holds its capacity of keys and the write set needs new ones.
    Store {
        /// Most keys the store holds.
        capacity: usize,
    },
    /// The transaction writes more distinct keys than its write buffer holds.
    Buffer {
        /// Most distinct keys the buffer holds.
        capacity: usize,
    },
}

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store { capacity } => write!(f, "register store full ({capacity} keys)"),
            Self::Buffer { capacity } => {
                write!(f, "transaction writes more than {capacity} distinct keys")
            }
        }
    }
}

/// True iff a write of `value` stamped `stamp` replaces `current` under last-writer-wins:
/// the larger `(stamp, value)` wins, a total order, so the per-key outcome is a join.
pub(crate) fn supersedes<V: Ord>(stamp: Stamp, value: &V, current: &Versioned<V>) -> bool {
    (stamp, value) > (current.stamp, &current.value)
}

/// A transaction's write buffer: `(key, final value)` sorted by key, keys unique.
pub(crate) trait WriteBuffer<K, V> {
    fn entries(&self) -> &[(K, V)];
    fn entries_mut(&mut self) -> &mut [(K, V)];
    /// Inserts at `index` (keeping the order), or refuses when full.
    fn insert_at(&mut self, index: usize, entry: (K, V)) -> Result<(), Full>;
}

#[cfg(feature = "alloc")]
impl<K, V> WriteBuffer<K, V> for alloc::vec::Vec<(K, V)> {
    fn entries(&self) -> &[(K, V)] {
        self
    }
    fn entries_mut(&mut self) -> &mut [(K, V)] {
        self
    }
    fn insert_at(&mut self, index: usize, entry: (K, V)) -> Result<(), Full> {
        self.insert(index, entry);
        Ok(())
    }
}

impl<K, V, const W: usize> WriteBuffer<K, V> for heapless::Vec<(K, V), W> {
    fn entries(&self) -> &[(K, V)] {
        self
    }
    fn entries_mut(&mut self) -> &mut [(K, V)] {
        self
    }
    fn insert_at(&mut self, index: usize, entry: (K, V)) -> Result<(), Full> {
        self.insert(index, entry)
            .map_err(|_| Full::Buffer { capacity: W })
    }
}

/// Runs `txn` in order against the committed values given by `committed`, filling reads
/// in place and collecting each key's final write into `buffer`. Nothing is published.
///
/// A read sees the transaction's own latest write of the key if there is one, otherwise
/// the committed value. On `Err` the reads before the refusing write are filled and the
/// buffer holds the writes before it; callers discard both.
pub(crate) fn execute<'s, K, V, B>(
    committed: impl Fn(&K) -> Option<&'s V>,
    txn: &mut [MicroOp<K, V>],
    buffer: &mut B,
) -> Result<(), Full>
where
    K: Ord + Clone,
    V: Clone + 's,
    B: WriteBuffer<K, V>,
{
    for op in txn.iter_mut() {
        match op {
            MicroOp::Read { key, value } => {
                let entries = buffer.entries();
                *value = match entries.binary_search_by(|(k, _)| k.cmp(key)) {
                    Ok(i) => Some(entries[i].1.clone()),
                    Err(_) => committed(key).cloned(),
                };
            }
            MicroOp::Write { key, value } => {
                match buffer.entries().binary_search_by(|(k, _)| k.cmp(key)) {
                    Ok(i) => buffer.entries_mut()[i].1 = value.clone(),
                    Err(i) => buffer.insert_at(i, (key.clone(), value.clone()))?,
                }
            }
        }
    }
    Ok(())
}
