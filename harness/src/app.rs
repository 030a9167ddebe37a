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
    if let Err(e) = crate::plots::write_all(&dir, &out.history) {
        eprintln!("glomers: cannot draw plots: {e}");
    }
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
    print!("{}", report::summary(&cfg, &outcome, &out, &dir));
    TestRun {
        code: outcome.exit_code(),
        outcome: Some(outcome),
        dir: Some(dir),
    }
}
