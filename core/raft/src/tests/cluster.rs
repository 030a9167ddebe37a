//! A small cluster driver for the tests: nodes, a network of in-flight messages that the
//! test delivers, duplicates, drops and reorders, crashes and restarts from storage,
//! partitions, and the invariant checks after every step.

use std::boxed::Box;
use std::collections::BTreeMap;
use std::format;
use std::string::String;
use std::vec::Vec;

use core::time::Duration;

use glomers_node::Time;
use rand::rngs::SmallRng;
use rand::SeedableRng;

use crate::check::{check_cluster, History, NodeView, Violation};
use crate::raft::Fault;
use crate::{Config, Entry, MemStorage, Message, NodeId, Output, Raft, Role, Storage};

pub(crate) type Node = Raft<u64, MemStorage<u64, u64>, SmallRng>;

/// Most messages in flight; a send past it pushes out the oldest (the network's queue
/// policy: an overloaded network loses what it has held longest).
const NET_CAPACITY: usize = 256;

/// Why a run failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The invariant checks named a violation.
    Violation(Violation),
    /// A read was released without a write applied before it started.
    StaleRead {
        node: NodeId,
        needed: u64,
        applied: u64,
    },
    /// A node returned an error.
    Node(String),
    /// The fault-free stretch did not elect and commit in time.
    NoProgress,
    /// A node's state machine differs from another's at the same applied index (a wrong
    /// snapshot, or entries applied differently).
    StateMismatch { node: NodeId, index: u64 },
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Failure::Violation(v) => write!(f, "{v}"),
            Failure::StaleRead {
                node,
                needed,
                applied,
            } => write!(
                f,
                "node {node} released a read at applied index {applied}, below {needed}"
            ),
            Failure::Node(e) => f.write_str(e),
            Failure::NoProgress => f.write_str("no leader committed within the bound"),
            Failure::StateMismatch { node, index } => {
                write!(
                    f,
                    "node {node}'s state at index {index} differs from another's"
                )
            }
        }
    }
}

impl From<Violation> for Failure {
    fn from(v: Violation) -> Self {
        Failure::Violation(v)
    }
}

pub(crate) enum Slot {
    Up(Box<Node>),
    Down(NodeId, MemStorage<u64, u64>),
}

impl NodeView<u64> for Slot {
    fn id(&self) -> NodeId {
        match self {
            Slot::Up(n) => n.id(),
            Slot::Down(id, _) => *id,
        }
    }
    fn term(&self) -> u64 {
        match self {
            Slot::Up(n) => n.term(),
            Slot::Down(_, s) => s.hard_state().map_or(0, |h| h.term),
        }
    }
    fn is_leader(&self) -> bool {
        matches!(self, Slot::Up(n) if n.role() == Role::Leader)
    }
    fn commit_index(&self) -> u64 {
        match self {
            Slot::Up(n) => n.commit_index(),
            // What it compacted is committed; the rest it learns again.
            Slot::Down(_, s) => s.first_index() - 1,
        }
    }
    fn last_index(&self) -> u64 {
        self.disk().last_index()
    }
    fn first_index(&self) -> u64 {
        self.disk().first_index()
    }
    fn term_at(&self, index: u64) -> Option<u64> {
        self.disk().term(index).ok().flatten()
    }
    fn entry(&self, index: u64) -> Option<Entry<u64>> {
        self.disk().entry(index).ok().flatten()
    }
}

impl Slot {
    fn disk(&self) -> &MemStorage<u64, u64> {
        match self {
            Slot::Up(n) => n.storage(),
            Slot::Down(_, s) => s,
        }
    }
}

pub(crate) struct Envelope {
    from: NodeId,
    to: NodeId,
    msg: Message<u64, u64>,
}

pub(crate) struct Cluster {
    pub ids: Vec<NodeId>,
    pub slots: Vec<Slot>,
    pub net: Vec<Envelope>,
    /// Partition side of each node; messages cross only between equal sides.
    pub side: Vec<u8>,
    pub now: Time,
    pub history: History<u64>,
    config: Config,
    fault: Fault,
    seed: u64,
    starts: u64,
    next_command: u64,
    next_read: u64,
    /// Read id → highest index applied anywhere when the read was asked.
    reads: BTreeMap<u64, u64>,
    /// Each node compacts once it applied this many entries past its snapshot.
    compact_every: Option<u64>,
    /// Each node's state machine: a digest of the commands it applied, in order.
    states: Vec<u64>,
    /// The state first seen at each applied index: every node must reach the same.
    state_at: BTreeMap<u64, u64>,
    /// Snapshots sent by leaders, and installed by followers.
    pub snapshots: (u64, u64),
}

