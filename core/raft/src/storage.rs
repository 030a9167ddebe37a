//! The persistent state, behind a trait the caller implements.
//!
//! # Contract
//!
//! Raft's safety rests on three things surviving a crash: the current term, the vote cast
//! in it, and the log. [`Raft`](crate::Raft) writes them only through [`Storage`], and reads
//! them back through it (read-your-writes: a read sees every earlier write at once, durable
//! or not).
//!
//! **Durability.** Every write made during one call on [`Raft`](crate::Raft) (`step`,
//! `tick`, `propose`, `read`) must be durable (fsynced) before *any* output of that call
//! is released: a granted vote must not leave before the vote is on disk (or the node could
//! vote twice in a term after a restart), an append acknowledgement must not leave before the
//! acknowledged entries are (or a "committed" entry could vanish with a crash), and a leader
//! must not apply (and answer a client) an entry that a majority holds counting its own
//! copy unless that copy is durable. A storage that syncs inside each write needs nothing
//! more; one that batches syncs once after the call and then releases the outputs.
//!
//! **Shape of the log.** The log may start after a [`Snapshot`]: the application's state
//! after applying every entry up to the snapshot's `index`, of term `term`. Entries are
//! contiguous from [`Storage::first_index`] (the snapshot's index plus one, 1 without a
//! snapshot) to [`Storage::last_index`]; [`Storage::term`] also answers for the snapshot's
//! index (index 0 is the empty prefix, of term 0), and nothing below it. [`Storage::append`]
//! always continues at `last_index() + 1`; [`Storage::truncate`] drops a suffix, and is never
//! asked to drop an entry at or below the node's commit index.
//!
//! **Compaction.** [`Storage::install_snapshot`] is the one way the log shrinks at its
//! front: the node calls it when the application compacts ([`Raft::compact`], a snapshot
//! of what it applied) and when a leader sends a snapshot the follower lacks. Entries at or
//! below the snapshot's index go; those after it stay if the log holds the snapshot's last
//! entry (same index and term), else the whole log goes (it disagrees with the snapshot).
//! The snapshot only ever covers committed entries, and it is durable under the same rule
//! as every other write (before the call's outputs are released).
//!
//! [`Raft::compact`]: crate::Raft::compact
//!
//! A failed write surfaces as [`Error::Storage`](crate::Error::Storage); the instance must
//! then be dropped and rebuilt from storage (a restart), since the write may have half-happened.

use crate::message::{Entry, NodeId};
use serde::{Deserialize, Serialize};

/// The application's state after applying every entry up to `index`: what replaces the
/// log's prefix up to `index`. `D` is opaque to the core (the application's choice, like the
/// command type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot<D> {
    /// The last entry the snapshot covers.
    pub index: u64,
    /// That entry's term.
    pub term: u64,
    /// The application's state at `index`.
    pub data: D,
}

/// The term and vote: what must be durable before a vote or a term change is acted on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    /// The latest term this node has seen.
    pub term: u64,
    /// Whom it voted for in `term`, if anyone.
    pub vote: Option<NodeId>,
}

/// Durable storage of one node's [`HardState`] and log. See the module docs for the
/// contract.
pub trait Storage<C> {
    /// Why an operation failed.
    type Error: core::fmt::Debug + core::fmt::Display;
    /// The application's snapshot data ([`Snapshot::data`]).
    type Snapshot: Clone;

    /// The saved term and vote ([`HardState::default`] on first start).
    fn hard_state(&self) -> Result<HardState, Self::Error>;
    /// Replaces the term and vote.
    fn save_hard_state(&mut self, state: HardState) -> Result<(), Self::Error>;
    /// Index of the first entry held: the snapshot's index plus one (1 without a snapshot).
    fn first_index(&self) -> u64;
    /// Index of the last entry (the snapshot's index when no entry follows it; 0 when
    /// empty).
    fn last_index(&self) -> u64;
    /// Term of the entry at `index`: the snapshot's term at `first_index() - 1` (`Some(0)`
    /// for index 0 without a snapshot), `None` below it and past the end.
    fn term(&self, index: u64) -> Result<Option<u64>, Self::Error>;
    /// The entry at `index`, if held (`None` below `first_index()` and past the end).
    fn entry(&self, index: u64) -> Result<Option<Entry<C>>, Self::Error>;
    /// The latest snapshot, if any.
    fn snapshot(&self) -> Result<Option<Snapshot<Self::Snapshot>>, Self::Error>;
    /// Keeps `snapshot` in place of the log up to its index (see the module docs): the
    /// entries after it stay if the log holds its last entry with its term, else they go.
    fn install_snapshot(&mut self, snapshot: Snapshot<Self::Snapshot>) -> Result<(), Self::Error>;
    /// Appends `entries`, whose indexes continue at `last_index() + 1`.
    fn append(&mut self, entries: &[Entry<C>]) -> Result<(), Self::Error>;
    /// Drops every entry at index `from` or later.
    fn truncate(&mut self, from: u64) -> Result<(), Self::Error>;
}

