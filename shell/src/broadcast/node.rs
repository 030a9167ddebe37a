//! [`BroadcastNode`]: the broadcast node logic as a sans-IO [`Machine`].
//!
//! Paths a value takes:
//! 1. The origin answers `broadcast_ok` at once and queues the value for its current hub
//!    (a [`BroadcastOut::Relay`]), or, when it is its own hub, for every peer.
//! 2. A node receiving a `relay` queues its values for every peer except the sender (known
//!    ones too: a node relays a known value only after a loss) and flushes them as
//!    [`BroadcastOut::Deliver`] batches on its hub schedule; the sender always gets a batch
//!    at that flush, empty if nothing else is due, which tells it the hub is alive.
//!    Delivered values are never forwarded, so no value loops.
//! 3. Anti-entropy repairs whatever a partition dropped: every `digest_ms` a node sends a
//!    range digest of its settled values to `fanout` random peers; the recipient pushes the
//!    settled values the digest lacks (a [`BroadcastOut::Repair`], which the recipient
//!    disseminates like a new broadcast, since a value lost once is likely missing
//!    elsewhere too), and answers with its own digest when the sender knows
//!    values it lacks. In a healthy run digests cause no other traffic.
//! 4. With digests piggybacked on every delivery batch (the latency mode), repair is pulled,
//!    not pushed: a node that sees a batch's digest list values it lacks asks that sender
//!    (its own digest, as a reply) at most once per [`BroadcastConfig::ask_gap_ms`], the
//!    sender pushes what it lacks, and a repaired value is kept, not disseminated again
//!    (every peer sees the digests of those that hold it and asks for it the same way).
//!    So a partition that is not transitive (Maelstrom's majorities ring: `b` hears both
//!    `a` and `c`, which do not hear each other) costs each node lacking values one ask
//!    and one push per gap, instead of a push from every node that holds them on every
//!    batch and a fan-out to every peer of every value repaired.
//!
//! Hub failover: a node that sent to its hub and heard nothing from it within
//! [`BroadcastConfig::hub_timeout_ms`] moves to the next hub candidate and re-sends the
//! values the silent hub may have lost (kept in a bounded set). So no single node being cut
//! off stops delivery.
//!
//! Kills: every value a node learns is written to its data directory in the call that
//! learns it, before the `broadcast_ok` that acknowledges it leaves ([`super::saved`]), and
//! read back at start ([`BroadcastNode::recover`]); what the node missed while it was down,
//! and anything still queued for its hub or its peers when it died, reaches every node
//! through anti-entropy (its peers' digests list values it lacks, its own list values they
//! lack). Without a data directory (Maelstrom's own `kill`) a restarted node starts empty
//! and gets every value back from its peers the same way; what it alone held is lost: a
//! value acknowledged in the window before its first relay left (none in the latency and
//! balanced modes, whose origins relay in the same call that acknowledges; up to one
//! `leaf_interval_ms` in the messages mode), or relayed only to a hub that died with it.
//!
//! Memory bound: besides the values themselves, a node keeps one pending set per peer and
//! one unconfirmed set, each capped at [`BroadcastConfig::pending_capacity`]. A full pending
//! set takes no more values (they reach the peer through anti-entropy); a full unconfirmed
//! set forgets its lowest value (likewise repaired by anti-entropy). Counted in
//! [`NodeStats`].

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use super::config::BroadcastConfig;
use super::saved::Saved;
use super::store::{Ranges, ValueStore};
use super::wire::{BroadcastIn, BroadcastOut};
use glomers_node::{ErrorBody, ErrorCode, Incoming, Machine, Outbox, Recovered, Time};

/// Counters for tests and logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Values not queued because a pending set was full.
    pub pending_overflow: u64,
    /// Values forgotten by the full unconfirmed set.
    pub unconfirmed_overflow: u64,
    /// Times this node moved to another hub.
    pub failovers: u64,
    /// Values sent in repair pushes.
    pub repaired: u64,
}

