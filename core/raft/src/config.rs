//! Timing and capacity settings, checked once at construction.

use core::time::Duration;

use crate::message::MAX_APPEND_ENTRIES;

/// Most members of one cluster.
pub const MAX_NODES: usize = 16;
/// Ceiling of [`Config::window`].
pub const MAX_WINDOW: usize = 16;
/// Ceiling of [`Config::max_pending_reads`].
pub const MAX_READS: usize = 256;

/// Settings of one node; every member of a cluster should use the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Shortest election timeout: a follower that has heard nothing from a leader for a
    /// random span in `[election_timeout_min, election_timeout_max)` starts a pre-vote. It
    /// is also the span after hearing from a leader during which a node refuses pre-votes.
    pub election_timeout_min: Duration,
    /// Longest election timeout (exclusive); also how long a leader keeps leading without
    /// hearing from a majority before it steps down (check-quorum).
    pub election_timeout_max: Duration,
    /// How often a leader sends heartbeats (and retries replication).
    pub heartbeat_interval: Duration,
    /// An append unanswered this long is taken as lost: the follower is probed again from
    /// its last acknowledged index.
    pub retransmit_timeout: Duration,
    /// Most entries per [`Append`](crate::Append) (at most [`MAX_APPEND_ENTRIES`]).
    pub max_batch: usize,
    /// Most appends in flight to one follower once its log is known to match (at most
    /// [`MAX_WINDOW`]); while probing for the match point, one.
    pub window: usize,
    /// Most entries a leader holds beyond its commit index; past it, proposals are refused.
    pub max_uncommitted: u64,
    /// Most reads a leader holds unconfirmed or unapplied (at most [`MAX_READS`]); past it,
    /// reads are refused.
    pub max_pending_reads: usize,
    /// Most entries applied in one call; a backlog makes the next deadline "now".
    pub max_apply_batch: usize,
}

impl Default for Config {
    /// Timings for a LAN-like network of a few milliseconds per hop (Maelstrom's default).
    fn default() -> Self {
        Config {
            election_timeout_min: Duration::from_millis(300),
            election_timeout_max: Duration::from_millis(600),
            heartbeat_interval: Duration::from_millis(50),
            retransmit_timeout: Duration::from_millis(200),
            max_batch: MAX_APPEND_ENTRIES,
            window: 4,
            max_uncommitted: 1024,
            max_pending_reads: 128,
            max_apply_batch: 256,
        }
    }
}

/// Why a [`Config`] or a membership list was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The election timeout range is empty, or not longer than the heartbeat interval.
    #[error("election timeouts must satisfy heartbeat < min < max")]
    Timeouts,
    /// A count is zero or above its ceiling.
    #[error("{what} must be in 1..={max}")]
    Limit {
        /// Which setting.
        what: &'static str,
        /// Its ceiling.
        max: usize,
    },
    /// The members are empty, too many, repeated, or do not include the node itself.
    #[error("members must be 1..={MAX_NODES} distinct ids including this node")]
    Members,
}

impl Config {
    /// Checks the settings against each other and their ceilings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.heartbeat_interval < self.election_timeout_min
            && self.election_timeout_min < self.election_timeout_max)
        {
            return Err(ConfigError::Timeouts);
        }
        let limits = [
            ("max_batch", self.max_batch, MAX_APPEND_ENTRIES),
            ("window", self.window, MAX_WINDOW),
            ("max_pending_reads", self.max_pending_reads, MAX_READS),
            ("max_apply_batch", self.max_apply_batch, usize::MAX),
            (
                "max_uncommitted",
                usize::try_from(self.max_uncommitted).unwrap_or(usize::MAX),
                usize::MAX,
            ),
        ];
        for (what, value, max) in limits {
            if value == 0 || value > max {
                return Err(ConfigError::Limit { what, max });
            }
        }
        Ok(())
    }
}
