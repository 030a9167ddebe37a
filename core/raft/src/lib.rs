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
//!   a client's read     ──► read(now, id, out)             ┘ ReadFailed / Restore
//!                            poll_timeout() ──► next deadline to call tick at
//!   a snapshot of what
//!   was applied         ──► compact(index, data)
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
//!     Raft::new(1, &[1], Config::default(), MemStorage::<String>::new(), rng, Time::ZERO).unwrap();
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
//! # Election
//!
//! A follower that hears nothing from a leader for a random election timeout (uniform in
//! [`Config::election_timeout_min`]..[`Config::election_timeout_max`], drawn from the
//! caller's generator) first runs a *pre-vote*: it asks every peer whether it would grant a
//! vote in the next term, changing no one's term. A peer says yes only if the candidate's log
//! is at least as up to date as its own and it has not heard from a leader within the
//! minimum election timeout. Only with a majority of yeses does the node raise its term,
//! vote for itself and ask for real votes. So a node cut off by a partition, whose timeouts
//! fire again and again, neither inflates its term nor deposes a healthy leader when it
//! returns. Pre-vote only ever withholds elections, so it cannot cost safety.
//!
//! A real vote is granted at most once per term, saved before the answer leaves, and only to
//! a candidate whose last entry has a higher term, or the same term and an index at least as
//! high (the up-to-date check). *Election safety*: a winner needs a majority, and a node
//! votes once per term, so a term has at most one leader. *Leader completeness*: every
//! committed entry is on a majority, any two majorities meet, and the voter they share
//! refuses a candidate whose log ends earlier than its own; so a winner holds every
//! committed entry. Any message of a newer term makes a node a follower in that term.
//!
//! *Check-quorum*: a leader that has not heard from a majority for the longest election
//! timeout steps down (its pending reads fail), so a leader cut off in a minority stops
//! taking writes that cannot commit. [`Raft::leader`] and [`Error::NotLeader`] name the
//! current term's leader, so a follower can forward a request or redirect the client.
//!
//! # Replication
//!
//! An [`Append`] carries `(prev_index, prev_term)`; a follower accepts it only if its own
//! entry at `prev_index` has `prev_term`. Then, by induction, its log matches the leader's up
//! to `prev_index`. *Log matching*: two logs that share an entry's index and term share every
//! entry before it, because a leader creates one entry per index in its term and never
//! moves it, and every append is checked this way. The follower then adds the carried
//! entries, cutting its log only at the first entry whose term differs, never merely because
//! the message is shorter: a delayed or duplicated append never removes what a later one
//! added. The acknowledged match index is `prev_index` plus the entries carried, never the
//! follower's own last index, which may hold an old leader's entries. A follower refuses
//! (with [`Error::CommittedConflict`]) an append that would cut a committed entry.
//!
//! A rejection carries a hint ([`AppendResult::Rejected`]): the term the follower holds at
//! `prev_index` and the first index of that term (or, if its log is shorter, its length).
//! The leader resumes after its own last entry of that term, or at the hinted index if it
//! has none, so it backs up a whole term per round trip instead of one entry.
//!
//! The leader commits the highest index a majority holds, counting its own log, but only if
//! that entry is of its current term: an older-term entry held by a majority can still be
//! overwritten by a leader elected without it (figure 8 of the Raft paper); it becomes
//! committed with the first current-term entry above it. The no-op every leader appends at
//! the start of its term makes that happen without waiting for a client. A follower's commit
//! index is the leader's, capped at the match index just verified. *State-machine safety*
//! follows: a committed entry is in every later leader's log, so no node ever commits (and
//! applies) another entry at its index.
//!
//! # Flow control
//!
//! Per follower, while probing for the match point (after an election, a rejection or a
//! loss), one append is in flight. Once the follower accepts up to the probe point, the
//! leader pipelines up to [`Config::window`] appends of at most [`Config::max_batch`]
//! entries. An append unanswered for [`Config::retransmit_timeout`] counts as lost and the
//! follower is probed again from its match index, so a loss delays by at most that timeout.
//! Acknowledgements only raise the match index, so duplicates and reordering are harmless.
//! Heartbeats (every [`Config::heartbeat_interval`]) are empty appends at the follower's
//! match point, which a follower of the same term always accepts.
//!
//! # Reads
//!
//! ReadIndex, without a clock lease. A read asked of the leader starts a new heartbeat round
//! `r`, and is released ([`Output::ReadReady`]) once (1) a majority, counting the leader, has
//! answered an append of round `r` or later in the leader's term, which proves no newer
//! leader had been elected when the read arrived (it would have needed one of those voters
//! to change term first); (2) its read index is set: the leader's commit index at arrival,
//! or, if the leader had not yet committed its term's no-op, the commit index when it does
//! (before that, it may not know of entries earlier leaders committed); and (3) the leader
//! has applied up to that index. An answer to an append of an older term carries round 0 and
//! confirms nothing. A leader cut off in a minority never confirms, and fails its reads
//! ([`Output::ReadFailed`]) when it steps down.
//!
//! # Faults
//!
//! Safety never depends on time: clock jumps, pauses and slow nodes only delay. Duplicated,
//! reordered, delayed and lost messages are safe: every message carries its term, stale
//! terms are answered or dropped, votes are idempotent per term, appends are idempotent (an
//! entry already held is skipped), and answers only move the leader's bookkeeping forward
//! or back to a probe. A crash loses nothing written through [`Storage`] that was synced
//! before outputs were released; a restarted node is a follower that restores its
//! snapshot (if any) and re-applies from the entry after it as it learns the commit index.
//!
//! # Snapshots
//!
//! The application's state is opaque to the core: `D`, the storage's
//! [`Storage::Snapshot`] type, chosen like the command type. Once the application has
//! applied up to some index it may call [`Raft::compact`] with its state there; the storage
//! then keeps that [`Snapshot`] (with the index and term of the last entry it covers) in
//! place of the log up to it. Compaction never goes past the applied index
//! ([`Error::CompactBeyondApplied`]), so it drops committed entries only, and a snapshot
//! stands for exactly the entries it replaced: log matching and leader completeness keep
//! holding with the snapshot's last `(index, term)` standing for its prefix.
//!
//! A leader that must send a follower entries it compacted away sends its snapshot instead,
//! whole, in one [`InstallSnapshot`] (snapshots here are small). The follower ignores one
//! that is not newer than its commit index (it already holds those committed entries, and
//! installing an older state would move its commit index back); otherwise it keeps the
//! snapshot, drops its log up to the snapshot's index, keeps the entries after it only if
//! its log holds the snapshot's last entry (same index and term: by log matching the rest
//! then agrees too), sets its commit and applied index to the snapshot's and hands it out
//! as [`Output::Restore`]. Either way it accepts up to the snapshot's index, which moves
//! the leader's match and next index past it. A lost snapshot is sent again after the
//! retransmit timeout, like a lost append. Appends reaching behind a follower's snapshot are
//! accepted: what it compacted is committed, so it matches every leader's log.
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
//! The log itself lives in the caller's [`Storage`], from the latest snapshot on: it grows
//! with the commands applied since the application last compacted ([`Raft::compact`]), and
//! with the uncommitted entries (at most [`Config::max_uncommitted`] on a leader). With
//! `alloc`, [`MemStorage`] keeps it in a `Vec`, and [`check::History`] remembers what the
//! invariant checks need.
//!
//! # Invariants as a library
//!
//! [`check`] checks election safety, log matching, leader completeness and state-machine
//! safety over the states of a cluster, returning a typed [`check::Violation`]. The
//! crate's own tests drive clusters through random schedules of delivery, loss,
//! duplication, reordering, delay, crashes, restarts and partitions, call it after every
//! step, and then require a leader to commit within a bound of simulated time once the
//! faults stop. Deliberately broken variants, switched on only in the tests, are caught:
//! voting without the up-to-date check (under the random schedules), committing an
//! older-term entry by counting replicas (figure 8, scripted), releasing reads without
//! a quorum round (a stale read at a cut-off leader), installing a snapshot older than the
//! commit index in place of the whole log, and compacting uncommitted entries (these two
//! under the random schedules with compaction every few entries). The `broken` feature builds the same
//! switches (`Fault`, `Raft::set_fault`) for other crates' tests, so that a node
//! program's swarm can show them caught too; no real node enables it.
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
mod snapshot;
pub mod storage;

pub use config::{Config, ConfigError, MAX_NODES, MAX_READS, MAX_WINDOW};
pub use error::Error;
pub use message::{
    Append, AppendResponse, AppendResult, Entry, InstallSnapshot, Message, NodeId, Payload,
    VoteRequest, VoteResponse, MAX_APPEND_ENTRIES,
};
pub use output::{Outbox, Output};
#[cfg(any(test, feature = "broken"))]
pub use raft::Fault;
pub use raft::{Proposed, Raft, Role};
#[cfg(feature = "alloc")]
pub use storage::MemStorage;
pub use storage::{HardState, Snapshot, Storage};

#[cfg(test)]
mod tests;
