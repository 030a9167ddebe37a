//! [`Gossip`]: delta-state replication of one [`Crdt`] between nodes, shared by the
//! g-counter (CRDT mode), pn-counter and g-set nodes. The design and its bounds are
//! described in [`crate::crdt`].

use std::time::Duration;

use glomers_gcounter::NodeId;
use glomers_node::{Outbox, Start, Time};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::kept::Kept;
use super::slots::{slot_name, Slots};
use super::Crdt;
use crate::durable;

mod link;
#[cfg(test)]
mod tests;

use link::{Decision, Link};

/// Unacknowledged messages remembered per peer; an older one is forgotten when a newer one
/// is sent beyond this (the newer carries everything the older did).
pub const WINDOW: usize = 4;

/// The default replication period, in milliseconds.
pub const DEFAULT_PERIOD_MS: u64 = 1000;

/// How long after the leaves' rounds the hub's round falls (at most half a period): their
/// messages have arrived by then on a network of a few milliseconds' latency.
pub const HUB_PHASE: Duration = Duration::from_millis(20);

/// How often, at most, a message carries the full state instead of a delta.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Whom a node sends new data to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Topology {
    /// Every node sends its new data to the hub (the first node of the list), and the hub
    /// to every node: `2(n-1)` messages per round reach everyone. A node whose hub stops
    /// acknowledging sends to every peer until it acknowledges again.
    #[default]
    Star,
    /// Every node sends its new data to every peer (up to the fan-out).
    Mesh,
}

/// Tunables of [`Gossip`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipConfig {
    /// Replication period: rounds fall on multiples of it on the wall clock.
    pub period: Duration,
    /// Whom new data goes to.
    pub topology: Topology,
    /// Most peers offered new data in one round, chosen at random (0: every one).
    /// Acknowledgements and retransmissions do not count.
    pub fanout: usize,
    /// How long a peer may leave a message unacknowledged before it counts as silent: it
    /// then gets at most one message per `retransmit`.
    pub retransmit: Duration,
    /// How often a message carries the full state (see [`HEARTBEAT`]).
    pub heartbeat: Duration,
    /// Whether unacknowledged data is re-sent. `false` only for tests: a deliberately
    /// broken node that never re-sends a lost delta.
    pub resend: bool,
}

impl GossipConfig {
    /// The configuration for a replication `period`: star, no fan-out limit, a peer silent
    /// after two periods and 100 ms without an acknowledgement.
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            topology: Topology::Star,
            fanout: 0,
            retransmit: period * 2 + Duration::from_millis(100),
            heartbeat: HEARTBEAT,
            resend: true,
        }
    }
}

impl Default for GossipConfig {
    fn default() -> Self {
        Self::new(Duration::from_millis(DEFAULT_PERIOD_MS))
    }
}

/// One gossip message: `{"type": "gossip", "seq": 17, "ack": 12, "full": true, "delta":
/// ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GossipMsg<W> {
    /// The sender's message number (increasing across the sender's restarts).
    pub seq: u64,
    /// The highest `seq` the sender received from the recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<u64>,
    /// Whether `delta` is the sender's whole state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full: bool,
    /// What the sender believes the recipient lacks (its whole state when `full`).
    pub delta: W,
}

/// One node's replica of a CRDT and its gossip with every peer.
#[derive(Debug)]
pub struct Gossip<C: Crdt> {
    /// The counter slots' names.
    slots: Slots,
    /// The own counter slot, and its name.
    slot: NodeId,
    slot_name: String,
    /// What this node writes to its data directory.
    kept: Kept,
    state: C,
    links: Vec<Link<C>>,
    /// Star, on a leaf: the hub's link.
    hub: Option<usize>,
    config: GossipConfig,
    /// Unix time at `Time::ZERO`, in nanoseconds: rounds are aligned to the wall clock.
    epoch_ns: u128,
    /// This node's rounds fall this long after each multiple of the period.
    phase: Duration,
    next_seq: u64,
    /// When the next round is due (something new to send or an acknowledgement owed).
    wanted: Option<Time>,
    rng: StdRng,
}

