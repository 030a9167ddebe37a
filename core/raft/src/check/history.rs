//! [`History`]: the invariants that need memory of earlier moments.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::{check_cluster, NodeView, Violation};
use crate::message::{Entry, NodeId};

/// An entry seen committed: by whom first, and the lowest term of a node seeing it so.
#[derive(Clone, Debug)]
struct Committed<C> {
    entry: Entry<C>,
    node: NodeId,
    term: u64,
}

/// What a cluster did so far: leaders per term, committed and applied entries. Feed it every
/// state with [`History::observe`] and every applied entry with [`History::applied`]; each
/// returns the first violation found. Memory grows with the terms and the committed log.
#[derive(Clone, Debug)]
pub struct History<C> {
    leaders: BTreeMap<u64, NodeId>,
    committed: Vec<Committed<C>>,
    applied: Vec<(NodeId, Entry<C>)>,
    next_apply: BTreeMap<NodeId, u64>,
}

impl<C> Default for History<C> {
    fn default() -> Self {
        History {
            leaders: BTreeMap::new(),
            committed: Vec::new(),
            applied: Vec::new(),
            next_apply: BTreeMap::new(),
        }
    }
}

impl<C: Clone + PartialEq> History<C> {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the cluster's current states against each other ([`check_cluster`]) and
    /// against everything seen before, then remembers them.
    pub fn observe<V: NodeView<C>>(&mut self, nodes: &[V]) -> Result<(), Violation> {
        check_cluster(nodes)?;
        for n in nodes.iter().filter(|n| n.is_leader()) {
            match self.leaders.get(&n.term()) {
                Some(&first) if first != n.id() => {
                    return Err(Violation::TwoLeaders {
                        term: n.term(),
                        first,
                        second: n.id(),
                    })
                }
                _ => {
                    self.leaders.insert(n.term(), n.id());
                }
            }
        }
        for n in nodes {
            self.record_committed(n)?;
        }
        for n in nodes.iter().filter(|n| n.is_leader()) {
            self.check_complete(n)?;
        }
        Ok(())
    }

    /// Records that `node` applied `entry`: it must be the node's next index, and the same
    /// entry any node applied (or was seen committed) at that index.
    pub fn applied(&mut self, node: NodeId, entry: &Entry<C>) -> Result<(), Violation> {
        let expected = self.next_apply.get(&node).copied().unwrap_or(1);
        if entry.index != expected {
            return Err(Violation::AppliedOutOfOrder {
                node,
                index: entry.index,
                expected,
            });
        }
        self.next_apply.insert(node, expected + 1);
        let slot = usize::try_from(entry.index - 1).unwrap_or(usize::MAX);
        let committed = self.committed.get(slot).map(|c| &c.entry);
        match self.applied.get(slot) {
            Some((_, first)) if first != entry => Err(Violation::AppliedMismatch {
                node,
                index: entry.index,
            }),
            _ if committed.is_some_and(|c| c != entry) => Err(Violation::AppliedMismatch {
                node,
                index: entry.index,
            }),
            Some(_) => Ok(()),
            None => {
                self.applied.push((node, entry.clone()));
                Ok(())
            }
        }
    }

    /// `node` restarted: it applies again from index 1.
    pub fn restarted(&mut self, node: NodeId) {
        self.next_apply.remove(&node);
    }

    /// The highest index seen committed.
    pub fn committed_index(&self) -> u64 {
        self.committed.len() as u64
    }

    /// The highest index any node applied.
    pub fn applied_index(&self) -> u64 {
        self.applied.len() as u64
    }

    /// The leader seen in each term, in term order.
    pub fn leaders(&self) -> impl Iterator<Item = (u64, NodeId)> + '_ {
        self.leaders.iter().map(|(&t, &n)| (t, n))
    }

    fn record_committed<V: NodeView<C>>(&mut self, n: &V) -> Result<(), Violation> {
        for index in 1..=n.commit_index() {
            let slot = usize::try_from(index - 1).unwrap_or(usize::MAX);
            let entry = n.entry(index);
            match (self.committed.get_mut(slot), entry) {
                (Some(seen), Some(e)) if seen.entry == e => seen.term = seen.term.min(n.term()),
                (Some(seen), _) => {
                    return Err(Violation::CommittedMismatch {
                        a: seen.node,
                        b: n.id(),
                        index,
                    })
                }
                (None, Some(entry)) => self.committed.push(Committed {
                    entry,
                    node: n.id(),
                    term: n.term(),
                }),
                (None, None) => {
                    return Err(Violation::CommitBeyondLog {
                        node: n.id(),
                        commit: n.commit_index(),
                        last: n.last_index(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Leader completeness: `leader` holds every entry committed in its term or before.
    fn check_complete<V: NodeView<C>>(&self, leader: &V) -> Result<(), Violation> {
        for (slot, seen) in self.committed.iter().enumerate() {
            let index = slot as u64 + 1;
            if seen.term <= leader.term() && leader.entry(index).as_ref() != Some(&seen.entry) {
                return Err(Violation::LeaderIncomplete {
                    leader: leader.id(),
                    term: leader.term(),
                    index,
                });
            }
        }
        Ok(())
    }
}
