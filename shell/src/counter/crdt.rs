//! G-counter as a gossiped state-based CRDT: no store, totally available.
//!
//! # Design
//!
//! The state is a core [`glomers_gcounter::MapGCounter`]: one grow-only slot per node (its
//! own slot is the sum of the adds it acknowledged; slot `i` belongs to the node at position
//! `i` of the node list) and the value is the sum of the slots. It is replicated by the
//! delta-state gossip the g-set and pn-counter nodes share ([`crate::crdt`]): each node
//! sends a peer only the slots the peer is not known to hold, retries until they are
//! acknowledged, and answers every client request from its local replica.
//!
//! - `add` raises the own slot and is acknowledged at once; `read` answers the local sum at
//!   once (stale between gossips, exact once converged). An add that would overflow the own
//!   `u64` slot is refused with the definite error 14 and changes nothing.
//! - Gossip bodies carry the slots keyed by node id (`{"type": "gossip", "seq": 7,
//!   "delta": {"n0": 4}}`), never a zero slot; slots of ids outside the node list are
//!   ignored.
//!
//! # Why final reads are exact
//!
//! Partitions heal before the final phase and the final reads come 10 s later. A peer that
//! missed slots is sent them again at most `retransmit` (two periods and 100 ms) after the
//! heal, and the hub forwards them within the next round; so a few seconds after the heal
//! every node holds every slot's maximum, which is the sum of every acknowledged add;
//! nothing else is ever counted.

use glomers_gcounter::{MapGCounter, NodeId};

use glomers_node::{ErrorBody, ErrorCode, Incoming, Machine, Outbox, Start, Time};

use super::wire::{CounterIn, CounterOut};
use crate::crdt::{Gossip, GossipConfig};

/// The CRDT counter state machine.
#[derive(Debug)]
pub struct CrdtCounter {
    gossip: Gossip<MapGCounter>,
    me: NodeId,
}

impl CrdtCounter {
    /// A counter for the node of `start`, at value 0.
    pub fn new(start: &Start<'_>, config: GossipConfig) -> Self {
        let gossip = Gossip::new(start, config);
        Self {
            me: NodeId::try_from(gossip.me()).unwrap_or(NodeId::MAX),
            gossip,
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
                let me = self.me;
                match self.gossip.update(now, |c| c.increment(me, delta)) {
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
    use crate::replica::testkit::{exchange, info, start};
    use glomers_node::codec::body_value;
    use glomers_node::{NodeInfo, Origin};

    const IDS: [&str; 3] = ["n0", "n1", "n2"];

    fn node(info: &NodeInfo) -> CrdtCounter {
        CrdtCounter::new(&start(info), GossipConfig::default())
    }

    fn request(
        n: &mut CrdtCounter,
        now: Time,
        body: CounterIn,
    ) -> Vec<glomers_node::Outgoing<CounterOut>> {
        let mut out = Outbox::new();
        let origin = Origin {
            src: "c9".into(),
            msg_id: Some(1),
        };
        n.on_message(
            now,
            Incoming {
                origin,
                in_reply_to: None,
                body,
            },
            &mut out,
        );
        out.drain().collect()
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
