//! Regenerates the interval frontier of the broadcast node in the simulator (no harness
//! needed): `cargo test --release -p glomers-shell --test broadcast_frontier -- --ignored
//! --nocapture` prints CSV rows `mode,interval_ms,seed,msgs_per_op,median_ms,max_ms,complete`
//! (`interval_frontier_csv`) and every mode with and without head-of-line blocking and
//! partitions (`modes_csv`). `GLOMERS_FRONTIER_INTERVALS` (comma-separated ms) and
//! `GLOMERS_FRONTIER_SEEDS` override the sweep; `GLOMERS_FRONTIER_MODE` picks the preset swept
//! (default balanced; in messages mode the origin interval follows the hub interval);
//! `GLOMERS_FRONTIER_HOL=0` delivers every message at its deadline (no head-of-line blocking).

use glomers_shell::broadcast::sim::{self, SimConfig};
use glomers_shell::broadcast::{BroadcastConfig, Mode};

fn list(name: &str, default: &[u64]) -> Vec<u64> {
    std::env::var(name)
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

#[test]
#[ignore = "prints the frontier; run on demand"]
fn interval_frontier_csv() {
    let mode: Mode = std::env::var("GLOMERS_FRONTIER_MODE")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(Mode::Balanced);
    let intervals = list(
        "GLOMERS_FRONTIER_INTERVALS",
        &[0, 25, 50, 100, 150, 200, 300, 400, 500, 700, 1000],
    );
    let seeds = list("GLOMERS_FRONTIER_SEEDS", &[1, 2, 3]);
    println!("mode,interval_ms,seed,msgs_per_op,median_ms,max_ms,complete");
    for &interval in &intervals {
        for &seed in &seeds {
            let mut node = BroadcastConfig::for_mode(mode);
            node.interval_ms = interval;
            if node.leaf_interval_ms > 0 {
                node.leaf_interval_ms = interval;
            }
            let mut cfg = SimConfig::efficient(node, seed);
            cfg.head_of_line = std::env::var("GLOMERS_FRONTIER_HOL").map_or(true, |v| v != "0");
            let r = sim::run(&cfg);
            assert!(r.complete(25), "interval {interval} seed {seed}: {r:?}");
            println!(
                "{mode},{interval},{seed},{:.3},{},{},{}",
                r.msgs_per_op,
                r.stable.median,
                r.stable.max,
                r.complete(25)
            );
        }
    }
}

#[test]
#[ignore = "prints every mode's figures; run on demand"]
fn modes_csv() {
    let seeds = list("GLOMERS_FRONTIER_SEEDS", &[1, 2, 3]);
    println!("mode,head_of_line,faults,seed,msgs_per_op,median_ms,max_ms,complete");
    for mode in [Mode::Latency, Mode::Balanced, Mode::Messages] {
        for hol in [true, false] {
            for faults in [false, true] {
                for &seed in &seeds {
                    let mut cfg = SimConfig::efficient(BroadcastConfig::for_mode(mode), seed);
                    cfg.head_of_line = hol;
                    if faults {
                        cfg.faults = sim::Faults::Nemesis {
                            interval_ms: 10_000,
                        };
                    }
                    let r = sim::run(&cfg);
                    assert!(r.complete(25), "{mode} {seed}: {r:?}");
                    println!(
                        "{mode},{hol},{faults},{seed},{:.3},{},{},{}",
                        r.msgs_per_op,
                        r.stable.median,
                        r.stable.max,
                        r.complete(25)
                    );
                }
            }
        }
    }
}
