//! [`Slots`]: the counter slots' names. A counter CRDT keeps one grow-only slot per node
//! *life*, named `<node>.<life>`, and knows it locally by a small index.
//!
//! A slot only grows, and a join takes each slot's maximum. A node that restarted without
//! its state and counted again from zero in its old slot would have its new adds hidden
//! under the old maximum its peers hold (and lost, if they never pass it), so every life
//! that starts afresh counts in a slot of its own, named after the node and the life's
//! number ([`crate::durable::life`]). A node that keeps its state goes on counting in the
//! slot it recovers (see [`super::gossip`]). The slots grow with the number of lives, at
//! most [`MAX_SLOTS`]; a slot beyond that is refused (logged), which stops that life's
//! adds from counting anywhere but locally.

use std::collections::HashMap;

use glomers_gcounter::NodeId;

/// Most slots one node keeps track of.
pub const MAX_SLOTS: usize = 4096;

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

/// Slot names of the nodes of one cluster and the local indexes the core counters know
/// them by.
#[derive(Debug, Default)]
pub struct Slots {
    /// The node list: only slots of these nodes are admitted.
    nodes: Vec<String>,
    names: Vec<String>,
    index: HashMap<String, NodeId>,
}

impl Slots {
    /// No slots yet, for the cluster of `nodes`.
    pub fn new(nodes: Vec<String>) -> Self {
        Self {
            nodes,
            ..Self::default()
        }
    }

    /// The index of slot `name`, adding it when it names a slot of one of the nodes and
    /// there is room; `None` otherwise (logged).
    pub fn index_of(&mut self, name: &str) -> Option<NodeId> {
        if let Some(i) = self.index.get(name) {
            return Some(*i);
        }
        if !node_of(name).is_some_and(|n| self.nodes.iter().any(|x| x == n)) {
            tracing::debug!(slot = name, "slot of an unknown node ignored");
            return None;
        }
        if self.names.len() >= MAX_SLOTS {
            tracing::error!(slot = name, max = MAX_SLOTS, "too many slots; ignored");
            return None;
        }
        let i = NodeId::try_from(self.names.len()).ok()?;
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
        let mut s = Slots::new(nodes);
        assert_eq!(s.index_of("n1.42"), Some(0));
        assert_eq!(s.index_of("n0.7"), Some(1));
        assert_eq!(s.index_of("n1.42"), Some(0), "stable");
        assert_eq!(s.index_of("n9.1"), None, "not a node of the cluster");
        assert_eq!(s.index_of("n1"), None, "not a slot name");
        assert_eq!(s.name(1), Some("n0.7"));
        assert_eq!(s.name(2), None);
        for life in 0.. {
            if s.index_of(&slot_name("n0", life + 100)).is_none() {
                break;
            }
        }
        assert_eq!(s.names.len(), MAX_SLOTS, "bounded");
    }
}
