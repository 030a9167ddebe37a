//! The Gossip Glomers challenges' command lines (reference 9), run against the project's
//! own binaries in `target/release/`.

use std::path::{Path, PathBuf};

use clap::Parser;
use serde_json::Value;

use crate::app::{run_test_with, TestRun};
use crate::cli::{self, ChallengeArgs, ChallengeCommon, ChallengesArgs, Cli, Command};

/// The challenge ids in order.
pub const IDS: [&str; 14] = [
    "1", "2", "3a", "3b", "3c", "3d", "3e", "4", "5a", "5b", "5c", "6a", "6b", "6c",
];

/// The binary and the flags of each run of challenge `id` (6b has two runs); `None` for
/// an unknown id. Flags are exactly the challenge page's.
pub fn runs(id: &str) -> Option<Vec<(&'static str, Vec<&'static str>)>> {
    let v = |s: &'static str| s.split_whitespace().collect::<Vec<_>>();
    Some(match id {
        "1" => vec![("echo", v("-w echo --node-count 1 --time-limit 10"))],
        "2" => vec![("unique-ids", v("-w unique-ids --time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition"))],
        "3a" => vec![("broadcast", v("-w broadcast --node-count 1 --time-limit 20 --rate 10"))],
        "3b" => vec![("broadcast", v("-w broadcast --node-count 5 --time-limit 20 --rate 10"))],
        "3c" => vec![("broadcast", v("-w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition"))],
        "3d" | "3e" => vec![("broadcast", v("-w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100"))],
        "4" => vec![("g-counter", v("-w g-counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition"))],
        "5a" => vec![("kafka", v("-w kafka --node-count 1 --concurrency 2n --time-limit 20 --rate 1000"))],
        "5b" | "5c" => vec![("kafka", v("-w kafka --node-count 2 --concurrency 2n --time-limit 20 --rate 1000"))],
        "6a" => vec![("txn", v("-w txn-rw-register --node-count 1 --time-limit 20 --rate 1000 --concurrency 2n --consistency-models read-uncommitted --availability total"))],
        "6b" => vec![
            ("txn", v("-w txn-rw-register --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --consistency-models read-uncommitted")),
            ("txn", v("-w txn-rw-register --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --consistency-models read-uncommitted --availability total --nemesis partition")),
        ],
        "6c" => vec![("txn", v("-w txn-rw-register --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --consistency-models read-committed --availability total --nemesis partition"))],
        _ => return None,
    })
}

/// The workspace root: the nearest ancestor of the current executable (then of the
/// current directory) holding a `Cargo.toml` with a `[workspace]` section.
pub fn workspace_root() -> Option<PathBuf> {
    let is_root = |d: &Path| {
        std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|s| s.contains("[workspace]"))
    };
    let from = |start: PathBuf| {
        start
            .ancestors()
            .find(|d| is_root(d))
            .map(Path::to_path_buf)
    };
    std::env::current_exe()
        .ok()
        .and_then(from)
        .or_else(|| std::env::current_dir().ok().and_then(from))
}

fn build(root: &Path) -> bool {
    eprintln!("glomers: cargo build --release -p glomers-shell --bins");
    std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "-p", "glomers-shell", "--bins"])
        .current_dir(root)
        .status()
        .is_ok_and(|s| s.success())
}

fn release_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"))
        .join("release")
}

/// One row of the challenges table.
struct Row {
    id: String,
    code: i32,
    results: Option<Value>,
}

/// Runs one command line of challenge `id`: `bin` (in `bins`) with the test flags `flags`,
/// then `node_args` for the node after `--`, under the shared flags `c`; prints the run's
/// summary unless `quiet`.
pub(crate) async fn run_one(
    id: &str,
    bin: &str,
    (flags, node_args): (&[&str], &[&str]),
    c: &ChallengeCommon,
    bins: &Path,
    quiet: bool,
) -> TestRun {
    let bin_path = bins.join(bin);
    let verb = if c.sim { "sim" } else { "test" };
    let mut argv: Vec<String> = vec!["glomers".into(), verb.into()];
    let mut flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    if c.quick {
        // The same command line with a shorter time limit and quiet period.
        if let Some(i) = flags.iter().position(|f| f == "--time-limit") {
            if let Some(v) = flags.get_mut(i + 1) {
                *v = "5".into();
            }
        }
        flags.extend(["--recovery".into(), "3".into()]);
    }
    argv.extend(flags);
    argv.push("--bin".into());
    argv.push(bin_path.display().to_string());
    if let Some(s) = c.seed {
        argv.extend(["--seed".into(), s.to_string()]);
    }
    argv.extend(["--store".into(), c.store.display().to_string()]);
    if c.log_stderr {
        argv.push("--log-stderr".into());
    }
    if !node_args.is_empty() {
        argv.push("--".into());
        argv.extend(node_args.iter().map(|a| a.to_string()));
    }
    eprintln!("glomers: challenge {id}: {}", argv[1..].join(" "));
    let (args, mode) = match Cli::try_parse_from(&argv) {
        Ok(Cli {
            command: Command::Test(a),
        }) => (*a, cli::Mode::Process),
        Ok(Cli {
            command: Command::Sim(a),
        }) => (a.test, cli::Mode::Sim),
        _ => {
            return TestRun {
                code: 254,
                outcome: None,
                dir: None,
            }
        }
    };
    match cli::validate(&args, mode, argv.clone()) {
        Ok(cfg) => run_test_with(cfg, !quiet).await,
        Err(e) => {
            eprintln!("glomers: challenge {id}: {e}");
            TestRun {
                code: 254,
                outcome: None,
                dir: None,
            }
        }
    }
}

