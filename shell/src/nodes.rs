//! Every glomers node program by name: its flags, and how it builds its node. The
//! binaries run these on the process driver ([`main`]); the harness's simulator builds the
//! very same nodes in-process ([`build`]), from the same command line.
//!
//! Flags: each also reads an environment variable when absent (a flag wins); an invalid
//! value stops the binary at start with a usage error on stderr (exit 2), and makes
//! [`build`] return the same error.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};
use glomers_flake::{Flake, NodeIndex};
use glomers_node::{Boot, LineMachine, Runtime, Start};

use crate::broadcast::{BroadcastConfig, BroadcastNode, Mode as BroadcastMode};
use crate::counter::{self, crdt::CrdtCounter, kv::KvCounter, Mode as CounterMode, MODE_ENV};
use crate::crdt::gossip::DEFAULT_PERIOD_MS;
use crate::crdt::{gset::GSetNode, pn_counter::PnCounterNode, GossipConfig, Topology};
use crate::echo::Echo;
use crate::invariants::Invariants;
use crate::kafka::retention::RetentionMode;
use crate::kafka::{KafkaConfig, KafkaMachine};
use crate::raft::{
    self, args::RaftArgs, invariants::RaftInvariants, kv::KvStore, list_append::ListStore,
};
use crate::txn::{Isolation, TxnConfig, TxnMachine};
use crate::unique::{node_index, UniqueIds, MAX_LEAD_MS};
use crate::{driver, logging};

/// The programs: the binaries' names.
pub const NAMES: [&str; 10] = [
    "echo",
    "unique-ids",
    "broadcast",
    "g-counter",
    "g-set",
    "pn-counter",
    "kafka",
    "txn",
    "lin-kv",
    "txn-list-append",
];

/// Why a node could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No program has this name.
    #[error("no node program {0:?} (known: {known})", known = NAMES.join(", "))]
    Unknown(String),
    /// The flags did not parse.
    #[error(transparent)]
    Args(#[from] clap::Error),
    /// The flags parsed but do not fit together.
    #[error(transparent)]
    Settings(crate::raft::args::ArgsError),
}

impl From<crate::raft::args::ArgsError> for BuildError {
    fn from(e: crate::raft::args::ArgsError) -> Self {
        match e {
            crate::raft::args::ArgsError::Clap(c) => BuildError::Args(c),
            other => BuildError::Settings(other),
        }
    }
}

/// The node of program `name` with flags `args` (without the program name), behind the
/// wire, started with `boot` (its clock's epoch, randomness, and recovered state).
pub fn build(name: &str, args: &[String], boot: Boot) -> Result<Box<dyn LineMachine>, BuildError> {
    let argv = std::iter::once(name.to_owned()).chain(args.iter().cloned());
    let node: Box<dyn LineMachine> = match name {
        "echo" => boxed(|_| Echo, boot),
        "unique-ids" => boxed(unique_ids, boot),
        "broadcast" => {
            let config = BroadcastArgs::try_parse_from(argv)?.config();
            boxed(move |s| broadcast(config, s), boot)
        }
        "g-counter" => {
            let args = CounterArgs::try_parse_from(argv)?;
            match args.mode {
                CounterMode::Kv => boxed(
                    |s| KvCounter::new(s.info, fence_base(&s)).recovering(),
                    boot,
                ),
                CounterMode::Crdt => {
                    let config = args.gossip.config();
                    boxed(move |s| CrdtCounter::new(&s, config), boot)
                }
            }
        }
        "g-set" => {
            let config = CrdtArgs::try_parse_from(argv)?.gossip.config();
            boxed(move |s| GSetNode::new(&s, config), boot)
        }
        "pn-counter" => {
            let config = CrdtArgs::try_parse_from(argv)?.gossip.config();
            boxed(move |s| PnCounterNode::new(&s, config), boot)
        }
        "kafka" => {
            let config = KafkaArgs::try_parse_from(argv)?.config();
            boxed(move |s| KafkaMachine::new(&s, config), boot)
        }
        "txn" => {
            let config = TxnArgs::try_parse_from(argv)?.config();
            boxed(move |s| TxnMachine::new(&s, config), boot)
        }
        "lin-kv" => {
            let config = RaftArgs::config(argv, raft::args::lin_kv_defaults())?;
            boxed(move |s| raft::LinKvMachine::new(&s, config), boot)
        }
        "txn-list-append" => {
            let config = RaftArgs::config(argv, raft::args::list_append_defaults())?;
            boxed(move |s| raft::ListAppendMachine::new(&s, config), boot)
        }
        other => return Err(BuildError::Unknown(other.to_owned())),
    };
    Ok(node)
}

