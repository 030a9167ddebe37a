//! Challenge 4 (grow-only counter).
//!
//! `g-counter [--mode kv|crdt]`; without the flag the mode comes from `GLOMERS_GCOUNTER`,
//! and defaults to `kv` (per-node keys in `seq-kv`, fenced reads). See
//! `glomers_shell::counter` for both designs and why their final reads are exact.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use glomers_shell::counter::{self, Mode, MODE_ENV};
use glomers_shell::{machine, node};

/// Grow-only counter node for the Maelstrom g-counter workload.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// `kv` (seq-kv, default) or `crdt` (gossiped G-counter, no store).
    #[arg(long, env = MODE_ENV, default_value = "kv")]
    mode: Mode,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    glomers_shell::logging::init();
    let args = Args::parse();
    match args.mode {
        Mode::Kv => {
            // Fence values must never repeat, even across restarts: start from the clock.
            let base = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2));
            node::serve(|n| counter::kv::start(n, base)).await;
        }
        Mode::Crdt => machine::run(|info, _now| counter::crdt::CrdtCounter::new(info)).await,
    }
}
