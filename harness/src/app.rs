//! Running one configured test end to end: run folder, run, analysis, files, plots,
//! summary; Ctrl-C kills every node and exits.

use std::path::PathBuf;

use crate::cli::TestConfig;
use crate::report::{self, Outcome};
use crate::runner;

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
        r = runner::run(&cfg, &dir) => r,
        _ = tokio::signal::ctrl_c() => Err(runner::RunError::Interrupted),
    };
    let out = match result {
        Ok(out) => out,
        Err(e) => {
            eprintln!("glomers: run aborted: {e}");
            let _ = std::fs::write(
                dir.join("results.json"),
                serde_json::json!({"valid": "unknown", "error": e.to_string(), "seed": cfg.seed})
                    .to_string(),
            );
            return TestRun {
                code: 255,
                outcome: None,
                dir: Some(dir),
            };
        }
    };
    let outcome = report::analyse(&cfg, &out);
    if let Err(e) = report::write_files(&dir, &outcome, &out) {
        eprintln!("glomers: cannot write results into {}: {e}", dir.display());
    }
    write_report(&dir, &out.history);
    print!("{}", report::summary(&cfg, &outcome, &out, &dir));
    TestRun {
        code: outcome.exit_code(),
        outcome: Some(outcome),
        dir: Some(dir),
    }
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