/// The invariant checker program `name` offers to a host that runs all its nodes (see
/// [`crate::invariants`]), if any.
pub fn invariants(name: &str) -> Option<Box<dyn Invariants>> {
    match name {
        "lin-kv" => Some(Box::new(RaftInvariants::<KvStore>::default())),
        "txn-list-append" => Some(Box::new(RaftInvariants::<ListStore>::default())),
        _ => None,
    }
}

/// The entry point of binary `name`: logs to stderr, parses the process's flags, and runs
/// the node on stdin and stdout until end of input.
pub fn main(name: &str) -> ExitCode {
    logging::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    driver::run(|boot| match build(name, &args, boot) {
        Ok(node) => {
            tracing::info!(node = name, ?args, "starting");
            node
        }
        Err(BuildError::Args(e)) => e.exit(),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2)
        }
    })
}

fn boxed<M, F>(make: F, boot: Boot) -> Box<dyn LineMachine>
where
    M: glomers_node::Machine + 'static,
    F: FnOnce(Start<'_>) -> M + 'static,
{
    Box::new(Runtime::new(make, boot))
}

/// Challenge 2: ids from the core flake generator (logical milliseconds, node index,
/// per-millisecond sequence) on the wall clock.
fn unique_ids(start: Start<'_>) -> UniqueIds<Flake> {
    let index = node_index(&start.info.id, &start.info.ids).unwrap_or_else(|e| {
        // Only for an init whose ids are neither `nN` names nor contain this node: ids may
        // then collide with the node of index 0. Keep serving, loudly.
        tracing::error!(error = %e, "no node index; using 0");
        NodeIndex::MIN
    });
    UniqueIds::new(
        Flake::with_max_lead(index, MAX_LEAD_MS),
        start.epoch_unix_ms(),
    )
    .with_lease(start.recovered)
}

/// Challenges 3a-3e: flush instants are aligned to the wall clock, which all nodes of a
/// host (or of the simulator) share.
fn broadcast(config: BroadcastConfig, start: Start<'_>) -> BroadcastNode {
    let mut node = BroadcastNode::new(
        &start.info.id,
        &start.info.ids,
        config,
        start.epoch_unix_ms(),
        start.seed,
    );
    node.recover(start.recovered);
    node
}

/// Fence values must never repeat, even across restarts: they start from the wall clock,
/// in microseconds.
fn fence_base(start: &Start<'_>) -> u64 {
    start.unix_ms.saturating_mul(1000)
}

/// Broadcast node for Maelstrom's broadcast workload (challenges 3a-3e).
#[derive(Debug, Parser)]
#[command(name = "broadcast", version, about)]
struct BroadcastArgs {
    /// Trade-off preset: latency, balanced or messages.
    #[arg(long, env = "GLOMERS_BROADCAST_MODE", default_value = "balanced")]
    mode: BroadcastMode,
    /// Hub delivery batch interval in ms (0 = at once).
    #[arg(long, env = "GLOMERS_BROADCAST_INTERVAL_MS")]
    interval_ms: Option<u64>,
    /// Origin-to-hub batch interval in ms (0 = at once).
    #[arg(long, env = "GLOMERS_BROADCAST_LEAF_INTERVAL_MS")]
    leaf_interval_ms: Option<u64>,
    /// Number of hub candidates (0 = every node delivers its own values).
    #[arg(long, env = "GLOMERS_BROADCAST_HUBS")]
    hubs: Option<usize>,
    /// Peers sent a digest per anti-entropy round.
    #[arg(long, env = "GLOMERS_BROADCAST_FANOUT")]
    fanout: Option<usize>,
    /// Piggyback digests on delivery batches (true/false).
    #[arg(long, env = "GLOMERS_BROADCAST_PIGGYBACK")]
    piggyback_digests: Option<bool>,
    /// Anti-entropy period in ms.
    #[arg(long, env = "GLOMERS_BROADCAST_DIGEST_MS", value_parser = clap::value_parser!(u64).range(1..))]
    digest_ms: Option<u64>,
    /// Time normal dissemination may take, in ms (gates digests and repairs).
    #[arg(long, env = "GLOMERS_BROADCAST_SETTLE_MS")]
    settle_ms: Option<u64>,
    /// Hub flush phase after the origin flush, in ms.
    #[arg(long, env = "GLOMERS_BROADCAST_HUB_PHASE_MS")]
    hub_phase_ms: Option<u64>,
    /// Expected one-way latency in ms (hub failover timeout).
    #[arg(long, env = "GLOMERS_BROADCAST_HOP_MS")]
    hop_ms: Option<u64>,
}

impl BroadcastArgs {
    /// The mode's preset with every flag given applied over it.
    fn config(&self) -> BroadcastConfig {
        let mut c = BroadcastConfig::for_mode(self.mode);
        let set = |slot: &mut u64, v: Option<u64>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut c.interval_ms, self.interval_ms);
        set(&mut c.leaf_interval_ms, self.leaf_interval_ms);
        set(&mut c.digest_ms, self.digest_ms);
        set(&mut c.settle_ms, self.settle_ms);
        set(&mut c.hub_phase_ms, self.hub_phase_ms);
        set(&mut c.hop_ms, self.hop_ms);
        c.hubs = self.hubs.unwrap_or(c.hubs);
        c.fanout = self.fanout.unwrap_or(c.fanout);
        c.piggyback_digests = self.piggyback_digests.unwrap_or(c.piggyback_digests);
        c
    }
}

