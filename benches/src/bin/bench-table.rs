//! Regenerates the benchmark table: builds the release `echo` binary, runs every criterion
//! bench of this crate in one `cargo bench`, and renders criterion's results as the markdown
//! table of `BENCHMARKS.md` (between its `<!-- bench-table:begin -->` and
//! `<!-- bench-table:end -->` lines), together with the machine it ran on.
//!
//! `cargo run --release -p glomers-benches --bin bench-table -- --write BENCHMARKS.md`
//! Anything after a further `--` goes to criterion (default: a short run,
//! `--warm-up-time 1 --measurement-time 2`). With `GLOMERS_BENCH_BASELINE_ECHO` naming the
//! previous runtime's `echo` binary, the `e2e` bench measures it too and the table shows the
//! ratio against it; without, the row says it was not measured.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::Parser;
use glomers_benches::e2e_report::{self, E2eReport};
use glomers_benches::rows::{BASELINE_ECHO_ID, ROWS};
use glomers_benches::{paths, table};

const BEGIN: &str = "<!-- bench-table:begin -->";
const END: &str = "<!-- bench-table:end -->";
const DEFAULT_CRITERION_ARGS: &[&str] = &["--warm-up-time", "1", "--measurement-time", "2"];

#[derive(Parser, Debug)]
#[command(about = "Run glomers' benchmarks and render BENCHMARKS.md's table")]
struct Args {
    /// Only render the table from the results already on disk.
    #[arg(long)]
    no_run: bool,
    /// Splice the table into this markdown file (between the marker lines) instead of
    /// printing it.
    #[arg(long)]
    write: Option<PathBuf>,
    /// Arguments for criterion (after `--`).
    #[arg(last = true)]
    criterion: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("`{cmd}` could not run: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("`{cmd}` failed with {status}")]
    Status {
        cmd: String,
        status: std::process::ExitStatus,
    },
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} has no `{BEGIN}` … `{END}` lines")]
    NoMarkers(String),
    #[error("cannot parse {path}: {source}")]
    Report {
        path: String,
        source: serde_json::Error,
    },
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn run(cmd: &mut Command) -> Result<(), Failure> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|source| Failure::Spawn {
        cmd: shown.clone(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::Status { cmd: shown, status })
    }
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            let v: Vec<&str> = s.split_whitespace().take(3).collect();
            (v.len() == 3).then(|| v.join(" "))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn run_benches(root: &Path, home: &Path, criterion: &[String]) -> Result<(), Failure> {
    run(Command::new(cargo()).current_dir(root).args([
        "build",
        "--release",
        "-p",
        "glomers-shell",
        "--bin",
        "echo",
    ]))?;
    // Results of an earlier run must not pass for this one: drop the groups of the table.
    let mut groups: Vec<&str> = ROWS
        .iter()
        .flat_map(|r| [r.ours, r.baseline])
        .filter_map(|id| id.split('/').next())
        .collect();
    groups.sort_unstable();
    groups.dedup();
    for g in groups {
        let _ = std::fs::remove_dir_all(home.join(g));
    }
    let _ = std::fs::remove_file(paths::e2e_report());
    let args: Vec<String> = if criterion.is_empty() {
        DEFAULT_CRITERION_ARGS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        criterion.to_vec()
    };
    run(Command::new(cargo())
        .current_dir(root)
        .env("CRITERION_HOME", home)
        .args(["bench", "-p", "glomers-benches", "--benches", "--"])
        .args(&args))
}

fn render(home: &Path, load_before: &str, criterion: &[String]) -> Result<String, Failure> {
    let mut out = String::new();
    let args = if criterion.is_empty() {
        DEFAULT_CRITERION_ARGS.join(" ")
    } else {
        criterion.join(" ")
    };
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    out.push_str(&format!(
        "Machine: {nproc} logical CPUs (`nproc`), CPU `{}`, `{}`; run {} with criterion `{args}`; \
         load average before/after: {load_before} / {} (the machine was shared with other work).\n\n",
        cpu_model(),
        output("rustc", &["-V"]).unwrap_or_else(|| "rustc: unknown".to_owned()),
        output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(|| "(date unknown)".to_owned()),
        loadavg(),
    ));
    let report_path = paths::e2e_report();
    let report: Option<E2eReport> = match std::fs::read_to_string(&report_path) {
        Ok(text) => Some(
            serde_json::from_str(&text).map_err(|source| Failure::Report {
                path: report_path.display().to_string(),
                source,
            })?,
        ),
        Err(e) => {
            eprintln!("bench-table: {}: {e}", report_path.display());
            None
        }
    };
    let baseline_missing = report
        .as_ref()
        .and_then(|r| r.baseline_echo.missing_reason());
    out.push_str(&table::render(ROWS, |id| match &baseline_missing {
        Some(why) if id == BASELINE_ECHO_ID => Err(table::TableError::NotMeasured {
            what: id.to_owned(),
            why: why.clone(),
        }),
        _ => table::load(home, id),
    }));
    out.push('\n');
    match report {
        Some(report) => out.push_str(&e2e_report::render(&report)),
        None => out.push_str("**No allocation figures**: the `e2e` bench wrote no report.\n"),
    }
    Ok(out)
}

fn main_inner(args: Args) -> Result<(), Failure> {
    let root = paths::workspace_root();
    let home = paths::criterion_home();
    let load_before = loadavg();
    if !args.no_run {
        run_benches(&root, &home, &args.criterion)?;
    }
    let body = render(&home, &load_before, &args.criterion)?;
    match args.write {
        None => print!("{body}"),
        Some(path) => {
            let path = if path.is_absolute() {
                path
            } else {
                root.join(path)
            };
            let shown = path.display().to_string();
            let doc = std::fs::read_to_string(&path).map_err(|source| Failure::File {
                path: shown.clone(),
                source,
            })?;
            let new = table::splice(&doc, BEGIN, END, &body)
                .ok_or_else(|| Failure::NoMarkers(shown.clone()))?;
            std::fs::write(&path, new).map_err(|source| Failure::File {
                path: shown,
                source,
            })?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match main_inner(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-table: {e}");
            ExitCode::FAILURE
        }
    }
}
