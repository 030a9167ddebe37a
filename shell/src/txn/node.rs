//! The totally-available transaction node (sans-IO): local atomic application, Lamport
//! stamps, batched replication with acknowledged cursors, per-key last-writer-wins merge.
//!
//! # Design
//!
//! Every transaction runs on the receiving node as one atomic step and is answered at once,
//! so every transaction succeeds even when peers are unreachable (total availability).
//! Under read-committed its writes are buffered and published at commit; only each key's
//! final write of the transaction becomes visible, so no reader can see an intermediate or
//! aborted value (nothing ever aborts). All writes of one transaction carry one Lamport
//! stamp `(counter, node index)`, where the counter exceeds every counter this node has
//! seen. Both isolation levels run the same buffered execution (read-committed implies
//! read-uncommitted, see [`Isolation`]); the level is kept in the configuration. The node's committed write sets (its *origin log*) are replicated to every peer
//! in batches on a tick, with a per-peer acknowledged cursor and retransmission, so
//! partitions heal; a receiver merges each set atomically, per key by last-writer-wins on
//! the stamp. Replicas that hold the same write sets hold the same state, whatever the
//! delivery order.
//!
//! The register store, the buffered apply/commit, the Lamport clock and the
//! last-writer-wins merge are the core crate's ([`glomers_txn::RegisterMap`],
//! [`glomers_txn::LamportClock`]); this module adds the origin log, the replication
//! cursors and the batching.
//!
//! Why read-committed holds (no G0, G1a, G1b, G1c): a transaction that reads a value
//! written by another has a larger stamp than that writer (its counter passed the
//! writer's when the value arrived), and at every node a key only moves to larger stamps,
//! so the version order of every key is the stamp order, identical everywhere. Every ww
//! and wr edge then goes from a smaller to a larger stamp, so there is no cycle of them.
//!
//! # Messages per operation
//!
//! A transaction costs no server message. Each node sends at most one batch per peer per
//! tick, only when it has new write sets or owes an acknowledgement. With `N` nodes and
//! tick `t` ms the ceiling is `N·(N−1)·1000/t` messages per second; for the 6c line
//! (2 nodes, about 1000 transactions per second) and `t = 20` that is 100 per second,
//! i.e. at most 0.1 `:servers` messages per operation. While a peer stops acknowledging
//! (a partition) a node sends it one batch per retransmission interval.

use std::collections::VecDeque;

pub use glomers_txn::{Isolation, Stamp};
use glomers_txn::{LamportClock, RegisterMap};

use super::wire::{MicroOp, TxnBatch, TxnKey, TxnReply, TxnRequest, TxnValue, WriteSet};

/// Tunables of a [`TxnNode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnConfig {
    /// Isolation level of local transactions.
    pub isolation: Isolation,
    /// A peer that has not acknowledged outstanding write sets for this long is sent them
    /// again from its acknowledged cursor (and, until it answers, only once per interval).
    pub retransmit_ms: u64,
    /// Most write sets in one replication batch.
    pub max_batch_sets: usize,
    /// Most write sets kept for peers that have not acknowledged them. When full, a
    /// transaction with writes is refused with error 11 (definite: nothing applied).
    pub max_backlog: usize,
}

impl Default for TxnConfig {
    fn default() -> Self {
        Self {
            isolation: Isolation::ReadCommitted,
            retransmit_ms: 200,
            max_batch_sets: 512,
            max_backlog: 1_000_000,
        }
    }
}

/// Why a node refused a transaction. Every refusal is definite: nothing was applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnRefusal {
    /// The origin backlog for slow peers is full (see [`TxnConfig::max_backlog`]). Maps to
    /// Maelstrom error 11 (temporarily unavailable).
    #[error("replication backlog full ({0} write sets); retry later")]
    BacklogFull(usize),
}

/// Errors building a [`TxnNode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnNodeError {
    /// `node_id` is not in `node_ids`.
    #[error("node id {0:?} is not in the node list")]
    UnknownSelf(String),
}

#[derive(Debug, Clone)]
struct TxnPeer {
    id: String,
    acked: u64,
    sent: u64,
    waiting_since_ms: u64,
    probing: bool,
    ack_owed: bool,
    recv: u64,
}

/// The txn node: a sans-IO state machine. Feed it requests with [`TxnNode::handle`] and
/// call [`TxnNode::on_tick`] periodically.
///
/// Invariants: the Lamport counter is at least every counter seen; each key holds the
/// write with the largest stamp among the write sets applied here; the origin log keeps
/// exactly the local write sets some peer has not acknowledged.
#[derive(Debug, Clone)]
pub struct TxnNode {
    config: TxnConfig,
    clock: LamportClock,
    store: RegisterMap,
    origin: VecDeque<WriteSet>,
    origin_base: u64,
    peers: Vec<TxnPeer>,
}

impl TxnNode {
    /// A node called `node_id` among `node_ids` (identical list on every node).
    pub fn new(
        node_id: &str,
        node_ids: &[String],
        config: TxnConfig,
    ) -> Result<Self, TxnNodeError> {
        let me = node_ids
            .iter()
            .position(|id| id == node_id)
            .ok_or_else(|| TxnNodeError::UnknownSelf(node_id.to_owned()))?;
        let peers = node_ids
            .iter()
            .filter(|id| *id != node_id)
            .map(|id| TxnPeer {
                id: id.clone(),
                acked: 0,
                sent: 0,
                waiting_since_ms: 0,
                probing: false,
                ack_owed: false,
                recv: 0,
            })
            .collect();
        Ok(Self {
            config,
            clock: LamportClock::new(u32::try_from(me).unwrap_or(u32::MAX)),
            store: RegisterMap::new(),
            origin: VecDeque::new(),
            origin_base: 0,
            peers,
        })
    }

