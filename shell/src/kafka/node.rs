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
//! batches on a tick, together with, per key, its *watermark*: "I will never assign an
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
//! offsets. This module keeps only what is not storage: each key's next own offset, peers'
//! watermarks, the origin backlog and the replication cursors.
//!
//! # Messages per operation
//!
//! Sends, polls and commits cost no server message. Each node sends at most one batch per
//! peer per tick, and only when it has something new (entries, changed watermarks or
//! commits, or an acknowledgement it owes). With `N` nodes and tick `t` ms the ceiling is
//! `N·(N−1)·1000/t` server messages per second; for the 5c line (2 nodes, about 1000
//! client operations per second) and `t = 10` that is `2·1·100 = 200` per second, i.e. at
//! most 0.2 `:servers` messages per operation (0.4 with `t = 5`). While a peer stops
//! acknowledging (a partition) a node sends it one batch per retransmission interval.

use std::collections::{BTreeMap, VecDeque};

use glomers_offset_log::{Error as LogError, OffsetLog};
use serde_json::Value;

use super::changes::ChangeIndex;
use super::wire::{KafkaReply, KafkaRequest, Key, MarkBatch, Offset, ReplicateBatch, WireEntry};

/// Tunables of a [`KafkaNode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// A peer that has not acknowledged outstanding data for this long is sent its
    /// unacknowledged data again from its acknowledged cursor (and, until it answers, only
    /// once per interval).
    pub retransmit_ms: u64,
    /// Most origin entries in one replication batch (bounds the size of one line).
    pub max_batch_entries: usize,
    /// Most messages returned per key in one poll.
    pub poll_limit: usize,
    /// Most origin entries kept for peers that have not acknowledged them. When full, a
    /// `send` is refused with error 11 (definite: the message is not stored) until peers
    /// catch up.
    pub max_backlog: usize,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            retransmit_ms: 200,
            max_batch_entries: 512,
            poll_limit: 100,
            max_backlog: 1_000_000,
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
    /// The origin backlog for slow peers is full (see [`KafkaConfig::max_backlog`]); the
    /// message was not stored. Maps to Maelstrom error 11 (temporarily unavailable).
    #[error("replication backlog full ({0} entries); retry later")]
    BacklogFull(usize),
    /// The key's next offset of this node's residue class no longer fits a `u64` (only
    /// reachable after a peer replicated an absurdly large offset); the message was not
    /// stored. Maps to Maelstrom error 11.
    #[error("offsets of key {0:?} exhausted")]
    OffsetsExhausted(Key),
}

/// Replication state towards and from one peer.
#[derive(Debug, Clone)]
struct PeerLink {
    id: String,
    /// Outgoing: our origin entries the peer acknowledged (a prefix length).
    acked_entries: u64,
    /// Outgoing: our origin entries sent so far (optimistically, since the last rewind).
    sent_entries: u64,
    /// Outgoing: our change version up to which the peer acknowledged marks.
    acked_version: u64,
    /// Outgoing: our change version up to which marks were sent.
    sent_version: u64,
    /// Outgoing: when the oldest unacknowledged send started waiting (or the last
    /// acknowledgement progress / rewind).
    waiting_since_ms: u64,
    /// Outgoing: the peer missed a retransmission deadline; send only on deadlines until
    /// it acknowledges again.
    probing: bool,
    /// Incoming: the peer sent data since our last batch to it, so we owe an ack.
    ack_owed: bool,
    /// Incoming: the peer's origin entries we hold (a prefix length).
    recv_entries: u64,
    /// Incoming: the peer's change version up to which we applied every mark.
    recv_version: u64,
    /// Incoming: the peer's latest watermark per key (absent = 0).
    watermarks: BTreeMap<Key, Offset>,
}

impl PeerLink {
    fn new(id: String) -> Self {
        Self {
            id,
            acked_entries: 0,
            sent_entries: 0,
            acked_version: 0,
            sent_version: 0,
            waiting_since_ms: 0,
            probing: false,
            ack_owed: false,
            recv_entries: 0,
            recv_version: 0,
            watermarks: BTreeMap::new(),
        }
    }
}