/// Builds the node binaries (unless `--no-build` or `--sim`) and returns the folder they are
/// in; `Err` holds the exit status.
pub(crate) fn prepare(c: &ChallengeCommon) -> Result<PathBuf, i32> {
    let Some(root) = workspace_root() else {
        eprintln!("glomers: cannot find the workspace root (a Cargo.toml with [workspace]) above the executable or the current folder");
        return Err(255);
    };
    if !c.no_build && !c.sim && !build(&root) {
        eprintln!("glomers: building the node binaries failed");
        return Err(255);
    }
    Ok(release_dir(&root))
}

/// `glomers challenge ID`: the exit status of its (last failing) run.
pub async fn challenge(a: &ChallengeArgs) -> i32 {
    let Some(rs) = runs(&a.id) else {
        eprintln!(
            "glomers: unknown challenge {:?}; one of {}",
            a.id,
            IDS.join(", ")
        );
        return 254;
    };
    let bins = match prepare(&a.common) {
        Ok(b) => b,
        Err(c) => return c,
    };
    let mut code = 0;
    for (bin, flags) in rs {
        let r = run_one(&a.id, bin, (&flags, &[]), &a.common, &bins, false).await;
        code = code.max(r.code);
    }
    code
}

fn cell(v: Option<&Value>, digits: usize) -> String {
    v.and_then(Value::as_f64)
        .map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

/// `glomers challenges`: every challenge in turn, then a table; the worst exit status.
pub async fn all(a: &ChallengesArgs) -> i32 {
    let bins = match prepare(&a.common) {
        Ok(b) => b,
        Err(c) => return c,
    };
    let mut rows = Vec::new();
    for id in IDS {
        for (k, (bin, flags)) in runs(id).unwrap_or_default().into_iter().enumerate() {
            let r = run_one(id, bin, (&flags, &[]), &a.common, &bins, false).await;
            let label = if k == 0 {
                id.to_owned()
            } else {
                format!("{id}/{}", k + 1)
            };
            rows.push(Row {
                id: label,
                code: r.code,
                results: r.outcome.map(|o| o.results),
            });
        }
    }
    println!(
        "{:<6} {:<9} {:>8} {:>10} {:>8} {:>8} {:>8} {:>11} {:>11}",
        "chal.",
        "valid",
        "avail.",
        "srv msg/op",
        "p50 ms",
        "p99 ms",
        "max ms",
        "stable p50",
        "stable max"
    );
    let mut worst = 0;
    for r in &rows {
        worst = worst.max(r.code);
        let v = match r.code {
            0 => "valid",
            1 => "INVALID",
            2 => "unknown",
            _ => "CRASHED",
        };
        let res = r.results.as_ref();
        let get = |p: &str| res.and_then(|x| x.pointer(p));
        println!(
            "{:<6} {:<9} {:>8} {:>10} {:>8} {:>8} {:>8} {:>11} {:>11}",
            r.id,
            v,
            cell(get("/availability/details/ok_fraction"), 4),
            cell(get("/net/servers/msgs_per_op"), 2),
            cell(get("/perf/latencies/overall/all/quantiles_ms/0.5"), 0),
            cell(get("/perf/latencies/overall/all/quantiles_ms/0.99"), 0),
            cell(get("/perf/latencies/overall/all/quantiles_ms/1"), 0),
            cell(get("/workload/details/stable_latencies/0.5"), 0),
            cell(get("/workload/details/stable_latencies/1"), 0),
        );
    }
    worst
}