/// The test state machine: a digest of the entries applied, in order.
fn digest(state: u64, entry: &Entry<u64>) -> u64 {
    let command = match entry.payload {
        crate::Payload::Command(c) => c,
        crate::Payload::Noop => 0,
    };
    (state ^ command ^ (entry.term << 40)).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ entry.index
}

/// The test configuration: small batches and window so schedules exercise both.
pub(crate) fn test_config() -> Config {
    Config {
        max_batch: 3,
        window: 2,
        max_uncommitted: 64,
        max_pending_reads: 8,
        max_apply_batch: 4,
        ..Config::default()
    }
}

impl Cluster {
    pub fn new(size: usize, seed: u64, fault: Fault) -> Cluster {
        let disks = (0..size).map(|_| MemStorage::new()).collect();
        Cluster::with_disks(disks, test_config(), seed, fault)
    }

    /// A cluster whose nodes start from the given storages.
    pub fn with_disks(
        disks: Vec<MemStorage<u64, u64>>,
        config: Config,
        seed: u64,
        fault: Fault,
    ) -> Cluster {
        let size = disks.len();
        let ids: Vec<NodeId> = (1..=size as NodeId).collect();
        let mut c = Cluster {
            slots: Vec::new(),
            net: Vec::new(),
            side: std::vec![0; size],
            now: Time::ZERO,
            history: History::new(),
            config,
            fault,
            seed,
            starts: 0,
            next_command: 1,
            next_read: 1,
            reads: BTreeMap::new(),
            compact_every: None,
            states: std::vec![0; size],
            state_at: BTreeMap::new(),
            snapshots: (0, 0),
            ids,
        };
        for (k, disk) in disks.into_iter().enumerate() {
            let node = c.boot(k, disk);
            c.slots.push(Slot::Up(node));
        }
        c
    }

    /// Makes every node compact once it applied `every` entries past its snapshot.
    pub fn compacting(mut self, every: u64) -> Self {
        self.compact_every = Some(every);
        self
    }

    fn boot(&mut self, k: usize, disk: MemStorage<u64, u64>) -> Box<Node> {
        self.starts += 1;
        self.states[k] = disk.snapshot().ok().flatten().map_or(0, |s| s.data);
        let rng = SmallRng::seed_from_u64(self.seed ^ (self.starts << 32));
        let mut node = Raft::new(self.ids[k], &self.ids, self.config, disk, rng, self.now)
            .expect("the test configuration is valid");
        node.set_fault(self.fault);
        Box::new(node)
    }

    /// Runs `f` on node `k` if it is up, then routes its outputs and checks the invariants.
    fn on_node(
        &mut self,
        k: usize,
        f: impl FnOnce(
            &mut Node,
            Time,
            &mut Vec<Output<u64, u64>>,
        ) -> Result<(), crate::Error<core::convert::Infallible>>,
    ) -> Result<(), Failure> {
        let now = self.now;
        let Some(Slot::Up(node)) = self.slots.get_mut(k) else {
            return Ok(());
        };
        let mut out = Vec::new();
        let result = f(node, now, &mut out);
        let applied = node.applied_index();
        self.route(k, applied, out)?;
        match result {
            Ok(()) | Err(crate::Error::NotLeader { .. }) => {}
            Err(crate::Error::ProposalsFull { .. } | crate::Error::ReadsFull { .. }) => {}
            Err(e) => return Err(Failure::Node(format!("node {}: {e}", self.ids[k]))),
        }
        self.check()?;
        self.compact(k)
    }

    /// Compacts node `k` up to what it applied, if due, then checks again. (After the
    /// checks of the call that applied: the history has seen those entries committed.)
    fn compact(&mut self, k: usize) -> Result<(), Failure> {
        let (Some(every), Some(Slot::Up(node))) = (self.compact_every, self.slots.get_mut(k))
        else {
            return Ok(());
        };
        let applied = node.applied_index();
        if applied < node.snapshot_index() + every {
            return Ok(());
        }
        if let Err(e) = node.compact(applied, self.states[k]) {
            return Err(Failure::Node(format!("node {}: {e}", self.ids[k])));
        }
        self.check()
    }

    /// Node `k` reached `state` at `index`: the same as every other node there.
    fn reached(&mut self, k: usize, index: u64, state: u64) -> Result<(), Failure> {
        self.states[k] = state;
        match *self.state_at.entry(index).or_insert(state) {
            s if s == state => Ok(()),
            _ => Err(Failure::StateMismatch {
                node: self.ids[k],
                index,
            }),
        }
    }

