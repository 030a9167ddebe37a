//! The simulated network: per-receiver deadline queues, partitions applied on the
//! receiving side, a message journal and Maelstrom's `:net` statistics (reference 4.2, 4.3,
//! 4.4, 8.2).
//!
//! Sans-IO: the caller passes `now` (a [`Time`] since the start of the run) and the RNG.
//! The delivery loop of one receiver, as Maelstrom runs it, is:
//!
//! 1. [`Network::take`] the earliest-deadline message queued for the receiver;
//! 2. if the receiver drops its source right now, it is gone for good ([`Take::Dropped`]);
//! 3. otherwise sleep until its deadline (this sleep is what makes a later message with an
//!    earlier deadline wait: head-of-line blocking), hand it over, and call
//!    [`Network::delivered`].
//!
//! Cuts come in layers ([`Cut`]): Maelstrom's partitions and the one-way partitions of
//! `partition-oneway` are blocked and healed independently, and a link is blocked while any
//! layer blocks it.
//!
//! Every call is O(log n) in the number of queued messages (plus the length of the names
//! involved); nothing here blocks.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use glomers_node::Time;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::Value;

use super::is_client;
use super::latency::Latency;
use super::nemesis::Grudge;

/// One message in the network.
///
/// Invariants: `id` is unique over the run; `deadline >= sent_at`; `deadline == sent_at`
/// when `src` or `dest` is a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Network-wide id, assigned at send (the envelope `id` nodes see).
    pub id: u64,
    /// Source id.
    pub src: String,
    /// Destination id.
    pub dest: String,
    /// The body, as sent.
    pub body: Value,
    /// When it was sent.
    pub sent_at: Time,
    /// When it may be delivered at the earliest.
    pub deadline: Time,
}

/// Why a send was refused (Maelstrom's "Invalid dest/source for message"). Refused
/// messages are not journaled and count in no statistic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// `src` is not a currently registered id.
    #[error("invalid source for message: {0:?} is not a registered node")]
    UnknownSource(String),
    /// `dest` is not a currently registered id.
    #[error("invalid dest for message: {0:?} is not a registered node")]
    UnknownDest(String),
}

/// A layer of blocked links: each fault that cuts links has its own, healed on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cut {
    /// `partition`: both directions of every cut link.
    Partition,
    /// `partition-oneway`: one direction.
    OneWay,
}

/// The outcome of one delivery step of a receiver.
#[derive(Debug, Clone, PartialEq)]
pub enum Take {
    /// Nothing queued for the receiver (or it is not registered).
    Empty,
    /// The receiver drops messages from this source right now: the message is lost for good
    /// and is not journaled as received.
    Dropped(Message),
    /// Deliver this message once `now >= msg.deadline`, then call
    /// [`Network::delivered`].
    Deliver(Message),
}

/// What became of a journaled message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "fate", content = "at")]
pub enum Fate {
    /// Still queued.
    Pending,
    /// Taken by its receiver; due for delivery at this time.
    InFlight(Time),
    /// Delivered at this time.
    Delivered(Time),
    /// Dropped by a partition when its receiver took it, at this time.
    Dropped(Time),
    /// Never delivered: its receiver was unregistered while it was queued, or the
    /// receiver's queue was full when it was sent.
    Discarded,
}

/// One line of the message journal.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// The message id.
    pub id: u64,
    /// Source id.
    pub src: Arc<str>,
    /// Destination id.
    pub dest: Arc<str>,
    /// Send time.
    pub sent_at: Time,
    /// Deadline.
    pub deadline: Time,
    /// The body's `type` field, when it is a string.
    pub body_type: Option<Arc<str>>,
    /// What became of it.
    pub fate: Fate,
}

/// Message counts for one class of traffic (reference 8.2).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct NetCounts {
    /// Journaled sends, including messages later dropped by a partition.
    pub send_count: u64,
    /// Messages delivered.
    pub recv_count: u64,
    /// Distinct message ids among the events (every journaled message has a send, so this
    /// equals `send_count`).
    pub msg_count: u64,
    /// `msg_count / op count`; only for `all` and `servers`, absent without ops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msgs_per_op: Option<f64>,
}

