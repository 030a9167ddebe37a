//! G-counter as a gossiped state-based CRDT: no store, totally available.
//!
//! # Design
//!
//! The state is a core [`glomers_gcounter::MapGCounter`]: one grow-only slot per node life
//! (its own slot is the sum of the adds it acknowledged; see [`crate::crdt::slots`] for why
//! a slot belongs to a life, not a node) and the value is the sum of the slots. It is replicated by the
//! delta-state gossip the g-set and pn-counter nodes share ([`crate::crdt`]): each node
//! sends a peer only the slots the peer is not known to hold, retries until they are
//! acknowledged, and answers every client request from its local replica.
//!
//! - `add` raises the own slot and is acknowledged at once; `read` answers the local sum at
//!   once (stale between gossips, exact once converged). An add that would overflow the own
//!   `u64` slot is refused with the definite error 14 and changes nothing.
//! - Gossip bodies carry the slots keyed by slot name (`{"type": "gossip", "seq": 7,
//!   "delta": {"n0.1767225600000": 4}}`), never a zero slot; slots of nodes outside the
//!   node list are ignored.
//!
//! # Kills
//!
//! With a data directory (`--durable`) the own slot is written in every call that adds,
//! before the `add_ok` leaves, and recovered at start: nothing acknowledged is lost, and
//! the node goes on in the same slot. Without one (Maelstrom's own `kill`) a restarted node
//! counts in a new slot, and its peers send it back the slots of its earlier lives; the
//! adds an earlier life acknowledged but no peer received (at most one period of them, or
//! more while it was cut off) are lost. Details: [`crate::crdt`].
//!
//! # Why final reads are exact
//!
//! Partitions heal before the final phase and the final reads come 10 s later. A peer that
//! missed slots is sent them again at most `retransmit` (two periods and 100 ms) after the
//! heal, and the hub forwards them within the next round; so a few seconds after the heal
//! every node holds every slot's maximum, which is the sum of every acknowledged add;
//! nothing else is ever counted.

use glomers_gcounter::MapGCounter;

use glomers_node::{ErrorBody, ErrorCode, Incoming, Machine, Outbox, Start, Time};

use super::wire::{CounterIn, CounterOut};
use crate::crdt::{slot_part, Gossip, GossipConfig};

/// The CRDT counter state machine.
#[derive(Debug)]
pub struct CrdtCounter {
    gossip: Gossip<MapGCounter>,
}

impl CrdtCounter {
    /// A counter for the node of `start`, with what its earlier lives kept.
    pub fn new(start: &Start<'_>, config: GossipConfig) -> Self {
        Self {
            gossip: Gossip::new(start, config),
        }
    }

    /// The current local value.
    pub fn value(&self) -> u64 {
        self.gossip.state().value()
    }
}

impl Machine for CrdtCounter {
    type In = CounterIn;
    type Out = CounterOut;

    /// Adds at most one reply.
    fn on_message(&mut self, now: Time, msg: Incoming<CounterIn>, out: &mut Outbox<CounterOut>) {
        match msg.body {
            CounterIn::Add { delta } => {
                let added = self.gossip.update(now, out, |c, me| {
                    c.increment(me, delta)?;
                    Ok::<_, glomers_gcounter::Error>(slot_part(c, me))
                });
                match added {
                    Ok(()) => out.reply(&msg.origin, CounterOut::AddOk),
                    // Definite: the slot is unchanged.
                    Err(e) => out
                        .reply_error(&msg.origin, ErrorBody::new(ErrorCode::Abort, e.to_string())),
                }
            }
            CounterIn::Read => out.reply(
                &msg.origin,
                CounterOut::ReadOk {
                    value: self.value(),
                },
            ),
            CounterIn::Gossip(g) => self.gossip.on_gossip(now, &msg.origin.src, g),
            other => {
                tracing::warn!(src = %msg.origin.src, body = ?other, "message not used in crdt mode ignored");
            }
        }
    }

    /// Adds at most one message per peer.
    fn on_timeout(&mut self, now: Time, out: &mut Outbox<CounterOut>) {
        self.gossip
            .on_timeout(now, &mut |dest, g| out.send(dest, CounterOut::Gossip(g)));
    }

