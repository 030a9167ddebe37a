//! The outcome of a run: the composed verdict, `results.json`, `history.jsonl`, the
//! one-screen summary, and the exit status (0 valid, 1 invalid, 2 unknown, 255 crashed).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::checker::{CheckResult, Validity};
use crate::checkers::{self, availability, perf};
use crate::cli::{AvailabilityArg, TestConfig};
use crate::history::History;
use crate::runner::RunOutput;
use crate::workload::WorkloadKind;
use crate::world::NodeProblem;

/// The analysis of a run. Invariant: `valid` is the merge of every section's verdict.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Overall verdict.
    pub valid: Validity,
    /// Named sections: workload, stats, availability, (net and perf are always valid).
    pub sections: Vec<(String, CheckResult)>,
    /// Latency quantiles per `f`.
    pub latencies: Value,
    /// The whole results.json document.
    pub results: Value,
    /// Node problems.
    pub problems: Vec<NodeProblem>,
}

impl Outcome {
    /// Maelstrom's exit status; a crashed node makes the run crash (255).
    pub fn exit_code(&self) -> i32 {
        if self
            .problems
            .iter()
            .any(|p| matches!(p, NodeProblem::Crashed { .. }))
        {
            return 255;
        }
        match self.valid {
            Validity::Valid => 0,
            Validity::Invalid => 1,
            Validity::Unknown => 2,
        }
    }
}

/// CPU time (user + sys) this process has used so far, in seconds.
pub fn process_cpu_secs() -> Option<f64> {
    // SAFETY: getrusage writes into the zeroed struct we own; RUSAGE_SELF is always valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return None;
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    Some(t(ru.ru_utime) + t(ru.ru_stime))
}

/// The share of one core the harness used during one run: the CPU seconds it spent in
/// that run over the run's wall time, in %. Per run, so that several runs in one process
/// (`glomers challenges`, `glomers broadcast-frontier`) each report their own share.
pub fn cpu_percent(cpu_secs: Option<f64>, wall_secs: f64) -> Option<f64> {
    match cpu_secs {
        Some(c) if wall_secs > 0.0 => Some(100.0 * c / wall_secs),
        _ => None,
    }
}

/// Runs the checkers and composes the verdict as Maelstrom does.
pub fn analyse(cfg: &TestConfig, out: &RunOutput) -> Outcome {
    let h = &out.history;
    let avail = cfg.availability.map(|a| match a {
        AvailabilityArg::Total => availability::Availability::Total,
        AvailabilityArg::Fraction(f) => availability::Availability::Fraction(f),
    });
    let sections = vec![
        ("workload".to_owned(), check_workload(cfg, h)),
        ("stats".to_owned(), checkers::stats::check(h)),
        ("availability".to_owned(), availability::check(h, avail)),
    ];
    let valid = checkers::compose(sections.clone()).valid;
    let latencies = perf::summary_json(&perf::latencies(h));
    let results = results_json(cfg, out, valid, &latencies, &sections);
    Outcome {
        valid,
        sections,
        latencies,
        results,
        problems: out.problems.clone(),
    }
}

/// The verdict of the workload's own checker on history `h`.
fn check_workload(cfg: &TestConfig, h: &History) -> CheckResult {
    match cfg.workload {
        WorkloadKind::Echo => checkers::echo::check(h),
        WorkloadKind::UniqueIds => checkers::unique_ids::check(h),
        WorkloadKind::Broadcast | WorkloadKind::GSet => checkers::set_full::check(h),
        WorkloadKind::GCounter | WorkloadKind::PnCounter => checkers::counter::check(h),
        WorkloadKind::TxnRwRegister => match checkers::txn::parse_models(&cfg.consistency_models) {
            Ok(models) => checkers::txn::check(h, &models),
            Err(e) => CheckResult::unknown(e.to_string()),
        },
        WorkloadKind::TxnListAppend => {
            match checkers::list_append::parse_models(&cfg.consistency_models) {
                Ok(models) => checkers::list_append::check(h, &models),
                Err(e) => CheckResult::unknown(e.to_string()),
            }
        }
        WorkloadKind::Kafka => checkers::kafka::check(h),
        WorkloadKind::LinKv => checkers::linearizable::check(
            h,
            &checkers::linearizable::LinOpts {
                state_limit: cfg.linearizable_state_limit,
                ..Default::default()
            },
        ),
    }
}

