//! The Raft invariants as a library: given the states of all nodes of a cluster, and
//! optionally a [`History`] of what was seen before, name the first property broken.
//!
//! - [`check_cluster`] (no allocation) looks at one moment: at most one leader per term
//!   among the current states, log matching between every pair of logs, and agreement of
//!   every pair of committed prefixes. It reads every log whole, `O(nodes² × log)`.
//! - [`History`] (`alloc`) checks incrementally and across time: the leader of every term
//!   ever seen (election safety), every entry `(index, term)` ever seen (log matching:
//!   one command and one predecessor term per such entry), every entry ever seen committed
//!   (committed entries never change; leader completeness: every leader of the same or a
//!   later term holds them), and every entry applied (state-machine safety: no two nodes
//!   apply different entries at one index; each node applies in order). Each observation
//!   reads only what may have changed, so a simulator can call it after every step.
//!
//! Nodes are seen through [`NodeView`], implemented for [`Raft`]; a simulator
//! can implement it for a crashed node's storage too.
//!
//! With compaction, a node's log starts after its snapshot ([`NodeView::first_index`]):
//! the checks compare the entries both nodes still hold and the snapshot's last term, and
//! require a snapshot within the node's commit index ([`Violation::SnapshotBeyondCommit`]).
//! [`History`] must observe a committed entry before the last node holding it compacts it
//! (a driver compacts after the check of the step that applied it); a node that restores
//! a snapshot is recorded with [`History::restored`].

#[cfg(feature = "alloc")]
mod history;

#[cfg(feature = "alloc")]
pub use history::History;

use crate::message::{Entry, NodeId};
use crate::raft::{Raft, Role};
use crate::storage::Storage;

/// What the checks need to see of one node.
pub trait NodeView<C> {
    /// The node's id.
    fn id(&self) -> NodeId;
    /// Its current term.
    fn term(&self) -> u64;
    /// Whether it currently leads its term.
    fn is_leader(&self) -> bool;
    /// Its commit index.
    fn commit_index(&self) -> u64;
    /// Index of its last entry.
    fn last_index(&self) -> u64;
    /// Index of its first entry held: its snapshot's index plus one (1 without one).
    fn first_index(&self) -> u64 {
        1
    }
    /// Its entry at `index` (`None` past the end, below `first_index()`, or if unreadable).
    fn entry(&self, index: u64) -> Option<Entry<C>>;
    /// Term of its entry at `index` (0 for index 0; the snapshot's term at its index).
    fn term_at(&self, index: u64) -> Option<u64> {
        if index == 0 {
            return Some(0);
        }
        self.entry(index).map(|e| e.term)
    }
}

impl<C: Clone, S: Storage<C>, R> NodeView<C> for Raft<C, S, R> {
    fn id(&self) -> NodeId {
        self.id
    }
    fn term(&self) -> u64 {
        self.hard.term
    }
    fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }
    fn commit_index(&self) -> u64 {
        self.commit
    }
    fn last_index(&self) -> u64 {
        self.storage.last_index()
    }
    fn first_index(&self) -> u64 {
        self.storage.first_index()
    }
    fn entry(&self, index: u64) -> Option<Entry<C>> {
        self.storage.entry(index).ok().flatten()
    }
    fn term_at(&self, index: u64) -> Option<u64> {
        self.storage.term(index).ok().flatten()
    }
}