    fn poll_timeout(&self) -> Option<Time> {
        self.gossip.poll_timeout()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::crdt::Counts;
    use crate::replica::testkit::{client_request, exchange, info, start};
    use glomers_node::codec::{body_value, deliver_as};
    use glomers_node::{NodeInfo, Origin};

    fn add(delta: u64) -> Incoming<CounterIn> {
        Incoming {
            origin: Origin {
                src: "c9".into(),
                msg_id: Some(1),
            },
            in_reply_to: None,
            body: CounterIn::Add { delta },
        }
    }

    const IDS: [&str; 3] = ["n0", "n1", "n2"];

    fn node(info: &NodeInfo) -> CrdtCounter {
        CrdtCounter::new(&start(info), GossipConfig::default())
    }

    fn request(
        n: &mut CrdtCounter,
        now: Time,
        body: CounterIn,
    ) -> Vec<glomers_node::Outgoing<CounterOut>> {
        client_request(n, now, body)
    }

    #[test]
    fn converges_through_the_wire_after_a_partition_heals() {
        let infos: Vec<_> = IDS.iter().map(|id| info(id, &IDS)).collect();
        let mut nodes: Vec<_> = infos.iter().map(node).collect();
        let cut = |a: &str, b: &str| (a == "n0") != (b == "n0");
        let mut expected = 0;
        for step in 0..30u64 {
            let now = Time::from_millis(step * 100);
            let delta = step % 5;
            expected += delta;
            let replies = request(
                &mut nodes[(step % 3) as usize],
                now,
                CounterIn::Add { delta },
            );
            assert_eq!(replies[0].payload(), Some(&CounterOut::AddOk));
            exchange(&mut nodes, now, now, Duration::from_millis(1), &cut);
        }
        assert_ne!(nodes[0].value(), expected, "the partition held values back");
        exchange(
            &mut nodes,
            Time::from_secs(3),
            Time::from_secs(8),
            Duration::from_millis(10),
            &|_, _| false,
        );
        for n in &mut nodes {
            let got = request(n, Time::from_secs(9), CounterIn::Read);
            assert_eq!(
                got[0].payload(),
                Some(&CounterOut::ReadOk { value: expected })
            );
            assert!(body_value(&got[0]).unwrap()["value"].is_u64());
            assert_eq!(n.poll_timeout(), None, "converged and acknowledged: idle");
        }
    }

    fn life(id: &str, disk: &glomers_node::Recovered, unix_ms: u64) -> CrdtCounter {
        let info = info(id, &["n0", "n1"]);
        let start = Start {
            info: &info,
            now: Time::ZERO,
            unix_ms,
            seed: 1,
            recovered: disk,
        };
        CrdtCounter::new(&start, GossipConfig::default())
    }

    /// Runs `from`'s due round and delivers what it sends to `to`; returns the slots sent.
    fn gossip_to(from: &mut CrdtCounter, to: &mut CrdtCounter) -> Counts {
        let mut out = Outbox::new();
        let due = from.poll_timeout().expect("a round is due");
        from.on_timeout(due, &mut out);
        let mut sent = Counts::new();
        for m in out.drain().collect::<Vec<_>>() {
            let msg = deliver_as::<_, CounterIn>("n0", &m).expect("decodes");
            if let CounterIn::Gossip(g) = &msg.body {
                sent.extend(g.delta.clone());
            }
            to.on_message(due, msg, &mut Outbox::new());
        }
        sent
    }

    #[test]
    fn a_durable_node_keeps_its_slot_and_a_wiped_one_counts_in_a_new_one() {
        let mut disk = glomers_node::Recovered {
            durable: true,
            ..Default::default()
        };
        let mut a = life("n0", &disk, 1_000);
        let mut writes = 0;
        for delta in [4, 3] {
            let mut out = Outbox::new();
            a.on_message(Time::ZERO, add(delta), &mut out);
            assert!(
                !out.writes().is_empty(),
                "each add is written with its add_ok"
            );
            writes += out.writes().len();
            disk.apply(out.drain_writes());
        }
        assert_eq!(writes, 3, "the slot's name once, then one record per add");
        // Killed before it gossiped, started again with its data directory: same slot,
        // same count, and a round to spread it.
        let mut again = life("n0", &disk, 5_000);
        let mut peer = life("n1", &glomers_node::Recovered::default(), 9);
        assert_eq!(again.value(), 7);
        let sent = gossip_to(&mut again, &mut peer);
        assert_eq!(sent, [("n0.1000".to_string(), 7)].into());
        assert_eq!(peer.value(), 7);
        // Without it (wiped), a new life counts in a slot of its own: the peer, which holds
        // the old slot, adds the new one instead of hiding it under the old count.
        let mut wiped = life("n0", &glomers_node::Recovered::default(), 6_000);
        let mut out = Outbox::new();
        wiped.on_message(Time::ZERO, add(2), &mut out);
        assert!(
            out.writes().is_empty(),
            "nothing to keep without a data directory"
        );
        let sent = gossip_to(&mut wiped, &mut peer);
        assert_eq!(sent, [("n0.6000".to_string(), 2)].into());
        assert_eq!(peer.value(), 9);
    }

    #[test]
    fn an_overflowing_add_is_refused_definitely() {
        let info = info("n0", &["n0"]);
        let mut a = node(&info);
        let ok = request(
            &mut a,
            Time::ZERO,
            CounterIn::Add {
                delta: u64::MAX - 1,
            },
        );
        assert_eq!(ok[0].payload(), Some(&CounterOut::AddOk));
        let refused = request(&mut a, Time::ZERO, CounterIn::Add { delta: 2 });
        let e = refused[0].error().expect("refused");
        assert!(e.is_definite());
        assert_eq!(a.value(), u64::MAX - 1, "unchanged");
    }
}