/// Maelstrom's `:net` statistics: `clients` are messages whose `src` or `dest` starts with
/// `c`; `servers` all others (node↔node and node↔service); `all` both.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NetStats {
    /// All traffic.
    pub all: NetCounts,
    /// Client traffic.
    pub clients: NetCounts,
    /// Server traffic.
    pub servers: NetCounts,
}

/// A queued message, ordered so that `BinaryHeap` pops the earliest deadline first; equal
/// deadlines leave in send order (Maelstrom's priority queue leaves ties unordered; send
/// order is one of the orders it can produce).
struct Queued(Message);

impl Queued {
    fn key(&self) -> (Time, u64) {
        (self.0.deadline, self.0.id)
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    sends: u64,
    recvs: u64,
}

/// The network.
///
/// Bounds: each receiver's queue holds at most [`Network::queue_capacity`] messages
/// (default [`Network::DEFAULT_QUEUE_CAPACITY`]); a message sent to a full queue is
/// journaled as sent and discarded (counted by [`Network::overflow_discards`]) — a safety
/// valve a healthy run never reaches, since Maelstrom's queues are unbounded. The journal
/// keeps the first [`Network::journal_capacity`] messages (default
/// [`Network::DEFAULT_JOURNAL_CAPACITY`]) and counts the rest in
/// [`Network::journal_overflow`]; statistics always count every message.
pub struct Network {
    latency: Latency,
    queues: HashMap<String, BinaryHeap<Queued>>,
    blocked: BTreeMap<Cut, Grudge>,
    next_id: u64,
    queue_capacity: usize,
    overflow_discards: u64,
    journal: Vec<JournalEntry>,
    journal_capacity: usize,
    journal_overflow: u64,
    names: HashSet<Arc<str>>,
    clients: Tally,
    servers: Tally,
    /// Test-only broken variant: apply partitions when a message is sent.
    #[cfg(test)]
    partition_at_send: bool,
}

impl Network {
    /// Default per-receiver queue bound.
    pub const DEFAULT_QUEUE_CAPACITY: usize = 1 << 20;
    /// Default journal bound (messages).
    pub const DEFAULT_JOURNAL_CAPACITY: usize = 1_000_000;

    /// An empty network (nobody registered, nothing blocked) with this server latency.
    pub fn new(latency: Latency) -> Self {
        Network {
            latency,
            queues: HashMap::new(),
            blocked: BTreeMap::new(),
            next_id: 0,
            queue_capacity: Self::DEFAULT_QUEUE_CAPACITY,
            overflow_discards: 0,
            journal: Vec::new(),
            journal_capacity: Self::DEFAULT_JOURNAL_CAPACITY,
            journal_overflow: 0,
            names: HashSet::new(),
            clients: Tally::default(),
            servers: Tally::default(),
            #[cfg(test)]
            partition_at_send: false,
        }
    }

    /// Sets the per-receiver queue bound (at least 1).
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Sets the journal bound, in messages.
    pub fn with_journal_capacity(mut self, capacity: usize) -> Self {
        self.journal_capacity = capacity;
        self
    }

    /// The per-receiver queue bound.
    pub fn queue_capacity(&self) -> usize {
        self.queue_capacity
    }

    /// The journal bound.
    pub fn journal_capacity(&self) -> usize {
        self.journal_capacity
    }

    /// The latency model.
    pub fn latency(&self) -> Latency {
        self.latency
    }

    /// Registers `id` (node, client or service) with an empty queue. Registering an id that
    /// is already registered keeps its queue.
    pub fn register(&mut self, id: &str) {
        if !self.queues.contains_key(id) {
            self.queues.insert(id.to_owned(), BinaryHeap::new());
        }
    }

    /// Unregisters `id` (a closed client): later sends from or to it are refused, and the
    /// messages queued for it are discarded (journaled as [`Fate::Discarded`]).
    pub fn unregister(&mut self, id: &str) {
        if let Some(queue) = self.queues.remove(id) {
            for Queued(m) in queue {
                self.set_fate(m.id, Fate::Discarded);
            }
        }
    }

