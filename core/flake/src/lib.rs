//! glomers-flake: 64-bit k-sortable ids, unique across nodes without coordination.
//!
//! # Layout
//!
//! ```text
//!  63  62                                   22 21           12 11            0
//! +---+---------------------------------------+---------------+---------------+
//! | 0 |  41 bits: logical ms since EPOCH      | 10 bits: node |  12 bits: seq |
//! +---+---------------------------------------+---------------+---------------+
//! ```
//!
//! * **Sign bit 0**: every id is below 2^63, so it is a positive `i64` as well as a `u64`
//!   (Maelstrom's JSON consumers and Clojure checker read integers as signed longs).
//! * **41 bits of milliseconds** since [`EPOCH_UNIX_MS`] (2024-01-01T00:00:00Z): 2^41 ms is
//!   about 69.7 years, so ids cover 2024-01-01 up to 2093-09-06 ([`MAX_UNIX_MS`]). Time comes
//!   first, so ids sort by the time they were minted (k-sorted across nodes, up to clock skew).
//! * **10 bits of node index** ([`NodeIndex`], 0..=1023): two nodes with distinct indices can
//!   never produce the same id, whatever their clocks do.
//! * **12 bits of sequence**: 4096 ids per node per logical millisecond.
//!
//! # Logical time
//!
//! A generator keeps one number: the packed `(ms, seq)` pair it will issue next, a 53-bit
//! counter whose low 12 bits are the sequence. Each call issues
//! `max(next, (wall_ms, 0))` and stores that plus one. Hence, per generator:
//!
//! * ids strictly increase, whatever the clock does (stands still, goes back, jumps);
//! * when the clock goes back, ids continue from the last logical millisecond;
//! * when a millisecond's 4096 sequence numbers are spent, the counter carries into the
//!   next millisecond: the generator *borrows* time from the future, and its logical time
//!   runs ahead of the wall clock.
//!
//! No call blocks or spins waiting for the clock. How far logical time may lead the wall
//! clock reading is bounded by the generator's `max_lead_ms` ([`DEFAULT_MAX_LEAD_MS`] unless
//! chosen with `with_max_lead`): a call that would issue an id more than `max_lead_ms` ahead
//! of the reading it was given returns [`FlakeError::ClockBehind`] and changes nothing; the
//! caller may retry once its clock has caught up. At the end of the 41-bit range the
//! generator returns [`FlakeError::TimeExhausted`]; it never wraps around.
//!
//! # Restarts
//!
//! A generator does not persist anything. A node that restarts and builds a fresh
//! generator never repeats an id of its previous life as long as its first clock reading
//! is later than the previous generator's last issued logical millisecond. Since that
//! logical time led the wall clock by at most `max_lead_ms`, it is enough that the node was
//! down for longer than `max_lead_ms` plus however far the clock was set back meanwhile.
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// Unix milliseconds of the id epoch, 2024-01-01T00:00:00Z. Logical time 0 is this instant.
pub const EPOCH_UNIX_MS: u64 = 1_704_067_200_000;
/// Bits of the time field.
pub const TIME_BITS: u32 = 41;
/// Bits of the node-index field.
pub const NODE_BITS: u32 = 10;
/// Bits of the sequence field.
pub const SEQ_BITS: u32 = 12;
/// Largest logical millisecond (since [`EPOCH_UNIX_MS`]) an id can carry.
pub const MAX_LOGICAL_MS: u64 = (1 << TIME_BITS) - 1;
/// Largest Unix millisecond an id can carry (2093-09-06T15:47:35.551Z).
pub const MAX_UNIX_MS: u64 = EPOCH_UNIX_MS + MAX_LOGICAL_MS;
/// Number of distinct node indices (indices are `0..NODE_COUNT`).
pub const NODE_COUNT: u16 = 1 << NODE_BITS;
/// Ids per node per logical millisecond.
pub const SEQ_PER_MS: u16 = 1 << SEQ_BITS;
/// Default bound on how far a generator's logical time may lead the wall clock (10 s).
pub const DEFAULT_MAX_LEAD_MS: u64 = 10_000;

const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;
const NODE_MASK: u64 = (1 << NODE_BITS) - 1;

/// Why an id could not be issued or built. No variant changes generator state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlakeError {
    /// The clock reading is before [`EPOCH_UNIX_MS`].
    ClockBeforeEpoch,
    /// The id would lead the clock reading by `lead_ms` > the generator's `max_lead_ms`
    /// (the clock went back, or ids were drawn faster than 4096 per ms for too long).
    /// Retry once the clock has caught up.
    ClockBehind {
        /// How far ahead of the reading the id would have been.
        lead_ms: u64,
    },
    /// Logical time passed [`MAX_LOGICAL_MS`]: the 41-bit range is spent.
    TimeExhausted,
    /// A sequence number given to [`FlakeId::from_parts`] is not below [`SEQ_PER_MS`].
    SeqOutOfRange,
}

