//! The Raft programs (`lin-kv`, `txn-list-append`) end to end in the simulator, through the
//! built `glomers`, with Raft's invariants checked after every step: the Raft guide's line
//! on ten seeds, five nodes, kills with durable state, glomers' own faults, compaction at a
//! small threshold with snapshots installed, a swarm with every fault, deliberately
//! broken Rafts caught by a swarm (a vote without the up-to-date check by the invariants,
//! reads without a quorum round by lin-kv's checker), and Maelstrom's wiping kill shown
//! unsafe.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn store(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glomers-raft-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs `glomers sim` with `args` into `store`.
fn sim(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glomers"))
        .arg("sim")
        .args(["--store", store.to_str().unwrap_or_default()])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run glomers: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The Raft guide's line: `-w lin-kv --node-count N --concurrency 4n --rate 30
/// --time-limit 60 --nemesis-interval 10`, with `--nemesis` added by the caller.
fn guide(nodes: &'static str) -> Vec<&'static str> {
    vec![
        "-w",
        "lin-kv",
        "--bin",
        "lin-kv",
        "--node-count",
        nodes,
        "--concurrency",
        "4n",
        "--rate",
        "30",
        "--time-limit",
        "60",
        "--nemesis-interval",
        "10",
    ]
}

/// The run folders a swarm kept (one per failing seed), with their `results.json`.
fn kept(store: &Path, workload: &str) -> Vec<(PathBuf, Value)> {
    let Ok(dirs) = std::fs::read_dir(store.join(workload)) else {
        return Vec::new();
    };
    let mut runs: Vec<_> = dirs
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.is_dir() && !p.ends_with("latest"))
        .map(|p| {
            let text = std::fs::read_to_string(p.join("results.json")).unwrap_or_default();
            let results = serde_json::from_str(&text).unwrap_or(Value::Null);
            (p, results)
        })
        .collect();
    runs.sort_by(|a, b| a.0.cmp(&b.0));
    runs
}

/// The longest span of the main phase, in seconds, during which a majority of `nodes`
/// nodes was alive and running, from the nemesis's kill/start/pause/resume entries.
fn longest_majority_up(run: &Path, nodes: usize) -> f64 {
    let history = std::fs::read_to_string(run.join("history.jsonl")).unwrap_or_default();
    let mut down: BTreeSet<String> = BTreeSet::new();
    let (mut since, mut best, mut last) = (Some(0.0), 0.0f64, 0.0);
    for line in history.lines() {
        let Ok(op) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let t = op["time"].as_f64().unwrap_or(0.0) / 1e9;
        last = t;
        if op["process"] != "nemesis" {
            continue;
        }
        let Some(nodes_touched) = op["value"].as_object() else {
            continue;
        };
        for (node, what) in nodes_touched {
            match what.as_str() {
                Some("killed" | "paused") => {
                    down.insert(node.clone());
                }
                Some("started" | "resumed") => {
                    down.remove(node);
                }
                _ => {}
            }
        }
        let up = nodes - down.len() > nodes / 2;
        match (up, since) {
            (true, None) => since = Some(t),
            (false, Some(s)) => {
                best = best.max(t - s);
                since = None;
            }
            _ => {}
        }
    }
    since.map_or(best, |s| best.max(last - s))
}

/// Runs `args` on `seeds` one by one: every run must be valid, but for a run whose
/// schedule never left a majority up for 5 s, which only has to be linearizable (no
/// request can succeed then). Returns the seeds excused so.
fn valid_on(
    tag: &str,
    args: &[&str],
    seeds: std::ops::RangeInclusive<u64>,
    nodes: usize,
) -> Vec<u64> {
    let mut excused = Vec::new();
    for seed in seeds {
        let s = store(tag);
        let seed_text = seed.to_string();
        let mut a = args.to_vec();
        a.extend(["--seed", &seed_text]);
        let out = sim(&s, &a);
        let code = out.status.code().unwrap_or(-1);
        let run = std::fs::canonicalize(s.join("latest")).unwrap_or_default();
        let results: Value = std::fs::read_to_string(run.join("results.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        if code != 0 {
            let starved = longest_majority_up(&run, nodes) < 5.0;
            assert!(
                starved && results["workload"]["valid"] == "valid",
                "{a:?}: exit {code}: {}",
                text(&out)
            );
            excused.push(seed);
        }
        let _ = std::fs::remove_dir_all(&s);
    }
    excused
}

#[test]
fn lin_kv_is_valid_on_the_raft_guide_line_on_ten_seeds_with_three_and_five_nodes() {
    for (nodes, n) in [("3", 3), ("5", 5)] {
        let mut args = guide(nodes);
        args.extend(["--nemesis", "partition"]);
        let excused = valid_on("guide", &args, 1..=10, n);
        assert!(
            excused.is_empty(),
            "{nodes} nodes: seeds {excused:?} failed"
        );
    }
}

#[test]
fn lin_kv_is_valid_under_partitions_kills_and_pauses_with_durable_state() {
    for (nodes, n) in [("3", 3), ("5", 5)] {
        let mut args = guide(nodes);
        args.extend(["--nemesis", "partition,kill,pause", "--durable"]);
        let excused = valid_on("durable", &args, 1..=10, n);
        // Seed 8 kills two of three nodes at the start and starts them only at the end.
        assert!(excused.len() <= 1, "{nodes} nodes: excused {excused:?}");
    }
}

#[test]
fn lin_kv_is_valid_under_duplication_one_way_partitions_and_clock_faults() {
    let mut args = guide("3");
    args.extend(["--nemesis", "partition,duplicate,partition-oneway,clock"]);
    let excused = valid_on("glomers-faults", &args, 1..=10, 3);
    assert!(excused.is_empty(), "seeds {excused:?} failed");
}

#[test]
fn txn_list_append_is_strict_serializable_under_partitions_and_durable_kills() {
    let base = [
        "-w",
        "txn-list-append",
        "--bin",
        "txn-list-append",
        "--node-count",
        "3",
        "--concurrency",
        "2n",
        "--time-limit",
        "30",
        "--rate",
        "100",
        "--consistency-models",
        "strict-serializable",
    ];
    for faults in [
        &["--nemesis", "partition"][..],
        &["--nemesis", "kill", "--durable"],
    ] {
        let mut args = base.to_vec();
        args.extend(faults);
        let excused = valid_on("list-append", &args, 1..=5, 3);
        assert!(excused.is_empty(), "{faults:?}: seeds {excused:?} failed");
    }
}

/// Runs one seed of `args` (and `node_flags` for the nodes) with the Raft node's info lines
/// logged (`GLOMERS_LOG`); returns
/// the output and whether the run was valid, or starved (no majority up for 5 s) with a
/// valid history, and the number of `snapshot installed` lines in its node logs.
fn logged_run(
    tag: &str,
    args: &[&str],
    node_flags: &[&str],
    seed: u64,
    nodes: usize,
) -> (bool, usize, String) {
    let s = store(tag);
    let seed_text = seed.to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_glomers"))
        .env("GLOMERS_LOG", "warn,glomers_shell::raft::node=info")
        .arg("sim")
        .args(["--store", s.to_str().unwrap_or_default()])
        .args(args)
        .args(["--seed", &seed_text, "--"])
        .args(node_flags)
        .output()
        .unwrap_or_else(|e| panic!("cannot run glomers: {e}"));
    let run = std::fs::canonicalize(s.join("latest")).unwrap_or_default();
    let results: Value = std::fs::read_to_string(run.join("results.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let ok = out.status.success()
        || (longest_majority_up(&run, nodes) < 5.0
            && results.get("error").is_none()
            && results["workload"]["valid"] == "valid");
    let logs = std::fs::read_dir(run.join("node-logs"))
        .into_iter()
        .flatten();
    let installed = logs
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
        .map(|t| t.matches("snapshot installed").count())
        .sum();
    let _ = std::fs::remove_dir_all(&s);
    (ok, installed, text(&out))
}

#[test]
fn with_compaction_every_8_entries_raft_stays_valid_and_followers_install_snapshots() {
    let list_append = [
        "-w",
        "txn-list-append",
        "--bin",
        "txn-list-append",
        "--node-count",
        "3",
        "--concurrency",
        "2n",
        "--time-limit",
        "30",
        "--rate",
        "100",
        "--nemesis-interval",
        "5",
    ];
    let faults = ["--nemesis", "partition,kill,pause", "--durable"];
    let compact = ["--compact-every", "8"];
    for (workload, seeds) in [(guide("3"), 1..=4), (list_append.to_vec(), 1..=2)] {
        let mut args = workload;
        args.extend(faults);
        let mut installed = 0;
        for seed in seeds {
            let (ok, n, out) = logged_run("compact", &args, &compact, seed, 3);
            assert!(ok, "{args:?} seed {seed}: {out}");
            installed += n;
        }
        assert!(installed > 0, "{args:?}: no snapshot installed");
    }
}

/// Every fault, each about every 3 s.
const EVERY_FAULT: &[&str] = &[
    "--nemesis",
    "partition,kill,pause,partition-oneway,duplicate,clock",
    "--nemesis-interval",
    "3",
];
/// Partitions only, about every 3 s.
const PARTITIONS: &[&str] = &["--nemesis", "partition", "--nemesis-interval", "3"];

/// A swarm of `seeds` on three nodes under `faults`; the kept (failing) runs, and the
/// swarm's output.
fn swarm(
    tag: &str,
    workload: &[&str],
    faults: &[&str],
    seeds: &str,
    node_flags: &[&str],
) -> (PathBuf, Vec<(PathBuf, Value)>, String) {
    let s = store(tag);
    let mut args = workload.to_vec();
    args.extend(["--node-count", "3", "--time-limit", "30"]);
    args.extend(faults);
    args.extend(["--seeds", seeds]);
    args.extend(node_flags);
    let out = sim(&s, &args);
    let code = out.status.code().unwrap_or(-1);
    assert!(code != 254 && code != 255, "{args:?}: {}", text(&out));
    let name = workload.get(1).copied().unwrap_or_default();
    let runs = kept(&s, name);
    (s, runs, text(&out))
}

const LIN_KV: &[&str] = &[
    "-w",
    "lin-kv",
    "--bin",
    "lin-kv",
    "--concurrency",
    "4n",
    "--rate",
    "30",
];
const LIST_APPEND: &[&str] = &[
    "-w",
    "txn-list-append",
    "--bin",
    "txn-list-append",
    "--concurrency",
    "2n",
    "--rate",
    "100",
];

#[test]
fn a_swarm_with_every_fault_and_durable_state_keeps_raft_safe() {
    let runs = [(LIN_KV, "0..300", 300), (LIST_APPEND, "0..100", 100)];
    // As configured, and compacting every 8 entries (snapshots sent and restored).
    let flags: [&[&str]; 2] = [&["--durable"], &["--durable", "--", "--compact-every", "8"]];
    for ((workload, seeds, total), flags) in runs.into_iter().flat_map(|r| flags.map(|f| (r, f))) {
        let (s, failing, out) = swarm("swarm", workload, EVERY_FAULT, seeds, flags);
        assert!(out.contains("seeds,"), "{out}");
        for (run, results) in &failing {
            // A schedule may keep a majority down, or the network split, for the whole
            // run (no request can succeed): only safety is required of every seed.
            assert!(
                results.get("error").is_none() && results["workload"]["valid"] != "invalid",
                "{}: {results}",
                run.display()
            );
        }
        assert!(
            failing.len() * 10 < total,
            "fewer than one seed in ten may starve: {} of {total}",
            failing.len()
        );
        let _ = std::fs::remove_dir_all(&s);
    }
}

#[test]
fn the_swarm_catches_a_raft_that_votes_without_the_up_to_date_check() {
    let (s, failing, out) = swarm(
        "broken",
        LIN_KV,
        EVERY_FAULT,
        "0..40",
        &["--durable", "--", "--broken", "vote-ignores-log"],
    );
    let caught: Vec<_> = failing
        .iter()
        .filter_map(|(_, r)| r.get("error").and_then(Value::as_str))
        .filter(|e| e.contains("invariant violated"))
        .collect();
    assert!(!caught.is_empty(), "no seed caught the broken vote: {out}");
    assert!(
        caught
            .iter()
            .any(|e| e.contains("leader completeness") || e.contains("committed")),
        "{caught:?}"
    );
    assert!(failing.iter().all(|(_, r)| r["valid"] != true));
    let _ = std::fs::remove_dir_all(&s);
}

/// Whether a kept run's lin-kv checker found a nonlinearizable history (and the invariant
/// checks nothing).
fn stale_read_found(results: &Value) -> bool {
    let anomalies = results["workload"]["details"]["anomalies"].as_array();
    results.get("error").is_none()
        && results["workload"]["valid"] == "invalid"
        && anomalies.is_some_and(|a| a.iter().any(|x| x["kind"] == "nonlinearizable"))
}

/// A leader cut off by a partition that keeps serving reads from its own state (no quorum
/// round, no check-quorum step-down, no freshness check on arrival: `Fault::
/// ReadsWithoutQuorum`) while the majority elects another leader and writes: lin-kv's
/// checker finds the stale reads. The correct node is linearizable on the same seeds.
#[test]
fn the_swarm_catches_a_raft_that_reads_without_a_quorum_round() {
    let seeds = "0..40";
    let broken = ["--", "--broken", "reads-without-quorum"];
    let (s, failing, out) = swarm("stale", LIN_KV, PARTITIONS, seeds, &broken);
    let caught = failing.iter().filter(|(_, r)| stale_read_found(r)).count();
    // 16 of the 40 seeds when written.
    assert!(caught >= 5, "{caught} stale-read seeds of 40: {out}");
    let _ = std::fs::remove_dir_all(&s);
    let (s, failing, out) = swarm("fresh", LIN_KV, PARTITIONS, seeds, &[]);
    assert!(out.contains("seeds,"), "{out}");
    for (run, results) in &failing {
        assert!(
            results.get("error").is_none() && results["workload"]["valid"] != "invalid",
            "{}: {results}",
            run.display()
        );
    }
    let _ = std::fs::remove_dir_all(&s);
}

#[test]
fn maelstroms_wiping_kill_makes_raft_unsafe_and_durable_state_keeps_it_safe() {
    let kill = [
        "-w",
        "lin-kv",
        "--bin",
        "lin-kv",
        "--node-count",
        "3",
        "--concurrency",
        "4n",
        "--rate",
        "30",
        "--time-limit",
        "30",
        "--nemesis",
        "kill",
        "--nemesis-interval",
        "3",
        "--seeds",
        "0..20",
    ];
    let wiped = store("wiped");
    let out = sim(&wiped, &kill);
    let violations: Vec<String> = kept(&wiped, "lin-kv")
        .iter()
        .filter_map(|(_, r)| r.get("error").and_then(Value::as_str).map(str::to_owned))
        .filter(|e| e.contains("invariant violated"))
        .collect();
    assert!(
        violations.len() >= 5,
        "a restarted, empty node votes a stale leader in: {}",
        text(&out)
    );
    let durable = store("kept");
    let mut args = kill.to_vec();
    args.push("--durable");
    let out = sim(&durable, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&wiped);
    let _ = std::fs::remove_dir_all(&durable);
}
