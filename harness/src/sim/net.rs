//! The simulated network: per-receiver deadline queues, partitions applied on the
//! receiving side, a message journal and Maelstrom's `:net` statistics (reference 4.2, 4.3,
//! 4.4, 8.2).
//!
//! Sans-IO: the caller passes `now` (nanoseconds since the start of the run) and the RNG.
//! The delivery loop of one receiver, as Maelstrom runs it, is:
//!
//! 1. [`Network::take`] the earliest-deadline message queued for the receiver;
//! 2. if the receiver drops its source right now, it is gone for good ([`Take::Dropped`]);
//! 3. otherwise sleep until its deadline (this sleep is what makes a later message with an
//!    earlier deadline wait: head-of-line blocking), hand it over, and call
//!    [`Network::delivered`].
//!
//! Every call is O(log n) in the number of queued messages (plus the length of the names
//! involved); nothing here blocks.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

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
    /// When it was sent (ns since the start of the run).
    pub sent_at: u64,
    /// When it may be delivered at the earliest (ns since the start of the run).
    pub deadline: u64,
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
    InFlight(u64),
    /// Delivered at this time.
    Delivered(u64),
    /// Dropped by a partition when its receiver took it, at this time.
    Dropped(u64),
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
    /// Send time (ns).
    pub sent_at: u64,
    /// Deadline (ns).
    pub deadline: u64,
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
    fn key(&self) -> (u64, u64) {
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
    blocked: BTreeMap<String, BTreeSet<String>>,
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
        now: u64,
        src: &str,
        dest: &str,
        body: Value,
        rng: &mut StdRng,
    ) -> Result<u64, NetError> {
        let id = self.next_id;
        self.next_id += 1;
        if !self.queues.contains_key(src) {
            return Err(NetError::UnknownSource(src.to_owned()));
        }
        let client = is_client(src) || is_client(dest);
        let latency_ns = if client { 0 } else { self.latency.draw_ns(rng) };
        let deadline = now.saturating_add(latency_ns);
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
    pub fn take(&mut self, dest: &str, now: u64) -> Take {
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
    pub fn delivered_at(&mut self, msg: &Message, now: u64) {
        if matches!(self.fate(msg.id), Some(Fate::Delivered(_))) {
            return;
        }
        self.record_delivery(msg, now);
    }

    fn record_delivery(&mut self, msg: &Message, at: u64) {
        self.set_fate(msg.id, Fate::Delivered(at));
        let client = is_client(&msg.src) || is_client(&msg.dest);
        self.tally(client).recvs += 1;
    }

    /// The earliest deadline queued for `dest`, if any.
    pub fn next_deadline(&self, dest: &str) -> Option<u64> {
        self.queues.get(dest)?.peek().map(|q| q.0.deadline)
    }

    /// How many messages are queued for `dest`.
    pub fn pending(&self, dest: &str) -> usize {
        self.queues.get(dest).map_or(0, BinaryHeap::len)
    }

    /// Adds the grudge's blocked pairs (receiver drops source) to the current ones.
    pub fn partition(&mut self, g: &Grudge) {
        for (dest, srcs) in g {
            if srcs.is_empty() {
                continue;
            }
            self.blocked
                .entry(dest.clone())
                .or_default()
                .extend(srcs.iter().cloned());
        }
    }

    /// Clears every blocked pair.
    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    /// Whether `dest` currently drops messages from `src`.
    pub fn is_blocked(&self, dest: &str, src: &str) -> bool {
        self.blocked.get(dest).is_some_and(|s| s.contains(src))
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
mod tests {
    use super::*;
    use crate::sim::latency::LatencyDist;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use serde_json::json;

    const MS: u64 = 1_000_000;

    fn net(mean_ms: u64, dist: LatencyDist, ids: &[&str]) -> Network {
        let mut n = Network::new(Latency::new(mean_ms, dist).expect("valid"));
        for id in ids {
            n.register(id);
        }
        n
    }

    fn take_deliver(n: &mut Network, dest: &str, now: u64) -> Message {
        match n.take(dest, now) {
            Take::Deliver(m) => {
                n.delivered(&m);
                m
            }
            other => panic!("expected a delivery, got {other:?}"),
        }
    }

    #[test]
    fn ids_deadlines_and_client_latency() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut n = net(100, LatencyDist::Constant, &["n0", "n1", "c0", "lin-kv"]);
        assert_eq!(n.send(5, "c0", "n0", json!({"type":"a"}), &mut rng), Ok(0));
        assert_eq!(n.send(5, "n0", "n1", json!({"type":"b"}), &mut rng), Ok(1));
        assert_eq!(
            n.send(5, "n0", "lin-kv", json!({"type":"c"}), &mut rng),
            Ok(2)
        );
        assert_eq!(n.send(5, "n1", "c0", json!({}), &mut rng), Ok(3));
        assert_eq!(
            n.next_deadline("n0"),
            Some(5),
            "client to node: zero latency"
        );
        assert_eq!(n.next_deadline("n1"), Some(5 + 100 * MS));
        assert_eq!(
            n.next_deadline("lin-kv"),
            Some(5 + 100 * MS),
            "services pay latency"
        );
        assert_eq!(
            n.next_deadline("c0"),
            Some(5),
            "node to client: zero latency"
        );
        let m = take_deliver(&mut n, "n1", 0);
        assert_eq!(
            (m.id, m.src.as_str(), m.dest.as_str(), m.sent_at),
            (1, "n0", "n1", 5)
        );
        assert_eq!(m.body, json!({"type":"b"}));
    }

    #[test]
    fn unknown_src_or_dest_is_refused_and_not_counted() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut n = net(0, LatencyDist::Constant, &["n0", "c1"]);
        assert_eq!(
            n.send(0, "n9", "n0", json!({}), &mut rng),
            Err(NetError::UnknownSource("n9".into()))
        );
        assert_eq!(
            n.send(0, "n0", "c7", json!({}), &mut rng),
            Err(NetError::UnknownDest("c7".into()))
        );
        n.unregister("c1");
        assert!(!n.is_registered("c1"));
        assert_eq!(
            n.send(0, "n0", "c1", json!({}), &mut rng),
            Err(NetError::UnknownDest("c1".into()))
        );
        assert!(n.journal().is_empty());
        assert_eq!(n.stats(1).all.send_count, 0);
        // Refused sends still used up their ids, as in Maelstrom.
        assert_eq!(n.send(0, "n0", "n0", json!({}), &mut rng), Ok(3));
        assert_eq!(n.take("c7", 0), Take::Empty);
    }

    #[test]
    fn unregister_discards_pending() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut n = net(0, LatencyDist::Constant, &["n0", "c1"]);
        n.send(0, "n0", "c1", json!({"type":"late"}), &mut rng)
            .expect("ok");
        n.unregister("c1");
        assert_eq!(n.take("c1", 0), Take::Empty);
        assert_eq!(n.journal()[0].fate, Fate::Discarded);
        n.register("c1");
        assert_eq!(n.pending("c1"), 0);
        let s = n.stats(0);
        assert_eq!((s.clients.send_count, s.clients.recv_count), (1, 0));
    }

    #[test]
    fn constant_latency_is_fifo_per_link_and_ties_keep_send_order() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut n = net(10, LatencyDist::Constant, &["n0", "n1", "n2"]);
        // Same send time (equal deadlines) and increasing send times, interleaved sources.
        for (t, src) in [
            (0, "n0"),
            (0, "n2"),
            (0, "n0"),
            (3, "n2"),
            (3, "n0"),
            (9, "n0"),
        ] {
            n.send(t, src, "n1", json!({"t": t, "src": src}), &mut rng)
                .expect("ok");
        }
        let ids: Vec<u64> = (0..6)
            .map(|_| take_deliver(&mut n, "n1", 100 * MS).id)
            .collect();
        assert_eq!(ids, [0, 1, 2, 3, 4, 5]);
        assert_eq!(n.take("n1", 0), Take::Empty);
    }

    #[test]
    fn earliest_deadline_first_across_sources() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut n = net(50, LatencyDist::Constant, &["n0", "n1", "c0"]);
        n.send(0, "n0", "n1", json!({}), &mut rng).expect("ok"); // due at 50 ms
        n.send(MS, "c0", "n1", json!({}), &mut rng).expect("ok"); // due at 1 ms
        assert_eq!(n.next_deadline("n1"), Some(MS));
        assert_eq!(take_deliver(&mut n, "n1", 0).src, "c0");
        assert_eq!(take_deliver(&mut n, "n1", 0).src, "n0");
    }

    #[test]
    fn partition_is_checked_when_the_receiver_takes() {
        partition_scenario(false);
    }

    #[test]
    fn broken_network_checking_partitions_at_send_is_caught() {
        let caught = std::panic::catch_unwind(|| partition_scenario(true));
        assert!(
            caught.is_err(),
            "the mutant must fail the take-time partition scenario"
        );
    }

    fn partition_scenario(partition_at_send: bool) {
        let mut rng = StdRng::seed_from_u64(1);
        let mut n = net(10, LatencyDist::Constant, &["n0", "n1", "c0"]);
        n.partition_at_send = partition_at_send;
        let mut g = Grudge::new();
        g.insert("n1".into(), BTreeSet::from(["n0".into()]));

        // Sent while partitioned, healed before the take: delivered.
        n.partition(&g);
        n.send(0, "n0", "n1", json!({"k": 1}), &mut rng)
            .expect("accepted while partitioned");
        n.heal();
        assert!(matches!(n.take("n1", 20 * MS), Take::Deliver(m) if m.body == json!({"k": 1})));

        // Sent while healthy, partitioned before the take: dropped for good.
        n.send(0, "n0", "n1", json!({"k": 2}), &mut rng)
            .expect("ok");
        n.partition(&g);
        assert!(matches!(n.take("n1", 20 * MS), Take::Dropped(m) if m.body == json!({"k": 2})));
        n.heal();
        assert_eq!(n.take("n1", 20 * MS), Take::Empty, "not re-queued");

        // Only the named direction is cut; client traffic is never in a grudge.
        n.partition(&g);
        n.send(0, "n1", "n0", json!({}), &mut rng).expect("ok");
        assert!(matches!(n.take("n0", 0), Take::Deliver(_)));
        n.send(0, "c0", "n1", json!({}), &mut rng).expect("ok");
        assert!(matches!(n.take("n1", 0), Take::Deliver(_)));

        let fates: Vec<Fate> = n.journal().iter().map(|e| e.fate).collect();
        assert_eq!(
            fates,
            [
                Fate::InFlight(20 * MS),
                Fate::Dropped(20 * MS),
                Fate::InFlight(10 * MS),
                Fate::InFlight(0)
            ]
        );
    }

    #[test]
    fn stats_scenario_with_known_counts() {
        // 2 ops. Client traffic: 2 requests + 2 replies + 1 reply to a client closed
        // before delivery = 5 sends, 4 receives. Server traffic: n0 -> n1 gossip x3 (one
        // dropped by a partition), n0 -> seq-kv request and its reply = 5 sends, 4 receives.
        let mut rng = StdRng::seed_from_u64(4);
        let mut n = net(5, LatencyDist::Uniform, &["n0", "n1", "c0", "c1", "seq-kv"]);
        let mut step = |n: &mut Network, src: &str, dest: &str| {
            n.send(0, src, dest, json!({"type": "x"}), &mut rng)
                .expect("ok");
        };
        step(&mut n, "c0", "n0");
        step(&mut n, "c1", "n1");
        take_deliver(&mut n, "n0", 0);
        take_deliver(&mut n, "n1", 0);
        for _ in 0..3 {
            step(&mut n, "n0", "n1");
        }
        take_deliver(&mut n, "n1", 0);
        let mut g = Grudge::new();
        g.insert("n1".into(), BTreeSet::from(["n0".into()]));
        n.partition(&g);
        assert!(matches!(n.take("n1", 0), Take::Dropped(_)));
        n.heal();
        take_deliver(&mut n, "n1", 0);
        step(&mut n, "n0", "seq-kv");
        take_deliver(&mut n, "seq-kv", 0);
        step(&mut n, "seq-kv", "n0");
        take_deliver(&mut n, "n0", 0);
        step(&mut n, "n0", "c0");
        step(&mut n, "n1", "c1");
        step(&mut n, "n1", "c1");
        take_deliver(&mut n, "c0", 0);
        take_deliver(&mut n, "c1", 0);
        n.unregister("c1");

        let s = n.stats(2);
        let c = |send, recv, per: Option<f64>| NetCounts {
            send_count: send,
            recv_count: recv,
            msg_count: send,
            msgs_per_op: per,
        };
        assert_eq!(s.clients, c(5, 4, None));
        assert_eq!(s.servers, c(5, 4, Some(2.5)));
        assert_eq!(s.all, c(10, 8, Some(5.0)));
        assert_eq!(n.stats(0).all.msgs_per_op, None);
        let v = serde_json::to_value(n.stats(0)).expect("serializes");
        assert_eq!(
            v["clients"],
            json!({"send_count": 5, "recv_count": 4, "msg_count": 5})
        );
        // The journal agrees with the counters.
        let delivered = n
            .journal()
            .iter()
            .filter(|e| matches!(e.fate, Fate::Delivered(_)))
            .count();
        assert_eq!(delivered, 8);
        assert_eq!(n.journal().len(), 10);
        assert!(n
            .journal()
            .iter()
            .all(|e| e.body_type.as_deref() == Some("x")));
    }

    #[test]
    fn journal_and_queue_bounds() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut n = net(0, LatencyDist::Constant, &["n0", "n1"])
            .with_journal_capacity(2)
            .with_queue_capacity(3);
        for _ in 0..5 {
            n.send(0, "n0", "n1", json!({}), &mut rng)
                .expect("accepted");
        }
        assert_eq!(n.journal().len(), 2);
        assert_eq!(n.journal_overflow(), 3);
        assert_eq!(n.pending("n1"), 3);
        assert_eq!(n.overflow_discards(), 2);
        assert_eq!(n.stats(0).servers.send_count, 5);
        // Delivery of unjournaled messages still counts.
        for _ in 0..3 {
            take_deliver(&mut n, "n1", 0);
        }
        assert_eq!(n.stats(0).servers.recv_count, 3);
    }

    #[test]
    fn delivered_twice_counts_once() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut n = net(7, LatencyDist::Constant, &["n0", "n1"]);
        n.send(0, "n0", "n1", json!({}), &mut rng).expect("ok");
        let m = take_deliver(&mut n, "n1", 0);
        n.delivered(&m);
        n.delivered_at(&m, 99);
        assert_eq!(n.stats(0).all.recv_count, 1);
        assert_eq!(n.journal()[0].fate, Fate::Delivered(7 * MS));
    }

    proptest! {
        #[test]
        fn same_seed_same_schedule(seed: u64, mean in 0u64..50, which in 0usize..3,
                                   sends in proptest::collection::vec((0u64..1000, 0usize..3, 0usize..3), 1..60)) {
            let dist = [LatencyDist::Constant, LatencyDist::Uniform, LatencyDist::Exponential][which];
            let ids = ["n0", "n1", "c0"];
            let run = || {
                let mut rng = StdRng::seed_from_u64(seed);
                let mut n = net(mean, dist, &ids);
                let mut now = 0;
                for &(dt, s, d) in &sends {
                    now += dt;
                    n.send(now, ids[s], ids[d], json!({"now": now}), &mut rng).expect("registered");
                }
                let mut out = Vec::new();
                for d in ids {
                    while let Take::Deliver(m) = n.take(d, u64::MAX) {
                        out.push((m.id, m.deadline));
                    }
                }
                out
            };
            let a = run();
            prop_assert_eq!(a.len(), sends.len());
            prop_assert_eq!(&a, &run());
        }

        #[test]
        fn deliveries_come_out_in_deadline_order(seed: u64,
                                                 sends in proptest::collection::vec(0u64..1000, 1..80)) {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut n = net(20, LatencyDist::Exponential, &["n0", "n1"]);
            let mut now = 0;
            for dt in sends {
                now += dt * 1000;
                n.send(now, "n0", "n1", json!({}), &mut rng).expect("ok");
            }
            let mut last = (0, 0);
            while let Take::Deliver(m) = n.take("n1", 0) {
                prop_assert!(m.deadline >= m.sent_at);
                prop_assert!((m.deadline, m.id) > last || last == (0, 0));
                last = (m.deadline, m.id);
            }
        }
    }
}