impl fmt::Display for FlakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlakeError::ClockBeforeEpoch => write!(f, "clock reading is before the id epoch"),
            FlakeError::ClockBehind { lead_ms } => {
                write!(f, "logical time would lead the clock by {lead_ms} ms")
            }
            FlakeError::TimeExhausted => write!(f, "the 41-bit time range of ids is spent"),
            FlakeError::SeqOutOfRange => write!(f, "sequence number does not fit 12 bits"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FlakeError {}

/// Why a node id or number is not a valid [`NodeIndex`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeIdError {
    /// Not a canonical Maelstrom node id `n<digits>` (no sign, no leading zero but `n0`).
    Malformed,
    /// A well-formed id or number whose index is not below [`NODE_COUNT`].
    OutOfRange,
}

impl fmt::Display for NodeIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeIdError::Malformed => write!(f, "not a Maelstrom node id of the form nN"),
            NodeIdError::OutOfRange => write!(f, "node index does not fit 10 bits"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for NodeIdError {}

/// A node index that fits the 10-bit field: invariant `get() < NODE_COUNT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeIndex(u16);

impl NodeIndex {
    /// Index 0.
    pub const MIN: NodeIndex = NodeIndex(0);
    /// Index 1023.
    pub const MAX: NodeIndex = NodeIndex(NODE_COUNT - 1);

    /// The index `i`, or [`NodeIdError::OutOfRange`] when `i >= NODE_COUNT`.
    pub const fn new(i: u16) -> Result<NodeIndex, NodeIdError> {
        if i < NODE_COUNT {
            Ok(NodeIndex(i))
        } else {
            Err(NodeIdError::OutOfRange)
        }
    }

    /// The index of a Maelstrom node id: `"n7"` -> 7. Only the canonical spelling is
    /// accepted (`"n07"`, `"n"`, `"c1"`, `"n+1"` are [`NodeIdError::Malformed`]), so distinct
    /// ids map to distinct indices; an index >= 1024 is [`NodeIdError::OutOfRange`].
    pub fn parse(id: &str) -> Result<NodeIndex, NodeIdError> {
        let digits = id.strip_prefix('n').ok_or(NodeIdError::Malformed)?;
        let bytes = digits.as_bytes();
        if bytes.is_empty()
            || !bytes.iter().all(u8::is_ascii_digit)
            || (bytes.len() > 1 && bytes[0] == b'0')
        {
            return Err(NodeIdError::Malformed);
        }
        // All digits: parsing fails only on overflow, which is out of range too.
        let n: u16 = digits.parse().map_err(|_| NodeIdError::OutOfRange)?;
        NodeIndex::new(n)
    }

    /// The index as a number, below [`NODE_COUNT`].
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl FromStr for NodeIndex {
    type Err = NodeIdError;

    /// Same as [`NodeIndex::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NodeIndex::parse(s)
    }
}

impl TryFrom<u16> for NodeIndex {
    type Error = NodeIdError;

    fn try_from(i: u16) -> Result<Self, Self::Error> {
        NodeIndex::new(i)
    }
}

/// A flake id. Invariant: the sign bit is 0 (`get() < 2^63`). Serializes as a plain
/// integer; deserializing an integer with the sign bit set is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct FlakeId(u64);

/// The sign bit of an id was set: not a flake id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NotAFlakeId;

impl fmt::Display for NotAFlakeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "integer has the sign bit set; not a flake id")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for NotAFlakeId {}

impl TryFrom<u64> for FlakeId {
    type Error = NotAFlakeId;

    /// Any integer below 2^63 is a valid id (every field value is representable).
    fn try_from(raw: u64) -> Result<Self, NotAFlakeId> {
        if raw >> 63 == 0 {
            Ok(FlakeId(raw))
        } else {
            Err(NotAFlakeId)
        }
    }
}

impl From<FlakeId> for u64 {
    fn from(id: FlakeId) -> u64 {
        id.0
    }
}

impl From<FlakeId> for i64 {
    fn from(id: FlakeId) -> i64 {
        id.as_i64()
    }
}

impl fmt::Display for FlakeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The fields of an id. `unix_ms` is the id's logical time (which may lead the wall clock
/// it was minted at, see the crate docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Parts {
    /// Logical time in Unix milliseconds, in `EPOCH_UNIX_MS..=MAX_UNIX_MS`.
    pub unix_ms: u64,
    /// The minting node.
    pub node: NodeIndex,
    /// Sequence within the millisecond, below [`SEQ_PER_MS`].
    pub seq: u16,
}

