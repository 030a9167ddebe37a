//! The simulator end to end, through the built `glomers`: a seed replays byte for byte,
//! each broadcast mode meets its targets on the 3d/3e line, and glomers' nodes stay valid
//! under partitions on several seeds. Figures come from the runs' `results.json` (a
//! deterministic model, not a stopwatch).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn store(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glomers-sim-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs `glomers sim` with `args` into `store`; returns the exit code and the run folder.
fn sim(store: &Path, args: &[&str]) -> (i32, PathBuf) {
    let out = Command::new(env!("CARGO_BIN_EXE_glomers"))
        .arg("sim")
        .args(["--store", store.to_str().unwrap_or_default()])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run glomers: {e}"));
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code != 255 && code != 254,
        "glomers sim {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = std::fs::canonicalize(store.join("latest"))
        .unwrap_or_else(|e| panic!("no run folder: {e}"));
    (code, dir)
}

fn results(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("results.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

const LINE_3C: &[&str] = &[
    "-w",
    "broadcast",
    "--bin",
    "broadcast",
    "--node-count",
    "5",
    "--time-limit",
    "20",
    "--rate",
    "10",
    "--nemesis",
    "partition",
];

#[test]
fn a_seed_replays_byte_for_byte() {
    let s = store("replay");
    let mut args = LINE_3C.to_vec();
    args.extend(["--seed", "7"]);
    let (_, first) = sim(&s, &args);
    let files = [
        "history.jsonl",
        "results.json",
        "messages.jsonl",
        "node-logs/n0.log",
        "node-logs/n3.log",
    ];
    let before: Vec<Vec<u8>> = files.iter().map(|f| read(&first, f)).collect();
    assert!(
        before[0].len() > 1000 && before[2].len() > 1000,
        "the run did something"
    );
    let (_, second) = sim(&s, &args);
    assert_ne!(first, second, "two run folders");
    for (f, old) in files.iter().zip(&before) {
        assert!(
            read(&second, f) == *old,
            "{f} differs between two runs of one seed"
        );
    }
    args.pop();
    args.push("8");
    let (_, other) = sim(&s, &args);
    assert!(
        read(&other, "history.jsonl") != before[0],
        "another seed, another run"
    );
    let _ = std::fs::remove_dir_all(&s);
}

/// One broadcast mode on the 3d/3e line: (servers msgs-per-op, stable median, stable max).
fn broadcast_mode(mode: &str) -> (f64, f64, f64) {
    let s = store(mode);
    let (code, dir) = sim(
        &s,
        &[
            "-w",
            "broadcast",
            "--bin",
            "broadcast",
            "--node-count",
            "25",
            "--time-limit",
            "20",
            "--rate",
            "100",
            "--latency",
            "100",
            "--seed",
            "1",
            "--",
            "--mode",
            mode,
        ],
    );
    let r = results(&dir);
    assert_eq!(code, 0, "{mode}: {}", r["workload"]["problems"]);
    let f = |p: &str| r.pointer(p).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let figures = (
        f("/net/servers/msgs_per_op"),
        f("/workload/details/stable_latencies/0.5"),
        f("/workload/details/stable_latencies/1"),
    );
    let _ = std::fs::remove_dir_all(&s);
    figures
}

#[test]
fn each_broadcast_mode_meets_its_targets_on_the_3d_line() {
    for (mode, msgs, median, max) in [
        ("latency", 12.5, 100.0, 150.0),
        ("balanced", 5.0, 300.0, 400.0),
        ("messages", 1.2, 600.0, 900.0),
    ] {
        let (m, p50, top) = broadcast_mode(mode);
        assert!(m <= msgs, "{mode}: {m} servers msgs-per-op, target {msgs}");
        assert!(
            p50 <= median && top <= max,
            "{mode}: stable {p50} / {top} ms, targets {median} / {max}"
        );
    }
}

#[test]
fn nodes_stay_valid_under_partitions_on_several_seeds() {
    let lines: [&[&str]; 4] = [
        LINE_3C,
        &[
            "-w",
            "g-counter",
            "--bin",
            "g-counter",
            "--node-count",
            "3",
            "--rate",
            "100",
            "--time-limit",
            "20",
            "--nemesis",
            "partition",
        ],
        &[
            "-w",
            "g-counter",
            "--bin",
            "g-counter",
            "--node-count",
            "3",
            "--rate",
            "100",
            "--time-limit",
            "20",
            "--nemesis",
            "partition",
            "--",
            "--mode",
            "crdt",
        ],
        &[
            "-w",
            "txn-rw-register",
            "--bin",
            "txn",
            "--node-count",
            "2",
            "--concurrency",
            "2n",
            "--time-limit",
            "20",
            "--rate",
            "1000",
            "--consistency-models",
            "read-committed",
            "--availability",
            "total",
            "--nemesis",
            "partition",
        ],
    ];
    for line in lines {
        for seed in ["1", "2", "3"] {
            let s = store("partitions");
            let mut args = line.to_vec();
            let at = args.iter().position(|a| *a == "--").unwrap_or(args.len());
            args.splice(at..at, ["--seed", seed]);
            let (code, dir) = sim(&s, &args);
            assert_eq!(
                code,
                0,
                "{args:?}: {}",
                results(&dir)["workload"]["problems"]
            );
            let _ = std::fs::remove_dir_all(&s);
        }
    }
}
