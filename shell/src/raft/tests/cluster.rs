//! A cluster of Raft machines in one test: every message through the wire encoding, a
//! fixed 1 ms latency, cuts between nodes, kills and restarts from each node's disk, the
//! invariant checks after every step, and the clients' replies collected.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use glomers_node::codec::{body_value, deliver_as};
use glomers_node::{Incoming, Machine, NodeInfo, Outbox, Outgoing, Recovered, Start, Time};
use serde_json::Value;

use crate::invariants::Invariants;
use crate::raft::invariants::RaftInvariants;
use crate::raft::node::Out;
use crate::raft::{RaftConfig, RaftMachine, Service};

const LATENCY: Duration = Duration::from_millis(1);

/// A message on its way: from, and what.
type Flight<S> = (String, Outgoing<Out<S>>);

/// The cluster (see the module documentation).
pub struct Cluster<S: Service> {
    pub nodes: Vec<Option<RaftMachine<S>>>,
    disks: Vec<Recovered>,
    durable: bool,
    config: RaftConfig,
    pub now: Time,
    flight: BTreeMap<(Time, u64), Flight<S>>,
    seq: u64,
    /// Pairs `(from, to)` whose messages are lost.
    pub cut: HashSet<(usize, usize)>,
    /// Every reply to a client: (client, body).
    pub replies: Vec<(String, Value)>,
    /// Messages sent from one node to another (forwards on a client's behalf excluded).
    pub peer_msgs: usize,
    /// Forwards sent on a client's behalf.
    pub forwards: usize,
    invariants: RaftInvariants<S>,
    /// The first invariant broken, if any.
    pub violation: Option<String>,
    lives: u64,
}

fn name(i: usize) -> String {
    format!("n{i}")
}

impl<S: Service> Cluster<S> {
    /// `n` nodes; `durable`: a killed node keeps its disk.
    pub fn new(n: usize, config: RaftConfig, durable: bool) -> Self {
        let disk = Recovered {
            durable: true,
            ..Recovered::default()
        };
        let mut c = Cluster {
            nodes: Vec::new(),
            disks: vec![disk; n],
            durable,
            config,
            now: Time::from_millis(1),
            flight: BTreeMap::new(),
            seq: 0,
            cut: HashSet::new(),
            replies: Vec::new(),
            peer_msgs: 0,
            forwards: 0,
            invariants: RaftInvariants::default(),
            violation: None,
            lives: 0,
        };
        for i in 0..n {
            let m = c.boot(i);
            c.nodes.push(Some(m));
        }
        c
    }

    fn boot(&mut self, i: usize) -> RaftMachine<S> {
        self.lives += 1;
        let info = NodeInfo {
            id: name(i),
            ids: (0..self.disks.len()).map(name).collect(),
        };
        let start = Start {
            info: &info,
            now: self.now,
            unix_ms: 0,
            seed: self.lives * 7919 + i as u64,
            recovered: &self.disks[i],
        };
        RaftMachine::new(&start, self.config)
    }

    /// Kills node `i` (its disk is wiped unless the cluster is durable).
    pub fn kill(&mut self, i: usize) {
        self.nodes[i] = None;
        if !self.durable {
            self.disks[i].logs.clear();
            self.disks[i].values.clear();
        }
    }

    /// Starts node `i` again from its disk.
    pub fn restart(&mut self, i: usize) {
        let m = self.boot(i);
        self.nodes[i] = Some(m);
    }

    /// Cuts node `i` off from every other node, both ways.
    pub fn isolate(&mut self, i: usize) {
        for j in 0..self.nodes.len() {
            if j != i {
                self.cut.insert((i, j));
                self.cut.insert((j, i));
            }
        }
    }