/// A broken Raft property, naming the nodes and indexes involved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// Election safety: two nodes led the same term.
    #[error("election safety: nodes {first} and {second} both led term {term}")]
    TwoLeaders {
        /// The term.
        term: u64,
        /// One leader.
        first: NodeId,
        /// The other.
        second: NodeId,
    },
    /// Log matching: `a` and `b` hold entries of the same term at `shared` but differ at
    /// `index`, at or below it. `a` may equal `b`: the same node in an earlier life (a restart that lost its log).
    #[error(
        "log matching: node {a} (as seen earlier) and node {b} hold an entry of one term at \
         index {shared} but differ at index {index}"
    )]
    LogMismatch {
        /// One node.
        a: NodeId,
        /// The other.
        b: NodeId,
        /// The highest index where their terms agree.
        shared: u64,
        /// Where they differ.
        index: u64,
    },
    /// A node's commit index is past its last entry.
    #[error("node {node} commits {commit} beyond its last index {last}")]
    CommitBeyondLog {
        /// The node.
        node: NodeId,
        /// Its commit index.
        commit: u64,
        /// Its last index.
        last: u64,
    },
    /// A node's snapshot covers entries past its commit index: compaction dropped entries
    /// that might never commit.
    #[error("node {node} compacted up to {snapshot}, beyond its commit index {commit}")]
    SnapshotBeyondCommit {
        /// The node.
        node: NodeId,
        /// Its snapshot's last index.
        snapshot: u64,
        /// Its commit index.
        commit: u64,
    },
    /// Two nodes hold different committed entries at `index` (or one committed an entry
    /// different from one seen committed before).
    #[error("committed entries differ at index {index} (nodes {a} and {b})")]
    CommittedMismatch {
        /// One node (or the node that first committed the recorded entry).
        a: NodeId,
        /// The other.
        b: NodeId,
        /// The index.
        index: u64,
    },
    /// Leader completeness: `leader` leads `term` without the entry at `index`, which was
    /// committed in an earlier or the same term.
    #[error(
        "leader completeness: node {leader} leads term {term} without committed entry {index}"
    )]
    LeaderIncomplete {
        /// The leader.
        leader: NodeId,
        /// Its term.
        term: u64,
        /// The committed index it lacks (or holds differently).
        index: u64,
    },
    /// State-machine safety: `node` applied at `index` an entry other than what another
    /// node applied there.
    #[error("state machine safety: node {node} applied a different entry at index {index}")]
    AppliedMismatch {
        /// The node.
        node: NodeId,
        /// The index.
        index: u64,
    },
    /// `node` applied `index` when `expected` was next.
    #[error("node {node} applied index {index} out of order (expected {expected})")]
    AppliedOutOfOrder {
        /// The node.
        node: NodeId,
        /// What it applied.
        index: u64,
        /// What should have come next.
        expected: u64,
    },
}

/// Checks one moment of a cluster: one leader per term, log matching, committed prefixes.
pub fn check_cluster<C: PartialEq, V: NodeView<C>>(nodes: &[V]) -> Result<(), Violation> {
    for (i, a) in nodes.iter().enumerate() {
        check_bounds(a)?;
        for b in &nodes[..i] {
            if a.is_leader() && b.is_leader() && a.term() == b.term() {
                return Err(Violation::TwoLeaders {
                    term: a.term(),
                    first: b.id(),
                    second: a.id(),
                });
            }
            check_pair(a, b)?;
        }
    }
    Ok(())
}

/// One node on its own: its snapshot within its commit index, within its log.
pub(crate) fn check_bounds<C, V: NodeView<C>>(n: &V) -> Result<(), Violation> {
    let snapshot = n.first_index().saturating_sub(1);
    if snapshot > n.commit_index() {
        return Err(Violation::SnapshotBeyondCommit {
            node: n.id(),
            snapshot,
            commit: n.commit_index(),
        });
    }
    if n.commit_index() > n.last_index() {
        return Err(Violation::CommitBeyondLog {
            node: n.id(),
            commit: n.commit_index(),
            last: n.last_index(),
        });
    }
    Ok(())
}

/// Log matching and committed-prefix agreement of two nodes, over the entries both still
/// hold (and the term of the later snapshot's last entry, if the other holds it).
fn check_pair<C: PartialEq, V: NodeView<C>>(a: &V, b: &V) -> Result<(), Violation> {
    let both = a.commit_index().min(b.commit_index());
    let mut shared = a.last_index().min(b.last_index());
    while shared > both && a.term_at(shared) != b.term_at(shared) {
        shared -= 1;
    }
    let held = a.first_index().max(b.first_index());
    let base = held - 1;
    if (1..=shared).contains(&base) {
        let terms = (a.term_at(base), b.term_at(base));
        if let (Some(x), Some(y)) = terms {
            if x != y {
                return Err(mismatch(a.id(), b.id(), both, shared, base));
            }
        }
    }
    for index in (held..=shared).rev() {
        if a.entry(index) != b.entry(index) {
            return Err(mismatch(a.id(), b.id(), both, shared, index));
        }
    }
    Ok(())
}

/// Nodes `a` and `b`, committed both up to `both` and agreeing on the term at `shared`,
/// differ at `index`.
fn mismatch(a: NodeId, b: NodeId, both: u64, shared: u64, index: u64) -> Violation {
    if index <= both {
        Violation::CommittedMismatch { a, b, index }
    } else {
        Violation::LogMismatch {
            a,
            b,
            shared,
            index,
        }
    }
}
