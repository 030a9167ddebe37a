//! Challenges 6a-6c (totally-available transactions): applies every `txn` atomically on
//! the receiving node, answers at once, and replicates write sets to peers in batches on
//! a tick (last-writer-wins by Lamport stamp).
//!
//! Flags (each also read from the environment when the flag is absent):
//! `--isolation` / `GLOMERS_TXN_ISOLATION` (`read-committed` (default) or
//! `read-uncommitted`); `--tick-ms` / `GLOMERS_TXN_TICK_MS` (default 20): with 2 nodes and
//! about 1000 transactions per second a node sends at most 1000/tick batches per second,
//! so at most `2·1000/tick/1000` = 0.1 server messages per operation at the default;
//! `--retransmit-ms` / `GLOMERS_TXN_RETRANSMIT_MS` (default 200).

use std::time::Duration;

use clap::{Parser, ValueEnum};
use glomers_shell::machine;
use glomers_shell::txn::{Isolation, TxnConfig, TxnMachine};

/// Environment variable for the replication tick in milliseconds.
const TICK_ENV: &str = "GLOMERS_TXN_TICK_MS";
/// Environment variable for the retransmission window in milliseconds.
const RETRANSMIT_ENV: &str = "GLOMERS_TXN_RETRANSMIT_MS";
/// Environment variable for the isolation level.
const ISOLATION_ENV: &str = "GLOMERS_TXN_ISOLATION";

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
    /// Isolation level (env GLOMERS_TXN_ISOLATION; default read-committed).
    #[arg(long, value_enum)]
    isolation: Option<Level>,
    /// Replication tick in milliseconds (env GLOMERS_TXN_TICK_MS; default 20).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: Option<u64>,
    /// Retransmission window in milliseconds (env GLOMERS_TXN_RETRANSMIT_MS; default 200).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    retransmit_ms: Option<u64>,
}

/// A positive integer from the environment, or `default` when unset. An unparsable value
/// is reported on stderr and ignored.
fn env_ms(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(value) if value > 0 => value,
            _ => {
                tracing::warn!(name, text, default, "ignoring invalid value");
                default
            }
        },
        Err(_) => default,
    }
}

/// The isolation level from the environment, or read-committed.
fn env_isolation() -> Isolation {
    match std::env::var(ISOLATION_ENV) {
        Ok(text) => match Level::from_str(text.trim(), true) {
            Ok(level) => level.into(),
            Err(_) => {
                tracing::warn!(
                    text,
                    "ignoring invalid {ISOLATION_ENV}; using read-committed"
                );
                Isolation::ReadCommitted
            }
        },
        Err(_) => Isolation::ReadCommitted,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    glomers_shell::logging::init();
    let args = Args::parse();
    let tick_ms = args.tick_ms.unwrap_or_else(|| env_ms(TICK_ENV, 20));
    let config = TxnConfig {
        isolation: args.isolation.map_or_else(env_isolation, Isolation::from),
        retransmit_ms: args
            .retransmit_ms
            .unwrap_or_else(|| env_ms(RETRANSMIT_ENV, TxnConfig::default().retransmit_ms)),
        ..TxnConfig::default()
    };
    tracing::info!(tick_ms, isolation = ?config.isolation, "txn node starting");
    machine::run(move |info, _now_ms| {
        TxnMachine::from_info(info, config, Duration::from_millis(tick_ms))
    })
    .await;
}
