//! [`RaftMachine`]: a [`Node`] on the node contract: its own clock, the node ids of
//! `init` mapped to Raft ids, and a node that refuses to take part when its recovered state
//! is unreadable.

use glomers_node::{ErrorBody, ErrorCode, Incoming, Machine, NodeId as Name, Outbox, Start, Time};
use glomers_raft::{NodeId, Raft};
use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::clock::{NodeClock, WATCH};
use super::config::RaftConfig;
use super::node::{Core, Node, Out};
use super::service::{Inbound, Service};
use super::storage::LogStore;

/// A Raft node serving `S` on the node contract (see [`super`] for the design).
pub struct RaftMachine<S: Service> {
    clock: NodeClock,
    /// The node, or why it refuses to take part.
    state: Result<Node<S>, String>,
}

impl<S: Service> RaftMachine<S> {
    /// The node `start` describes, recovering what `start.recovered` holds.
    pub fn new(start: &Start<'_>, config: RaftConfig) -> Self {
        let clock = NodeClock::new(start.now);
        let state = build(start, config).map_err(|why| {
            tracing::error!(%why, "this node cannot take part; it refuses every request");
            why
        });
        RaftMachine { clock, state }
    }

    /// The Raft core, unless the node refuses to take part.
    pub fn raft(&self) -> Option<&Core<S>> {
        self.state.as_ref().ok().map(|n| &n.raft)
    }

    /// The replicated state, unless the node refuses to take part.
    pub fn service(&self) -> Option<&S> {
        self.state.as_ref().ok().map(Node::service)
    }
}

/// The node of `start`: its Raft id is its place in `init`'s node list.
fn build<S: Service>(start: &Start<'_>, config: RaftConfig) -> Result<Node<S>, String> {
    let names: Vec<Name> = start
        .info
        .ids
        .iter()
        .map(|n| Name::from(n.as_str()))
        .collect();
    let me = start
        .info
        .index()
        .ok_or_else(|| format!("{} is not in the node list", start.info.id))?;
    let id = NodeId::try_from(me).map_err(|e| e.to_string())?;
    let members: Vec<NodeId> = (0..names.len())
        .map(NodeId::try_from)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let store = LogStore::recover(start.recovered).map_err(|e| e.to_string())?;
    let rng = SmallRng::seed_from_u64(start.seed);
    #[cfg_attr(not(feature = "broken-raft"), allow(unused_mut))]
    let mut raft =
        Raft::new(id, &members, config.core(), store, rng, start.now).map_err(|e| e.to_string())?;
    #[cfg(feature = "broken-raft")]
    raft.set_fault(config.fault);
    Ok(Node::new(raft, names, config, start.now))
}

impl<S: Service> Machine for RaftMachine<S> {
    type In = S::In;
    type Out = Out<S>;

    /// Adds at most: one reply or forward, the answers of the requests a step completes
    /// (bounded by the requests held), and one message per peer.
    fn on_message(&mut self, now: Time, msg: Incoming<S::In>, out: &mut Outbox<Out<S>>) {
        let t = self.clock.observe(now);
        let node = match &mut self.state {
            Ok(node) => node,
            Err(why) => {
                let error = ErrorBody::new(ErrorCode::TemporarilyUnavailable, why.clone());
                return out.reply_error(&msg.origin, error);
            }
        };
        match S::inbound(msg.body) {
            Inbound::Peer(batch) => node.on_peer(t, &msg.origin.src, batch, out),
            Inbound::Client { .. } if self.clock.stalled() => {
                // It may have waited longer than its client: an answer could be too late.
                tracing::debug!(client = %msg.origin.src, "request read after a stall; not answered");
            }
            Inbound::Client { request, forwarded } => {
                node.on_request(t, msg.origin, request, forwarded, out)
            }
        }
    }

    fn on_timeout(&mut self, now: Time, out: &mut Outbox<Out<S>>) {
        let t = self.clock.observe(now);
        if let Ok(node) = &mut self.state {
            node.on_timeout(t, out);
        }
    }

    fn poll_timeout(&self) -> Option<Time> {
        // At most `WATCH` ahead, so that a longer gap is a stall (see `NodeClock`).
        let node = self.state.as_ref().ok()?;
        let due = node.poll_timeout().min(self.clock.now() + WATCH);
        Some(self.clock.to_local(due))
    }
}
