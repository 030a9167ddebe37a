//! The command line of `glomers`: `test` (Maelstrom's `maelstrom test` flags and meanings,
//! plus `--store`, `--recovery`, `--seed`, `--durable` and faults beyond Maelstrom's), `challenge ID`, `challenges`, `fault-sweep`, `serve [STORE]`
//! (the store's run pages over HTTP) and `report DIR` (rewrite a run folder's page).
//!
//! Parsing never panics: clap errors and invalid values become [`CliError`], which the
//! binary turns into exit status 254 as Maelstrom does.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::sim::faults::{Fault, Faults};
use crate::workload::{UnknownWorkload, WorkloadKind};

/// `glomers`: a Maelstrom-compatible test bench for the Gossip Glomers challenges.
#[derive(Debug, Parser)]
#[command(name = "glomers", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one test, as `maelstrom test` does.
    Test(Box<TestArgs>),
    /// Run one test (or a swarm of seeds) in the deterministic simulator: glomers' own
    /// nodes in-process on virtual time, the same model and flags as `test`.
    Sim(Box<SimArgs>),
    /// Run one Gossip Glomers challenge's command line against the project's binaries.
    Challenge(ChallengeArgs),
    /// Run every challenge and print a table.
    Challenges(ChallengesArgs),
    /// Run every challenge binary on its challenge line with faults added (kill, pause and
    /// partitions, durable data directories by default) on several seeds; print each
    /// line's verdicts and msgs-per-op against its fault-free figure.
    FaultSweep(crate::sweep::SweepArgs),
    /// Measure the broadcast node's modes and interval frontier on the 3d/3e line.
    BroadcastFrontier(crate::frontier::FrontierArgs),
    /// Measure the g-set node's replication-period frontier on the CRDT guide's line.
    CrdtFrontier(crate::crdt_frontier::CrdtFrontierArgs),
    /// Serve the store's runs and their pages on 127.0.0.1, as `maelstrom serve` does.
    Serve(crate::serve::ServeArgs),
    /// Rewrite a run folder's plots and index.html from its files.
    Report(ReportArgs),
}

/// Flags of `glomers report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The run folder (holding results.json and history.jsonl).
    pub dir: PathBuf,
}

/// Latency distributions (reference 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DistArg {
    /// Exactly `--latency` ms.
    Constant,
    /// Uniform integer in [0, 2·latency).
    Uniform,
    /// Exponential with mean `--latency`.
    Exponential,
}

