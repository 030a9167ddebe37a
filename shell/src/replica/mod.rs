//! Replicating nodes on the runtime's [`Machine`] trait: a sans-IO node that answers
//! client requests at once and sends replication batches to its peers on a tick. The kafka
//! and txn nodes are both of this shape; [`ReplicaMachine`] is the one adapter for both.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ErrorBody, ErrorCode};
use crate::inbox::NodeInfo;
use crate::machine::{Machine, Outbox};
use crate::protocol::Incoming;

/// A node logic that [`ReplicaMachine`] can drive.
pub trait ReplicaNode: Sized {
    /// Tuning of the node.
    type Config: Clone;
    /// Every body the node accepts: client requests and peer batches.
    type Request: DeserializeOwned + Serialize + Send + 'static;
    /// Replies to client requests.
    type Reply: Serialize;
    /// Why a client request was refused (every refusal is definite).
    type Refusal: fmt::Display;
    /// One replication batch for one peer.
    type Batch;
    /// Why a node could not be built from its identity.
    type NewError: fmt::Display;

    /// A node called `id` among `ids`.
    fn new(id: &str, ids: &[String], config: Self::Config) -> Result<Self, Self::NewError>;
    /// Handles one body from `src`; `Some` answers a client request, `None` a peer batch.
    fn handle(
        &mut self,
        now_ms: u64,
        src: &str,
        request: Self::Request,
    ) -> Option<Result<Self::Reply, Self::Refusal>>;
    /// Adds at most one `(peer, batch)` per peer.
    fn on_tick(&mut self, now_ms: u64, out: &mut Vec<(String, Self::Batch)>);
    /// The request that carries `batch` to a peer.
    fn replicate(batch: Self::Batch) -> Self::Request;
    /// The Maelstrom error code of a refusal.
    fn refusal_code(refusal: &Self::Refusal) -> ErrorCode;
}

/// Everything a replicating node sends: replies to clients and batches to peers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ReplicaOut<R, Q> {
    /// A reply to a client request.
    Reply(R),
    /// A message to a peer (a replication batch).
    Peer(Q),
}

/// A [`ReplicaNode`] driven by the runtime: requests are answered at once, replication
/// batches go out on every tick of `tick`.
#[derive(Debug, Clone)]
pub struct ReplicaMachine<N> {
    node: N,
    tick: Duration,
}

impl<N: ReplicaNode> ReplicaMachine<N> {
    /// Builds the node for the identity from `init`. An `init` whose node list lacks the
    /// node's own id is logged and the id appended, so the node still serves clients.
    pub fn from_info(info: &NodeInfo, config: N::Config, tick: Duration) -> Self {
        let node = N::new(&info.id, &info.ids, config.clone()).unwrap_or_else(|error| {
            tracing::error!(%error, "init without own id in node_ids; appending it");
            let mut ids = info.ids.clone();
            ids.push(info.id.clone());
            N::new(&info.id, &ids, config)
                .unwrap_or_else(|_| unreachable!("own id appended to the list"))
        });
        Self { node, tick }
    }

    /// The node logic, for inspection.
    pub fn node(&self) -> &N {
        &self.node
    }
}

/// The Maelstrom error for a refusal of `N`.
pub fn refusal_error<N: ReplicaNode>(refusal: &N::Refusal) -> ErrorBody {
    ErrorBody::new(N::refusal_code(refusal), refusal.to_string())
}

impl<N: ReplicaNode> Machine for ReplicaMachine<N> {
    type In = N::Request;
    type Out = ReplicaOut<N::Reply, N::Request>;

    fn on_message(&mut self, now_ms: u64, msg: Incoming<N::Request>, out: &mut Outbox<Self::Out>) {
        match self.node.handle(now_ms, &msg.origin.src, msg.body) {
            None => {}
            Some(Ok(reply)) => out.reply(&msg.origin, ReplicaOut::Reply(reply)),
            Some(Err(refusal)) => out.reply_error(&msg.origin, refusal_error::<N>(&refusal)),
        }
    }

    /// Adds at most one batch per peer.
    fn on_tick(&mut self, now_ms: u64, out: &mut Outbox<Self::Out>) {
        let mut batches = Vec::new();
        self.node.on_tick(now_ms, &mut batches);
        for (dest, batch) in batches {
            out.send(dest, ReplicaOut::Peer(N::replicate(batch)));
        }
    }

    fn tick_interval(&self) -> Option<Duration> {
        Some(self.tick)
    }
}

#[cfg(test)]
pub(crate) mod sim;
