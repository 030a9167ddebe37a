//! [`Replicator`]: one node's log of its own entries replicated to every peer, the part the
//! kafka and txn nodes share.
//!
//! Each node appends the entries it originates ([`Replicator::push`]) to its *origin log*
//! and sends each peer, in batches, the part of it the peer has not acknowledged. A batch
//! carries `from` (the origin index of its first entry) and acknowledges what the sender
//! holds of the receiver's own log (`ack`); a receiver keeps only batches that continue
//! its contiguous prefix of the sender's log ([`Replicator::on_batch`] says which entries
//! are new), so every peer ends up with every entry exactly once, in order. Besides
//! entries, a node may replicate one more thing that only grows, a *version* (kafka's
//! watermarks and commits, versioned by its change index): [`Replicator::touch`] raises
//! it, and a batch that brings a peer to the end of the log may carry what changed since
//! the version the peer acknowledged ([`Batch::marks`]).
//!
//! Timing:
//! - Batches go out in rounds on a grid of `tick` (at most one batch per peer per round),
//!   and a round is scheduled only when some peer has something new (entries, a version, or
//!   an acknowledgement owed): an idle node does not wake.
//! - Every peer with unacknowledged data has a retransmission check in the core
//!   [`RetryRing`], due `retransmit` after the batch whose acknowledgement is awaited. When
//!   it comes due and the peer has still not acknowledged, the node rewinds to what the
//!   peer acknowledged, resends from there, and checks again after a capped, jittered,
//!   growing delay ([`Backoff`]: a partitioned peer costs ever fewer messages). Any
//!   acknowledgement that makes progress resets the check.
//!
//! Node lives. Every batch carries the sender's *life* (a number above every earlier life's
//! of the same node, [`crate::durable::life`]) and the life of the receiver its
//! acknowledgements refer to. A node that restarted may have lost whatever it held in
//! memory, and its origin log starts again at index 0, so when a batch shows a peer's new
//! life the link to it starts over in both directions: what it holds of ours and what we
//! hold of its log are both zero again, and it is sent everything this node still keeps
//! (its own entries, recovered from its data directory, it sends again the same way; the
//! nodes apply entries idempotently). A batch of an older life of the peer, late on the
//! wire, is ignored, and acknowledgements that refer to another life of ours count for
//! nothing.
//!
//! Bounds: the origin log keeps the entries some peer has not acknowledged, at most
//! `max_backlog` ([`Replicator::push`] refuses beyond it, a definite refusal the node
//! reports as error 11), and besides them up to `max_history` entries in all, for peers
//! that restart; beyond that the oldest acknowledged entries are dropped, and a restarted
//! peer is brought up from the oldest entry kept (each batch says which that is, so the
//! peer skips what it can no longer get instead of waiting for it). A batch carries at most
//! `max_batch` entries; the retry ring holds one check per peer, so a cluster has at most
//! [`MAX_PEERS`] peers.

use std::collections::VecDeque;
use std::time::Duration;

use glomers_node::Time;
use glomers_retry_ring::{Backoff, Jitter, Pending, Rescheduled, RetryRing};
use rand::rngs::StdRng;

/// Most peers one node replicates to (the retransmission checks' ring capacity).
pub const MAX_PEERS: usize = 1024;

/// Longest wait between two retransmissions to a silent peer.
pub const MAX_RETRANSMIT: Duration = Duration::from_secs(1);

/// Tunables of a [`Replicator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaConfig {
    /// Batching period: rounds fall on multiples of it.
    pub tick: Duration,
    /// How long a peer may leave a batch unacknowledged before it is resent (the first
    /// retransmission delay; later ones grow up to [`MAX_RETRANSMIT`]).
    pub retransmit: Duration,
    /// Most entries in one batch.
    pub max_batch: usize,
    /// Most entries kept for peers that have not acknowledged them.
    pub max_backlog: usize,
    /// Most entries kept in all, acknowledged ones included, for peers that restart.
    pub max_history: usize,
}

/// The origin log is full: the entry was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("replication backlog full ({0} entries); retry later")]
pub struct BacklogFull(pub usize);

/// Where a peer stands, from this node's side.
#[derive(Debug, Clone)]
struct Link {
    id: String,
    /// Outgoing: origin entries the peer acknowledged (a prefix length).
    acked: u64,
    /// Outgoing: origin entries sent (optimistically, since the last rewind).
    sent: u64,
    /// Outgoing: the version the peer acknowledged.
    acked_version: u64,
    /// Outgoing: the version sent so far.
    sent_version: u64,
    /// Incoming: the peer sent data since our last batch to it; we owe an acknowledgement.
    ack_owed: bool,
    /// Incoming: the peer's origin entries we hold (a prefix length).
    recv: u64,
    /// Incoming: the peer's version up to which we applied everything.
    recv_version: u64,
    /// The peer's life as last seen (0: never heard).
    peer_life: u64,
}