    /// Whether `id` is registered.
    pub fn is_registered(&self, id: &str) -> bool {
        self.queues.contains_key(id)
    }

    /// Sends `body` from `src` to `dest` at `now`.
    ///
    /// Both must be registered (the claimed `src` need not be the writer). The message gets
    /// the next network-wide id — drawn before validation, as Maelstrom does, so a refused
    /// message leaves a gap in the ids — and `deadline = now + latency`, the latency being 0
    /// when `src` or `dest` is a client (no draw from `rng` then) and a draw from the model
    /// otherwise. Accepted messages are journaled and counted as sends.
    pub fn send(
        &mut self,
        now: Time,
        src: &str,
        dest: &str,
        body: Value,
        rng: &mut StdRng,
    ) -> Result<u64, NetError> {
        self.send_delayed(now, src, dest, body, Duration::ZERO, rng)
    }

    /// [`Network::send`] with `extra` added to the message's latency (a duplicate's copy
    /// arriving later than the original).
    pub fn send_delayed(
        &mut self,
        now: Time,
        src: &str,
        dest: &str,
        body: Value,
        extra: Duration,
        rng: &mut StdRng,
    ) -> Result<u64, NetError> {
        let id = self.next_id;
        self.next_id += 1;
        if !self.queues.contains_key(src) {
            return Err(NetError::UnknownSource(src.to_owned()));
        }
        let client = is_client(src) || is_client(dest);
        let latency = if client {
            Duration::ZERO
        } else {
            self.latency.draw(rng)
        };
        let deadline = now.saturating_add(latency).saturating_add(extra);
        let Some(queued) = self.queues.get(dest).map(BinaryHeap::len) else {
            return Err(NetError::UnknownDest(dest.to_owned()));
        };
        let fits = queued < self.queue_capacity;
        let msg = Message {
            id,
            src: src.to_owned(),
            dest: dest.to_owned(),
            body,
            sent_at: now,
            deadline,
        };
        #[cfg(test)]
        let fits = fits && !(self.partition_at_send && self.is_blocked(dest, src));
        let fate = if fits { Fate::Pending } else { Fate::Discarded };
        self.journal_send(&msg, fate);
        if let (true, Some(queue)) = (fits, self.queues.get_mut(dest)) {
            queue.push(Queued(msg));
        } else {
            self.overflow_discards += 1;
        }
        self.tally(client).sends += 1;
        Ok(id)
    }

    /// One delivery step of `dest` at `now`: takes the earliest-deadline message queued for
    /// it (send order among equal deadlines). If `dest` drops the message's source right
    /// now, the message is lost ([`Take::Dropped`]); otherwise it is handed out
    /// ([`Take::Deliver`]) for delivery at `max(now, deadline)`.
    pub fn take(&mut self, dest: &str, now: Time) -> Take {
        let Some(Queued(msg)) = self.queues.get_mut(dest).and_then(BinaryHeap::pop) else {
            return Take::Empty;
        };
        if self.is_blocked(dest, &msg.src) {
            self.set_fate(msg.id, Fate::Dropped(now));
            Take::Dropped(msg)
        } else {
            self.set_fate(msg.id, Fate::InFlight(now.max(msg.deadline)));
            Take::Deliver(msg)
        }
    }

    /// Records the delivery of a message handed out by [`Network::take`], at the time
    /// `take` scheduled it. Counts one receive; a second call for a journaled message is
    /// ignored.
    pub fn delivered(&mut self, msg: &Message) {
        let at = match self.fate(msg.id) {
            Some(Fate::InFlight(at)) => at,
            Some(Fate::Delivered(_)) => return,
            _ => msg.deadline,
        };
        self.record_delivery(msg, at);
    }

    /// [`Network::delivered`] with the actual delivery time.
    pub fn delivered_at(&mut self, msg: &Message, now: Time) {
        if matches!(self.fate(msg.id), Some(Fate::Delivered(_))) {
            return;
        }
        self.record_delivery(msg, now);
    }

    fn record_delivery(&mut self, msg: &Message, at: Time) {
        self.set_fate(msg.id, Fate::Delivered(at));
        let client = is_client(&msg.src) || is_client(&msg.dest);
        self.tally(client).recvs += 1;
    }

