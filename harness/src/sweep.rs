//! `glomers fault-sweep`: every challenge binary on its challenge command line with faults
//! added, on several seeds in a row, each run's verdict and `:servers` msgs-per-op next to
//! the same line's figure without faults.
//!
//! A line is a challenge's command line ([`crate::challenges::runs`]) with its own
//! `--nemesis` and `--availability total` taken out (no node answers while it is dead, so
//! total availability cannot be asked of a run with kills) and the sweep's faults put in:
//! by default `--nemesis partition,kill,pause --durable --nemesis-interval 3`. The interval
//! is shorter than Maelstrom's 10 s default so that a 20 s run sees several kills and
//! restarts: with 10 s, the first gap of the kill/pause schedule is drawn from `[0, 20 s)`
//! and some seeds (seed 4 is one) kill every node at the start and restart none before the
//! final phase, a run no node can pass (no operation of the main phase can succeed).
//! Broadcast's 3d/3e line runs once per mode and g-counter's line once per mode; lines
//! that become identical once their faults are replaced (3d and 3e, 5b and 5c, the two
//! runs of 6b) run once.
//!
//! `--quick` (5 s runs) does not suit kills: a request to a node that is dead or paused
//! from the start times out only after the clients' 5 s, so some seeds (seed 1 is one) see
//! no operation succeed whatever the node. A short process-mode run for CI is `--seeds 1`
//! (full-length runs, about ten minutes for every line).
//!
//! Every seed of every line also runs without faults (unless `--no-baseline`), so each
//! line's msgs-per-op under faults is given as a ratio to its fault-free figure of the
//! same seeds. Exit status: the worst of every faulted run's (0 when all are valid).

use std::path::Path;

use clap::Args;
use serde_json::Value;

use crate::challenges::{prepare, run_one, runs};
use crate::cli::ChallengeCommon;

/// Flags of `glomers fault-sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Seeds per line: `--seed` (default 1) and the ones after it.
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// The faults added to every line.
    #[arg(long, default_value = "partition,kill,pause")]
    pub nemesis: String,
    /// Mean seconds between the operations of each fault.
    #[arg(long, default_value_t = 3.0)]
    pub nemesis_interval: f64,
    /// Run without `--durable`: a killed node's data directory is emptied (Maelstrom's own
    /// kill).
    #[arg(long)]
    pub wiping: bool,
    /// Only these lines, by label or challenge id (comma-separated, e.g. `3d,5b`).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Skip the fault-free runs (no ratio column).
    #[arg(long)]
    pub no_baseline: bool,
    #[command(flatten)]
    pub common: ChallengeCommon,
}

/// One line of the sweep: a challenge's command line and the node's flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The label in the table (the challenge id, with the node's mode when it has one).
    pub label: String,
    /// The challenge whose command line this is.
    pub challenge: &'static str,
    /// The node binary.
    pub bin: &'static str,
    /// The test flags without faults (no `--nemesis`, no `--availability total`).
    pub flags: Vec<&'static str>,
    /// The node's own flags.
    pub node_args: Vec<&'static str>,
}

