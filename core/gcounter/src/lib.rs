#![no_std]
//! State-based grow-only (G) and positive-negative (PN) counter CRDTs.
//!
//! A [`GCounter`] holds one slot per node: `node index -> count`. Each node only ever
//! increments its *own* slot (a convention the type cannot enforce: the caller passes its
//! own node index to [`GCounter::increment`]). Replicas converge by [`GCounter::merge`],
//! the pointwise maximum of the slots, which is commutative, associative and idempotent,
//! so gossip may deliver states in any order, any number of times. The counter's value is
//! the sum of the slots.
//!
//! The logic is written once, generic over a [`Slots`] storage:
//! - [`BoundedSlots<N>`]: at most `N` nodes in a sorted fixed-capacity array, no
//!   allocation. An operation that would need more than `N` slots returns
//!   [`Error::CapacityExceeded`] and leaves the counter unchanged.
//! - [`MapSlots`] (feature `alloc`): a `BTreeMap`, unbounded.
//!
//! Gossip: a peer sends what it has (its state, the *digest*); [`GCounter::delta_since`]
//! answers with only the slots where we are ahead (a [`Delta`]), which the peer
//! [`GCounter::apply`]s. Applying the delta is equivalent to merging the full state.
//! States and deltas serialize as a list of `[node, count]` pairs in node order.
//!
//! Invariant of every storage: no slot holds a zero count (an absent slot *is* zero), so
//! two counters with equal slots compare equal with `==`.
//!
//! Overflow: a single slot is a `u64`; [`GCounter::increment`] that would overflow its
//! slot returns [`Error::Overflow`] and changes nothing. The [`GCounter::value`] sum
//! saturates at `u64::MAX`.

#[cfg(feature = "alloc")]
extern crate alloc;

use core::fmt;
use core::marker::PhantomData;
use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A node index: the owner of one slot.
pub type NodeId = u32;

/// Errors of counter operations. Every failing operation leaves the counter unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The operation needs more distinct node slots than a bounded storage holds.
    CapacityExceeded,
    /// An increment would overflow the node's `u64` slot.
    Overflow,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::CapacityExceeded => f.write_str("counter slot capacity exceeded"),
            Error::Overflow => f.write_str("counter slot overflow"),
        }
    }
}

/// Storage of G-counter slots.
///
/// Implementations guarantee: iteration is in increasing node order, each node appears at
/// most once, and no stored count is zero.
pub trait Slots: Default + Clone {
    /// The count of `node`, 0 if it has no slot.
    fn get(&self, node: NodeId) -> u64;
    /// Sets `node`'s slot to `count` (> 0), creating it if needed. Fails with
    /// [`Error::CapacityExceeded`] (and changes nothing) if a new slot does not fit.
    fn set(&mut self, node: NodeId, count: u64) -> Result<(), Error>;
    /// Number of stored (non-zero) slots.
    fn len(&self) -> usize;
    /// Whether no slot is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether `extra` new slots fit besides the stored ones.
    fn has_room_for(&self, extra: usize) -> bool;
    /// The slots `(node, count)` in increasing node order.
    fn iter(&self) -> impl Iterator<Item = (NodeId, u64)> + '_;
    /// Keeps only the slots for which `keep` returns true.
    fn retain(&mut self, keep: impl FnMut(NodeId, u64) -> bool);
}

/// At most `N` slots in a sorted fixed-capacity array (binary search lookup, no allocation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoundedSlots<const N: usize> {
    slots: heapless::Vec<(NodeId, u64), N>,
}

impl<const N: usize> Slots for BoundedSlots<N> {
    fn get(&self, node: NodeId) -> u64 {
        match self.slots.binary_search_by_key(&node, |s| s.0) {
            Ok(i) => self.slots[i].1,
            Err(_) => 0,
        }
    }

    fn set(&mut self, node: NodeId, count: u64) -> Result<(), Error> {
        match self.slots.binary_search_by_key(&node, |s| s.0) {
            Ok(i) => {
                self.slots[i].1 = count;
                Ok(())
            }
            Err(i) => self
                .slots
                .insert(i, (node, count))
                .map_err(|_| Error::CapacityExceeded),
        }
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    fn has_room_for(&self, extra: usize) -> bool {
        self.slots.len().saturating_add(extra) <= N
    }

    fn iter(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.slots.iter().copied()
    }

    fn retain(&mut self, mut keep: impl FnMut(NodeId, u64) -> bool) {
        self.slots.retain(|s| keep(s.0, s.1));
    }
}

/// Unbounded slots in a `BTreeMap` (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapSlots {
    slots: alloc::collections::BTreeMap<NodeId, u64>,
}

#[cfg(feature = "alloc")]
impl Slots for MapSlots {
    fn get(&self, node: NodeId) -> u64 {
        self.slots.get(&node).copied().unwrap_or(0)
    }

