//! [`Crdt`]: what the gossip engine needs of a state-based CRDT, and its three instances:
//! the core's G-counter, PN-counter and G-set.

use std::collections::BTreeMap;
use std::fmt;

use glomers_gcounter::{MapGCounter, MapPnCounter, NodeId};
use glomers_gset::VecGSet;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Slots;

/// A join-semilattice the gossip engine replicates: states only grow (by local updates
/// and joins), and the join is commutative, associative and idempotent.
pub trait Crdt: Clone + Default + PartialEq + fmt::Debug {
    /// The state's form in a gossip message.
    type Wire: Serialize + DeserializeOwned + Clone + PartialEq + fmt::Debug;
    /// Why a join was refused (a bound reached); the state is then unchanged.
    type Refused: fmt::Display;

    /// Joins `other` into `self`.
    fn join(&mut self, other: &Self) -> Result<(), Self::Refused>;
    /// The part of `self` that `known` lacks: `known` joined with it equals `known` joined
    /// with `self`.
    fn delta_since(&self, known: &Self) -> Self;
    /// Whether this is the bottom element (the empty state): nothing to send.
    fn is_bottom(&self) -> bool;
    /// The wire form; `slots` names the counter slots (slot `i` is `slots.name(i)`).
    fn to_wire(&self, slots: &Slots) -> Self::Wire;
    /// The state of a wire form; slots it names that `slots` does not know are added to
    /// it, and slots of nodes outside the node list (or beyond the slot bound) are dropped
    /// (logged).
    fn from_wire(wire: Self::Wire, slots: &mut Slots) -> Self;

    /// Whether `self` holds nothing that `other` lacks.
    fn is_within(&self, other: &Self) -> bool {
        self.delta_since(other).is_bottom()
    }
}

/// G-counter slots on the wire: slot name (`<node>.<life>`) → count, never a zero count.
pub type Counts = BTreeMap<String, u64>;

fn counts_of(c: &MapGCounter, slots: &Slots) -> Counts {
    c.slots()
        .filter_map(|(slot, count)| Some((slots.name(slot)?.to_owned(), count)))
        .collect()
}

/// The slots of `counts` (those `slots` refuses are ignored) added to `into` through
/// `add(slot, count)`.
fn add_counts(
    counts: &Counts,
    slots: &mut Slots,
    mut add: impl FnMut(NodeId, u64) -> Result<(), glomers_gcounter::Error>,
) {
    for (name, count) in counts {
        let Some(slot) = slots.index_of(name) else {
            continue;
        };
        // A fresh slot starts at 0, so the add sets it to `count` and cannot overflow.
        if let Err(e) = add(slot, *count) {
            tracing::error!(error = %e, slot = %name, "gossip slot refused");
        }
    }
}

/// The part of `c` in slot `slot` alone.
pub fn slot_part(c: &MapGCounter, slot: NodeId) -> MapGCounter {
    let mut part = MapGCounter::new();
    // A fresh slot starts at 0, so this sets it and cannot overflow.
    let _ = part.increment(slot, c.get(slot));
    part
}

/// The part of `c` in slot `slot` alone (its increments and decrements).
pub fn pn_slot_part(c: &MapPnCounter, slot: NodeId) -> MapPnCounter {
    let mut part = MapPnCounter::new();
    // Fresh slots start at 0, so these set them and cannot overflow.
    let _ = part.increment(slot, c.positive().get(slot));
    let _ = part.decrement(slot, c.negative().get(slot));
    part
}

impl Crdt for MapGCounter {
    type Wire = Counts;
    type Refused = glomers_gcounter::Error;

    fn join(&mut self, other: &Self) -> Result<(), Self::Refused> {
        self.merge(other)
    }

    fn delta_since(&self, known: &Self) -> Self {
        let mut d = MapGCounter::new();
        // Cannot fail: map storage has no capacity limit.
        let _ = d.apply(&MapGCounter::delta_since(self, known));
        d
    }

    fn is_bottom(&self) -> bool {
        self.slots().next().is_none()
    }

    fn to_wire(&self, slots: &Slots) -> Counts {
        counts_of(self, slots)
    }

    fn from_wire(wire: Counts, slots: &mut Slots) -> Self {
        let mut c = MapGCounter::new();
        add_counts(&wire, slots, |n, v| c.increment(n, v));
        c
    }
}

/// A PN-counter on the wire: the increments' and the decrements' slots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PnCounts {
    /// Per-node sums of increments.
    #[serde(default, skip_serializing_if = "Counts::is_empty")]
    pub inc: Counts,
    /// Per-node sums of decrements (as positive numbers).
    #[serde(default, skip_serializing_if = "Counts::is_empty")]
    pub dec: Counts,
}

impl Crdt for MapPnCounter {
    type Wire = PnCounts;
    type Refused = glomers_gcounter::Error;

    fn join(&mut self, other: &Self) -> Result<(), Self::Refused> {
        self.merge(other)
    }