#[cfg(feature = "alloc")]
pub use mem::MemStorage;

#[cfg(feature = "alloc")]
mod mem {
    use super::{Entry, HardState, Snapshot, Storage};
    use alloc::vec::Vec;

    /// [`Storage`] in memory: what the tests, the simulator and a node whose "disk" is its
    /// process (as in Maelstrom, where a killed node restarts empty) use. It keeps the
    /// latest snapshot and the entries after it, so it grows with the log only until the
    /// application compacts. `D` is the snapshot data.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct MemStorage<C, D = ()> {
        hard: HardState,
        snapshot: Option<Snapshot<D>>,
        /// Entries from `first_index()`.
        log: Vec<Entry<C>>,
    }

    impl<C, D> Default for MemStorage<C, D> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<C, D> MemStorage<C, D> {
        /// An empty log at term 0 with no vote.
        pub fn new() -> Self {
            MemStorage {
                hard: HardState::default(),
                snapshot: None,
                log: Vec::new(),
            }
        }

        /// The entries held, from `first_index()`.
        pub fn entries(&self) -> &[Entry<C>] {
            &self.log
        }

        /// The index and term of the snapshot's last entry ((0, 0) without one).
        fn base(&self) -> (u64, u64) {
            self.snapshot.as_ref().map_or((0, 0), |s| (s.index, s.term))
        }

        fn entry_ref(&self, index: u64) -> Option<&Entry<C>> {
            let i = usize::try_from(index.checked_sub(self.base().0 + 1)?).ok()?;
            self.log.get(i)
        }
    }

    impl<C: Clone, D: Clone> Storage<C> for MemStorage<C, D> {
        type Error = core::convert::Infallible;
        type Snapshot = D;

        fn hard_state(&self) -> Result<HardState, Self::Error> {
            Ok(self.hard)
        }

        fn save_hard_state(&mut self, state: HardState) -> Result<(), Self::Error> {
            self.hard = state;
            Ok(())
        }

        fn first_index(&self) -> u64 {
            self.base().0 + 1
        }

        fn last_index(&self) -> u64 {
            self.base().0 + self.log.len() as u64
        }

        fn term(&self, index: u64) -> Result<Option<u64>, Self::Error> {
            let (base, term) = self.base();
            if index == base {
                return Ok(Some(term));
            }
            Ok(self.entry_ref(index).map(|e| e.term))
        }

        fn entry(&self, index: u64) -> Result<Option<Entry<C>>, Self::Error> {
            Ok(self.entry_ref(index).cloned())
        }

        fn append(&mut self, entries: &[Entry<C>]) -> Result<(), Self::Error> {
            self.log.extend_from_slice(entries);
            Ok(())
        }

        fn truncate(&mut self, from: u64) -> Result<(), Self::Error> {
            let keep = from.saturating_sub(self.base().0 + 1);
            self.log
                .truncate(usize::try_from(keep).unwrap_or(usize::MAX));
            Ok(())
        }

        fn snapshot(&self) -> Result<Option<Snapshot<D>>, Self::Error> {
            Ok(self.snapshot.clone())
        }

        fn install_snapshot(&mut self, snapshot: Snapshot<D>) -> Result<(), Self::Error> {
            let held = self.term(snapshot.index).unwrap_or(None);
            if held == Some(snapshot.term) && snapshot.index >= self.base().0 {
                let drop = snapshot.index + 1 - self.first_index();
                self.log
                    .drain(..usize::try_from(drop).unwrap_or(usize::MAX));
            } else {
                self.log.clear();
            }
            self.snapshot = Some(snapshot);
            Ok(())
        }
    }
}
