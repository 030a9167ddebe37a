//! Deterministic in-process simulation of Maelstrom's broadcast workload, with its network
//! model and its metrics, for tuning and for tests.
//!
//! Network (as Maelstrom's): every node-to-node message gets the deadline `send + latency`;
//! messages to or from clients get latency 0. Each node has one delivery thread that takes
//! the earliest-deadline message from its queue, drops it if a partition blocks
//! sender-to-receiver at that moment, otherwise sleeps until the deadline and delivers it
//! (so a client request can wait behind a server message: head-of-line blocking).
//!
//! Workload (as Maelstrom's): one client per node; operations arrive with gaps uniform in
//! `[0, 2/rate)`, each is a `broadcast` of the next integer or a `read` with equal odds, sent
//! by a random idle client. After the time limit: heal, a quiet period, then one final read
//! per client. Metrics: `:net :servers :msgs-per-op` (node-to-node messages sent, dropped
//! ones included, per client operation) and the `set-full` checker's stable latencies,
//! computed exactly as Maelstrom does from the recorded history.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use super::config::BroadcastConfig;
use super::node::BroadcastNode;
use super::wire::{BroadcastIn, BroadcastOut};
use crate::machine::{Machine, Outbox, Outgoing};
use crate::protocol::{Incoming, Origin};

/// Network faults injected during the main phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Faults {
    /// No partitions.
    None,
    /// Maelstrom's partition nemesis: a partition at the start of the main phase, then heal
    /// and partition alternately with gaps uniform in `[0, 2·interval_ms)`. Shapes: one
    /// isolated node, majority split, minority-third split, overlapping majorities.
    Nemesis {
        /// Mean gap between nemesis operations.
        interval_ms: u64,
    },
    /// Cut node `n0` (the first hub) off from every node between the two instants
    /// (milliseconds after the main phase starts).
    IsolateFirstHub {
        /// Start of the cut.
        from_ms: u64,
        /// Heal.
        to_ms: u64,
    },
}

/// One simulated test run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of nodes (`n0..`).
    pub nodes: usize,
    /// One-way node-to-node latency in ms (constant).
    pub latency_ms: u64,
    /// Client operations per second.
    pub rate: f64,
    /// Length of the main phase in ms.
    pub time_limit_ms: u64,
    /// Quiet period between the final heal and the final reads.
    pub quiet_ms: u64,
    /// Faults during the main phase.
    pub faults: Faults,
    /// Seed for the workload, the network faults and the nodes' generators.
    pub seed: u64,
    /// Nodes start up to this many ms apart (their clocks stay aligned).
    pub start_skew_ms: u64,
    /// Model Maelstrom's single delivery thread per node (head-of-line blocking). When
    /// false, every message is delivered exactly at its deadline.
    pub head_of_line: bool,
    /// Reads served by these nodes are left out of the stable-latency analysis (not out of
    /// the final-read check), e.g. a node that is cut off on purpose.
    pub ignore_reads_at: Vec<usize>,
    /// The node configuration under test.
    pub node: BroadcastConfig,
}

impl SimConfig {
    /// Maelstrom's 3d/3e command line: 25 nodes, 100 ms, rate 100, 20 s.
    pub fn efficient(node: BroadcastConfig, seed: u64) -> Self {
        Self {
            nodes: 25,
            latency_ms: 100,
            rate: 100.0,
            time_limit_ms: 20_000,
            quiet_ms: 10_000,
            faults: Faults::None,
            seed,
            start_skew_ms: 30,
            head_of_line: true,
            ignore_reads_at: Vec::new(),
            node,
        }
    }

    /// Maelstrom's 3c command line: 5 nodes, no latency, rate 10, 20 s, partitions.
    pub fn fault_tolerant(node: BroadcastConfig, seed: u64) -> Self {
        Self {
            nodes: 5,
            latency_ms: 0,
            rate: 10.0,
            time_limit_ms: 20_000,
            quiet_ms: 10_000,
            faults: Faults::Nemesis {
                interval_ms: 10_000,
            },
            seed,
            start_skew_ms: 30,
            head_of_line: true,
            ignore_reads_at: Vec::new(),
            node,
        }
    }
}

/// Quantiles of stable latency in ms, as Maelstrom reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quantiles {
    /// Quantile 0.
    pub min: u64,
    /// Quantile 0.5 (the "median" target).
    pub median: u64,
    /// Quantile 0.95.
    pub p95: u64,
    /// Quantile 0.99.
    pub p99: u64,
    /// Quantile 1 (the "maximum" target).
    pub max: u64,
}