/// Grow-only counter node for the Maelstrom g-counter workload (challenge 4); see
/// [`crate::counter`] for both designs and why their final reads are exact.
#[derive(Debug, Parser)]
#[command(name = "g-counter", version, about)]
struct CounterArgs {
    /// `kv` (seq-kv, default) or `crdt` (gossiped G-counter, no store).
    #[arg(long, env = MODE_ENV, default_value = "kv")]
    mode: counter::Mode,
    /// Gossip of the crdt mode.
    #[command(flatten)]
    gossip: GossipArgs,
}

/// CRDT node for Maelstrom's `g-set` or `pn-counter` workload (its CRDT guide); see
/// [`crate::crdt`] for the design. In the default star, a round costs at most `2(n-1)`
/// messages: about `2(n-1)/period` server messages per second while clients add, none
/// when they stop.
#[derive(Debug, Parser)]
#[command(version, about)]
struct CrdtArgs {
    #[command(flatten)]
    gossip: GossipArgs,
}

/// The flags of the gossip shared by the CRDT nodes.
#[derive(Debug, Args)]
struct GossipArgs {
    /// Replication period in milliseconds.
    #[arg(long, env = "GLOMERS_CRDT_PERIOD_MS", default_value_t = DEFAULT_PERIOD_MS,
          value_parser = clap::value_parser!(u64).range(1..))]
    period_ms: u64,
    /// Whom new data goes to: star (through the first node) or mesh (every peer).
    #[arg(long, env = "GLOMERS_CRDT_TOPOLOGY", value_enum, default_value_t = Topology::Star)]
    topology: Topology,
    /// Most peers sent new data per round, chosen at random (0 = every peer lacking some).
    #[arg(long, env = "GLOMERS_CRDT_FANOUT", default_value_t = 0)]
    fanout: usize,
    /// Test only: a deliberately broken node that never re-sends a lost delta.
    #[arg(long, hide = true)]
    no_resend: bool,
}

impl GossipArgs {
    fn config(&self) -> GossipConfig {
        GossipConfig {
            topology: self.topology,
            fanout: self.fanout,
            resend: !self.no_resend,
            ..GossipConfig::new(Duration::from_millis(self.period_ms))
        }
    }
}

/// Kafka-style log node for Maelstrom's `kafka` workload (challenges 5a-5c). With 2 nodes
/// and about 1000 client operations per second a node sends at most 1000/tick batches per
/// second to its one peer, so at most `2·1000/tick/1000` = 0.2 server messages per
/// operation at the default tick (0.4 at 5 ms).
#[derive(Debug, Parser)]
#[command(name = "kafka", version, about)]
struct KafkaArgs {
    /// Replication tick in milliseconds.
    #[arg(long, env = "GLOMERS_KAFKA_TICK_MS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// First retransmission delay towards a peer that stopped acknowledging, in ms.
    #[arg(long, env = "GLOMERS_KAFKA_RETRANSMIT_MS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..))]
    retransmit_ms: u64,
    /// Which entries the node forgets: `consumed` (what every client has read and no live
    /// client still needs) or `off` (keep everything).
    #[arg(long, env = "GLOMERS_KAFKA_RETENTION", value_enum, default_value_t = RetentionMode::Consumed)]
    retention: RetentionMode,
    /// How long a silent client still counts as reading, in seconds.
    #[arg(long, env = "GLOMERS_KAFKA_SESSION_S", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..))]
    session_s: u64,
}

