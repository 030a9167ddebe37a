//! [`Crdt`]: what the gossip engine needs of a state-based CRDT, and its three instances:
//! the core's G-counter, PN-counter and G-set.

use std::collections::BTreeMap;
use std::fmt;

use glomers_gcounter::{MapGCounter, MapPnCounter, NodeId};
use glomers_gset::VecGSet;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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
    /// The wire form; `ids` is the node list (slot `i` belongs to `ids[i]`).
    fn to_wire(&self, ids: &[String]) -> Self::Wire;
    /// The state of a wire form; parts naming nodes outside `ids` are dropped (logged), so
    /// a state never holds more slots than there are nodes.
    fn from_wire(wire: Self::Wire, ids: &[String]) -> Self;

    /// Whether `self` holds nothing that `other` lacks.
    fn is_within(&self, other: &Self) -> bool {
        self.delta_since(other).is_bottom()
    }
}

/// G-counter slots on the wire: node id → count, never a zero count.
pub type Counts = BTreeMap<String, u64>;

fn counts_of(c: &MapGCounter, ids: &[String]) -> Counts {
    c.slots()
        .filter_map(|(node, count)| {
            let id = usize::try_from(node).ok().and_then(|i| ids.get(i))?;
            Some((id.clone(), count))
        })
        .collect()
}

/// The slots of `counts` (ids outside the node list are ignored) added to `into` through
/// `add(node, count)`.
fn add_counts(
    counts: &Counts,
    ids: &[String],
    mut add: impl FnMut(NodeId, u64) -> Result<(), glomers_gcounter::Error>,
) {
    for (id, count) in counts {
        let node = ids
            .iter()
            .position(|x| x == id)
            .and_then(|i| NodeId::try_from(i).ok());
        match node {
            // A fresh slot starts at 0, so the add sets it to `count` and cannot overflow.
            Some(node) => {
                if let Err(e) = add(node, *count) {
                    tracing::error!(error = %e, node = %id, "gossip slot refused");
                }
            }
            None => tracing::debug!(node = %id, "gossip slot for an unknown node ignored"),
        }
    }
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

    fn to_wire(&self, ids: &[String]) -> Counts {
        counts_of(self, ids)
    }

    fn from_wire(wire: Counts, ids: &[String]) -> Self {
        let mut c = MapGCounter::new();
        add_counts(&wire, ids, |n, v| c.increment(n, v));
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

    fn to_wire(&self, ids: &[String]) -> PnCounts {
        PnCounts {
            inc: counts_of(self.positive(), ids),
            dec: counts_of(self.negative(), ids),
        }
    }

    fn from_wire(wire: PnCounts, ids: &[String]) -> Self {
        let mut c = MapPnCounter::new();
        add_counts(&wire.inc, ids, |n, v| c.increment(n, v));
        add_counts(&wire.dec, ids, |n, v| c.decrement(n, v));
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

    fn to_wire(&self, _ids: &[String]) -> VecGSet {
        self.clone()
    }

    fn from_wire(wire: VecGSet, _ids: &[String]) -> Self {
        wire
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        vec!["n0".into(), "n1".into()]
    }

    #[test]
    fn counters_travel_by_node_id_and_unknown_ids_are_dropped() {
        let mut pn = MapPnCounter::new();
        pn.increment(1, 4).unwrap();
        pn.decrement(0, 3).unwrap();
        let wire = pn.to_wire(&ids());
        assert_eq!(
            serde_json::to_value(&wire).unwrap(),
            serde_json::json!({"inc": {"n1": 4}, "dec": {"n0": 3}})
        );
        assert_eq!(MapPnCounter::from_wire(wire.clone(), &ids()), pn);
        let mut stray = wire;
        stray.inc.insert("n9".into(), 100);
        assert_eq!(MapPnCounter::from_wire(stray, &ids()).value(), 1);
        let known = MapPnCounter::from_wire(
            PnCounts {
                inc: [("n1".to_string(), 4)].into(),
                dec: Counts::new(),
            },
            &ids(),
        );
        let d = Crdt::delta_since(&pn, &known);
        assert_eq!(d.to_wire(&ids()).inc, Counts::new(), "n1's 4 is known");
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