    fn delta_since(&self, known: &Self) -> Self {
        let mut d = MapPnCounter::new();
        // Cannot fail: map storage has no capacity limit.
        let _ = d.apply(&MapPnCounter::delta_since(self, known));
        d
    }

    fn is_bottom(&self) -> bool {
        self.positive().slots().next().is_none() && self.negative().slots().next().is_none()
    }

    fn to_wire(&self, slots: &Slots) -> PnCounts {
        PnCounts {
            inc: counts_of(self.positive(), slots),
            dec: counts_of(self.negative(), slots),
        }
    }

    fn from_wire(wire: PnCounts, slots: &mut Slots) -> Self {
        let mut c = MapPnCounter::new();
        add_counts(&wire.inc, slots, |n, v| c.increment(n, v));
        add_counts(&wire.dec, slots, |n, v| c.decrement(n, v));
        c
    }
}

/// Most runs a node's g-set holds (16 bytes each: 1 MiB). Maelstrom's elements are
/// consecutive integers, so a set holds a handful of runs whatever its size; only sparse
/// elements approach the bound.
pub const MAX_SET_RUNS: usize = 1 << 16;

/// A join that would leave more than [`MAX_SET_RUNS`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("set would exceed {MAX_SET_RUNS} runs")]
pub struct SetFull;

impl Crdt for VecGSet {
    type Wire = VecGSet;
    type Refused = SetFull;

    fn join(&mut self, other: &Self) -> Result<(), SetFull> {
        if self.run_count().saturating_add(other.run_count()) <= MAX_SET_RUNS {
            // The union has at most the sum of both run counts: within the bound.
            let _ = self.merge(other);
            return Ok(());
        }
        let mut joined = self.clone();
        // Cannot fail: Vec storage has no capacity limit.
        let _ = joined.merge(other);
        if joined.run_count() > MAX_SET_RUNS {
            return Err(SetFull);
        }
        *self = joined;
        Ok(())
    }

    fn delta_since(&self, known: &Self) -> Self {
        VecGSet::delta_since(self, known)
    }

    fn is_bottom(&self) -> bool {
        self.is_empty()
    }

    fn to_wire(&self, _slots: &Slots) -> VecGSet {
        self.clone()
    }

    fn from_wire(wire: VecGSet, _slots: &mut Slots) -> Self {
        wire
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots of nodes `n0` and `n1`, with `n0.5` and `n1.5` known as 0 and 1.
    fn slots() -> Slots {
        let mut s = Slots::new(vec!["n0".into(), "n1".into()]);
        assert_eq!(s.index_of("n0.5"), Some(0));
        assert_eq!(s.index_of("n1.5"), Some(1));
        s
    }

    #[test]
    fn counters_travel_by_slot_name_and_unknown_nodes_are_dropped() {
        let mut slots = slots();
        let mut pn = MapPnCounter::new();
        pn.increment(1, 4).unwrap();
        pn.decrement(0, 3).unwrap();
        let wire = pn.to_wire(&slots);
        assert_eq!(
            serde_json::to_value(&wire).unwrap(),
            serde_json::json!({"inc": {"n1.5": 4}, "dec": {"n0.5": 3}})
        );
        assert_eq!(MapPnCounter::from_wire(wire.clone(), &mut slots), pn);
        let mut stray = wire;
        stray.inc.insert("n9.5".into(), 100);
        stray.inc.insert("n1".into(), 100);
        assert_eq!(MapPnCounter::from_wire(stray, &mut slots).value(), 1);
        let mut later = Counts::new();
        later.insert("n1.8".into(), 10);
        let grown = MapGCounter::from_wire(later, &mut slots);
        assert_eq!(
            (grown.get(2), slots.name(2)),
            (10, Some("n1.8")),
            "a new life's slot"
        );
        let known = MapPnCounter::from_wire(
            PnCounts {
                inc: [("n1.5".to_string(), 4)].into(),
                dec: Counts::new(),
            },
            &mut slots,
        );
        let d = Crdt::delta_since(&pn, &known);
        assert_eq!(d.to_wire(&slots).inc, Counts::new(), "n1's 4 is known");
        assert_eq!(pn_slot_part(&pn, 0).value(), -3);
        assert_eq!(slot_part(pn.positive(), 1).value(), 4);
        assert!(known.is_within(&pn) && !pn.is_within(&known));
    }

    #[test]
    fn a_set_join_beyond_the_run_bound_is_refused_and_changes_nothing() {
        let mut sparse = VecGSet::new();
        for x in 0..MAX_SET_RUNS as i64 {
            sparse.insert(2 * x).unwrap();
        }
        let mut one_more = VecGSet::new();
        one_more.insert(-5).unwrap();
        let before = sparse.clone();
        assert_eq!(sparse.join(&one_more), Err(SetFull));
        assert_eq!(sparse, before);
        let mut filler = VecGSet::new();
        filler.insert(1).unwrap();
        assert_eq!(
            sparse.join(&filler),
            Ok(()),
            "closing a gap needs no new run"
        );
        assert_eq!(sparse.run_count(), MAX_SET_RUNS - 1);
    }
}