/// Flags of `glomers test`; names, meanings and defaults are Maelstrom's.
#[derive(Debug, Clone, Args)]
pub struct TestArgs {
    /// Workload: echo, unique-ids, broadcast, g-set, g-counter, pn-counter, lin-kv, kafka,
    /// txn-rw-register, txn-list-append.
    #[arg(short = 'w', long, default_value = "lin-kv")]
    pub workload: String,
    /// The node binary.
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// Nodes n0..n(N-1); without it Maelstrom's default n1..n5.
    #[arg(long)]
    pub node_count: Option<usize>,
    /// Seconds of main phase.
    #[arg(long, default_value_t = 60.0)]
    pub time_limit: f64,
    /// Approximate client requests per second (all threads together).
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Worker threads: an integer, or an integer followed by `n` (times the node count).
    #[arg(long, default_value = "1n")]
    pub concurrency: String,
    /// Mean one-way server latency in ms.
    #[arg(long, default_value_t = 0)]
    pub latency: u64,
    /// Latency distribution.
    #[arg(long, value_enum, default_value_t = DistArg::Constant)]
    pub latency_dist: DistArg,
    /// Faults, comma-separated, combined freely: Maelstrom's `partition`, `kill` (SIGKILL a
    /// node, later start it again with a fresh init; its memory is lost) and `pause`
    /// (SIGSTOP, later SIGCONT); glomers' `partition-oneway` (one side hears the other but
    /// not back), `duplicate` (some server-to-server messages delivered twice) and `clock`
    /// (a node's clock jumps and runs fast or slow: `glomers sim` only, since a process's
    /// clock cannot be moved from outside).
    #[arg(long)]
    pub nemesis: Option<String>,
    /// Mean seconds between the operations of each fault (each fault alternates fault and
    /// recovery on its own schedule, drawn from --seed).
    #[arg(long, default_value_t = 10.0)]
    pub nemesis_interval: f64,
    /// Keep each node's data directory across its restarts: every node runs in
    /// `<run folder>/data/<node>/`, named by the environment variable GLOMERS_DATA_DIR;
    /// without --durable that directory is emptied before every restart.
    #[arg(long)]
    pub durable: bool,
    /// Broadcast topology: grid, line, total, tree, tree2, tree3, tree4.
    #[arg(long, default_value = "grid")]
    pub topology: String,
    /// `total` or a fraction in [0, 1] of operations that must succeed.
    #[arg(long)]
    pub availability: Option<String>,
    /// Consistency models for txn workloads (`a , b` for several): read-uncommitted,
    /// read-committed, serializable, strict-serializable; txn-list-append also
    /// repeatable-read and snapshot-isolation.
    #[arg(long, default_value = "strict-serializable")]
    pub consistency_models: String,
    /// Active keys (txn, kafka); the workload default is 10.
    #[arg(long)]
    pub key_count: Option<usize>,
    /// Micro-ops per transaction at most.
    #[arg(long, default_value_t = 4)]
    pub max_txn_length: usize,
    /// Writes per key before it is retired.
    #[arg(long, default_value_t = 16)]
    pub max_writes_per_key: usize,
    /// Echo node stderr to ours.
    #[arg(long)]
    pub log_stderr: bool,
    /// States the lin-kv checker may explore per key before that key's verdict is unknown.
    #[arg(long, default_value_t = crate::checkers::linearizable::DEFAULT_STATE_LIMIT)]
    pub linearizable_state_limit: u64,
    /// Seed of every random choice (default: random, printed and stored).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Folder of run folders: DIR/<workload>/<timestamp>/, with a `latest` link.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Seconds of quiet period between heal and the final phase.
    #[arg(long, default_value_t = 10.0)]
    pub recovery: f64,
    /// Seconds a node has to answer `init` (Maelstrom: 10; raise it only on an overloaded
    /// machine where the node runtime itself starts slowly).
    #[arg(long, default_value_t = 10.0, hide = true)]
    pub init_timeout: f64,
    /// Arguments passed to the binary.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Flags of `glomers sim`: those of `glomers test`, where `--bin` names one of glomers'
/// node programs (`echo`, `unique-ids`, `broadcast`, `g-counter`, `g-set`, `pn-counter`,
/// `kafka`, `txn`; a path
/// counts by its file name), plus a swarm of seeds.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Run every seed of `A..B` (end excluded) instead of one run, print each failing seed
    /// with the command that replays it, and write run folders only for those.
    #[arg(long, value_parser = parse_seeds)]
    pub seeds: Option<std::ops::Range<u64>>,
    #[command(flatten)]
    pub test: TestArgs,
}

/// Parses `A..B` (end excluded).
fn parse_seeds(s: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("{s:?} is not A..B"))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("{a:?} is not a seed"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| format!("{b:?} is not a seed"))?;
    if a >= b {
        return Err(format!("{s:?} holds no seed"));
    }
    Ok(a..b)
}

/// How a run's nodes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One OS process per node, on the wall clock (any Maelstrom binary).
    Process,
    /// glomers' own nodes in-process, on virtual time.
    Sim,
}

/// Flags of `glomers challenge`.
#[derive(Debug, Clone, Args)]
pub struct ChallengeArgs {
    /// 1, 2, 3a, 3b, 3c, 3d, 3e, 4, 5a, 5b, 5c, 6a, 6b, 6c.
    pub id: String,
    #[command(flatten)]
    pub common: ChallengeCommon,
}

/// Flags of `glomers challenges`.
#[derive(Debug, Clone, Args)]
pub struct ChallengesArgs {
    #[command(flatten)]
    pub common: ChallengeCommon,
}

/// Flags shared by the challenge subcommands.
#[derive(Debug, Clone, Args)]
pub struct ChallengeCommon {
    /// Do not run `cargo build --release -p glomers-shell --bins` first.
    #[arg(long)]
    pub no_build: bool,
    /// Shorter time limits and recovery (CI): time-limit 5, recovery 3.
    #[arg(long)]
    pub quick: bool,
    /// Seed of every run.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Folder of run folders.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Echo node stderr to ours.
    #[arg(long)]
    pub log_stderr: bool,
    /// Run in the deterministic simulator (no binaries are built or run).
    #[arg(long)]
    pub sim: bool,
}

