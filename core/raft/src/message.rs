//! The wire types: log entries and the seven Raft messages.
//!
//! Plain data with serde derives, generic over the command type `C`; the node binary puts
//! them in a Maelstrom body as JSON. `D` is the application's snapshot data, carried whole
//! by [`InstallSnapshot`]. An [`Append`] carries at most [`MAX_APPEND_ENTRIES`]
//! entries in a fixed-capacity vector, so a message's size is bounded by the type itself and
//! a longer list fails to deserialize instead of growing a buffer.

use serde::{Deserialize, Serialize};

use crate::storage::Snapshot;

/// A node's name within its cluster: the node binary maps Maelstrom's `"n3"` to and from it.
pub type NodeId = u16;

/// Most entries one [`Append`] carries (also the ceiling of [`Config::max_batch`]).
///
/// [`Config::max_batch`]: crate::Config::max_batch
pub const MAX_APPEND_ENTRIES: usize = 32;

/// What a log entry holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload<C> {
    /// The empty entry a new leader appends at the start of its term; it lets the leader
    /// commit (and so learn the commit point) without waiting for a client.
    Noop,
    /// A client's command.
    Command(C),
}

/// One log entry. Indexes start at 1; index 0 is the empty prefix of every log, of term 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry<C> {
    /// The term of the leader that created the entry.
    pub term: u64,
    /// Its position in the log.
    pub index: u64,
    /// What it holds.
    pub payload: Payload<C>,
}

/// A request for a (pre-)vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteRequest {
    /// The candidate's term; for a pre-vote, the term it would campaign in.
    pub term: u64,
    /// Index of the candidate's last entry.
    pub last_index: u64,
    /// Term of the candidate's last entry.
    pub last_term: u64,
}

/// The answer to a [`VoteRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteResponse {
    /// The request's term when granted; otherwise the voter's own term (so that a candidate
    /// that is behind learns the newer term).
    pub term: u64,
    /// Whether the (pre-)vote was granted.
    pub granted: bool,
}

/// The leader's AppendEntries: new entries, or none (a heartbeat).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Append<C> {
    /// The leader's term.
    pub term: u64,
    /// Index of the entry just before `entries` (the consistency check).
    pub prev_index: u64,
    /// Term of that entry.
    pub prev_term: u64,
    /// Entries `prev_index + 1 ..`, in order.
    pub entries: heapless::Vec<Entry<C>, MAX_APPEND_ENTRIES>,
    /// The leader's commit index.
    pub commit: u64,
    /// The leader's heartbeat round when sent, echoed back to confirm reads.
    pub round: u64,
}

/// The outcome of an [`Append`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppendResult {
    /// The follower's log matches the leader's up to `match_index` (`prev_index` plus the
    /// entries carried).
    Accepted {
        /// Last index known to match.
        match_index: u64,
    },
    /// The consistency check failed at `prev_index`; the hint says where to retry.
    Rejected {
        /// The rejected message's `prev_index` (lets the leader discard stale rejections).
        prev_index: u64,
        /// With `hint_term`: the follower's first index of that term; without: one past the
        /// follower's last index.
        hint_index: u64,
        /// The term the follower holds at `prev_index`, when it has an entry there.
        hint_term: Option<u64>,
    },
}

/// The answer to an [`Append`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResponse {
    /// The follower's term.
    pub term: u64,
    /// The round of the answered [`Append`].
    pub round: u64,
    /// Accepted or rejected.
    pub result: AppendResult,
}

/// The leader's InstallSnapshot: its snapshot, for a follower that needs entries the
/// leader no longer holds. One message carries it whole. The follower answers with an
/// [`AppendResponse`] accepting up to `snapshot.index`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshot<D> {
    /// The leader's term.
    pub term: u64,
    /// The snapshot: its last index, its term and the application's state.
    pub snapshot: Snapshot<D>,
    /// The leader's heartbeat round when sent, echoed back to confirm reads.
    pub round: u64,
}

/// Every message one Raft node sends another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Message<C, D> {
    /// "Would you vote for me if I campaigned?" Changes no one's term or vote.
    PreVote(VoteRequest),
    /// The answer to a pre-vote.
    PreVoteResponse(VoteResponse),
    /// RequestVote.
    Vote(VoteRequest),
    /// The answer to a vote request.
    VoteResponse(VoteResponse),
    /// AppendEntries.
    Append(Append<C>),
    /// The answer to an append (or to an [`InstallSnapshot`]).
    AppendResponse(AppendResponse),
    /// InstallSnapshot.
    Snapshot(InstallSnapshot<D>),
}

impl<C, D> Message<C, D> {
    /// The term the message carries.
    pub fn term(&self) -> u64 {
        match self {
            Message::PreVote(m) | Message::Vote(m) => m.term,
            Message::PreVoteResponse(m) | Message::VoteResponse(m) => m.term,
            Message::Append(m) => m.term,
            Message::AppendResponse(m) => m.term,
            Message::Snapshot(m) => m.term,
        }
    }
}
