//! G-counter as a gossiped state-based CRDT: no store, totally available.
//!
//! # Design
//!
//! The state is a core [`glomers_gcounter::MapGCounter`]: one grow-only slot per node (its
//! own slot is the sum of the adds it acknowledged; slot `i` belongs to the node at position
//! `i` of the node list) and the value is the sum of the slots. Merging takes the per-slot
//! maximum, which is commutative, associative and idempotent, so any order, loss or
//! duplication of gossip converges to the same state once every node's state has reached
//! every other.
//!
//! - `add` raises the own slot and is acknowledged at once; `read` answers the local sum at
//!   once (stale between gossips, exact once converged). An add that would overflow the own
//!   `u64` slot is refused with the definite error 14 and changes nothing.
//! - Each node remembers, per peer, the join of every state or delta that peer sent (a lower
//!   bound of the peer's state). Every [`GOSSIP_PERIOD`] it sends each peer whose known
//!   state lacks something the *delta* of the slots it lacks
//!   ([`glomers_gcounter::GCounter::delta_since`]), so it retries through partitions
//!   without resending what the peer has, and sends every peer its full state at least
//!   every [`HEARTBEAT_PERIOD`] (so a peer whose view of us is stale learns what we hold).
//! - On receiving gossip that taught it something, a node answers the sender with its full
//!   state at once, which acknowledges the gossip; otherwise it answers with the delta of
//!   what the sender still lacks as far as it knows, if anything.
//!
//! Gossip bodies carry the slots keyed by node id (`{"type": "gossip", "counts": {"n0":
//! 4}}`), never a zero slot; slots of ids outside the node list are ignored.
//!
//! # Why final reads are exact
//!
//! Partitions heal before the final phase and the final reads come 10 s later. Within one
//! gossip period after the heal every node sends every peer whose known state is behind the
//! slots it lacks, and the receiver merges them; the answers make the known states current.
//! So a few hundred milliseconds after the heal every node holds every slot's maximum, which
//! is the sum of every acknowledged add; nothing else is ever counted.

use std::collections::BTreeMap;
use std::time::Duration;

use glomers_gcounter::{MapGCounter, NodeId};

use glomers_node::{ErrorBody, ErrorCode, Incoming, Machine, NodeInfo, Outbox, Time};

use super::wire::{CounterIn, CounterOut};

/// How often a node checks whether a peer needs its state.
pub const GOSSIP_PERIOD: Duration = Duration::from_millis(200);

/// Longest time between two full states sent to the same peer.
pub const HEARTBEAT_PERIOD: Duration = Duration::from_millis(1000);

/// Joins `from` into `into`. The map storage has no capacity limit, so a merge cannot fail;
/// should it ever, the error is logged and `into` is left unchanged (the core guarantees it).
fn join(into: &mut MapGCounter, from: &MapGCounter) {
    if let Err(e) = into.merge(from) {
        tracing::error!(error = %e, "counter merge refused");
    }
}

/// One peer as this node sees it.
#[derive(Debug)]
struct Peer {
    id: String,
    /// Join of every state and delta the peer sent: a lower bound of its state.
    known: MapGCounter,
    /// When this node last sent the peer its full state.
    last_full: Option<Time>,
}

/// The CRDT counter state machine.
#[derive(Debug)]
pub struct CrdtCounter {
    ids: Vec<String>,
    me: NodeId,
    state: MapGCounter,
    peers: Vec<Peer>,
    /// When the next gossip round is due.
    next_gossip: Time,
}

