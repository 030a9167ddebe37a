//! The values a node knows, each with the time it first learned it, and compact range
//! digests of them for anti-entropy.

use std::collections::BTreeMap;

/// Inclusive value ranges `[lo, hi]`, sorted, disjoint and non-adjacent once normalised.
///
/// Broadcast values are unique increasing integers, so a node that knows nearly everything
/// is described by a handful of ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ranges(Vec<(u64, u64)>);

impl Ranges {
    /// Normalises ranges from the wire: drops inverted ones, sorts, merges overlapping and
    /// adjacent ones.
    pub fn from_wire(mut raw: Vec<(u64, u64)>) -> Self {
        raw.retain(|(lo, hi)| lo <= hi);
        raw.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(raw.len());
        for (lo, hi) in raw {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Self(merged)
    }

    /// Whether `v` lies in one of the ranges.
    pub fn contains(&self, v: u64) -> bool {
        let i = self.0.partition_point(|(lo, _)| *lo <= v);
        i > 0 && self.0[i - 1].1 >= v
    }

    /// The ranges, sorted and disjoint.
    pub fn as_slice(&self) -> &[(u64, u64)] {
        &self.0
    }

    /// The ranges as sent on the wire.
    pub fn into_wire(self) -> Vec<(u64, u64)> {
        self.0
    }

    /// Number of values covered (saturating).
    pub fn count(&self) -> u64 {
        self.0.iter().fold(0u64, |n, (lo, hi)| {
            n.saturating_add(hi - lo).saturating_add(1)
        })
    }
}

/// Every value a node knows with the local time (ms) it first learned it.
///
/// Invariant: a value, once inserted, is never removed and its time never changes. The store
/// grows with the number of distinct values broadcast (the `read` reply must return them
/// all), nothing else.
#[derive(Debug, Clone, Default)]
pub struct ValueStore {
    first_seen: BTreeMap<u64, u64>,
}

impl ValueStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `v` as known since `now_ms`; returns whether it was new.
    pub fn insert(&mut self, v: u64, now_ms: u64) -> bool {
        match self.first_seen.entry(v) {
            std::collections::btree_map::Entry::Occupied(_) => false,
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(now_ms);
                true
            }
        }
    }

    /// Whether `v` is known.
    pub fn contains(&self, v: u64) -> bool {
        self.first_seen.contains_key(&v)
    }

    /// Number of known values.
    pub fn len(&self) -> usize {
        self.first_seen.len()
    }

    /// True when no value is known.
    pub fn is_empty(&self) -> bool {
        self.first_seen.is_empty()
    }

    /// Every known value, ascending.
    pub fn values(&self) -> Vec<u64> {
        self.first_seen.keys().copied().collect()
    }

    /// The values held for at least `min_age_ms` at `now_ms`, as ranges. A value learned
    /// later than that splits the range it would belong to.
    pub fn ranges_held(&self, now_ms: u64, min_age_ms: u64) -> Ranges {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for (&v, &seen) in &self.first_seen {
            if now_ms.saturating_sub(seen) < min_age_ms {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.1.checked_add(1) == Some(v) => last.1 = v,
                _ => out.push((v, v)),
            }
        }
        Ranges(out)
    }

    /// Up to `limit` values held for at least `min_age_ms` that `have` does not cover,
    /// ascending.
    pub fn missing_from(
        &self,
        have: &Ranges,
        now_ms: u64,
        min_age_ms: u64,
        limit: usize,
    ) -> Vec<u64> {
        self.first_seen
            .iter()
            .filter(|(&v, &seen)| now_ms.saturating_sub(seen) >= min_age_ms && !have.contains(v))
            .map(|(&v, _)| v)
            .take(limit)
            .collect()
    }

    /// Whether `have` covers some value this store lacks.
    pub fn lacks_any_of(&self, have: &Ranges) -> bool {
        have.as_slice().iter().any(|&(lo, hi)| {
            let held = self.first_seen.range(lo..=hi).count() as u128;
            held < u128::from(hi - lo) + 1
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_normalise_and_answer_membership() {
        let r = Ranges::from_wire(vec![(5, 7), (1, 2), (3, 3), (10, 9), (6, 8)]);
        assert_eq!(r.as_slice(), &[(1, 3), (5, 8)]);
        assert!(r.contains(1) && r.contains(3) && r.contains(8));
        assert!(!r.contains(0) && !r.contains(4) && !r.contains(9));
        assert_eq!(r.count(), 7);
    }

    #[test]
    fn digests_skip_young_values_and_repairs_are_exact() {
        let mut s = ValueStore::new();
        for v in [0, 1, 2, 4, 5] {
            assert!(s.insert(v, 0));
        }
        assert!(!s.insert(4, 50));
        assert!(s.insert(3, 90));
        assert_eq!(s.ranges_held(100, 50).as_slice(), &[(0, 2), (4, 5)]);
        assert_eq!(s.ranges_held(100, 0).as_slice(), &[(0, 5)]);
        let have = Ranges::from_wire(vec![(0, 1), (5, 5)]);
        assert_eq!(s.missing_from(&have, 100, 50, 10), vec![2, 4]);
        assert_eq!(s.missing_from(&have, 100, 0, 1), vec![2]);
        assert!(!s.lacks_any_of(&have));
        assert!(s.lacks_any_of(&Ranges::from_wire(vec![(5, 6)])));
        assert!(s.lacks_any_of(&Ranges::from_wire(vec![(0, u64::MAX)])));
    }

    proptest::proptest! {
        /// A digest of everything describes the store exactly: a store pushes nothing to a
        /// peer holding its own digest, and pushes exactly the difference to any other peer.
        #[test]
        fn digests_are_exact(
            mine in proptest::collection::btree_set(0u64..200, 0..80),
            theirs in proptest::collection::btree_set(0u64..200, 0..80),
        ) {
            let mut a = ValueStore::new();
            let mut b = ValueStore::new();
            for &v in &mine { a.insert(v, 0); }
            for &v in &theirs { b.insert(v, 0); }
            let da = a.ranges_held(0, 0);
            let db = b.ranges_held(0, 0);
            proptest::prop_assert_eq!(da.count(), mine.len() as u64);
            proptest::prop_assert!(a.missing_from(&da, 0, 0, usize::MAX).is_empty());
            let expected: Vec<u64> = mine.difference(&theirs).copied().collect();
            proptest::prop_assert_eq!(a.missing_from(&db, 0, 0, usize::MAX), expected);
            proptest::prop_assert_eq!(a.lacks_any_of(&db), !theirs.is_subset(&mine));
            let wire = Ranges::from_wire(db.clone().into_wire());
            proptest::prop_assert_eq!(wire, db);
        }
    }
}