    fn set(&mut self, node: NodeId, count: u64) -> Result<(), Error> {
        self.slots.insert(node, count);
        Ok(())
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    fn has_room_for(&self, _extra: usize) -> bool {
        true
    }

    fn iter(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.slots.iter().map(|(n, c)| (*n, *c))
    }

    fn retain(&mut self, mut keep: impl FnMut(NodeId, u64) -> bool) {
        self.slots.retain(|n, c| keep(*n, *c));
    }
}

/// A state-based grow-only counter over storage `S`.
///
/// Invariant: every slot only grows (under `increment` and `merge`), hence so does
/// [`GCounter::value`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GCounter<S> {
    slots: S,
}

/// A G-counter of at most `N` nodes, without allocation.
pub type BoundedGCounter<const N: usize> = GCounter<BoundedSlots<N>>;
/// An unbounded G-counter over a `BTreeMap` (feature `alloc`).
#[cfg(feature = "alloc")]
pub type MapGCounter = GCounter<MapSlots>;

/// The slots where the sender is ahead of a peer's digest: a partial state whose merge
/// brings the peer up to the sender. Serializes as a list of `[node, count]` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta<S>(GCounter<S>);

impl<S: Slots> Delta<S> {
    /// Whether the delta carries no slot (the peer is not behind anywhere).
    pub fn is_empty(&self) -> bool {
        self.0.slots.is_empty()
    }
    /// Number of slots carried.
    pub fn len(&self) -> usize {
        self.0.slots.len()
    }
    /// The carried `(node, count)` slots in node order.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.0.slots.iter()
    }
}

impl<S: Slots> GCounter<S> {
    /// An empty counter (value 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `delta` to `node`'s slot. By convention a node only increments its own slot;
    /// incrementing another's would break convergence when that node increments too.
    /// Errors (state unchanged): [`Error::Overflow`] if the slot would exceed `u64::MAX`,
    /// [`Error::CapacityExceeded`] if a new slot does not fit. `delta == 0` is a no-op.
    pub fn increment(&mut self, node: NodeId, delta: u64) -> Result<(), Error> {
        if delta == 0 {
            return Ok(());
        }
        let next = self
            .slots
            .get(node)
            .checked_add(delta)
            .ok_or(Error::Overflow)?;
        self.slots.set(node, next)
    }

    /// The count of `node`'s slot (0 if absent).
    pub fn get(&self, node: NodeId) -> u64 {
        self.slots.get(node)
    }

    /// The counter's value: the sum of all slots, saturating at `u64::MAX`.
    pub fn value(&self) -> u64 {
        self.slots
            .iter()
            .fold(0u64, |acc, (_, c)| acc.saturating_add(c))
    }

    /// The `(node, count)` slots in node order (never a zero count).
    pub fn slots(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.slots.iter()
    }

    /// Number of slots that would have to be created to merge `other`.
    fn new_slots_for<T: Slots>(&self, other: &GCounter<T>) -> usize {
        other
            .slots
            .iter()
            .filter(|&(n, c)| c > 0 && self.slots.get(n) == 0)
            .count()
    }

    /// Merges `other` into `self`: every slot becomes the maximum of both. Commutative,
    /// associative, idempotent. Fails with [`Error::CapacityExceeded`] — leaving `self`
    /// entirely unchanged — if the union of nodes does not fit a bounded storage; never
    /// fails for [`MapSlots`].
    pub fn merge<T: Slots>(&mut self, other: &GCounter<T>) -> Result<(), Error> {
        if !self.slots.has_room_for(self.new_slots_for(other)) {
            return Err(Error::CapacityExceeded);
        }
        self.merge_unchecked(other);
        Ok(())
    }

    /// Merge after the capacity check succeeded.
    fn merge_unchecked<T: Slots>(&mut self, other: &GCounter<T>) {
        for (n, c) in other.slots.iter() {
            if c > self.slots.get(n) {
                // Cannot fail: the caller checked that every new slot fits.
                let _ = self.slots.set(n, c);
            }
        }
    }

    /// The slots where `self` is ahead of `peer_known` (the peer's digest, i.e. its
    /// state). Invariant: `peer.apply(&self.delta_since(&peer))` leaves `peer` equal to
    /// `peer.merge(&self)`. At most `self`'s number of slots, so it always fits `S`.
    pub fn delta_since<T: Slots>(&self, peer_known: &GCounter<T>) -> Delta<S> {
        let mut slots = self.slots.clone();
        slots.retain(|n, c| c > peer_known.slots.get(n));
        Delta(GCounter { slots })
    }

    /// Merges a delta received from a peer; same contract and errors as [`Self::merge`].
    pub fn apply<T: Slots>(&mut self, delta: &Delta<T>) -> Result<(), Error> {
        self.merge(&delta.0)
    }
}

impl<S: Slots> Serialize for GCounter<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        let mut seq = serializer.serialize_seq(Some(self.slots.len()))?;
        for pair in self.slots.iter() {
            seq.serialize_element(&pair)?;
        }
        seq.end()
    }
}

