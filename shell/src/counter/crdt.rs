//! G-counter as a gossiped state-based CRDT: no store, totally available.
//!
//! # Design
//!
//! The state is a core [`glomers_gcounter::MapGCounter`]: one grow-only slot per node life
//! (its own slot is the sum of the adds it acknowledged; see [`super::slots`] for why a
//! slot belongs to a life, not a node) and the value is the sum of the slots. Merging takes the per-slot
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
//! - On receiving gossip that taught it something, or from a peer that still lacks something
//!   as far as it knows, a node answers the sender with its full state at once, which
//!   acknowledges the gossip and tells the peer exactly what it holds (so two nodes that
//!   each think the other lacks a slot settle it in one exchange, instead of answering each
//!   other's deltas for ever).
//!
//! Gossip bodies carry the slots keyed by slot name (`{"type": "gossip", "counts":
//! {"n0.1767225600000": 4}}`), never a zero slot; slots of ids outside the node list are
//! ignored.
//!
//! # Kills
//!
//! With a data directory the own slot (name and count) is written in every call that adds,
//! before the `add_ok` leaves, and recovered at start: nothing acknowledged is lost, and
//! the node goes on in the same slot. Without one (Maelstrom's own `kill`) a restarted node
//! counts in a new slot; the adds its previous life acknowledged but had not gossiped yet
//! (at most one [`GOSSIP_PERIOD`] of them, or more while it was cut off) are lost, the rest
//! its peers hold.
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

use glomers_node::{ErrorBody, ErrorCode, Incoming, Machine, NodeInfo, Outbox, Start, Time};

use super::slots::{slot_name, OwnSlot, SlotNames};
use super::wire::{CounterIn, CounterOut};
use crate::durable;

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
    /// This node's id.
    id: String,
    slots: SlotNames,
    /// The own slot's index and name.
    me: NodeId,
    own: String,
    /// Whether the own slot is kept in a data directory.
    durable: bool,
    state: MapGCounter,
    peers: Vec<Peer>,
    /// When the next gossip round is due.
    next_gossip: Time,
}

impl CrdtCounter {
    /// A counter for the node in `info`, started at `now` (its first gossip round is due
    /// at once), counting in slot `<id>.0` and keeping nothing. A node id missing from
    /// `info.ids` is appended (and logged), so the node still counts.
    pub fn new(info: &NodeInfo, now: Time) -> Self {
        Self::with_slot(info, now, slot_name(&info.id, 0), 0, false)
    }

    /// The counter of a node life: the own slot recovered from its data directory, or a
    /// new slot named after this life (see [`super::slots`]).
    pub fn start(start: &Start<'_>) -> Self {
        let info = start.info;
        let durable = start.recovered.durable;
        match OwnSlot::recover(start.recovered, &info.id) {
            Some(own) => {
                tracing::info!(slot = own.name, count = own.count, "own slot recovered");
                Self::with_slot(info, start.now, own.name, own.count, durable)
            }
            None => {
                let name = slot_name(&info.id, durable::life(start));
                Self::with_slot(info, start.now, name, 0, durable)
            }
        }
    }

    fn with_slot(info: &NodeInfo, now: Time, own: String, count: u64, durable: bool) -> Self {
        let mut ids = info.ids.clone();
        if info.index().is_none() {
            tracing::error!(node = %info.id, "own id missing from node_ids; appended");
            ids.push(info.id.clone());
        }
        let peers = ids
            .iter()
            .filter(|id| **id != info.id)
            .map(|id| Peer {
                id: id.clone(),
                known: MapGCounter::new(),
                last_full: None,
            })
            .collect();
        let mut slots = SlotNames::default();
        let me = slots.index_of(&own, &ids).unwrap_or(NodeId::MAX);
        let mut state = MapGCounter::new();
        if let Err(e) = state.increment(me, count) {
            tracing::error!(error = %e, "recovered slot refused");
        }
        Self {
            ids,
            id: info.id.clone(),
            slots,
            me,
            own,
            durable,
            state,
            peers,
            next_gossip: now,
        }
    }

    /// This node's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The current local value.
    pub fn value(&self) -> u64 {
        self.state.value()
    }

    /// Slots as a gossip body: keyed by slot name.
    fn wire_counts(&self, slots: impl Iterator<Item = (NodeId, u64)>) -> BTreeMap<String, u64> {
        slots
            .filter_map(|(slot, count)| Some((self.slots.name(slot)?.to_owned(), count)))
            .collect()
    }

