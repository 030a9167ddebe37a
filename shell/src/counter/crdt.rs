//! G-counter as a gossiped state-based CRDT: no store, totally available.
//!
//! # Design
//!
//! Each node keeps one grow-only total per node (its own slot is the sum of the adds it
//! acknowledged) and the value is the sum of the slots. Merging takes the per-slot maximum,
//! which is commutative, associative and idempotent, so any order, loss or duplication of
//! gossip converges to the same state once every node's state has reached every other.
//!
//! - `add` raises the own slot and is acknowledged at once; `read` answers the local sum at
//!   once (stale between gossips, exact once converged).
//! - Each node remembers, per peer, the latest state that peer reported. Every
//!   [`GOSSIP_PERIOD`] it sends its full state to each peer whose reported state lacks
//!   something it has (so it retries through partitions), and to every peer at least every
//!   [`HEARTBEAT_PERIOD`] (so a peer whose view of us is stale learns what we hold).
//! - On receiving a state that taught it something, or that lacks something it has, a node
//!   answers the sender with its own state at once, which acknowledges the gossip.
//!
//! # Why final reads are exact
//!
//! Partitions heal before the final phase and the final reads come 10 s later. Within one
//! gossip period after the heal every node sends its state to every peer whose reported
//! state is behind, and the receiver merges it; the answers make the reported views current.
//! So a few hundred milliseconds after the heal every node holds every slot's maximum, which
//! is the sum of every acknowledged add; nothing else is ever counted.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::inbox::NodeInfo;
use crate::machine::{Machine, Outbox};
use crate::protocol::Incoming;

use super::wire::{CounterIn, CounterOut};

/// How often a node checks whether a peer needs its state.
pub const GOSSIP_PERIOD: Duration = Duration::from_millis(200);

/// Longest time between two states sent to the same peer.
pub const HEARTBEAT_PERIOD: Duration = Duration::from_millis(1000);

/// Per-node grow-only totals indexed by position in the node list; merge is per-slot max.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Slots(Vec<u64>);

impl Slots {
    fn zeros(n: usize) -> Self {
        Self(vec![0; n])
    }

    fn value(&self) -> u64 {
        self.0.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// Merges `other`, returning whether anything grew.
    fn merge(&mut self, other: &Slots) -> bool {
        let mut grew = false;
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            if *b > *a {
                *a = *b;
                grew = true;
            }
        }
        grew
    }

    /// True when every slot of `self` is at most the matching slot of `other`.
    fn le(&self, other: &Slots) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a <= b)
    }
}

/// One peer as this node sees it.
#[derive(Debug)]
struct Peer {
    id: String,
    /// Latest state the peer reported.
    reported: Slots,
    /// When this node last sent the peer its state.
    last_sent_ms: Option<u64>,
}

/// The CRDT counter state machine.
#[derive(Debug)]
pub struct CrdtCounter {
    ids: Vec<String>,
    me: usize,
    slots: Slots,
    peers: Vec<Peer>,
}

impl CrdtCounter {
    /// A counter for the node in `info`. A node id missing from `info.ids` is appended (and
    /// logged), so the node still counts.
    pub fn new(info: &NodeInfo) -> Self {
        let mut ids = info.ids.clone();
        let me = match info.index() {
            Some(i) => i,
            None => {
                tracing::error!(node = %info.id, "own id missing from node_ids; appended");
                ids.push(info.id.clone());
                ids.len() - 1
            }
        };
        let peers = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != me)
            .map(|(_, id)| Peer {
                id: id.clone(),
                reported: Slots::zeros(ids.len()),
                last_sent_ms: None,
            })
            .collect();
        Self {
            slots: Slots::zeros(ids.len()),
            ids,
            me,
            peers,
        }
    }

    /// The current local value.
    pub fn value(&self) -> u64 {
        self.slots.value()
    }

    fn wire_counts(&self) -> BTreeMap<String, u64> {
        self.ids
            .iter()
            .cloned()
            .zip(self.slots.0.iter().copied())
            .collect()
    }

    fn slots_of(&self, counts: &BTreeMap<String, u64>) -> Slots {
        let mut s = Slots::zeros(self.ids.len());
        for (id, v) in counts {
            match self.ids.iter().position(|x| x == id) {
                Some(i) => s.0[i] = *v,
                None => tracing::debug!(node = %id, "gossip slot for an unknown node ignored"),
            }
        }
        s
    }

    fn send_state(&mut self, peer: usize, now_ms: u64, out: &mut Outbox<CounterOut>) {
        let counts = self.wire_counts();
        let p = &mut self.peers[peer];
        p.last_sent_ms = Some(now_ms);
        out.send(p.id.clone(), CounterOut::Gossip { counts });
    }
}

impl Machine for CrdtCounter {
    type In = CounterIn;
    type Out = CounterOut;

