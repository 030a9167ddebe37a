//! The kafka node state machine (sans-IO): local offset assignment, batched replication
//! with acknowledged cursors, and watermark-gated polls.
//!
//! # Design
//!
//! With `N` nodes, node `i` assigns offsets of a key only from its own residue class
//! `offset ≡ i (mod N)`, strictly increasing, and above every offset it has seen for the
//! key (a Lamport-style bump when a peer's entry arrives). So a `send` is answered at
//! once, locally, and two nodes never assign the same offset.
//!
//! Each node replicates the entries it assigned (its *origin log*) to every peer in
//! batches, through the shared [`Replicator`], together with, per key, its *watermark*: "I will never assign an
//! offset below W". A watermark travels only in a batch that also brings the receiver up
//! to the end of the origin log it was read from, so holding a peer's watermark `W` means
//! holding every entry that peer assigned below `W`. A poll exposes only entries below
//! the *stable* offset `min(own next offset, every peer's last watermark)`: every entry
//! there is already known locally and no node can ever add one there, so the exposed part
//! of a key is a gap-free prefix of the final per-key order, identical on every node.
//! Polls therefore never skip or reorder, and after partitions heal every node exposes
//! every acknowledged message.
//!
//! Committed offsets are max-merged and gossiped in the same batches.
//!
//! # Storage
//!
//! The entries and committed offsets of every key live in the core
//! [`glomers_offset_log::OffsetLog`]: own entries and peers' replicated entries are both
//! stored with `insert_at` at their assigned offsets (the core `append` assigns dense
//! offsets, which the residue classes cannot use), polls read from an offset by binary
//! search and are cut at the stable offset, and commits are the log's max-merged committed
//! offsets. This module keeps only what is not storage or replication: each key's next own
//! offset and peers' watermarks.
//!
//! # Kills
//!
//! With a data directory the node writes its own entries, the commits clients make on it
//! and the raises of its next own offsets, each before the reply or batch that depends on
//! it leaves, and reads them back at start ([`super::saved`]); a restarted node is a new
//! life to its peers, which send it their entries and marks again, while it sends them its
//! own again (see [`Replicator`]). So nothing it acknowledged is lost, and it never assigns
//! an offset it assigned before or below a watermark it advertised.
//!
//! Without one (Maelstrom's own `kill`) a restarted node starts empty and gets back every
//! peer's entries and marks, and those of its own that a peer holds only as the peer's
//! copy are not sent back. What holds: the offsets its peers assigned, and its own that
//! reached a peer before it died, are never reassigned by those peers. What does not: a
//! `send` it acknowledged in the last tick before it died (not yet replicated) is lost,
//! and since it no longer knows its own earlier offsets it may assign one of them again,
//! which a poll then sees with two messages. A single node (5a) loses everything.
//!
//! # Messages per operation
//!
//! Sends, polls and commits cost no server message. Each node sends at most one batch per
//! peer per tick, and only when it has something new (entries, changed watermarks or
//! commits, or an acknowledgement it owes). With `N` nodes and tick `t` ms the ceiling is
//! `N·(N−1)·1000/t` server messages per second; for the 5c line (2 nodes, about 1000
//! client operations per second) and `t = 10` that is `2·1·100 = 200` per second, i.e. at
//! most 0.2 `:servers` messages per operation (0.4 with `t = 5`). While a peer stops
//! acknowledging (a partition) a node resends to it at growing intervals (see
//! [`Replicator`]).

use std::collections::BTreeMap;
use std::time::Duration;

use glomers_node::{ErrorCode, Start, Time};
use glomers_offset_log::{Error as LogError, OffsetLog};
use serde_json::Value;

use super::changes::ChangeIndex;
use super::retention::{ClientEvent, Retention, RetentionConfig};
use super::saved::{self, Record, COMPACT_AFTER, SNAPSHOT};
use super::wire::{
    KafkaReply, KafkaRequest, Key, MarkBatch, Offset, ReplicateBatch, WireEntry, WireMark,
};
use crate::durable::{self, Journal};
use crate::replica::{Accept, BacklogFull, Batch, Header, ReplicaConfig, ReplicaNode, Replicator};
use glomers_node::Write;