    /// The leader among the live nodes, if exactly one claims it (in the highest term).
    pub fn leader(&self) -> Option<usize> {
        let mut best: Option<(u64, usize)> = None;
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(raft) = n.as_ref().and_then(RaftMachine::raft) else {
                continue;
            };
            if raft.role() == glomers_raft::Role::Leader
                && best.is_none_or(|(t, _)| raft.term() > t)
            {
                best = Some((raft.term(), i));
            }
        }
        best.map(|(_, i)| i)
    }

    /// Client `client` sends `body` (with its `msg_id`) to node `to` now.
    pub fn request(&mut self, client: &str, to: usize, body: Value) {
        let line = serde_json::json!({"src": client, "dest": name(to), "body": body}).to_string();
        let msg = glomers_node::codec::read_envelope(&line).map(|e| e.decode::<S::In>());
        let Ok(Ok(msg)) = msg else {
            panic!("the request does not decode: {line}");
        };
        self.call(to, |m, now, out| m.on_message(now, msg, out));
    }

    /// Runs until `until`, checking the invariants after every step.
    pub fn run_until(&mut self, until: Time) {
        while let Some(next) = self.next_event() {
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            self.step();
        }
        self.now = self.now.max(until);
    }

    /// Runs for `span` more.
    pub fn run_for(&mut self, span: Duration) {
        self.run_until(self.now + span);
    }

    fn next_event(&self) -> Option<Time> {
        let msg = self.flight.keys().next().map(|&(t, _)| t);
        let timers = self
            .nodes
            .iter()
            .flatten()
            .filter_map(Machine::poll_timeout)
            .min();
        msg.into_iter().chain(timers).min()
    }

    fn step(&mut self) {
        let now = self.now;
        if let Some(entry) = self.flight.first_entry() {
            if entry.key().0 <= now {
                let (src, msg) = entry.remove();
                self.deliver(&src, msg);
                return self.check();
            }
        }
        for i in 0..self.nodes.len() {
            let due = self.nodes[i].as_ref().and_then(Machine::poll_timeout);
            if due.is_some_and(|d| d <= now) {
                self.call(i, |m, now, out| m.on_timeout(now, out));
            }
        }
        self.check();
    }

    fn deliver(&mut self, src: &str, msg: Outgoing<Out<S>>) {
        let Ok(to) = msg.dest[1..].parse::<usize>() else {
            return;
        };
        let from = src[1..].parse::<usize>().ok();
        if from.is_some_and(|f| self.cut.contains(&(f, to))) {
            return;
        }
        let sender = msg.src.as_deref().unwrap_or(src).to_owned();
        let incoming: Incoming<S::In> = match deliver_as(&sender, &msg) {
            Ok(m) => m,
            Err(e) => panic!("a message did not decode: {e}"),
        };
        self.call(to, |m, now, out| m.on_message(now, incoming, out));
    }

    /// Runs `f` on node `i` (if alive), then takes its writes and messages.
    fn call(&mut self, i: usize, f: impl FnOnce(&mut RaftMachine<S>, Time, &mut Outbox<Out<S>>)) {
        let now = self.now;
        let Some(m) = self.nodes[i].as_mut() else {
            return;
        };
        let mut out = Outbox::new();
        f(m, now, &mut out);
        self.disks[i].apply(out.drain_writes().collect::<Vec<_>>());
        for msg in out.drain() {
            if msg.dest.starts_with('c') {
                let body = body_value(&msg).unwrap_or(Value::Null);
                self.replies.push((msg.dest.to_string(), body));
                continue;
            }
            if msg.src.is_some() {
                self.forwards += 1;
            } else {
                self.peer_msgs += 1;
            }
            self.seq += 1;
            self.flight
                .insert((now + LATENCY, self.seq), (name(i), msg));
        }
    }

    fn check(&mut self) {
        if self.violation.is_some() {
            return;
        }
        let views: Vec<Option<&dyn std::any::Any>> = self
            .nodes
            .iter()
            .map(|n| n.as_ref().map(|m| m as &dyn std::any::Any))
            .collect();
        if let Err(v) = self.invariants.check(&views) {
            self.violation = Some(v);
        }
    }

    /// The replies client `client` got, in order.
    pub fn replies_to(&self, client: &str) -> Vec<&Value> {
        self.replies
            .iter()
            .filter(|(c, _)| c == client)
            .map(|(_, b)| b)
            .collect()
    }
}
