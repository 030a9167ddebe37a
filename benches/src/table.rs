//! The table generator: criterion's results in, the markdown table of `BENCHMARKS.md` out.
//!
//! For every benchmark id `group/function` criterion writes
//! `<criterion home>/group/function/new/estimates.json` (statistics of the time per
//! iteration, in nanoseconds) and `.../new/benchmark.json` (the declared throughput, i.e.
//! how many elements one iteration handles). A [`Row`] pairs a glomers benchmark with its
//! baseline; the figure is the **median** time per iteration divided by the elements per
//! iteration (the median, because the machine is shared and outliers come from other work),
//! and the ratio is baseline time per element over glomers time per element, so a ratio
//! above 1 means glomers is faster.

use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

/// Why a result could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A results file is missing or unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A results file is not the JSON criterion writes.
    #[error("cannot parse {what}: {source}")]
    Parse {
        /// Which file or benchmark.
        what: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The benchmark was not run, for a reason known to the caller.
    #[error("{what}: {why}")]
    NotMeasured {
        /// Which benchmark.
        what: String,
        /// Why not.
        why: String,
    },
    /// A statistic is not a positive finite number of nanoseconds.
    #[error("{what}: estimate {value} is not a positive time")]
    BadEstimate {
        /// Which benchmark.
        what: String,
        /// The value found.
        value: f64,
    },
}

#[derive(Deserialize)]
struct PointEstimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct Estimates {
    mean: PointEstimate,
    median: PointEstimate,
}

// The byte variants are only accepted, never used: a byte throughput counts as 1 element.
#[allow(dead_code)]
#[derive(Deserialize)]
enum Throughput {
    Elements(u64),
    Bytes(u64),
    BytesDecimal(u64),
}

#[derive(Deserialize)]
struct BenchmarkInfo {
    throughput: Option<Throughput>,
}

/// One benchmark's result. Invariant: both times are positive and finite, `elements >= 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Median time per iteration, ns.
    pub median_ns: f64,
    /// Mean time per iteration, ns.
    pub mean_ns: f64,
    /// Elements one iteration handles (criterion's `Throughput::Elements`, else 1).
    pub elements: u64,
}

impl Estimate {
    /// Median nanoseconds per element.
    pub fn ns_per_element(&self) -> f64 {
        self.median_ns / self.elements as f64
    }

    /// Elements per second at the median.
    pub fn per_second(&self) -> f64 {
        1e9 / self.ns_per_element()
    }
}

/// Parses criterion's `estimates.json` and `benchmark.json` texts of benchmark `what`.
pub fn parse(what: &str, estimates: &str, benchmark: &str) -> Result<Estimate, TableError> {
    let e: Estimates = serde_json::from_str(estimates).map_err(|source| TableError::Parse {
        what: format!("{what} estimates"),
        source,
    })?;
    let b: BenchmarkInfo = serde_json::from_str(benchmark).map_err(|source| TableError::Parse {
        what: format!("{what} benchmark"),
        source,
    })?;
    for value in [e.median.point_estimate, e.mean.point_estimate] {
        if !(value.is_finite() && value > 0.0) {
            return Err(TableError::BadEstimate {
                what: what.to_owned(),
                value,
            });
        }
    }
    let elements = match b.throughput {
        Some(Throughput::Elements(n)) => n.max(1),
        Some(Throughput::Bytes(_) | Throughput::BytesDecimal(_)) | None => 1,
    };
    Ok(Estimate {
        median_ns: e.median.point_estimate,
        mean_ns: e.mean.point_estimate,
        elements,
    })
}

/// Reads benchmark `id` (`group/function`) from criterion's output directory `home`.
pub fn load(home: &Path, id: &str) -> Result<Estimate, TableError> {
    let dir = home.join(id).join("new");
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|source| TableError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    parse(id, &read("estimates.json")?, &read("benchmark.json")?)
}

/// Baseline time per element over glomers time per element: above 1, glomers is faster.
pub fn speedup(ours: &Estimate, baseline: &Estimate) -> f64 {
    baseline.ns_per_element() / ours.ns_per_element()
}

/// What a row must show to meet the issue's target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// No target; the figure is informative.
    None,
    /// The speedup over the baseline must be at least this.
    Speedup(f64),
    /// The glomers figure must reach this many elements per second.
    Rate(f64),
    /// Both: this speedup over the baseline and this many elements per second.
    SpeedupAndRate(f64, f64),
}

impl Target {
    /// Whether `ours` against `baseline` meets the target (`None` for no target).
    pub fn met(&self, ours: &Estimate, baseline: &Estimate) -> Option<bool> {
        match *self {
            Target::None => None,
            Target::Speedup(x) => Some(speedup(ours, baseline) >= x),
            Target::Rate(r) => Some(ours.per_second() >= r),
            Target::SpeedupAndRate(x, r) => {
                Some(speedup(ours, baseline) >= x && ours.per_second() >= r)
            }
        }
    }

