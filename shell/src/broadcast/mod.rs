//! Broadcast node logic (sans-IO): challenges 3a-3e.
//!
//! One node serves every broadcast challenge; a [`Mode`] picks the point on the
//! messages/latency trade-off (see [`BroadcastConfig::for_mode`] for the presets):
//!
//! | mode | path of a new value | msgs-per-op (servers) | median / max stable latency |
//! |---|---|---|---|
//! | latency | origin → every peer, at once; digests piggybacked | ~12.0 | ~78 / ~99 ms |
//! | balanced (default) | origin → hub at once; hub → everyone every 100 ms | ~3.0 | ~180 / ~280 ms |
//! | messages | origin → hub and hub → everyone, both on aligned 500 ms flushes | ~1.0 | ~355 / ~690 ms |
//!
//! Figures: Maelstrom's 3d/3e setting (25 nodes, 100 ms, rate 100, 20 s) through the
//! project's harness, median of seeds 1-3 (`glomers broadcast-frontier --seeds 3`, see
//! `docs/broadcast.md`).
//!
//! Maelstrom's `topology` is answered and ignored: the hubs are the first node ids. Partition
//! tolerance does not rest on the hubs: nodes fail over to the next hub candidate when their
//! hub falls silent, and range-digest anti-entropy repairs anything lost (see [`node`]).
//!
//! - [`config`]: modes and knobs.
//! - [`store`]: known values with first-seen times; range digests.
//! - [`saved`]: the values a node keeps in its data directory across a kill.
//! - [`wire`]: message bodies.
//! - [`node`]: [`BroadcastNode`], the [`glomers_node::Machine`].

pub mod config;
pub mod node;
pub mod saved;
pub mod store;
pub mod wire;

pub use config::{BroadcastConfig, Mode, UnknownMode};
pub use node::{BroadcastNode, NodeStats};
pub use wire::{BroadcastIn, BroadcastOut};
