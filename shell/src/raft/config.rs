//! [`RaftConfig`]: the timings and bounds of a Raft node program.

use core::time::Duration;

/// Timings and bounds of a [`super::RaftMachine`]; see the module documentation of
/// [`super`] for what each trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftConfig {
    /// The leader's round: it sends each peer at most one message per round (heartbeat,
    /// entries and read confirmations together) and proposes what its clients sent during
    /// the round as one log entry. Also Raft's heartbeat interval.
    pub round: Duration,
    /// Shortest election timeout (the longest is twice this). More than `round`.
    pub election: Duration,
    /// Time to answer a request, from its arrival: a request not done by then is answered
    /// with an error (a timeout, indefinite, for a command that may still commit).
    pub budget: Duration,
    /// After `budget` plus this, a request is never answered (its client is gone).
    pub slack: Duration,
    /// Longest a follower holds a request while it knows no reachable leader.
    pub hold: Duration,
    /// A peer heard from this recently is reachable: a follower forwards only to a leader
    /// it heard from within it, and a leader takes requests only while a majority is.
    pub fresh: Duration,
    /// Most requests a node holds at once; beyond it, error 11.
    pub max_waiters: usize,
    /// Most Raft messages kept for one peer between two flushes; beyond it, a flush.
    pub max_buffered: usize,
    /// Entries applied since the last snapshot after which the node snapshots its state
    /// and compacts the log (so the log in memory and on disk stays about this long).
    pub compact_every: u64,
    /// A deliberately broken Raft rule, for the tests that show it caught. Never set
    /// outside them.
    #[cfg(feature = "broken-raft")]
    pub fault: glomers_raft::Fault,
}

impl Default for RaftConfig {
    /// The lin-kv program's defaults (see [`super::kv`]).
    fn default() -> Self {
        let round = Duration::from_millis(250);
        RaftConfig {
            round,
            election: Duration::from_millis(600),
            budget: Duration::from_millis(400),
            slack: Duration::from_millis(80),
            hold: Duration::from_millis(300),
            fresh: round * 2,
            max_waiters: 4096,
            max_buffered: 256,
            compact_every: 1024,
            #[cfg(feature = "broken-raft")]
            fault: glomers_raft::Fault::None,
        }
    }
}

impl RaftConfig {
    /// How long what a node heard counts in the reports that steer relaying (see
    /// [`super::wire::PeerBatch`]): the longest election timeout, so that the reports
    /// carried by election traffic alone, while there is no leader, still meet.
    pub fn reach(&self) -> Duration {
        self.election * 2
    }

    /// The settings of the Raft core: heartbeat every round, election timeouts in
    /// `[election, 2·election)`, appends counted lost after three rounds (an append may
    /// wait a round in the leader's buffer before it leaves).
    pub fn core(&self) -> glomers_raft::Config {
        glomers_raft::Config {
            election_timeout_min: self.election,
            election_timeout_max: self.election * 2,
            heartbeat_interval: self.round,
            retransmit_timeout: self.round * 3,
            ..glomers_raft::Config::default()
        }
    }
}