/// Tunables of a [`KafkaNode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Replication: batching tick, retransmission, most origin entries in one batch (bounds
    /// the size of one line), and the most origin entries kept for peers that have not
    /// acknowledged them (when full, a `send` is refused with error 11, definite: the
    /// message is not stored, until peers catch up).
    pub replica: ReplicaConfig,
    /// Most messages returned per key in one poll.
    pub poll_limit: usize,
    /// Which entries the node forgets ([`super::retention`]).
    pub retention: RetentionConfig,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            replica: ReplicaConfig {
                tick: Duration::from_millis(10),
                retransmit: Duration::from_millis(200),
                max_batch: 512,
                max_backlog: 1_000_000,
                max_history: 1_000_000,
            },
            poll_limit: 100,
            retention: RetentionConfig::default(),
        }
    }
}

/// Errors building a [`KafkaNode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KafkaNodeError {
    /// `node_id` is not in `node_ids`.
    #[error("node id {0:?} is not in the node list")]
    UnknownSelf(String),
}

/// Why a node refused a request. Every refusal is definite: the request had no effect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KafkaRefusal {
    /// The origin backlog for slow peers is full; the message was not stored. Maps to
    /// Maelstrom error 11 (temporarily unavailable).
    #[error(transparent)]
    BacklogFull(#[from] BacklogFull),
    /// The key's next offset of this node's residue class no longer fits a `u64` (only
    /// reachable after a peer replicated an absurdly large offset); the message was not
    /// stored. Maps to Maelstrom error 11.
    #[error("offsets of key {0:?} exhausted")]
    OffsetsExhausted(Key),
}

/// The kafka node: a sans-IO state machine.
#[derive(Debug)]
pub struct KafkaNode {
    me: usize,
    n: u64,
    poll_limit: usize,
    max_backlog: usize,
    log: OffsetLog<Key, Value>,
    /// Each key's next own offset (of this node's residue class).
    next: BTreeMap<Key, Offset>,
    changes: ChangeIndex,
    /// Origin entries, as pointers into the log.
    replica: Replicator<(Key, Offset)>,
    /// Per peer index: its latest watermark per key (absent = 0).
    watermarks: Vec<BTreeMap<Key, Offset>>,
    /// Writes for the data directory.
    saved: Journal,
    /// Which prefix of each key may be forgotten.
    retention: Retention,
}

impl KafkaNode {
    /// The node `start.info.id` among `start.info.ids` (identical list on every node).
    pub fn new(start: &Start<'_>, config: KafkaConfig) -> Result<Self, KafkaNodeError> {
        let info = start.info;
        let me = info
            .index()
            .ok_or_else(|| KafkaNodeError::UnknownSelf(info.id.clone()))?;
        let life = durable::life(start);
        let replica = Replicator::new(
            &info.id,
            &info.ids,
            config.replica.clone(),
            start.seed,
            life,
        );
        let peers = replica.peers().count();
        let (saved, records) = saved::recover(start.recovered, life);
        let mut node = Self {
            me,
            n: info.ids.len() as u64,
            poll_limit: config.poll_limit,
            max_backlog: config.replica.max_backlog,
            log: OffsetLog::new(),
            next: BTreeMap::new(),
            changes: ChangeIndex::new(),
            replica,
            watermarks: vec![BTreeMap::new(); peers],
            saved,
            retention: Retention::new(config.retention, start.now, peers),
        };
        node.replay(start.now, records);
        Ok(node)
    }

