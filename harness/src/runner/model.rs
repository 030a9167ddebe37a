//! The runner's network model: per-receiver deadline queues, latency draws, partitions
//! (grudges), journal counts, plus the broadcast topologies and partition shapes.
//!
//! Pure and sans-IO: time (`u64` ns since the start of the run) and randomness are passed
//! in. It follows reference sections 4 (network), 5.3 (partition shapes) and 6.5
//! (topologies).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::Serialize;
use serde_json::{json, Value};

use crate::cli::{DistArg, LatencyOpts};

/// One message in flight. Invariant: `id` is unique in the run and `deadline` is the
/// send time plus the drawn latency.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Network-wide id, from 0.
    pub id: u64,
    /// Sender.
    pub src: String,
    /// Receiver.
    pub dest: String,
    /// Payload.
    pub body: Value,
    /// When it may be delivered (ns since the start).
    pub deadline: u64,
}

impl Message {
    /// The line a node receives on stdin: `{"id","src","dest","body"}`, no newline.
    pub fn to_line(&self) -> String {
        json!({"id": self.id, "src": self.src, "dest": self.dest, "body": self.body}).to_string()
    }
}

/// What a receiver's delivery loop gets from [`Network::take`].
#[derive(Debug, Clone, PartialEq)]
pub enum Take {
    /// Nothing queued.
    Empty,
    /// The earliest message was blocked by a partition and is gone.
    Dropped,
    /// The earliest message; deliver it at its deadline.
    Deliver(Message),
}

/// Why a send was refused (reference 2.8: "Invalid dest/source for message").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// `src` is not a registered node id.
    #[error("invalid source {0:?}: not a registered node id")]
    UnknownSource(String),
    /// `dest` is not a registered node id.
    #[error("invalid destination {0:?}: not a registered node id")]
    UnknownDest(String),
}

/// Receiver → the sources whose messages it drops.
pub type Grudge = BTreeMap<String, BTreeSet<String>>;

/// Journal counts of one traffic class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Accepted sends (including later-dropped ones).
    pub send_count: u64,
    /// Deliveries.
    pub recv_count: u64,
    /// Distinct messages (= sends: one id per send).
    pub msg_count: u64,
    /// `msg_count / ops`, absent without ops or for the clients class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msgs_per_op: Option<f64>,
}

/// Maelstrom's `:net` result (reference 8.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct NetStats {
    /// All traffic.
    pub all: Counts,
    /// Traffic to or from a client (`c…`).
    pub clients: Counts,
    /// Everything else: node↔node and node↔service.
    pub servers: Counts,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Queued {
    deadline: u64,
    id: u64,
}

/// Whether `id` names a client (first character `c`, as Maelstrom decides).
pub fn is_client(id: &str) -> bool {
    id.starts_with('c')
}

/// The network. Invariant: a queue exists exactly for each registered id; a message is
/// either queued, delivered once, or dropped once (no duplication, no other loss).
#[derive(Debug)]
pub struct Network {
    latency: LatencyOpts,
    queues: HashMap<String, BinaryHeap<Reverse<Queued>>>,
    in_flight: HashMap<u64, Message>,
    blocked: HashSet<(String, String)>,
    next_id: u64,
    clients: Counts,
    servers: Counts,
}

impl Network {
    /// An empty network with the given latency.
    pub fn new(latency: LatencyOpts) -> Self {
        Network {
            latency,
            queues: HashMap::new(),
            in_flight: HashMap::new(),
            blocked: HashSet::new(),
            next_id: 0,
            clients: Counts::default(),
            servers: Counts::default(),
        }
    }

    /// Registers a receiver (idempotent).
    pub fn register(&mut self, id: &str) {
        self.queues.entry(id.to_owned()).or_default();
    }

    /// Removes a receiver and discards what was queued for it.
    pub fn unregister(&mut self, id: &str) {
        if let Some(q) = self.queues.remove(id) {
            for Reverse(m) in q {
                self.in_flight.remove(&m.id);
            }
        }
    }