    fn route(&mut self, k: usize, applied: u64, out: Vec<Output<u64, u64>>) -> Result<(), Failure> {
        let id = self.ids[k];
        for o in out {
            match o {
                Output::Send { to, msg } => {
                    self.snapshots.0 += u64::from(matches!(msg, Message::Snapshot(_)));
                    if self.net.len() >= NET_CAPACITY {
                        self.net.remove(0);
                    }
                    self.net.push(Envelope { from: id, to, msg })
                }
                Output::Apply(entry) => {
                    self.history.applied(id, &entry)?;
                    self.reached(k, entry.index, digest(self.states[k], &entry))?;
                }
                Output::Restore(snap) => {
                    self.snapshots.1 += 1;
                    self.history.restored(id, snap.index, snap.term)?;
                    self.reached(k, snap.index, snap.data)?;
                }
                Output::ReadReady { id: read } => {
                    let needed = self.reads.remove(&read).unwrap_or(0);
                    if applied < needed {
                        return Err(Failure::StaleRead {
                            node: id,
                            needed,
                            applied,
                        });
                    }
                }
                Output::ReadFailed { id: read, .. } => {
                    self.reads.remove(&read);
                }
            }
        }
        Ok(())
    }

    /// The moment's checks, then the incremental ones against the history.
    pub fn check(&mut self) -> Result<(), Failure> {
        check_cluster(&self.slots)?;
        self.history.observe(&self.slots)?;
        Ok(())
    }

    /// Delivers (and removes, unless `keep`) message `pick` modulo the number in flight.
    pub fn deliver(&mut self, pick: usize, keep: bool) -> Result<(), Failure> {
        if self.net.is_empty() {
            return Ok(());
        }
        let i = pick % self.net.len();
        let env = if keep {
            let e = &self.net[i];
            Envelope {
                from: e.from,
                to: e.to,
                msg: e.msg.clone(),
            }
        } else {
            self.net.remove(i)
        };
        let (Some(a), Some(b)) = (self.slot_of(env.from), self.slot_of(env.to)) else {
            return Ok(());
        };
        if self.side[a] != self.side[b] {
            return Ok(());
        }
        self.on_node(b, |n, now, out| n.step(now, env.from, env.msg, out))
    }

    /// Delivers up to `count` messages in the order they were sent.
    pub fn burst(&mut self, count: usize) -> Result<(), Failure> {
        for _ in 0..count.min(self.net.len()) {
            self.deliver(0, false)?;
        }
        Ok(())
    }

    /// Delivers every message in flight to node `k`, in order.
    pub fn deliver_to(&mut self, k: usize) -> Result<(), Failure> {
        let to = self.ids[k];
        while let Some(i) = self.net.iter().position(|e| e.to == to) {
            self.deliver(i, false)?;
        }
        Ok(())
    }

    /// Fault-free steps (1 ms hops, messages in order) until `done` holds; false if it
    /// still does not after `bound` of simulated time.
    pub fn run_until(
        &mut self,
        bound: Duration,
        done: impl Fn(&Cluster) -> bool,
    ) -> Result<bool, Failure> {
        let start = self.now;
        while self.now.saturating_since(start) <= bound {
            if done(self) {
                return Ok(true);
            }
            if self.net.is_empty() {
                self.step_fault_free()?;
            } else {
                self.advance(Duration::from_millis(1))?;
                self.deliver(0, false)?;
            }
        }
        Ok(done(self))
    }

    /// Loses every message in flight from node `k`.
    pub fn drop_from(&mut self, k: usize) {
        let from = self.ids[k];
        self.net.retain(|e| e.from != from);
    }

    pub fn drop_message(&mut self, pick: usize) {
        if !self.net.is_empty() {
            let i = pick % self.net.len();
            self.net.remove(i);
        }
    }

    /// Moves time forward by `span` and ticks every node whose deadline passed.
    pub fn advance(&mut self, span: Duration) -> Result<(), Failure> {
        self.now += span;
        for k in 0..self.slots.len() {
            for _ in 0..8 {
                let due = matches!(&self.slots[k], Slot::Up(n) if n.poll_timeout() <= self.now);
                if !due {
                    break;
                }
                self.on_node(k, |n, now, out| n.tick(now, out))?;
            }
        }
        Ok(())
    }

    /// Where a client at node `k` ends up: the leader `k` knows of (forwarding on its hint),
    /// or `k` itself.
    fn forward(&self, k: usize) -> usize {
        let hint = self.node(k).and_then(|n| n.leader());
        hint.and_then(|l| self.slot_of(l)).unwrap_or(k)
    }

