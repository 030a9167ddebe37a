//! glomers' own g-set and pn-counter nodes end to end: in the simulator under partitions
//! on many seeds (valid), with the deliberately broken `--no-resend` variant (a lost delta
//! is never re-sent; rejected by the checkers), on the CRDT guide's command line (the
//! guide's message cost at a fraction of its latency), and once each as real processes.
//! Figures come from the runs' `results.json`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;

/// An empty store folder for one test.
fn store(tag: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("crdt-nodes-{tag}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs `glomers VERB args` into `store`; returns the exit code and the output.
fn glomers(verb: &str, store: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glomers"))
        .arg(verb)
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run glomers: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The latest run's `results.json` in `store`.
fn results(store: &Path) -> Value {
    let text = std::fs::read_to_string(store.join("latest/results.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The kinds of the anomalies the workload checker reported.
fn anomaly_kinds(r: &Value) -> Vec<String> {
    r["workload"]["details"]["anomalies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["kind"].as_str().map(str::to_owned))
        .collect()
}

/// `-w W --bin W` on 5 nodes for 30 s at 20 ops/s, partitions every 5 s or so.
fn partition_line(workload: &'static str) -> Vec<&'static str> {
    vec![
        "-w",
        workload,
        "--bin",
        workload,
        "--node-count",
        "5",
        "--rate",
        "20",
        "--time-limit",
        "30",
        "--nemesis",
        "partition",
        "--nemesis-interval",
        "5",
    ]
}

#[test]
fn both_nodes_stay_valid_under_partitions_on_every_seed_and_topology() {
    for workload in ["g-set", "pn-counter"] {
        for node_flags in [&[][..], &["--", "--topology", "mesh"][..]] {
            let s = store(&format!("swarm-{workload}"));
            let mut args = partition_line(workload);
            args.extend(["--seeds", "1..21"]);
            args.extend(node_flags);
            let (code, out) = glomers("sim", &s, &args);
            assert_eq!(code, 0, "{args:?}: {out}");
            assert!(out.contains("20 seeds, 0 failing"), "{out}");
            let _ = std::fs::remove_dir_all(&s);
        }
    }
}

#[test]
fn both_nodes_survive_kills_with_their_data_directory_and_not_without() {
    for workload in ["g-set", "pn-counter"] {
        let s = store(&format!("kill-{workload}"));
        let mut args = partition_line(workload);
        for (flag, value) in [
            ("--nemesis", "partition,kill,pause"),
            ("--nemesis-interval", "3"),
        ] {
            let at = args.iter().position(|a| *a == flag).expect("in the line");
            args[at + 1] = value;
        }
        args.extend(["--seeds", "1..21"]);
        let mut durable = args.clone();
        durable.push("--durable");
        let (code, out) = glomers("sim", &s, &durable);
        assert_eq!(code, 0, "{durable:?}: {out}");
        assert!(out.contains("20 seeds, 0 failing"), "{out}");
        // Maelstrom's kill wipes what a node acknowledged and had not gossiped yet.
        let (code, out) = glomers("sim", &s, &args);
        assert_eq!(code, 1, "{args:?}: {out}");
        let _ = std::fs::remove_dir_all(&s);
    }
}

#[test]
fn a_g_set_that_never_resends_loses_elements_and_is_rejected() {
    let s = store("g-set-broken");
    let mut args = partition_line("g-set");
    args.extend(["--seed", "2"]);
    let (code, out) = glomers("sim", &s, &args);
    assert_eq!(code, 0, "the correct node first: {out}");
    assert_eq!(results(&s)["workload"]["details"]["lost_count"], 0);
    args.extend(["--", "--no-resend"]);
    let (code, out) = glomers("sim", &s, &args);
    let r = results(&s);
    assert_eq!(code, 1, "{out}");
    assert!(
        r["workload"]["details"]["lost_count"].as_u64().unwrap_or(0) > 0,
        "{}",
        r["workload"]
    );
    let kinds = anomaly_kinds(&r);
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| k == "lost"),
        "{kinds:?}"
    );
    let _ = std::fs::remove_dir_all(&s);
}

#[test]
fn a_pn_counter_that_never_resends_reads_outside_the_acceptable_range() {
    let s = store("pn-broken");
    let mut args = partition_line("pn-counter");
    args.extend(["--seed", "2"]);
    let (code, out) = glomers("sim", &s, &args);
    assert_eq!(code, 0, "the correct node first: {out}");
    args.extend(["--", "--no-resend"]);
    let (code, out) = glomers("sim", &s, &args);
    let r = results(&s);
    assert_eq!(code, 1, "{out}");
    let kinds = anomaly_kinds(&r);
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| k == "unacceptable-read"),
        "{kinds:?}"
    );
    let _ = std::fs::remove_dir_all(&s);
}

/// The CRDT guide's figures (Maelstrom `doc/04-crdts/01-g-set.md`, replication of the
/// whole set every 5 s): 0.099 servers msgs-per-op, about 2.5 s median and 5 s maximum
/// stable latency.
const GUIDE: (f64, f64, f64) = (0.099, 2500.0, 5000.0);

#[test]
fn on_the_guide_line_the_g_set_matches_its_message_cost_at_a_fraction_of_its_latency() {
    for seed in ["1", "2", "3"] {
        let s = store("guide");
        let args = [
            "-w",
            "g-set",
            "--bin",
            "g-set",
            "--node-count",
            "5",
            "--rate",
            "100",
            "--time-limit",
            "10",
            "--seed",
            seed,
        ];
        let (code, out) = glomers("sim", &s, &args);
        assert_eq!(code, 0, "{out}");
        let r = results(&s);
        let f = |p: &str| r.pointer(p).and_then(Value::as_f64).unwrap_or(f64::NAN);
        let msgs = f("/net/servers/msgs_per_op");
        let (median, max) = (
            f("/workload/details/stable_latencies/0.5"),
            f("/workload/details/stable_latencies/1"),
        );
        assert!(msgs <= GUIDE.0, "seed {seed}: {msgs} msgs-per-op");
        assert!(
            median <= GUIDE.1 / 4.0 && max <= GUIDE.2 / 4.0,
            "seed {seed}: stable {median} / {max} ms"
        );
        let _ = std::fs::remove_dir_all(&s);
    }
}

/// The directory of the workspace's binaries for this test's profile, with the g-set and
/// pn-counter nodes built into it.
fn node_bins() -> PathBuf {
    common::shell_bins(&["g-set", "pn-counter"])
}

#[test]
fn as_processes_both_nodes_are_valid_under_partitions() {
    let bins = node_bins();
    for workload in ["g-set", "pn-counter"] {
        let s = store(&format!("process-{workload}"));
        let bin = bins.join(workload);
        let bin = bin.to_str().expect("utf-8");
        let args = [
            "-w",
            workload,
            "--bin",
            bin,
            "--node-count",
            "5",
            "--rate",
            "50",
            "--time-limit",
            "8",
            "--recovery",
            "5",
            "--nemesis",
            "partition",
            "--nemesis-interval",
            "2",
            "--seed",
            "1",
        ];
        let (code, out) = glomers("test", &s, &args);
        assert_eq!(code, 0, "{workload}: {out}");
        let r = results(&s);
        assert!(
            r["net"]["servers"]["msg_count"].as_u64().unwrap_or(0) > 0,
            "the nodes gossiped: {}",
            r["net"]
        );
        let _ = std::fs::remove_dir_all(&s);
    }
}