/// One broadcast node. Build with [`BroadcastNode::new`], drive through [`Machine`].
#[derive(Debug)]
pub struct BroadcastNode {
    id: String,
    peers: Vec<String>,
    hubs: Vec<String>,
    hub_index: usize,
    config: BroadcastConfig,
    clock_offset_ms: u64,
    store: ValueStore,
    /// Values to relay through the current hub at the next origin flush.
    to_hub: BTreeSet<u64>,
    /// Values to deliver to each peer at the next hub flush.
    deliver: BTreeMap<String, BTreeSet<u64>>,
    /// Values sent to the current hub since we last heard from it.
    unconfirmed: BTreeSet<u64>,
    /// When we first sent to the current hub without hearing from it since.
    awaiting_hub_since: Option<u64>,
    next_leaf_flush: u64,
    next_hub_flush: u64,
    next_digest: u64,
    /// When each peer was last heard from (absent: never).
    last_heard: BTreeMap<String, u64>,
    /// When this node last sent a delivery batch with a piggybacked digest.
    last_spread_ms: Option<u64>,
    /// Until when this node does not ask for a repair again (pulled repair).
    no_ask_until: u64,
    /// What this call learned, for the data directory.
    saved: Saved,
    /// Greet every peer at the next call (values were recovered).
    greet: bool,
    rng: StdRng,
    stats: NodeStats,
}

/// Which digest a node is answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DigestKind {
    /// Piggybacked on a delivery batch (a `spread`).
    Piggybacked,
    /// An anti-entropy round's digest.
    Explicit,
    /// A digest sent in answer to another (never answered with a digest); `pull` when it
    /// asks for a repair that is not to be disseminated further.
    Reply {
        /// See [`BroadcastIn::Digest`]'s `pull`.
        pull: bool,
    },
}

/// The first instant after `after` that is `phase` modulo `period` (`period > 0`).
fn next_aligned(after: u64, period: u64, phase: u64) -> u64 {
    let phase = phase % period;
    let base = after - after % period + phase;
    if base > after {
        base
    } else {
        base + period
    }
}

impl BroadcastNode {
    /// A node `id` among `ids` (Maelstrom's order, `id` included or not).
    ///
    /// `clock_offset_ms` turns the runtime's `now_ms` into a clock shared by all nodes (e.g.
    /// wall-clock milliseconds minus `now_ms` at start); flush instants are aligned to it.
    /// `seed` drives the choice of anti-entropy peers.
    pub fn new(
        id: &str,
        ids: &[String],
        config: BroadcastConfig,
        clock_offset_ms: u64,
        seed: u64,
    ) -> Self {
        let peers: Vec<String> = ids.iter().filter(|p| *p != id).cloned().collect();
        let hubs: Vec<String> = if config.hubs == 0 || config.hubs >= ids.len() {
            Vec::new()
        } else {
            ids.iter().take(config.hubs).cloned().collect()
        };
        let mut rng = StdRng::seed_from_u64(seed);
        let first_digest = rng.random_range(0..config.digest_ms.max(1));
        Self {
            id: id.to_owned(),
            peers,
            hubs,
            hub_index: 0,
            clock_offset_ms,
            store: ValueStore::new(),
            to_hub: BTreeSet::new(),
            deliver: BTreeMap::new(),
            unconfirmed: BTreeSet::new(),
            awaiting_hub_since: None,
            next_leaf_flush: 0,
            next_hub_flush: 0,
            next_digest: first_digest,
            last_heard: BTreeMap::new(),
            last_spread_ms: None,
            no_ask_until: 0,
            saved: Saved::default(),
            greet: false,
            rng,
            stats: NodeStats::default(),
            config,
        }
    }

