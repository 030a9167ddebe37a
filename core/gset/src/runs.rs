//! [`Runs`]: where a [`crate::GSet`] keeps its runs, bounded or growable.

use crate::{Error, Run};

/// Storage of a set's runs: a sorted list with positional edits.
///
/// The set keeps the list sorted, disjoint and gap-separated; the storage only holds it.
/// Positions passed to the edits are valid positions of the current list.
pub trait Runs: Default + Clone {
    /// The runs, in order.
    fn as_slice(&self) -> &[Run];
    /// Replaces the run at `at`.
    fn set(&mut self, at: usize, run: Run);
    /// Inserts `run` at `at`, shifting the later runs. Fails with
    /// [`Error::CapacityExceeded`] (and changes nothing) when it does not fit.
    fn insert(&mut self, at: usize, run: Run) -> Result<(), Error>;
    /// Removes the run at `at`, shifting the later runs.
    fn remove(&mut self, at: usize);
    /// Appends `run`; fails like [`Runs::insert`].
    fn push(&mut self, run: Run) -> Result<(), Error>;
    /// Whether `extra` more runs fit.
    fn has_room_for(&self, extra: usize) -> bool;
}

/// At most `N` runs in a fixed-capacity array (no allocation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoundedRuns<const N: usize> {
    runs: heapless::Vec<Run, N>,
}

impl<const N: usize> Runs for BoundedRuns<N> {
    fn as_slice(&self) -> &[Run] {
        &self.runs
    }

    fn set(&mut self, at: usize, run: Run) {
        if let Some(r) = self.runs.get_mut(at) {
            *r = run;
        }
    }

    fn insert(&mut self, at: usize, run: Run) -> Result<(), Error> {
        self.runs
            .insert(at, run)
            .map_err(|_| Error::CapacityExceeded)
    }

    fn remove(&mut self, at: usize) {
        if at < self.runs.len() {
            self.runs.remove(at);
        }
    }

    fn push(&mut self, run: Run) -> Result<(), Error> {
        self.runs.push(run).map_err(|_| Error::CapacityExceeded)
    }

    fn has_room_for(&self, extra: usize) -> bool {
        self.runs.len().saturating_add(extra) <= N
    }
}

/// Unbounded runs in a `Vec` (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VecRuns {
    runs: alloc::vec::Vec<Run>,
}

#[cfg(feature = "alloc")]
impl Runs for VecRuns {
    fn as_slice(&self) -> &[Run] {
        &self.runs
    }

    fn set(&mut self, at: usize, run: Run) {
        if let Some(r) = self.runs.get_mut(at) {
            *r = run;
        }
    }

    fn insert(&mut self, at: usize, run: Run) -> Result<(), Error> {
        self.runs.insert(at.min(self.runs.len()), run);
        Ok(())
    }

    fn remove(&mut self, at: usize) {
        if at < self.runs.len() {
            self.runs.remove(at);
        }
    }

    fn push(&mut self, run: Run) -> Result<(), Error> {
        self.runs.push(run);
        Ok(())
    }

    fn has_room_for(&self, _extra: usize) -> bool {
        true
    }
}