impl FlakeId {
    /// The id as an unsigned integer (below 2^63).
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The id as a non-negative signed integer (same value as [`FlakeId::get`]).
    pub const fn as_i64(self) -> i64 {
        // The sign bit is 0 by the type's invariant, so the cast is value-preserving.
        self.0 as i64
    }

    /// Builds the id with the given fields: the inverse of [`FlakeId::parts`].
    pub const fn from_parts(parts: Parts) -> Result<FlakeId, FlakeError> {
        if parts.unix_ms < EPOCH_UNIX_MS {
            return Err(FlakeError::ClockBeforeEpoch);
        }
        if parts.unix_ms > MAX_UNIX_MS {
            return Err(FlakeError::TimeExhausted);
        }
        if parts.seq >= SEQ_PER_MS {
            return Err(FlakeError::SeqOutOfRange);
        }
        let ms = parts.unix_ms - EPOCH_UNIX_MS;
        Ok(FlakeId(
            (ms << (NODE_BITS + SEQ_BITS)) | ((parts.node.0 as u64) << SEQ_BITS) | parts.seq as u64,
        ))
    }

    /// Splits the id into its fields.
    pub const fn parts(self) -> Parts {
        Parts {
            unix_ms: EPOCH_UNIX_MS + (self.0 >> (NODE_BITS + SEQ_BITS)),
            // Masked to 10 bits, so always a valid index.
            node: NodeIndex(((self.0 >> SEQ_BITS) & NODE_MASK) as u16),
            seq: (self.0 & SEQ_MASK) as u16,
        }
    }
}

/// Splits `id` into its fields; same as [`FlakeId::parts`].
pub const fn decode(id: FlakeId) -> Parts {
    id.parts()
}

/// One minting step of [`Flake`]: given the packed next `(ms, seq)` counter, returns the
/// counter value to issue. The new state is that plus one.
#[inline]
fn step(next: u64, now_unix_ms: u64, max_lead_ms: u64) -> Result<u64, FlakeError> {
    let wall_ms = now_unix_ms
        .checked_sub(EPOCH_UNIX_MS)
        .ok_or(FlakeError::ClockBeforeEpoch)?;
    // A reading past the range still lets the counter be compared; it is refused below.
    let wall = wall_ms.min(MAX_LOGICAL_MS + 1) << SEQ_BITS;
    let issue = if next > wall { next } else { wall };
    let ms = issue >> SEQ_BITS;
    if ms > MAX_LOGICAL_MS {
        return Err(FlakeError::TimeExhausted);
    }
    let lead_ms = ms - wall_ms.min(ms);
    if lead_ms > max_lead_ms {
        return Err(FlakeError::ClockBehind { lead_ms });
    }
    Ok(issue)
}

#[inline]
fn compose(counter: u64, node: NodeIndex) -> FlakeId {
    FlakeId(
        ((counter >> SEQ_BITS) << (NODE_BITS + SEQ_BITS))
            | ((node.0 as u64) << SEQ_BITS)
            | (counter & SEQ_MASK),
    )
}

/// A single-owner id generator for one node.
///
/// Invariant: every id it returns is greater than every id it returned before, and carries
/// its node index; see the crate docs for the time rules.
#[derive(Clone, Debug)]
pub struct Flake {
    node: NodeIndex,
    max_lead_ms: u64,
    /// Packed `(ms << SEQ_BITS) | seq` to issue next, at the earliest.
    next: u64,
}

impl Flake {
    /// A generator for `node` with [`DEFAULT_MAX_LEAD_MS`].
    pub const fn new(node: NodeIndex) -> Flake {
        Flake::with_max_lead(node, DEFAULT_MAX_LEAD_MS)
    }

    /// A generator for `node` whose logical time never leads a clock reading by more than
    /// `max_lead_ms` (`u64::MAX`: unbounded).
    pub const fn with_max_lead(node: NodeIndex, max_lead_ms: u64) -> Flake {
        Flake {
            node,
            max_lead_ms,
            next: 0,
        }
    }

    /// The node index stamped into every id.
    pub const fn node(&self) -> NodeIndex {
        self.node
    }

    /// The next id, given the current wall clock in Unix milliseconds. On error nothing
    /// changes and no id is consumed.
    pub fn next_id(&mut self, now_unix_ms: u64) -> Result<FlakeId, FlakeError> {
        let issue = step(self.next, now_unix_ms, self.max_lead_ms)?;
        self.next = issue + 1;
        Ok(compose(issue, self.node))
    }
}

#[cfg(test)]
mod tests;