    /// Takes in what earlier lives of this node kept (see [`super::saved`]): every value,
    /// as known since long ago (settled: digests list it and repairs send it at once). A
    /// node that recovered values greets every peer with a digest of them in its first
    /// call, so that it gets what it missed while it was down and its peers get what only
    /// it held (values it acknowledged just before it died), without waiting for
    /// anti-entropy rounds.
    pub fn recover(&mut self, recovered: &Recovered) {
        let (saved, values) = Saved::recover(recovered);
        for v in values {
            self.store.insert(v, 0);
        }
        if !self.store.is_empty() {
            tracing::info!(values = self.store.len(), "values recovered");
            self.greet = true;
        }
        self.saved = saved;
    }

    /// After a restart with recovered values: a digest of them to every peer (a first
    /// digest: each answers with what this node lacks, and asks for what it lacks).
    fn greet_peers(&mut self, now_ms: u64, out: &mut Outbox<BroadcastOut>) {
        if !std::mem::take(&mut self.greet) {
            return;
        }
        let have = self.store.ranges_held(self.global(now_ms), 0).into_wire();
        for peer in &self.peers {
            out.send(
                peer.clone(),
                BroadcastOut::Digest {
                    have: have.clone(),
                    reply: false,
                    pull: false,
                },
            );
        }
    }

    /// Records `v` as known since `now_ms`, for the data directory too; whether it was new.
    fn learn(&mut self, v: u64, now_ms: u64) -> bool {
        let new = self.store.insert(v, self.global(now_ms));
        if new {
            self.saved.learned(v);
        }
        new
    }

    /// Every value this node knows, ascending (what `read` returns).
    pub fn values(&self) -> Vec<u64> {
        self.store.values()
    }

    /// Counters since start.
    pub fn stats(&self) -> &NodeStats {
        &self.stats
    }

    /// The configuration in use.
    pub fn config(&self) -> &BroadcastConfig {
        &self.config
    }

    /// The hub this node currently sends its own values to; `None` when it delivers them
    /// itself.
    pub fn current_hub(&self) -> Option<&str> {
        self.hubs
            .get(self.hub_index)
            .map(String::as_str)
            .filter(|h| *h != self.id)
    }

    fn global(&self, now_ms: u64) -> u64 {
        now_ms.saturating_add(self.clock_offset_ms)
    }

    /// The node's clock time of the shared clock's `global_ms`.
    fn local(&self, global_ms: u64) -> Time {
        Time::from_millis(global_ms.saturating_sub(self.clock_offset_ms))
    }

    /// Moves each flush schedule whose queue is empty past `now_ms`: a node with nothing
    /// queued sleeps through flush instants, so a value queued later waits for the next
    /// aligned instant instead of leaving at once.
    fn catch_up(&mut self, now_ms: u64) {
        let g = self.global(now_ms);
        if self.config.leaf_interval_ms > 0 && self.to_hub.is_empty() && g >= self.next_leaf_flush {
            self.next_leaf_flush = next_aligned(g, self.config.leaf_interval_ms, 0);
        }
        if self.config.interval_ms > 0 && self.deliver.is_empty() && g >= self.next_hub_flush {
            self.next_hub_flush =
                next_aligned(g, self.config.interval_ms, self.config.hub_phase_ms);
        }
    }

    fn queue_deliver(&mut self, v: u64, except: Option<&str>) {
        for peer in &self.peers {
            if Some(peer.as_str()) == except {
                continue;
            }
            let set = self.deliver.entry(peer.clone()).or_default();
            if set.len() >= self.config.pending_capacity {
                // Full: the peer gets this value through anti-entropy instead.
                self.stats.pending_overflow += 1;
            } else {
                set.insert(v);
            }
        }
    }

    /// A value first learned here from a client (or from a repair): send it on its way.
    /// `except` is a peer known to hold it already.
    fn originate(&mut self, v: u64, except: Option<&str>) {
        if self.current_hub().is_some() {
            if self.to_hub.len() >= self.config.pending_capacity {
                self.stats.pending_overflow += 1;
            } else {
                self.to_hub.insert(v);
            }
        } else {
            self.queue_deliver(v, except);
        }
    }

    fn heard_from(&mut self, src: &str) {
        if self.current_hub() == Some(src) {
            self.awaiting_hub_since = None;
            self.unconfirmed.clear();
        }
    }

