#![no_std]
//! A state-based grow-only set (G-set) CRDT of integers, stored as sorted runs.
//!
//! A [`GSet`] holds `i64` elements (what Maelstrom's `g-set` workload adds: 0, 1, 2, … in
//! issue order) as a sorted list of disjoint, non-adjacent inclusive runs `[lo, hi]`, so a
//! set of consecutive integers costs one run whatever its size: `{0..=999, 1001}` is two
//! runs. Elements are only ever added. Replicas converge by [`GSet::merge`], the set union,
//! which is commutative, associative and idempotent: gossip may deliver states in any
//! order, any number of times.
//!
//! The logic is written once, generic over a [`Runs`] storage:
//! - [`BoundedRuns<N>`]: at most `N` runs in a fixed-capacity array, no allocation. An
//!   operation whose result needs more than `N` runs returns [`Error::CapacityExceeded`]
//!   and leaves the set unchanged.
//! - [`VecRuns`] (feature `alloc`): a `Vec`, unbounded.
//!
//! Deltas: [`GSet::delta_since`] answers a peer's known state with the elements the peer
//! lacks (a set itself), which the peer [`GSet::merge`]s: the same result as merging the
//! whole state. States serialize as a list of `[lo, hi]` runs in increasing order;
//! [`Elements`] serializes a set as the flat list of its elements (a `read` reply).
//!
//! Invariant of every set: runs are sorted, `lo <= hi` in each, and two consecutive runs
//! are separated by at least one missing element, so two sets with the same elements have
//! the same runs and compare equal with `==`.
//!
//! Costs, for sets of `m` and `n` runs: [`GSet::insert`] and [`GSet::contains`] search in
//! `O(log m)` (an insert that opens or closes a gap also shifts the runs after it);
//! [`GSet::merge`] and [`GSet::delta_since`] walk both run lists once, `O(m + n)`.

#[cfg(feature = "alloc")]
extern crate alloc;

mod ops;
mod runs;
mod wire;

#[cfg(feature = "alloc")]
pub use runs::VecRuns;
pub use runs::{BoundedRuns, Runs};
pub use wire::Elements;

use core::fmt;

/// An element of the set.
pub type Element = i64;

/// An inclusive run of consecutive elements `(lo, hi)`, `lo <= hi`.
pub type Run = (Element, Element);

/// Errors of set operations. Every failing operation leaves the set unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The result needs more runs than a bounded storage holds.
    CapacityExceeded,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::CapacityExceeded => f.write_str("set run capacity exceeded"),
        }
    }
}

/// A grow-only set of integers over run storage `S`.
///
/// Invariant: elements are only added (by [`GSet::insert`] and [`GSet::merge`]), never
/// removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GSet<S> {
    runs: S,
}

/// A G-set of at most `N` runs, without allocation.
pub type BoundedGSet<const N: usize> = GSet<BoundedRuns<N>>;
/// An unbounded G-set over a `Vec` of runs (feature `alloc`).
#[cfg(feature = "alloc")]
pub type VecGSet = GSet<VecRuns>;

impl<S: Runs> GSet<S> {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set has no element.
    pub fn is_empty(&self) -> bool {
        self.runs.as_slice().is_empty()
    }

    /// Number of elements, saturating at `u64::MAX` (only the full `i64` range has more).
    pub fn len(&self) -> u64 {
        self.runs
            .as_slice()
            .iter()
            .fold(0u64, |acc, &(lo, hi)| acc.saturating_add(run_len(lo, hi)))
    }

    /// Number of runs stored.
    pub fn run_count(&self) -> usize {
        self.runs.as_slice().len()
    }

    /// The runs in increasing order.
    pub fn runs(&self) -> impl Iterator<Item = Run> + '_ {
        self.runs.as_slice().iter().copied()
    }

    /// The elements in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = Element> + '_ {
        self.runs().flat_map(|(lo, hi)| lo..=hi)
    }

    /// Whether `x` is in the set (binary search over the runs).
    pub fn contains(&self, x: Element) -> bool {
        let runs = self.runs.as_slice();
        let after = runs.partition_point(|r| r.0 <= x);
        after > 0 && runs[after - 1].1 >= x
    }

    /// Adds `x`; `Ok(true)` if it was new, `Ok(false)` if already present. Errors (set
    /// unchanged): [`Error::CapacityExceeded`] if `x` needs a new run that does not fit.
    pub fn insert(&mut self, x: Element) -> Result<bool, Error> {
        let runs = self.runs.as_slice();
        let at = runs.partition_point(|r| r.0 <= x);
        let left = at.checked_sub(1).map(|i| runs[i]);
        let right = runs.get(at).copied();
        if left.is_some_and(|l| l.1 >= x) {
            return Ok(false);
        }
        let joins_left = left.is_some_and(|l| l.1.checked_add(1) == Some(x));
        let joins_right = right.is_some_and(|r| x.checked_add(1) == Some(r.0));
        match (joins_left, joins_right, left, right) {
            (true, true, Some(l), Some(r)) => {
                // x closes the gap between two runs: they become one.
                self.runs.set(at - 1, (l.0, r.1));
                self.runs.remove(at);
            }
            (true, _, Some(l), _) => self.runs.set(at - 1, (l.0, x)),
            (_, true, _, Some(r)) => self.runs.set(at, (x, r.1)),
            _ => self.runs.insert(at, (x, x))?,
        }
        Ok(true)
    }

    /// Merges `other` into `self` (set union). Commutative, associative, idempotent. Fails
    /// with [`Error::CapacityExceeded`] — leaving `self` unchanged — if the union needs
    /// more runs than a bounded storage holds; never fails for [`VecRuns`].
    pub fn merge<T: Runs>(&mut self, other: &GSet<T>) -> Result<(), Error> {
        if other.is_empty() {
            return Ok(());
        }
        let mut out = S::default();
        ops::union(self.runs.as_slice(), other.runs.as_slice(), &mut out)?;
        self.runs = out;
        Ok(())
    }

    /// The elements of `self` that `peer_known` (a peer's state, or what this node knows
    /// of it) lacks. Invariant: merging the result into `peer_known` gives the same set as
    /// merging `self`, and the result is a subset of `self`. Subtracting may split runs;
    /// when the exact difference does not fit a bounded storage, the result is the
    /// smallest superset that does: each run of `self` that holds a missing element, whole
    /// (at most `self`'s runs, so it always fits).
    pub fn delta_since<T: Runs>(&self, peer_known: &GSet<T>) -> GSet<S> {
        let (mine, theirs) = (self.runs.as_slice(), peer_known.runs.as_slice());
        let mut out = S::default();
        if ops::difference(mine, theirs, &mut out).is_ok() {
            return GSet { runs: out };
        }
        let mut out = S::default();
        for &run in mine {
            if !ops::covers(theirs, run) {
                // Cannot fail: at most as many runs as `self` holds.
                let _ = out.push(run);
            }
        }
        GSet { runs: out }
    }

    /// Whether every element of `self` is in `other`.
    pub fn is_subset<T: Runs>(&self, other: &GSet<T>) -> bool {
        let theirs = other.runs.as_slice();
        self.runs().all(|run| ops::covers(theirs, run))
    }
}

/// Number of elements of the run `lo..=hi`, saturating at `u64::MAX`.
fn run_len(lo: Element, hi: Element) -> u64 {
    // hi - lo fits a u64 for every lo <= hi of i64; only the full range overflows the + 1.
    (hi.abs_diff(lo)).saturating_add(1)
}
