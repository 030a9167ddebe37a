//! Each node process's peak memory through the real `glomers`: a Python echo node holding
//! 64 MiB reports a peak of at least that, the project's echo binary far less; a node whose
//! first life held 64 MiB and whose restarted life holds nothing keeps the first life's
//! peak and reports the last life's resident set; a simulated run reports no figure.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
use common::Scratch;

/// What the memory hog holds from its init on, in KiB.
const HOG_KIB: u64 = 64 * 1024;

/// One run at a time: on a loaded 2-core machine, parallel runs can miss their deadlines.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A finished run: exit status, results.json, history, stdout and stderr.
struct Run {
    code: i32,
    results: Value,
    history: Vec<Value>,
    output: String,
}

impl Run {
    /// Node `node`'s figure `field` (`peak_rss_kib` or `last_rss_kib`), 0 when absent.
    fn kib(&self, node: &str, field: &str) -> u64 {
        self.results["node_memory"][node][field]
            .as_u64()
            .unwrap_or(0)
    }

    /// How many nodes nemesis operations `f` left with `outcome`.
    fn outcomes(&self, f: &str, outcome: &str) -> usize {
        self.history
            .iter()
            .filter(|o| o["process"] == "nemesis" && o["f"] == f)
            .flat_map(|o| o["value"].as_object().cloned().unwrap_or_default())
            .filter(|(_, o)| o == outcome)
            .count()
    }

    /// The summary's node memory line, without its label.
    fn memory_line(&self) -> Option<&str> {
        self.output
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("node memory"))
            .map(str::trim)
    }
}

/// `glomers <sub>` (`test` or `sim`) with `args` and a private store.
fn glomers(sub: &str, tag: &str, args: &[&str]) -> Run {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = Scratch::new("mem", tag);
    let store = scratch.0.join("store");
    let mut c = Command::new(env!("CARGO_BIN_EXE_glomers"));
    c.arg(sub).arg("--store").arg(&store).args(args);
    if sub == "test" {
        c.args(["--init-timeout", "60"]);
    }
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("cannot run glomers: {e}"));
    let dir = std::fs::canonicalize(store.join("latest")).unwrap_or(store.join("latest"));
    let results = std::fs::read_to_string(dir.join("results.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    let history = std::fs::read_to_string(dir.join("history.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        results,
        history,
        output: String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr),
    }
}

fn hog() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mutants/echo_memory_hog.py")
        .to_string_lossy()
        .into_owned()
}

/// The project's echo binary, built for this test's profile.
fn echo_bin() -> String {
    common::shell_bins(&["echo"])
        .join("echo")
        .to_string_lossy()
        .into_owned()
}

fn echo_line(bin: &str) -> Vec<&str> {
    let mut v = vec!["-w", "echo", "--bin", bin, "--node-count", "2"];
    v.extend(["--time-limit", "3", "--recovery", "1", "--seed", "1"]);
    v
}

/// The MiB figure after `max` in a summary line such as `peak RSS max 64.9 MiB (n1), ...`.
fn max_mib(line: &str) -> f64 {
    line.split_once("peak RSS max ")
        .and_then(|(_, rest)| rest.split_once(" MiB"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no max figure in {line:?}"))
}

#[test]
fn a_node_holding_64_mib_peaks_above_it_and_the_echo_binary_far_below() {
    let bin = hog();
    let r = glomers("test", "hog", &echo_line(&bin));
    assert_eq!(r.code, 0, "{}", r.output);
    for node in ["n0", "n1"] {
        let (peak, last) = (r.kib(node, "peak_rss_kib"), r.kib(node, "last_rss_kib"));
        assert!(peak >= HOG_KIB, "{node}: peak {peak} KiB, {}", r.results);
        assert!(last >= HOG_KIB, "{node} still holds it: {last} KiB");
    }
    let line = r.memory_line().expect("a node memory line");
    assert!(max_mib(line) >= 64.0, "{line}");
    assert!(
        line.contains("MiB (n") && line.contains(", median "),
        "{line}"
    );

    let bin = echo_bin();
    let r = glomers("test", "echo", &echo_line(&bin));
    assert_eq!(r.code, 0, "{}", r.output);
    for node in ["n0", "n1"] {
        let (peak, last) = (r.kib(node, "peak_rss_kib"), r.kib(node, "last_rss_kib"));
        assert!(peak > 0 && last > 0, "{node}: {}", r.results);
        assert!(peak < HOG_KIB / 4, "{node}: echo peaks at {peak} KiB");
    }
    let line = r.memory_line().expect("a node memory line");
    assert!(max_mib(line) < 16.0, "{line}");
}

/// The hog allocates only in its first life (its data directory survives with
/// `--durable`): the peak is the first life's, the last resident set the last life's.
#[test]
fn a_restarted_node_keeps_the_peak_of_its_earlier_life() {
    let bin = hog();
    let mut args = vec!["-w", "echo", "--bin", &bin, "--node-count", "1"];
    args.extend(["--time-limit", "6", "--recovery", "1", "--seed", "1"]);
    args.extend(["--nemesis", "kill", "--nemesis-interval", "1", "--durable"]);
    let r = glomers("test", "hog-kill", &args);
    assert_ne!(r.code, 255, "{}", r.output);
    assert!(r.outcomes("kill", "killed") > 0, "no kill: {}", r.output);
    assert!(
        r.outcomes("start", "started") > 0,
        "no restart: {}",
        r.output
    );
    let (peak, last) = (r.kib("n0", "peak_rss_kib"), r.kib("n0", "last_rss_kib"));
    assert!(peak >= HOG_KIB, "peak {peak} KiB: {}", r.results);
    assert!(last > 0 && last < HOG_KIB / 2, "last life's {last} KiB");
}

#[test]
fn a_simulated_run_reports_no_node_memory() {
    let r = glomers("sim", "sim", &echo_line("echo"));
    assert_eq!(r.code, 0, "{}", r.output);
    assert!(r.results.is_object(), "results.json: {}", r.output);
    assert_eq!(r.results.get("node_memory"), None, "{}", r.results);
    assert_eq!(r.memory_line(), None, "{}", r.output);
}
