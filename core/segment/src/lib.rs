#![no_std]
//! The on-disk format of a durable log, as Kafka keeps its log: a log is a sequence of
//! *segments*, each a file holding a header and then CRC-framed records, and every segment
//! is read back by a [`scan`](Records) that keeps the longest valid prefix and says what
//! was wrong after it. Sans-IO: this crate turns bytes into records and records into
//! bytes; opening, writing and syncing files is the caller's (the shell's file store).
//!
//! # Segment layout (all integers little-endian)
//!
//! ```text
//! header  (HEADER_LEN = 20 bytes):  magic "GLSG" | version: u32 = 1 | base: u64 | crc: u32
//! record  (FRAME_HEADER_LEN + n):   len: u32 = n  | crc: u32          | payload: n bytes
//! record  ...
//! ```
//!
//! - `base` is the index of the segment's first record; the record `k` frames after the
//!   header has index `base + k`. The header's `crc` is the CRC-32 of its first 16 bytes.
//! - A record's `crc` is the CRC-32 (IEEE, [`crc32fast`]) of its 4 `len` bytes followed by
//!   the payload, so a flipped bit in the length or in the payload is caught alike.
//! - A payload is at most [`MAX_RECORD`] bytes; empty payloads are allowed.
//! - `base` is at most [`MAX_BASE`] (2^63 - 1).
//!
//! # Reading a segment back
//!
//! [`Header::decode`] checks the header; [`Records`] walks the frames after it and yields
//! every complete, checksum-valid record in order until the first frame that is not one,
//! then reports the [`Damage`] found there and where the valid prefix ends. It never
//! panics, and it never drops a record that precedes the damage: the records it yields are
//! exactly the frames before the first bad one. With `alloc`, [`scan`] does the whole walk
//! at once and rebuilds the segment's [`SparseIndex`] (the byte position of every
//! [`INDEX_INTERVAL`]-th record), with which [`SparseIndex::span`] and [`find`] locate one
//! record by index while reading at most `INDEX_INTERVAL` frames of the segment.
//!
//! ```
//! use glomers_segment::{push_record, scan, Damage, Header};
//!
//! let mut seg = Header { base: 10 }.encode().to_vec();
//! for r in [&b"a"[..], b"bc", b"def"] {
//!     push_record(&mut seg, r).unwrap();
//! }
//! seg.truncate(seg.len() - 1); // a crash cut the last record
//! let s = scan(&seg).unwrap();
//! assert_eq!(s.records, [&b"a"[..], b"bc"]);
//! assert_eq!(s.next_index(), 12);
//! assert_eq!(s.damage, Some(Damage::TornPayload { declared: 3, available: 2 }));
//! ```
//!
//! Features: `alloc` (default) adds [`scan`], [`scan_each`], [`SparseIndex`] and
//! [`push_record`]; `std` adds nothing but `crc32fast`'s run-time CPU detection.

#[cfg(feature = "alloc")]
extern crate alloc;

mod frame;
mod header;
#[cfg(feature = "alloc")]
mod index;
mod records;
#[cfg(feature = "alloc")]
mod scan;

#[cfg(feature = "alloc")]
pub use frame::push_record;
pub use frame::{
    decode_frame, frame_header, valid_after_damage, Damage, TooLarge, FRAME_HEADER_LEN, MAX_RECORD,
};
pub use header::{Header, HeaderError, HEADER_LEN, MAGIC, MAX_BASE, VERSION};
#[cfg(feature = "alloc")]
pub use index::{find, Span, SparseIndex, INDEX_INTERVAL};
pub use records::{Record, Records};
#[cfg(feature = "alloc")]
pub use scan::{scan, scan_each, Scan, Walk};

#[cfg(test)]
mod tests;