    fn flush_to_hub(&mut self, now_ms: u64, out: &mut Outbox<BroadcastOut>) {
        if self.to_hub.is_empty() {
            return;
        }
        let values = std::mem::take(&mut self.to_hub);
        match self.current_hub().map(str::to_owned) {
            Some(hub) => {
                for &v in &values {
                    if self.unconfirmed.len() >= self.config.pending_capacity {
                        self.unconfirmed.pop_first();
                        self.stats.unconfirmed_overflow += 1;
                    }
                    self.unconfirmed.insert(v);
                }
                self.awaiting_hub_since.get_or_insert(now_ms);
                out.send(
                    hub,
                    BroadcastOut::Relay {
                        messages: values.into_iter().collect(),
                    },
                );
            }
            None => {
                for v in values {
                    self.queue_deliver(v, None);
                }
            }
        }
    }

    fn flush_deliveries(&mut self, now_ms: u64, out: &mut Outbox<BroadcastOut>) {
        if self.deliver.is_empty() {
            return;
        }
        let have = self.config.piggyback_digests.then(|| {
            self.store
                .ranges_held(self.global(now_ms), self.config.settle_ms)
                .into_wire()
        });
        if have.is_some() {
            self.last_spread_ms = Some(now_ms);
        }
        // Every entry is sent, empty ones too: an entry exists only when values are due or
        // a relay is to be answered.
        for (peer, set) in std::mem::take(&mut self.deliver) {
            let messages = set.into_iter().collect();
            let body = match &have {
                Some(h) => BroadcastOut::Spread {
                    messages,
                    have: h.clone(),
                },
                None => BroadcastOut::Deliver { messages },
            };
            out.send(peer, body);
        }
    }

    /// Sends whatever is due at `now_ms`.
    fn flush_due(&mut self, now_ms: u64, out: &mut Outbox<BroadcastOut>) {
        let g = self.global(now_ms);
        if self.config.leaf_interval_ms == 0 {
            self.flush_to_hub(now_ms, out);
        } else if g >= self.next_leaf_flush {
            self.flush_to_hub(now_ms, out);
            self.next_leaf_flush = next_aligned(g, self.config.leaf_interval_ms, 0);
        }
        if self.config.interval_ms == 0 {
            self.flush_deliveries(now_ms, out);
        } else if g >= self.next_hub_flush {
            self.flush_deliveries(now_ms, out);
            self.next_hub_flush =
                next_aligned(g, self.config.interval_ms, self.config.hub_phase_ms);
        }
    }

    fn check_hub(&mut self, now_ms: u64) {
        let Some(since) = self.awaiting_hub_since else {
            return;
        };
        if now_ms.saturating_sub(since) < self.config.hub_timeout_ms() || self.hubs.is_empty() {
            return;
        }
        let old = self.current_hub().unwrap_or_default().to_owned();
        self.hub_index = (self.hub_index + 1) % self.hubs.len();
        self.stats.failovers += 1;
        self.awaiting_hub_since = None;
        let resend = std::mem::take(&mut self.unconfirmed);
        tracing::info!(
            old,
            new = self.current_hub().unwrap_or(&self.id),
            resend = resend.len(),
            "hub silent; failing over"
        );
        for v in resend {
            self.originate(v, None);
        }
    }

    fn send_digests(&mut self, now_ms: u64, out: &mut Outbox<BroadcastOut>) {
        if self.peers.is_empty() || self.config.fanout == 0 {
            return;
        }
        let have = self
            .store
            .ranges_held(self.global(now_ms), self.config.settle_ms)
            .into_wire();
        let chosen: Vec<String> = if self.config.piggyback_digests {
            // The peers heard from longest ago: after a partition heals, those on the far
            // side. Shuffled first so that ties are broken at random.
            let mut order = self.peers.clone();
            order.shuffle(&mut self.rng);
            order.sort_by_key(|p| self.last_heard.get(p).copied().unwrap_or(0));
            order.truncate(self.config.fanout);
            order
        } else {
            self.peers
                .choose_multiple(&mut self.rng, self.config.fanout)
                .cloned()
                .collect()
        };
        for peer in chosen {
            out.send(
                peer,
                BroadcastOut::Digest {
                    have: have.clone(),
                    reply: false,
                    pull: false,
                },
            );
        }
    }