/// A node mode of a line: its label and the node flags that select it.
type Mode = (&'static str, &'static [&'static str]);

/// Every line of the sweep, in challenge order (see the module documentation). A line
/// that several challenges share is labelled with all of them (`3b/3c`).
pub fn lines() -> Vec<Line> {
    let modes: &[(&str, &[Mode])] = &[
        (
            "3d",
            &[
                ("latency", &["--mode", "latency"]),
                ("balanced", &["--mode", "balanced"]),
                ("messages", &["--mode", "messages"]),
            ],
        ),
        (
            "4",
            &[("kv", &["--mode", "kv"]), ("crdt", &["--mode", "crdt"])],
        ),
    ];
    // The distinct command lines, each with the challenges that run it.
    let mut groups: Vec<(Vec<&'static str>, &'static str, Vec<&'static str>)> = Vec::new();
    for id in crate::challenges::IDS {
        for (bin, flags) in runs(id).unwrap_or_default() {
            let flags = without_faults(&flags);
            match groups.iter_mut().find(|(_, b, f)| *b == bin && *f == flags) {
                Some((ids, _, _)) if !ids.contains(&id) => ids.push(id),
                Some(_) => {}
                None => groups.push((vec![id], bin, flags)),
            }
        }
    }
    let mut out = Vec::new();
    for (ids, bin, flags) in groups.into_iter().filter(|(_, b, _)| *b != "echo") {
        let variants: &[Mode] = modes
            .iter()
            .find(|(m, _)| *m == ids[0])
            .map_or(&[("", &[])], |(_, v)| v);
        for (mode, node_args) in variants {
            let mut label = ids.join("/");
            if !mode.is_empty() {
                label = format!("{label}-{mode}");
            }
            out.push(Line {
                label,
                challenge: ids[0],
                bin,
                flags: flags.clone(),
                node_args: node_args.to_vec(),
            });
        }
    }
    out
}

impl Line {
    /// Whether `--only` picks this line: none given, its label, or one of its challenge
    /// ids (`3d` picks the three 3d/3e lines).
    pub fn selected_by(&self, only: &[String]) -> bool {
        let ids = self.label.split('-').next().unwrap_or_default();
        only.is_empty()
            || only
                .iter()
                .any(|o| *o == self.label || ids.split('/').any(|id| id == o))
    }
}

/// `flags` without `--nemesis X` and `--availability total`.
pub fn without_faults<'a>(flags: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::with_capacity(flags.len());
    let mut it = flags.iter().peekable();
    while let Some(f) = it.next() {
        match *f {
            "--nemesis" => {
                it.next();
            }
            "--availability" if it.peek().is_some_and(|v| **v == "total") => {
                it.next();
            }
            _ => out.push(*f),
        }
    }
    out
}

/// The fault flags the sweep adds to every line.
fn fault_flags(a: &SweepArgs) -> Vec<String> {
    let mut f = vec![
        "--nemesis".to_owned(),
        a.nemesis.clone(),
        "--nemesis-interval".to_owned(),
        a.nemesis_interval.to_string(),
    ];
    if !a.wiping {
        f.push("--durable".to_owned());
    }
    f
}

/// The outcome of one run: its exit status and `:servers` msgs-per-op.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunFigure {
    /// The exit status (0 valid).
    pub code: i32,
    /// `:net :servers :msgs-per-op`, when the run was analysed.
    pub msgs_per_op: Option<f64>,
}

/// One row of the table: a line's faulted runs and its fault-free ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The line's label.
    pub label: String,
    /// The runs with faults, one per seed.
    pub faulted: Vec<RunFigure>,
    /// The runs without faults, one per seed (empty with `--no-baseline`).
    pub baseline: Vec<RunFigure>,
}

/// The median of the figures that have one.
fn median(runs: &[RunFigure]) -> Option<f64> {
    let mut v: Vec<f64> = runs.iter().filter_map(|r| r.msgs_per_op).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

impl Row {
    /// How many faulted runs were valid.
    pub fn valid(&self) -> usize {
        self.faulted.iter().filter(|r| r.code == 0).count()
    }

    /// The worst exit status of the faulted runs.
    pub fn worst(&self) -> i32 {
        self.faulted.iter().map(|r| r.code).max().unwrap_or(0)
    }

    /// Median msgs-per-op with faults over median without.
    pub fn ratio(&self) -> Option<f64> {
        let (f, b) = (median(&self.faulted)?, median(&self.baseline)?);
        (b > 0.0).then(|| f / b)
    }
}

/// The table: one line per row, then the exit status it stands for.
pub fn table(rows: &[Row]) -> (String, i32) {
    let cell = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"));
    let mut s = format!(
        "{:<16} {:>7} {:<9} {:>10} {:>10} {:>7}\n",
        "line", "valid", "worst", "msg/op", "no faults", "ratio"
    );
    let mut worst = 0;
    for r in rows {
        worst = worst.max(r.worst());
        let verdict = match r.worst() {
            0 => "valid",
            1 => "INVALID",
            2 => "unknown",
            _ => "CRASHED",
        };
        s.push_str(&format!(
            "{:<16} {:>7} {:<9} {:>10} {:>10} {:>7}\n",
            r.label,
            format!("{}/{}", r.valid(), r.faulted.len()),
            verdict,
            cell(median(&r.faulted)),
            cell(median(&r.baseline)),
            r.ratio()
                .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}x")),
        ));
    }
    (s, worst)
}

/// Runs `line` once per seed, with `extra` flags added; one figure per seed.
async fn run_line(
    line: &Line,
    extra: &[String],
    a: &SweepArgs,
    bins: &Path,
    tag: &str,
) -> Vec<RunFigure> {
    let first = a.common.seed.unwrap_or(1);
    let mut flags: Vec<&str> = line.flags.clone();
    flags.extend(extra.iter().map(String::as_str));
    let mut figures = Vec::new();
    for seed in first..first.saturating_add(a.seeds) {
        let mut common = a.common.clone();
        common.seed = Some(seed);
        let id = format!("{} ({tag}, seed {seed})", line.label);
        let args = (flags.as_slice(), line.node_args.as_slice());
        let r = run_one(&id, line.bin, args, &common, bins, true).await;
        let msgs_per_op = r
            .outcome
            .as_ref()
            .and_then(|o| o.results.pointer("/net/servers/msgs_per_op"))
            .and_then(Value::as_f64);
        let figure = RunFigure {
            code: r.code,
            msgs_per_op,
        };
        eprintln!(
            "glomers: {id}: exit {}, {} servers msgs-per-op",
            figure.code,
            msgs_per_op.map_or_else(|| "-".to_owned(), |m| format!("{m:.2}"))
        );
        figures.push(figure);
    }
    figures
}

