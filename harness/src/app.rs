//! Running one configured test end to end: run folder, run, analysis, files, plots,
//! summary; a swarm of simulated seeds; Ctrl-C kills every node and exits.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::cli::{Mode, TestConfig};
use crate::report::{self, Outcome};
use crate::runner::{self, RunError, RunOutput};

/// The result of [`run_test`]: exit status, the outcome when the run was analysed, and
/// the run folder when one was made.
pub struct TestRun {
    /// Maelstrom's exit status.
    pub code: i32,
    /// The analysis.
    pub outcome: Option<Outcome>,
    /// The run folder.
    pub dir: Option<PathBuf>,
}

/// Runs `cfg`, prints the summary, writes the run folder. Never leaves a node running:
/// teardown kills them on every path, and on Ctrl-C the run is dropped, which kills them.
pub async fn run_test(cfg: TestConfig) -> TestRun {
    run_test_with(cfg, true).await
}

/// [`run_test`], printing the summary only when `summary` is set (the run folder is
/// written either way).
pub async fn run_test_with(cfg: TestConfig, summary: bool) -> TestRun {
    let dir = match report::make_run_dir(&cfg.store, cfg.workload.name()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!(
                "glomers: cannot create the run folder under {}: {e}",
                cfg.store.display()
            );
            return TestRun {
                code: 255,
                outcome: None,
                dir: None,
            };
        }
    };
    eprintln!(
        "glomers: {} seed {} → {}",
        cfg.workload.name(),
        cfg.seed,
        dir.display()
    );
    let result = tokio::select! {
        r = execute(&cfg, &dir) => r,
        _ = tokio::signal::ctrl_c() => Err(RunError::Interrupted),
    };
    let (run, out) = conclude(&cfg, dir, result);
    if let (true, Some(outcome), Some(dir), Some(out)) = (summary, &run.outcome, &run.dir, &out) {
        print!("{}", report::summary(&cfg, outcome, out, dir));
    }
    run
}

/// Runs `cfg` on processes or in the simulator (on a blocking thread, so that Ctrl-C is
/// still heard).
async fn execute(cfg: &TestConfig, dir: &Path) -> Result<RunOutput, RunError> {
    match cfg.mode {
        Mode::Process => runner::run(cfg, dir).await,
        Mode::Sim => {
            let (cfg, dir) = (cfg.clone(), dir.to_path_buf());
            tokio::task::spawn_blocking(move || runner::sim::run(&cfg, &dir))
                .await
                .unwrap_or_else(|e| Err(RunError::Config(format!("the simulation failed: {e}"))))
        }
    }
}

/// Analyses a run and writes its folder; hands back the run's output for the summary.
fn conclude(
    cfg: &TestConfig,
    dir: PathBuf,
    result: Result<RunOutput, RunError>,
) -> (TestRun, Option<RunOutput>) {
    let out = match result {
        Ok(out) => out,
        Err(e) => {
            eprintln!("glomers: run aborted: {e}");
            // A broken invariant is a verdict (invalid), not a failure to run.
            let (code, valid) = match e {
                RunError::Invariant(_) => (1, serde_json::json!(false)),
                _ => (255, serde_json::json!("unknown")),
            };
            let _ = std::fs::write(
                dir.join("results.json"),
                serde_json::json!({"valid": valid, "error": e.to_string(), "seed": cfg.seed})
                    .to_string(),
            );
            let run = TestRun {
                code,
                outcome: None,
                dir: Some(dir),
            };
            return (run, None);
        }
    };
    let outcome = report::analyse(cfg, &out);
    if let Err(e) = report::write_files(&dir, &outcome, &out) {
        eprintln!("glomers: cannot write results into {}: {e}", dir.display());
    }
    write_report(&dir, &out.history);
    if cfg.workload == crate::workload::WorkloadKind::LinKv {
        let details = outcome.sections.iter().find(|(n, _)| n == "workload");
        if let Some((_, w)) = details {
            let drawn =
                crate::checkers::linearizable::timeline::write_all(&dir, &out.history, &w.details);
            if let Err(e) = drawn {
                eprintln!("glomers: cannot draw the nonlinearizable timelines: {e}");
            }
        }
    }
    let run = TestRun {
        code: outcome.exit_code(),
        outcome: Some(outcome),
        dir: Some(dir),
    };
    (run, Some(out))
}