    fn describe(&self) -> String {
        match *self {
            Target::None => "–".to_owned(),
            Target::Speedup(x) => format!("≥ {x}×"),
            Target::Rate(r) => format!("≥ {}/s", si(r)),
            Target::SpeedupAndRate(x, r) => format!("≥ {x}× and ≥ {}/s", si(r)),
        }
    }
}

/// One line of the table: a glomers benchmark and the baseline it is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// What is measured.
    pub figure: &'static str,
    /// The glomers benchmark id (`group/function`).
    pub ours: &'static str,
    /// What the baseline is.
    pub baseline_label: &'static str,
    /// The baseline benchmark id.
    pub baseline: &'static str,
    /// The element counted (`ids`, `msgs`, ...).
    pub unit: &'static str,
    /// The issue's target for this row.
    pub target: Target,
}

/// `x` with an SI prefix and three significant digits (`12.3 M`, `999`).
pub fn si(x: f64) -> String {
    let (v, p) = if x >= 1e9 {
        (x / 1e9, " G")
    } else if x >= 1e6 {
        (x / 1e6, " M")
    } else if x >= 1e3 {
        (x / 1e3, " k")
    } else {
        (x, "")
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$}{p}")
}

/// A duration in nanoseconds with a fitting unit (`81.2 ns`, `1.23 µs`).
pub fn duration(ns: f64) -> String {
    let (v, u) = if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {u}")
}

fn cell(e: &Estimate, unit: &str) -> String {
    format!(
        "{} {unit}/s ({}/{})",
        si(e.per_second()),
        duration(e.ns_per_element()),
        unit.trim_end_matches('s')
    )
}

/// Renders `rows` as a markdown table, looking each benchmark up with `lookup`. A row whose
/// results are missing is still printed, with the reason, so a failed benchmark is visible
/// rather than silently dropped.
pub fn render(rows: &[Row], lookup: impl Fn(&str) -> Result<Estimate, TableError>) -> String {
    let mut out = String::new();
    out.push_str("| figure | glomers | baseline | baseline figure | speedup | target | met |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for r in rows {
        match (lookup(r.ours), lookup(r.baseline)) {
            (Ok(o), Ok(b)) => {
                let met = match r.target.met(&o, &b) {
                    None => "",
                    Some(true) => "yes",
                    Some(false) => "**no**",
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {:.2}× | {} | {} |",
                    r.figure,
                    cell(&o, r.unit),
                    r.baseline_label,
                    cell(&b, r.unit),
                    speedup(&o, &b),
                    r.target.describe(),
                    met
                );
            }
            (o, b) => {
                let why = o
                    .err()
                    .or(b.err())
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| {} | missing | {} | missing | – | {} | **no result**: {} |",
                    r.figure,
                    r.baseline_label,
                    r.target.describe(),
                    why.replace('|', "/")
                );
            }
        }
    }
    out
}

