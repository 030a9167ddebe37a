//! glomers-raft: Raft consensus as a `no_std`, sans-IO state machine.
//!
//! One [`Raft`] value is one node. It never reads a clock, sleeps, draws randomness of its
//! own or does I/O: the caller hands it the time (`now`, a [`glomers_node::Time`]) with every
//! call, owns the randomness (an [`rand_core::RngCore`] given at construction, seeded for
//! a deterministic simulation), stores the persistent state through its own [`Storage`],
//! and receives [`Output`]s through an [`Outbox`]. The shape follows raft-rs's
//! `RawNode`/`Ready` and quinn-proto's `poll_timeout`:
//!
//! ```text
//!   message from a peer ──► step(now, from, msg, out)      ┐
//!   the deadline passed ──► tick(now, out)                 │ outputs pushed to `out`:
//!   a client's write    ──► propose(now, command, out)     │ Send / Apply / ReadReady /
//!   a client's read     ──► read(now, id, out)             ┘ ReadFailed
//!                            poll_timeout() ──► next deadline to call tick at
//! ```
//!
//! After each call: make the storage writes of the call durable, then release its outputs
//! (send the messages, apply the entries, answer the reads). See [`storage`] for why each
//! output waits for durability.
//!
//! A node binary keeps, per client write, the [`Proposed`] `(index, term)` it got, and
//! answers the client when [`Output::Apply`] reaches that index: success if the applied
//! entry has that term, failure (the entry was replaced after a change of leader)
//! otherwise. Requests at a follower get [`Error::NotLeader`] with the leader to forward to.
//!
//! ```
//! use glomers_node::Time;
//! use glomers_raft::{Config, MemStorage, Output, Payload, Raft, Role};
//! use rand::{rngs::SmallRng, SeedableRng};
//!
//! // A cluster of one: it elects itself at its first election timeout.
//! let rng = SmallRng::seed_from_u64(7);
//! let mut node: Raft<String, _, _> =
//!     Raft::new(1, &[1], Config::default(), MemStorage::new(), rng, Time::ZERO).unwrap();
//! let mut out = Vec::new();
//! let deadline = node.poll_timeout();
//! node.tick(deadline, &mut out).unwrap();
//! assert_eq!(node.role(), Role::Leader);
//!
//! let proposed = node.propose(deadline, "x=1".to_string(), &mut out).unwrap();
//! node.read(deadline, 99, &mut out).unwrap();
//! // (Here: sync the storage, then act on `out` in order.)
//! let applied: Vec<_> = out
//!     .iter()
//!     .filter_map(|o| match o {
//!         Output::Apply(e) => Some((e.index, e.term, e.payload.clone())),
//!         _ => None,
//!     })
//!     .collect();
//! assert_eq!(applied[0].2, Payload::Noop);
//! assert_eq!(applied[1], (proposed.index, proposed.term, Payload::Command("x=1".into())));
//! assert_eq!(out.last(), Some(&Output::ReadReady { id: 99 }));
//! ```
//!
//! # Parts and why they are safe
//!
//! - **Election** ([`Role`], module `election`): randomized election timeouts, a pre-vote
//!   round before every real election, one durable vote per term, the up-to-date-log check.
//!   Safe because a winner needs a majority of votes, a node votes once per term (so at most
//!   one leader per term), and every committed entry is on a majority that includes a voter
//!   of the winner, who refuses a candidate whose log ends earlier (so every leader holds all
//!   committed entries). Pre-vote only ever *withholds* elections; it protects a healthy
//!   leader from a returning partitioned node.
//! - **Replication** (module `replication`): appends checked by `(prev_index, prev_term)`,
//!   logs cut only at a real conflict, rejections that carry a conflict term and index so
//!   the leader backs up a term at a time, commit only of current-term entries held by a
//!   majority, a no-op at the start of each term. Safe because of log matching (an accepted
//!   append proves the whole prefix equal) and because an entry of the leader's own term on a
//!   majority can never be overwritten: every later leader must hold it.
//! - **Flow control** (module `progress`): per follower, one append in flight while probing
//!   for the match point, then up to [`Config::window`] pipelined appends of at most
//!   [`Config::max_batch`] entries; an append unanswered for [`Config::retransmit_timeout`]
//!   counts as lost and the follower is probed again. Acknowledgements only raise the match
//!   index, so duplicates and reordering are harmless; losses only delay.
//! - **Reads** (module `read`): ReadIndex. A read gets the commit index (once the leader's
//!   no-op is committed), a fresh heartbeat round must be answered by a majority, and the
//!   read is released once that index is applied. No clock lease: safety never depends on
//!   time, so clock faults and pauses can only delay.
//! - **Leader hints**: [`Raft::leader`] and [`Error::NotLeader`] name the current term's
//!   leader so a follower can forward a request or redirect the client.
//! - **Check-quorum**: a leader that has not heard from a majority for the longest election
//!   timeout steps down (its pending reads fail), so a minority leader stops taking writes.
//!
//! Duplicated, reordered, delayed and lost messages are safe: every message carries its
//! term, stale terms are answered or dropped, votes are idempotent per term, appends are
//! idempotent (an entry already held is skipped), and responses only move the leader's
//! bookkeeping forward or back to a probe.
//!
//! # Bounded memory
//!
//! Nothing here allocates: `Raft` holds fixed-capacity structures only, and the crate
//! builds without `alloc`. Bounds and what happens at each:
//!
//! | what | bound | when full |
//! |---|---|---|
//! | members | [`MAX_NODES`] | [`Raft::new`] refuses ([`ConfigError::Members`]) |
//! | entries per append | [`Config::max_batch`] ≤ [`MAX_APPEND_ENTRIES`] (in the type) | the rest go in the next append; a longer list fails to deserialize |
//! | appends in flight per follower | [`Config::window`] ≤ [`MAX_WINDOW`] | the leader waits for an answer, a heartbeat or the retransmit timeout |
//! | uncommitted entries on the leader | [`Config::max_uncommitted`] | [`Raft::propose`] refuses with [`Error::ProposalsFull`] |
//! | pending reads | [`Config::max_pending_reads`] ≤ [`MAX_READS`] | [`Raft::read`] refuses with [`Error::ReadsFull`] |
//! | entries applied per call | [`Config::max_apply_batch`] | the rest on the next [`Raft::tick`], due at once |
//! | outputs of one call | one message per peer per event, plus the applies above | the caller's [`Outbox`] (it owns that memory) |
//!
//! The log itself lives in the caller's [`Storage`]; there is no snapshotting, so it grows
//! with the number of committed commands. With `alloc`, [`MemStorage`] keeps it in a `Vec`,
//! and [`check::History`] remembers what the invariant checks need.
//!
//! # Invariants as a library
//!
//! [`check`] checks election safety, log matching, leader completeness and state-machine
//! safety over the states of a cluster, returning a typed [`check::Violation`]. The
//! crate's own tests drive clusters through random schedules of delivery, loss,
//! duplication, reordering, crashes and partitions and call it after every step; a
//! deliberately broken vote rule is caught there.
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod check;
mod config;
mod election;
mod error;
mod message;
mod output;
mod progress;
mod raft;
mod read;
mod replication;
pub mod storage;

pub use config::{Config, ConfigError, MAX_NODES, MAX_READS, MAX_WINDOW};
pub use error::Error;
pub use message::{
    Append, AppendResponse, AppendResult, Entry, Message, NodeId, Payload, VoteRequest,
    VoteResponse, MAX_APPEND_ENTRIES,
};
pub use output::{Outbox, Output};
pub use raft::{Proposed, Raft, Role};
#[cfg(feature = "alloc")]
pub use storage::MemStorage;
pub use storage::{HardState, Storage};

#[cfg(test)]
mod tests;