    /// The earliest deadline queued for `dest`, if any.
    pub fn next_deadline(&self, dest: &str) -> Option<Time> {
        self.queues.get(dest)?.peek().map(|q| q.0.deadline)
    }

    /// How many messages are queued for `dest`.
    pub fn pending(&self, dest: &str) -> usize {
        self.queues.get(dest).map_or(0, BinaryHeap::len)
    }

    /// Adds the grudge's blocked pairs (receiver drops source) to layer `cut`.
    pub fn partition(&mut self, cut: Cut, g: &Grudge) {
        let layer = self.blocked.entry(cut).or_default();
        for (dest, srcs) in g {
            if srcs.is_empty() {
                continue;
            }
            layer
                .entry(dest.clone())
                .or_default()
                .extend(srcs.iter().cloned());
        }
    }

    /// Clears every blocked pair of layer `cut`.
    pub fn heal(&mut self, cut: Cut) {
        self.blocked.remove(&cut);
    }

    /// Whether `dest` currently drops messages from `src` (in any layer).
    pub fn is_blocked(&self, dest: &str, src: &str) -> bool {
        self.blocked
            .values()
            .any(|g| g.get(dest).is_some_and(|s| s.contains(src)))
    }

    /// The `:net` statistics; `op_count` is the number of client `invoke` entries in the
    /// history. `msgs_per_op` is given for `all` and `servers` when `op_count > 0`.
    pub fn stats(&self, op_count: u64) -> NetStats {
        let counts = |t: Tally, with_ratio: bool| NetCounts {
            send_count: t.sends,
            recv_count: t.recvs,
            msg_count: t.sends,
            msgs_per_op: (with_ratio && op_count > 0).then(|| t.sends as f64 / op_count as f64),
        };
        let all = Tally {
            sends: self.clients.sends + self.servers.sends,
            recvs: self.clients.recvs + self.servers.recvs,
        };
        NetStats {
            all: counts(all, true),
            clients: counts(self.clients, false),
            servers: counts(self.servers, true),
        }
    }

    /// The journal: the first [`Network::journal_capacity`] accepted messages, by id.
    pub fn journal(&self) -> &[JournalEntry] {
        &self.journal
    }

    /// How many accepted messages the journal did not keep.
    pub fn journal_overflow(&self) -> u64 {
        self.journal_overflow
    }

    /// How many messages were discarded because their receiver's queue was full.
    pub fn overflow_discards(&self) -> u64 {
        self.overflow_discards
    }

    fn tally(&mut self, client: bool) -> &mut Tally {
        if client {
            &mut self.clients
        } else {
            &mut self.servers
        }
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(x) = self.names.get(s) {
            return Arc::clone(x);
        }
        let x: Arc<str> = Arc::from(s);
        self.names.insert(Arc::clone(&x));
        x
    }

    fn journal_send(&mut self, msg: &Message, fate: Fate) {
        if self.journal.len() >= self.journal_capacity {
            self.journal_overflow += 1;
            return;
        }
        let src = self.intern(&msg.src);
        let dest = self.intern(&msg.dest);
        let body_type = msg
            .body
            .get("type")
            .and_then(Value::as_str)
            .map(|t| self.intern(t));
        self.journal.push(JournalEntry {
            id: msg.id,
            src,
            dest,
            sent_at: msg.sent_at,
            deadline: msg.deadline,
            body_type,
            fate,
        });
    }

    fn entry(&mut self, id: u64) -> Option<&mut JournalEntry> {
        let i = self.journal.binary_search_by_key(&id, |e| e.id).ok()?;
        self.journal.get_mut(i)
    }

    fn fate(&self, id: u64) -> Option<Fate> {
        let i = self.journal.binary_search_by_key(&id, |e| e.id).ok()?;
        self.journal.get(i).map(|e| e.fate)
    }

    fn set_fate(&mut self, id: u64, fate: Fate) {
        if let Some(e) = self.entry(id) {
            e.fate = fate;
        }
    }
}

#[cfg(test)]
mod tests;