/// Latency settings after validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyOpts {
    /// Mean one-way latency, ms.
    pub mean_ms: u64,
    /// Distribution.
    pub dist: DistArg,
}

/// The `--availability` requirement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AvailabilityArg {
    /// Every client operation must succeed.
    Total,
    /// At least this fraction of operations must succeed.
    Fraction(f64),
}

/// A validated test configuration. Invariant: every field holds a value Maelstrom would
/// accept for the workload (node count ≥ 1, concurrency ≥ 1, rate ≥ 0, …).
#[derive(Debug, Clone)]
pub struct TestConfig {
    /// Processes or the simulator.
    pub mode: Mode,
    /// The workload.
    pub workload: WorkloadKind,
    /// Absolute path of the node binary (in the simulator: its file name is the program).
    pub bin: PathBuf,
    /// Arguments passed to the binary.
    pub args: Vec<String>,
    /// Node ids in order.
    pub nodes: Vec<String>,
    /// Main phase seconds.
    pub time_limit: f64,
    /// Requests per second.
    pub rate: f64,
    /// Worker threads.
    pub concurrency: usize,
    /// Latency.
    pub latency: LatencyOpts,
    /// The faults of the nemesis (none: no nemesis).
    pub faults: Faults,
    /// Node data directories survive restarts.
    pub durable: bool,
    /// Mean seconds between nemesis ops.
    pub nemesis_interval: f64,
    /// Broadcast topology name (validated).
    pub topology: String,
    /// Availability requirement.
    pub availability: Option<AvailabilityArg>,
    /// Consistency models (Maelstrom's split on `\s+,\s+`).
    pub consistency_models: Vec<String>,
    /// Active keys.
    pub key_count: usize,
    /// Micro-ops per txn at most.
    pub max_txn_length: usize,
    /// Writes per key.
    pub max_writes_per_key: usize,
    /// Echo node stderr.
    pub log_stderr: bool,
    /// The lin-kv checker's state limit per key.
    pub linearizable_state_limit: u64,
    /// The seed.
    pub seed: u64,
    /// Store folder.
    pub store: PathBuf,
    /// Quiet period seconds.
    pub recovery: f64,
    /// The command line, for results.json.
    pub command_line: Vec<String>,
    /// How long a node has to answer `init`.
    pub init_timeout: std::time::Duration,
}

/// Why a command line is not acceptable (exit status 254).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// No `--bin`.
    #[error("Expected a --bin PATH_TO_BINARY to test")]
    MissingBin,
    /// The binary does not exist.
    #[error("--bin {0}: no such file")]
    NoSuchBin(PathBuf),
    /// An unsupported workload.
    #[error(transparent)]
    Workload(#[from] UnknownWorkload),
    /// A flag's value is out of range or malformed.
    #[error("{flag}: {why}")]
    Bad {
        /// The flag.
        flag: &'static str,
        /// What is wrong.
        why: String,
    },
}

fn bad(flag: &'static str, why: impl Into<String>) -> CliError {
    CliError::Bad {
        flag,
        why: why.into(),
    }
}

/// Parses `--concurrency`: `C` or `Kn` (K times the node count).
pub fn parse_concurrency(s: &str, node_count: usize) -> Result<usize, CliError> {
    let s = s.trim();
    let (digits, times_n) = match s.strip_suffix('n') {
        Some(d) => (d, true),
        None => (s, false),
    };
    let k: usize = digits.parse().map_err(|_| {
        bad(
            "--concurrency",
            format!("{s:?} is not an integer or an integer followed by n"),
        )
    })?;
    let c = if times_n {
        k.saturating_mul(node_count)
    } else {
        k
    };
    if c == 0 {
        return Err(bad("--concurrency", "must be positive"));
    }
    Ok(c)
}

