//! The kafka workload (reference 7.8): replicated append-only logs keyed by strings.
//!
//! - [`KafkaGenerator`]: Jepsen's kafka generator as Maelstrom configures it (single
//!   micro-op ops, `assign` subscriptions, client crashes): ½ `poll`, ½ `send` over a
//!   [`KeyPool`](super::txn::KeyPool), occasional `assign`s (some extended with keys
//!   that have acknowledged but not yet polled sends), `crash`es at a mean spacing of
//!   30 s per client, and a final phase in which every thread re-reads every key from the
//!   beginning until it has seen the highest offset known for each, for at most 10 s.
//! - [`KafkaClient`]: Maelstrom's kafka client: a local map of next offsets per assigned
//!   key, `poll` followed by `commit_offsets`, `assign` through `list_committed_offsets`,
//!   and errors mapped as Maelstrom's `with-errors` maps them (`assign` is idempotent).

use std::time::Duration;

mod client;
mod generator;

pub use client::KafkaClient;
pub use generator::KafkaGenerator;

/// Probability that an `assign` is emitted before an operation (the operation follows
/// later).
pub const ASSIGN_PROBABILITY: f64 = 1.0 / 64.0;

/// Probability that an `assign` is extended with the keys that have acknowledged but not
/// yet polled sends.
pub const UNPOLLED_EXTENSION_PROBABILITY: f64 = 1.0 / 3.0;

/// Mean time between two crashes of one client; the whole test crashes a client every
/// `CRASH_INTERVAL / concurrency` on average.
pub const CRASH_INTERVAL: Duration = Duration::from_secs(30);

/// Final-phase polls of one thread are spaced uniformly in `[0, FINAL_POLL_SPACING)`.
pub const FINAL_POLL_SPACING: Duration = Duration::from_millis(400);

/// The final phase issues no operation later than this after it started.
pub const FINAL_PHASE_LIMIT: Duration = Duration::from_secs(10);

/// Options of the kafka generator (Maelstrom's `--key-count`, `--max-writes-per-key`,
/// `--concurrency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KafkaOpts {
    /// Active keys at any time (default 10).
    pub key_count: usize,
    /// Messages sent to one key before it is retired (default 16).
    pub max_writes_per_key: u64,
    /// Worker threads: must be the runner's concurrency, since a completion's thread is
    /// its process number modulo the concurrency (default 1; 0 is treated as 1).
    pub concurrency: usize,
}

impl Default for KafkaOpts {
    fn default() -> Self {
        KafkaOpts {
            key_count: 10,
            max_writes_per_key: 16,
            concurrency: 1,
        }
    }
}
