//! `glomers broadcast-frontier`: the broadcast node's messages/latency trade-off measured
//! through the harness on the 3d/3e command line (`-w broadcast --node-count 25
//! --time-limit 20 --rate 100 --latency 100`).
//!
//! Two sweeps, each run once per seed:
//! - every mode preset (`--mode latency|balanced|messages` passed to the binary), summarised
//!   as the median over seeds of `:servers` msgs-per-op and of the stable-latency median and
//!   maximum, in a markdown table next to the published figures and the targets;
//! - the interval knob (`--interval-ms I`, and `--leaf-interval-ms I` for the messages
//!   preset, whose origins batch too) of each swept mode, tracing the frontier.
//!
//! Every point lands in an SVG plot (msgs-per-op against stable median latency, log-scaled
//! messages axis) with the modes and the published points marked.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::{Args, Parser};
use plotters::prelude::*;
use serde_json::Value;

use crate::app::run_test;
use crate::cli::{self, Cli, Command};
use crate::plots::{draw_err, PlotError};

/// The 3d/3e command line (the challenge page's flags).
pub const LINE: &str = "-w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100";

/// Flags of `glomers broadcast-frontier`.
#[derive(Debug, Clone, Args)]
pub struct FrontierArgs {
    /// Runs per point: seeds `seed`, `seed + 1`, ….
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Interval values (ms) swept, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "25,50,100,200,400,800")]
    pub intervals: Vec<u64>,
    /// Modes whose interval is swept, comma-separated (balanced, messages).
    #[arg(long, value_delimiter = ',', default_value = "balanced")]
    pub sweep_modes: Vec<String>,
    /// Skip the interval sweep (mode table only).
    #[arg(long)]
    pub no_sweep: bool,
    /// The broadcast binary (default: target/release/broadcast of the workspace).
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// Folder of run folders.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// The SVG written.
    #[arg(long, default_value = "docs/broadcast-frontier.svg")]
    pub out: PathBuf,
    /// Run in the deterministic simulator instead of on processes (the same model of the
    /// network, so the same figures within noise, in a few seconds).
    #[arg(long)]
    pub sim: bool,
}

/// One mode's published reference point and target: (msgs-per-op, median ms, max ms).
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// The mode.
    pub mode: &'static str,
    /// What the published point is.
    pub label: &'static str,
    /// The published figures.
    pub published: (f64, f64, f64),
    /// Upper bounds this project aims for.
    pub target: (f64, f64, f64),
}

/// The published results the modes are measured against, and the targets.
pub const REFERENCES: [Reference; 3] = [
    Reference {
        mode: "latency",
        label: "lowest latency passing 3d (unbatched star)",
        published: (24.0, 175.0, 208.0),
        target: (12.5, 100.0, 150.0),
    },
    Reference {
        mode: "balanced",
        label: "best passing 3d and 3e",
        published: (9.8, 333.0, 533.0),
        target: (5.0, 300.0, 400.0),
    },
    Reference {
        mode: "messages",
        label: "fewest messages passing 3e",
        published: (1.92, 764.0, 1087.0),
        target: (1.2, 600.0, 900.0),
    },
];

/// The figures of one harness run. `None` where the run produced no such figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Seed of the run.
    pub seed: u64,
    /// `:servers` msgs-per-op.
    pub msgs_per_op: Option<f64>,
    /// Stable-latency median, ms.
    pub median_ms: Option<f64>,
    /// Stable-latency maximum, ms.
    pub max_ms: Option<f64>,
    /// The harness's verdict was valid (exit status 0).
    pub valid: bool,
    /// The run's `harness_cpu_percent` as recorded (the harness's own share of one core
    /// during that run).
    pub cpu_percent: Option<f64>,
}

