//! Challenges 3a-3e (broadcast): one binary for every broadcast challenge.
//!
//! `broadcast [--mode latency|balanced|messages] [--interval-ms N] [--leaf-interval-ms N]
//! [--hubs N] [--fanout N] [--piggyback-digests BOOL] [--digest-ms N] [--settle-ms N] [--hub-phase-ms N] [--hop-ms N]`.
//! Every flag also reads an environment variable (`GLOMERS_BROADCAST_MODE`,
//! `GLOMERS_BROADCAST_INTERVAL_MS`, ...); flags win. Unset knobs take the mode's preset
//! (`glomers_shell::broadcast::BroadcastConfig::for_mode`). Default mode: balanced.
//!
//! Flush instants are aligned to the wall clock, which all nodes on one host share.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use glomers_shell::broadcast::{BroadcastConfig, BroadcastNode, Mode};
use glomers_shell::machine;

/// Broadcast node for Maelstrom's broadcast workload.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Trade-off preset: latency, balanced or messages.
    #[arg(long, env = "GLOMERS_BROADCAST_MODE", default_value = "balanced")]
    mode: Mode,
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

impl Args {
    fn config(&self) -> BroadcastConfig {
        let mut c = BroadcastConfig::for_mode(self.mode);
        if let Some(v) = self.interval_ms {
            c.interval_ms = v;
        }
        if let Some(v) = self.leaf_interval_ms {
            c.leaf_interval_ms = v;
        }
        if let Some(v) = self.hubs {
            c.hubs = v;
        }
        if let Some(v) = self.fanout {
            c.fanout = v;
        }
        if let Some(v) = self.piggyback_digests {
            c.piggyback_digests = v;
        }
        if let Some(v) = self.digest_ms {
            c.digest_ms = v;
        }
        if let Some(v) = self.settle_ms {
            c.settle_ms = v;
        }
        if let Some(v) = self.hub_phase_ms {
            c.hub_phase_ms = v;
        }
        if let Some(v) = self.hop_ms {
            c.hop_ms = v;
        }
        c
    }
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    glomers_shell::logging::init();
    let config = Args::parse().config();
    tracing::info!(?config, "broadcast node starting");
    machine::run(move |info, now_ms| {
        let offset = wall_ms().saturating_sub(now_ms);
        let seed = wall_ms() ^ (u64::from(std::process::id()) << 20);
        BroadcastNode::new(&info.id, &info.ids, config, offset, seed)
    })
    .await;
}
