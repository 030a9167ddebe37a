//! One run of `glomers test`: the [`crate::world::World`] driven by node processes on the
//! wall clock ([`process`]) or by glomers' own nodes in-process on virtual time ([`sim`]).
//!
//! Life cycle as Maelstrom's (reference 1, see `crate::world`); the drivers add what only
//! they can do: starting, killing, pausing and resuming node processes (every process is
//! killed on every exit path), or hosting the nodes and their clocks; measuring wall and
//! CPU time.

pub mod process;
pub mod sim;
mod sim_clock;
mod sim_logs;

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::cli::{Mode, TestConfig};
use crate::history::History;
use crate::sim::net::NetStats;
pub use crate::world::NodeProblem;

/// The prefix of a node log line read (or written) at `t`: `[`, seconds since the start of
/// the run (at least four digits wide, space-padded), `.`, six digits of microseconds, `] `,
/// e.g. `[   2.041337] `. The clock is the one of `history.jsonl` and `messages.jsonl`, so
/// log lines can be placed on the run's timeline.
pub fn log_stamp(t: glomers_node::Time) -> String {
    let since = t.since_epoch();
    format!("[{:>4}.{:06}] ", since.as_secs(), since.subsec_micros())
}

/// How long a node has to answer `init` by default (Maelstrom's).
pub const INIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a run could not be carried out (exit status 255).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The binary could not be started.
    #[error("could not start {bin} for {node}: {source}")]
    Spawn {
        /// The binary.
        bin: PathBuf,
        /// The node.
        node: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// No `init_ok` in time, or a wrong reply.
    #[error("node {node} did not initialise: {why}")]
    Init {
        /// The node.
        node: String,
        /// What happened.
        why: String,
    },
    /// Broadcast's `topology` was not acknowledged.
    #[error("node {node} did not acknowledge topology: {why}")]
    Setup {
        /// The node.
        node: String,
        /// What happened.
        why: String,
    },
    /// File system trouble with the run folder.
    #[error("run folder {path}: {source}")]
    Store {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A setting the network model refused.
    #[error("configuration: {0}")]
    Config(String),
    /// Interrupted (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    /// A hosted program's invariant broke (simulator only): the run is invalid.
    #[error("invariant violated: {0}")]
    Invariant(String),
}

/// Everything a finished run produced.
pub struct RunOutput {
    /// The history.
    pub history: History,
    /// Network counts.
    pub net: NetStats,
    /// Node output and crash problems.
    pub problems: Vec<NodeProblem>,
    /// Wall-clock seconds of the run.
    pub wall_secs: f64,
    /// CPU seconds the harness process spent during the run (None if unmeasurable).
    pub cpu_secs: Option<f64>,
    /// Each node's memory over its lives, in node order: node processes only (`None` in
    /// the simulator, whose nodes share its process).
    pub node_memory: Option<Vec<crate::node_memory::NodeMemory>>,
}

/// The harness's own cost of a run: wall-clock and process CPU time from its start, the
/// same measure in both modes.
pub(crate) struct Stopwatch {
    wall: std::time::Instant,
    cpu_at_start: Option<f64>,
}

impl Stopwatch {
    /// Starts measuring now.
    pub(crate) fn start() -> Self {
        Stopwatch {
            wall: std::time::Instant::now(),
            cpu_at_start: crate::report::process_cpu_secs(),
        }
    }

    /// The run's output: what the world produced and what the run cost until now.
    pub(crate) fn finish(self, outcome: crate::world::Outcome) -> RunOutput {
        RunOutput {
            history: outcome.history,
            net: outcome.net,
            problems: outcome.problems,
            wall_secs: self.wall.elapsed().as_secs_f64(),
            cpu_secs: crate::report::process_cpu_secs()
                .zip(self.cpu_at_start)
                .map(|(end, start)| end - start),
            node_memory: None,
        }
    }
}

/// Derives an independent RNG stream for `purpose` from the run's seed.
pub fn stream(seed: u64, purpose: u64) -> StdRng {
    // SplitMix-style mixing so that nearby seeds and purposes give unrelated streams.
    let mut z = seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476C_E5B9_E1D5);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

/// Creates the run's message log, `messages.jsonl` in `run_dir`.
pub fn message_log(run_dir: &std::path::Path) -> Result<crate::journal::MessageLog, RunError> {
    let path = run_dir.join(crate::journal::FILE);
    crate::journal::MessageLog::create(&path).map_err(|source| RunError::Store { path, source })
}

/// Runs the test described by `cfg`, on node processes or in the simulator as `cfg.mode`
/// says, writing node logs into `run_dir/node-logs`.
pub async fn run(cfg: &TestConfig, run_dir: &std::path::Path) -> Result<RunOutput, RunError> {
    match cfg.mode {
        Mode::Process => process::run(cfg, run_dir).await,
        Mode::Sim => sim::run(cfg, run_dir),
    }
}

#[cfg(test)]
mod tests {
    use glomers_node::Time;

    #[test]
    fn log_stamp_is_seconds_and_microseconds() {
        assert_eq!(
            super::log_stamp(Time::from_nanos(2_041_337_999)),
            "[   2.041337] "
        );
        assert_eq!(super::log_stamp(Time::from_secs(12_345)), "[12345.000000] ");
    }
}