    /// Whether `id` is registered.
    pub fn is_registered(&self, id: &str) -> bool {
        self.queues.contains_key(id)
    }

    fn draw_ms(&self, rng: &mut StdRng) -> u64 {
        let m = self.latency.mean_ms;
        match self.latency.dist {
            DistArg::Constant => m,
            DistArg::Uniform if m > 0 => rng.random_range(0..2 * m),
            DistArg::Exponential if m > 0 => {
                let u: f64 = rng.random_range(f64::EPSILON..1.0);
                (-u.ln() * m as f64) as u64
            }
            _ => 0,
        }
    }

    /// Enqueues a message at `now`; latency 0 if either end is a client, else a draw.
    pub fn send(
        &mut self,
        now: u64,
        src: &str,
        dest: &str,
        body: Value,
        rng: &mut StdRng,
    ) -> Result<u64, NetError> {
        if !self.queues.contains_key(src) {
            return Err(NetError::UnknownSource(src.to_owned()));
        }
        if !self.queues.contains_key(dest) {
            return Err(NetError::UnknownDest(dest.to_owned()));
        }
        let client = is_client(src) || is_client(dest);
        let latency_ns = if client {
            0
        } else {
            self.draw_ms(rng) * 1_000_000
        };
        let id = self.next_id;
        self.next_id += 1;
        let deadline = now.saturating_add(latency_ns);
        let class = if client {
            &mut self.clients
        } else {
            &mut self.servers
        };
        class.send_count += 1;
        class.msg_count += 1;
        if let Some(q) = self.queues.get_mut(dest) {
            q.push(Reverse(Queued { deadline, id }));
        }
        self.in_flight.insert(
            id,
            Message {
                id,
                src: src.to_owned(),
                dest: dest.to_owned(),
                body,
                deadline,
            },
        );
        Ok(id)
    }

    /// Takes `dest`'s earliest-deadline message; drops it if `dest` holds a grudge
    /// against its source now.
    pub fn take(&mut self, dest: &str, _now: u64) -> Take {
        let Some(q) = self.queues.get_mut(dest) else {
            return Take::Empty;
        };
        let Some(Reverse(head)) = q.pop() else {
            return Take::Empty;
        };
        let Some(msg) = self.in_flight.remove(&head.id) else {
            return Take::Dropped;
        };
        if self.blocked.contains(&(msg.dest.clone(), msg.src.clone())) {
            return Take::Dropped;
        }
        Take::Deliver(msg)
    }

    /// Journals the delivery of `msg`.
    pub fn delivered(&mut self, msg: &Message) {
        let class = if is_client(&msg.src) || is_client(&msg.dest) {
            &mut self.clients
        } else {
            &mut self.servers
        };
        class.recv_count += 1;
    }

    /// Adds the grudge's pairs to the blocked set.
    pub fn partition(&mut self, grudge: &Grudge) {
        for (recv, srcs) in grudge {
            for s in srcs {
                self.blocked.insert((recv.clone(), s.clone()));
            }
        }
    }

    /// Unblocks everything.
    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    /// The counts, with msgs-per-op over `op_count` client invocations.
    pub fn stats(&self, op_count: usize) -> NetStats {
        let per = |c: u64| (op_count > 0).then(|| c as f64 / op_count as f64);
        let mut all = Counts {
            send_count: self.clients.send_count + self.servers.send_count,
            recv_count: self.clients.recv_count + self.servers.recv_count,
            msg_count: self.clients.msg_count + self.servers.msg_count,
            msgs_per_op: None,
        };
        all.msgs_per_op = per(all.msg_count);
        let mut servers = self.servers;
        servers.msgs_per_op = per(servers.msg_count);
        NetStats {
            all,
            clients: self.clients,
            servers,
        }
    }
}