/// What one simulated run measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimReport {
    /// Client operations invoked (final reads included).
    pub ops: u64,
    /// Broadcasts acknowledged.
    pub broadcasts: u64,
    /// Node-to-node messages sent (dropped ones included).
    pub server_msgs: u64,
    /// Node-to-node messages dropped by partitions.
    pub dropped: u64,
    /// `server_msgs / ops`.
    pub msgs_per_op: f64,
    /// Stable latencies of stable values.
    pub stable: Quantiles,
    /// Number of stable values.
    pub stable_count: u64,
    /// Values the checker calls lost.
    pub lost: u64,
    /// Acknowledged values missing from some final read (any such value is lost).
    pub missing_in_final_reads: u64,
    /// Final reads that completed.
    pub final_reads: u64,
    /// Values sent in anti-entropy repairs, all nodes together.
    pub repaired: u64,
    /// Hub failovers, all nodes together.
    pub failovers: u64,
}

impl SimReport {
    /// Whether every acknowledged value was in every final read and nothing was lost.
    pub fn complete(&self, nodes: usize) -> bool {
        self.lost == 0 && self.missing_in_final_reads == 0 && self.final_reads == nodes as u64
    }
}

#[derive(Debug, Clone)]
enum Body {
    Request(BroadcastIn),
    Node(Outgoing<BroadcastOut>),
}

#[derive(Debug, Clone)]
struct Packet {
    src: String,
    deadline: u64,
    body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// Delivery thread of node i wakes up.
    Wake(usize),
    /// Packet `.1` reaches node `.0` (without head-of-line blocking).
    Arrive(usize, usize),
    /// Node i's tick.
    Tick(usize),
    /// A client operation may start.
    Op,
    /// The nemesis acts.
    Nemesis,
    /// Final heal.
    Heal,
    /// Final reads.
    FinalReads,
}

/// One client operation of a history, for [`analyze`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryOp {
    /// Invocation time (ms).
    pub invoke: u64,
    /// Completion time of the `:ok`, if it completed.
    pub complete: Option<u64>,
    /// The value, for a broadcast.
    pub broadcast: Option<u64>,
    /// The values returned, for a completed read (ascending).
    pub read: Option<Vec<u64>>,
    /// A final-phase read.
    pub is_final: bool,
    /// The node that served it.
    pub node: usize,
}

struct NodeSlot {
    machine: BroadcastNode,
    start: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    packets: HashMap<usize, Packet>,
    /// The packet the thread sleeps on, if any.
    sleeping: Option<usize>,
    next_tick: u64,
    tick_ms: u64,
}

struct World {
    cfg: SimConfig,
    rng: StdRng,
    now: u64,
    events: BinaryHeap<Reverse<(u64, u64, Event)>>,
    event_seq: u64,
    nodes: Vec<NodeSlot>,
    ids: Vec<String>,
    /// blocked[dest] = sources dest drops.
    blocked: Vec<BTreeSet<usize>>,
    partitioned: bool,
    next_packet: usize,
    /// Per client: op index in flight.
    in_flight: Vec<Option<usize>>,
    client_msg_id: Vec<u64>,
    /// (client, msg_id) -> op index.
    pending_ops: HashMap<(usize, u64), usize>,
    ops: Vec<HistoryOp>,
    next_value: u64,
    server_msgs: u64,
    dropped: u64,
    main_end: u64,
}

impl World {
    fn schedule(&mut self, at: u64, e: Event) {
        self.event_seq += 1;
        self.events.push(Reverse((at, self.event_seq, e)));
    }