    pub fn propose(&mut self, k: usize) -> Result<(), Failure> {
        let k = self.forward(k);
        let command = self.next_command;
        self.next_command += 1;
        self.on_node(k, |n, now, out| n.propose(now, command, out).map(|_| ()))
    }

    pub fn read(&mut self, k: usize) -> Result<(), Failure> {
        let k = self.forward(k);
        let id = self.next_read;
        self.next_read += 1;
        self.reads.insert(id, self.history.applied_index());
        self.on_node(k, |n, now, out| n.read(now, id, out))
    }

    pub fn crash(&mut self, k: usize) {
        let id = self.ids[k];
        let slot = std::mem::replace(&mut self.slots[k], Slot::Down(id, MemStorage::new()));
        self.slots[k] = match slot {
            Slot::Up(node) => Slot::Down(id, node.into_storage()),
            down => down,
        };
    }

    pub fn crash_leader(&mut self) {
        if let Some(k) = self.leader() {
            self.crash(k);
        }
    }

    pub fn restart(&mut self, k: usize) -> Result<(), Failure> {
        if let Slot::Down(_, disk) = &self.slots[k] {
            let node = self.boot(k, disk.clone());
            let base = node.storage().snapshot().ok().flatten();
            self.slots[k] = Slot::Up(node);
            self.history.restarted(self.ids[k]);
            if let Some(s) = base {
                self.history.restored(self.ids[k], s.index, s.term)?;
            }
        }
        self.check()
    }

    pub fn partition(&mut self, mask: u32) {
        for (k, side) in self.side.iter_mut().enumerate() {
            *side = u8::from(mask & (1 << k) != 0);
        }
    }

    pub fn heal(&mut self) {
        self.side.iter_mut().for_each(|s| *s = 0);
    }

    fn slot_of(&self, id: NodeId) -> Option<usize> {
        self.ids.iter().position(|&i| i == id)
    }

    pub fn node(&self, k: usize) -> Option<&Node> {
        match &self.slots[k] {
            Slot::Up(n) => Some(n),
            Slot::Down(..) => None,
        }
    }

    /// The up leader of the highest term, if any.
    pub fn leader(&self) -> Option<usize> {
        (0..self.slots.len())
            .filter(|&k| self.slots[k].is_leader())
            .max_by_key(|&k| self.slots[k].term())
    }

    /// Fault-free stretch: heal, restart everyone, deliver everything in order with 1 ms
    /// hops, and wait until a leader commits a fresh command. Returns the simulated time it
    /// took, or [`Failure::NoProgress`] past `bound`.
    pub fn settle(&mut self, bound: Duration) -> Result<Duration, Failure> {
        self.heal();
        for k in 0..self.slots.len() {
            self.restart(k)?;
        }
        let start = self.now;
        let mut proposed: Option<(usize, crate::Proposed)> = None;
        while self.now.saturating_since(start) <= bound {
            if let Some((k, p)) = proposed {
                let applied = self.node(k).is_some_and(|n| n.applied_index() >= p.index);
                let term = self.slots[k].term_at(p.index);
                if applied && term == Some(p.term) {
                    return Ok(self.now.saturating_since(start));
                }
                if term != Some(p.term) {
                    // Lost with a change of leader: propose again.
                    proposed = None;
                }
            }
            if proposed.is_none() {
                proposed = self.try_propose()?;
            }
            self.step_fault_free()?;
        }
        Err(Failure::NoProgress)
    }

    fn try_propose(&mut self) -> Result<Option<(usize, crate::Proposed)>, Failure> {
        let Some(k) = self.leader() else {
            return Ok(None);
        };
        let now = self.now;
        let command = self.next_command;
        let Some(Slot::Up(node)) = self.slots.get_mut(k) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        let proposed = node.propose(now, command, &mut out);
        let applied = node.applied_index();
        self.route(k, applied, out)?;
        self.next_command += 1;
        self.check()?;
        Ok(proposed.ok().map(|p| (k, p)))
    }

    fn step_fault_free(&mut self) -> Result<(), Failure> {
        if self.net.is_empty() {
            let next = self.slots.iter().filter_map(|s| match s {
                Slot::Up(n) => Some(n.poll_timeout()),
                Slot::Down(..) => None,
            });
            let next = next
                .min()
                .unwrap_or(self.now)
                .max(self.now + Duration::from_millis(1));
            return self.advance(next.saturating_since(self.now));
        }
        let batch = self.net.len();
        self.advance(Duration::from_millis(1))?;
        self.burst(batch)
    }
}