    /// Takes in what earlier lives kept: own entries (in the log and, in order, in the
    /// origin log, to be sent again), next own offsets and commits; every key is marked
    /// changed so its watermark and commit go to the peers again.
    fn replay(&mut self, now: Time, records: Vec<Record>) {
        if records.is_empty() {
            return;
        }
        let count = records.len();
        let floors = saved::floors(&records);
        for record in records {
            match record {
                Record::Own { key, offset, msg } => {
                    if offset < floors.get(&key).copied().unwrap_or(0) {
                        // Forgotten by retention: only the offset counts now.
                        self.raise_next(&key, offset.saturating_add(self.n));
                        continue;
                    }
                    if let Err(error) = self.log.insert_at(key.as_str(), offset, msg) {
                        tracing::error!(key = key.as_str(), offset, %error, "kept entry not restored");
                        continue;
                    }
                    self.raise_next(&key, offset.saturating_add(self.n));
                    if let Err(full) = self.replica.push(now, (key, offset)) {
                        tracing::error!(%full, "kept entry not replicated again");
                    }
                }
                Record::Bump { key, next } => self.raise_next(&key, next),
                Record::Commit { key, offset } => {
                    self.log.commit(key.as_str(), offset);
                }
                Record::Floor { key, floor } => {
                    self.log.truncate_before(key.as_str(), floor);
                    self.retention.restore_floor(&key, floor);
                }
            }
        }
        let keys: Vec<Key> = self.next.keys().cloned().collect();
        for key in keys {
            self.touch(now, &key);
        }
        tracing::info!(records = count, keys = self.next.len(), "state recovered");
    }

    /// Raises `key`'s next own offset to at least `next` (making the key known).
    fn raise_next(&mut self, key: &Key, next: Offset) {
        let slot = self.next.entry(key.clone()).or_insert(self.me as u64);
        *slot = (*slot).max(next);
    }

    fn send(&mut self, now: Time, key: Key, msg: Value) -> Result<KafkaReply, KafkaRefusal> {
        if self.replica.backlog() >= self.max_backlog {
            return Err(BacklogFull(self.replica.backlog()).into());
        }
        let offset = self.next_entry(now, &key);
        // `offset` is above every stored offset of the key, so this is an append at the
        // tail; the only possible refusal is an offset of `u64::MAX`.
        if let Err(error) = self.log.insert_at(key.as_str(), offset, msg.clone()) {
            tracing::warn!(key = key.as_str(), offset, %error, "send refused");
            return Err(KafkaRefusal::OffsetsExhausted(key));
        }
        self.saved.keep(&Record::Own {
            key: key.clone(),
            offset,
            msg,
        });
        self.next.insert(key.clone(), offset.saturating_add(self.n));
        self.touch(now, &key);
        // The backlog was checked above, so this cannot be refused.
        self.replica.push(now, (key, offset))?;
        Ok(KafkaReply::SendOk { offset })
    }

    /// Records that `key`'s watermark or committed offset changed.
    fn touch(&mut self, now: Time, key: &str) {
        let version = self.replica.touch(now);
        self.changes.touch(key, version);
    }

    /// The key's next own offset, making the key known (at this node's residue) if new.
    fn next_entry(&mut self, now: Time, key: &str) -> Offset {
        if let Some(next) = self.next.get(key) {
            return *next;
        }
        let first = self.me as u64;
        self.next.insert(Key::from(key), first);
        self.touch(now, key);
        first
    }

    /// The stable offset of `key`: `min(own next offset, every peer's last watermark)`.
    /// Every entry below it is known here and no node can add one there.
    pub fn stable_offset(&self, key: &str) -> Offset {
        let own = self.next.get(key).copied().unwrap_or(self.me as u64);
        self.watermarks
            .iter()
            .map(|marks| marks.get(key).copied().unwrap_or(0))
            .fold(own, Offset::min)
    }

    /// Answers a poll of client `src`, and tells retention what it returned.
    fn poll_for(&mut self, now: Time, src: &str, offsets: &BTreeMap<Key, Offset>) -> KafkaReply {
        self.retention
            .on_request(now, src, ClientEvent::Poll(offsets));
        let reply = self.poll(offsets);
        if let KafkaReply::PollOk { msgs } = &reply {
            let ranges = msgs
                .iter()
                .filter_map(|(key, run)| {
                    let from = offsets.get(key)?;
                    let (last, _) = run.last()?;
                    Some((key.clone(), *from, *last))
                })
                .collect();
            self.retention.on_polled(now, src, ranges);
        }
        reply
    }

