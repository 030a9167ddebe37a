//! Raft node programs (sans-IO): the core crate's [`glomers_raft::Raft`] on the node
//! contract, serving a replicated state machine ([`Service`]): `lin-kv` ([`kv`]) and
//! `txn-list-append` ([`list_append`]). `docs/raft.md` and `docs/txn-list-append.md`
//! explain the design and why it is safe; in short:
//!
//! - **Rounds.** The leader sends each peer at most one Maelstrom message per round
//!   ([`RaftConfig::round`]): Raft's messages to a peer are kept and sent together. What
//!   clients sent during a round becomes one log entry (a batch of commands) and one
//!   ReadIndex read; a follower answers each message at once. So the server messages per
//!   second are about `2·(N−1)/round`, whatever the load.
//! - **Reads** are served by the leader from its state once a majority answered a round
//!   started after the read arrived (ReadIndex, no clock lease); commands when their entry
//!   is applied. A proposal whose index another leader's entry took is answered error 11:
//!   it can no longer happen.
//! - **Forwarding.** A follower that heard from its leader within [`RaftConfig::fresh`]
//!   forwards a client's request on the client's behalf ([`glomers_node::Outbox::forward`]),
//!   with the time it has left; the leader answers the client itself. With no reachable
//!   leader it holds the request for up to [`RaftConfig::hold`], then answers 11; a
//!   forwarded request at a node that does not lead is answered 11. A leader that has not
//!   heard from a majority within `fresh` answers 11 at once.
//! - **Answers in time.** Every request has a budget from its arrival: when it runs out
//!   the node answers (11, or for a command that may still commit, an indefinite timeout),
//!   and after a little slack it answers nothing: a reply to a client that gave up would
//!   be refused, and Maelstrom stops reading a node whose line it refuses. Requests read
//!   right after a stall (a pause) may be older than their client's patience and are not
//!   answered ([`clock`]).
//! - **Compaction.** Every [`RaftConfig::compact_every`] applied entries the node hands
//!   Raft its service's state ([`Service::snapshot`]) in place of the log up to there; a
//!   follower that needs entries its leader compacted gets the snapshot and restores it
//!   ([`Service::restore`]). So the log, in memory and on disk, stays about that long.
//! - **Durability.** Raft's term, vote, snapshot and log are written through the node
//!   contract's durable writes in the same call ([`storage`]), so the driver makes them
//!   durable before any message that depends on them leaves, and a restarted node recovers
//!   them. Without a data directory (Maelstrom's wiping kill) a restarted node is empty,
//!   and Raft is not safe: see `docs/raft.md`.
//! - **Invariants.** [`invariants::RaftInvariants`] checks election safety, log matching,
//!   leader completeness and state-machine safety over all nodes after every step of the
//!   harness's simulator.

pub mod args;
pub mod clock;
pub mod config;
pub mod invariants;
pub mod kv;
pub mod links;
pub mod list_append;
pub mod machine;
pub mod node;
pub mod service;
pub mod storage;
pub mod waiters;
pub mod wire;

pub use config::RaftConfig;
pub use machine::RaftMachine;
pub use service::{Inbound, Request, Service};

/// The `lin-kv` node.
pub type LinKvMachine = RaftMachine<kv::KvStore>;

/// The `txn-list-append` node.
pub type ListAppendMachine = RaftMachine<list_append::ListStore>;

#[cfg(test)]
mod tests;
