//! A single-key log of at most `N` entries, without allocation.

use crate::keylog::KeyLog;
use crate::{Entry, Error, InsertOutcome};

/// One key's log in a fixed-capacity `heapless::Vec` of `N` entries, with the same
/// semantics as one key of [`crate::OffsetLog`]. When full, `append`/`insert_at` return
/// [`Error::Full`] and change nothing; `truncate_before` frees room.
#[derive(Debug)]
pub struct BoundedLog<M, const N: usize> {
    log: KeyLog<heapless::Vec<Entry<M>, N>, M>,
}

impl<M, const N: usize> Default for BoundedLog<M, N> {
    fn default() -> Self {
        BoundedLog {
            log: KeyLog::default(),
        }
    }
}

impl<M, const N: usize> BoundedLog<M, N> {
    /// An empty log; the first append gets offset 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends at the next offset (one past the largest ever stored). O(1).
    /// Errors: [`Error::Full`], [`Error::Exhausted`].
    pub fn append(&mut self, msg: M) -> Result<u64, Error> {
        self.log.append(msg)
    }

    /// Stores a replicated entry at `offset`, keeping offsets sorted. Idempotent for the
    /// same message; [`Error::Conflict`] for a different one (never overwrites).
    /// O(1) at the tail, O(log n + shifted entries) otherwise.
    pub fn insert_at(&mut self, offset: u64, msg: M) -> Result<InsertOutcome, Error>
    where
        M: PartialEq,
    {
        self.log.insert_at(offset, msg)
    }

    /// At most `max` stored entries in offset order from the first offset `>= from`.
    pub fn read(&self, from: u64, max: usize) -> &[Entry<M>] {
        self.log.read(from, max)
    }

    /// Raises the committed offset to `offset` if higher (never lowers it); returns it.
    pub fn commit(&mut self, offset: u64) -> u64 {
        self.log.commit(offset)
    }

    /// The committed offset, if any commit happened.
    pub fn committed(&self) -> Option<u64> {
        self.log.committed()
    }

    /// The offset the next `append` assigns.
    pub fn next_offset(&self) -> u64 {
        self.log.next_offset()
    }

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.log.entries().len()
    }

    /// Whether no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops entries below `offset` (retention); later inserts below it are discarded.
    /// Returns the number dropped.
    pub fn truncate_before(&mut self, offset: u64) -> usize {
        self.log.truncate_before(offset)
    }
}