/// A partition grudge drawn as Jepsen's partition nemesis does: one of `one`, `majority`,
/// `minority-third`, `majorities-ring`, uniformly. Returns the spec's name and the grudge.
pub fn random_partition(nodes: &[String], rng: &mut StdRng) -> (&'static str, Grudge) {
    let n = nodes.len();
    let mut shuffled = nodes.to_vec();
    shuffled.shuffle(rng);
    let cut = |a: &[String], b: &[String]| {
        let mut g = Grudge::new();
        for x in a {
            g.entry(x.clone()).or_default().extend(b.iter().cloned());
        }
        for y in b {
            g.entry(y.clone()).or_default().extend(a.iter().cloned());
        }
        g
    };
    match rng.random_range(0..4) {
        0 => {
            let (one, rest) = shuffled.split_at(n.min(1));
            ("one", cut(one, rest))
        }
        1 => {
            let (a, b) = shuffled.split_at(n / 2);
            ("majority", cut(a, b))
        }
        2 => {
            let (a, b) = shuffled.split_at(n.saturating_sub(1) / 3);
            ("minority-third", cut(a, b))
        }
        _ => {
            // Ring windows of majority(n) consecutive nodes around each node; every node
            // drops the nodes outside its window (reference 5.3; used for every n).
            let m = n / 2 + 1;
            let mut g = Grudge::new();
            for (i, x) in shuffled.iter().enumerate() {
                let window: HashSet<usize> = (0..m)
                    .map(|k| (i + n + k - (m - 1) / 2) % n.max(1))
                    .collect();
                let drops: BTreeSet<String> = (0..n)
                    .filter(|j| !window.contains(j))
                    .map(|j| shuffled[j].clone())
                    .collect();
                if !drops.is_empty() {
                    g.insert(x.clone(), drops);
                }
            }
            ("majorities-ring", g)
        }
    }
}

/// The history value of a `start-partition`: `["isolated", {node: [sources...]}]`.
pub fn describe(grudge: &Grudge) -> Value {
    json!(["isolated", grudge])
}