impl CrdtCounter {
    /// A counter for the node in `info`, started at `now` (its first gossip round is due
    /// at once). A node id missing from `info.ids` is appended (and logged), so the node
    /// still counts.
    pub fn new(info: &NodeInfo, now: Time) -> Self {
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
                known: MapGCounter::new(),
                last_full: None,
            })
            .collect();
        Self {
            me: NodeId::try_from(me).unwrap_or(NodeId::MAX),
            ids,
            state: MapGCounter::new(),
            peers,
            next_gossip: now,
        }
    }

    /// The current local value.
    pub fn value(&self) -> u64 {
        self.state.value()
    }

    /// Slots as a gossip body: keyed by node id.
    fn wire_counts(&self, slots: impl Iterator<Item = (NodeId, u64)>) -> BTreeMap<String, u64> {
        slots
            .filter_map(|(node, count)| {
                let id = usize::try_from(node).ok().and_then(|i| self.ids.get(i))?;
                Some((id.clone(), count))
            })
            .collect()
    }

    /// A gossip body as slots; ids outside the node list are ignored.
    fn slots_of(&self, counts: &BTreeMap<String, u64>) -> MapGCounter {
        let mut slots = MapGCounter::new();
        for (id, count) in counts {
            let node = self
                .ids
                .iter()
                .position(|x| x == id)
                .and_then(|i| NodeId::try_from(i).ok());
            match node {
                // A fresh slot starts at 0, so this sets it to `count` and cannot overflow.
                Some(node) => {
                    if let Err(e) = slots.increment(node, *count) {
                        tracing::error!(error = %e, node = %id, "gossip slot refused");
                    }
                }
                None => tracing::debug!(node = %id, "gossip slot for an unknown node ignored"),
            }
        }
        slots
    }

    fn send_full(&mut self, peer: usize, now: Time, out: &mut Outbox<CounterOut>) {
        let counts = self.wire_counts(self.state.slots());
        let p = &mut self.peers[peer];
        p.last_full = Some(now);
        out.send(p.id.clone(), CounterOut::Gossip { counts });
    }

    /// Sends `peer` the slots it lacks as far as this node knows; false when there are none.
    fn send_delta(&mut self, peer: usize, out: &mut Outbox<CounterOut>) -> bool {
        let delta = self.state.delta_since(&self.peers[peer].known);
        if delta.is_empty() {
            return false;
        }
        let counts = self.wire_counts(delta.iter());
        out.send(self.peers[peer].id.clone(), CounterOut::Gossip { counts });
        true
    }
}

impl Machine for CrdtCounter {
    type In = CounterIn;
    type Out = CounterOut;

    fn on_message(&mut self, now: Time, msg: Incoming<CounterIn>, out: &mut Outbox<CounterOut>) {
        match msg.body {
            CounterIn::Add { delta } => match self.state.increment(self.me, delta) {
                Ok(()) => out.reply(&msg.origin, CounterOut::AddOk),
                Err(e) => {
                    // Definite: the slot is unchanged.
                    out.reply_error(&msg.origin, ErrorBody::new(ErrorCode::Abort, e.to_string()));
                }
            },
            CounterIn::Read => out.reply(
                &msg.origin,
                CounterOut::ReadOk {
                    value: self.value(),
                },
            ),
            CounterIn::Gossip { counts } => {
                let theirs = self.slots_of(&counts);
                let grew = !theirs.delta_since(&self.state).is_empty();
                join(&mut self.state, &theirs);
                let Some(pi) = self.peers.iter().position(|p| p.id == msg.origin.src) else {
                    tracing::debug!(src = %msg.origin.src, "gossip from a non-peer merged");
                    return;
                };
                join(&mut self.peers[pi].known, &theirs);
                if grew {
                    self.send_full(pi, now, out);
                } else {
                    self.send_delta(pi, out);
                }
            }
            other => {
                tracing::warn!(src = %msg.origin.src, body = ?other, "message not used in crdt mode ignored");
            }
        }
    }

    /// Sends each peer its delta, or its full state when its heartbeat is due; at most one
    /// message per peer.
    fn on_timeout(&mut self, now: Time, out: &mut Outbox<CounterOut>) {
        if now < self.next_gossip {
            return;
        }
        self.next_gossip = now + GOSSIP_PERIOD;
        for i in 0..self.peers.len() {
            let quiet = self.peers[i]
                .last_full
                .is_none_or(|t| now - t >= HEARTBEAT_PERIOD);
            if quiet {
                self.send_full(i, now, out);
            } else {
                self.send_delta(i, out);
            }
        }
    }

