//! The search's memory: which (set of linearized operations, register state) pairs it has
//! already explored to the end without finding a linearization.
//!
//! [`LinSet`] is the set of linearized operations as two bitsets, one over the determinate
//! operations (in invocation order) and one over the indeterminate ones. Its canonical key
//! is short: determinate operations are linearized roughly in invocation order, so the
//! words before the first one with a gap are all ones and are replaced by that word's
//! index; only the window from there to the last non-zero word is stored. Indeterminate
//! operations may be linearized anywhere, so their bitset is stored whole (few per key:
//! Maelstrom's process limit caps them at about 20).
//!
//! [`Memo`] stores the keys in one arena (no allocation per state) behind a
//! `hashbrown::HashTable` of (hash, offset, length).

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::model::Val;

/// A set of linearized operations. Invariants: every `det` word before `lo` is full;
/// `hi` is one past the last non-zero `det` word (0 if none), so `lo <= hi` or both are
/// 0..; bits past `det_len` are never set.
#[derive(Debug, Clone)]
pub struct LinSet {
    det: Vec<u64>,
    det_len: usize,
    lo: usize,
    hi: usize,
    info: Vec<u64>,
}

impl LinSet {
    /// An empty set over `det_len` determinate and `info_len` indeterminate operations.
    pub fn new(det_len: usize, info_len: usize) -> Self {
        LinSet {
            det: vec![0; det_len.div_ceil(64)],
            det_len,
            lo: 0,
            hi: 0,
            info: vec![0; info_len.div_ceil(64)],
        }
    }

    fn full(&self, w: usize) -> bool {
        let last = self.det_len / 64;
        let mask = if w == last {
            (1u64 << (self.det_len % 64)) - 1
        } else {
            u64::MAX
        };
        self.det[w] == mask
    }

    /// Adds determinate operation `i`.
    #[inline]
    pub fn insert_det(&mut self, i: usize) {
        let w = i / 64;
        self.det[w] |= 1 << (i % 64);
        self.hi = self.hi.max(w + 1);
        if w == self.lo {
            while self.lo < self.det.len() && self.full(self.lo) {
                self.lo += 1;
            }
        }
    }

    /// Removes determinate operation `i`.
    #[inline]
    pub fn remove_det(&mut self, i: usize) {
        let w = i / 64;
        self.det[w] &= !(1 << (i % 64));
        self.lo = self.lo.min(w);
        if w + 1 == self.hi {
            while self.hi > 0 && self.det[self.hi - 1] == 0 {
                self.hi -= 1;
            }
        }
    }

    /// Adds indeterminate operation `j`.
    #[inline]
    pub fn insert_info(&mut self, j: usize) {
        self.info[j / 64] |= 1 << (j % 64);
    }

    /// Removes indeterminate operation `j`.
    #[inline]
    pub fn remove_info(&mut self, j: usize) {
        self.info[j / 64] &= !(1 << (j % 64));
    }

    /// Writes the canonical key of (this set, `state`) into `out`: the state and `lo`,
    /// the window `det[lo..hi]`, then the indeterminate bitset. Two (set, state) pairs get
    /// the same key exactly when they are equal (the number of indeterminate words is fixed
    /// per search, so the window's length follows from the key's).
    pub fn key(&self, state: Val, out: &mut Vec<u64>) {
        out.clear();
        out.push(u64::from(state) | (self.lo as u64) << 32);
        out.extend_from_slice(&self.det[self.lo..self.hi.max(self.lo)]);
        out.extend_from_slice(&self.info);
    }
}

/// Keys seen, in an arena. Invariant: each stored key is distinct; `arena` holds exactly
/// the stored keys' words.
#[derive(Debug, Default)]
pub struct Memo {
    table: HashTable<(u64, u32, u32)>,
    arena: Vec<u64>,
    hasher: DefaultHashBuilder,
}