    /// Messages of each key from the requested offset, cut at the key's stable offset.
    pub fn poll(&self, offsets: &BTreeMap<Key, Offset>) -> KafkaReply {
        let mut msgs = BTreeMap::new();
        for (key, from) in offsets {
            let stable = self.stable_offset(key);
            if *from >= stable {
                continue;
            }
            let run: Vec<(Offset, Value)> = self
                .log
                .read(key.as_str(), *from, self.poll_limit)
                .take_while(|(offset, _)| *offset < stable)
                .map(|(offset, msg)| (offset, msg.clone()))
                .collect();
            if !run.is_empty() {
                msgs.insert(key.clone(), run);
            }
        }
        KafkaReply::PollOk { msgs }
    }

    fn commit(&mut self, now: Time, key: &str, offset: Offset) {
        let current = self.log.committed(key);
        if current.is_none_or(|c| c < offset) {
            self.log.commit(key, offset);
            self.touch(now, key);
        }
    }

    /// Raises the key's next own offset above `seen` (an offset another node assigned).
    fn learn_offset(&mut self, now: Time, key: &str, seen: Offset) {
        let (me, n) = (self.me as u64, self.n);
        let next = self.next_entry(now, key);
        if next <= seen {
            // The smallest offset of our residue class above `seen`; saturates instead of
            // wrapping on absurd offsets from the wire.
            let base = seen - seen % n;
            let mut bumped = base.saturating_add(me);
            if bumped <= seen {
                bumped = bumped.saturating_add(n);
            }
            self.next.insert(Key::from(key), bumped);
            self.saved.keep(&Record::Bump {
                key: Key::from(key),
                next: bumped,
            });
            self.touch(now, key);
        }
    }

    fn receive(&mut self, now: Time, src: &str, batch: ReplicateBatch) {
        let Some(p) = self.replica.peer_index(src) else {
            tracing::warn!(src, "replication batch from a node outside the cluster");
            return;
        };
        let header = Header {
            from: batch.from,
            len: batch.entries.len(),
            ack: batch.ack_entries,
            ack_version: batch.ack_version,
            carries_data: batch.carries_data(),
            life: batch.life,
            ack_life: batch.ack_life,
            base: batch.base,
        };
        match self.replica.on_batch(now, p, header) {
            Accept::Stale => {
                tracing::debug!(src, "batch of an earlier life of the peer ignored");
                return;
            }
            Accept::Gap => {
                tracing::debug!(
                    src,
                    from = batch.from,
                    "gap in replication; waiting for a resend"
                );
                return;
            }
            Accept::From(skip) => {
                let gone = batch.gone;
                let fresh = batch
                    .entries
                    .into_iter()
                    .enumerate()
                    .skip(skip)
                    .map(|(i, e)| {
                        // `gone` lists positions in increasing order.
                        let held =
                            u32::try_from(i).map_or(true, |i| gone.binary_search(&i).is_err());
                        (held, e)
                    });
                let count = self.store_entries(now, fresh);
                self.replica.applied(p, count);
            }
        }
        if let Some(marks) = batch.marks {
            self.apply_marks(now, p, marks);
        }
    }

    /// Stores a peer's entries at their offsets (those it still held); returns how many
    /// there were.
    fn store_entries(
        &mut self,
        now: Time,
        entries: impl Iterator<Item = (bool, WireEntry)>,
    ) -> usize {
        let mut count = 0;
        for (held, (key, offset, msg)) in entries {
            count += 1;
            self.learn_offset(now, &key, offset);
            if !held {
                continue;
            }
            match self.log.insert_at(key.as_str(), offset, msg) {
                Ok(_) => {}
                Err(LogError::Conflict { .. }) => {
                    tracing::error!(
                        key = key.as_str(),
                        offset,
                        "two messages replicated at one offset; keeping the first"
                    );
                }
                Err(error) => {
                    tracing::error!(key = key.as_str(), offset, %error, "replicated entry not stored");
                }
            }
        }
        count
    }