    fn node_index(&self, id: &str) -> Option<usize> {
        id.strip_prefix('n')
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|i| *i < self.nodes.len())
    }

    fn enqueue(&mut self, dest: usize, src: String, latency: u64, body: Body) {
        let id = self.next_packet;
        self.next_packet += 1;
        let deadline = self.now + latency;
        let slot = &mut self.nodes[dest];
        if self.cfg.head_of_line {
            slot.queue.push(Reverse((deadline, id as u64, id)));
        }
        slot.packets.insert(
            id,
            Packet {
                src,
                deadline,
                body,
            },
        );
        if !self.cfg.head_of_line {
            self.schedule(deadline, Event::Arrive(dest, id));
        } else if slot.sleeping.is_none() {
            self.schedule(self.now, Event::Wake(dest));
        }
    }

    fn route(&mut self, from: usize, out: &mut Outbox<BroadcastOut>) {
        let src = self.ids[from].clone();
        let msgs: Vec<_> = out.drain().collect();
        for m in msgs {
            if let Some(dest) = self.node_index(&m.dest) {
                self.server_msgs += 1;
                let latency = self.cfg.latency_ms;
                self.enqueue(dest, src.clone(), latency, Body::Node(m));
            } else if let Some(client) = m.dest.strip_prefix('c').and_then(|c| c.parse().ok()) {
                self.client_receive(client, m);
            }
        }
    }

    fn client_receive(&mut self, client: usize, m: Outgoing<BroadcastOut>) {
        let Some(reply_to) = m.in_reply_to else {
            return;
        };
        let Some(op) = self.pending_ops.remove(&(client, reply_to)) else {
            return;
        };
        let rec = &mut self.ops[op];
        match m.payload() {
            Some(BroadcastOut::BroadcastOk) => rec.complete = Some(self.now),
            Some(BroadcastOut::ReadOk { messages }) => {
                rec.complete = Some(self.now);
                rec.read = Some(messages.clone());
            }
            _ => {}
        }
        if self.in_flight[client] == Some(op) {
            self.in_flight[client] = None;
        }
    }

    fn wake(&mut self, i: usize) {
        if self.nodes[i].sleeping.is_some() {
            return;
        }
        loop {
            let Some(Reverse((_, _, id))) = self.nodes[i].queue.pop() else {
                return;
            };
            let Some(packet) = self.nodes[i].packets.get(&id) else {
                continue;
            };
            let src_node = self.node_index(&packet.src);
            if let Some(s) = src_node {
                if self.blocked[i].contains(&s) {
                    self.nodes[i].packets.remove(&id);
                    self.dropped += 1;
                    continue;
                }
            }
            if packet.deadline > self.now {
                let at = packet.deadline;
                self.nodes[i].sleeping = Some(id);
                self.schedule(at, Event::Wake(i));
                return;
            }
            self.deliver(i, id);
        }
    }

    fn deliver(&mut self, i: usize, id: usize) {
        let Some(packet) = self.nodes[i].packets.remove(&id) else {
            return;
        };
        let incoming: Incoming<BroadcastIn> = match packet.body {
            Body::Request(body) => {
                let client: usize = packet
                    .src
                    .strip_prefix('c')
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                Incoming {
                    origin: Origin {
                        src: packet.src.clone(),
                        msg_id: Some(self.client_msg_id[client]),
                    },
                    in_reply_to: None,
                    body,
                }
            }
            Body::Node(m) => match m.deliver_as(&packet.src) {
                Ok(inc) => inc,
                Err(e) => panic!("node sent an undecodable body: {e}"),
            },
        };
        let mut out = Outbox::new();
        let local = self.now - self.nodes[i].start;
        self.nodes[i].machine.on_message(local, incoming, &mut out);
        self.route(i, &mut out);
    }

    fn wake_sleeper(&mut self, i: usize) {
        // Maelstrom checks partitions when it takes a message, before sleeping on it.
        if let Some(id) = self.nodes[i].sleeping.take() {
            self.deliver(i, id);
        }
        self.wake(i);
    }

    fn start_op(&mut self, is_final: bool, client: usize, now: u64) {
        let op = self.ops.len();
        let body = if is_final || self.rng.random_bool(0.5) {
            self.ops.push(HistoryOp {
                invoke: now,
                complete: None,
                broadcast: None,
                read: None,
                is_final,
                node: client % self.nodes.len(),
            });
            BroadcastIn::Read {}
        } else {
            let v = self.next_value;
            self.next_value += 1;
            self.ops.push(HistoryOp {
                invoke: now,
                complete: None,
                broadcast: Some(v),
                read: None,
                is_final,
                node: client % self.nodes.len(),
            });
            BroadcastIn::Broadcast { message: v }
        };
        self.client_msg_id[client] += 1;
        let msg_id = self.client_msg_id[client];
        self.pending_ops.insert((client, msg_id), op);
        self.in_flight[client] = Some(op);
        let node = client % self.nodes.len();
        self.enqueue(node, format!("c{client}"), 0, Body::Request(body));
    }

    fn grudge(&mut self) {
        let n = self.nodes.len();
        for b in &mut self.blocked {
            b.clear();
        }
        if n < 2 {
            return;
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut self.rng);
        let cut = |w: &mut World, a: &[usize], b: &[usize]| {
            for &x in a {
                for &y in b {
                    w.blocked[x].insert(y);
                    w.blocked[y].insert(x);
                }
            }
        };
        match self.rng.random_range(0..4) {
            0 => {
                let (a, b) = order.split_at(1);
                cut(self, a, b);
            }
            1 => {
                let (a, b) = order.split_at(n / 2);
                cut(self, a, b);
            }
            2 => {
                let (a, b) = order.split_at((n - 1) / 3);
                cut(self, a, b);
            }
            _ => {
                // Overlapping majorities: on a random ring, each node hears only the
                // majority-sized window around itself.
                let window = n / 2 + 1;
                for (pos, &x) in order.iter().enumerate() {
                    for (k, &y) in order.iter().enumerate() {
                        let dist = (k + n - pos) % n;
                        let dist = dist.min(n - dist);
                        if dist > window / 2 {
                            self.blocked[x].insert(y);
                        }
                    }
                }
            }
        }
    }
}

