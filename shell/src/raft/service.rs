//! [`Service`]: what a program puts on Raft: its messages, its reads and its commands.

use std::fmt::Debug;

use glomers_node::ErrorBody;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::wire::{Forwarded, PeerBatch};

/// A client's request, as the node runs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Request<R, C> {
    /// Served from the leader's state once a ReadIndex round confirms it (no log entry).
    Read(R),
    /// Goes through the log; answered when its entry is applied.
    Command(C),
}

/// What a decoded body is.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound<R, C, D> {
    /// A client's request; `forwarded` when another node forwarded it.
    Client {
        /// The request.
        request: Request<R, C>,
        /// Set when forwarded: the time left to answer it, and the hops so far.
        forwarded: Option<Forwarded>,
    },
    /// Raft messages from a peer.
    Peer(PeerBatch<C, D>),
}

/// A replicated state machine that [`super::RaftMachine`] runs on Raft.
///
/// Every node applies the same commands in log order, so every node's state is the same
/// at each index; only the leader answers clients, with what its own application returned.
pub trait Service: Default + 'static {
    /// Every body the node accepts (client requests and the peer batch), tagged by `type`.
    type In: DeserializeOwned + 'static;
    /// A read-only request.
    type Read: Clone + Debug + 'static;
    /// One command of the log.
    type Command: Clone + PartialEq + Debug + Serialize + DeserializeOwned + 'static;
    /// A reply body.
    type Reply: Serialize + 'static;
    /// The body of a forwarded request: the client's request with the milliseconds left.
    type Forward: Serialize + 'static;
    /// The whole state, as a snapshot carries it (on disk and to a follower that needs
    /// entries the leader compacted). A malformed one fails to parse with its message.
    type Snapshot: Clone + PartialEq + Debug + Serialize + DeserializeOwned + 'static;

    /// What `body` is.
    fn inbound(body: Self::In) -> Inbound<Self::Read, Self::Command, Self::Snapshot>;
    /// The body that forwards `request`.
    fn forward(request: &Request<Self::Read, Self::Command>, forwarded: Forwarded)
        -> Self::Forward;
    /// Serves a read from the current state.
    fn read(&self, read: &Self::Read) -> Result<Self::Reply, ErrorBody>;
    /// Applies a command: the reply, or the (definite) error it ends in.
    fn apply(&mut self, command: &Self::Command) -> Result<Self::Reply, ErrorBody>;
    /// The whole state, after the commands applied so far.
    fn snapshot(&self) -> Self::Snapshot;
    /// The state a snapshot holds.
    fn restore(snapshot: Self::Snapshot) -> Self;
}
