//! The pn-counter node (Maelstrom's `pn-counter` workload): a counter that goes both ways,
//! gossiped as a PN-counter CRDT.
//!
//! `add {delta}` (a signed integer) raises the node's own increment slot for a positive
//! delta or its decrement slot for a negative one, and answers `add_ok` at once; `read`
//! answers `read_ok {value}` with the local value (the increments' sum minus the
//! decrements'). A delta that would overflow the node's `u64` slot is refused with the
//! definite error 14 and changes nothing. Peers exchange [`GossipMsg`]s whose `delta` is
//! `{"inc": {"n0.1767225600000": 4}, "dec": {"n1.1767225600000": 2}}` (slots per node life).
//! Design, bounds, and what survives a kill: [`crate::crdt`].

use glomers_gcounter::MapPnCounter;
use glomers_node::{ErrorBody, ErrorCode, Incoming, Machine, Outbox, Start, Time};
use serde::{Deserialize, Serialize};

use super::{pn_slot_part, Gossip, GossipConfig, GossipMsg, PnCounts};

/// Messages a pn-counter node accepts.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PnIn {
    /// Client: add a signed `delta`.
    Add {
        /// The amount; negative decrements.
        delta: i64,
    },
    /// Client: read the value.
    Read,
    /// Peer: gossip.
    Gossip(GossipMsg<PnCounts>),
}

/// Messages a pn-counter node sends.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PnOut {
    /// Reply to `add`.
    AddOk,
    /// Reply to `read`.
    ReadOk {
        /// The local value.
        value: i64,
    },
    /// Peer: gossip.
    Gossip(GossipMsg<PnCounts>),
}

/// The pn-counter node.
#[derive(Debug)]
pub struct PnCounterNode {
    gossip: Gossip<MapPnCounter>,
}

impl PnCounterNode {
    /// The node of `start`, with what its earlier lives kept.
    pub fn new(start: &Start<'_>, config: GossipConfig) -> Self {
        Self {
            gossip: Gossip::new(start, config),
        }
    }

    /// The local value.
    pub fn value(&self) -> i64 {
        self.gossip.state().value()
    }
}

impl Machine for PnCounterNode {
    type In = PnIn;
    type Out = PnOut;

    /// Adds at most one reply.
    fn on_message(&mut self, now: Time, msg: Incoming<PnIn>, out: &mut Outbox<PnOut>) {
        match msg.body {
            PnIn::Add { delta } => {
                let added = self.gossip.update(now, out, |c, me| {
                    match u64::try_from(delta) {
                        Ok(up) => c.increment(me, up)?,
                        Err(_) => c.decrement(me, delta.unsigned_abs())?,
                    }
                    Ok::<_, glomers_gcounter::Error>(pn_slot_part(c, me))
                });
                match added {
                    Ok(()) => out.reply(&msg.origin, PnOut::AddOk),
                    // Definite: the slot is unchanged.
                    Err(e) => out
                        .reply_error(&msg.origin, ErrorBody::new(ErrorCode::Abort, e.to_string())),
                }
            }
            PnIn::Read => out.reply(
                &msg.origin,
                PnOut::ReadOk {
                    value: self.value(),
                },
            ),
            PnIn::Gossip(g) => self.gossip.on_gossip(now, &msg.origin.src, g),
        }
    }

    /// Adds at most one message per peer.
    fn on_timeout(&mut self, now: Time, out: &mut Outbox<PnOut>) {
        self.gossip
            .on_timeout(now, &mut |dest, g| out.send(dest, PnOut::Gossip(g)));
    }

    fn poll_timeout(&self) -> Option<Time> {
        self.gossip.poll_timeout()
    }
}

#[cfg(test)]
mod tests;