    /// A peer's watermarks and commits, valid only once we hold its first `upto` entries
    /// and every change before `since`.
    fn apply_marks(&mut self, now: Time, p: usize, marks: MarkBatch) {
        if self.replica.received(p) < marks.upto || marks.since > self.replica.received_version(p) {
            return;
        }
        for WireMark(key, watermark, committed, delivered, bound, floor) in marks.marks {
            let slot = self.watermarks[p].entry(key.clone()).or_insert(0);
            *slot = (*slot).max(watermark);
            if let Some(offset) = committed {
                self.commit(now, &key, offset);
            }
            if let Some(floor) = self.retention.on_marks(p, &key, delivered, bound, floor) {
                self.drop_below(&key, floor);
            }
        }
        self.touch_retained(now);
        self.replica.applied_version(p, marks.version);
    }

    /// The replication batch for `b`.
    fn build_batch(&self, b: &Batch) -> ReplicateBatch {
        let mut gone = Vec::new();
        let entries: Vec<WireEntry> = self
            .replica
            .entries(b.from, b.upto)
            .enumerate()
            .map(|(i, (key, offset))| {
                // An origin entry is stored unless retention dropped it.
                let msg = self.log.get(key.as_str(), *offset).cloned();
                if msg.is_none() {
                    gone.push(u32::try_from(i).unwrap_or(u32::MAX));
                }
                (key.clone(), *offset, msg.unwrap_or(Value::Null))
            })
            .collect();
        let marks = b.marks.map(|since| MarkBatch {
            upto: b.upto,
            since,
            version: b.version,
            marks: self
                .changes
                .changed_since(since)
                .map(|key| {
                    let next = self.next.get(key).copied().unwrap_or(self.me as u64);
                    let (delivered, bound, floor) = self.retention.marks(key);
                    let committed = self.log.committed(key);
                    WireMark(Key::from(key), next, committed, delivered, bound, floor)
                })
                .collect(),
        });
        ReplicateBatch {
            from: b.from,
            entries,
            marks,
            ack_entries: b.ack,
            ack_version: b.ack_version,
            life: b.life,
            ack_life: b.ack_life,
            base: b.base,
            gone,
        }
    }

    /// Drops `key`'s entries below `floor` through the offset log's retention hook (a key
    /// it does not hold yet gets the floor too, so entries that arrive later below it are
    /// discarded), and keeps the floor for a later life. Returns how many were dropped.
    fn drop_below(&mut self, key: &Key, floor: Offset) -> usize {
        self.saved.keep(&Record::Floor {
            key: key.clone(),
            floor,
        });
        self.log.truncate_before(key.as_str(), floor)
    }

    /// Marks the keys whose retention marks changed, so they go to the peers.
    fn touch_retained(&mut self, now: Time) {
        for key in self.retention.take_changed() {
            self.touch(now, &key);
        }
    }

    /// Folds the journal into a snapshot of what still matters, once it has grown past
    /// [`COMPACT_AFTER`] records and twice the last snapshot (see [`super::saved`]).
    fn compact(&mut self) {
        if !self.saved.snapshot_due(COMPACT_AFTER) {
            return;
        }
        let mut records = Vec::new();
        for (key, next) in &self.next {
            records.push(Record::Bump {
                key: key.clone(),
                next: *next,
            });
            if let Some(offset) = self.log.committed(key.as_str()) {
                let key = key.clone();
                records.push(Record::Commit { key, offset });
            }
            let floor = self.retention.floor(key);
            if floor > 0 {
                let key = key.clone();
                records.push(Record::Floor { key, floor });
            }
            let own = self.log.read(key.as_str(), floor, usize::MAX);
            records.extend(
                own.filter(|(offset, _)| offset % self.n == self.me as u64)
                    .map(|(offset, msg)| Record::Own {
                        key: key.clone(),
                        offset,
                        msg: msg.clone(),
                    }),
            );
        }
        tracing::debug!(
            replaced = self.saved.since_snapshot(),
            records = records.len(),
            "journal compacted"
        );
        self.saved.compact(SNAPSHOT, &records);
    }

