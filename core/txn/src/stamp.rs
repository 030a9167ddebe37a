//! Lamport stamps and the clock that issues them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Lamport stamp: a counter with the issuing node's index as tie-break.
///
/// Ordered lexicographically by `(counter, node)`, so the order is total; two stamps are
/// equal only if both fields are. A [`LamportClock`] never issues the same stamp twice
/// (until its counter saturates at `u64::MAX`), and distinct nodes have distinct indices, so
/// a stamp identifies one write set. Serialised as the two-element array `[counter, node]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Stamp {
    /// Lamport counter; compared first.
    pub counter: u64,
    /// Index of the issuing node; breaks ties between equal counters.
    pub node: u32,
}

impl Stamp {
    /// The stamp `(counter, node)`.
    pub const fn new(counter: u64, node: u32) -> Self {
        Self { counter, node }
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.counter, self.node).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (counter, node) = <(u64, u32)>::deserialize(deserializer)?;
        Ok(Self { counter, node })
    }
}

/// A Lamport clock for one node.
///
/// Invariants: every stamp returned by [`LamportClock::tick`] is strictly larger than every
/// stamp this clock issued or [observed](LamportClock::observe) before, as long as the
/// counter has not reached `u64::MAX`. Arithmetic saturates: a peer's absurd
/// `u64::MAX` never panics or wraps; it exhausts the clock instead
/// ([`LamportClock::is_exhausted`]), after which ticks repeat the stamp `(u64::MAX, node)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LamportClock {
    counter: u64,
    node: u32,
}

impl LamportClock {
    /// A fresh clock for node index `node`, counter 0 (the first tick issues counter 1).
    pub const fn new(node: u32) -> Self {
        Self { counter: 0, node }
    }

    /// Issues a new stamp: the counter advances by one (saturating).
    pub fn tick(&mut self) -> Stamp {
        self.counter = self.counter.saturating_add(1);
        Stamp::new(self.counter, self.node)
    }

    /// Observes a stamp received from elsewhere: the counter becomes
    /// `max(own, observed) + 1` (saturating), so the next tick exceeds `stamp`.
    pub fn observe(&mut self, stamp: Stamp) {
        self.counter = self.counter.max(stamp.counter).saturating_add(1);
    }

    /// The last counter issued or reached by observation.
    pub const fn counter(&self) -> u64 {
        self.counter
    }

    /// This clock's node index.
    pub const fn node(&self) -> u32 {
        self.node
    }

    /// True once the counter reached `u64::MAX`; from then on stamps no longer increase.
    pub const fn is_exhausted(&self) -> bool {
        self.counter == u64::MAX
    }
}
