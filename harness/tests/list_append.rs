//! End-to-end checks of the txn-list-append workload: `glomers test` against small
//! single-node Python nodes (tests/mutants/append_*.py), a correct one and one per
//! deliberate bug. The correct node must pass (exit 0); each mutant must fail (exit 1)
//! with the anomaly its bug produces named in `results.json`, and pass under a model
//! that allows that anomaly.
//!
//! Each run is 3 s of main phase at 100 ops/s over 4 client threads, with a fixed seed.

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
    fn details(&self) -> &Value {
        &self.results["workload"]["details"]
    }

    fn anomaly_types(&self) -> Vec<String> {
        self.details()["anomaly_types"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect()
    }

    fn assert_valid(&self) {
        assert_eq!(self.code, Some(0), "expected a valid run:\n{}", self.output);
        assert_eq!(self.results["valid"], "valid");
        assert!(
            self.anomaly_types().is_empty(),
            "{:?}",
            self.anomaly_types()
        );
    }

    fn assert_invalid_with(&self, anomaly: &str) {
        assert_eq!(
            self.code,
            Some(1),
            "expected an invalid run:\n{}",
            self.output
        );
        assert_eq!(self.results["workload"]["valid"], "invalid");
        assert!(
            self.anomaly_types().iter().any(|t| t == anomaly),
            "expected {anomaly} among {:?}",
            self.anomaly_types()
        );
        // The anomaly is listed with the history indices of its transactions.
        let listed = self.details()["anomalies"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let entry = listed.iter().find(|a| a["kind"] == anomaly);
        assert!(
            entry.is_some_and(|a| a["ops"].as_array().is_some_and(|o| !o.is_empty())),
            "{listed:?}"
        );
    }
}

fn mutant(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mutants")
        .join(name)
}

/// One run at a time: on a loaded 2-core machine, parallel runs of Python nodes can miss
/// the init deadline.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn run(node: &str, tag: &str, models: &str) -> Run {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("list-append-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_glomers"))
        .args(["test", "-w", "txn-list-append", "--bin"])
        .arg(mutant(node))
        .args(["--node-count", "1", "--concurrency", "4", "--rate", "100"])
        .args(["--time-limit", "3", "--seed", "42", "--init-timeout", "60"])
        .args(["--consistency-models", models, "--store"])
        .arg(&dir)
        .output()
        .expect("glomers runs");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join("txn-list-append/latest/results.json");
    let results = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| panic!("no results.json at {path:?}; output:\n{output}"));
    let _ = std::fs::remove_dir_all(&dir);
    Run {
        code: out.status.code(),
        results,
        output,
    }
}

#[test]
fn correct_node_is_strict_serializable() {
    let r = run("append_correct.py", "correct", "strict-serializable");
    r.assert_valid();
    let d = r.details();
    assert!(d["txn_count"]["ok"].as_u64() > Some(100), "{d}");
    assert!(d["edges"]["wr"].as_u64() > Some(10), "{d}");
    assert!(d["edges"]["rw"].as_u64() > Some(10), "{d}");
    assert!(d["edges"]["realtime"].as_u64() > Some(10), "{d}");
}

#[test]
fn snapshot_and_merge_is_write_skew() {
    let r = run("append_snapshot_merge.py", "skew-ser", "serializable");
    r.assert_invalid_with("G2-item");
    assert_eq!(r.details()["not"], serde_json::json!(["repeatable-read"]));
    // Snapshot isolation allows write skew, and nothing else happened.
    run("append_snapshot_merge.py", "skew-si", "snapshot-isolation").assert_valid();
}

#[test]
fn exposed_aborted_append_is_g1a() {
    run("append_aborted.py", "aborted", "read-committed").assert_invalid_with("G1a");
    run("append_aborted.py", "aborted-ru", "read-uncommitted").assert_valid();
}

#[test]
fn reply_that_answers_another_request_is_rejected() {
    run("append_wrong_reply.py", "wrong", "read-uncommitted").assert_invalid_with("reply-mismatch");
}
