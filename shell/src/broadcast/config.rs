//! Modes and tuning knobs of the broadcast node.

use std::fmt;
use std::str::FromStr;

/// Which point of the messages/latency trade-off a node aims for.
///
/// Each mode is only a preset of [`BroadcastConfig`]; every knob can be overridden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every origin sends each new value straight to every peer, unbatched (one hop).
    Latency,
    /// Origins send new values at once to a hub; the hub delivers to everyone in short
    /// batches (two hops plus at most one hub interval).
    #[default]
    Balanced,
    /// Origins and the hub both batch on long, clock-aligned intervals.
    Messages,
}

impl Mode {
    /// The mode's name as accepted by [`Mode::from_str`].
    pub fn name(self) -> &'static str {
        match self {
            Mode::Latency => "latency",
            Mode::Balanced => "balanced",
            Mode::Messages => "messages",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A mode name that is not `latency`, `balanced` or `messages`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown broadcast mode {0:?} (expected latency, balanced or messages)")]
pub struct UnknownMode(pub String);

impl FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "latency" => Ok(Mode::Latency),
            "balanced" => Ok(Mode::Balanced),
            "messages" => Ok(Mode::Messages),
            _ => Err(UnknownMode(s.to_owned())),
        }
    }
}

/// Every knob of a broadcast node. Build one with [`BroadcastConfig::for_mode`] and override
/// fields as needed.
///
/// Times are milliseconds. Flush schedules are aligned to a clock shared by all nodes (the
/// node's `now_ms` plus the clock offset it was built with), so that every origin flushes at
/// the same instants and the hub flushes `hub_phase_ms` later, when those batches have
/// arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastConfig {
    /// The preset these values started from (informational).
    pub mode: Mode,
    /// Number of hub candidates: the first `hubs` node ids in Maelstrom's order. A node sends
    /// its own new values to its current hub, which delivers them to every other node. `0`
    /// (or at least the node count) makes every node its own hub: origins deliver directly.
    pub hubs: usize,
    /// How often a hub flushes its per-peer delivery batches; `0` sends at once.
    pub interval_ms: u64,
    /// How often an origin flushes its new values to its hub; `0` sends at once.
    pub leaf_interval_ms: u64,
    /// Offset of the hub's flush instants after the origins' flush instants (both modulo
    /// their intervals), normally one hop plus slack.
    pub hub_phase_ms: u64,
    /// Expected one-way node-to-node latency, used for the hub failover timeout.
    pub hop_ms: u64,
    /// Anti-entropy period: every `digest_ms` a node sends a digest of its settled values to
    /// `fanout` random peers.
    pub digest_ms: u64,
    /// Peers contacted per anti-entropy round.
    pub fanout: usize,
    /// Piggyback the sender's settled digest on every delivery batch (a `spread` instead
    /// of a `deliver`). A node whose last such batch is younger than `digest_ms` skips its
    /// explicit digest round, and explicit digests go to the peers heard from longest ago
    /// (those a partition cut off) instead of random ones: while values flow, anti-entropy
    /// costs no message of its own.
    pub piggyback_digests: bool,
    /// How long normal dissemination may take. A digest lists only values held at least this
    /// long, and a repair push only sends values held at least twice this long, so that
    /// values still on their normal path are never sent twice.
    pub settle_ms: u64,
    /// Capacity of each per-peer pending set (values queued for the next flush). When a set
    /// is full, further values for that peer are not queued; the peer gets them through
    /// anti-entropy instead.
    pub pending_capacity: usize,
    /// Most values in one repair push; the rest follow in later rounds.
    pub repair_batch: usize,
}

impl BroadcastConfig {
    /// The preset for `mode` on Maelstrom's 3d/3e setting (25 nodes, 100 ms hops, about 50
    /// broadcasts per second).
    pub fn for_mode(mode: Mode) -> Self {
        let base = Self {
            mode,
            hubs: 3,
            interval_ms: 0,
            leaf_interval_ms: 0,
            hub_phase_ms: 140,
            hop_ms: 100,
            digest_ms: 1000,
            fanout: 1,
            piggyback_digests: false,
            settle_ms: 400,
            pending_capacity: 65_536,
            repair_batch: 8192,
        };
        match mode {
            Mode::Latency => Self {
                hubs: 0,
                // Digests ride on the fan-out batches; explicit rounds run only once a node
                // has been quiet for 4 s (at most two or three rounds in the quiet period).
                piggyback_digests: true,
                digest_ms: 4000,
                settle_ms: 300,
                ..base
            },
            Mode::Balanced => Self {
                interval_ms: 100,
                digest_ms: 2000,
                settle_ms: 600,
                ..base
            },
            Mode::Messages => Self {
                interval_ms: 500,
                leaf_interval_ms: 500,
                digest_ms: 2000,
                settle_ms: 1500,
                ..base
            },
        }
    }

    /// The failover timeout: how long a node waits to hear anything from its hub after
    /// sending to it before it moves on to the next hub candidate.
    pub fn hub_timeout_ms(&self) -> u64 {
        2 * self.hop_ms + self.interval_ms + self.leaf_interval_ms + 200
    }

    /// With piggybacked digests, the least time between two repair requests of a node:
    /// one round trip plus slack, so the answer to one request has arrived (and its values
    /// are in the node's digest) before it asks again.
    pub fn ask_gap_ms(&self) -> u64 {
        2 * self.hop_ms + 100
    }
}

impl Default for BroadcastConfig {
    fn default() -> Self {
        Self::for_mode(Mode::default())
    }
}
