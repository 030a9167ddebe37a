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
//! **Shape of the log.** Entries are contiguous from index 1 to [`Storage::last_index`];
//! index 0 is the empty prefix, of term 0. [`Storage::append`] always continues at
//! `last_index() + 1`; [`Storage::truncate`] drops a suffix, and is never asked to drop an
//! entry at or below the node's commit index. No compaction: the whole log stays readable.
//!
//! A failed write surfaces as [`Error::Storage`](crate::Error::Storage); the instance must
//! then be dropped and rebuilt from storage (a restart), since the write may have half-happened.

use crate::message::{Entry, NodeId};
use serde::{Deserialize, Serialize};

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

    /// The saved term and vote ([`HardState::default`] on first start).
    fn hard_state(&self) -> Result<HardState, Self::Error>;
    /// Replaces the term and vote.
    fn save_hard_state(&mut self, state: HardState) -> Result<(), Self::Error>;
    /// Index of the last entry (0 when empty).
    fn last_index(&self) -> u64;
    /// Term of the entry at `index` (`Some(0)` for index 0, `None` past the end).
    fn term(&self, index: u64) -> Result<Option<u64>, Self::Error>;
    /// The entry at `index`, if any (`None` for 0 and past the end).
    fn entry(&self, index: u64) -> Result<Option<Entry<C>>, Self::Error>;
    /// Appends `entries`, whose indexes continue at `last_index() + 1`.
    fn append(&mut self, entries: &[Entry<C>]) -> Result<(), Self::Error>;
    /// Drops every entry at index `from` or later.
    fn truncate(&mut self, from: u64) -> Result<(), Self::Error>;
}

#[cfg(feature = "alloc")]
pub use mem::MemStorage;

#[cfg(feature = "alloc")]
mod mem {
    use super::{Entry, HardState, Storage};
    use alloc::vec::Vec;

    /// [`Storage`] in memory: what the tests, the simulator and a node whose "disk" is its
    /// process (as in Maelstrom, where a killed node restarts empty) use. It keeps every
    /// entry, so it grows with the log.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct MemStorage<C> {
        hard: HardState,
        log: Vec<Entry<C>>,
    }

    impl<C> MemStorage<C> {
        /// An empty log at term 0 with no vote.
        pub fn new() -> Self {
            MemStorage {
                hard: HardState::default(),
                log: Vec::new(),
            }
        }

        /// The entries, from index 1.
        pub fn entries(&self) -> &[Entry<C>] {
            &self.log
        }
    }

    impl<C: Clone> Storage<C> for MemStorage<C> {
        type Error = core::convert::Infallible;

        fn hard_state(&self) -> Result<HardState, Self::Error> {
            Ok(self.hard)
        }

        fn save_hard_state(&mut self, state: HardState) -> Result<(), Self::Error> {
            self.hard = state;
            Ok(())
        }

        fn last_index(&self) -> u64 {
            self.log.len() as u64
        }

        fn term(&self, index: u64) -> Result<Option<u64>, Self::Error> {
            if index == 0 {
                return Ok(Some(0));
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
            let keep = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
            self.log.truncate(keep);
            Ok(())
        }
    }

    impl<C> MemStorage<C> {
        fn entry_ref(&self, index: u64) -> Option<&Entry<C>> {
            let i = usize::try_from(index.checked_sub(1)?).ok()?;
            self.log.get(i)
        }
    }
}