/// The broadcast topology `name` (grid, line, total, tree2, tree3, tree4) over `nodes`.
pub fn topology(name: &str, nodes: &[String]) -> BTreeMap<String, Vec<String>> {
    let n = nodes.len();
    let mut t = BTreeMap::new();
    match name {
        "line" => {
            if n >= 2 {
                for (k, x) in nodes.iter().enumerate() {
                    let mut v = Vec::new();
                    if k > 0 {
                        v.push(nodes[k - 1].clone());
                    }
                    if k + 1 < n {
                        v.push(nodes[k + 1].clone());
                    }
                    t.insert(x.clone(), v);
                }
            }
        }
        "total" => {
            for x in nodes {
                t.insert(
                    x.clone(),
                    nodes.iter().filter(|y| *y != x).cloned().collect(),
                );
            }
        }
        "tree2" | "tree3" | "tree4" => {
            let b: usize = name[4..].parse().unwrap_or(2);
            for x in nodes {
                t.insert(x.clone(), Vec::new());
            }
            // Tiers of sizes 1, b, b², …; children handed out b per parent in order.
            let mut tiers: Vec<&[String]> = Vec::new();
            let (mut start, mut size) = (0, 1);
            while start < n {
                let end = (start + size).min(n);
                tiers.push(&nodes[start..end]);
                start = end;
                size *= b;
            }
            for w in tiers.windows(2) {
                for (ci, child) in w[1].iter().enumerate() {
                    let parent = &w[0][ci / b];
                    if let Some(v) = t.get_mut(parent) {
                        v.push(child.clone());
                    }
                    if let Some(v) = t.get_mut(child) {
                        v.insert(0, parent.clone());
                    }
                }
            }
        }
        _ => {
            let side = (1..).find(|s| s * s >= n).unwrap_or(1);
            for (idx, x) in nodes.iter().enumerate() {
                let (i, j) = (idx / side, idx % side);
                let mut v = Vec::new();
                let at = |i: usize, j: usize| (j < side).then(|| i * side + j).filter(|&k| k < n);
                if let Some(k) = at(i + 1, j) {
                    v.push(nodes[k].clone());
                }
                if let Some(k) = i.checked_sub(1).and_then(|i| at(i, j)) {
                    v.push(nodes[k].clone());
                }
                if let Some(k) = at(i, j + 1) {
                    v.push(nodes[k].clone());
                }
                if let Some(k) = j.checked_sub(1).and_then(|j| at(i, j)) {
                    v.push(nodes[k].clone());
                }
                t.insert(x.clone(), v);
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    fn show(t: &BTreeMap<String, Vec<String>>) -> String {
        t.iter()
            .map(|(k, v)| format!("{k}:[{}]", v.join(",")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn topologies_match_the_reference_examples() {
        let n = names(5);
        assert_eq!(
            show(&topology("grid", &n)),
            "n0:[n3,n1] n1:[n4,n2,n0] n2:[n1] n3:[n0,n4] n4:[n1,n3]"
        );
        assert_eq!(
            show(&topology("line", &n)),
            "n0:[n1] n1:[n0,n2] n2:[n1,n3] n3:[n2,n4] n4:[n3]"
        );
        assert_eq!(
            show(&topology("tree2", &n)),
            "n0:[n1,n2] n1:[n0,n3,n4] n2:[n0] n3:[n1] n4:[n1]"
        );
        assert_eq!(
            show(&topology("tree3", &n)),
            "n0:[n1,n2,n3] n1:[n0,n4] n2:[n0] n3:[n0] n4:[n1]"
        );
        assert_eq!(
            show(&topology("tree4", &n)),
            "n0:[n1,n2,n3,n4] n1:[n0] n2:[n0] n3:[n0] n4:[n0]"
        );
        let g = topology("grid", &names(25));
        assert_eq!(g["n6"], vec!["n11", "n1", "n7", "n5"]);
        assert!(topology("line", &names(1)).is_empty());
    }

    #[test]
    fn partitions_drop_at_take_and_heal_restores() {
        let lat = LatencyOpts {
            mean_ms: 10,
            dist: DistArg::Constant,
        };
        let mut net = Network::new(lat);
        let mut rng = StdRng::seed_from_u64(1);
        for id in ["n0", "n1", "c0"] {
            net.register(id);
        }
        assert!(net.send(0, "n0", "n9", json!({}), &mut rng).is_err());
        net.send(0, "n0", "n1", json!({"a": 1}), &mut rng).ok();
        let mut g = Grudge::new();
        g.entry("n1".into()).or_default().insert("n0".into());
        net.partition(&g);
        assert_eq!(net.take("n1", 0), Take::Dropped);
        net.send(0, "n0", "n1", json!({"a": 2}), &mut rng).ok();
        net.heal();
        let Take::Deliver(m) = net.take("n1", 0) else {
            panic!()
        };
        assert_eq!(m.deadline, 10_000_000);
        net.delivered(&m);
        net.send(5, "c0", "n1", json!({}), &mut rng).ok();
        let Take::Deliver(m) = net.take("n1", 0) else {
            panic!()
        };
        assert_eq!(m.deadline, 5, "client traffic has no latency");
        let s = net.stats(2);
        assert_eq!(
            (
                s.servers.send_count,
                s.servers.recv_count,
                s.clients.msg_count
            ),
            (2, 1, 1)
        );
        assert_eq!(s.servers.msgs_per_op, Some(1.0));
    }

    #[test]
    fn partition_shapes_cut_the_expected_sizes() {
        let mut rng = StdRng::seed_from_u64(9);
        let nodes = names(5);
        for _ in 0..100 {
            let (spec, g) = random_partition(&nodes, &mut rng);
            let isolated_one = g.values().filter(|s| s.len() == 4).count();
            match spec {
                "one" | "minority-third" => assert_eq!(isolated_one, 1),
                "majority" => assert!(g.values().all(|s| s.len() == 2 || s.len() == 3)),
                _ => assert!(g.values().all(|s| s.len() == 2)),
            }
        }
    }
}