/// `results.json`: the verdict, the run's figures and every section's verdict.
fn results_json(
    cfg: &TestConfig,
    out: &RunOutput,
    valid: Validity,
    latencies: &Value,
    sections: &[(String, CheckResult)],
) -> Value {
    let mut results = json!({
        "valid": valid,
        "mode": match cfg.mode {
            crate::cli::Mode::Process => "process",
            crate::cli::Mode::Sim => "sim",
        },
        "seed": cfg.seed,
        "workload_name": cfg.workload.name(),
        "command_line": cfg.command_line,
        "nodes": cfg.nodes,
        "concurrency": cfg.concurrency,
        "net": out.net,
        "perf": {"latencies": latencies},
        "node_problems": out.problems,
    });
    if let Value::Object(o) = &mut results {
        // The harness's own time and CPU are figures of a process run; a simulated run's
        // results.json holds only what its seed determines, so it replays byte for byte.
        if cfg.mode == crate::cli::Mode::Process {
            o.insert(
                "harness_cpu_percent".into(),
                json!(cpu_percent(out.cpu_secs, out.wall_secs)),
            );
            o.insert("wall_secs".into(), json!(out.wall_secs));
        }
        if let Some(memory) = &out.node_memory {
            o.insert(
                "node_memory".into(),
                crate::node_memory::to_json(&cfg.nodes, memory),
            );
        }
        for (name, r) in sections {
            o.insert(
                name.clone(),
                json!({"valid": r.valid, "problems": r.problems, "details": r.details}),
            );
        }
    }
    results
}

/// Creates `store/<workload>/<timestamp>/` and points `store/latest` (and
/// `store/<workload>/latest`) at it.
pub fn make_run_dir(store: &Path, workload: &str) -> std::io::Result<PathBuf> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let base = store.join(workload);
    std::fs::create_dir_all(&base)?;
    let stamp = format!("{}.{:03}", format_utc(now.as_secs()), now.subsec_millis());
    // `create_dir` fails on an existing folder, so runs started in the same millisecond
    // (a swarm on two cores) each get their own.
    let mut name = stamp.clone();
    let mut dir = base.join(&name);
    let mut k = 1;
    loop {
        match std::fs::create_dir(&dir) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                name = format!("{stamp}-{k}");
                dir = base.join(&name);
                k += 1;
            }
            Err(e) => return Err(e),
        }
    }
    for (link, target) in [
        (base.join("latest"), PathBuf::from(&name)),
        (store.join("latest"), PathBuf::from(workload).join(&name)),
    ] {
        let _ = std::fs::remove_file(&link);
        #[cfg(unix)]
        {
            let _ = std::os::unix::fs::symlink(&target, &link);
        }
    }
    Ok(dir)
}

/// `YYYYMMDDTHHMMSS` in UTC.
fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (proleptic Gregorian), Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Writes results.json and history.jsonl into `dir`.
pub fn write_files(dir: &Path, outcome: &Outcome, out: &RunOutput) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("results.json"))?);
    serde_json::to_writer_pretty(&mut f, &outcome.results)?;
    f.write_all(b"\n")?;
    f.flush()?;
    let mut h = std::io::BufWriter::new(std::fs::File::create(dir.join("history.jsonl"))?);
    for op in &out.history.ops {
        serde_json::to_writer(&mut h, op)?;
        h.write_all(b"\n")?;
    }
    h.flush()
}

