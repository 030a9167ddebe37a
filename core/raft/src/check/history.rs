//! [`History`]: the invariants checked incrementally, with memory of earlier moments.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::{NodeView, Violation};
use crate::message::{Entry, NodeId};

/// An entry seen committed: by whom first, and the lowest term of a node seeing it so.
#[derive(Clone, Debug)]
struct Committed<C> {
    entry: Entry<C>,
    node: NodeId,
    term: u64,
}

/// An entry seen in some log: what it holds, the term before it, and who held it first.
#[derive(Clone, Debug)]
struct Seen<C> {
    entry: Entry<C>,
    prev_term: u64,
    node: NodeId,
}

/// What a cluster did so far. Feed it every state with [`History::observe`] and every
/// applied entry with [`History::applied`]; each returns the first violation found.
///
/// It checks the same properties as [`check_cluster`](super::check_cluster), and more
/// strongly, since across time:
///
/// - election safety: one leader per term, ever;
/// - log matching: an entry `(index, term)` is created once, so every log that ever holds
///   it holds the same command and the same term just before it (which, by induction, is
///   the whole prefix);
/// - committed entries never change, and each node's commit index stays within its log;
/// - leader completeness: a leader holds every entry committed in its term or before;
/// - state-machine safety (in [`History::applied`]).
///
/// Work per [`History::observe`]: each node's log from its previous commit index on (its
/// uncommitted suffix and what was newly committed), and each leader's committed entries
/// not yet verified, so a simulator can call it after every step. Memory grows with the
/// terms, the entries ever seen and the committed log.
#[derive(Clone, Debug)]
pub struct History<C> {
    leaders: BTreeMap<u64, NodeId>,
    entries: BTreeMap<(u64, u64), Seen<C>>,
    committed: Vec<Committed<C>>,
    applied: Vec<(NodeId, Entry<C>)>,
    next_apply: BTreeMap<NodeId, u64>,
    /// Per node: the commit index at the previous observation.
    stable: BTreeMap<NodeId, u64>,
    /// Per leader: its term and the committed prefix verified to be in its log.
    complete: BTreeMap<NodeId, (u64, usize)>,
}

impl<C> Default for History<C> {
    fn default() -> Self {
        History {
            leaders: BTreeMap::new(),
            entries: BTreeMap::new(),
            committed: Vec::new(),
            applied: Vec::new(),
            next_apply: BTreeMap::new(),
            stable: BTreeMap::new(),
            complete: BTreeMap::new(),
        }
    }
}