/// Parses `--nemesis` for `mode`: the process driver cannot skew a clock.
fn parse_nemesis(nemesis: Option<&str>, mode: Mode) -> Result<Faults, CliError> {
    let faults = match nemesis {
        None => Faults::NONE,
        Some(n) => Faults::parse(n).map_err(|e| bad("--nemesis", e.to_string()))?,
    };
    if mode == Mode::Process && faults.contains(Fault::Clock) {
        return Err(bad(
            "--nemesis",
            "\"clock\" needs the simulator (glomers sim): a node process's clock cannot be moved from outside",
        ));
    }
    Ok(faults)
}

/// Validates `args` into a [`TestConfig`] for `mode`; `command_line` is stored for the
/// record. Flags are checked in a fixed order; the first bad one is the error.
pub fn validate(
    args: &TestArgs,
    mode: Mode,
    command_line: Vec<String>,
) -> Result<TestConfig, CliError> {
    let workload: WorkloadKind = args.workload.parse()?;
    let bin = node_binary(args.bin.as_ref(), mode)?;
    let nodes = node_ids(args.node_count)?;
    let concurrency = parse_concurrency(&args.concurrency, nodes.len())?;
    if workload == WorkloadKind::LinKv {
        crate::workload::lin_kv::check_layout(nodes.len(), concurrency)
            .map_err(|why| bad("--concurrency", why))?;
    }
    check_numbers(args)?;
    let faults = parse_nemesis(args.nemesis.as_deref(), mode)?;
    let topology = parse_topology(&args.topology)?;
    let availability = parse_availability(args.availability.as_deref())?;
    let consistency_models = split_models(&args.consistency_models);
    positive_count("--max-txn-length", args.max_txn_length)?;
    positive_count("--max-writes-per-key", args.max_writes_per_key)?;
    let key_count = match args.key_count {
        Some(k) => positive_count("--key-count", k)?,
        None => 10,
    };
    Ok(TestConfig {
        mode,
        workload,
        bin,
        args: args.args.clone(),
        nodes,
        time_limit: args.time_limit,
        rate: args.rate,
        concurrency,
        latency: LatencyOpts {
            mean_ms: args.latency,
            dist: args.latency_dist,
        },
        faults,
        durable: args.durable,
        nemesis_interval: args.nemesis_interval,
        topology,
        availability,
        consistency_models,
        key_count,
        max_txn_length: args.max_txn_length,
        max_writes_per_key: args.max_writes_per_key,
        log_stderr: args.log_stderr,
        linearizable_state_limit: args.linearizable_state_limit,
        seed: args.seed.unwrap_or_else(rand::random),
        store: args.store.clone(),
        recovery: args.recovery,
        command_line,
        init_timeout: std::time::Duration::from_secs_f64(args.init_timeout),
    })
}

/// `--bin`: in the simulator, one of glomers' programs; with processes, an existing file,
/// made absolute against the current folder.
fn node_binary(bin: Option<&PathBuf>, mode: Mode) -> Result<PathBuf, CliError> {
    let bin = bin.cloned().ok_or(CliError::MissingBin)?;
    let bin = match mode {
        Mode::Sim => {
            crate::runner::sim::program(&bin).map_err(|e| bad("--bin", e.to_string()))?;
            bin
        }
        Mode::Process if bin.is_absolute() => bin,
        Mode::Process => std::env::current_dir()
            .map_err(|e| bad("--bin", e.to_string()))?
            .join(bin),
    };
    if mode == Mode::Process && !bin.is_file() {
        return Err(CliError::NoSuchBin(bin));
    }
    Ok(bin)
}

/// `--node-count`: nodes `n0..n(N-1)`, or Maelstrom's default `n1..n5` without it.
fn node_ids(node_count: Option<usize>) -> Result<Vec<String>, CliError> {
    Ok(match node_count {
        Some(n) => (0..positive_count("--node-count", n)?)
            .map(|i| format!("n{i}"))
            .collect(),
        None => (1..=5).map(|i| format!("n{i}")).collect(),
    })
}

