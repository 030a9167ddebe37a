//! Retention: which prefix of each key the cluster may forget without any client noticing.
//!
//! Maelstrom's kafka clients read a key from a position (0, their committed offset, or
//! where their last poll ended) and the checker accuses the cluster of a *lost write* or
//! an *unseen* message when an acknowledged message is never returned by an `ok` poll, and
//! of a *poll skip* when a client's next poll starts past a message it has not seen. The
//! final phase even polls every key from offset 0. So a node may forget an entry only when
//! it has been returned to a client by an operation that completed, and no live client
//! still has to read it. Retention below the committed offset alone is not enough: a
//! client that lags behind another one's commit would skip, and a commit whose reply was
//! lost (the client's operation then ends `info`, its poll's messages never enter the
//! history) would make the messages it read look unseen.
//!
//! The rule, per key `k`:
//! - **Delivered prefix** `D(k)`: every entry below it was returned by a poll whose
//!   operation completed. A Maelstrom client's poll operation is a `poll`, then (when it
//!   returned something) a `commit_offsets` of what it read; a client whose operation
//!   times out is abandoned and never speaks again. So a client's next request after that
//!   commit proves the poll's operation completed, and the gap-free range it returned
//!   (see [`super::node`]: polls never skip) is delivered. Ranges that do not yet touch
//!   `D(k)` wait in a short list (at most [`MAX_PENDING`] per key; beyond it a range is
//!   dropped, which only delays retention). `D` is max-merged across the cluster.
//! - **Node bound** `B_n(k) = min(D(k), committed(k), every live client's position on k)`,
//!   where a client is live while it spoke to node `n` within [`RetentionConfig::session`]
//!   (longer than a client's RPC timeout: a client silent for that long has given up). A
//!   node that started less than one session ago bounds every key at 0: its clients from
//!   before a restart have not polled it yet. A node tracks at most [`MAX_CLIENTS`]
//!   clients; past that it bounds every key at 0 until a session passes.
//! - **Floor** `F(k)`: the node drops the entries below `F(k) = max(min over every node
//!   of B_n(k), every peer's F(k))`. Every node's last advertised bound counts (a node
//!   never heard from counts 0), so no node's client is left below the floor; a peer's
//!   floor is adopted as it is, so a node that restarted empty does not serve a key with
//!   holes where its peers forgot entries.
//!
//! Bounds and floors travel in the replication marks; floors only rise. A new client starts
//! at its committed offset (at or above every bound) or at 0 (a new process, which the
//! checker does not compare with any earlier poll), so neither can skip.

use std::collections::BTreeMap;
use std::time::Duration;

use glomers_node::Time;

use super::wire::{Key, Offset};

/// Pending delivered ranges kept per key while they do not touch its delivered prefix.
pub const MAX_PENDING: usize = 16;

/// Clients a node tracks positions and proofs for.
pub const MAX_CLIENTS: usize = 4096;

/// Which entries a kafka node forgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RetentionMode {
    /// Keep every entry for ever.
    Off,
    /// Forget what every client has read and no live client still needs (module docs).
    #[default]
    Consumed,
    /// Deliberately broken, for the tests that show the checker catches it: forget every
    /// entry below the committed offset, whoever still reads it. Never use it.
    #[value(hide = true)]
    BelowCommitted,
}

/// Tunables of retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionConfig {
    /// What to forget.
    pub mode: RetentionMode,
    /// How long a silent client still counts as reading (3x Maelstrom's 5 s RPC timeout).
    pub session: Duration,
    /// How often bounds are recomputed and entries dropped.
    pub period: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            mode: RetentionMode::Consumed,
            session: Duration::from_secs(15),
            period: Duration::from_secs(1),
        }
    }
}

/// Where a client's latest poll operation stands.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum Proof {
    /// Nothing awaits proof.
    #[default]
    None,
    /// A poll returned these `(key, from, last)` ranges; its commit has not come yet.
    Polled(Vec<(Key, Offset, Offset)>),
    /// The commit came; the client's next request proves the operation completed.
    Committed(Vec<(Key, Offset, Offset)>),
}

/// One client of this node.
#[derive(Debug, Default)]
struct Client {
    seen: Time,
    positions: BTreeMap<Key, Offset>,
    proof: Proof,
}