impl Point {
    /// Reads a run's `results.json` document; `valid` is the exit status's verdict.
    pub fn from_results(seed: u64, valid: bool, r: &Value) -> Self {
        let f = |p: &str| r.pointer(p).and_then(Value::as_f64);
        Self {
            seed,
            msgs_per_op: f("/net/servers/msgs_per_op"),
            median_ms: f("/workload/details/stable_latencies/0.5"),
            max_ms: f("/workload/details/stable_latencies/1"),
            valid,
            cpu_percent: f("/harness_cpu_percent"),
        }
    }

    /// Passes Maelstrom's 3d bounds: msgs-per-op < 30, median < 400 ms, max < 600 ms.
    pub fn passes_3d(&self) -> bool {
        self.within((30.0, 400.0, 600.0))
    }

    /// Passes Maelstrom's 3e bounds: msgs-per-op < 20, median < 1 s, max < 2 s.
    pub fn passes_3e(&self) -> bool {
        self.within((20.0, 1000.0, 2000.0))
    }

    /// Valid, and every figure present and at most the bound (inclusive).
    pub fn within(&self, b: (f64, f64, f64)) -> bool {
        self.valid
            && matches!((self.msgs_per_op, self.median_ms, self.max_ms),
                (Some(m), Some(p), Some(x)) if m <= b.0 && p <= b.1 && x <= b.2)
    }
}

/// The median of the present values (the lower middle one for an even count); `None`
/// when none is present.
pub fn median(xs: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let mut v: Vec<f64> = xs.into_iter().flatten().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[(v.len() - 1) / 2])
}

/// The per-figure median of `points` (seed 0), valid only when every run was valid.
pub fn summarise(points: &[Point]) -> Point {
    Point {
        seed: 0,
        msgs_per_op: median(points.iter().map(|p| p.msgs_per_op)),
        median_ms: median(points.iter().map(|p| p.median_ms)),
        max_ms: median(points.iter().map(|p| p.max_ms)),
        valid: !points.is_empty() && points.iter().all(|p| p.valid),
        cpu_percent: median(points.iter().map(|p| p.cpu_percent)),
    }
}

/// A swept point: the mode, the knob value (`None` for the preset itself) and its runs.
#[derive(Debug, Clone)]
pub struct Series {
    /// The mode preset.
    pub mode: String,
    /// The interval passed, if any.
    pub interval_ms: Option<u64>,
    /// One point per seed.
    pub runs: Vec<Point>,
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.digits$}"))
}

fn triple(t: (f64, f64, f64)) -> String {
    format!("{} / {:.0} / {:.0}", t.0, t.1, t.2)
}

/// The markdown table of the mode presets: median of the seeds next to the published
/// figures and the targets, then every run.
pub fn mode_table(modes: &[Series]) -> String {
    let mut s = String::new();
    s.push_str("| mode | msgs-per-op | median ms | max ms | valid (all seeds) | 3d | 3e | target met | target (≤) | published (msgs / median / max) |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for m in modes {
        let sum = summarise(&m.runs);
        let r = REFERENCES.iter().find(|r| r.mode == m.mode);
        let yn = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) |",
            m.mode,
            cell(sum.msgs_per_op, 2),
            cell(sum.median_ms, 0),
            cell(sum.max_ms, 0),
            yn(sum.valid),
            yn(m.runs.iter().all(Point::passes_3d)),
            yn(m.runs.iter().all(Point::passes_3e)),
            r.map_or("-", |r| yn(sum.within(r.target))),
            r.map_or_else(|| "-".into(), |r| triple(r.target)),
            r.map_or_else(|| "-".into(), |r| triple(r.published)),
            r.map_or("-", |r| r.label),
        );
    }
    s.push_str("\nEvery run:\n\n| mode | interval ms | seed | msgs-per-op | median ms | max ms | valid |\n|---|---|---|---|---|---|---|\n");
    s.push_str(&runs_rows(modes));
    s
}