/// Replaces the text between the lines `begin` and `end` of `doc` with `body` (the marker
/// lines are kept). `None` if either marker is missing or they are out of order.
pub fn splice(doc: &str, begin: &str, end: &str, body: &str) -> Option<String> {
    let b = doc.find(begin)?;
    let after_begin = b + doc[b..].find('\n')? + 1;
    let e = after_begin + doc[after_begin..].find(end)?;
    let mut s = String::with_capacity(doc.len() + body.len());
    s.push_str(&doc[..after_begin]);
    s.push_str(body);
    if !body.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&doc[e..]);
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Trimmed copies of what criterion 0.5 writes.
    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":95.0,"upper_bound":120.0},"point_estimate":110.0,"standard_error":3.0},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":99.0,"upper_bound":101.0},"point_estimate":100.0,"standard_error":1.0},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.5,"standard_error":0.1},"slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.5,"standard_error":0.1}}"#;
    const BENCH_ELEMENTS: &str = r#"{"group_id":"flake","function_id":"flake-1t","value_str":null,"throughput":{"Elements":4},"full_id":"flake/flake-1t","directory_name":"flake/flake-1t","title":"flake/flake-1t"}"#;
    const BENCH_NONE: &str = r#"{"group_id":"g","function_id":"f","value_str":null,"throughput":null,"full_id":"g/f","directory_name":"g/f","title":"g/f"}"#;

    fn est(median_ns: f64, elements: u64) -> Estimate {
        Estimate {
            median_ns,
            mean_ns: median_ns,
            elements,
        }
    }

    #[test]
    fn parses_median_mean_and_elements() {
        let e = parse("x", ESTIMATES, BENCH_ELEMENTS).expect("parse");
        assert_eq!(
            e,
            Estimate {
                median_ns: 100.0,
                mean_ns: 110.0,
                elements: 4
            }
        );
        assert_eq!(e.ns_per_element(), 25.0);
        assert_eq!(e.per_second(), 40e6);
        let e = parse("x", ESTIMATES, BENCH_NONE).expect("parse");
        assert_eq!(e.elements, 1);
    }

    #[test]
    fn refuses_broken_and_non_positive_estimates() {
        assert!(matches!(
            parse("x", "{", BENCH_NONE),
            Err(TableError::Parse { .. })
        ));
        assert!(matches!(
            parse("x", ESTIMATES, "[]"),
            Err(TableError::Parse { .. })
        ));
        let zero = ESTIMATES.replace("\"point_estimate\":100.0", "\"point_estimate\":0.0");
        assert!(matches!(
            parse("x", &zero, BENCH_NONE),
            Err(TableError::BadEstimate { .. })
        ));
    }

    #[test]
    fn loads_from_criterion_layout() {
        let home = std::env::temp_dir().join(format!("glomers-table-test-{}", std::process::id()));
        let dir = home.join("flake/flake-1t/new");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("estimates.json"), ESTIMATES).expect("write");
        std::fs::write(dir.join("benchmark.json"), BENCH_ELEMENTS).expect("write");
        let e = load(&home, "flake/flake-1t").expect("load");
        assert_eq!(e.elements, 4);
        assert!(matches!(
            load(&home, "flake/other"),
            Err(TableError::Read { .. })
        ));
        std::fs::remove_dir_all(&home).expect("cleanup");
    }

    #[test]
    fn speedup_is_per_element_and_targets_follow_it() {
        // ours: 100 ns per 4 elements = 25 ns/element; baseline 500 ns per 1 = 500 ns.
        let ours = est(100.0, 4);
        let base = est(500.0, 1);
        assert_eq!(speedup(&ours, &base), 20.0);
        assert_eq!(speedup(&base, &ours), 0.05);
        assert_eq!(Target::Speedup(10.0).met(&ours, &base), Some(true));
        assert_eq!(Target::Speedup(30.0).met(&ours, &base), Some(false));
        assert_eq!(Target::Rate(40e6).met(&ours, &base), Some(true));
        assert_eq!(Target::Rate(41e6).met(&ours, &base), Some(false));
        assert_eq!(Target::None.met(&ours, &base), None);
        assert_eq!(
            Target::SpeedupAndRate(10.0, 40e6).met(&ours, &base),
            Some(true)
        );
        assert_eq!(
            Target::SpeedupAndRate(30.0, 40e6).met(&ours, &base),
            Some(false)
        );
        assert_eq!(
            Target::SpeedupAndRate(10.0, 41e6).met(&ours, &base),
            Some(false)
        );
    }

    #[test]
    fn renders_ratios_misses_and_missing_results() {
        let rows = [
            Row {
                figure: "fast",
                ours: "a/ours",
                baseline_label: "base",
                baseline: "a/base",
                unit: "ids",
                target: Target::Speedup(10.0),
            },
            Row {
                figure: "slow",
                ours: "b/ours",
                baseline_label: "base",
                baseline: "a/base",
                unit: "ids",
                target: Target::Speedup(10.0),
            },
            Row {
                figure: "gone",
                ours: "c/none",
                baseline_label: "base",
                baseline: "a/base",
                unit: "ids",
                target: Target::None,
            },
        ];
        let t = render(&rows, |id| match id {
            "a/ours" => Ok(est(10.0, 1)),
            "b/ours" => Ok(est(400.0, 1)),
            "a/base" => Ok(est(1000.0, 1)),
            _ => Err(TableError::BadEstimate {
                what: id.to_owned(),
                value: 0.0,
            }),
        });
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(
            lines[2].contains("| 100.00× |") && lines[2].ends_with("| yes |"),
            "{}",
            lines[2]
        );
        assert!(
            lines[2].contains("100 M ids/s (10.0 ns/id)"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].contains("| 2.50× |") && lines[3].ends_with("| **no** |"),
            "{}",
            lines[3]
        );
        assert!(
            lines[4].contains("**no result**") && lines[4].contains("c/none"),
            "{}",
            lines[4]
        );
    }

    #[test]
    fn splice_replaces_between_markers_only() {
        let doc = "intro\n<!-- b -->\nold\nold\n<!-- e -->\noutro\n";
        let s = splice(doc, "<!-- b -->", "<!-- e -->", "new").expect("markers");
        assert_eq!(s, "intro\n<!-- b -->\nnew\n<!-- e -->\noutro\n");
        assert_eq!(splice(doc, "<!-- x -->", "<!-- e -->", "new"), None);
        assert_eq!(
            splice("<!-- e -->\n<!-- b -->\n", "<!-- b -->", "<!-- e -->", "n"),
            None
        );
    }

    #[test]
    fn formats_units() {
        assert_eq!(si(12_345_678.0), "12.3 M");
        assert_eq!(si(999.0), "999");
        assert_eq!(duration(81.25), "81.2 ns");
        assert_eq!(duration(1234.0), "1.23 µs");
    }
}
