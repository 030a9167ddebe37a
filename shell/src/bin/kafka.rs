//! Challenges 5a-5c (Kafka-style log): answers `send`, `poll`, `commit_offsets` and
//! `list_committed_offsets` locally and replicates to peers in batches on a tick.
//!
//! Flags, each also read from the environment when the flag is absent (a flag wins; an
//! invalid value stops the node at start with a usage error on stderr):
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

/// Kafka-style log node for Maelstrom's `kafka` workload.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Replication tick in milliseconds.
    #[arg(long, env = "GLOMERS_KAFKA_TICK_MS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Retransmission window in milliseconds.
    #[arg(long, env = "GLOMERS_KAFKA_RETRANSMIT_MS",
          default_value_t = KafkaConfig::default().retransmit_ms,
          value_parser = clap::value_parser!(u64).range(1..))]
    retransmit_ms: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    glomers_shell::logging::init();
    let args = Args::parse();
    let config = KafkaConfig {
        retransmit_ms: args.retransmit_ms,
        ..KafkaConfig::default()
    };
    let tick_ms = args.tick_ms;
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