fn runs_rows(series: &[Series]) -> String {
    let mut s = String::new();
    for m in series {
        for p in &m.runs {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                m.mode,
                m.interval_ms
                    .map_or_else(|| "preset".into(), |i| i.to_string()),
                p.seed,
                cell(p.msgs_per_op, 2),
                cell(p.median_ms, 0),
                cell(p.max_ms, 0),
                p.valid,
            );
        }
    }
    s
}

/// The markdown table of the interval sweep (median of the seeds per interval).
pub fn sweep_table(sweep: &[Series]) -> String {
    sweep_table_labelled(sweep, ("mode", "interval ms"), 2)
}

/// The markdown table of a sweep (median of the seeds per point), its first two columns
/// headed `labels` (mode, knob), msgs-per-op with `digits` decimals.
pub fn sweep_table_labelled(sweep: &[Series], labels: (&str, &str), digits: usize) -> String {
    let (mode, knob) = labels;
    let mut s = format!("| {mode} | {knob} | msgs-per-op | median ms | max ms | valid (all seeds) | runs |\n|---|---|---|---|---|---|---|\n");
    for m in sweep {
        let sum = summarise(&m.runs);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            m.mode,
            m.interval_ms.map_or_else(|| "-".into(), |i| i.to_string()),
            cell(sum.msgs_per_op, digits),
            cell(sum.median_ms, 0),
            cell(sum.max_ms, 0),
            sum.valid,
            m.runs.len(),
        );
    }
    s
}

/// Errors while drawing the frontier.
#[derive(Debug, thiserror::Error)]
pub enum FrontierError {
    /// plotters failed (file or drawing trouble).
    #[error(transparent)]
    Draw(#[from] PlotError),
    /// No point has both figures, so there is nothing to draw.
    #[error("no run produced msgs-per-op and a stable median")]
    Empty,
}

fn xy(p: &Point) -> Option<(f64, f64)> {
    Some((p.median_ms?, p.msgs_per_op?)).filter(|(x, y)| *x >= 0.0 && *y > 0.0)
}

const MODE_COLOURS: [(&str, RGBColor); 5] = [
    ("latency", RGBColor(200, 30, 30)),
    ("balanced", RGBColor(30, 110, 200)),
    ("messages", RGBColor(30, 150, 60)),
    ("star", RGBColor(30, 110, 200)),
    ("mesh", RGBColor(200, 120, 20)),
];

fn colour(mode: &str) -> RGBColor {
    MODE_COLOURS
        .iter()
        .find(|(m, _)| *m == mode)
        .map_or(RGBColor(90, 90, 90), |(_, c)| *c)
}

/// What a frontier plot shows besides the runs.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The title.
    pub caption: String,
    /// What the swept knob is called in the legend ("interval").
    pub knob: String,
    /// Published points: (label, msgs-per-op, median ms), drawn as crosses.
    pub published: Vec<(String, f64, f64)>,
}

/// Draws msgs-per-op (log scale) against stable median latency: each swept mode's interval
/// points (median of seeds) joined by a line and labelled with the interval, each preset as
/// a large filled circle, each published point as a black cross.
pub fn plot(out: &Path, modes: &[Series], sweep: &[Series]) -> Result<(), FrontierError> {
    let chart = Chart {
        caption: "broadcast 3d/3e line: msgs-per-op vs stable median latency".into(),
        knob: "interval".into(),
        published: REFERENCES
            .iter()
            .map(|r| (r.label.to_owned(), r.published.0, r.published.1))
            .collect(),
    };
    plot_chart(out, &chart, modes, sweep)
}

