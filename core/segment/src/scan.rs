//! The whole read of one segment: its header, every valid record, its sparse index, and
//! where the valid prefix ends.

use alloc::vec::Vec;

use crate::frame::Damage;
use crate::header::{Header, HeaderError};
use crate::index::SparseIndex;
use crate::records::{Record, Records};

/// What [`scan`] found in a segment whose header is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan<'a> {
    /// The segment's header.
    pub header: Header,
    /// The payloads of the valid records, in order: record `header.base + i` is
    /// `records[i]`.
    pub records: Vec<&'a [u8]>,
    /// The segment's sparse index over those records.
    pub index: SparseIndex,
    /// The length of the valid prefix: header and valid records.
    pub valid_end: u64,
    /// What follows the valid prefix, if anything does.
    pub damage: Option<Damage>,
    /// Bytes after the valid prefix (0 when `damage` is `None`).
    pub damaged_len: usize,
}

impl Scan<'_> {
    /// One past the index of the last valid record.
    pub fn next_index(&self) -> u64 {
        self.header.base + self.records.len() as u64
    }
}

/// What [`scan_each`] found in a segment whose header is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// The segment's header.
    pub header: Header,
    /// How many valid records it holds.
    pub count: u64,
    /// The segment's sparse index over them.
    pub index: SparseIndex,
    /// The length of the valid prefix: header and valid records.
    pub valid_end: u64,
    /// What follows the valid prefix, if anything does.
    pub damage: Option<Damage>,
    /// Bytes after the valid prefix (0 when `damage` is `None`).
    pub damaged_len: usize,
}

/// Reads a whole segment, handing each valid record to `each` in order: `Err` if its
/// header is unreadable (then no record of it is), else the rebuilt sparse index and the
/// damage after the records, if any. Never panics on any input. [`scan`] is this with the
/// records collected.
pub fn scan_each<'a>(
    segment: &'a [u8],
    mut each: impl FnMut(Record<'a>),
) -> Result<Walk, HeaderError> {
    let (header, mut walk) = Records::segment(segment)?;
    let mut index = SparseIndex::new(header.base);
    let mut count = 0;
    for r in walk.by_ref() {
        index.note(r.index, r.pos);
        count += 1;
        each(r);
    }
    Ok(Walk {
        header,
        count,
        index,
        valid_end: walk.valid_end(),
        damage: walk.damage(),
        damaged_len: walk.rest_len(),
    })
}

/// Reads a whole segment: `Err` if its header is unreadable (then no record of it is),
/// else every valid record, the rebuilt sparse index and the damage after them, if any.
/// Never panics on any input.
pub fn scan(segment: &[u8]) -> Result<Scan<'_>, HeaderError> {
    let mut records = Vec::new();
    let walk = scan_each(segment, |r| records.push(r.payload))?;
    Ok(Scan {
        header: walk.header,
        records,
        index: walk.index,
        valid_end: walk.valid_end,
        damage: walk.damage,
        damaged_len: walk.damaged_len,
    })
}