    /// A gossip body as slots; slots of nodes outside the node list are ignored.
    fn slots_of(&mut self, counts: &BTreeMap<String, u64>) -> MapGCounter {
        let mut slots = MapGCounter::new();
        for (name, count) in counts {
            let Some(slot) = self.slots.index_of(name, &self.ids) else {
                continue;
            };
            // A fresh slot starts at 0, so this sets it to `count` and cannot overflow.
            if let Err(e) = slots.increment(slot, *count) {
                tracing::error!(error = %e, slot = %name, "gossip slot refused");
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
                Ok(()) => {
                    if self.durable && delta > 0 {
                        let count = self.state.get(self.me);
                        let name = self.own.clone();
                        OwnSlot { name, count }.keep(out);
                    }
                    out.reply(&msg.origin, CounterOut::AddOk);
                }
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
                let lacks = !self.state.delta_since(&self.peers[pi].known).is_empty();
                if grew || lacks {
                    self.send_full(pi, now, out);
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
            let me = nodes[idx].id().to_owned();
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
            gossip_from("n1", &[("n0.0", 4), ("n1.0", 5)]),
            &mut out,
        );
        let replies: Vec<_> = out.drain().collect();
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].dest, "n1");
        assert_eq!(
            gossip_counts(&replies[0]),
            [("n0.0".to_string(), 4), ("n1.0".to_string(), 5)]
                .into_iter()
                .collect::<BTreeMap<_, _>>()
        );
        // A duplicate teaches nothing and n1 is known to lack nothing: no answer.
        a.on_message(ms(110), gossip_from("n1", &[("n1.0", 5)]), &mut out);
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
            Some([("n0.0".to_string(), 5)].into_iter().collect()),
            "only the grown slot"
        );
        assert_eq!(
            to("n2"),
            Some(
                [("n0.0".to_string(), 5), ("n1.0".to_string(), 5)]
                    .into_iter()
                    .collect()
            ),
            "n2 lacks everything"
        );
        // Once n1 reports our slot, it is sent nothing until the heartbeat.
        a.on_message(
            ms(400),
            gossip_from("n1", &[("n0.0", 5), ("n1.0", 5)]),
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

    fn life(id: &str, n: usize, disk: &glomers_node::Recovered, unix_ms: u64) -> CrdtCounter {
        let info = NodeInfo {
            id: id.into(),
            ids: (0..n).map(|i| format!("n{i}")).collect(),
        };
        CrdtCounter::start(&Start {
            info: &info,
            now: Time::ZERO,
            unix_ms,
            seed: 1,
            recovered: disk,
        })
    }

    fn read(n: &mut CrdtCounter) -> u64 {
        let mut out = Outbox::new();
        n.on_message(
            ms(1),
            Incoming {
                origin: client(5),
                in_reply_to: None,
                body: CounterIn::Read,
            },
            &mut out,
        );
        let first = out.drain().next().and_then(|m| m.payload().cloned());
        match first {
            Some(CounterOut::ReadOk { value }) => value,
            other => panic!("no read_ok: {other:?}"),
        }
    }

    #[test]
    fn a_durable_node_keeps_its_slot_and_a_wiped_one_counts_in_a_new_one() {
        let mut disk = glomers_node::Recovered {
            durable: true,
            ..Default::default()
        };
        let mut a = life("n0", 2, &disk, 1_000);
        let mut out = Outbox::new();
        add(&mut a, 4, &mut out);
        add(&mut a, 3, &mut out);
        assert_eq!(out.writes().len(), 2, "each add is written with its add_ok");
        disk.apply(out.drain_writes());
        out.drain().count();
        a.on_timeout(ms(0), &mut out);
        let slot = gossip_counts(&out.drain().next().expect("gossip"));
        assert_eq!(slot, [("n0.1000".to_string(), 7)].into_iter().collect());
        // Killed and started again with its data directory: same slot, same count.
        let mut again = life("n0", 2, &disk, 5_000);
        assert_eq!(read(&mut again), 7);
        add(&mut again, 1, &mut out);
        out.drain().count();
        out.drain_writes().count();
        again.on_timeout(ms(0), &mut out);
        let sent: Vec<_> = out.drain().filter(|m| m.dest == "n1").collect();
        assert_eq!(
            gossip_counts(&sent[0]),
            [("n0.1000".to_string(), 8)].into_iter().collect()
        );
        // Without it (wiped), a new life counts in a slot of its own: its peer, which
        // holds the old slot, adds the new one instead of hiding it under the old count.
        let mut peer = life("n1", 2, &glomers_node::Recovered::default(), 9);
        peer.on_message(ms(2), gossip_from("n0", &[("n0.1000", 8)]), &mut out);
        out.drain().count();
        let mut wiped = life("n0", 2, &glomers_node::Recovered::default(), 6_000);
        add(&mut wiped, 2, &mut out);
        assert!(
            out.writes().is_empty(),
            "nothing to keep without a data directory"
        );
        out.drain().count();
        wiped.on_timeout(ms(0), &mut out);
        for m in out.drain().collect::<Vec<_>>() {
            let msg = deliver_as::<_, CounterIn>("n0", &m).expect("decodes");
            peer.on_message(ms(3), msg, &mut out);
        }
        assert_eq!(read(&mut peer), 10);
    }

    #[test]
    fn two_nodes_that_each_think_the_other_lacks_a_slot_settle_at_once() {
        // n0 holds n2's slot, and thinks n1 lacks it; n1 holds it too and thinks n0 lacks
        // n1's own slot. Each delta teaches nothing: the answer is a full state, once.
        let mut nodes = vec![node("n0", 3), node("n1", 3)];
        let mut out = Outbox::new();
        nodes[0].on_message(ms(0), gossip_from("n2", &[("n2.0", 157)]), &mut out);
        nodes[1].on_message(ms(0), gossip_from("n2", &[("n2.0", 157)]), &mut out);
        add(&mut nodes[1], 73, &mut out);
        nodes[0].on_message(ms(0), gossip_from("n1", &[("n1.0", 73)]), &mut out);
        out.drain().count();
        let mut flight: Vec<(String, Outgoing<CounterOut>)> = vec![(
            "n0".into(),
            Outgoing {
                dest: "n1".into(),
                msg_id: None,
                in_reply_to: None,
                body: glomers_node::OutBody::Message(CounterOut::Gossip {
                    counts: [("n2.0".to_string(), 157)].into_iter().collect(),
                }),
            },
        )];
        let mut sent = 0;
        while !flight.is_empty() && sent < 100 {
            sent += flight.len();
            flight = deliver(&mut nodes, 1, flight, &|_, _| false);
        }
        assert!(sent <= 3, "{sent} messages");
        assert_eq!(read(&mut nodes[0]), read(&mut nodes[1]));
    }
}