    fn on_digest(
        &mut self,
        now_ms: u64,
        src: &str,
        have: Vec<(u64, u64)>,
        kind: DigestKind,
        out: &mut Outbox<BroadcastOut>,
    ) {
        let have = Ranges::from_wire(have);
        if kind == DigestKind::Piggybacked && self.config.piggyback_digests {
            // Pulled repair: ask the sender for what we lack, once per gap; push nothing.
            if now_ms >= self.no_ask_until && self.store.lacks_any_of(&have) {
                self.no_ask_until = now_ms + self.config.ask_gap_ms();
                self.send_reply_digest(now_ms, src, true, out);
            }
            return;
        }
        // A first digest lists only the sender's settled values, so only push values held
        // long enough that the sender would have them by now if nothing was lost. A reply
        // digest lists everything the sender holds.
        let gate = if matches!(kind, DigestKind::Reply { .. }) {
            self.config.settle_ms
        } else {
            2 * self.config.settle_ms
        };
        let push =
            self.store
                .missing_from(&have, self.global(now_ms), gate, self.config.repair_batch);
        if !push.is_empty() {
            self.stats.repaired += push.len() as u64;
            let spread = kind != DigestKind::Reply { pull: true };
            out.send(
                src,
                BroadcastOut::Repair {
                    messages: push,
                    spread,
                },
            );
        }
        if !matches!(kind, DigestKind::Reply { .. }) && self.store.lacks_any_of(&have) {
            self.send_reply_digest(now_ms, src, false, out);
        }
    }

    /// Asks `src` for what this node lacks: a digest of everything it holds, as a reply
    /// (`pull`: the repair is not to be disseminated further).
    fn send_reply_digest(
        &self,
        now_ms: u64,
        src: &str,
        pull: bool,
        out: &mut Outbox<BroadcastOut>,
    ) {
        out.send(
            src,
            BroadcastOut::Digest {
                have: self.store.ranges_held(self.global(now_ms), 0).into_wire(),
                reply: true,
                pull,
            },
        );
    }

    /// Whether `msg` from `src` may be acted on: client bodies always; node-to-node bodies
    /// only from a peer (which counts as hearing from it), others are refused with an
    /// error, since answering them could address an id Maelstrom does not know.
    fn admit(
        &mut self,
        now_ms: u64,
        src: &str,
        msg: &Incoming<BroadcastIn>,
        out: &mut Outbox<BroadcastOut>,
    ) -> bool {
        let peer_only = matches!(
            msg.body,
            BroadcastIn::Relay { .. }
                | BroadcastIn::Deliver { .. }
                | BroadcastIn::Spread { .. }
                | BroadcastIn::Repair { .. }
                | BroadcastIn::Digest { .. }
        );
        if !peer_only {
            return true;
        }
        if !self.peers.iter().any(|p| p == src) {
            tracing::warn!(src, "node-to-node message from a non-peer ignored");
            out.reply_error(
                &msg.origin,
                ErrorBody::new(
                    ErrorCode::NotSupported,
                    "node-to-node message from a non-peer",
                ),
            );
            return false;
        }
        self.last_heard.insert(src.to_owned(), now_ms);
        true
    }

    /// A hub's part: stores relayed values and queues them for every peer but `src`.
    fn on_relay(&mut self, now_ms: u64, src: &str, messages: Vec<u64>) {
        // Relayed even when already known: a sender relays a known value only when
        // it was lost on its way (failover, repair), so others likely lack it too.
        self.heard_from(src);
        for v in messages {
            self.learn(v, now_ms);
            self.queue_deliver(v, Some(src));
        }
        // The sender hears back at the next flush even when nothing else is due for
        // it (an empty batch), so it does not take this hub for dead.
        self.deliver.entry(src.to_owned()).or_default();
    }
}

