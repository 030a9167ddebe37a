//! End-to-end runs of the built `glomers` against Python node mutants: each correct node
//! must pass, each mutant must fail with the expected anomaly in results.json, bad output
//! and early exits must be reported, and no node process may survive a run.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn mutant(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mutants")
        .join(name)
}

fn store(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glomers-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

struct Run {
    code: i32,
    results: Value,
    stdout: String,
    stderr: String,
}

/// One run at a time: on a loaded 2-core machine, parallel runs starting several Python
/// nodes each can miss Maelstrom's 10 s init deadline.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `glomers test` with `args` plus a private store; reads the run's results.json.
fn run(tag: &str, args: &[&str]) -> Run {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let st = store(tag);
    let out = Command::new(env!("CARGO_BIN_EXE_glomers"))
        .arg("test")
        .args(["--store", st.to_str().unwrap_or_default()])
        .args(["--init-timeout", "60"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run glomers: {e}"));
    let results = std::fs::read_to_string(st.join("latest/results.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    let history = std::fs::read_to_string(st.join("latest/history.jsonl")).unwrap_or_default();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        results,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned() + &history,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let _ = std::fs::remove_dir_all(&st);
    r
}

fn quick<'a>(bin: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--bin", bin, "--time-limit", "3", "--recovery", "1"];
    v.extend_from_slice(extra);
    v
}

/// A short run (see [`quick`]) of the node program `file` from tests/mutants with `args`.
fn run_node(tag: &str, file: &str, args: &[&str]) -> Run {
    let path = mutant(file);
    run(tag, &quick(path.to_str().unwrap_or_default(), args))
}

impl Run {
    /// Asserts the exit code, showing the run's output when it differs.
    fn expect_code(&self, code: i32) {
        assert_eq!(self.code, code, "{}{}", self.stdout, self.stderr);
    }

    /// The workload checker's count `name` in `details` (0 when absent).
    fn count(&self, name: &str) -> u64 {
        self.results["workload"]["details"][name]
            .as_u64()
            .unwrap_or(0)
    }
}

#[test]
fn echo_correct_passes_and_wrong_body_fails() {
    let args = ["-w", "echo", "--node-count", "1"];
    let r = run_node("echo-ok", "echo_ok.py", &args);
    r.expect_code(0);
    assert_eq!(r.results["valid"], "valid");
    assert!(
        r.results["stats"]["details"]["ok_count"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );

    let r = run_node("echo-bad", "echo_wrong_body.py", &args);
    r.expect_code(1);
    assert_eq!(r.results["workload"]["valid"], "invalid");
    let problems = r.results["workload"]["problems"].to_string();
    assert!(problems.contains('!'), "{problems}");
}

#[test]
fn unique_ids_correct_passes_and_repeats_fail() {
    let args = [
        "-w",
        "unique-ids",
        "--node-count",
        "3",
        "--rate",
        "50",
        "--availability",
        "total",
        "--nemesis",
        "partition",
    ];
    let r = run_node("ids-ok", "unique_ids_ok.py", &args);
    r.expect_code(0);
    assert_eq!(r.results["workload"]["details"]["duplicated_count"], 0);

    let r = run_node("ids-bad", "unique_ids_repeat.py", &args);
    r.expect_code(1);
    assert!(r.count("duplicated_count") > 0);
}

fn broadcast(tag: &str, mode: &str, partition: bool) -> Run {
    let mut args = vec![
        "-w",
        "broadcast",
        "--node-count",
        "3",
        "--rate",
        "20",
        "--seed",
        "5",
    ];
    if partition {
        args.extend(["--nemesis", "partition", "--nemesis-interval", "1"]);
    }
    args.push(mode);
    run_node(tag, "broadcast_node.py", &args)
}

#[test]
fn broadcast_gossip_survives_partitions() {
    let r = broadcast("bc-gossip", "gossip", true);
    r.expect_code(0);
    assert!(r.count("stable_count") > 0);
    assert!(
        r.stdout.contains("start-partition"),
        "nemesis ops are in the history"
    );
}

#[test]
fn broadcast_that_never_forwards_loses_values() {
    let r = broadcast("bc-local", "local", false);
    r.expect_code(1);
    assert!(r.count("lost_count") > 0);
}

#[test]
fn broadcast_without_retries_loses_values_across_partitions() {
    let r = broadcast("bc-once", "once", true);
    r.expect_code(1);
    assert!(r.count("lost_count") > 0);
    let healthy = broadcast("bc-once-healthy", "once", false);
    assert_eq!(
        healthy.code, 0,
        "without partitions forwarding once is enough: {}",
        healthy.stdout
    );
}

#[test]
fn g_counter_crdt_passes_and_local_counting_fails() {
    let mut args = vec![
        "-w",
        "g-counter",
        "--node-count",
        "3",
        "--rate",
        "50",
        "--nemesis",
        "partition",
        "--nemesis-interval",
        "1",
    ];
    args.push("crdt");
    run_node("gc-ok", "g_counter_node.py", &args).expect_code(0);
    args.pop();
    args.push("local");
    let r = run_node("gc-bad", "g_counter_node.py", &args);
    r.expect_code(1);
    assert!(r.results["workload"]["details"]["errors"].is_array());
}

#[test]
fn a_non_json_line_is_reported_with_node_and_line() {
    let r = run_node(
        "bad-line",
        "echo_bad_line.py",
        &["-w", "echo", "--node-count", "1", "--rate", "10"],
    );
    let p = &r.results["node_problems"][0];
    assert_eq!(p["kind"], "bad_line", "{}", r.results);
    assert_eq!(p["node"], "n0");
    assert_eq!(p["line"], "debug: got an echo request");
    assert_eq!(
        r.results["node_problems"].as_array().map(Vec::len),
        Some(1),
        "the pipe stays open, so the node does not die of a broken pipe: {}",
        r.results
    );
    assert!(
        r.stdout.contains("node n0 printed a bad line"),
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 1, "later echoes time out: {}", r.stdout);
}

#[test]
fn a_node_that_exits_early_is_reported_as_crashed() {
    let r = run_node(
        "early-exit",
        "echo_exits_early.py",
        &["-w", "echo", "--node-count", "1", "--rate", "10"],
    );
    assert_eq!(r.code, 255, "{}", r.stdout);
    let p = &r.results["node_problems"][0];
    assert_eq!(p["kind"], "crashed", "{}", r.results);
    assert!(p["status"].to_string().contains('3'), "{p}");
    assert!(p["stderr_tail"].to_string().contains("giving up"), "{p}");
    assert!(r.stdout.contains("node n0 crashed"), "{}", r.stdout);
}

fn processes_running(path: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
                let c = String::from_utf8_lossy(&c).replace('\0', " ");
                if c.contains(path) {
                    found.push(c);
                }
            }
        }
    }
    found
}

#[test]
fn no_node_process_survives_a_run() {
    // A copy under a unique name, next to the module it imports, so that its processes can
    // be told apart from those of other tests.
    let dir = std::env::temp_dir().join(format!("glomers-survivor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let copy = dir.join("survivor_broadcast_node.py");
    for (from, to) in [
        ("broadcast_node.py", copy.clone()),
        ("maelstrom_node.py", dir.join("maelstrom_node.py")),
    ] {
        std::fs::copy(mutant(from), &to).unwrap_or_else(|e| panic!("copy {from}: {e}"));
    }
    let p = copy.to_str().unwrap_or_default().to_owned();
    let r = run(
        "survivor",
        &[
            "--bin",
            &p,
            "-w",
            "broadcast",
            "--node-count",
            "4",
            "--time-limit",
            "2",
            "--recovery",
            "1",
            "--rate",
            "20",
            "gossip",
        ],
    );
    r.expect_code(0);
    let left = processes_running(&p);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(left.is_empty(), "still running: {left:?}");
}

#[test]
fn the_same_seed_gives_the_same_operations() {
    let ok = mutant("echo_ok.py");
    let args = [
        "--bin",
        ok.to_str().unwrap_or_default(),
        "-w",
        "echo",
        "--node-count",
        "1",
        "--time-limit",
        "2",
        "--rate",
        "20",
        "--seed",
        "42",
    ];
    let a = run("seed-a", &args);
    let b = run("seed-b", &args);
    let values = |r: &Run| -> Vec<String> {
        r.stdout
            .lines()
            .filter(|l| l.contains("\"invoke\""))
            .filter_map(|l| l.split("\"value\":").nth(1))
            .map(|s| s.split(',').next().unwrap_or("").to_owned())
            .collect()
    };
    let (va, vb) = (values(&a), values(&b));
    assert!(va.len() > 10, "{va:?}");
    let n = va.len().min(vb.len()) - 2;
    assert_eq!(va[..n], vb[..n]);
    assert_eq!(a.results["seed"], 42);
}

#[test]
fn bad_arguments_exit_254_with_a_clear_message() {
    let r = run("no-bin", &["-w", "echo"]);
    assert_eq!(r.code, 254);
    assert!(r.stderr.contains("Expected a --bin"), "{}", r.stderr);
    let ok = mutant("echo_ok.py");
    let r = run(
        "no-such-workload",
        &["-w", "g-sett", "--bin", ok.to_str().unwrap_or_default()],
    );
    assert_eq!(r.code, 254);
    assert!(r.stderr.contains("unknown workload g-sett"), "{}", r.stderr);
    // lin-kv with Maelstrom's defaults (5 nodes, 5 threads): not whole groups of 2N.
    let r = run(
        "lin-kv",
        &["-w", "lin-kv", "--bin", ok.to_str().unwrap_or_default()],
    );
    assert_eq!(r.code, 254);
    assert!(
        r.stderr.contains("multiple of 2 × node count"),
        "{}",
        r.stderr
    );
    let r = run(
        "bad-flag",
        &[
            "-w",
            "echo",
            "--bin",
            ok.to_str().unwrap_or_default(),
            "--rate",
            "fast",
        ],
    );
    assert_eq!(r.code, 254);
}