impl<C: Clone + PartialEq> History<C> {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the cluster's current states against everything seen before (including each
    /// other), then remembers them.
    pub fn observe<V: NodeView<C>>(&mut self, nodes: &[V]) -> Result<(), Violation> {
        for n in nodes {
            super::check_bounds(n)?;
            if n.is_leader() {
                self.record_leader(n)?;
            }
        }
        for n in nodes {
            self.record_entries(n)?;
            self.record_committed(n)?;
            self.stable.insert(n.id(), n.commit_index());
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
        let slot = slot_of(entry.index);
        let committed = self.committed.get(slot).map(|c| &c.entry);
        let first = self.applied.get(slot).map(|(_, e)| e);
        if first.is_some_and(|e| e != entry) || committed.is_some_and(|c| c != entry) {
            return Err(Violation::AppliedMismatch {
                node,
                index: entry.index,
            });
        }
        if first.is_none() && slot == self.applied.len() {
            self.applied.push((node, entry.clone()));
        }
        Ok(())
    }

    /// `node` restarted: it applies again from index 1 (or from a snapshot, see
    /// [`History::restored`]).
    pub fn restarted(&mut self, node: NodeId) {
        self.next_apply.remove(&node);
    }

    /// Records that `node` replaced its state with a snapshot covering up to `index`, of
    /// `term`: whatever was applied or seen committed at `index` must have that term, and
    /// the node applies next at `index + 1`.
    pub fn restored(&mut self, node: NodeId, index: u64, term: u64) -> Result<(), Violation> {
        let slot = slot_of(index);
        let applied = self.applied.get(slot).map(|(_, e)| e.term);
        let committed = self.committed.get(slot).map(|c| c.entry.term);
        if index > 0 && (applied.is_some_and(|t| t != term) || committed.is_some_and(|t| t != term))
        {
            return Err(Violation::AppliedMismatch { node, index });
        }
        self.next_apply.insert(node, index + 1);
        Ok(())
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

    fn record_leader<V: NodeView<C>>(&mut self, n: &V) -> Result<(), Violation> {
        let first = *self.leaders.entry(n.term()).or_insert(n.id());
        if first != n.id() {
            return Err(Violation::TwoLeaders {
                term: n.term(),
                first,
                second: n.id(),
            });
        }
        Ok(())
    }

    /// Log matching over the part of `n`'s log that may have changed since last time.
    fn record_entries<V: NodeView<C>>(&mut self, n: &V) -> Result<(), Violation> {
        let stable = self.stable.get(&n.id()).copied().unwrap_or(0);
        let from = stable.min(n.commit_index()) + 1;
        for index in from..=n.last_index() {
            let (Some(entry), Some(prev_term)) = (n.entry(index), n.term_at(index - 1)) else {
                continue;
            };
            let key = (index, entry.term);
            match self.entries.get(&key) {
                Some(seen) if seen.entry == entry && seen.prev_term == prev_term => {}
                Some(seen) => {
                    let differs = if seen.entry == entry {
                        index - 1
                    } else {
                        index
                    };
                    return Err(Violation::LogMismatch {
                        a: seen.node,
                        b: n.id(),
                        shared: index,
                        index: differs,
                    });
                }
                None => {
                    let node = n.id();
                    let seen = Seen {
                        entry,
                        prev_term,
                        node,
                    };
                    self.entries.insert(key, seen);
                }
            }
        }
        Ok(())
    }

    /// Committed entries never change: `n`'s newly committed ones match what was seen.
    /// Those `n` compacted away are checked by the term of its snapshot's last entry; the
    /// rest of them must have been seen committed on some node before (the caller observes
    /// between a commit and the compaction of what it committed).
    fn record_committed<V: NodeView<C>>(&mut self, n: &V) -> Result<(), Violation> {
        let stable = self.stable.get(&n.id()).copied().unwrap_or(0);
        let held = n.first_index();
        for index in stable.min(n.commit_index()) + 1..=n.commit_index() {
            if index < held {
                let seen = self.committed.get(slot_of(index));
                let base = index + 1 == held;
                match seen {
                    Some(c) if base && n.term_at(index) != Some(c.entry.term) => {
                        return Err(Violation::CommittedMismatch {
                            a: c.node,
                            b: n.id(),
                            index,
                        })
                    }
                    Some(_) => continue,
                    None => break,
                }
            }
            let entry = n.entry(index);
            match (self.committed.get_mut(slot_of(index)), entry) {
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
    /// A leader's log only grows while it leads, so a verified prefix stays verified.
    fn check_complete<V: NodeView<C>>(&mut self, leader: &V) -> Result<(), Violation> {
        let (term, id) = (leader.term(), leader.id());
        let mut prefix = match self.complete.get(&id) {
            Some(&(t, p)) if t == term => p,
            _ => 0,
        };
        let mut contiguous = true;
        for (slot, seen) in self.committed.iter().enumerate().skip(prefix) {
            let index = slot as u64 + 1;
            let held = if index < leader.first_index() {
                index + 1 < leader.first_index() || leader.term_at(index) == Some(seen.entry.term)
            } else {
                leader.entry(index).as_ref() == Some(&seen.entry)
            };
            if !held && seen.term <= term {
                return Err(Violation::LeaderIncomplete {
                    leader: id,
                    term,
                    index,
                });
            }
            contiguous &= held;
            if contiguous {
                prefix = slot + 1;
            }
        }
        self.complete.insert(id, (term, prefix));
        Ok(())
    }
}

fn slot_of(index: u64) -> usize {
    usize::try_from(index.saturating_sub(1)).unwrap_or(usize::MAX)
}