    /// Handles one incoming body from `src` at `now_ms`. Returns the reply for client
    /// transactions, `None` for replication batches.
    pub fn handle(
        &mut self,
        now_ms: u64,
        src: &str,
        request: TxnRequest,
    ) -> Option<Result<TxnReply, TxnRefusal>> {
        match request {
            TxnRequest::Txn { txn } => Some(self.apply(txn)),
            TxnRequest::TxnReplicate(batch) => {
                self.receive(now_ms, src, batch);
                None
            }
        }
    }

    /// Runs one transaction atomically: executed against the store with its writes
    /// buffered, then committed as one write set (only each key's final write).
    fn apply(&mut self, txn: Vec<MicroOp>) -> Result<TxnReply, TxnRefusal> {
        let writes = txn.iter().any(MicroOp::is_write);
        if writes && !self.peers.is_empty() && self.origin.len() >= self.config.max_backlog {
            return Err(TxnRefusal::BacklogFull(self.origin.len()));
        }
        // Only a transaction that publishes writes takes a fresh stamp; a read-only one
        // publishes nothing, so its stamp is never seen.
        let stamp = if writes {
            self.clock.tick()
        } else {
            Stamp::new(self.clock.counter(), self.clock.node())
        };
        let applied = self
            .store
            .apply(&txn, self.config.isolation, stamp)
            .commit();
        if !applied.writes.is_empty() && !self.peers.is_empty() {
            self.origin.push_back(applied.writes);
        }
        Ok(TxnReply::TxnOk {
            txn: applied.completed,
        })
    }

    /// Merges one replicated write set: the clock passes its stamp, and per key the larger
    /// stamp wins.
    fn merge(&mut self, set: &WriteSet) {
        self.clock.observe(set.stamp);
        self.store.merge(set);
    }

    fn receive(&mut self, now_ms: u64, src: &str, batch: TxnBatch) {
        let Some(p) = self.peers.iter().position(|peer| peer.id == src) else {
            tracing::warn!(src, "replication batch from a node outside the cluster");
            return;
        };
        let origin_end = self.origin_base + self.origin.len() as u64;
        {
            let peer = &mut self.peers[p];
            if !batch.sets.is_empty() {
                peer.ack_owed = true;
            }
            let acked = batch.ack.min(origin_end);
            if acked > peer.acked {
                peer.acked = acked;
                peer.sent = peer.sent.max(acked);
                peer.waiting_since_ms = now_ms;
                peer.probing = false;
            }
        }
        self.trim_origin();
        // Merging is idempotent and order-insensitive, so every set is applied at once;
        // only a batch continuing our contiguous prefix advances the cursor we acknowledge.
        let end = batch.from.saturating_add(batch.sets.len() as u64);
        let continues = batch.from <= self.peers[p].recv;
        for set in &batch.sets {
            self.merge(set);
        }
        if continues {
            let peer = &mut self.peers[p];
            peer.recv = peer.recv.max(end);
        }
    }

    fn trim_origin(&mut self) {
        let Some(min_acked) = self.peers.iter().map(|peer| peer.acked).min() else {
            return;
        };
        while self.origin_base < min_acked && !self.origin.is_empty() {
            self.origin.pop_front();
            self.origin_base += 1;
        }
    }

    /// Called periodically: appends to `out` at most one batch per peer, as
    /// `(peer id, batch)`.
    pub fn on_tick(&mut self, now_ms: u64, out: &mut Vec<(String, TxnBatch)>) {
        let origin_end = self.origin_base + self.origin.len() as u64;
        for peer in &mut self.peers {
            let outstanding = peer.acked < origin_end;
            let deadline_passed = outstanding
                && now_ms.saturating_sub(peer.waiting_since_ms) >= self.config.retransmit_ms;
            let has_new = peer.sent < origin_end || peer.ack_owed;
            if deadline_passed {
                peer.sent = peer.acked;
                peer.probing = true;
                peer.waiting_since_ms = now_ms;
            } else if !has_new || peer.probing {
                continue;
            } else if peer.sent == peer.acked {
                peer.waiting_since_ms = now_ms;
            }
            let from = peer.sent.max(self.origin_base);
            let upto = origin_end.min(from.saturating_add(self.config.max_batch_sets as u64));
            let skip = usize::try_from(from - self.origin_base).unwrap_or(usize::MAX);
            let take = usize::try_from(upto - from).unwrap_or(0);
            let sets = self.origin.iter().skip(skip).take(take).cloned().collect();
            peer.sent = upto;
            peer.ack_owed = false;
            out.push((
                peer.id.clone(),
                TxnBatch {
                    from,
                    sets,
                    ack: peer.recv,
                },
            ));
        }
    }

    /// The current value and stamp of `key` on this node.
    pub fn read(&self, key: TxnKey) -> Option<(TxnValue, Stamp)> {
        self.store.get(&key).map(|v| (v.value, v.stamp))
    }

    /// The whole store, key order. For tests and diagnostics.
    pub fn snapshot(&self) -> Vec<(TxnKey, TxnValue, Stamp)> {
        self.store
            .iter()
            .map(|(key, v)| (*key, v.value, v.stamp))
            .collect()
    }

    /// Local write sets some peer has not acknowledged yet.
    pub fn backlog(&self) -> usize {
        self.origin.len()
    }
}
