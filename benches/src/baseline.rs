//! The baselines: the designs common in published Gossip Glomers solutions, each doing the
//! same job as the glomers structure it is measured against.

use std::collections::HashMap;
use std::num::ParseIntError;
use std::sync::{Mutex, RwLock};

use glomers_txn::MicroOp;

/// The decimal-string unique id of many published solutions: the node's digits, a random
/// number and the clock's microseconds concatenated as text and parsed back to an integer.
///
/// Allocates the string per id, as those solutions do (`format!` then `parse`). The result
/// needs `u128`: one node digit, up to five random digits and sixteen digits of
/// microseconds exceed `u64`'s twenty digits. Error: the digits do not parse (a node id
/// that is not decimal).
pub fn decimal_id(node_digits: &str, random: u16, micros: u128) -> Result<u128, ParseIntError> {
    format!("{node_digits}{random}{micros}").parse::<u128>()
}

/// The usual Kafka-log design: one `Vec` of every message in arrival order (its index is the
/// offset, shared by all keys) and a `HashMap` from key to that key's offsets, all under one
/// `RwLock`.
///
/// Invariant: each key's offset list is strictly increasing and every offset in it indexes
/// a message of that key. Keys are looked up by `&str` and allocated only when first seen,
/// so the baseline is the strongest form of that design, not a strawman.
#[derive(Debug, Default)]
pub struct LockedLog {
    inner: RwLock<LockedLogInner>,
}

#[derive(Debug, Default)]
struct LockedLogInner {
    messages: Vec<u64>,
    offsets: HashMap<String, Vec<u64>>,
}

impl LockedLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `msg` to `key` under the write lock; returns its (global) offset.
    pub fn append(&self, key: &str, msg: u64) -> u64 {
        // A poisoned lock only means another thread panicked mid-benchmark; the data is
        // plain numbers and still consistent enough to keep measuring.
        let mut g = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let offset = g.messages.len() as u64;
        g.messages.push(msg);
        match g.offsets.get_mut(key) {
            Some(list) => list.push(offset),
            None => {
                g.offsets.insert(key.to_owned(), vec![offset]);
            }
        }
        offset
    }

    /// Replaces `out` with at most `max` `(offset, msg)` pairs of `key` from the first offset
    /// `>= from` on (binary search in the key's offset list), under the read lock.
    pub fn read_into(&self, key: &str, from: u64, max: usize, out: &mut Vec<(u64, u64)>) {
        out.clear();
        let g = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let Some(list) = g.offsets.get(key) else {
            return;
        };
        let start = list.partition_point(|&o| o < from);
        for &o in list[start..].iter().take(max) {
            // Every listed offset indexes `messages` (invariant above).
            if let Some(&m) = g.messages.get(o as usize) {
                out.push((o, m));
            }
        }
    }

    /// The offsets stored for `key`, in order (for tests and for picking read offsets).
    pub fn offsets_of(&self, key: &str) -> Vec<u64> {
        let g = self.inner.read().unwrap_or_else(|e| e.into_inner());
        g.offsets.get(key).cloned().unwrap_or_default()
    }
}

/// The usual G-counter state: node id string to that node's count. Merge takes the maximum
/// per node; afterwards every count in `into` is at least the one in `from`.
pub fn merge_counter_map(into: &mut HashMap<String, u64>, from: &HashMap<String, u64>) {
    for (node, &count) in from {
        match into.get_mut(node.as_str()) {
            Some(c) => *c = (*c).max(count),
            None => {
                into.insert(node.clone(), count);
            }
        }
    }
}

/// The usual transaction store: a `HashMap` of registers under one `Mutex`, each
/// transaction applied in place while holding the lock (serial, so trivially read-committed,
/// but with no replication stamps and no write buffering).
#[derive(Debug, Default)]
pub struct LockedRegisters {
    map: Mutex<HashMap<i64, i64>>,
}

impl LockedRegisters {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `txn` under the lock and returns the completed operations: reads carry the value
    /// seen (`None` for a never-written key), writes are echoed and take effect at once.
    pub fn apply(&self, txn: &[MicroOp]) -> Vec<MicroOp> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        txn.iter()
            .map(|op| match *op {
                MicroOp::Read { key, .. } => MicroOp::Read {
                    key,
                    value: map.get(&key).copied(),
                },
                MicroOp::Write { key, value } => {
                    map.insert(key, value);
                    MicroOp::Write { key, value }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_offset_log::OffsetLog;
    use glomers_txn::{Isolation, RegisterMap, Stamp};

    #[test]
    fn decimal_id_concatenates_digits() {
        assert_eq!(
            decimal_id("3", 42, 1_700_000_000_000_123),
            Ok(3_421_700_000_000_000_123)
        );
        assert!(decimal_id("n3", 1, 1).is_err());
    }

    #[test]
    fn locked_log_reads_what_offset_log_reads() {
        // Same messages into both; a read from the k-th stored entry of a key returns the
        // same messages in the same order from either design.
        let base = LockedLog::new();
        let mut ours: OffsetLog<String, u64> = OffsetLog::new();
        let keys = ["a", "b", "c"];
        for i in 0..300u64 {
            let k = keys[(i * 7 % 3) as usize];
            base.append(k, i * 10);
            ours.append(k, i * 10).expect("append");
        }
        let mut out = Vec::new();
        for k in keys {
            let offs = base.offsets_of(k);
            assert_eq!(offs.len(), ours.len(k));
            for start in [0usize, 1, 50, offs.len() - 1] {
                base.read_into(k, offs[start], 10, &mut out);
                let theirs: Vec<u64> = out.iter().map(|&(_, m)| m).collect();
                let mine: Vec<u64> = ours.read(k, start as u64, 10).map(|(_, &m)| m).collect();
                assert_eq!(theirs, mine, "key {k} from entry {start}");
                assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
            }
        }
        base.read_into("zzz", 0, 10, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn counter_map_merge_takes_maxima() {
        let mut a: HashMap<String, u64> = [("n0".into(), 5), ("n1".into(), 1)].into();
        let b: HashMap<String, u64> = [("n1".into(), 4), ("n2".into(), 2), ("n0".into(), 3)].into();
        merge_counter_map(&mut a, &b);
        let want: HashMap<String, u64> =
            [("n0".into(), 5), ("n1".into(), 4), ("n2".into(), 2)].into();
        assert_eq!(a, want);
    }

    #[test]
    fn locked_registers_agree_with_register_map_serially() {
        let base = LockedRegisters::new();
        let mut ours: RegisterMap = RegisterMap::new();
        let txns: Vec<Vec<MicroOp>> = (0..200i64)
            .map(|i| {
                vec![
                    MicroOp::read(i % 7),
                    MicroOp::write(i % 5, i),
                    MicroOp::read(i % 5),
                ]
            })
            .collect();
        for (n, t) in txns.iter().enumerate() {
            let theirs = base.apply(t);
            let mine = ours
                .apply(t, Isolation::ReadCommitted, Stamp::new(n as u64 + 1, 0))
                .commit()
                .completed;
            assert_eq!(theirs, mine, "txn {n}");
        }
    }
}
