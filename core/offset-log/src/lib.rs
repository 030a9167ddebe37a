#![no_std]
//! Kafka-style per-key logs of `(offset, message)` entries.
//!
//! - [`OffsetLog<K, M>`] (feature `alloc`): many keys, each a growable log, plus committed
//!   offsets per key. Offsets come from [`OffsetLog::append`] (next after the largest ever
//!   held, starting at 0) or arrive out of order from replication via
//!   [`OffsetLog::insert_at`] (idempotent; a different message at a taken offset is a
//!   [`Error::Conflict`], never an overwrite).
//! - [`BoundedLog<M, N>`]: the same for one key in at most `N` entries, no allocation.
//!
//! Invariants shared by every form:
//! - the entries of a key are kept in strictly increasing offset order;
//! - a read from offset `from` starts at the first *stored* offset `>= from` and returns
//!   consecutive stored entries, never skipping one;
//! - memory grows only with the stored entries, never with the span of offsets, so offsets
//!   may be sparse (e.g. residue classes per node). `OffsetLog` stores one message per
//!   entry in runs of consecutive offsets and a message plus its offset elsewhere;
//!   `BoundedLog` stores an offset with every message.
//!
//! Offsets are `u64`; the largest storable offset is `u64::MAX - 1` (so that "one past
//! the largest" always exists). Anything larger is refused with [`Error::Exhausted`].
//!
//! Retention plugs in through [`RetentionPolicy`] and `truncate_before`: entries below a
//! key's retention floor are dropped, reads from below the floor start at the first
//! retained entry, and a replicated entry arriving below the floor is discarded
//! ([`InsertOutcome::BelowRetention`]) rather than resurrected.

#[cfg(feature = "alloc")]
extern crate alloc;

mod bounded;
#[cfg(feature = "alloc")]
mod chunked;
mod key;
mod keylog;
#[cfg(feature = "alloc")]
mod map;
mod offsets;
#[cfg(feature = "alloc")]
mod prefetch;

pub use bounded::BoundedLog;
#[cfg(feature = "alloc")]
pub use chunked::Entries;
pub use key::KeyEq;
#[cfg(feature = "alloc")]
pub use map::{KeepLast, OffsetLog, RetentionPolicy};

use core::fmt;
use serde::{Deserialize, Serialize};

/// One stored message and its offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry<M> {
    /// The message's offset within its key's log.
    pub offset: u64,
    /// The message.
    pub msg: M,
}

/// What [`OffsetLog::insert_at`] / [`BoundedLog::insert_at`] did with a replicated entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The entry was new and is now stored.
    Inserted,
    /// The same message was already stored at that offset (idempotent re-delivery).
    AlreadyPresent,
    /// The offset is below the key's retention floor; the entry was discarded.
    BelowRetention,
}

/// Errors of log operations. A failing operation changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The offset is already taken by a different message; the stored one is kept.
    Conflict {
        /// The contested offset.
        offset: u64,
    },
    /// A bounded log holds its maximum number of entries.
    Full,
    /// The offset (requested, or next to assign) would be `u64::MAX`.
    Exhausted,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Conflict { offset } => {
                write!(f, "offset {offset} already holds a different message")
            }
            Error::Full => f.write_str("log is full"),
            Error::Exhausted => f.write_str("offset space exhausted"),
        }
    }
}