/// Retention bookkeeping of one key.
#[derive(Debug, Default, Clone)]
struct KeyState {
    delivered: Offset,
    pending: Vec<(Offset, Offset)>,
    /// This node's bound, as last advertised.
    bound: Offset,
    /// Entries below it are dropped here.
    floor: Offset,
}

/// What a client request means to retention.
#[derive(Debug, Clone, Copy)]
pub enum ClientEvent<'a> {
    /// A poll from these positions (its reply is reported by [`Retention::on_polled`]).
    Poll(&'a BTreeMap<Key, Offset>),
    /// A `commit_offsets`.
    Commit,
    /// Any other request.
    Other,
}

/// The retention state of a kafka node.
#[derive(Debug)]
pub struct Retention {
    config: RetentionConfig,
    started: Time,
    clients: BTreeMap<Key, Client>,
    /// Too many clients were seen: bound everything at 0 until then.
    overflow_until: Option<Time>,
    keys: BTreeMap<Key, KeyState>,
    /// Per peer: its latest bound of each key.
    peer_bounds: Vec<BTreeMap<Key, Offset>>,
    next_pass: Time,
    changed: Vec<Key>,
}

impl Retention {
    /// Retention for a node (life) that started at `now`, with `peers` peers.
    pub fn new(config: RetentionConfig, now: Time, peers: usize) -> Self {
        let next_pass = now + config.period;
        Self {
            config,
            started: now,
            clients: BTreeMap::new(),
            overflow_until: None,
            keys: BTreeMap::new(),
            peer_bounds: vec![BTreeMap::new(); peers],
            next_pass,
            changed: Vec::new(),
        }
    }

    /// Whether anything is ever dropped.
    pub fn active(&self) -> bool {
        self.config.mode != RetentionMode::Off
    }

    /// Notes a request of client `src`, before it is handled.
    pub fn on_request(&mut self, now: Time, src: &str, event: ClientEvent<'_>) {
        if !self.active() {
            return;
        }
        let Some(client) = self.client(now, src) else {
            return;
        };
        client.seen = now;
        let proof = std::mem::take(&mut client.proof);
        let proven = match (proof, event) {
            (Proof::Polled(ranges), ClientEvent::Commit) => {
                client.proof = Proof::Committed(ranges);
                None
            }
            (Proof::Committed(ranges), ClientEvent::Poll(_) | ClientEvent::Other) => Some(ranges),
            (Proof::Committed(ranges), ClientEvent::Commit) => {
                client.proof = Proof::Committed(ranges);
                None
            }
            // A poll whose commit never came, or nothing pending: nothing proven.
            _ => None,
        };
        if let ClientEvent::Poll(offsets) = event {
            client.positions = offsets.clone();
        }
        for (key, from, last) in proven.into_iter().flatten() {
            self.delivered(&key, from, last);
        }
    }

    /// Notes what a poll of `src` returned: `(key, first offset asked, last offset returned)`.
    pub fn on_polled(&mut self, now: Time, src: &str, ranges: Vec<(Key, Offset, Offset)>) {
        if !self.active() || ranges.is_empty() {
            return;
        }
        if let Some(client) = self.client(now, src) {
            client.proof = Proof::Polled(ranges);
        }
    }

    /// The client `src`, tracked from now on if there is room.
    fn client(&mut self, now: Time, src: &str) -> Option<&mut Client> {
        if !self.clients.contains_key(src) && self.clients.len() >= MAX_CLIENTS {
            self.expire(now);
            if self.clients.len() >= MAX_CLIENTS {
                self.overflow_until = Some(now + self.config.session);
                return None;
            }
        }
        Some(self.clients.entry(Key::from(src)).or_default())
    }

    /// Forgets clients silent for a session.
    fn expire(&mut self, now: Time) {
        let session = self.config.session;
        self.clients.retain(|_, c| c.seen + session > now);
    }

    /// Records that every entry of `key` in `[from, last]` was delivered.
    fn delivered(&mut self, key: &Key, from: Offset, last: Offset) {
        let state = self.keys.entry(key.clone()).or_default();
        if from > state.delivered {
            if state.pending.len() < MAX_PENDING {
                state.pending.push((from, last));
            }
            return;
        }
        let before = state.delivered;
        state.delivered = state.delivered.max(last.saturating_add(1));
        merge_pending(state);
        if state.delivered != before {
            self.changed.push(key.clone());
        }
    }

