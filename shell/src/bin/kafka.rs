//! Challenges 5a-5c (Kafka-style log): answers `send`, `poll`, `commit_offsets` and
//! `list_committed_offsets` locally and replicates to peers in batches on a tick.
//!
//! Flags (each also read from the environment when the flag is absent):
//! `--tick-ms` / `GLOMERS_KAFKA_TICK_MS` (default 10): replication tick. With 2 nodes and
//! about 1000 client operations per second a node sends at most 1000/tick batches per
//! second to its one peer, so at most `2·1000/tick/1000` = 0.2 server messages per
//! operation at the default (0.4 at 5 ms).
//! `--retransmit-ms` / `GLOMERS_KAFKA_RETRANSMIT_MS` (default 200): resend window towards
//! a peer that stopped acknowledging.

use std::time::Duration;

use clap::Parser;
use glomers_shell::kafka::{KafkaConfig, KafkaMachine};
use glomers_shell::machine;

/// Environment variable for the replication tick in milliseconds.
const TICK_ENV: &str = "GLOMERS_KAFKA_TICK_MS";
/// Environment variable for the retransmission window in milliseconds.
const RETRANSMIT_ENV: &str = "GLOMERS_KAFKA_RETRANSMIT_MS";

/// Kafka-style log node for Maelstrom's `kafka` workload.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Replication tick in milliseconds (env GLOMERS_KAFKA_TICK_MS; default 10).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: Option<u64>,
    /// Retransmission window in milliseconds (env GLOMERS_KAFKA_RETRANSMIT_MS; default 200).
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

#[tokio::main(flavor = "current_thread")]
async fn main() {
    glomers_shell::logging::init();
    let args = Args::parse();
    let tick_ms = args.tick_ms.unwrap_or_else(|| env_ms(TICK_ENV, 10));
    let config = KafkaConfig {
        retransmit_ms: args
            .retransmit_ms
            .unwrap_or_else(|| env_ms(RETRANSMIT_ENV, KafkaConfig::default().retransmit_ms)),
        ..KafkaConfig::default()
    };
    tracing::info!(
        tick_ms,
        retransmit_ms = config.retransmit_ms,
        "kafka node starting"
    );
    machine::run(move |info, _now_ms| {
        KafkaMachine::from_info(info, config, Duration::from_millis(tick_ms))
    })
    .await;
}