/// Draws a frontier as [`plot`] does, with `spec`'s title, knob name and published points.
pub fn plot_chart(
    out: &Path,
    spec: &Chart,
    modes: &[Series],
    sweep: &[Series],
) -> Result<(), FrontierError> {
    let file = out.display().to_string();
    let (xmax, ys) = axes(modes, sweep, &spec.published)?;
    let root = SVGBackend::new(out, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(&file))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&spec.caption, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..xmax, ys.log_scale())
        .map_err(draw_err(&file))?;
    chart
        .configure_mesh()
        .x_desc("stable latency, median (ms)")
        .y_desc(":servers msgs-per-op (log)")
        .draw()
        .map_err(draw_err(&file))?;
    draw_sweeps(&mut chart, sweep, &spec.knob, &file)?;
    draw_presets(&mut chart, modes, &file)?;
    draw_published(&mut chart, &spec.published, &file)?;
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()
        .map_err(draw_err(&file))?;
    root.present().map_err(draw_err(&file))?;
    Ok(())
}

/// The x axis's end and the y axis's range, with room around every point drawn (runs'
/// medians and published points) and on the right for the rightmost points' labels.
fn axes(
    modes: &[Series],
    sweep: &[Series],
    published: &[(String, f64, f64)],
) -> Result<(f64, Range<f64>), FrontierError> {
    let mut all: Vec<(f64, f64)> = modes
        .iter()
        .chain(sweep)
        .filter_map(|s| xy(&summarise(&s.runs)))
        .collect();
    if all.is_empty() {
        return Err(FrontierError::Empty);
    }
    all.extend(published.iter().map(|p| (p.2, p.1)));
    let xmax = all.iter().map(|p| p.0).fold(0.0, f64::max) * 1.3 + 10.0;
    let ymin = all.iter().map(|p| p.1).fold(f64::INFINITY, f64::min) * 0.7;
    let ymax = all.iter().map(|p| p.1).fold(0.0, f64::max) * 1.4;
    Ok((xmax, ymin..ymax))
}

/// Each swept mode's points, joined by a line and labelled with the knob's value.
fn draw_sweeps<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'_, DB, CT>,
    sweep: &[Series],
    knob: &str,
    file: &str,
) -> Result<(), PlotError> {
    let mut swept: Vec<&str> = sweep.iter().map(|s| s.mode.as_str()).collect();
    swept.dedup();
    for mode in swept {
        let c = colour(mode);
        let pts: Vec<(f64, f64, u64)> = sweep
            .iter()
            .filter(|s| s.mode == mode)
            .filter_map(|s| Some((xy(&summarise(&s.runs))?, s.interval_ms?)))
            .map(|((x, y), i)| (x, y, i))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), c))
            .map_err(draw_err(file))?
            .label(format!("{mode}: {knob} sweep"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
        chart
            .draw_series(pts.iter().map(|p| {
                EmptyElement::at((p.0, p.1))
                    + Circle::new((0, 0), 3, c.filled())
                    + Text::new(format!("{} ms", p.2), (5, -12), ("sans-serif", 12))
            }))
            .map_err(draw_err(file))?;
    }
    Ok(())
}

/// Each preset's median of seeds, as a large filled circle.
fn draw_presets<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'_, DB, CT>,
    modes: &[Series],
    file: &str,
) -> Result<(), PlotError> {
    for m in modes {
        let Some((x, y)) = xy(&summarise(&m.runs)) else {
            continue;
        };
        let c = colour(&m.mode);
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((x, y))
                    + Circle::new((0, 0), 7, c.filled())
                    + Text::new(
                        format!("{} mode", m.mode),
                        (9, 4),
                        ("sans-serif", 14).into_font().color(&c),
                    ),
            ))
            .map_err(draw_err(file))?
            .label(format!("{} preset (median of seeds)", m.mode))
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
    }
    Ok(())
}

/// The published points (label, msgs-per-op, median ms), as black crosses.
fn draw_published<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'_, DB, CT>,
    published: &[(String, f64, f64)],
    file: &str,
) -> Result<(), PlotError> {
    chart
        .draw_series(published.iter().map(|(label, msgs, median)| {
            EmptyElement::at((*median, *msgs))
                + Cross::new((0, 0), 6, BLACK.stroke_width(2))
                + Text::new(format!("published: {label}"), (9, 4), ("sans-serif", 12))
        }))
        .map_err(draw_err(file))?
        .label("published results")
        .legend(|(x, y)| Cross::new((x + 10, y), 5, BLACK.stroke_width(2)));
    Ok(())
}