/// Runs one simulated test and measures it.
pub fn run(cfg: &SimConfig) -> SimReport {
    let n = cfg.nodes;
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
    let mut nodes = Vec::with_capacity(n);
    for (i, id) in ids.iter().enumerate() {
        let start = rng.random_range(0..=cfg.start_skew_ms);
        let machine =
            BroadcastNode::new(id, &ids, cfg.node.clone(), start, cfg.seed ^ (i as u64 + 1));
        let tick_ms = machine
            .tick_interval()
            .map_or(u64::MAX / 4, |d| d.as_millis().max(1) as u64);
        nodes.push(NodeSlot {
            machine,
            start,
            queue: BinaryHeap::new(),
            packets: HashMap::new(),
            sleeping: None,
            next_tick: start + tick_ms,
            tick_ms,
        });
    }
    let main_start = 1000;
    let main_end = main_start + cfg.time_limit_ms;
    let mut w = World {
        cfg: cfg.clone(),
        rng,
        now: 0,
        events: BinaryHeap::new(),
        event_seq: 0,
        nodes,
        ids,
        blocked: vec![BTreeSet::new(); n],
        partitioned: false,
        next_packet: 0,
        in_flight: vec![None; n],
        client_msg_id: vec![0; n],
        pending_ops: HashMap::new(),
        ops: Vec::new(),
        next_value: 0,
        server_msgs: 0,
        dropped: 0,
        main_end,
    };
    for i in 0..n {
        let t = w.nodes[i].next_tick;
        w.schedule(t, Event::Tick(i));
    }
    w.schedule(main_start, Event::Op);
    match cfg.faults {
        Faults::None => {}
        Faults::Nemesis { .. } => w.schedule(main_start, Event::Nemesis),
        Faults::IsolateFirstHub { from_ms, to_ms } => {
            w.schedule(main_start + from_ms, Event::Nemesis);
            w.schedule(main_start + to_ms, Event::Heal);
        }
    }
    w.schedule(main_end, Event::Heal);
    let final_at = main_end + cfg.quiet_ms;
    w.schedule(final_at, Event::FinalReads);
    let stop = final_at + 2000;

    while let Some(Reverse((at, _, e))) = w.events.pop() {
        if at > stop {
            break;
        }
        w.now = at;
        match e {
            Event::Wake(i) => {
                if w.nodes[i].sleeping.is_some() {
                    w.wake_sleeper(i);
                } else {
                    w.wake(i);
                }
            }
            Event::Arrive(i, id) => {
                let blocked = w.nodes[i]
                    .packets
                    .get(&id)
                    .and_then(|p| w.node_index(&p.src))
                    .is_some_and(|s| w.blocked[i].contains(&s));
                if blocked {
                    w.nodes[i].packets.remove(&id);
                    w.dropped += 1;
                } else {
                    w.deliver(i, id);
                }
            }
            Event::Tick(i) => {
                let mut out = Outbox::new();
                let local = w.now - w.nodes[i].start;
                w.nodes[i].machine.on_tick(local, &mut out);
                w.route(i, &mut out);
                let next = w.nodes[i].next_tick + w.nodes[i].tick_ms;
                w.nodes[i].next_tick = next;
                w.schedule(next, Event::Tick(i));
            }
            Event::Op => {
                if w.now < w.main_end {
                    let idle: Vec<usize> = (0..n).filter(|c| w.in_flight[*c].is_none()).collect();
                    if let Some(&client) = idle.choose(&mut w.rng) {
                        let now = w.now;
                        w.start_op(false, client, now);
                    }
                    let gap = w.rng.random_range(0.0..(2000.0 / w.cfg.rate));
                    let next = w.now + gap.round() as u64;
                    w.schedule(next, Event::Op);
                }
            }
            Event::Nemesis => match w.cfg.faults {
                Faults::Nemesis { interval_ms } => {
                    if w.now < w.main_end {
                        if w.partitioned {
                            for b in &mut w.blocked {
                                b.clear();
                            }
                        } else {
                            w.grudge();
                        }
                        w.partitioned = !w.partitioned;
                        let gap = w.rng.random_range(0..(2 * interval_ms).max(1));
                        let next = w.now + gap;
                        w.schedule(next, Event::Nemesis);
                    }
                }
                Faults::IsolateFirstHub { .. } => {
                    for i in 1..n {
                        w.blocked[0].insert(i);
                        w.blocked[i].insert(0);
                    }
                    w.partitioned = true;
                }
                Faults::None => {}
            },
            Event::Heal => {
                for b in &mut w.blocked {
                    b.clear();
                }
                w.partitioned = false;
            }
            Event::FinalReads => {
                for c in 0..n {
                    let now = w.now;
                    w.start_op(true, c, now);
                }
            }
        }
    }
    let mut report = analyze(&w.ops, w.server_msgs, w.dropped, &cfg.ignore_reads_at);
    for slot in &w.nodes {
        report.repaired += slot.machine.stats().repaired;
        report.failovers += slot.machine.stats().failovers;
    }
    report
}