impl Link {
    fn new(id: &str) -> Self {
        Link {
            id: id.to_owned(),
            acked: 0,
            sent: 0,
            acked_version: 0,
            sent_version: 0,
            ack_owed: false,
            recv: 0,
            recv_version: 0,
            peer_life: 0,
        }
    }
}

/// The header of a batch as it arrived from a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Origin index of the batch's first entry.
    pub from: u64,
    /// Entries in the batch.
    pub len: usize,
    /// How many of our entries the peer holds.
    pub ack: u64,
    /// The version of ours the peer applied.
    pub ack_version: u64,
    /// Whether the batch carries anything to acknowledge (entries or marks).
    pub carries_data: bool,
    /// The sender's life.
    pub life: u64,
    /// The life of ours that `ack` and `ack_version` refer to.
    pub ack_life: u64,
    /// The oldest origin index the sender still keeps.
    pub base: u64,
}

/// What to do with the entries of an arrived batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Apply the batch's entries from index `skip` on (the ones before are already held).
    From(usize),
    /// The batch starts past what we hold: apply nothing; the peer will resend.
    Gap,
    /// The batch is from an earlier life of the peer: ignore it.
    Stale,
}

/// One batch to send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Index of the peer (in [`Replicator::peers`]).
    pub peer: usize,
    /// Origin indexes `from..upto` of the entries to carry ([`Replicator::entries`]).
    pub from: u64,
    /// End (exclusive) of the entries carried.
    pub upto: u64,
    /// When set, carry what changed after this version, up to [`Batch::version`].
    pub marks: Option<u64>,
    /// The current version.
    pub version: u64,
    /// Acknowledgement of the peer's entries.
    pub ack: u64,
    /// Acknowledgement of the peer's version.
    pub ack_version: u64,
    /// This node's life.
    pub life: u64,
    /// The peer's life the acknowledgements refer to.
    pub ack_life: u64,
    /// The oldest origin index kept.
    pub base: u64,
}

/// The origin log and the replication cursors of one node (see the module documentation).
#[derive(Debug)]
pub struct Replicator<E> {
    config: ReplicaConfig,
    life: u64,
    origin: VecDeque<E>,
    base: u64,
    version: u64,
    links: Vec<Link>,
    checks: RetryRing<usize, (), MAX_PEERS>,
    backoff: Backoff,
    rng: StdRng,
    next_round: Option<Time>,
}

impl<E> Replicator<E> {
    /// A replicator for node `me` among `ids`, in node life `life`; `seed` drives the
    /// retransmission jitter. Peers beyond [`MAX_PEERS`] are left out (logged).
    pub fn new(me: &str, ids: &[String], config: ReplicaConfig, seed: u64, life: u64) -> Self {
        let mut links: Vec<Link> = ids
            .iter()
            .filter(|id| *id != me)
            .map(|id| Link::new(id))
            .collect();
        if links.len() > MAX_PEERS {
            tracing::error!(
                peers = links.len(),
                max = MAX_PEERS,
                "too many peers; the rest are not replicated to"
            );
            links.truncate(MAX_PEERS);
        }
        let backoff = Backoff::new(
            config.retransmit,
            MAX_RETRANSMIT.max(config.retransmit),
            u32::MAX,
            Jitter::Equal,
        );
        Self {
            config,
            life,
            origin: VecDeque::new(),
            base: 0,
            version: 0,
            links,
            checks: RetryRing::new(),
            backoff,
            rng: rand::SeedableRng::seed_from_u64(seed),
            next_round: None,
        }
    }

