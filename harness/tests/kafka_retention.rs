//! Kafka retention end to end, in the simulator: the kafka node forgets what its clients
//! have read (`--retention consumed`, the default) and stays valid, with and without
//! faults; a node that forgets everything below the committed offset
//! (`--retention below-committed`, deliberately broken) is caught by the checker. The low
//! rate keeps keys alive for tens of seconds, long enough for a reader to lag behind
//! another's commit, which is where a careless retention shows.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn store(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glomers-retention-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `glomers sim` of the kafka line at `rate` with `extra` arguments: the exit code and
/// the output.
fn sim(store: &Path, rate: &str, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glomers"))
        .arg("sim")
        .args(["--store", store.to_str().unwrap_or_default()])
        .args(["-w", "kafka", "--bin", "kafka", "--node-count", "2"])
        .args(["--concurrency", "2n", "--time-limit", "60", "--rate", rate])
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("cannot run glomers: {e}"));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn bad_error_types(store: &Path) -> Vec<String> {
    let text =
        std::fs::read_to_string(store.join("latest").join("results.json")).unwrap_or_default();
    let results: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    results["workload"]["details"]["bad_error_types"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn consumed_retention_stays_valid_with_and_without_faults() {
    let s = store("consumed");
    for (rate, seeds, faults) in [
        ("20", "1..11", &[][..]),
        ("20", "1..11", &["--nemesis", "partition,pause"][..]),
        (
            "20",
            "1..11",
            &["--nemesis", "partition,kill,pause", "--durable"][..],
        ),
        (
            "1000",
            "1..3",
            &["--nemesis", "partition,kill,pause", "--durable"][..],
        ),
    ] {
        let mut args = vec!["--seeds", seeds];
        args.extend(faults);
        let (code, out) = sim(&s, rate, &args);
        assert_eq!(code, 0, "rate {rate} {faults:?}: {out}");
    }
    let _ = std::fs::remove_dir_all(&s);
}

#[test]
fn forgetting_below_the_committed_offset_is_caught() {
    for seed in ["1", "2", "3"] {
        let s = store(&format!("broken-{seed}"));
        let (code, out) = sim(
            &s,
            "20",
            &["--seed", seed, "--", "--retention", "below-committed"],
        );
        assert_eq!(code, 1, "seed {seed}: {out}");
        assert!(
            bad_error_types(&s).iter().any(|t| t == "poll-skip"),
            "seed {seed}: a reader behind the commit skips what was dropped: {out}"
        );
        // The same seed with the default retention is valid.
        let (code, out) = sim(&s, "20", &["--seed", seed]);
        assert_eq!(code, 0, "seed {seed}: {out}");
        let _ = std::fs::remove_dir_all(&s);
    }
}
