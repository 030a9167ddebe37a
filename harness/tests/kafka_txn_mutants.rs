//! End-to-end checks of the kafka and txn-rw-register workloads: `glomers test` against
//! small single-node Python nodes (tests/mutants/), a correct one and one per deliberate
//! bug. A correct node must pass (exit 0); every mutant must fail (exit 1) with the anomaly
//! its bug produces named in `results.json`.
//!
//! Each run is a few seconds of main phase at 100 ops/s with a fixed seed, so the whole
//! file runs in well under a minute (the runs are independent and run in parallel).

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
    /// The anomaly types the workload checker reported: txn's `anomaly_types`, kafka's
    /// `bad_error_types`.
    fn anomaly_types(&self) -> Vec<String> {
        let details = &self.results["workload"]["details"];
        ["anomaly_types", "bad_error_types"]
            .iter()
            .flat_map(|field| details[*field].as_array().cloned().unwrap_or_default())
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect()
    }
}

fn mutant(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mutants")
        .join(name)
}

/// A fresh store folder for one run, removed first if an earlier run left it.
fn store(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kafka-txn-mutants-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(workload: &str, node: &str, extra: &[&str]) -> Run {
    let dir = store(node);
    let out = Command::new(env!("CARGO_BIN_EXE_glomers"))
        .args(["test", "-w", workload, "--bin"])
        .arg(mutant(node))
        .args([
            "--node-count",
            "1",
            "--rate",
            "100",
            "--seed",
            "42",
            "--store",
        ])
        .arg(&dir)
        .args(extra)
        .output()
        .expect("glomers runs");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let results_path = dir.join(workload).join("latest").join("results.json");
    let results = std::fs::read_to_string(&results_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| panic!("no results.json at {results_path:?}; output:\n{output}"));
    Run {
        code: out.status.code(),
        results,
        output,
    }
}

fn txn(node: &str) -> Run {
    run(
        "txn-rw-register",
        node,
        &["--time-limit", "3", "--concurrency", "4"],
    )
}

fn kafka(node: &str) -> Run {
    run(
        "kafka",
        node,
        &["--time-limit", "3", "--concurrency", "2", "--recovery", "0"],
    )
}

fn assert_valid(r: &Run) {
    assert_eq!(r.code, Some(0), "expected a valid run:\n{}", r.output);
    assert_eq!(r.results["valid"], "valid");
    assert!(r.anomaly_types().is_empty(), "{:?}", r.anomaly_types());
}

fn assert_invalid_with(r: &Run, anomaly: &str) {
    assert_eq!(r.code, Some(1), "expected an invalid run:\n{}", r.output);
    assert_eq!(r.results["valid"], "invalid");
    assert!(
        r.anomaly_types().iter().any(|t| t == anomaly),
        "expected {anomaly} among {:?}:\n{}",
        r.anomaly_types(),
        r.output
    );
}

#[test]
fn txn_correct_node_is_valid() {
    let r = txn("txn_correct.py");
    assert_valid(&r);
    // The run did something: committed transactions with dependencies between them.
    let details = &r.results["workload"]["details"];
    assert!(details["txn_count"]["ok"].as_u64() > Some(100), "{details}");
    assert!(details["edges"]["wr"].as_u64() > Some(10), "{details}");
}

#[test]
fn txn_aborted_write_is_g1a() {
    assert_invalid_with(&txn("txn_aborted_write.py"), "G1a");
}

#[test]
fn txn_intermediate_write_is_g1b() {
    assert_invalid_with(&txn("txn_intermediate_write.py"), "G1b");
}

#[test]
fn txn_write_cycle_is_g1c() {
    assert_invalid_with(&txn("txn_write_cycle.py"), "G1c");
}

#[test]
fn kafka_correct_node_is_valid() {
    let r = kafka("kafka_correct.py");
    assert_valid(&r);
    assert_eq!(
        r.results["workload"]["details"]["error_types"],
        serde_json::json!([])
    );
}

#[test]
fn kafka_reused_offset_is_inconsistent_offsets() {
    assert_invalid_with(&kafka("kafka_reuse_offset.py"), "inconsistent-offsets");
}

#[test]
fn kafka_skipped_message_is_int_poll_skip() {
    assert_invalid_with(&kafka("kafka_skip.py"), "int-poll-skip");
}

#[test]
fn kafka_offsets_out_of_order_are_int_nonmonotonic_poll() {
    assert_invalid_with(&kafka("kafka_out_of_order.py"), "int-nonmonotonic-poll");
}