/// `glomers fault-sweep`: the table on stdout; the worst exit status of the faulted runs.
pub async fn run(a: &SweepArgs) -> i32 {
    let bins = match prepare(&a.common) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let chosen: Vec<Line> = lines()
        .into_iter()
        .filter(|l| l.selected_by(&a.only))
        .collect();
    if chosen.is_empty() {
        let known: Vec<String> = lines().into_iter().map(|l| l.label).collect();
        eprintln!(
            "glomers: --only names no line; the lines are {}",
            known.join(", ")
        );
        return 254;
    }
    let faults = fault_flags(a);
    let mut rows = Vec::new();
    for line in &chosen {
        let faulted = run_line(line, &faults, a, &bins, "faults").await;
        let baseline = if a.no_baseline {
            Vec::new()
        } else {
            run_line(line, &[], a, &bins, "no faults").await
        };
        rows.push(Row {
            label: line.label.clone(),
            faulted,
            baseline,
        });
    }
    let (text, worst) = table(&rows);
    println!(
        "fault sweep: {} {}, {} seed(s) from {}",
        faults.join(" "),
        if a.common.sim {
            "(simulator)"
        } else {
            "(processes)"
        },
        a.seeds,
        a.common.seed.unwrap_or(1)
    );
    print!("{text}");
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(code: i32, m: f64) -> RunFigure {
        RunFigure {
            code,
            msgs_per_op: Some(m),
        }
    }

    #[test]
    fn every_binary_has_a_line_and_no_line_keeps_its_own_faults() {
        let all = lines();
        let labels: Vec<&str> = all.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "2",
                "3a",
                "3b/3c",
                "3d/3e-latency",
                "3d/3e-balanced",
                "3d/3e-messages",
                "4-kv",
                "4-crdt",
                "5a",
                "5b/5c",
                "6a",
                "6b",
                "6c"
            ]
        );
        for l in &all {
            assert!(
                !l.flags.contains(&"--nemesis"),
                "{}: {:?}",
                l.label,
                l.flags
            );
            assert!(!l.flags.contains(&"total"), "{}: {:?}", l.label, l.flags);
        }
        let pick = |o: &[&str]| -> Vec<String> {
            let only: Vec<String> = o.iter().map(|s| s.to_string()).collect();
            all.iter()
                .filter(|l| l.selected_by(&only))
                .map(|l| l.label.clone())
                .collect()
        };
        assert_eq!(pick(&["3d"]).len(), 3);
        assert_eq!(pick(&["3c", "4-crdt"]), ["3b/3c", "4-crdt"]);
        assert_eq!(pick(&[]).len(), all.len());
        assert!(pick(&["9"]).is_empty());
        let c3 = all.iter().find(|l| l.label == "3b/3c").expect("3b/3c");
        assert_eq!(c3.flags, without_faults(&runs("3c").expect("3c")[0].1));
        assert!(
            c3.flags.len() + 2 == runs("3c").expect("3c")[0].1.len(),
            "only the nemesis flag and its value are taken out"
        );
    }

    #[test]
    fn the_table_fails_on_any_invalid_run_and_gives_ratios_of_medians() {
        let ok = Row {
            label: "5b".into(),
            faulted: vec![fig(0, 0.3), fig(0, 0.2), fig(0, 0.9)],
            baseline: vec![fig(0, 0.1), fig(0, 0.2), fig(0, 0.2)],
        };
        let (text, worst) = table(std::slice::from_ref(&ok));
        assert_eq!(worst, 0);
        assert!(text.contains("3/3") && text.contains("1.50x"), "{text}");
        let mut bad = ok.clone();
        bad.faulted[1].code = 1;
        let (text, worst) = table(&[ok, bad]);
        assert_eq!(worst, 1, "one invalid run fails the sweep");
        assert!(text.contains("2/3") && text.contains("INVALID"), "{text}");
        let none = Row {
            label: "2".into(),
            faulted: vec![RunFigure {
                code: 255,
                msgs_per_op: None,
            }],
            baseline: Vec::new(),
        };
        let (text, worst) = table(&[none]);
        assert_eq!(worst, 255);
        assert!(text.contains("CRASHED") && text.contains(" -"), "{text}");
    }
}