fn quantiles(mut xs: Vec<u64>) -> Quantiles {
    if xs.is_empty() {
        return Quantiles::default();
    }
    xs.sort_unstable();
    let q = |p: f64| xs[((xs.len() as f64 * p).floor() as usize).min(xs.len() - 1)];
    Quantiles {
        min: q(0.0),
        median: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
        max: q(1.0),
    }
}

/// Maelstrom's `set-full` analysis of a history plus `:net` counts: every field of
/// [`SimReport`] except `repaired` and `failovers`. Reads served by nodes in `ignore` are left
/// out of the stable-latency analysis. Read results must be ascending.
pub fn analyze(ops: &[HistoryOp], server_msgs: u64, dropped: u64, ignore: &[usize]) -> SimReport {
    let reads: Vec<(u64, u64, BTreeSet<u64>)> = ops
        .iter()
        .filter(|o| !ignore.contains(&o.node))
        .filter_map(|o| {
            let set = o.read.as_ref()?.iter().copied().collect();
            Some((o.invoke, o.complete?, set))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut lost = 0;
    let mut broadcasts = 0;
    for b in ops.iter().filter(|o| o.broadcast.is_some()) {
        let (Some(v), Some(acked)) = (b.broadcast, b.complete) else {
            continue;
        };
        broadcasts += 1;
        let mut known = acked;
        let mut last_present: Option<u64> = None;
        let mut last_absent: Option<u64> = None;
        for (inv, done, set) in &reads {
            if *done < b.invoke {
                continue;
            }
            if set.contains(&v) {
                known = known.min(*done);
                last_present = last_present.max(Some(*inv));
            } else {
                last_absent = last_absent.max(Some(*inv));
            }
        }
        match (last_present, last_absent) {
            (Some(p), Some(a)) if a < p => latencies.push(a.saturating_sub(known)),
            (Some(_), None) => latencies.push(0),
            (_, Some(a)) if a > known => lost += 1,
            _ => {}
        }
    }
    let finals: Vec<&Vec<u64>> = ops
        .iter()
        .filter(|o| o.is_final && o.complete.is_some())
        .filter_map(|o| o.read.as_ref())
        .collect();
    let acked: Vec<u64> = ops
        .iter()
        .filter(|o| o.complete.is_some())
        .filter_map(|o| o.broadcast)
        .collect();
    let missing = acked
        .iter()
        .filter(|v| finals.iter().any(|s| s.binary_search(v).is_err()))
        .count() as u64;
    let op_count = ops.len() as u64;
    SimReport {
        ops: op_count,
        broadcasts,
        server_msgs,
        dropped,
        msgs_per_op: if op_count == 0 {
            0.0
        } else {
            server_msgs as f64 / op_count as f64
        },
        stable_count: latencies.len() as u64,
        stable: quantiles(latencies),
        lost,
        missing_in_final_reads: missing,
        final_reads: finals.len() as u64,
        repaired: 0,
        failovers: 0,
    }
}
