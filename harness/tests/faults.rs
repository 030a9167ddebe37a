//! The nemesis's faults through the real `glomers`: each fault is shown to matter (a small
//! node that is valid without it is invalid with it, and a node built for it stays valid)
//! and to really happen (a killed process restarts as a new process with a second `init`,
//! a paused one is stopped, a duplicate is delivered twice, a skewed clock shows in the ids
//! a node mints), the schedule is the seed's in both modes, a faulty simulation replays
//! byte for byte, and Ctrl-C leaves no node process behind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::Scratch;

fn mutant(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mutants")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// One run at a time: on a loaded 2-core machine, parallel runs starting several Python
/// nodes each can miss their deadlines.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A finished run and its folder.
struct Run {
    code: i32,
    results: Value,
    output: String,
    dir: PathBuf,
    _scratch: Scratch,
}

fn command(sub: &str, scratch: &Scratch, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_glomers"));
    c.arg(sub)
        .args(["--store", &scratch.0.join("store").to_string_lossy()])
        .args(args);
    if sub == "test" {
        c.args(["--init-timeout", "60"]);
    }
    c
}

/// `glomers <sub>` (`test` or `sim`) with `args` and a private store.
fn glomers(sub: &str, tag: &str, args: &[&str]) -> Run {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = Scratch::new("faults", tag);
    let out = command(sub, &scratch, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run glomers: {e}"));
    finished(
        out.status.code().unwrap_or(-1),
        &out.stdout,
        &out.stderr,
        scratch,
    )
}

fn finished(code: i32, stdout: &[u8], stderr: &[u8], scratch: Scratch) -> Run {
    let dir = run_folder(&scratch.0.join("store"));
    let results = std::fs::read_to_string(dir.join("results.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    Run {
        code,
        results,
        output: String::from_utf8_lossy(stdout).into_owned() + &String::from_utf8_lossy(stderr),
        dir,
        _scratch: scratch,
    }
}

/// The run folder of the one run in `store` (its `latest` link, resolved).
fn run_folder(store: &Path) -> PathBuf {
    let latest = store.join("latest");
    std::fs::canonicalize(&latest).unwrap_or(latest)
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

impl Run {
    fn expect_code(&self, code: i32) {
        assert_eq!(self.code, code, "{}", self.output);
    }

    fn count(&self, name: &str) -> u64 {
        self.results["workload"]["details"][name]
            .as_u64()
            .unwrap_or(0)
    }

    fn history(&self) -> Vec<Value> {
        jsonl(&self.dir.join("history.jsonl"))
    }

    /// The nemesis operations: (time in ns, f, value).
    fn nemesis(&self) -> Vec<(u64, String, Value)> {
        self.history()
            .into_iter()
            .filter(|o| o["process"] == "nemesis")
            .map(|o| {
                let f = o["f"].as_str().unwrap_or_default().to_owned();
                (o["time"].as_u64().unwrap_or(0), f, o["value"].clone())
            })
            .collect()
    }

    /// How many nodes nemesis operations `f` left with `outcome`.
    fn outcomes(&self, f: &str, outcome: &str) -> usize {
        self.nemesis()
            .iter()
            .filter(|(_, g, _)| g == f)
            .flat_map(|(_, _, v)| v.as_object().cloned().unwrap_or_default())
            .filter(|(_, o)| o == outcome)
            .count()
    }

    fn messages(&self) -> Vec<Value> {
        jsonl(&self.dir.join("messages.jsonl"))
    }

    fn node_log(&self, node: &str) -> String {
        std::fs::read_to_string(self.dir.join("node-logs").join(format!("{node}.log")))
            .unwrap_or_default()
    }
}

fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

/// The unique-ids line both counter tests run: many workers at a low rate, a fault a second.
fn ids_counter_line(bin: &str) -> Vec<&str> {
    vec![
        "-w",
        "unique-ids",
        "--bin",
        bin,
        "--node-count",
        "2",
        "--concurrency",
        "50n",
        "--rate",
        "20",
        "--time-limit",
        "6",
        "--nemesis-interval",
        "1",
        "--seed",
        "4",
    ]
}

/// Many workers at a low rate: a worker whose request reached a node that was then killed
/// waits out the 5 s client timeout, and the others keep the restarted node busy.
#[test]
fn a_counter_in_memory_is_valid_until_its_node_restarts() {
    let bin = mutant("ids_counter.py");
    let base = ids_counter_line(&bin);
    let r = glomers("test", "ids-healthy", &with(&base, &["memory"]));
    r.expect_code(0);
    assert_eq!(r.count("duplicated_count"), 0);

    let r = glomers(
        "test",
        "ids-kill",
        &with(&base, &["--nemesis", "kill", "memory"]),
    );
    r.expect_code(1);
    assert!(r.count("duplicated_count") > 0, "{}", r.results);
    assert!(r.outcomes("kill", "killed") > 0);
}

#[test]
fn a_counter_on_disk_survives_restarts_only_when_the_run_is_durable() {
    let bin = mutant("ids_counter.py");
    let base = with(&ids_counter_line(&bin), &["--nemesis", "kill"]);
    let r = glomers("test", "disk-durable", &with(&base, &["--durable", "disk"]));
    r.expect_code(0);
    assert!(r.outcomes("start", "started") > 0, "nodes were restarted");
    let kept = std::fs::read_to_string(r.dir.join("data/n0/counter")).unwrap_or_default();
    assert!(kept.trim().parse::<u64>().is_ok_and(|n| n > 0), "{kept:?}");

    let r = glomers("test", "disk-lost", &with(&base, &["disk"]));
    r.expect_code(1);
    assert!(r.count("duplicated_count") > 0, "{}", r.results);
}

/// Many workers, as for the counters: writes acknowledged between restarts are lost at the
/// next kill, and the final reads (after every node is started again) miss them.
#[test]
fn an_acknowledged_write_kept_only_in_memory_is_lost_when_its_node_is_killed() {
    let bin = mutant("broadcast_node.py");
    let base = [
        "-w",
        "broadcast",
        "--bin",
        &bin,
        "--node-count",
        "1",
        "--concurrency",
        "20",
        "--rate",
        "10",
        "--time-limit",
        "8",
        "--recovery",
        "1",
        "--nemesis-interval",
        "1",
        "--seed",
        "2",
    ];
    glomers("test", "mem-healthy", &with(&base, &["gossip"])).expect_code(0);
    let r = glomers(
        "test",
        "mem-kill",
        &with(&base, &["--nemesis", "kill", "gossip"]),
    );
    r.expect_code(1);
    assert!(r.count("lost_count") > 0, "{}", r.results);
}

#[test]
fn a_node_that_assumes_symmetric_links_loses_values_under_oneway_partitions() {
    let base = [
        "-w",
        "broadcast",
        "--node-count",
        "4",
        "--rate",
        "20",
        "--time-limit",
        "5",
        "--recovery",
        "2",
        "--nemesis-interval",
        "0.5",
        "--seed",
        "3",
    ];
    let symmetric = mutant("broadcast_symmetric.py");
    let gossip = mutant("broadcast_node.py");
    glomers("test", "sym-healthy", &with(&base, &["--bin", &symmetric])).expect_code(0);
    let oneway = ["--nemesis", "partition-oneway"];
    let r = glomers(
        "test",
        "sym-oneway",
        &with(&base, &with(&oneway, &["--bin", &symmetric])),
    );
    r.expect_code(1);
    assert!(r.count("lost_count") > 0, "{}", r.results);
    assert!(r.nemesis().iter().any(|o| o.1 == "start-partition-oneway"));
    // A node that retries until its peers have every value passes under the same fault.
    let args = with(&base, &with(&oneway, &["--bin", &gossip, "gossip"]));
    glomers("test", "gossip-oneway", &args).expect_code(0);
}

#[test]
fn a_counter_that_is_not_idempotent_overcounts_when_messages_are_duplicated() {
    let bin = mutant("g_counter_node.py");
    let base = [
        "-w",
        "g-counter",
        "--bin",
        &bin,
        "--node-count",
        "3",
        "--rate",
        "50",
        "--time-limit",
        "4",
        "--recovery",
        "1",
        "--nemesis-interval",
        "0.5",
        "--seed",
        "5",
    ];
    let dup = ["--nemesis", "duplicate"];
    glomers("test", "delta-healthy", &with(&base, &["delta"])).expect_code(0);
    glomers("test", "crdt-dup", &with(&base, &with(&dup, &["crdt"]))).expect_code(0);
    let r = glomers("test", "delta-dup", &with(&base, &with(&dup, &["delta"])));
    r.expect_code(1);
    // The duplicate is really delivered: one delta (by its unique id) delivered twice.
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for m in r.messages() {
        if m["type"] == "delta" && m["fate"] == "delivered" {
            let key = format!("{} {} {}", m["src"], m["dest"], m["body"]["id"]);
            *copies.entry(key).or_default() += 1;
        }
    }
    assert!(copies.values().any(|&n| n == 2), "no delta delivered twice");
    assert!(copies.values().all(|&n| n <= 2));
}

/// The process ids the lifecycle mutant wrote to `file`.
fn pids(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// The state letter of process `pid` (`R`, `S`, `T`...) if it is the lifecycle mutant;
/// `None` when it is gone (or is a zombie waiting to be reaped, or another program).
fn state(pid: i32) -> Option<char> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    if !String::from_utf8_lossy(&cmdline).contains("lifecycle_node.py") {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let s = stat.rsplit_once(") ")?.1.chars().next()?;
    (s != 'Z' && s != 'X').then_some(s)
}

#[test]
fn a_killed_node_really_restarts_as_a_new_process_with_a_second_init() {
    let scratch = Scratch::new("faults", "lifecycle-files");
    let pid_file = scratch.0.join("pids");
    let bin = mutant("lifecycle_node.py");
    let r = glomers(
        "test",
        "lifecycle-kill",
        &[
            "-w",
            "echo",
            "--bin",
            &bin,
            "--node-count",
            "1",
            "--rate",
            "10",
            "--time-limit",
            "5",
            "--nemesis",
            "kill",
            "--nemesis-interval",
            "1",
            "--seed",
            "6",
            &pid_file.to_string_lossy(),
        ],
    );
    assert!(r.outcomes("kill", "killed") > 0 && r.outcomes("start", "started") > 0);
    let log = r.node_log("n0");
    let lives: BTreeSet<&str> = log
        .lines()
        .filter_map(|l| l.split("init pid=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert!(
        lives.len() >= 2,
        "one init per life, each from its own pid:\n{log}"
    );
    let started = pids(&pid_file);
    assert!(started.len() >= 2, "{started:?}");
    assert!(
        started.iter().all(|&p| state(p).is_none()),
        "a node outlived the run"
    );
    assert!(r.dir.join("data/n0").is_dir());
}

/// Starts `glomers test` on the lifecycle mutant writing its pids into `pid_file`.
fn spawn_lifecycle(scratch: &Scratch, pid_file: &Path, faults: &str, secs: &str) -> Child {
    let bin = mutant("lifecycle_node.py");
    command(
        "test",
        scratch,
        &[
            "-w",
            "echo",
            "--bin",
            &bin,
            "--node-count",
            "3",
            "--rate",
            "10",
            "--time-limit",
            secs,
            "--nemesis",
            faults,
            "--nemesis-interval",
            "0.5",
            "--seed",
            "8",
            &pid_file.to_string_lossy(),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap_or_else(|e| panic!("cannot run glomers: {e}"))
}

/// Polls the lifecycle nodes' states until `stop` says so or `child` exits (or a minute
/// passes); whether a stopped node (`T`) was seen.
fn watch_for_stopped(
    child: &mut Child,
    pid_file: &Path,
    mut stop: impl FnMut(bool) -> bool,
) -> bool {
    let started = Instant::now();
    let mut seen = false;
    while started.elapsed() < Duration::from_secs(60) {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        seen |= pids(pid_file).into_iter().any(|p| state(p) == Some('T'));
        if stop(seen) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    seen
}

#[test]
fn a_paused_node_is_really_stopped_and_continues() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = Scratch::new("faults", "lifecycle-pause");
    let pid_file = scratch.0.join("pids");
    let mut child = spawn_lifecycle(&scratch, &pid_file, "pause", "5");
    let stopped = watch_for_stopped(&mut child, &pid_file, |_| false);
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"));
    let r = finished(
        out.status.code().unwrap_or(-1),
        &out.stdout,
        &out.stderr,
        scratch,
    );
    assert!(stopped, "no node was ever seen stopped: {}", r.output);
    assert!(r.outcomes("pause", "paused") > 0 && r.outcomes("resume", "resumed") > 0);
    assert_eq!(pids(&pid_file).len(), 3, "pausing restarts nothing");
    assert!(
        pids(&pid_file).iter().all(|&p| state(p).is_none()),
        "a node outlived the run"
    );
}

#[test]
fn ctrl_c_leaves_no_node_process_behind_even_a_paused_one() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = Scratch::new("faults", "lifecycle-ctrl-c");
    let pid_file = scratch.0.join("pids");
    let mut child = spawn_lifecycle(&scratch, &pid_file, "kill,pause", "60");
    let stopped = watch_for_stopped(&mut child, &pid_file, |seen| seen);
    let pid = libc::pid_t::try_from(child.id()).unwrap_or(0);
    // SAFETY: kill(2) on the glomers process we spawned and have not reaped.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"));
    let code = out.status.code().unwrap_or(-1);
    let r = finished(code, &out.stdout, &out.stderr, scratch);
    assert!(
        stopped,
        "the run ended before any node was paused: {}",
        r.output
    );
    assert_eq!(r.code, 255, "an interrupted run: {}", r.output);
    assert!(r.output.contains("interrupted"), "{}", r.output);
    let left: Vec<i32> = pids(&pid_file)
        .into_iter()
        .filter(|&p| state(p).is_some())
        .collect();
    assert!(left.is_empty(), "still running: {left:?}");
}

#[test]
fn a_harness_killed_outright_takes_its_nodes_with_it_even_a_paused_one() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = Scratch::new("faults", "lifecycle-sigkill");
    let pid_file = scratch.0.join("pids");
    let mut child = spawn_lifecycle(&scratch, &pid_file, "pause", "60");
    let stopped = watch_for_stopped(&mut child, &pid_file, |seen| seen);
    // SIGKILL: no teardown runs; the kernel must end the nodes.
    let _ = child.kill();
    let _ = child.wait();
    assert!(stopped, "the run ended before any node was paused");
    let started = Instant::now();
    let mut left: Vec<i32> = pids(&pid_file);
    while !left.is_empty() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
        left.retain(|&p| state(p).is_some());
    }
    assert!(left.is_empty(), "still running: {left:?}");
}

#[test]
fn bad_nemesis_flags_exit_254_naming_what_did_not_parse() {
    let bin = mutant("lifecycle_node.py");
    let r = glomers(
        "test",
        "bad-fault",
        &["-w", "echo", "--bin", &bin, "--nemesis", "kill,crash"],
    );
    r.expect_code(254);
    assert!(r.output.contains("\"crash\""), "{}", r.output);
    let r = glomers(
        "test",
        "bad-clock",
        &["-w", "echo", "--bin", &bin, "--nemesis", "clock"],
    );
    r.expect_code(254);
    assert!(r.output.contains("glomers sim"), "{}", r.output);
    let r = glomers(
        "sim",
        "bad-interval",
        &["-w", "echo", "--bin", "echo", "--nemesis-interval", "soon"],
    );
    r.expect_code(254);
    assert!(r.output.contains("soon"), "{}", r.output);
}

/// Every fault, for the simulator.
const EVERY_FAULT: &str = "partition,partition-oneway,kill,pause,duplicate,clock";

fn sim_broadcast(tag: &str) -> Run {
    glomers(
        "sim",
        tag,
        &[
            "-w",
            "broadcast",
            "--bin",
            "broadcast",
            "--node-count",
            "5",
            "--rate",
            "20",
            "--time-limit",
            "10",
            "--nemesis",
            EVERY_FAULT,
            "--nemesis-interval",
            "1",
            "--seed",
            "7",
        ],
    )
}

#[test]
fn a_faulty_simulation_replays_byte_for_byte() {
    let (a, b) = (sim_broadcast("replay-a"), sim_broadcast("replay-b"));
    for file in ["history.jsonl", "messages.jsonl"] {
        let read = |r: &Run| std::fs::read(r.dir.join(file)).unwrap_or_default();
        assert!(!read(&a).is_empty(), "{file}: {}", a.output);
        assert!(
            read(&a) == read(&b),
            "{file} differs between two runs of one seed"
        );
    }
    let fs: BTreeSet<String> = a.nemesis().into_iter().map(|o| o.1).collect();
    for f in [
        "start-partition",
        "start-partition-oneway",
        "kill",
        "start",
        "pause",
        "resume",
        "start-duplicate",
        "skew-clock",
        "reset-clock",
    ] {
        assert!(fs.contains(f), "{f} missing from {fs:?}");
    }
}

#[test]
fn in_the_simulator_a_paused_node_hears_nothing_and_a_killed_one_gets_a_fresh_init() {
    let r = sim_broadcast("sim-lives");
    let ops = r.nemesis();
    let mut inits: BTreeMap<String, usize> = BTreeMap::new();
    let mut deliveries: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for m in r
        .messages()
        .into_iter()
        .filter(|m| m["fate"] == "delivered")
    {
        let dest = m["dest"].as_str().unwrap_or_default().to_owned();
        if m["type"] == "init" {
            *inits.entry(dest.clone()).or_default() += 1;
        }
        deliveries
            .entry(dest)
            .or_default()
            .push(m["at"].as_u64().unwrap_or(0));
    }
    for n in 0..5 {
        let node = format!("n{n}");
        let started = ops
            .iter()
            .filter(|o| o.1 == "start" && o.2[&node] == "started")
            .count();
        assert_eq!(
            inits.get(&node).copied().unwrap_or(0),
            1 + started,
            "{node}"
        );
        // From each pause of the node to the next resume or kill of it, nothing arrives.
        let mut held_from = None;
        for (t, f, v) in &ops {
            match (f.as_str(), v[&node].as_str()) {
                ("pause", Some("paused")) => held_from = Some(*t),
                ("resume", Some("resumed")) | ("kill", Some("killed")) => {
                    if let Some(a) = held_from.take() {
                        let inside = deliveries[&node].iter().filter(|&&at| a < at && at < *t);
                        assert_eq!(inside.count(), 0, "{node} heard something while paused");
                    }
                }
                _ => {}
            }
        }
    }
    assert!(r.outcomes("pause", "paused") > 0 && r.outcomes("start", "started") > 0);
}

/// The run-time millisecond (on the node's clock) a flake id was minted at: its 41-bit
/// millisecond field counts from 2024-01-01, the simulator's clock from 2026-01-01.
fn minted_ms(id: u64) -> i64 {
    const EPOCH_2024_MS: i64 = 1_704_067_200_000;
    const SIM_EPOCH_MS: i64 = 1_767_225_600_000;
    (id >> 22) as i64 + EPOCH_2024_MS - SIM_EPOCH_MS
}

/// The largest gap, in ms, between when a generate completed and the time its id carries.
fn largest_clock_gap(r: &Run) -> i64 {
    r.history()
        .iter()
        .filter(|o| o["type"] == "ok" && o["f"] == "generate")
        .filter_map(|o| Some((o["time"].as_u64()? / 1_000_000, o["value"].as_u64()?)))
        .map(|(t, id)| (minted_ms(id) - t as i64).abs())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_skewed_clock_shows_in_the_ids_a_node_mints() {
    let args = |faults: &'static [&'static str]| {
        let base = [
            "-w",
            "unique-ids",
            "--bin",
            "unique-ids",
            "--node-count",
            "3",
            "--rate",
            "100",
            "--time-limit",
            "10",
            "--nemesis-interval",
            "1",
            "--seed",
            "9",
        ];
        with(&base, faults)
    };
    let true_time = glomers("sim", "clock-none", &args(&[]));
    true_time.expect_code(0);
    assert!(
        largest_clock_gap(&true_time) <= 2,
        "without skew ids carry the true time"
    );
    let skewed = glomers("sim", "clock-skew", &args(&["--nemesis", "clock"]));
    assert!(skewed.outcomes("reset-clock", "reset") > 0);
    assert!(largest_clock_gap(&skewed) > 50, "{}", skewed.output);
}

#[test]
fn the_same_seed_gives_the_same_fault_schedule_in_both_modes() {
    let faults = "partition-oneway,kill,pause,duplicate";
    let base = [
        "-w",
        "echo",
        "--node-count",
        "3",
        "--rate",
        "10",
        "--time-limit",
        "4",
        "--nemesis",
        faults,
        "--nemesis-interval",
        "0.5",
        "--seed",
        "21",
    ];
    let lifecycle = mutant("lifecycle_node.py");
    let process = glomers(
        "test",
        "modes-process",
        &with(&base, &["--bin", &lifecycle]),
    );
    let sim = glomers("sim", "modes-sim", &with(&base, &["--bin", "echo"]));
    let schedule = |r: &Run| -> Vec<(String, Value)> {
        r.nemesis().into_iter().map(|(_, f, v)| (f, v)).collect()
    };
    assert!(schedule(&sim).len() > 8, "{}", sim.output);
    assert_eq!(schedule(&process), schedule(&sim));
}