/// The kafka node: a sans-IO state machine. Feed it requests with
/// [`KafkaNode::handle`] and call [`KafkaNode::on_tick`] periodically; it never blocks,
/// never reads a clock and never does I/O.
///
/// Invariants: see the module documentation; in short, offsets this node assigns to a
/// key are unique across nodes and strictly increasing, and polls only expose the stable
/// prefix of each key.
#[derive(Debug)]
pub struct KafkaNode {
    me: usize,
    n: u64,
    config: KafkaConfig,
    /// Entries and committed offsets of every key.
    log: OffsetLog<Key, Value>,
    /// Per known key, the next offset this node assigns. Invariant: `next ≡ me (mod N)`
    /// (unless saturated at `u64::MAX`, which is never assigned) and it is greater than
    /// every offset stored or ever learnt for the key; it only grows.
    next: BTreeMap<Key, Offset>,
    /// Our origin entries not yet acknowledged by every peer; `origin[0]` has index
    /// `origin_base`.
    origin: VecDeque<(Key, Offset)>,
    origin_base: u64,
    changes: ChangeIndex,
    peers: Vec<PeerLink>,
}

impl KafkaNode {
    /// A node called `node_id` among `node_ids` (the same list, in the same order, on
    /// every node).
    pub fn new(
        node_id: &str,
        node_ids: &[String],
        config: KafkaConfig,
    ) -> Result<Self, KafkaNodeError> {
        let me = node_ids
            .iter()
            .position(|id| id == node_id)
            .ok_or_else(|| KafkaNodeError::UnknownSelf(node_id.to_owned()))?;
        let peers = node_ids
            .iter()
            .filter(|id| *id != node_id)
            .map(|id| PeerLink::new(id.clone()))
            .collect();
        Ok(Self {
            me,
            n: node_ids.len() as u64,
            config,
            log: OffsetLog::new(),
            next: BTreeMap::new(),
            origin: VecDeque::new(),
            origin_base: 0,
            changes: ChangeIndex::new(),
            peers,
        })
    }

