//! The slots of the CRDT counter: one per node *life*, named `<node>.<life>`, and the own
//! slot a node keeps in its data directory.
//!
//! A slot only grows, and merging takes each slot's maximum. A node that restarted
//! without its state and counted again from zero in its old slot would have its new adds
//! hidden under the old maximum its peers hold (and lost, if they never pass it), so every
//! life that starts afresh counts in a slot of its own, named after the node and the life's
//! number ([`crate::durable::life`]). A node that keeps its state ([`OWN`], written with
//! every add before the `add_ok` leaves) goes on counting in the slot it recovers. The
//! slots grow with the number of lives, at most [`MAX_SLOTS`]; a slot beyond that is
//! refused (logged), which stops that life's adds from counting elsewhere than locally.

use std::collections::HashMap;

use glomers_gcounter::NodeId;
use glomers_node::{Outbox, Recovered};
use serde::{Deserialize, Serialize};

use crate::durable;

/// Most slots one node keeps track of.
pub const MAX_SLOTS: usize = 4096;

/// The durable value of a node's own slot: its name and count.
pub const OWN: &str = "counter-slot";

/// A node's own slot as kept on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnSlot {
    /// The slot's name.
    pub name: String,
    /// Its count.
    pub count: u64,
}

impl OwnSlot {
    /// The slot recovered from `recovered`, if it belongs to node `me`.
    pub fn recover(recovered: &Recovered, me: &str) -> Option<Self> {
        let own: OwnSlot = durable::value(recovered, OWN)?;
        (node_of(&own.name) == Some(me)).then_some(own)
    }

    /// Queues the write of this slot (when the node keeps its state).
    pub fn keep<O>(&self, out: &mut Outbox<O>) {
        out.put(OWN, durable::encode(self));
    }
}

/// The slot name of node `node`'s life `life`.
pub fn slot_name(node: &str, life: u64) -> String {
    format!("{node}.{life}")
}

/// The node a slot name belongs to (`None` when it is not `<node>.<digits>`).
pub fn node_of(slot: &str) -> Option<&str> {
    let (node, life) = slot.rsplit_once('.')?;
    let digits = !life.is_empty() && life.bytes().all(|b| b.is_ascii_digit());
    (digits && !node.is_empty()).then_some(node)
}

/// Slot names and the local indexes the core counter knows them by.
#[derive(Debug, Default)]
pub struct SlotNames {
    names: Vec<String>,
    index: HashMap<String, NodeId>,
}

impl SlotNames {
    /// The index of `name`, adding it when it names a slot of one of `nodes` and there is
    /// room; `None` otherwise (logged).
    pub fn index_of(&mut self, name: &str, nodes: &[String]) -> Option<NodeId> {
        if let Some(i) = self.index.get(name) {
            return Some(*i);
        }
        if !node_of(name).is_some_and(|n| nodes.iter().any(|x| x == n)) {
            tracing::debug!(slot = name, "slot of an unknown node ignored");
            return None;
        }
        let Ok(i) = NodeId::try_from(self.names.len()) else {
            return None;
        };
        if self.names.len() >= MAX_SLOTS {
            tracing::error!(slot = name, max = MAX_SLOTS, "too many slots; ignored");
            return None;
        }
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        Some(i)
    }

    /// The name of slot `i`.
    pub fn name(&self, i: NodeId) -> Option<&str> {
        let i = usize::try_from(i).ok()?;
        self.names.get(i).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_named_per_life_and_only_known_nodes_get_one() {
        let nodes: Vec<String> = ["n0", "n1"].iter().map(|s| s.to_string()).collect();
        assert_eq!(slot_name("n1", 42), "n1.42");
        assert_eq!(node_of("n1.42"), Some("n1"));
        for bad in ["n1", "n1.", ".5", "n1.4x", "n1.-4"] {
            assert_eq!(node_of(bad), None, "{bad}");
        }
        let mut s = SlotNames::default();
        assert_eq!(s.index_of("n1.42", &nodes), Some(0));
        assert_eq!(s.index_of("n0.7", &nodes), Some(1));
        assert_eq!(s.index_of("n1.42", &nodes), Some(0), "stable");
        assert_eq!(
            s.index_of("n9.1", &nodes),
            None,
            "not a node of the cluster"
        );
        assert_eq!(s.index_of("n1", &nodes), None, "not a slot name");
        assert_eq!(s.name(1), Some("n0.7"));
        assert_eq!(s.name(2), None);
        for life in 0.. {
            if s.index_of(&slot_name("n0", life + 100), &nodes).is_none() {
                break;
            }
        }
        assert_eq!(s.names.len(), MAX_SLOTS, "bounded");
    }

    #[test]
    fn the_own_slot_reads_back_only_for_its_node() {
        let mut disk = Recovered {
            durable: true,
            ..Recovered::default()
        };
        let mut out: Outbox<()> = Outbox::new();
        OwnSlot {
            name: slot_name("n2", 9),
            count: 17,
        }
        .keep(&mut out);
        disk.apply(out.drain_writes());
        let own = OwnSlot::recover(&disk, "n2").expect("kept");
        assert_eq!((own.name.as_str(), own.count), ("n2.9", 17));
        assert_eq!(OwnSlot::recover(&disk, "n1"), None);
        assert_eq!(OwnSlot::recover(&Recovered::default(), "n2"), None);
    }
}
