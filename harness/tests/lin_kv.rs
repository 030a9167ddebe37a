//! End-to-end checks of the lin-kv workload: `glomers test -w lin-kv` against small Python
//! nodes (tests/mutants/). A proxy that forwards every request to the harness's own
//! `lin-kv` service must pass (exit 0); a node that reads from a local copy and a node
//! whose cas is a read then a blind write must fail (exit 1) with a `nonlinearizable`
//! anomaly in `results.json`, and the run folder must hold the anomaly's timeline.
//!
//! Each run: 2 nodes, 4 threads (one group: two readers, two writers on different nodes),
//! 3 s at 200 ops/s, 10 ms latency so that operations overlap.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Run {
    code: Option<i32>,
    results: Value,
    dir: PathBuf,
    output: String,
}

fn mutant(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mutants")
        .join(name)
}

fn run(node: &str, extra: &[&str]) -> Run {
    let store = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lin-kv-{node}"));
    let _ = std::fs::remove_dir_all(&store);
    let out = Command::new(env!("CARGO_BIN_EXE_glomers"))
        .args(["test", "-w", "lin-kv", "--bin"])
        .arg(mutant(node))
        .args(["--node-count", "2", "--concurrency", "2n", "--rate", "200"])
        .args(["--time-limit", "3", "--latency", "10", "--seed", "7"])
        .args(["--init-timeout", "60", "--store"])
        .arg(&store)
        .args(extra)
        .output()
        .expect("glomers runs");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = store.join("lin-kv").join("latest");
    let results = std::fs::read_to_string(dir.join("results.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| panic!("no results.json in {dir:?}; output:\n{output}"));
    Run {
        code: out.status.code(),
        results,
        dir,
        output,
    }
}

fn details(r: &Run) -> &Value {
    &r.results["workload"]["details"]
}

fn assert_nonlinearizable(r: &Run) {
    assert_eq!(r.code, Some(1), "expected an invalid run:\n{}", r.output);
    assert_eq!(r.results["workload"]["valid"], "invalid");
    let anomalies = details(r)["anomalies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let a = anomalies
        .iter()
        .find(|a| a["kind"] == "nonlinearizable")
        .unwrap_or_else(|| panic!("no nonlinearizable anomaly:\n{}", r.output));
    let ops = a["ops"].as_array().map(Vec::len).unwrap_or(0);
    assert!(ops >= 1, "{a}");
    assert!(
        a["unorderable"].as_array().is_some_and(|u| !u.is_empty()),
        "{a}"
    );
    let plot = a["plot"].as_str().unwrap_or_default();
    let svg = std::fs::read_to_string(r.dir.join(plot)).unwrap_or_default();
    assert!(svg.contains("cannot be ordered"), "timeline {plot}:\n{svg}");
}

#[test]
fn a_proxy_to_the_lin_kv_service_is_linearizable() {
    let r = run(
        "lin_kv_proxy.py",
        &["--nemesis", "partition", "--nemesis-interval", "1"],
    );
    assert_eq!(r.code, Some(0), "expected a valid run:\n{}", r.output);
    let d = details(&r);
    assert_eq!(d["anomalies"], serde_json::json!([]));
    // The run did something: hundreds of operations, all three kinds succeeding.
    assert!(d["op_count"].as_u64() > Some(300), "{d}");
    let by_f = &r.results["stats"]["details"]["by_f"];
    for f in ["read", "write", "cas"] {
        assert!(by_f[f]["ok_count"].as_u64() > Some(10), "{f}: {by_f}");
    }
}

#[test]
fn reads_from_a_local_copy_are_nonlinearizable() {
    assert_nonlinearizable(&run("lin_kv_local_read.py", &[]));
}

#[test]
fn a_cas_that_reads_then_writes_is_nonlinearizable() {
    assert_nonlinearizable(&run("lin_kv_lost_cas.py", &[]));
}
