//! Challenges 6a-6c (totally-available transactions): applies every `txn` atomically on
//! the receiving node, answers at once, and replicates write sets to peers in batches on
//! a tick (last-writer-wins by Lamport stamp).
//!
//! Flags, each also read from the environment when the flag is absent (a flag wins; an
//! invalid value stops the node at start with a usage error on stderr):
//! `--isolation` / `GLOMERS_TXN_ISOLATION` (`read-committed` (default) or
//! `read-uncommitted`); `--tick-ms` / `GLOMERS_TXN_TICK_MS` (default 20): with 2 nodes and
//! about 1000 transactions per second a node sends at most 1000/tick batches per second,
//! so at most `2·1000/tick/1000` = 0.1 server messages per operation at the default;
//! `--retransmit-ms` / `GLOMERS_TXN_RETRANSMIT_MS` (default 200).

use std::time::Duration;

use clap::{Parser, ValueEnum};
use glomers_shell::machine;
use glomers_shell::txn::{Isolation, TxnConfig, TxnMachine};

/// Isolation level names on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Level {
    /// Writes visible as they are made (still atomic per transaction here).
    ReadUncommitted,
    /// Writes buffered and published at commit.
    ReadCommitted,
}

impl From<Level> for Isolation {
    fn from(level: Level) -> Self {
        match level {
            Level::ReadUncommitted => Isolation::ReadUncommitted,
            Level::ReadCommitted => Isolation::ReadCommitted,
        }
    }
}

/// Totally-available transaction node for Maelstrom's `txn-rw-register` workload.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Isolation level.
    #[arg(long, env = "GLOMERS_TXN_ISOLATION", value_enum, default_value_t = Level::ReadCommitted)]
    isolation: Level,
    /// Replication tick in milliseconds.
    #[arg(long, env = "GLOMERS_TXN_TICK_MS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Retransmission window in milliseconds.
    #[arg(long, env = "GLOMERS_TXN_RETRANSMIT_MS",
          default_value_t = TxnConfig::default().retransmit_ms,
          value_parser = clap::value_parser!(u64).range(1..))]
    retransmit_ms: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    glomers_shell::logging::init();
    let args = Args::parse();
    let config = TxnConfig {
        isolation: args.isolation.into(),
        retransmit_ms: args.retransmit_ms,
        ..TxnConfig::default()
    };
    let tick_ms = args.tick_ms;
    tracing::info!(tick_ms, isolation = ?config.isolation, "txn node starting");
    machine::run(move |info, _now_ms| {
        TxnMachine::from_info(info, config, Duration::from_millis(tick_ms))
    })
    .await;
}
