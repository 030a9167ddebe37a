//! The command lines of the Raft programs (`lin-kv`, `txn-list-append`): each flag also
//! reads an environment variable, and each program has its own defaults.

use core::time::Duration;

use clap::Parser;

use super::config::RaftConfig;

/// Flags of a Raft node program; an absent flag keeps the program's default.
#[derive(Debug, Parser)]
#[command(version, about = "A Raft node (see glomers_shell::raft)")]
pub struct RaftArgs {
    /// The leader's round in ms: at most one message per peer per round.
    #[arg(long, env = "GLOMERS_RAFT_ROUND_MS", value_parser = clap::value_parser!(u64).range(1..))]
    round_ms: Option<u64>,
    /// Shortest election timeout in ms (the longest is twice this); above the round.
    #[arg(long, env = "GLOMERS_RAFT_ELECTION_MS", value_parser = clap::value_parser!(u64).range(1..))]
    election_ms: Option<u64>,
    /// Time to answer a request in ms, from its arrival.
    #[arg(long, env = "GLOMERS_RAFT_BUDGET_MS", value_parser = clap::value_parser!(u64).range(1..))]
    budget_ms: Option<u64>,
    /// Longest a follower holds a request while it knows no reachable leader, in ms.
    #[arg(long, env = "GLOMERS_RAFT_HOLD_MS")]
    hold_ms: Option<u64>,
    /// Entries applied since the last snapshot after which the node snapshots its state
    /// and compacts its log.
    #[arg(long, env = "GLOMERS_RAFT_COMPACT_EVERY", value_parser = clap::value_parser!(u64).range(1..))]
    compact_every: Option<u64>,
    /// Deliberately broken Raft, for the tests that show the invariant checks catch it.
    /// Built only into test builds (feature `broken-raft`); never use it.
    #[cfg(feature = "broken-raft")]
    #[arg(long, value_enum)]
    broken: Option<Broken>,
}

/// The broken rules a test build offers (`--broken`).
#[cfg(feature = "broken-raft")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Broken {
    /// Grant votes without the up-to-date-log check.
    VoteIgnoresLog,
    /// Commit an older term's entry by counting replicas.
    CommitsOldTerm,
    /// Release reads without a quorum round, and never doubt leadership (no check-quorum
    /// step-down, no refusal for want of a majority heard from).
    ReadsWithoutQuorum,
}

/// Why the flags were refused.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// Clap's own error (unknown flag, bad number, `--help`).
    #[error(transparent)]
    Clap(#[from] clap::Error),
    /// The election timeout must exceed the round.
    #[error("--election-ms ({election} ms) must exceed --round-ms ({round} ms)")]
    Timeouts {
        /// The round.
        round: u64,
        /// The election timeout.
        election: u64,
    },
}

impl RaftArgs {
    /// `defaults` with every flag given in `argv` (program name first) applied.
    pub fn config(
        argv: impl IntoIterator<Item = String>,
        defaults: RaftConfig,
    ) -> Result<RaftConfig, ArgsError> {
        let args = RaftArgs::try_parse_from(argv)?;
        let ms = Duration::from_millis;
        let mut c = defaults;
        if let Some(r) = args.round_ms {
            c.round = ms(r);
            c.fresh = ms(r) * 2;
        }
        c.election = args.election_ms.map_or(c.election, ms);
        c.budget = args.budget_ms.map_or(c.budget, ms);
        c.hold = args.hold_ms.map_or(c.hold, ms);
        c.compact_every = args.compact_every.unwrap_or(c.compact_every);
        if c.election <= c.round {
            return Err(ArgsError::Timeouts {
                round: c.round.as_millis() as u64,
                election: c.election.as_millis() as u64,
            });
        }
        #[cfg(feature = "broken-raft")]
        if let Some(b) = args.broken {
            c.fault = match b {
                Broken::VoteIgnoresLog => glomers_raft::Fault::VoteIgnoresLog,
                Broken::CommitsOldTerm => glomers_raft::Fault::CommitsOldTerm,
                Broken::ReadsWithoutQuorum => glomers_raft::Fault::ReadsWithoutQuorum,
            };
        }
        Ok(c)
    }
}

/// The `lin-kv` program's defaults: a 250 ms round (about 16 server messages a second on
/// 3 nodes, whatever the load), a 400 ms budget (the workload's client waits 1 s).
pub fn lin_kv_defaults() -> RaftConfig {
    RaftConfig::default()
}

/// The `txn-list-append` program's defaults: a 50 ms round and quicker elections (its
/// clients wait for each answer before the next request, so a round is a transaction's
/// latency), and a 2 s budget (its client waits 5 s).
pub fn list_append_defaults() -> RaftConfig {
    let round = Duration::from_millis(50);
    RaftConfig {
        round,
        election: Duration::from_millis(250),
        budget: Duration::from_secs(2),
        slack: Duration::from_millis(500),
        hold: Duration::from_secs(1),
        fresh: round * 2,
        ..RaftConfig::default()
    }
}