struct SlotsVisitor<S>(PhantomData<S>);

impl<'de, S: Slots> Visitor<'de> for SlotsVisitor<S> {
    type Value = GCounter<S>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of [node, count] pairs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut counter = GCounter::<S>::default();
        while let Some((node, count)) = seq.next_element::<(NodeId, u64)>()? {
            // Repeated nodes join by max, like a merge; zero counts are absent slots.
            if count > counter.slots.get(node) {
                counter
                    .slots
                    .set(node, count)
                    .map_err(serde::de::Error::custom)?;
            }
        }
        Ok(counter)
    }
}

/// Deserializes a list of `[node, count]` pairs. Repeated nodes are joined by maximum,
/// zero counts are dropped; more distinct nodes than a bounded storage holds is an error.
impl<'de, S: Slots> Deserialize<'de> for GCounter<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(SlotsVisitor(PhantomData))
    }
}

impl<S: Slots> Serialize for Delta<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        self.0.serialize(serializer)
    }
}

/// Deserializes the same `[node, count]` list as [`GCounter`].
impl<'de, S: Slots> Deserialize<'de> for Delta<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        GCounter::deserialize(deserializer).map(Delta)
    }
}

/// A positive-negative counter: two G-counters, `p` for increments and `n` for
/// decrements. Its value is `p.value() - n.value()` as an `i64`, saturating at
/// `i64::MIN`/`i64::MAX` (the difference is computed exactly in `i128` first).
///
/// Invariant: both halves only grow; merge is the merge of both halves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(serialize = "S: Slots", deserialize = "S: Slots"))]
pub struct PnCounter<S> {
    p: GCounter<S>,
    n: GCounter<S>,
}

/// A PN counter of at most `N` nodes per half, without allocation.
pub type BoundedPnCounter<const N: usize> = PnCounter<BoundedSlots<N>>;
/// An unbounded PN counter (feature `alloc`).
#[cfg(feature = "alloc")]
pub type MapPnCounter = PnCounter<MapSlots>;

/// The delta of both halves of a [`PnCounter`]; serializes as `{"p": [...], "n": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(serialize = "S: Slots", deserialize = "S: Slots"))]
pub struct PnDelta<S> {
    /// Increments where the sender is ahead.
    pub p: Delta<S>,
    /// Decrements where the sender is ahead.
    pub n: Delta<S>,
}

impl<S: Slots> PnCounter<S> {
    /// An empty counter (value 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `delta` to `node`'s increments (own slot by convention); errors as
    /// [`GCounter::increment`], state unchanged on error.
    pub fn increment(&mut self, node: NodeId, delta: u64) -> Result<(), Error> {
        self.p.increment(node, delta)
    }

    /// Adds `delta` to `node`'s decrements (own slot by convention); errors as
    /// [`GCounter::increment`], state unchanged on error.
    pub fn decrement(&mut self, node: NodeId, delta: u64) -> Result<(), Error> {
        self.n.increment(node, delta)
    }

    /// Sum of increments minus sum of decrements, saturated into `i64`.
    pub fn value(&self) -> i64 {
        let v = i128::from(self.p.value()) - i128::from(self.n.value());
        i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
    }

    /// The increments half.
    pub fn positive(&self) -> &GCounter<S> {
        &self.p
    }

    /// The decrements half.
    pub fn negative(&self) -> &GCounter<S> {
        &self.n
    }

    /// Merges both halves. On [`Error::CapacityExceeded`] in either half, neither half
    /// changes.
    pub fn merge<T: Slots>(&mut self, other: &PnCounter<T>) -> Result<(), Error> {
        if !self.p.slots.has_room_for(self.p.new_slots_for(&other.p))
            || !self.n.slots.has_room_for(self.n.new_slots_for(&other.n))
        {
            return Err(Error::CapacityExceeded);
        }
        self.p.merge_unchecked(&other.p);
        self.n.merge_unchecked(&other.n);
        Ok(())
    }

    /// Where `self` is ahead of the peer's state in either half.
    pub fn delta_since<T: Slots>(&self, peer_known: &PnCounter<T>) -> PnDelta<S> {
        PnDelta {
            p: self.p.delta_since(&peer_known.p),
            n: self.n.delta_since(&peer_known.n),
        }
    }

    /// Merges a received delta; same contract as [`Self::merge`].
    pub fn apply<T: Slots>(&mut self, delta: &PnDelta<T>) -> Result<(), Error> {
        if !self.p.slots.has_room_for(self.p.new_slots_for(&delta.p.0))
            || !self.n.slots.has_room_for(self.n.new_slots_for(&delta.n.0))
        {
            return Err(Error::CapacityExceeded);
        }
        self.p.merge_unchecked(&delta.p.0);
        self.n.merge_unchecked(&delta.n.0);
        Ok(())
    }
}