    fn on_message(&mut self, now_ms: u64, msg: Incoming<CounterIn>, out: &mut Outbox<CounterOut>) {
        match msg.body {
            CounterIn::Add { delta } => {
                let own = &mut self.slots.0[self.me];
                *own = own.saturating_add(delta);
                out.reply(&msg.origin, CounterOut::AddOk);
            }
            CounterIn::Read => out.reply(
                &msg.origin,
                CounterOut::ReadOk {
                    value: self.value(),
                },
            ),
            CounterIn::Gossip { counts } => {
                let theirs = self.slots_of(&counts);
                let grew = self.slots.merge(&theirs);
                let Some(pi) = self.peers.iter().position(|p| p.id == msg.origin.src) else {
                    tracing::debug!(src = %msg.origin.src, "gossip from a non-peer merged");
                    return;
                };
                self.peers[pi].reported.merge(&theirs);
                let they_lack = !self.slots.le(&theirs);
                if grew || they_lack {
                    self.send_state(pi, now_ms, out);
                }
            }
            CounterIn::Error(e) => {
                tracing::warn!(error = %e, src = %msg.origin.src, "unexpected error message");
            }
        }
    }

    fn on_tick(&mut self, now_ms: u64, out: &mut Outbox<CounterOut>) {
        let heartbeat = u64::try_from(HEARTBEAT_PERIOD.as_millis()).unwrap_or(u64::MAX);
        for i in 0..self.peers.len() {
            let p = &self.peers[i];
            let behind = !self.slots.le(&p.reported);
            let quiet = p
                .last_sent_ms
                .map_or(true, |t| now_ms.saturating_sub(t) >= heartbeat);
            if behind || quiet {
                self.send_state(i, now_ms, out);
            }
        }
    }

    fn tick_interval(&self) -> Option<Duration> {
        Some(GOSSIP_PERIOD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Outgoing;
    use crate::protocol::Origin;

    fn node(id: &str, n: usize) -> CrdtCounter {
        CrdtCounter::new(&NodeInfo {
            id: id.into(),
            ids: (0..n).map(|i| format!("n{i}")).collect(),
        })
    }

    fn client(msg_id: u64) -> Origin {
        Origin {
            src: "c9".into(),
            msg_id: Some(msg_id),
        }
    }

    fn deliver(
        nodes: &mut [CrdtCounter],
        now: u64,
        msgs: Vec<(String, Outgoing<CounterOut>)>,
        cut: &dyn Fn(&str, &str) -> bool,
    ) -> Vec<(String, Outgoing<CounterOut>)> {
        let mut next = Vec::new();
        for (from, m) in msgs {
            if m.dest.starts_with('c') || cut(&from, &m.dest) {
                continue;
            }
            let idx: usize = m.dest[1..].parse().unwrap();
            let incoming = m.deliver_as::<CounterIn>(&from).unwrap();
            let mut out = Outbox::new();
            nodes[idx].on_message(now, incoming, &mut out);
            let me = nodes[idx].ids[nodes[idx].me].clone();
            next.extend(out.drain().map(|o| (me.clone(), o)));
        }
        next
    }

    #[test]
    fn converges_after_partition_heals() {
        let mut nodes: Vec<_> = (0..3).map(|i| node(&format!("n{i}"), 3)).collect();
        let mut expected = 0;
        let partitioned = |a: &str, b: &str| (a == "n0") != (b == "n0");
        let mut in_flight = Vec::new();
        for step in 0..200u64 {
            let now = step * 50;
            let target = (step % 3) as usize;
            let mut out = Outbox::new();
            if step < 100 {
                let delta = step % 5;
                expected += delta;
                nodes[target].on_message(
                    now,
                    Incoming {
                        origin: client(step),
                        in_reply_to: None,
                        body: CounterIn::Add { delta },
                    },
                    &mut out,
                );
                let acks: Vec<_> = out.drain().collect();
                assert_eq!(acks[0].payload(), Some(&CounterOut::AddOk));
            }
            if step % 4 == 0 {
                for (i, n) in nodes.iter_mut().enumerate() {
                    n.on_tick(now, &mut out);
                    in_flight.extend(out.drain().map(|o| (format!("n{i}"), o)));
                }
            }
            let cut: &dyn Fn(&str, &str) -> bool = if step < 120 {
                &partitioned
            } else {
                &|_, _| false
            };
            in_flight = deliver(&mut nodes, now, std::mem::take(&mut in_flight), cut);
        }
        for n in &mut nodes {
            let mut out = Outbox::new();
            n.on_message(
                10_000,
                Incoming {
                    origin: client(999),
                    in_reply_to: None,
                    body: CounterIn::Read,
                },
                &mut out,
            );
            let got: Vec<_> = out.drain().collect();
            assert_eq!(
                got[0].payload(),
                Some(&CounterOut::ReadOk { value: expected })
            );
            assert!(got[0].body_json().unwrap()["value"].is_u64());
        }
    }

    #[test]
    fn a_quiet_converged_cluster_only_heartbeats() {
        let mut a = node("n0", 2);
        let mut out = Outbox::new();
        a.on_tick(0, &mut out);
        assert_eq!(out.drain().count(), 1, "first tick introduces the node");
        a.on_tick(200, &mut out);
        assert_eq!(out.drain().count(), 0, "nothing new, heartbeat not due");
        a.on_tick(1000, &mut out);
        assert_eq!(out.drain().count(), 1, "heartbeat");
    }
}