/// `glomers sim --seeds A..B`: every seed in turn (two at a time), one line per failing
/// seed with the command that replays it; only failing seeds keep their run folder. The
/// worst exit status.
pub async fn run_swarm(cfg: TestConfig, seeds: Range<u64>) -> i32 {
    let started = std::time::Instant::now();
    let total = seeds.end - seeds.start;
    let mut worst = 0;
    let mut failed = 0u64;
    let mut pending = tokio::task::JoinSet::new();
    let mut next = seeds.start;
    loop {
        while pending.len() < 2 && next < seeds.end {
            let mut one = cfg.clone();
            one.seed = next;
            next += 1;
            pending.spawn_blocking(move || swarm_one(one));
        }
        let Some(done) = pending.join_next().await else {
            break;
        };
        let Ok((seed, code)) = done else {
            worst = 255;
            continue;
        };
        worst = worst.max(code);
        if code != 0 {
            failed += 1;
            println!("seed {seed}: exit {code}; replay: {}", replay(&cfg, seed));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{total} seeds, {failed} failing, in {secs:.1} s ({:.0} seeds per minute)",
        total as f64 * 60.0 / secs.max(1e-9)
    );
    worst
}

/// One seed of a swarm: its exit status; its run folder is kept only when it failed.
fn swarm_one(cfg: TestConfig) -> (u64, i32) {
    let seed = cfg.seed;
    let Ok(dir) = report::make_run_dir(&cfg.store, cfg.workload.name()) else {
        return (seed, 255);
    };
    let (run, _) = conclude(&cfg, dir.clone(), runner::sim::run(&cfg, &dir));
    if run.code == 0 {
        let _ = std::fs::remove_dir_all(&dir);
    }
    (seed, run.code)
}

/// The command line that replays `seed` of a swarm: the swarm's own, without `--seeds`
/// and `--seed`, with `--seed SEED`.
fn replay(cfg: &TestConfig, seed: u64) -> String {
    let mut words = Vec::new();
    let mut skip = false;
    for w in &cfg.command_line {
        if std::mem::take(&mut skip) {
            continue;
        }
        match w.as_str() {
            "--seeds" | "--seed" => skip = true,
            _ if w.starts_with("--seeds=") || w.starts_with("--seed=") => {}
            _ => words.push(w.clone()),
        }
    }
    // Keep node flags after the last test flag: `--seed` goes before any of them.
    let at = words.iter().position(|w| w == "--").unwrap_or(words.len());
    words.insert(at, format!("--seed {seed}"));
    words.join(" ")
}

/// Draws the plots and writes `index.html` into the run folder `dir`; failures are
/// printed, not fatal (the run's verdict stands). Returns whether both were written.
fn write_report(dir: &std::path::Path, history: &crate::history::History) -> bool {
    let plots = crate::plots::write_all(dir, history)
        .map_err(|e| eprintln!("glomers: cannot draw plots: {e}"))
        .is_ok();
    let page = crate::html::write(dir)
        .map_err(|e| eprintln!("glomers: cannot write the run's page: {e}"))
        .is_ok();
    plots && page
}

/// `glomers report DIR`: rewrites the plots and `index.html` of an existing run folder
/// from its `history.jsonl` and other files. Exit status 0, or 255 when the history cannot
/// be read or a file cannot be written.
pub fn rewrite_report(dir: &std::path::Path) -> i32 {
    let text = match std::fs::read_to_string(dir.join("history.jsonl")) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("glomers: {}: {e}", dir.join("history.jsonl").display());
            return 255;
        }
    };
    let mut history = crate::history::History::default();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str(line) {
            Ok(op) => {
                history.push(op);
            }
            Err(e) => {
                eprintln!("glomers: history.jsonl line {}: {e}", n + 1);
                return 255;
            }
        }
    }
    if write_report(dir, &history) {
        println!("glomers: wrote {}", dir.join(crate::html::FILE).display());
        0
    } else {
        255
    }
}