impl KafkaArgs {
    fn config(&self) -> KafkaConfig {
        let mut c = KafkaConfig::default();
        c.replica.tick = Duration::from_millis(self.tick_ms);
        c.replica.retransmit = Duration::from_millis(self.retransmit_ms);
        c.retention.mode = self.retention;
        c.retention.session = Duration::from_secs(self.session_s);
        c
    }
}

/// Isolation level names on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Level {
    /// Writes visible as they are made (still atomic per transaction here).
    ReadUncommitted,
    /// Writes buffered and published at commit.
    ReadCommitted,
}

/// Totally-available transaction node for Maelstrom's `txn-rw-register` workload
/// (challenges 6a-6c). With 2 nodes and about 1000 transactions per second a node sends
/// at most 1000/tick batches per second, so at most `2·1000/tick/1000` = 0.1 server
/// messages per operation at the default tick.
#[derive(Debug, Parser)]
#[command(name = "txn", version, about)]
struct TxnArgs {
    /// Isolation level.
    #[arg(long, env = "GLOMERS_TXN_ISOLATION", value_enum, default_value_t = Level::ReadCommitted)]
    isolation: Level,
    /// Replication tick in milliseconds.
    #[arg(long, env = "GLOMERS_TXN_TICK_MS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// First retransmission delay towards a peer that stopped acknowledging, in ms.
    #[arg(long, env = "GLOMERS_TXN_RETRANSMIT_MS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..))]
    retransmit_ms: u64,
}

impl TxnArgs {
    fn config(&self) -> TxnConfig {
        let mut c = TxnConfig {
            isolation: match self.isolation {
                Level::ReadUncommitted => Isolation::ReadUncommitted,
                Level::ReadCommitted => Isolation::ReadCommitted,
            },
            ..TxnConfig::default()
        };
        c.replica.tick = Duration::from_millis(self.tick_ms);
        c.replica.retransmit = Duration::from_millis(self.retransmit_ms);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_node::Time;

    #[test]
    fn every_program_builds_and_answers_init() {
        for name in NAMES {
            let mut node = build(name, &[], Boot::default()).expect("builds");
            let init = r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0","n1"]}}"#;
            node.handle_line(Time::ZERO, init.as_bytes());
            let out = String::from_utf8(std::mem::take(node.output())).expect("UTF-8");
            assert!(out.contains(r#""type":"init_ok""#), "{name}: {out}");
        }
    }

    #[test]
    fn flags_parse_and_bad_ones_are_refused() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let latency = args(&["--mode", "latency", "--hubs", "2"]);
        assert!(build("broadcast", &latency, Boot::default()).is_ok());
        assert!(matches!(
            build("broadcast", &args(&["--mode", "fast"]), Boot::default()),
            Err(BuildError::Args(_))
        ));
        assert!(matches!(
            build("kafka", &args(&["--tick-ms", "0"]), Boot::default()),
            Err(BuildError::Args(_))
        ));
        assert!(build(
            "txn",
            &args(&["--isolation", "read-uncommitted"]),
            Boot::default()
        )
        .is_ok());
        assert!(build("g-counter", &args(&["--mode", "crdt"]), Boot::default()).is_ok());
        assert!(build(
            "g-set",
            &args(&["--topology", "mesh", "--fanout", "2"]),
            Boot::default()
        )
        .is_ok());
        assert!(matches!(
            build("pn-counter", &args(&["--period-ms", "0"]), Boot::default()),
            Err(BuildError::Args(_))
        ));
        assert!(matches!(
            build("g-set", &args(&["--topology", "ring"]), Boot::default()),
            Err(BuildError::Args(_))
        ));
        assert!(matches!(
            build("lin-kv-local", &[], Boot::default()),
            Err(BuildError::Unknown(_))
        ));
        assert!(build("lin-kv", &args(&["--round-ms", "100"]), Boot::default()).is_ok());
        assert!(matches!(
            build("lin-kv", &args(&["--round-ms", "700"]), Boot::default()),
            Err(BuildError::Settings(_))
        ));
        assert!(matches!(
            build(
                "txn-list-append",
                &args(&["--budget-ms", "0"]),
                Boot::default()
            ),
            Err(BuildError::Args(_))
        ));
        assert!(invariants("lin-kv").is_some() && invariants("echo").is_none());
        let c = BroadcastArgs::try_parse_from([
            "broadcast",
            "--mode",
            "messages",
            "--interval-ms",
            "250",
        ])
        .expect("parses")
        .config();
        assert_eq!(
            (c.interval_ms, c.leaf_interval_ms),
            (250, 500),
            "flags over the preset"
        );
    }
}