    /// The peers' ids, in the order of their indexes.
    pub fn peers(&self) -> impl Iterator<Item = &str> + '_ {
        self.links.iter().map(|l| l.id.as_str())
    }

    /// The index of peer `id`.
    pub fn peer_index(&self, id: &str) -> Option<usize> {
        self.links.iter().position(|l| l.id == id)
    }

    /// The id of peer `peer`.
    pub fn peer_id(&self, peer: usize) -> &str {
        self.links.get(peer).map_or("", |l| l.id.as_str())
    }

    /// Entries kept for peers that have not acknowledged them.
    pub fn backlog(&self) -> usize {
        let acked = self
            .links
            .iter()
            .map(|l| l.acked)
            .min()
            .unwrap_or(self.end());
        usize::try_from(self.end().saturating_sub(acked.max(self.base))).unwrap_or(usize::MAX)
    }

    /// This node's life.
    pub fn life(&self) -> u64 {
        self.life
    }

    /// The origin index one past the last entry.
    pub fn end(&self) -> u64 {
        self.base + self.origin.len() as u64
    }

    /// The current version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The entries at origin indexes `from..upto` still kept.
    pub fn entries(&self, from: u64, upto: u64) -> impl Iterator<Item = &E> + '_ {
        let skip = usize::try_from(from.saturating_sub(self.base)).unwrap_or(usize::MAX);
        let take = usize::try_from(upto.saturating_sub(from.max(self.base))).unwrap_or(usize::MAX);
        self.origin.iter().skip(skip).take(take)
    }

    /// Appends an entry this node originated, for every peer. A node without peers keeps
    /// nothing.
    pub fn push(&mut self, now: Time, entry: E) -> Result<(), BacklogFull> {
        if self.links.is_empty() {
            return Ok(());
        }
        let backlog = self.backlog();
        if backlog >= self.config.max_backlog {
            return Err(BacklogFull(backlog));
        }
        self.origin.push_back(entry);
        self.trim();
        self.schedule_round(now);
        Ok(())
    }

    /// Raises the version (something the marks carry changed) and returns it.
    pub fn touch(&mut self, now: Time) -> u64 {
        self.version += 1;
        if !self.links.is_empty() {
            self.schedule_round(now);
        }
        self.version
    }

    /// The version of peer `peer` up to which we applied everything.
    pub fn received_version(&self, peer: usize) -> u64 {
        self.links.get(peer).map_or(0, |l| l.recv_version)
    }

    /// Records that we applied peer `peer`'s version up to `version`.
    pub fn applied_version(&mut self, peer: usize, version: u64) {
        if let Some(l) = self.links.get_mut(peer) {
            l.recv_version = l.recv_version.max(version);
        }
    }

    /// How many of peer `peer`'s entries we hold.
    pub fn received(&self, peer: usize) -> u64 {
        self.links.get(peer).map_or(0, |l| l.recv)
    }

    /// Takes in a batch from peer `peer`: its life, its acknowledgements, and which of its
    /// entries are new. The caller applies those, then calls [`Replicator::applied`] with
    /// their count.
    pub fn on_batch(&mut self, now: Time, peer: usize, header: Header) -> Accept {
        let (end, version, life) = (self.end(), self.version, self.life);
        let Some(link) = self.links.get_mut(peer) else {
            return Accept::Gap;
        };
        if header.life < link.peer_life {
            return Accept::Stale;
        }
        if header.life > link.peer_life {
            let restarted = link.peer_life != 0;
            if restarted {
                tracing::info!(
                    peer = link.id,
                    "peer restarted; replicating to it from the start"
                );
                *link = Link::new(&link.id);
            }
            link.peer_life = header.life;
            if restarted {
                self.checks.remove(|c| c.dest == peer);
                self.schedule_round(now);
            }
        }
        let link = &mut self.links[peer];
        if header.carries_data {
            link.ack_owed = true;
        }
        let (acked, acked_version) = if header.ack_life == life {
            (header.ack.min(end), header.ack_version.min(version))
        } else {
            (0, 0)
        };
        let progress = acked > link.acked || acked_version > link.acked_version;
        if progress {
            link.acked = link.acked.max(acked);
            link.acked_version = link.acked_version.max(acked_version);
            link.sent = link.sent.max(link.acked);
            link.sent_version = link.sent_version.max(link.acked_version);
        }
        if header.from > link.recv && header.base > link.recv {
            tracing::warn!(
                peer = link.id,
                lost = header.base - link.recv,
                "entries the peer no longer keeps are skipped"
            );
            link.recv = header.base;
        }
        let accept = if header.from > link.recv {
            Accept::Gap
        } else {
            Accept::From(usize::try_from(link.recv - header.from).unwrap_or(usize::MAX))
        };
        if progress {
            self.checks.remove(|c| c.dest == peer);
            if self.outstanding(peer) {
                self.check_later(peer, now);
            }
        }
        self.trim();
        if header.carries_data || self.has_new(peer) {
            self.schedule_round(now);
        }
        accept
    }

    /// Records that `count` more entries of peer `peer`'s log are held here.
    pub fn applied(&mut self, peer: usize, count: usize) {
        if let Some(l) = self.links.get_mut(peer) {
            l.recv += count as u64;
        }
    }

    /// When [`Replicator::due`] should next run.
    pub fn poll_timeout(&self) -> Option<Time> {
        [self.next_round, self.checks.next_due()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The batches to send at `now`: retransmissions that came due, and the round's batches
    /// when a round is due. At most one batch per peer.
    pub fn due(&mut self, now: Time) -> Vec<Batch> {
        let mut batches = Vec::new();
        let mut sent_to = Vec::new();
        while let Some(check) = self.checks.pop_due(now) {
            let p = check.dest;
            if !self.outstanding(p) {
                continue;
            }
            let link = &mut self.links[p];
            link.sent = link.acked;
            link.sent_version = link.acked_version;
            batches.push(self.batch(p));
            sent_to.push(p);
            match self.backoff.reschedule(check, now, &mut self.rng) {
                Rescheduled::Due(next) => {
                    if self.checks.push(next).is_err() {
                        tracing::error!(peer = self.links[p].id, "retransmission check dropped");
                    }
                }
                Rescheduled::GaveUp(_) => {}
            }
        }
        if self.next_round.is_some_and(|t| t <= now) {
            self.next_round = None;
            for p in 0..self.links.len() {
                if sent_to.contains(&p) || !self.has_new(p) || self.probing(p) {
                    continue;
                }
                let idle = self.links[p].sent == self.links[p].acked
                    && self.links[p].sent_version == self.links[p].acked_version;
                batches.push(self.batch(p));
                if idle && self.outstanding(p) {
                    self.check_later(p, now);
                }
            }
            // A peer with more than one batch's worth gets the rest next round.
            if (0..self.links.len()).any(|p| self.has_new(p) && !self.probing(p)) {
                self.schedule_round(now);
            }
        }
        batches
    }

    /// A batch of what peer `p` has not been sent yet, advancing its cursors.
    fn batch(&mut self, p: usize) -> Batch {
        let (end, version, base, life) = (self.end(), self.version, self.base, self.life);
        let max_batch = self.config.max_batch as u64;
        let link = &mut self.links[p];
        let from = link.sent.max(base);
        let upto = end.min(from.saturating_add(max_batch));
        let marks = (upto == end && link.sent_version < version).then_some(link.sent_version);
        link.sent = upto;
        if marks.is_some() {
            link.sent_version = version;
        }
        link.ack_owed = false;
        Batch {
            peer: p,
            from,
            upto,
            marks,
            version,
            ack: link.recv,
            ack_version: link.recv_version,
            life,
            ack_life: link.peer_life,
            base,
        }
    }

    /// Whether peer `p` has not acknowledged everything.
    fn outstanding(&self, p: usize) -> bool {
        let l = &self.links[p];
        l.acked < self.end() || l.acked_version < self.version
    }

    /// Whether peer `p` has something it was not sent, or is owed an acknowledgement.
    fn has_new(&self, p: usize) -> bool {
        let l = &self.links[p];
        l.sent < self.end() || l.sent_version < self.version || l.ack_owed
    }

    /// Whether peer `p` is being retransmitted to (it missed a check): it is then sent
    /// batches only when its check comes due.
    fn probing(&self, p: usize) -> bool {
        self.checks.iter().any(|c| c.dest == p && c.attempt > 0)
    }

    fn check_later(&mut self, p: usize, now: Time) {
        if self.checks.iter().any(|c| c.dest == p) {
            return;
        }
        let check = Pending::new(p, (), now + self.config.retransmit);
        if self.checks.push(check).is_err() {
            tracing::error!(peer = self.links[p].id, "retransmission check dropped");
        }
    }

    fn schedule_round(&mut self, now: Time) {
        if self.next_round.is_some() {
            return;
        }
        let tick = self.config.tick.as_nanos().max(1);
        let now_ns = u128::from(now.as_nanos());
        let next = (now_ns / tick + 1) * tick;
        self.next_round = Some(Time::from_nanos(u64::try_from(next).unwrap_or(u64::MAX)));
    }

    /// Drops the oldest origin entries every peer has acknowledged while more than
    /// `max_history` are kept.
    fn trim(&mut self) {
        let Some(min_acked) = self.links.iter().map(|l| l.acked).min() else {
            return;
        };
        while self.base < min_acked && self.origin.len() > self.config.max_history {
            self.origin.pop_front();
            self.base += 1;
        }
    }
}

#[cfg(test)]
mod tests;