/// The durations and rates: finite and non-negative, or positive where zero means
/// nothing; and a random latency distribution only with a latency to draw around.
fn check_numbers(args: &TestArgs) -> Result<(), CliError> {
    non_negative_number("--time-limit", args.time_limit)?;
    non_negative_number("--rate", args.rate)?;
    non_negative_number("--recovery", args.recovery)?;
    positive_number("--init-timeout", args.init_timeout)?;
    positive_number("--nemesis-interval", args.nemesis_interval)?;
    if args.linearizable_state_limit == 0 {
        return Err(bad("--linearizable-state-limit", "must be positive"));
    }
    if args.latency == 0 && args.latency_dist != DistArg::Constant {
        return Err(bad(
            "--latency-dist",
            "uniform and exponential need --latency > 0 (Maelstrom cannot draw from them either)",
        ));
    }
    Ok(())
}

/// `--topology`: a broadcast topology's name (`tree` is `tree2`).
fn parse_topology(topology: &str) -> Result<String, CliError> {
    match topology {
        "tree" => Ok("tree2".to_owned()),
        t @ ("grid" | "line" | "total" | "tree2" | "tree3" | "tree4") => Ok(t.to_owned()),
        t => Err(bad(
            "--topology",
            format!("unknown topology {t:?}; one of grid, line, total, tree, tree2, tree3, tree4"),
        )),
    }
}

/// `--availability`: `total` or a fraction in [0, 1].
fn parse_availability(availability: Option<&str>) -> Result<Option<AvailabilityArg>, CliError> {
    match availability {
        None => Ok(None),
        Some("total") => Ok(Some(AvailabilityArg::Total)),
        Some(s) => match s.parse::<f64>() {
            Ok(a) if (0.0..=1.0).contains(&a) => Ok(Some(AvailabilityArg::Fraction(a))),
            _ => Err(bad(
                "--availability",
                format!("{s:?} is neither total nor a number in [0, 1]"),
            )),
        },
    }
}

/// A count flag's value, which must be positive.
fn positive_count(flag: &'static str, n: usize) -> Result<usize, CliError> {
    if n == 0 {
        return Err(bad(flag, "must be positive"));
    }
    Ok(n)
}

fn non_negative_number(flag: &'static str, x: f64) -> Result<(), CliError> {
    if !(x.is_finite() && x >= 0.0) {
        return Err(bad(flag, "must be a non-negative number"));
    }
    Ok(())
}

fn positive_number(flag: &'static str, x: f64) -> Result<(), CliError> {
    if !(x.is_finite() && x > 0.0) {
        return Err(bad(flag, "must be a positive number"));
    }
    Ok(())
}