impl Memo {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `key` is stored.
    pub fn contains(&self, key: &[u64]) -> bool {
        let hash = self.hasher.hash_one(key);
        self.find(hash, key)
    }

    fn find(&self, hash: u64, key: &[u64]) -> bool {
        let arena = &self.arena;
        self.table
            .find(hash, |&(h, start, len)| {
                h == hash && &arena[start as usize..(start + len) as usize] == key
            })
            .is_some()
    }

    /// Stores `key`; returns whether it was new. Returns `false` without storing when the
    /// arena would outgrow 32-bit offsets (the caller's state limit stops long before).
    pub fn insert(&mut self, key: &[u64]) -> bool {
        let hash = self.hasher.hash_one(key);
        if self.find(hash, key) {
            return false;
        }
        let (Ok(start), Ok(len)) = (u32::try_from(self.arena.len()), u32::try_from(key.len()))
        else {
            return false;
        };
        if start.checked_add(len).is_none() {
            return false;
        }
        self.arena.extend_from_slice(key);
        self.table
            .insert_unique(hash, (hash, start, len), |&(h, _, _)| h);
        true
    }

    /// Keys stored.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Bytes held (arena and table), for reports.
    pub fn bytes(&self) -> usize {
        self.arena.capacity() * 8 + self.table.capacity() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &LinSet, state: Val) -> Vec<u64> {
        let mut out = Vec::new();
        s.key(state, &mut out);
        out
    }

    #[test]
    fn keys_are_canonical_whatever_the_order_of_changes() {
        let n = 200;
        let mut a = LinSet::new(n, 3);
        let mut b = LinSet::new(n, 3);
        for i in 0..150 {
            a.insert_det(i);
        }
        for i in (0..150).rev() {
            b.insert_det(i);
        }
        b.insert_det(170);
        b.remove_det(170);
        assert_eq!(key(&a, 1), key(&b, 1));
        assert_ne!(key(&a, 1), key(&b, 2));
        a.insert_info(2);
        assert_ne!(key(&a, 1), key(&b, 1));
        b.insert_info(2);
        assert_eq!(key(&a, 1), key(&b, 1));
        // Full prefix words are summarised: the key is short.
        assert_eq!(key(&a, 1).len(), 1 + 1 + 1);
        a.remove_det(3);
        assert_eq!(key(&a, 1).len(), 1 + 3 + 1);
        a.insert_det(3);
        assert_eq!(key(&a, 1), key(&b, 1));
        // Everything in: no window at all.
        let mut c = LinSet::new(64, 0);
        for i in 0..64 {
            c.insert_det(i);
        }
        assert_eq!(key(&c, 0), vec![1u64 << 32]);
    }

    #[test]
    fn different_sets_have_different_keys() {
        let mut seen = std::collections::HashSet::new();
        // Every subset of 7 determinate and 2 indeterminate operations, in two states.
        for mask in 0u32..(1 << 9) {
            let mut s = LinSet::new(7, 2);
            for i in 0..7 {
                if mask & (1 << i) != 0 {
                    s.insert_det(i);
                }
            }
            for j in 0..2 {
                if mask & (1 << (7 + j)) != 0 {
                    s.insert_info(j);
                }
            }
            for state in 0..2 {
                assert!(seen.insert(key(&s, state)), "mask {mask:b} state {state}");
            }
        }
    }

    #[test]
    fn memo_stores_each_key_once() {
        let mut m = Memo::new();
        assert!(m.is_empty());
        assert!(!m.contains(&[1, 2, 3]));
        assert!(m.insert(&[1, 2, 3]));
        assert!(m.contains(&[1, 2, 3]));
        assert!(!m.insert(&[1, 2, 3]));
        assert!(m.insert(&[1, 2]));
        assert!(m.insert(&[1, 2, 3, 0]));
        assert_eq!(m.len(), 3);
        assert!(m.bytes() > 0);
    }
}