/// The binary's flags for `mode` with an optional interval override.
pub fn node_flags(mode: &str, interval_ms: Option<u64>) -> Vec<String> {
    let mut v = vec!["--mode".to_owned(), mode.to_owned()];
    if let Some(i) = interval_ms {
        v.extend(["--interval-ms".to_owned(), i.to_string()]);
        if mode == "messages" {
            v.extend(["--leaf-interval-ms".to_owned(), i.to_string()]);
        }
    }
    v
}

async fn one_run(a: &FrontierArgs, bin: &Path, seed: u64, node: &[String]) -> Option<Point> {
    let run = Measure {
        command: "broadcast-frontier",
        sim: a.sim,
        line: LINE,
        bin,
        store: &a.store,
    };
    run.point(seed, node).await
}

/// One frontier point's run: `glomers test` (or `sim`) of `line` with `bin` into `store`.
#[derive(Debug, Clone, Copy)]
pub struct Measure<'a> {
    /// The command measuring, for its log lines.
    pub command: &'a str,
    /// In the simulator rather than on processes.
    pub sim: bool,
    /// The workload's flags.
    pub line: &'a str,
    /// The node binary (or program name in the simulator).
    pub bin: &'a Path,
    /// Folder of run folders.
    pub store: &'a Path,
}

impl Measure<'_> {
    /// Runs the line with `--seed seed` and the node's flags `node`; `None` when the
    /// command line does not parse or validate (logged).
    pub async fn point(&self, seed: u64, node: &[String]) -> Option<Point> {
        let cmd = self.command;
        let verb = if self.sim { "sim" } else { "test" };
        let mut argv: Vec<String> = vec!["glomers".into(), verb.into()];
        argv.extend(self.line.split_whitespace().map(str::to_owned));
        argv.extend([
            "--bin".into(),
            self.bin.display().to_string(),
            "--seed".into(),
            seed.to_string(),
            "--store".into(),
            self.store.display().to_string(),
            "--".into(),
        ]);
        argv.extend(node.iter().cloned());
        eprintln!("glomers: {cmd}: {}", argv[1..].join(" "));
        measure(cmd, seed, argv).await
    }
}

async fn measure(cmd: &str, seed: u64, argv: Vec<String>) -> Option<Point> {
    let (args, mode) = match Cli::try_parse_from(&argv) {
        Ok(Cli {
            command: Command::Test(args),
        }) => (*args, cli::Mode::Process),
        Ok(Cli {
            command: Command::Sim(args),
        }) => (args.test, cli::Mode::Sim),
        _ => {
            eprintln!("glomers: {cmd}: cannot parse {argv:?}");
            return None;
        }
    };
    let cfg = match cli::validate(&args, mode, argv.clone()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("glomers: {cmd}: {e}");
            return None;
        }
    };
    let r = run_test(cfg).await;
    let results = r.outcome.map(|o| o.results).unwrap_or(Value::Null);
    Some(Point::from_results(seed, r.code == 0, &results))
}

async fn series(a: &FrontierArgs, bin: &Path, mode: &str, interval_ms: Option<u64>) -> Series {
    let flags = node_flags(mode, interval_ms);
    let mut runs = Vec::new();
    for k in 0..a.seeds {
        if let Some(p) = one_run(a, bin, a.seed + k, &flags).await {
            runs.push(p);
        }
    }
    Series {
        mode: mode.to_owned(),
        interval_ms,
        runs,
    }
}