impl<C: Crdt> Gossip<C> {
    /// The replica of node `start.info.id`, with what earlier lives kept (see
    /// [`super::kept`]): it counts in the slot it recovers, or else in a slot named after
    /// this life. A node id missing from the node list is appended (and logged), so the
    /// node still serves.
    pub fn new(start: &Start<'_>, config: GossipConfig) -> Self {
        let mut ids = start.info.ids.clone();
        let me = start.info.index().unwrap_or_else(|| {
            tracing::error!(node = %start.info.id, "own id missing from node_ids; appended");
            ids.push(start.info.id.clone());
            ids.len() - 1
        });
        let links: Vec<Link<C>> = (0..ids.len())
            .filter(|&i| i != me)
            .map(|i| Link::new(ids[i].clone()))
            .collect();
        let star = config.topology == Topology::Star;
        let hub = (star && me != 0 && !links.is_empty()).then_some(0);
        let phase = if star && me == 0 {
            HUB_PHASE.min(config.period / 2)
        } else {
            Duration::ZERO
        };
        let (kept, recovery) = Kept::recover::<C::Wire>(start.recovered, &start.info.id);
        let mut slots = Slots::new(ids);
        let slot_name = recovery
            .slot
            .unwrap_or_else(|| slot_name(&start.info.id, durable::life(start)));
        let slot = slots.index_of(&slot_name).unwrap_or(NodeId::MAX);
        let mut state = C::default();
        for part in recovery.parts {
            if let Err(e) = state.join(&C::from_wire(part, &mut slots)) {
                tracing::error!(error = %e, "kept state not recovered");
            }
        }
        let recovered = !state.is_bottom();
        let mut gossip = Self {
            slots,
            slot,
            slot_name,
            kept,
            state,
            links,
            hub,
            epoch_ns: u128::from(start.epoch_unix_ms()) * 1_000_000,
            phase,
            // Increasing across restarts as the wall clock is: a restarted node never
            // reuses a number its peers may still acknowledge.
            next_seq: start.unix_ms.saturating_mul(1000).max(1),
            wanted: None,
            rng: StdRng::seed_from_u64(start.seed),
            config,
        };
        if recovered {
            // What an earlier life acknowledged may not have reached the peers yet.
            gossip.want_round(start.now);
        }
        gossip
    }

    /// This node's own counter slot (its life's, or the one it recovered).
    pub fn slot(&self) -> NodeId {
        self.slot
    }

    /// The local state.
    pub fn state(&self) -> &C {
        &self.state
    }

    /// Applies a local update `f(state, own slot)`, which returns the part of the state it
    /// made; on success that part is queued in `out` for the data directory (so the driver
    /// makes it durable before the acknowledgement queued after it leaves) and a round is
    /// scheduled to spread it.
    pub fn update<O, E>(
        &mut self,
        now: Time,
        out: &mut Outbox<O>,
        f: impl FnOnce(&mut C, NodeId) -> Result<C, E>,
    ) -> Result<(), E> {
        let part = f(&mut self.state, self.slot)?;
        if self.kept.durable() {
            let (state, slots) = (&self.state, &self.slots);
            let wire = part.to_wire(slots);
            self.kept
                .keep(out, &self.slot_name, &wire, || state.to_wire(slots));
        }
        self.want_round(now);
        Ok(())
    }