    /// Runs retention's pass when it is due: new bounds, and the entries below the floors
    /// dropped through the offset log's retention hook.
    fn retain(&mut self, now: Time) {
        let log = &self.log;
        let raised = self.retention.pass(now, |key| log.committed(key));
        if !raised.is_empty() {
            let keys = raised.len();
            let dropped: usize = raised
                .into_iter()
                .map(|(key, floor)| self.drop_below(&key, floor))
                .sum();
            if tracing::enabled!(tracing::Level::DEBUG) {
                let kept: usize = self.next.keys().map(|k| self.log.len(k.as_str())).sum();
                tracing::debug!(keys, dropped, kept, "retention dropped entries");
            }
        }
        self.touch_retained(now);
    }

    /// Every stored entry of `key` (exposed or not), in offset order. For tests and
    /// diagnostics.
    pub fn entries(&self, key: &str) -> Vec<(Offset, Value)> {
        self.log
            .read(key, 0, usize::MAX)
            .map(|(offset, msg)| (offset, msg.clone()))
            .collect()
    }

    /// Every key this node knows (has assigned, learnt or stored an offset of).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.next.keys().map(Key::as_str)
    }

    /// Origin entries kept for peers that have not acknowledged them yet.
    pub fn backlog(&self) -> usize {
        self.replica.backlog()
    }
}

impl ReplicaNode for KafkaNode {
    type Config = KafkaConfig;
    type Request = KafkaRequest;
    type Reply = KafkaReply;
    type Refusal = KafkaRefusal;
    type NewError = KafkaNodeError;

    fn new(start: &Start<'_>, config: KafkaConfig) -> Result<Self, KafkaNodeError> {
        KafkaNode::new(start, config)
    }

    fn handle(
        &mut self,
        now: Time,
        src: &str,
        request: KafkaRequest,
    ) -> Option<Result<KafkaReply, KafkaRefusal>> {
        let event = match &request {
            KafkaRequest::Poll { .. } | KafkaRequest::KafkaReplicate(_) => None,
            KafkaRequest::CommitOffsets { .. } => Some(ClientEvent::Commit),
            _ => Some(ClientEvent::Other),
        };
        if let Some(event) = event {
            self.retention.on_request(now, src, event);
            self.touch_retained(now);
        }
        match request {
            KafkaRequest::Send { key, msg } => Some(self.send(now, key, msg)),
            KafkaRequest::Poll { offsets } => {
                let reply = self.poll_for(now, src, &offsets);
                self.touch_retained(now);
                Some(Ok(reply))
            }
            KafkaRequest::CommitOffsets { offsets } => {
                for (key, offset) in offsets {
                    if self.log.committed(key.as_str()).is_none_or(|c| c < offset) {
                        self.saved.keep(&Record::Commit {
                            key: key.clone(),
                            offset,
                        });
                    }
                    self.commit(now, &key, offset);
                }
                Some(Ok(KafkaReply::CommitOffsetsOk))
            }
            KafkaRequest::ListCommittedOffsets { keys } => {
                let offsets = keys
                    .into_iter()
                    .filter_map(|key| self.log.committed(key.as_str()).map(|offset| (key, offset)))
                    .collect();
                Some(Ok(KafkaReply::ListCommittedOffsetsOk { offsets }))
            }
            KafkaRequest::KafkaReplicate(batch) => {
                self.receive(now, src, batch);
                None
            }
        }
    }

    fn due(&mut self, now: Time, out: &mut Vec<(String, KafkaRequest)>) {
        self.retain(now);
        self.compact();
        for b in self.replica.due(now) {
            let batch = self.build_batch(&b);
            out.push((
                self.replica.peer_id(b.peer).to_owned(),
                KafkaRequest::KafkaReplicate(batch),
            ));
        }
    }

    fn poll_timeout(&self) -> Option<Time> {
        [self.replica.poll_timeout(), self.retention.due()]
            .into_iter()
            .flatten()
            .min()
    }

    fn refusal_code(refusal: &KafkaRefusal) -> ErrorCode {
        match refusal {
            KafkaRefusal::BacklogFull(_) | KafkaRefusal::OffsetsExhausted(_) => {
                ErrorCode::TemporarilyUnavailable
            }
        }
    }

    fn take_writes(&mut self, writes: &mut Vec<Write>) {
        self.saved.take(writes);
    }
}

#[cfg(test)]
mod tests;
