//! The sparse offset index of one segment: the byte position of every
//! [`INDEX_INTERVAL`]-th record, so that one record is found by reading at most
//! `INDEX_INTERVAL` frames instead of the whole segment.

use alloc::vec::Vec;

use crate::frame::Damage;
use crate::records::Records;

/// Records between two index entries: the index holds the position of records `base`,
/// `base + 64`, `base + 128`, ... (one `u64` per 64 records, 1/8 byte per record), and a
/// lookup reads at most 64 frames.
pub const INDEX_INTERVAL: u64 = 64;

/// The bytes of a segment that hold one record: read `start..end`, then [`find`] in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The index of the record whose frame starts at `start`.
    pub first: u64,
    /// Segment position of that frame.
    pub start: u64,
    /// Segment position where the span ends (the next index entry, or the valid end).
    pub end: u64,
}

/// The sparse index of one segment whose first record is `base`.
///
/// Invariant: `positions[k]` is the position of record `base + k * INDEX_INTERVAL`, and
/// the positions increase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SparseIndex {
    base: u64,
    positions: Vec<u64>,
}

impl SparseIndex {
    /// An empty index of a segment whose first record is `base`.
    pub fn new(base: u64) -> SparseIndex {
        SparseIndex {
            base,
            positions: Vec::new(),
        }
    }

    /// Tells the index that record `index` starts at `pos`; call it for every record in
    /// order (a scan and every append do). It keeps the positions of every
    /// [`INDEX_INTERVAL`]-th record and ignores anything out of order.
    pub fn note(&mut self, index: u64, pos: u64) {
        let Some(offset) = index.checked_sub(self.base) else {
            return;
        };
        let in_order = self.positions.last().is_none_or(|last| pos > *last);
        if offset % INDEX_INTERVAL == 0
            && offset / INDEX_INTERVAL == self.positions.len() as u64
            && in_order
        {
            self.positions.push(pos);
        }
    }

    /// The bytes that hold record `index` if the segment's valid records end at byte
    /// `valid_end`; `None` when `index` is below the segment or past its last entry's span.
    /// The caller knows how many records the segment holds and asks only for those.
    pub fn span(&self, index: u64, valid_end: u64) -> Option<Span> {
        let k = usize::try_from(index.checked_sub(self.base)? / INDEX_INTERVAL).ok()?;
        let start = *self.positions.get(k)?;
        let end = self.positions.get(k + 1).copied().unwrap_or(valid_end);
        Some(Span {
            first: self
                .base
                .saturating_add((k as u64).saturating_mul(INDEX_INTERVAL)),
            start,
            end: end.max(start),
        })
    }

    /// How many positions the index holds.
    pub fn entries(&self) -> usize {
        self.positions.len()
    }

    /// The index of the segment's first record.
    pub fn base(&self) -> u64 {
        self.base
    }
}

/// Record `index`'s payload in `bytes`, the bytes of `span` as read from the segment:
/// `Ok(None)` if the span ends before it, `Err` if a damaged frame precedes it (the bytes
/// changed since they were indexed).
pub fn find(bytes: &[u8], span: Span, index: u64) -> Result<Option<&[u8]>, Damage> {
    let mut records = Records::at(bytes, span.start, span.first);
    for r in records.by_ref() {
        if r.index == index {
            return Ok(Some(r.payload));
        }
    }
    match records.damage() {
        Some(d) => Err(d),
        None => Ok(None),
    }
}