    /// Handles a gossip message from `src`: joins what it carries into the state and,
    /// from a peer, updates what the peer is known to hold and the acknowledgements.
    pub fn on_gossip(&mut self, now: Time, src: &str, msg: GossipMsg<C::Wire>) {
        let theirs = C::from_wire(msg.delta, &mut self.slots);
        if !theirs.is_within(&self.state) {
            match self.state.join(&theirs) {
                // Others may lack it too.
                Ok(()) => self.want_round(now),
                Err(e) => tracing::error!(error = %e, %src, "gossip not merged"),
            }
        }
        let Some(link) = self.links.iter_mut().find(|l| l.id == src) else {
            tracing::debug!(%src, "gossip from a non-peer merged");
            return;
        };
        let reset = msg.full && self.config.resend;
        if link.received(msg.seq, msg.ack, reset, theirs) {
            self.want_round(now);
        }
    }

    /// Runs what is due at `now`: on a grid round, new data to the topology's targets (up
    /// to the fan-out) and acknowledgements owed; at any time, retransmissions to silent
    /// peers. At most one message per peer, each handed to `send(peer, message)`.
    pub fn on_timeout(&mut self, now: Time, send: &mut dyn FnMut(&str, GossipMsg<C::Wire>)) {
        let retransmit = self.config.retransmit;
        let hub_silent = self
            .hub
            .is_some_and(|h| self.links[h].silent(now, retransmit));
        let grid = self.wanted.is_some_and(|t| t <= now);
        if grid {
            self.wanted = None;
        }
        // A leaf whose hub went silent offers its data to the others at once (it wakes
        // for the hub's retransmission), not only at its next round of new data.
        let grid = grid || hub_silent;
        let mut due = Vec::new();
        let mut offered = Vec::new();
        for i in 0..self.links.len() {
            let target = match self.hub {
                Some(h) => i == h || hub_silent,
                None => true,
            };
            let delta = self.state.delta_since(&self.links[i].known);
            if delta.is_bottom() {
                self.links[i].settle();
            }
            match self.links[i].decide(now, grid, target, &delta, retransmit) {
                Decision::Skip => {}
                Decision::Send => due.push((i, delta)),
                Decision::Offer => offered.push((i, delta)),
            }
        }
        let fanout = self.config.fanout;
        if fanout > 0 && offered.len() > fanout {
            offered.shuffle(&mut self.rng);
            offered.truncate(fanout);
            // The peers left out still lack data: another round.
            self.want_round(now);
        }
        for (i, delta) in due.into_iter().chain(offered) {
            self.send_to(i, now, delta, send);
        }
    }

    /// The next deadline: a grid round when something is due, or a retransmission.
    pub fn poll_timeout(&self) -> Option<Time> {
        let retry = self
            .links
            .iter()
            .filter_map(|l| l.retry_due(self.config.retransmit))
            .min();
        match (self.wanted, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn send_to(
        &mut self,
        i: usize,
        now: Time,
        delta: C,
        send: &mut dyn FnMut(&str, GossipMsg<C::Wire>),
    ) {
        let resend = self.config.resend;
        let link = &mut self.links[i];
        let full = resend && link.needs_full(now, self.config.heartbeat);
        let payload = if full { self.state.clone() } else { delta };
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        let msg = GossipMsg {
            seq,
            ack: link.ack(),
            full,
            delta: payload.to_wire(&self.slots),
        };
        link.sent(now, seq, payload, full, resend);
        send(&link.id, msg);
    }

    /// Schedules a grid round after `now` (keeping an earlier one); a node without peers
    /// never has anything to send.
    fn want_round(&mut self, now: Time) {
        if self.links.is_empty() {
            return;
        }
        let t = self.next_grid(now);
        self.wanted = Some(self.wanted.map_or(t, |w| w.min(t)));
    }

    /// The first instant after `now` that lies `phase` after a multiple of the period on
    /// the wall clock.
    fn next_grid(&self, now: Time) -> Time {
        let period = self.config.period.as_nanos().max(1);
        let phase = self.phase.as_nanos() % period;
        let wall = self.epoch_ns + u128::from(now.as_nanos());
        let k = wall.saturating_sub(phase) / period + 1;
        let next = k * period + phase;
        Time::from_nanos(u64::try_from(next - self.epoch_ns).unwrap_or(u64::MAX))
    }
}
