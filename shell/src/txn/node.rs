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
//! read-uncommitted, see [`Isolation`]); the level is kept in the configuration. The
//! node's committed write sets (its *origin log*) are replicated to every peer in batches
//! by the shared [`Replicator`] (acknowledged cursors, retransmission), so partitions heal;
//! a receiver merges each set atomically, per key by last-writer-wins on the stamp. Replicas that hold the same write sets hold the same state, whatever the
//! delivery order.
//!
//! The register store, the buffered apply/commit, the Lamport clock and the
//! last-writer-wins merge are the core crate's ([`glomers_txn::RegisterMap`],
//! [`glomers_txn::LamportClock`]); the origin log, the replication cursors and the batching
//! are the [`Replicator`]'s.
//!
//! Why read-committed holds (no G0, G1a, G1b, G1c): a transaction that reads a value
//! written by another has a larger stamp than that writer (its counter passed the
//! writer's when the value arrived), and at every node a key only moves to larger stamps,
//! so the version order of every key is the stamp order, identical everywhere. Every ww
//! and wr edge then goes from a smaller to a larger stamp, so there is no cycle of them.
//!
//! # Kills
//!
//! Stamps never repeat across lives: a node's Lamport counter starts at its life's wall
//! clock in microseconds (above anything its previous life issued unless that life ran
//! transactions faster than a million per second, or the clock went back), so a restarted
//! node never issues a stamp its previous life gave another write set, which would leave
//! two write sets equal in the version order.
//!
//! With a data directory every committed write set of this node is written before its
//! `txn_ok` leaves ([`LOG`], one record per transaction that writes) and read back at
//! start: the store is rebuilt from them, and they go to the peers again. The log is
//! folded now and then into [`SNAPSHOT`], this node's writes that are still current, so it
//! grows with the keys written, not with the transactions. Peers' write
//! sets are not kept: a restarted node is a new life to its peers, which send it theirs
//! again (see [`Replicator`]). Without one (Maelstrom's own `kill`) a restarted node
//! starts empty and gets its peers' write sets again; the write sets it committed in its
//! last tick before it died (not yet replicated) are lost, and the others of its own come
//! back only as later write sets overwrite the same keys. Neither breaks read committed
//! (no cycle of write and read edges can come from a lost write set), and a single node
//! (6a) simply starts over.
//!
//! # Messages per operation
//!
//! A transaction costs no server message. Each node sends at most one batch per peer per
//! tick, only when it has new write sets or owes an acknowledgement. With `N` nodes and
//! tick `t` ms the ceiling is `N·(N−1)·1000/t` messages per second; for the 6c line
//! (2 nodes, about 1000 transactions per second) and `t = 20` that is 100 per second,
//! i.e. at most 0.1 `:servers` messages per operation. While a peer stops acknowledging
//! (a partition) a node resends to it at growing intervals (see [`Replicator`]).

use std::collections::BTreeMap;
use std::time::Duration;

use glomers_node::{ErrorCode, Start, Time, Write};
pub use glomers_txn::{Isolation, Stamp};
use glomers_txn::{LamportClock, RegisterMap};

use crate::durable::{self, Journal};

use super::wire::{MicroOp, TxnBatch, TxnKey, TxnReply, TxnRequest, TxnValue, WriteSet};
use crate::replica::{Accept, BacklogFull, Header, ReplicaConfig, ReplicaNode, Replicator};

/// Tunables of a [`TxnNode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnConfig {
    /// Isolation level of local transactions.
    pub isolation: Isolation,
    /// Replication: batching tick, retransmission, batch size, and the most write sets
    /// kept for peers that have not acknowledged them (when full, a transaction with
    /// writes is refused with error 11, definite: nothing applied).
    pub replica: ReplicaConfig,
}

impl Default for TxnConfig {
    fn default() -> Self {
        Self {
            isolation: Isolation::ReadCommitted,
            replica: ReplicaConfig {
                tick: Duration::from_millis(20),
                retransmit: Duration::from_millis(200),
                max_batch: 512,
                max_backlog: 1_000_000,
                max_history: 1_000_000,
            },
        }
    }
}