    /// Handles one incoming body from `src` at time `now_ms`. Returns the answer for
    /// client requests, `None` for replication batches (which are answered by later
    /// batches on the tick).
    pub fn handle(
        &mut self,
        now_ms: u64,
        src: &str,
        request: KafkaRequest,
    ) -> Option<Result<KafkaReply, KafkaRefusal>> {
        match request {
            KafkaRequest::Send { key, msg } => Some(self.send(key, msg)),
            KafkaRequest::Poll { offsets } => Some(Ok(self.poll(&offsets))),
            KafkaRequest::CommitOffsets { offsets } => {
                for (key, offset) in offsets {
                    self.commit(&key, offset);
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
                self.receive(now_ms, src, batch);
                None
            }
        }
    }

    /// Appends `msg` to `key` at a fresh offset of this node's residue class.
    fn send(&mut self, key: Key, msg: Value) -> Result<KafkaReply, KafkaRefusal> {
        if self.origin.len() >= self.config.max_backlog && !self.peers.is_empty() {
            return Err(KafkaRefusal::BacklogFull(self.origin.len()));
        }
        let next = Self::next_entry(&mut self.next, &mut self.changes, &key, self.me as u64);
        let offset = *next;
        // `offset` is above every stored offset of the key, so this is an append at the
        // tail; the only possible refusal is an offset of `u64::MAX`.
        if let Err(error) = self.log.insert_at(key.as_str(), offset, msg) {
            tracing::warn!(key = key.as_str(), offset, %error, "send refused");
            return Err(KafkaRefusal::OffsetsExhausted(key));
        }
        *next = offset.saturating_add(self.n);
        if !self.peers.is_empty() {
            self.origin.push_back((key.clone(), offset));
        }
        self.changes.touch(&key);
        Ok(KafkaReply::SendOk { offset })
    }

    /// The next own offset of `key`, created on first use. A new key's watermark (its
    /// first offset of our residue class) is news for peers, which assume 0 until told, so
    /// creation counts as a change.
    fn next_entry<'a>(
        next: &'a mut BTreeMap<Key, Offset>,
        changes: &mut ChangeIndex,
        key: &str,
        me: u64,
    ) -> &'a mut Offset {
        if !next.contains_key(key) {
            next.insert(Key::from(key), me);
            changes.touch(key);
        }
        // The key was inserted just above if it was missing.
        next.get_mut(key)
            .unwrap_or_else(|| unreachable!("key inserted above"))
    }

    /// The exclusive upper bound of the exposed (final) prefix of `key`.
    pub fn stable_offset(&self, key: &str) -> Offset {
        let own = self.next.get(key).copied().unwrap_or(self.me as u64);
        self.peers
            .iter()
            .map(|peer| peer.watermarks.get(key).copied().unwrap_or(0))
            .fold(own, Offset::min)
    }

    /// The answer to a poll of `offsets` (what [`KafkaNode::handle`] replies to `poll`):
    /// per key, at most [`KafkaConfig::poll_limit`] stored entries from the first offset at
    /// or above the requested one, all below the key's [`KafkaNode::stable_offset`]. Keys
    /// with nothing to expose are left out. Changes nothing.
    pub fn poll(&self, offsets: &BTreeMap<Key, Offset>) -> KafkaReply {
        let mut msgs = BTreeMap::new();
        for (key, from) in offsets {
            let stable = self.stable_offset(key);
            if *from >= stable {
                continue;
            }
            let run: Vec<(Offset, Value)> = self
                .log
                .read(key.as_str(), *from, self.config.poll_limit)
                .take_while(|(offset, _)| *offset < stable)
                .map(|(offset, msg)| (offset, msg.clone()))
                .collect();
            if !run.is_empty() {
                msgs.insert(key.clone(), run);
            }
        }
        KafkaReply::PollOk { msgs }
    }

    fn commit(&mut self, key: &str, offset: Offset) {
        let current = self.log.committed(key);
        if current.map_or(true, |c| c < offset) {
            self.log.commit(key, offset);
            self.changes.touch(key);
        }
    }

    /// Raises our next offset for `key` above `seen` (a Lamport-style bump).
    fn learn_offset(&mut self, key: &str, seen: Offset) {
        let (me, n) = (self.me as u64, self.n);
        let next = Self::next_entry(&mut self.next, &mut self.changes, key, me);
        if *next <= seen {
            // The smallest offset of our residue class above `seen`; saturates instead of
            // wrapping on absurd offsets from the wire.
            let base = seen - seen % n;
            let mut bumped = base.saturating_add(me);
            if bumped <= seen {
                bumped = bumped.saturating_add(n);
            }
            *next = bumped;
            self.changes.touch(key);
        }
    }

    fn receive(&mut self, now_ms: u64, src: &str, batch: ReplicateBatch) {
        let Some(p) = self.peers.iter().position(|peer| peer.id == src) else {
            tracing::warn!(src, "replication batch from a node outside the cluster");
            return;
        };
        if batch.carries_data() {
            self.peers[p].ack_owed = true;
        }
        // Acknowledgements of our data.
        let origin_end = self.origin_base + self.origin.len() as u64;
        let version = self.changes.version();
        {
            let peer = &mut self.peers[p];
            let acked_entries = batch.ack_entries.min(origin_end);
            let acked_version = batch.ack_version.min(version);
            if acked_entries > peer.acked_entries || acked_version > peer.acked_version {
                peer.acked_entries = peer.acked_entries.max(acked_entries);
                peer.acked_version = peer.acked_version.max(acked_version);
                peer.sent_entries = peer.sent_entries.max(peer.acked_entries);
                peer.sent_version = peer.sent_version.max(peer.acked_version);
                peer.waiting_since_ms = now_ms;
                peer.probing = false;
            }
        }
        self.trim_origin();

        // The peer's entries: only a batch that continues our contiguous prefix counts.
        let recv = self.peers[p].recv_entries;
        if batch.from > recv {
            tracing::debug!(
                src,
                from = batch.from,
                held = recv,
                "gap in replication; waiting for retransmission"
            );
            return;
        }
        let skip = usize::try_from(recv - batch.from).unwrap_or(usize::MAX);
        let fresh: Vec<WireEntry> = batch.entries.into_iter().skip(skip).collect();
        for (key, offset, msg) in fresh {
            self.learn_offset(&key, offset);
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
            self.peers[p].recv_entries += 1;
        }

        // The peer's watermarks and commits, valid only once we hold its first `upto` entries.
        if let Some(marks) = batch.marks {
            let peer = &self.peers[p];
            if peer.recv_entries >= marks.upto && marks.since <= peer.recv_version {
                for (key, watermark, committed) in marks.marks {
                    let slot = self.peers[p].watermarks.entry(key.clone()).or_insert(0);
                    *slot = (*slot).max(watermark);
                    if let Some(offset) = committed {
                        self.commit(&key, offset);
                    }
                }
                let peer = &mut self.peers[p];
                peer.recv_version = peer.recv_version.max(marks.version);
            }
        }
    }

    /// Drops origin entries every peer has acknowledged.
    fn trim_origin(&mut self) {
        let Some(min_acked) = self.peers.iter().map(|peer| peer.acked_entries).min() else {
            return;
        };
        while self.origin_base < min_acked && !self.origin.is_empty() {
            self.origin.pop_front();
            self.origin_base += 1;
        }
    }

    /// Called periodically: appends to `out` at most one replication batch per peer,
    /// as `(peer id, batch)`.
    pub fn on_tick(&mut self, now_ms: u64, out: &mut Vec<(String, ReplicateBatch)>) {
        let origin_end = self.origin_base + self.origin.len() as u64;
        let version = self.changes.version();
        for p in 0..self.peers.len() {
            let peer = &mut self.peers[p];
            let outstanding = peer.acked_entries < origin_end || peer.acked_version < version;
            let deadline_passed = outstanding
                && now_ms.saturating_sub(peer.waiting_since_ms) >= self.config.retransmit_ms;
            let has_new =
                peer.sent_entries < origin_end || peer.sent_version < version || peer.ack_owed;
            if deadline_passed {
                // Rewind to what the peer acknowledged; keep probing until it answers.
                peer.sent_entries = peer.acked_entries;
                peer.sent_version = peer.acked_version;
                peer.probing = true;
                peer.waiting_since_ms = now_ms;
            } else if !has_new || peer.probing {
                continue;
            } else if peer.sent_entries == peer.acked_entries
                && peer.sent_version == peer.acked_version
            {
                // Nothing was in flight: the wait for this batch's acknowledgement starts now.
                peer.waiting_since_ms = now_ms;
            }
            let batch = self.build_batch(p, origin_end, version);
            let peer = &mut self.peers[p];
            peer.ack_owed = false;
            out.push((peer.id.clone(), batch));
        }
    }

    fn build_batch(&mut self, p: usize, origin_end: u64, version: u64) -> ReplicateBatch {
        let from = self.peers[p].sent_entries.max(self.origin_base);
        let upto = origin_end.min(from.saturating_add(self.config.max_batch_entries as u64));
        let skip = usize::try_from(from - self.origin_base).unwrap_or(usize::MAX);
        let take = usize::try_from(upto - from).unwrap_or(0);
        let entries: Vec<WireEntry> = self
            .origin
            .iter()
            .skip(skip)
            .take(take)
            .map(|(key, offset)| {
                // Origin entries are stored (nothing is ever truncated).
                let msg = self
                    .log
                    .get(key.as_str(), *offset)
                    .cloned()
                    .unwrap_or(Value::Null);
                (key.clone(), *offset, msg)
            })
            .collect();
        let since = self.peers[p].sent_version;
        let marks = if upto == origin_end && since < version {
            let marks = self
                .changes
                .changed_since(since)
                .map(|key| {
                    let next = self.next.get(key).copied().unwrap_or(self.me as u64);
                    (Key::from(key), next, self.log.committed(key))
                })
                .collect();
            Some(MarkBatch {
                upto,
                since,
                version,
                marks,
            })
        } else {
            None
        };
        let peer = &mut self.peers[p];
        peer.sent_entries = upto;
        if marks.is_some() {
            peer.sent_version = version;
        }
        ReplicateBatch {
            from,
            entries,
            marks,
            ack_entries: peer.recv_entries,
            ack_version: peer.recv_version,
        }
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
        self.origin.len()
    }
}