/// `glomers broadcast-frontier`: runs the presets and the sweep, prints the tables, writes
/// the plot. Exit status 0 when every preset run was valid, 1 when one was not, 254 for a
/// bad mode name, 255 when the binary is missing or the plot cannot be drawn.
pub async fn run(a: &FrontierArgs) -> i32 {
    if let Some(bad) = a
        .sweep_modes
        .iter()
        .find(|m| !["latency", "balanced", "messages"].contains(&m.as_str()))
    {
        eprintln!("glomers: broadcast-frontier: unknown mode {bad:?}");
        return 254;
    }
    let Some(bin) = node_bin("broadcast-frontier", "broadcast", a.bin.as_deref(), a.sim) else {
        return 255;
    };
    let mut modes = Vec::new();
    for m in ["latency", "balanced", "messages"] {
        modes.push(series(a, &bin, m, None).await);
    }
    let mut sweep = Vec::new();
    if !a.no_sweep {
        for m in &a.sweep_modes {
            for &i in &a.intervals {
                sweep.push(series(a, &bin, m, Some(i)).await);
            }
        }
    }
    println!("\n{}", mode_table(&modes));
    if !sweep.is_empty() {
        println!(
            "Interval sweep (median of seeds):\n\n{}",
            sweep_table(&sweep)
        );
        println!("Sweep runs:\n\n| mode | interval ms | seed | msgs-per-op | median ms | max ms | valid |\n|---|---|---|---|---|---|---|\n{}", runs_rows(&sweep));
    }
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("glomers: broadcast-frontier: {}: {e}", dir.display());
            return 255;
        }
    }
    if let Err(e) = plot(&a.out, &modes, &sweep) {
        eprintln!("glomers: broadcast-frontier: {e}");
        return 255;
    }
    eprintln!("glomers: broadcast-frontier: plot → {}", a.out.display());
    let all_valid = modes.iter().all(|m| summarise(&m.runs).valid);
    if all_valid {
        0
    } else {
        1
    }
}