fn fmt_q(v: &Value) -> String {
    let g = |k: &str| {
        v.get(k)
            .and_then(Value::as_f64)
            .map(|x| format!("{x:.0}"))
            .unwrap_or_else(|| "-".into())
    };
    format!(
        "p50 {} ms, p99 {} ms, max {} ms",
        g("0.5"),
        g("0.99"),
        g("1")
    )
}

/// The summary lines of one node problem.
fn problem_lines(p: &NodeProblem) -> String {
    let mut s = String::new();
    match p {
        NodeProblem::BadLine { node, line, error } => {
            s.push_str(&format!("  node {node} printed a bad line (stdout no longer read): {error}\n      {line}\n"))
        }
        NodeProblem::UnknownNode { node, line, error } => {
            s.push_str(&format!("  node {node} sent a message that was refused (stdout no longer read): {error}\n      {line}\n"))
        }
        NodeProblem::Crashed { node, status, stderr_tail } => {
            s.push_str(&format!("  node {node} crashed: {status}\n"));
            for l in stderr_tail.iter().rev().take(5).rev() {
                s.push_str(&format!("      stderr: {l}\n"));
            }
        }
        NodeProblem::RestartFailed { node, why } => {
            s.push_str(&format!("  node {node} did not come back after a restart: {why}\n"))
        }
    }
    s
}

/// The one-screen summary.
pub fn summary(cfg: &TestConfig, outcome: &Outcome, out: &RunOutput, dir: &Path) -> String {
    let mut s = String::new();
    let verdict = match (outcome.exit_code(), outcome.valid) {
        (255, _) => "CRASHED (a node exited early)",
        (_, Validity::Valid) => "VALID",
        (_, Validity::Invalid) => "INVALID",
        (_, Validity::Unknown) => "UNKNOWN",
    };
    s.push_str(&format!(
        "{} — {} with {} node(s), concurrency {}, seed {}\n",
        verdict,
        cfg.workload.name(),
        cfg.nodes.len(),
        cfg.concurrency,
        cfg.seed
    ));
    for (name, r) in &outcome.sections {
        let v = match r.valid {
            Validity::Valid => "ok",
            Validity::Invalid => "INVALID",
            Validity::Unknown => "unknown",
        };
        s.push_str(&format!("  {name:<13} {v}\n"));
        for p in r.problems.iter().take(5) {
            s.push_str(&format!("      {p}\n"));
        }
    }
    for p in &outcome.problems {
        s.push_str(&problem_lines(p));
    }
    let n = &out.net;
    let mpo = |x: Option<f64>| x.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
    s.push_str(&format!(
        "  net           {} msgs ({} servers), msgs-per-op all {} servers {}\n",
        n.all.msg_count,
        n.servers.msg_count,
        mpo(n.all.msgs_per_op),
        mpo(n.servers.msgs_per_op)
    ));
    if let Some(r) = outcome.sections.iter().find(|(n, _)| n == "availability") {
        s.push_str(&format!(
            "  ok fraction   {:.4}\n",
            r.1.details["ok_fraction"].as_f64().unwrap_or(0.0)
        ));
    }
    if let Some(all) = outcome.latencies.pointer("/overall/all/quantiles_ms") {
        s.push_str(&format!("  latency       {}\n", fmt_q(all)));
    }
    if let Some(sl) = outcome
        .sections
        .first()
        .and_then(|(_, r)| r.details.get("stable_latencies"))
    {
        s.push_str(&format!("  stable lat.   {}\n", fmt_q(sl)));
    }
    if let Some(c) = outcome
        .results
        .get("harness_cpu_percent")
        .and_then(Value::as_f64)
    {
        s.push_str(&format!(
            "  harness CPU   {c:.1}% of one core over {:.1} s\n",
            out.wall_secs
        ));
    }
    if let Some(line) = outcome
        .results
        .get("node_memory")
        .and_then(crate::node_memory::summary_line)
    {
        s.push_str(&line);
    }
    s.push_str(&format!("  run folder    {}\n", dir.display()));
    s
}