    /// Takes in a peer's marks of `key`: its delivered prefix, bound and floor. Returns the
    /// floor to apply here if it rose.
    pub fn on_marks(
        &mut self,
        peer: usize,
        key: &Key,
        delivered: Offset,
        bound: Offset,
        floor: Offset,
    ) -> Option<Offset> {
        if !self.active() {
            return None;
        }
        if let Some(bounds) = self.peer_bounds.get_mut(peer) {
            bounds.insert(key.clone(), bound);
        }
        let state = self.keys.entry(key.clone()).or_default();
        if delivered > state.delivered {
            state.delivered = delivered;
            merge_pending(state);
        }
        (floor > state.floor).then(|| {
            state.floor = floor;
            self.changed.push(key.clone());
            floor
        })
    }

    /// This node's delivered prefix, bound and floor of `key`, for its marks.
    pub fn marks(&self, key: &str) -> (Offset, Offset, Offset) {
        self.keys
            .get(key)
            .map_or((0, 0, 0), |s| (s.delivered, s.bound, s.floor))
    }

    /// Keys whose marks changed since the last call.
    pub fn take_changed(&mut self) -> Vec<Key> {
        std::mem::take(&mut self.changed)
    }

    /// When the next pass is due, if retention is on.
    pub fn due(&self) -> Option<Time> {
        self.active().then_some(self.next_pass)
    }

    /// Recomputes this node's bounds and the floors, if a pass is due; returns the keys whose
    /// floor rose, with the new floor. `committed` gives a key's committed offset.
    pub fn pass(
        &mut self,
        now: Time,
        committed: impl Fn(&str) -> Option<Offset>,
    ) -> Vec<(Key, Offset)> {
        if !self.active() || now < self.next_pass {
            return Vec::new();
        }
        self.next_pass = now + self.config.period;
        self.expire(now);
        let positions = self.min_positions();
        let warming = now < self.started + self.config.session
            || self.overflow_until.is_some_and(|t| now < t);
        let mode = self.config.mode;
        let mut raised = Vec::new();
        for (key, state) in self.keys.iter_mut() {
            let committed = committed(key).unwrap_or(0);
            let bound = match mode {
                RetentionMode::BelowCommitted => committed,
                _ if warming => 0,
                _ => [state.delivered, committed]
                    .into_iter()
                    .chain(positions.get(key).copied())
                    .min()
                    .unwrap_or(0),
            };
            if bound != state.bound {
                state.bound = bound;
                self.changed.push(key.clone());
            }
            let cluster = match mode {
                RetentionMode::BelowCommitted => bound,
                _ => self
                    .peer_bounds
                    .iter()
                    .map(|b| b.get(key).copied().unwrap_or(0))
                    .fold(bound, Offset::min),
            };
            if cluster > state.floor {
                state.floor = cluster;
                self.changed.push(key.clone());
                raised.push((key.clone(), cluster));
            }
        }
        raised
    }

    /// The lowest position of any live client, per key.
    fn min_positions(&self) -> BTreeMap<Key, Offset> {
        let mut min: BTreeMap<Key, Offset> = BTreeMap::new();
        for client in self.clients.values() {
            for (key, at) in &client.positions {
                let slot = min.entry(key.clone()).or_insert(*at);
                *slot = (*slot).min(*at);
            }
        }
        min
    }

    /// The floor of `key` (0 if none).
    pub fn floor(&self, key: &str) -> Offset {
        self.keys.get(key).map_or(0, |s| s.floor)
    }

    /// Raises `key`'s floor to `floor` (a floor recovered from the data directory).
    pub fn restore_floor(&mut self, key: &Key, floor: Offset) {
        let state = self.keys.entry(key.clone()).or_default();
        state.floor = state.floor.max(floor);
    }
}

/// Folds the pending ranges that now touch the delivered prefix into it.
fn merge_pending(state: &mut KeyState) {
    loop {
        let before = state.delivered;
        state.pending.retain(|&(from, last)| {
            if from <= state.delivered {
                state.delivered = state.delivered.max(last.saturating_add(1));
                false
            } else {
                true
            }
        });
        if state.delivered == before {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
