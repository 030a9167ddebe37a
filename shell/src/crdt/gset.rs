//! The g-set node (Maelstrom's `g-set` workload): a grow-only set of integers, gossiped.
//!
//! `add {element}` inserts into the local set and answers `add_ok` at once; `read` answers
//! `read_ok {value}` with every element of the local set, in increasing order. Peers
//! exchange [`GossipMsg`]s whose `delta` is a list of `[lo, hi]` runs. Design, bounds,
//! and what survives a kill: [`crate::crdt`].

use glomers_gset::{Element, Elements, VecGSet, VecRuns};
use glomers_node::{ErrorBody, ErrorCode, Incoming, Machine, Outbox, Start, Time};
use serde::{Deserialize, Serialize};

use super::{Gossip, GossipConfig, GossipMsg, SetFull, MAX_SET_RUNS};

/// Messages a g-set node accepts.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GSetIn {
    /// Client: add an element.
    Add {
        /// The element (an integer).
        element: Element,
    },
    /// Client: read the set.
    Read,
    /// Peer: gossip.
    Gossip(GossipMsg<VecGSet>),
}

/// Messages a g-set node sends.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GSetOut {
    /// Reply to `add`.
    AddOk,
    /// Reply to `read`: the elements, as a flat list.
    ReadOk {
        /// Every element of the local set.
        value: Elements<VecRuns>,
    },
    /// Peer: gossip.
    Gossip(GossipMsg<VecGSet>),
}

/// The g-set node.
#[derive(Debug)]
pub struct GSetNode {
    gossip: Gossip<VecGSet>,
}

impl GSetNode {
    /// The node of `start`, with an empty set.
    pub fn new(start: &Start<'_>, config: GossipConfig) -> Self {
        Self {
            gossip: Gossip::new(start, config),
        }
    }

    /// The local set.
    pub fn set(&self) -> &VecGSet {
        self.gossip.state()
    }
}

/// The set of `x` alone.
fn single(x: Element) -> VecGSet {
    let mut one = VecGSet::new();
    // Cannot fail: Vec storage has no capacity limit.
    let _ = one.insert(x);
    one
}

/// Inserts `x` unless it needs a new run beyond [`MAX_SET_RUNS`]; `Ok(true)` if new.
fn add_bounded(set: &mut VecGSet, x: Element) -> Result<bool, SetFull> {
    let near = |y: Option<Element>| y.is_some_and(|y| set.contains(y));
    let needs_run = !set.contains(x) && !near(x.checked_sub(1)) && !near(x.checked_add(1));
    if needs_run && set.run_count() >= MAX_SET_RUNS {
        return Err(SetFull);
    }
    // Cannot fail: Vec storage has no capacity limit.
    Ok(set.insert(x).unwrap_or(false))
}

impl Machine for GSetNode {
    type In = GSetIn;
    type Out = GSetOut;

    /// Adds at most one reply.
    fn on_message(&mut self, now: Time, msg: Incoming<GSetIn>, out: &mut Outbox<GSetOut>) {
        match msg.body {
            GSetIn::Add { element } => {
                let added = self.gossip.update(now, out, |s, _| {
                    add_bounded(s, element)?;
                    Ok::<_, SetFull>(single(element))
                });
                match added {
                    Ok(_) => out.reply(&msg.origin, GSetOut::AddOk),
                    // Definite: the set is unchanged.
                    Err(e) => out
                        .reply_error(&msg.origin, ErrorBody::new(ErrorCode::Abort, e.to_string())),
                }
            }
            GSetIn::Read => out.reply(
                &msg.origin,
                GSetOut::ReadOk {
                    value: Elements(self.set().clone()),
                },
            ),
            GSetIn::Gossip(g) => self.gossip.on_gossip(now, &msg.origin.src, g),
        }
    }

    /// Adds at most one message per peer.
    fn on_timeout(&mut self, now: Time, out: &mut Outbox<GSetOut>) {
        self.gossip
            .on_timeout(now, &mut |dest, g| out.send(dest, GSetOut::Gossip(g)));
    }

    fn poll_timeout(&self) -> Option<Time> {
        self.gossip.poll_timeout()
    }
}

#[cfg(test)]
mod tests;