    fn poll_timeout(&self) -> Option<Time> {
        Some(self.next_gossip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_node::codec::{body_value, deliver_as};
    use glomers_node::{Origin, Outgoing};

    fn node(id: &str, n: usize) -> CrdtCounter {
        let info = NodeInfo {
            id: id.into(),
            ids: (0..n).map(|i| format!("n{i}")).collect(),
        };
        CrdtCounter::new(&info, Time::ZERO)
    }

    fn ms(t: u64) -> Time {
        Time::from_millis(t)
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
            let incoming = deliver_as::<_, CounterIn>(&from, &m).unwrap();
            let mut out = Outbox::new();
            nodes[idx].on_message(ms(now), incoming, &mut out);
            let me = nodes[idx].ids[nodes[idx].me as usize].clone();
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
                    ms(now),
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
                    n.on_timeout(ms(now), &mut out);
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
                ms(10_000),
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
            assert!(body_value(&got[0]).unwrap()["value"].is_u64());
        }
    }

    #[test]
    fn a_quiet_converged_cluster_only_heartbeats() {
        let mut a = node("n0", 2);
        let mut out = Outbox::new();
        a.on_timeout(ms(0), &mut out);
        assert_eq!(out.drain().count(), 1, "first round introduces the node");
        assert_eq!(a.poll_timeout(), Some(ms(200)));
        a.on_timeout(ms(100), &mut out);
        assert_eq!(out.drain().count(), 0, "not due yet");
        a.on_timeout(ms(200), &mut out);
        assert_eq!(out.drain().count(), 0, "nothing new, heartbeat not due");
        a.on_timeout(ms(1000), &mut out);
        assert_eq!(out.drain().count(), 1, "heartbeat");
    }
    fn gossip_from(src: &str, counts: &[(&str, u64)]) -> Incoming<CounterIn> {
        Incoming {
            origin: Origin {
                src: src.into(),
                msg_id: None,
            },
            in_reply_to: None,
            body: CounterIn::Gossip {
                counts: counts.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            },
        }
    }

    fn add(n: &mut CrdtCounter, delta: u64, out: &mut Outbox<CounterOut>) {
        n.on_message(
            Time::ZERO,
            Incoming {
                origin: client(1),
                in_reply_to: None,
                body: CounterIn::Add { delta },
            },
            out,
        );
    }

    fn gossip_counts(m: &Outgoing<CounterOut>) -> BTreeMap<String, u64> {
        match m.payload() {
            Some(CounterOut::Gossip { counts }) => counts.clone(),
            other => panic!("not gossip: {other:?}"),
        }
    }

    #[test]
    fn ticks_send_only_the_slots_a_peer_lacks() {
        let mut a = node("n0", 3);
        let mut out = Outbox::new();
        add(&mut a, 4, &mut out);
        out.drain().count();
        // n1 reports a slot n0 lacks: the answer is n0's full state, acknowledging it.
        a.on_message(
            ms(100),
            gossip_from("n1", &[("n0", 4), ("n1", 5)]),
            &mut out,
        );
        let replies: Vec<_> = out.drain().collect();
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].dest, "n1");
        assert_eq!(
            gossip_counts(&replies[0]),
            [("n0".to_string(), 4), ("n1".to_string(), 5)]
                .into_iter()
                .collect::<BTreeMap<_, _>>()
        );
        // A duplicate teaches nothing and n1 is known to lack nothing: no answer.
        a.on_message(ms(110), gossip_from("n1", &[("n1", 5)]), &mut out);
        assert_eq!(out.drain().count(), 0);
        // n2 is known to hold nothing: its first tick is a full state (heartbeat); later
        // ticks carry only what a peer lacks.
        a.on_timeout(ms(150), &mut out);
        let sent: Vec<_> = out.drain().collect();
        assert_eq!(
            sent.len(),
            1,
            "n1 lacks nothing and had a full state: {sent:?}"
        );
        assert_eq!(sent[0].dest, "n2");
        add(&mut a, 1, &mut out);
        out.drain().count();
        a.on_timeout(ms(350), &mut out);
        let sent: Vec<_> = out.drain().collect();
        let to = |d: &str| sent.iter().find(|m| m.dest == d).map(gossip_counts);
        assert_eq!(
            to("n1"),
            Some([("n0".to_string(), 5)].into_iter().collect()),
            "only the grown slot"
        );
        assert_eq!(
            to("n2"),
            Some(
                [("n0".to_string(), 5), ("n1".to_string(), 5)]
                    .into_iter()
                    .collect()
            ),
            "n2 lacks everything"
        );
        // Once n1 reports our slot, it is sent nothing until the heartbeat.
        a.on_message(
            ms(400),
            gossip_from("n1", &[("n0", 5), ("n1", 5)]),
            &mut out,
        );
        assert_eq!(out.drain().count(), 0, "nothing learnt, nothing lacking");
        a.on_timeout(ms(550), &mut out);
        let sent: Vec<_> = out.drain().collect();
        assert!(!sent.is_empty(), "the round ran");
        assert!(sent.iter().all(|m| m.dest != "n1"));
    }

    #[test]
    fn an_overflowing_add_is_refused_definitely() {
        let mut a = node("n0", 1);
        let mut out = Outbox::new();
        add(&mut a, u64::MAX - 1, &mut out);
        add(&mut a, 2, &mut out);
        let replies: Vec<_> = out.drain().collect();
        assert_eq!(replies[0].payload(), Some(&CounterOut::AddOk));
        let e = replies[1].error().expect("refused");
        assert!(e.is_definite());
        assert_eq!(a.value(), u64::MAX - 1, "unchanged");
    }
}
