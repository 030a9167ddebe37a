//! End-to-end runs of the g-set and pn-counter workloads: `glomers test` against small
//! Python nodes (tests/mutants/), a correct one per workload and one per deliberate bug.
//! A correct node must pass (exit 0); each mutant must fail (exit 1) with the anomaly its
//! bug produces in `results.json`'s `workload.details.anomalies`.
//!
//! Each run is 3 nodes, a few seconds of main phase at 20 ops/s, partitions every second
//! or so, a fixed seed, and 1 s of recovery.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// What one `glomers test` run ended with.
struct Run {
    code: Option<i32>,
    results: Value,
    output: String,
}

impl Run {
    fn expect_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "{}", self.output);
    }

    fn details(&self) -> &Value {
        &self.results["workload"]["details"]
    }

    /// The kinds of the anomalies the workload checker reported.
    fn anomaly_kinds(&self) -> Vec<String> {
        self.details()["anomalies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["kind"].as_str().map(str::to_owned))
            .collect()
    }
}

/// One run at a time: on a loaded 2-core machine, parallel runs of several Python nodes
/// each can miss the init deadline.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `node` (a file in tests/mutants) with `mode` as its argument under `workload`.
fn run(workload: &str, node: &str, mode: &str) -> Run {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("crdt-{workload}-{mode}"));
    let _ = std::fs::remove_dir_all(&dir);
    let bin: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mutants")
        .join(node);
    let out = Command::new(env!("CARGO_BIN_EXE_glomers"))
        .args(["test", "-w", workload, "--bin"])
        .arg(&bin)
        .args(["--node-count", "3", "--rate", "20", "--time-limit", "4"])
        .args(["--recovery", "1", "--seed", "7", "--init-timeout", "60"])
        .args(["--nemesis", "partition", "--nemesis-interval", "1"])
        .arg("--store")
        .arg(&dir)
        .arg(mode)
        .output()
        .unwrap_or_else(|e| panic!("cannot run glomers: {e}"));
    let results = std::fs::read_to_string(dir.join("latest/results.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    let run = Run {
        code: out.status.code(),
        results,
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    };
    let _ = std::fs::remove_dir_all(&dir);
    run
}

#[test]
fn g_set_gossiping_its_set_passes() {
    let r = run("g-set", "g_set_node.py", "gossip");
    r.expect_code(0);
    assert!(
        r.details()["stable_count"].as_u64().unwrap_or(0) > 0,
        "{}",
        r.results
    );
    assert_eq!(r.details()["lost_count"], 0);
    assert!(
        r.details()["stable_latencies"]["0.5"].is_u64(),
        "{}",
        r.results
    );
    assert!(r.anomaly_kinds().is_empty());
}

#[test]
fn g_set_sending_each_element_once_loses_elements_across_partitions() {
    let r = run("g-set", "g_set_node.py", "once");
    r.expect_code(1);
    assert!(
        r.details()["lost_count"].as_u64().unwrap_or(0) > 0,
        "{}",
        r.results
    );
    let kinds = r.anomaly_kinds();
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| k == "lost"),
        "{kinds:?}"
    );
}

#[test]
fn pn_counter_crdt_passes() {
    let r = run("pn-counter", "pn_counter_node.py", "crdt");
    r.expect_code(0);
    let finals = r.details()["final_reads"].as_array().map_or(0, Vec::len);
    assert_eq!(finals, 3, "one final read per thread: {}", r.results);
    assert!(r.anomaly_kinds().is_empty());
}

#[test]
fn pn_counter_dropping_negative_deltas_reads_outside_the_acceptable_set() {
    let r = run("pn-counter", "pn_counter_node.py", "drop-negative");
    r.expect_code(1);
    let kinds = r.anomaly_kinds();
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| k == "unacceptable-read"),
        "{kinds:?}"
    );
    assert!(r.details()["errors"].is_array(), "{}", r.results);
}
