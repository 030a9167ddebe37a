//! The walk over a segment's frames: every valid record in order, then where the valid
//! prefix ends and why.

use crate::frame::{decode_frame, Damage};
use crate::header::{Header, HeaderError, HEADER_LEN};

/// One record found in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The record's index in its log.
    pub index: u64,
    /// The byte position of its frame in the segment.
    pub pos: u64,
    /// Its payload.
    pub payload: &'a [u8],
}

/// An iterator over the valid records of a segment's bytes (or of a slice of them that
/// starts at a frame). It stops at the end of the bytes or at the first frame that is not
/// a complete, checksum-valid record; then [`Records::damage`] says what was found there
/// and [`Records::valid_end`] where the valid prefix ends. Never panics, allocates nothing.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    bytes: &'a [u8],
    /// Position of `bytes[0]` in the segment.
    origin: u64,
    /// Offset in `bytes` of the next frame.
    at: usize,
    next_index: u64,
    damage: Option<Damage>,
}

impl<'a> Records<'a> {
    /// Reads the header of a whole segment and walks the records after it.
    pub fn segment(segment: &'a [u8]) -> Result<(Header, Records<'a>), HeaderError> {
        let header = Header::decode(segment)?;
        let body = segment.get(HEADER_LEN..).unwrap_or_default();
        Ok((header, Records::at(body, HEADER_LEN as u64, header.base)))
    }

    /// Walks frames in `bytes`, which start at byte `pos` of a segment with the frame of
    /// record `index` (e.g. a span read through a [`crate::SparseIndex`]).
    pub fn at(bytes: &'a [u8], pos: u64, index: u64) -> Records<'a> {
        Records {
            bytes,
            origin: pos,
            at: 0,
            next_index: index,
            damage: None,
        }
    }

    /// What the first invalid frame looked like, once the walk has reached it (`None`
    /// while walking, and at a clean end).
    pub fn damage(&self) -> Option<Damage> {
        self.damage
    }

    /// The segment position just past the last record yielded so far: after the walk, the
    /// length of the valid prefix (truncate the file there to drop the damage).
    pub fn valid_end(&self) -> u64 {
        self.origin + self.at as u64
    }

    /// The index the next record would have: after the walk, one past the last valid one.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Bytes from [`Records::valid_end`] to the end of the input (what the damage spans).
    pub fn rest_len(&self) -> usize {
        self.bytes.len() - self.at
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.damage.is_some() {
            return None;
        }
        let rest = self.bytes.get(self.at..).filter(|r| !r.is_empty())?;
        match decode_frame(rest) {
            Ok((payload, frame_len)) => {
                let record = Record {
                    index: self.next_index,
                    pos: self.valid_end(),
                    payload,
                };
                self.at += frame_len;
                self.next_index = self.next_index.saturating_add(1);
                Some(record)
            }
            Err(damage) => {
                self.damage = Some(damage);
                None
            }
        }
    }
}