impl Machine for BroadcastNode {
    type In = BroadcastIn;
    type Out = BroadcastOut;

    /// Adds at most one reply, plus one message per peer when a flush is due.
    fn on_message(
        &mut self,
        now: Time,
        msg: Incoming<BroadcastIn>,
        out: &mut Outbox<BroadcastOut>,
    ) {
        let now_ms = now.as_millis();
        self.greet_peers(now_ms, out);
        self.catch_up(now_ms);
        let src = msg.origin.src.to_string();
        if !self.admit(now_ms, &src, &msg, out) {
            return;
        }
        match msg.body {
            BroadcastIn::Topology { .. } => out.reply(&msg.origin, BroadcastOut::TopologyOk),
            BroadcastIn::Broadcast { message } => {
                out.reply(&msg.origin, BroadcastOut::BroadcastOk);
                if self.learn(message, now_ms) {
                    self.originate(message, None);
                }
            }
            BroadcastIn::Read {} => out.reply(
                &msg.origin,
                BroadcastOut::ReadOk {
                    messages: self.store.values(),
                },
            ),
            BroadcastIn::Relay { messages } => self.on_relay(now_ms, &src, messages),
            BroadcastIn::Repair { messages, spread } => {
                self.heard_from(&src);
                for v in messages {
                    if self.learn(v, now_ms) && spread {
                        self.originate(v, Some(&src));
                    }
                }
            }
            BroadcastIn::Deliver { messages } => {
                self.heard_from(&src);
                for v in messages {
                    self.learn(v, now_ms);
                }
            }
            BroadcastIn::Spread { messages, have } => {
                self.heard_from(&src);
                for v in messages {
                    self.learn(v, now_ms);
                }
                self.on_digest(now_ms, &src, have, DigestKind::Piggybacked, out);
            }
            BroadcastIn::Digest { have, reply, pull } => {
                self.heard_from(&src);
                let kind = if reply {
                    DigestKind::Reply { pull }
                } else {
                    DigestKind::Explicit
                };
                self.on_digest(now_ms, &src, have, kind, out);
            }
        }
        self.flush_due(now_ms, out);
        self.saved.write(&self.store, out);
    }

    /// Adds at most one message per peer per due flush, plus `fanout` digests.
    fn on_timeout(&mut self, now: Time, out: &mut Outbox<BroadcastOut>) {
        let now_ms = now.as_millis();
        self.greet_peers(now_ms, out);
        self.catch_up(now_ms);
        self.check_hub(now_ms);
        self.flush_due(now_ms, out);
        if now_ms >= self.next_digest {
            let period = self.config.digest_ms.max(1);
            match self.last_spread_ms {
                // A piggybacked digest went out recently: no explicit round; the next one
                // is due a full period after that batch.
                Some(t) if now_ms < t + period => self.next_digest = t + period,
                _ => {
                    self.send_digests(now_ms, out);
                    self.next_digest = now_ms + period;
                }
            }
        }
    }

    /// The earliest of: the next flush with something queued, the hub's failover
    /// deadline, the next digest round, a greeting after a restart.
    fn poll_timeout(&self) -> Option<Time> {
        let leaf = (self.config.leaf_interval_ms > 0 && !self.to_hub.is_empty())
            .then(|| self.local(self.next_leaf_flush));
        let hub = (self.config.interval_ms > 0 && !self.deliver.is_empty())
            .then(|| self.local(self.next_hub_flush));
        let failover = self
            .awaiting_hub_since
            .filter(|_| !self.hubs.is_empty())
            .map(|since| Time::from_millis(since.saturating_add(self.config.hub_timeout_ms())));
        let digest = (!self.peers.is_empty() && self.config.fanout > 0)
            .then(|| Time::from_millis(self.next_digest));
        // A greeting is due at once.
        let greet = self.greet.then_some(Time::ZERO);
        [leaf, hub, failover, digest, greet]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests;
