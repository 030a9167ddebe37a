//! Replicating nodes: a sans-IO node that answers client requests at once and replicates
//! its own entries to its peers in batches ([`Replicator`]). The kafka and txn nodes are
//! both of this shape; [`ReplicaMachine`] is the one adapter that puts either on the node
//! contract.

use std::fmt;

use glomers_node::{ErrorBody, ErrorCode, Incoming, Machine, Outbox, Start, Time, Write};
use serde::de::DeserializeOwned;
use serde::Serialize;

mod replicator;

pub use replicator::{
    Accept, BacklogFull, Batch, Header, ReplicaConfig, Replicator, MAX_PEERS, MAX_RETRANSMIT,
};

/// A node logic that [`ReplicaMachine`] can drive.
pub trait ReplicaNode: Sized {
    /// Tuning of the node.
    type Config: Clone;
    /// Every body the node accepts: client requests and peer batches.
    type Request: DeserializeOwned + Serialize;
    /// Replies to client requests.
    type Reply: Serialize;
    /// Why a client request was refused (every refusal is definite).
    type Refusal: fmt::Display;
    /// Why a node could not be built from its identity.
    type NewError: fmt::Display;

    /// The node `start.info.id` among `start.info.ids`, started at `start.now`.
    fn new(start: &Start<'_>, config: Self::Config) -> Result<Self, Self::NewError>;
    /// Handles one body from `src`; `Some` answers a client request, `None` a peer batch.
    fn handle(
        &mut self,
        now: Time,
        src: &str,
        request: Self::Request,
    ) -> Option<Result<Self::Reply, Self::Refusal>>;
    /// The batches due at `now`, as `(peer, request carrying the batch)`: at most one per
    /// peer.
    fn due(&mut self, now: Time, out: &mut Vec<(String, Self::Request)>);
    /// When [`ReplicaNode::due`] should next run.
    fn poll_timeout(&self) -> Option<Time>;
    /// The Maelstrom error code of a refusal.
    fn refusal_code(refusal: &Self::Refusal) -> ErrorCode;
    /// Moves the writes for the data directory that the last [`ReplicaNode::handle`] or
    /// [`ReplicaNode::due`] queued into `writes`: they are made durable before the reply
    /// or the batches of that call leave. None by default.
    fn take_writes(&mut self, writes: &mut Vec<Write>) {
        let _ = writes;
    }
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

/// A [`ReplicaNode`] on the node contract: requests are answered at once, batches go out
/// when the node's replicator says they are due.
pub struct ReplicaMachine<N: ReplicaNode> {
    node: N,
    /// Reused between timeouts: the batches one `due` produced.
    batches: Vec<(String, N::Request)>,
    /// Reused between calls: the writes one call produced.
    writes: Vec<Write>,
}

impl<N: ReplicaNode> ReplicaMachine<N> {
    /// Builds the node for the identity from `init`. An `init` whose node list lacks the
    /// node's own id is logged and the id appended, so the node still serves clients.
    pub fn new(start: &Start<'_>, config: N::Config) -> Self {
        let node = N::new(start, config.clone()).unwrap_or_else(|error| {
            tracing::error!(%error, "init without own id in node_ids; appending it");
            let mut info = start.info.clone();
            info.ids.push(info.id.clone());
            let start = Start {
                info: &info,
                ..*start
            };
            match N::new(&start, config) {
                Ok(node) => node,
                Err(e) => unreachable!("own id appended to the list, yet: {e}"),
            }
        });
        Self {
            node,
            batches: Vec::new(),
            writes: Vec::new(),
        }
    }

    /// Queues the node's writes in `out`, ahead of any message of this call.
    fn queue_writes<O>(&mut self, out: &mut Outbox<O>) {
        self.node.take_writes(&mut self.writes);
        for w in self.writes.drain(..) {
            crate::durable::queue(out, w);
        }
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

    /// Adds at most one reply.
    fn on_message(&mut self, now: Time, msg: Incoming<N::Request>, out: &mut Outbox<Self::Out>) {
        let answer = self.node.handle(now, &msg.origin.src, msg.body);
        self.queue_writes(out);
        match answer {
            None => {}
            Some(Ok(reply)) => out.reply(&msg.origin, ReplicaOut::Reply(reply)),
            Some(Err(refusal)) => out.reply_error(&msg.origin, refusal_error::<N>(&refusal)),
        }
    }

    /// Adds at most one batch per peer.
    fn on_timeout(&mut self, now: Time, out: &mut Outbox<Self::Out>) {
        self.node.due(now, &mut self.batches);
        self.queue_writes(out);
        for (dest, batch) in self.batches.drain(..) {
            out.send(dest, ReplicaOut::Peer(batch));
        }
    }

    fn poll_timeout(&self) -> Option<Time> {
        self.node.poll_timeout()
    }
}

/// Test support: replicating machines wired to each other in-process.
#[cfg(test)]
pub(crate) mod testkit {
    use std::time::Duration;

    use glomers_node::codec::deliver_as;
    use glomers_node::{
        Incoming, Machine, NodeInfo, Origin, Outbox, Outgoing, Recovered, Start, Time,
    };
    use serde::Serialize;

    /// `Start` of node `id` among `ids`, at time zero.
    pub fn info(id: &str, ids: &[&str]) -> NodeInfo {
        NodeInfo {
            id: id.into(),
            ids: ids.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A start for `info` at time zero with a fixed seed and nothing recovered.
    pub fn start(info: &NodeInfo) -> Start<'_> {
        static NOTHING: std::sync::OnceLock<Recovered> = std::sync::OnceLock::new();
        Start {
            info,
            now: Time::ZERO,
            unix_ms: 0,
            seed: 7,
            recovered: NOTHING.get_or_init(Recovered::default),
        }
    }

    /// Hands `node` one request from client `c1` at `now`; returns everything it sent.
    pub fn client_request<M: Machine>(
        node: &mut M,
        now: Time,
        body: M::In,
    ) -> Vec<Outgoing<M::Out>> {
        let mut out = Outbox::new();
        let origin = Origin {
            src: "c1".into(),
            msg_id: Some(1),
        };
        let msg = Incoming {
            origin,
            in_reply_to: None,
            body,
        };
        node.on_message(now, msg, &mut out);
        out.drain().collect()
    }

    /// Runs nodes `n0..` from `from` until `until` in steps of `step`: each step runs every
    /// node's due timeout and delivers what the nodes sent to each other at once, through
    /// the wire encoding, except what `lose(src, dest)` drops. Client-bound messages are
    /// dropped. Returns the number of peer messages sent.
    pub fn exchange<M>(
        nodes: &mut [M],
        from: Time,
        until: Time,
        step: Duration,
        lose: &dyn Fn(&str, &str) -> bool,
    ) -> usize
    where
        M: Machine,
        M::Out: Serialize,
    {
        let mut sent = 0;
        let mut now = from;
        let mut out = Outbox::new();
        while now <= until {
            let mut flight = Vec::new();
            for (i, n) in nodes.iter_mut().enumerate() {
                if n.poll_timeout().is_some_and(|t| t <= now) {
                    n.on_timeout(now, &mut out);
                }
                flight.extend(out.drain().map(|m| (format!("n{i}"), m)));
            }
            while !flight.is_empty() {
                let mut next = Vec::new();
                for (src, m) in flight {
                    if !m.dest.starts_with('n') {
                        continue;
                    }
                    sent += 1;
                    if lose(&src, &m.dest) {
                        continue;
                    }
                    let Ok(to) = m.dest[1..].parse::<usize>() else {
                        continue;
                    };
                    let Ok(msg) = deliver_as::<_, M::In>(&src, &m) else {
                        panic!("a peer message did not decode: {m:?}", m = m.dest)
                    };
                    nodes[to].on_message(now, msg, &mut out);
                    next.extend(out.drain().map(|o| (m.dest.to_string(), o)));
                }
                flight = next;
            }
            now += step;
        }
        sent
    }
}