/// Why a node refused a transaction. Every refusal is definite: nothing was applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnRefusal {
    /// The origin backlog for slow peers is full. Maps to Maelstrom error 11 (temporarily
    /// unavailable).
    #[error(transparent)]
    BacklogFull(#[from] BacklogFull),
}

/// Errors building a [`TxnNode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnNodeError {
    /// `node_id` is not in `node_ids`.
    #[error("node id {0:?} is not in the node list")]
    UnknownSelf(String),
}

/// The txn node: a sans-IO state machine.
///
/// Invariants: the Lamport counter is at least every counter seen; each key holds the
/// write with the largest stamp among the write sets applied here; the replicator's origin
/// log keeps exactly the local write sets some peer has not acknowledged.
#[derive(Debug)]
pub struct TxnNode {
    isolation: Isolation,
    max_backlog: usize,
    clock: LamportClock,
    store: RegisterMap,
    replica: Replicator<WriteSet>,
    /// This node's write sets on their way to the data directory.
    saved: Journal,
}

/// The log of a txn node's own committed write sets.
pub const LOG: &str = "txn";

/// The snapshot the log is folded into: of this node's writes, those still current.
pub const SNAPSHOT: &str = "txn-snapshot";

/// Records in the log after which it is folded into the snapshot (or twice the snapshot's
/// write sets, if more: the cost of a snapshot is spread over the records it replaces).
pub const COMPACT_AFTER: u64 = 4096;

impl TxnNode {
    /// The node `start.info.id` among `start.info.ids` (identical list on every node).
    pub fn new(start: &Start<'_>, config: TxnConfig) -> Result<Self, TxnNodeError> {
        let info = start.info;
        let me = info
            .index()
            .ok_or_else(|| TxnNodeError::UnknownSelf(info.id.clone()))?;
        let index = u32::try_from(me).unwrap_or(u32::MAX);
        let mut clock = LamportClock::new(index);
        clock.observe(Stamp::new(start.unix_ms.saturating_mul(1000), index));
        let life = durable::life(start);
        let (saved, logged) = Journal::recover::<WriteSet>(start.recovered, LOG, life);
        let mut kept =
            durable::value::<Vec<WriteSet>>(start.recovered, SNAPSHOT).unwrap_or_default();
        kept.extend(logged);
        let mut node = Self {
            isolation: config.isolation,
            max_backlog: config.replica.max_backlog,
            clock,
            store: RegisterMap::new(),
            replica: Replicator::new(&info.id, &info.ids, config.replica, start.seed, life),
            saved,
        };
        if !kept.is_empty() {
            tracing::info!(write_sets = kept.len(), "state recovered");
        }
        for set in kept {
            node.clock.observe(set.stamp);
            node.store.merge(&set);
            if let Err(full) = node.replica.push(start.now, set) {
                tracing::error!(%full, "kept write set not replicated again");
            }
        }
        Ok(node)
    }

    /// Runs one transaction atomically: executed against the store with its writes
    /// buffered, then committed as one write set (only each key's final write).
    fn apply(&mut self, now: Time, txn: Vec<MicroOp>) -> Result<TxnReply, TxnRefusal> {
        let writes = txn.iter().any(MicroOp::is_write);
        if writes && self.replica.backlog() >= self.max_backlog {
            return Err(BacklogFull(self.replica.backlog()).into());
        }
        // Only a transaction that publishes writes takes a fresh stamp; a read-only one
        // publishes nothing, so its stamp is never seen.
        let stamp = if writes {
            self.clock.tick()
        } else {
            Stamp::new(self.clock.counter(), self.clock.node())
        };
        let applied = self.store.apply(&txn, self.isolation, stamp).commit();
        if !applied.writes.is_empty() {
            self.saved.keep(&applied.writes);
            self.compact();
            // The backlog was checked above, so this cannot be refused.
            self.replica.push(now, applied.writes)?;
        }
        Ok(TxnReply::TxnOk {
            txn: applied.completed,
        })
    }