/// The node binary of a frontier command: `given`, else `target/release/<program>` of the
/// workspace. `None` (logged) when there is no such file and the runs are on processes.
pub fn node_bin(cmd: &str, program: &str, given: Option<&Path>, sim: bool) -> Option<PathBuf> {
    let bin = match given {
        Some(b) => b.to_path_buf(),
        None => {
            let Some(root) = crate::challenges::workspace_root() else {
                eprintln!("glomers: {cmd}: no workspace root; pass --bin");
                return None;
            };
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .map(|t| if t.is_absolute() { t } else { root.join(t) })
                .unwrap_or_else(|| root.join("target"))
                .join("release")
                .join(program)
        }
    };
    if !sim && !bin.is_file() {
        eprintln!(
            "glomers: {cmd}: no binary at {} (cargo build --release -p glomers-shell --bin {program})",
            bin.display()
        );
        return None;
    }
    Some(bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(seed: u64, m: f64, med: f64, max: f64, valid: bool) -> Point {
        Point {
            seed,
            msgs_per_op: Some(m),
            median_ms: Some(med),
            max_ms: Some(max),
            valid,
            cpu_percent: None,
        }
    }

    #[test]
    fn median_is_the_middle_value_per_figure() {
        let s = summarise(&[
            p(1, 3.0, 200.0, 500.0, true),
            p(2, 1.0, 300.0, 300.0, true),
            p(3, 2.0, 100.0, 400.0, true),
        ]);
        assert_eq!(s.msgs_per_op, Some(2.0));
        assert_eq!(s.median_ms, Some(200.0));
        assert_eq!(s.max_ms, Some(400.0));
        assert!(s.valid);
        assert_eq!(median([None, Some(5.0), Some(1.0), None]), Some(1.0));
        assert_eq!(median([None]), None);
    }

    #[test]
    fn one_invalid_seed_makes_the_summary_invalid() {
        let s = summarise(&[p(1, 1.0, 1.0, 1.0, true), p(2, 1.0, 1.0, 1.0, false)]);
        assert!(!s.valid);
        assert!(!summarise(&[]).valid);
    }

    #[test]
    fn pass_bounds_are_maelstroms() {
        assert!(p(1, 29.9, 399.0, 599.0, true).passes_3d());
        assert!(!p(1, 30.1, 399.0, 599.0, true).passes_3d());
        assert!(!p(1, 10.0, 401.0, 500.0, true).passes_3d());
        assert!(p(1, 19.0, 999.0, 1999.0, true).passes_3e());
        assert!(!p(1, 19.0, 999.0, 2001.0, true).passes_3e());
        assert!(!p(1, 1.0, 1.0, 1.0, false).passes_3e());
        let missing = Point {
            max_ms: None,
            ..p(1, 1.0, 1.0, 1.0, true)
        };
        assert!(!missing.passes_3d());
    }

    #[test]
    fn reads_results_json_figures() {
        let r = serde_json::json!({
            "net": {"servers": {"msgs_per_op": 4.5}},
            "workload": {"details": {"stable_latencies": {"0.5": 250, "1": 390}}},
            "harness_cpu_percent": 40.0,
        });
        let pt = Point::from_results(7, true, &r);
        assert_eq!(
            pt,
            Point {
                cpu_percent: Some(40.0),
                ..p(7, 4.5, 250.0, 390.0, true)
            }
        );
        assert!(pt.within(REFERENCES[1].target));
        assert!(!pt.within(REFERENCES[0].target));
    }

    #[test]
    fn table_marks_targets_and_lists_every_run() {
        let modes = vec![
            Series {
                mode: "balanced".into(),
                interval_ms: None,
                runs: vec![p(1, 4.0, 250.0, 350.0, true), p(2, 6.0, 260.0, 380.0, true)],
            },
            Series {
                mode: "latency".into(),
                interval_ms: None,
                runs: vec![p(1, 12.0, 90.0, 160.0, true)],
            },
        ];
        let t = mode_table(&modes);
        let row = |m: &str| {
            t.lines()
                .find(|l| l.starts_with(&format!("| {m} |")))
                .unwrap_or_default()
                .to_owned()
        };
        // Median of an even count is the lower middle: 4.00, 250, 350: within the target.
        assert!(row("balanced").contains("| 4.00 | 250 | 350 | yes | yes | yes | yes |"));
        // Latency max 160 > 150: target missed.
        assert!(row("latency").contains("| 12.00 | 90 | 160 | yes | yes | yes | no |"));
        assert_eq!(t.matches("| preset |").count(), 3);
    }

    #[test]
    fn node_flags_follow_the_mode() {
        assert_eq!(node_flags("latency", None), ["--mode", "latency"]);
        assert_eq!(
            node_flags("messages", Some(300)),
            [
                "--mode",
                "messages",
                "--interval-ms",
                "300",
                "--leaf-interval-ms",
                "300"
            ]
        );
        assert_eq!(
            node_flags("balanced", Some(50)),
            ["--mode", "balanced", "--interval-ms", "50"]
        );
    }

    #[test]
    fn plot_writes_an_svg_with_every_mark() {
        let dir = std::env::temp_dir().join(format!("glomers-frontier-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let out = dir.join("f.svg");
        let modes = vec![Series {
            mode: "balanced".into(),
            interval_ms: None,
            runs: vec![p(1, 4.0, 250.0, 350.0, true)],
        }];
        let sweep = vec![
            Series {
                mode: "balanced".into(),
                interval_ms: Some(50),
                runs: vec![p(1, 6.0, 200.0, 300.0, true)],
            },
            Series {
                mode: "balanced".into(),
                interval_ms: Some(400),
                runs: vec![p(1, 2.0, 500.0, 700.0, true)],
            },
        ];
        assert!(plot(&out, &modes, &sweep).is_ok());
        let svg = std::fs::read_to_string(&out).unwrap_or_default();
        assert!(svg.contains("balanced mode"));
        assert!(svg.contains("400 ms"));
        assert!(svg.contains("fewest messages passing 3e"));
        assert!(matches!(plot(&out, &[], &[]), Err(FrontierError::Empty)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