/// Maelstrom's split of `--consistency-models` on "whitespace, comma, whitespace": `a , b`
/// is two models, `a,b` one (unknown) model.
pub fn split_models(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let found = rest.char_indices().find_map(|(i, c)| {
            if c != ',' {
                return None;
            }
            let before = &rest[..i];
            let after = &rest[i + 1..];
            let ws_before = before.len() - before.trim_end().len();
            let ws_after = after.len() - after.trim_start().len();
            (ws_before > 0 && ws_after > 0).then_some((i - ws_before, i + 1 + ws_after))
        });
        match found {
            Some((a, b)) => {
                out.push(rest[..a].to_owned());
                rest = &rest[b..];
            }
            None => {
                out.push(rest.to_owned());
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_forms() {
        assert_eq!(parse_concurrency("2n", 5).ok(), Some(10));
        assert_eq!(parse_concurrency("3", 5).ok(), Some(3));
        assert!(parse_concurrency("0", 5).is_err());
        assert!(parse_concurrency("xn", 5).is_err());
        assert!(parse_concurrency("", 5).is_err());
    }

    #[test]
    fn models_split_only_on_spaced_commas() {
        assert_eq!(split_models("read-committed"), vec!["read-committed"]);
        assert_eq!(split_models("a,b"), vec!["a,b"]);
        assert_eq!(split_models("a , b"), vec!["a", "b"]);
    }

    #[test]
    fn all_ten_workloads_parse_and_unknown_names_list_them() {
        for name in crate::workload::SUPPORTED.split(", ") {
            let kind = name.parse::<WorkloadKind>();
            assert_eq!(kind.map(WorkloadKind::name), Ok(name), "{name}");
        }
        assert_eq!(crate::workload::SUPPORTED.split(", ").count(), 10);
        let e = "nope"
            .parse::<WorkloadKind>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("nope") && e.contains("lin-kv"), "{e}");
    }

    fn lin_kv_args(extra: &[&str]) -> Result<TestConfig, CliError> {
        let mut argv = vec!["glomers", "test", "-w", "lin-kv", "--bin", "/bin/sh"];
        argv.extend_from_slice(extra);
        let Ok(Cli {
            command: Command::Test(t),
        }) = Cli::try_parse_from(argv)
        else {
            panic!("parse")
        };
        validate(&t, Mode::Process, vec![])
    }

    #[test]
    fn lin_kv_needs_whole_groups_of_two_n_threads() {
        let cfg = lin_kv_args(&["--node-count", "3", "--concurrency", "4n"]);
        assert_eq!(cfg.map(|c| c.concurrency).ok(), Some(12));
        // Maelstrom's defaults (5 nodes, 1n) are not a multiple of 10.
        let e = lin_kv_args(&[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("lin-kv") && e.contains("(10)"), "{e}");
        assert!(lin_kv_args(&["--node-count", "3", "--concurrency", "9"]).is_err());
        assert!(lin_kv_args(&["--node-count", "11", "--concurrency", "2n"]).is_err());
        assert!(lin_kv_args(&["--concurrency", "2n", "--linearizable-state-limit", "0"]).is_err());
    }

    #[test]
    fn crdt_workloads_parse_and_name_themselves() {
        for (name, kind) in [
            ("g-set", WorkloadKind::GSet),
            ("pn-counter", WorkloadKind::PnCounter),
        ] {
            assert_eq!(name.parse::<WorkloadKind>(), Ok(kind));
            assert_eq!(kind.name(), name);
        }
    }

    /// `glomers <sub> -w echo --bin <bin> <extra>`, validated for `mode`.
    fn configured(mode: Mode, extra: &[&str]) -> Result<TestConfig, CliError> {
        let bin = std::env::current_exe().expect("test binary");
        let bin = match mode {
            Mode::Process => bin.to_string_lossy().into_owned(),
            Mode::Sim => "echo".to_owned(),
        };
        let mut argv = vec!["glomers", "test", "-w", "echo", "--bin", &bin];
        argv.extend_from_slice(extra);
        let Ok(Cli {
            command: Command::Test(args),
        }) = Cli::try_parse_from(argv)
        else {
            panic!("parse")
        };
        validate(&args, mode, Vec::new())
    }

    #[test]
    fn nemesis_takes_every_fault_and_names_a_word_it_does_not_know() {
        let cfg = configured(
            Mode::Process,
            &[
                "--nemesis",
                "partition,partition-oneway,kill,pause,duplicate",
                "--durable",
            ],
        )
        .expect("valid");
        let faults: Vec<Fault> = cfg.faults.iter().collect();
        assert_eq!(faults.len(), 5);
        assert!(!faults.contains(&Fault::Clock));
        assert!(cfg.durable);
        let plain = configured(Mode::Process, &[]).expect("valid");
        assert!(plain.faults.is_empty() && !plain.durable);
        let e = configured(Mode::Process, &["--nemesis", "kill,crash"])
            .expect_err("crash is no fault")
            .to_string();
        assert!(e.contains("--nemesis") && e.contains("\"crash\""), "{e}");
    }

    #[test]
    fn the_clock_fault_needs_the_simulator() {
        let e = configured(Mode::Process, &["--nemesis", "clock"])
            .expect_err("processes keep their clocks")
            .to_string();
        assert!(e.contains("clock") && e.contains("glomers sim"), "{e}");
        let cfg = configured(Mode::Sim, &["--nemesis", "clock,kill"]).expect("valid");
        assert!(cfg.faults.contains(Fault::Clock) && cfg.faults.contains(Fault::Kill));
    }

    #[test]
    fn binary_arguments_follow_the_flags() {
        let cli = Cli::try_parse_from([
            "glomers",
            "test",
            "-w",
            "echo",
            "--bin",
            "/bin/true",
            "--node-count",
            "1",
            "--",
            "--mode",
            "x",
        ]);
        let Ok(Cli {
            command: Command::Test(t),
        }) = cli
        else {
            panic!("parse")
        };
        assert_eq!(t.args, vec!["--mode", "x"]);
        assert_eq!(t.node_count, Some(1));
    }
}