    /// Folds the journal into a snapshot once it has grown past [`COMPACT_AFTER`] records
    /// and twice the last snapshot: of this node's writes only those still current matter
    /// (a key's later write, by stamp, hides the earlier ones everywhere, and a peer's
    /// later write is kept by that peer), regrouped by the write set that made them.
    fn compact(&mut self) {
        if !self.saved.snapshot_due(COMPACT_AFTER) {
            return;
        }
        let me = self.clock.node();
        let mut sets: BTreeMap<Stamp, Vec<(TxnKey, TxnValue)>> = BTreeMap::new();
        for (key, current) in self.store.iter() {
            if current.stamp.node == me {
                sets.entry(current.stamp)
                    .or_default()
                    .push((*key, current.value));
            }
        }
        let snapshot: Vec<WriteSet> = sets
            .into_iter()
            .map(|(stamp, writes)| WriteSet { stamp, writes })
            .collect();
        tracing::debug!(
            replaced = self.saved.since_snapshot(),
            write_sets = snapshot.len(),
            "journal compacted"
        );
        self.saved.compact(SNAPSHOT, &snapshot);
    }

    /// Takes in a batch: acknowledgements, then every write set new here, each merged
    /// atomically (the clock passes its stamp; per key the larger stamp wins).
    fn receive(&mut self, now: Time, src: &str, batch: TxnBatch) {
        let Some(p) = self.replica.peer_index(src) else {
            tracing::warn!(src, "replication batch from a node outside the cluster");
            return;
        };
        let header = Header {
            from: batch.from,
            len: batch.sets.len(),
            ack: batch.ack,
            ack_version: 0,
            carries_data: !batch.sets.is_empty(),
            life: batch.life,
            ack_life: batch.ack_life,
            base: batch.base,
        };
        let Accept::From(skip) = self.replica.on_batch(now, p, header) else {
            tracing::debug!(
                src,
                from = batch.from,
                "gap in replication; waiting for a resend"
            );
            return;
        };
        let fresh = batch.sets.get(skip..).unwrap_or_default();
        for set in fresh {
            self.clock.observe(set.stamp);
            self.store.merge(set);
        }
        self.replica.applied(p, fresh.len());
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
        self.replica.backlog()
    }
}

impl ReplicaNode for TxnNode {
    type Config = TxnConfig;
    type Request = TxnRequest;
    type Reply = TxnReply;
    type Refusal = TxnRefusal;
    type NewError = TxnNodeError;

    fn new(start: &Start<'_>, config: TxnConfig) -> Result<Self, TxnNodeError> {
        TxnNode::new(start, config)
    }

    fn handle(
        &mut self,
        now: Time,
        src: &str,
        request: TxnRequest,
    ) -> Option<Result<TxnReply, TxnRefusal>> {
        match request {
            TxnRequest::Txn { txn } => Some(self.apply(now, txn)),
            TxnRequest::TxnReplicate(batch) => {
                self.receive(now, src, batch);
                None
            }
        }
    }

    fn due(&mut self, now: Time, out: &mut Vec<(String, TxnRequest)>) {
        for b in self.replica.due(now) {
            let sets = self.replica.entries(b.from, b.upto).cloned().collect();
            let batch = TxnBatch {
                from: b.from,
                sets,
                ack: b.ack,
                life: b.life,
                ack_life: b.ack_life,
                base: b.base,
            };
            out.push((
                self.replica.peer_id(b.peer).to_owned(),
                TxnRequest::TxnReplicate(batch),
            ));
        }
    }

    fn poll_timeout(&self) -> Option<Time> {
        self.replica.poll_timeout()
    }

    fn refusal_code(refusal: &TxnRefusal) -> ErrorCode {
        match refusal {
            TxnRefusal::BacklogFull(_) => ErrorCode::TemporarilyUnavailable,
        }
    }

    fn take_writes(&mut self, writes: &mut Vec<Write>) {
        self.saved.take(writes);
    }
}

#[cfg(test)]
mod tests;
