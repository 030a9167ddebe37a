//! One key's offset bookkeeping, the same for both single-key stores (the flat log of
//! [`crate::BoundedLog`] and the chunked log of [`crate::OffsetLog`]): which offset an
//! append takes, which replicated offsets are admitted, the retention floor and the
//! committed offset.

use crate::{Error, InsertOutcome};

/// Invariants: every stored offset is in `floor..next`; `next` and `committed` never
/// decrease.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Offsets {
    /// One past the largest offset ever stored: the next offset `append` assigns.
    next: u64,
    /// Offsets below were truncated by retention.
    floor: u64,
    committed: Option<u64>,
}

impl Offsets {
    #[inline]
    pub(crate) fn next_offset(&self) -> u64 {
        self.next
    }

    #[inline]
    pub(crate) fn committed(&self) -> Option<u64> {
        self.committed
    }

    /// The offset the next append takes (recorded by [`Offsets::stored`] once it is stored).
    /// Error: [`Error::Exhausted`] at `u64::MAX`.
    #[inline]
    pub(crate) fn assignable(&self) -> Result<u64, Error> {
        if self.next == u64::MAX {
            return Err(Error::Exhausted);
        }
        Ok(self.next)
    }

    /// Whether a replicated entry at `offset` may be stored: `Ok(None)` to go on,
    /// `Ok(Some(BelowRetention))` when it is to be discarded, [`Error::Exhausted`] at
    /// `u64::MAX` (no offset after it could be assigned).
    #[inline]
    pub(crate) fn admit(&self, offset: u64) -> Result<Option<InsertOutcome>, Error> {
        if offset == u64::MAX {
            return Err(Error::Exhausted);
        }
        Ok((offset < self.floor).then_some(InsertOutcome::BelowRetention))
    }

    /// Records that an entry at `offset` is stored.
    #[inline]
    pub(crate) fn stored(&mut self, offset: u64) {
        self.next = self.next.max(offset + 1);
    }

    /// Raises the committed offset to `offset` if higher; returns the committed offset.
    #[inline]
    pub(crate) fn commit(&mut self, offset: u64) -> u64 {
        let c = self.committed.map_or(offset, |c| c.max(offset));
        self.committed = Some(c);
        c
    }

    /// Raises the retention floor to `offset` if higher.
    #[inline]
    pub(crate) fn raise_floor(&mut self, offset: u64) {
        self.floor = self.floor.max(offset);
    }
}
