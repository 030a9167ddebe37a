//! Errors of the calls on [`Raft`](crate::Raft).

use crate::config::ConfigError;
use crate::message::NodeId;

/// Why a call on [`Raft`](crate::Raft) did not do what was asked. `E` is the storage's error.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error<E> {
    /// Only the leader takes proposals and reads; `leader` is the one this node knows of
    /// in its current term, to forward to or redirect the client to.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The current term's leader, if known.
        leader: Option<NodeId>,
    },
    /// The leader holds [`Config::max_uncommitted`](crate::Config::max_uncommitted)
    /// entries beyond its commit index (a majority is slow or unreachable).
    #[error("too many uncommitted entries (at most {limit})")]
    ProposalsFull {
        /// The configured ceiling.
        limit: u64,
    },
    /// The leader holds [`Config::max_pending_reads`](crate::Config::max_pending_reads)
    /// reads.
    #[error("too many pending reads (at most {limit})")]
    ReadsFull {
        /// The configured ceiling.
        limit: usize,
    },
    /// A leader asked to replace an entry this node knows is committed. Raft never does
    /// this; the message is refused and nothing changes.
    #[error("append would overwrite committed entry {index}")]
    CommittedConflict {
        /// The committed index the append contradicted.
        index: u64,
    },
    /// The log read back is not what was written (an entry missing below the last index).
    #[error("storage lost entry {index}")]
    MissingEntry {
        /// The unreadable index.
        index: u64,
    },
    /// The application asked to compact past what it applied: a snapshot covers applied
    /// (so committed) entries only.
    #[error("cannot compact to {index}: only {applied} applied")]
    CompactBeyondApplied {
        /// The index asked for.
        index: u64,
        /// The applied index.
        applied: u64,
    },
    /// The settings or members were refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The storage failed; drop this instance and restart from storage.
    #[error("storage failed: {0}")]
    Storage(E),
}
