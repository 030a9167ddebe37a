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

use serde::{Deserialize, Serialize};

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

/// The rows of `BENCHMARKS.md`, in order; the ids are those the bench targets register.
pub const ROWS: &[Row] = &[
    Row {
        figure: "flake `Flake::next_id` + coarse clock read, 1 thread",
        ours: "flake/flake-1t",
        baseline_label: "`uuid` v4, 1 thread",
        baseline: "flake/uuid-v4-1t",
        unit: "ids",
        target: Target::Speedup(10.0),
    },
    Row {
        figure: "flake `Flake::next_id` + coarse clock read, 1 thread",
        ours: "flake/flake-1t",
        baseline_label: "decimal-string id, 1 thread",
        baseline: "flake/decimal-1t",
        unit: "ids",
        target: Target::None,
    },
    Row {
        figure: "flake `SharedFlake` through a 64-id `Lease` per thread + coarse clock read, 2 threads sharing one generator",
        ours: "flake/leased-flake-2t",
        baseline_label: "`uuid` v4, 2 threads",
        baseline: "flake/uuid-v4-2t",
        unit: "ids",
        target: Target::Speedup(10.0),
    },
    Row {
        figure: "flake `SharedFlake::next_id` + coarse clock read, 2 threads sharing one generator",
        ours: "flake/shared-flake-2t",
        baseline_label: "`uuid` v4, 2 threads",
        baseline: "flake/uuid-v4-2t",
        unit: "ids",
        target: Target::None,
    },
    Row {
        figure: "flake `SharedFlake` through a 64-id `Lease` per thread + coarse clock read, 2 threads sharing one generator",
        ours: "flake/leased-flake-2t",
        baseline_label: "decimal-string id, 2 threads",
        baseline: "flake/decimal-2t",
        unit: "ids",
        target: Target::None,
    },
    Row {
        figure: "flake `Flake::next_id` + precise clock read (`SystemTime`), 1 thread",
        ours: "flake/flake-1t-precise",
        baseline_label: "`uuid` v4, 1 thread",
        baseline: "flake/uuid-v4-1t",
        unit: "ids",
        target: Target::None,
    },
    Row {
        figure: "flake `SharedFlake` + precise clock read (`SystemTime`), 2 threads",
        ours: "flake/shared-flake-2t-precise",
        baseline_label: "`uuid` v4, 2 threads",
        baseline: "flake/uuid-v4-2t",
        unit: "ids",
        target: Target::None,
    },
    Row {
        figure: "offset log `OffsetLog::append`, 1M entries over 100 keys",
        ours: "offset-log/append",
        baseline_label: "`Vec` + `HashMap<key, Vec<offset>>` under `RwLock`",
        baseline: "offset-log/append-rwlock-baseline",
        unit: "appends",
        target: Target::Speedup(3.0),
    },
    Row {
        figure: "offset log `OffsetLog::read`, random key and offset, 10 entries copied",
        ours: "offset-log/read",
        baseline_label: "same baseline, read lock + binary search",
        baseline: "offset-log/read-rwlock-baseline",
        unit: "reads",
        target: Target::Speedup(3.0),
    },
    Row {
        figure: "offset log `ConcurrentLog::append` (one key, lock-free), 1 thread",
        ours: "offset-log/concurrent-append",
        baseline_label: "same baseline, one key",
        baseline: "offset-log/append-rwlock-baseline-1key",
        unit: "appends",
        target: Target::None,
    },
    Row {
        figure: "retry ring `MpRing` push+pop, uncontended",
        ours: "ring/mpring-1t",
        baseline_label: "`crossbeam_queue::ArrayQueue`",
        baseline: "ring/arrayqueue-1t",
        unit: "pairs",
        target: Target::Speedup(1.0),
    },
    Row {
        figure: "retry ring `MpRing` push+pop, uncontended",
        ours: "ring/mpring-1t",
        baseline_label: "`std::sync::mpsc::sync_channel`",
        baseline: "ring/sync-channel-1t",
        unit: "pairs",
        target: Target::None,
    },
    Row {
        figure: "retry ring `MpRing`, 2 producers + 1 consumer",
        ours: "ring/mpring-2p",
        baseline_label: "`crossbeam_queue::ArrayQueue`",
        baseline: "ring/arrayqueue-2p",
        unit: "pairs",
        target: Target::Speedup(1.0),
    },
    Row {
        figure: "retry ring `MpRing`, 2 producers + 1 consumer",
        ours: "ring/mpring-2p",
        baseline_label: "`std::sync::mpsc::sync_channel`",
        baseline: "ring/sync-channel-2p",
        unit: "pairs",
        target: Target::None,
    },
    Row {
        figure: "G-counter `MapGCounter::merge`, two 25-node states",
        ours: "gcounter/merge-map",
        baseline_label: "`HashMap<String, u64>` max-merge",
        baseline: "gcounter/merge-hashmap-baseline",
        unit: "merges",
        target: Target::None,
    },
    Row {
        figure: "G-counter `BoundedGCounter<32>::merge`, two 25-node states",
        ours: "gcounter/merge-bounded",
        baseline_label: "`HashMap<String, u64>` max-merge",
        baseline: "gcounter/merge-hashmap-baseline",
        unit: "merges",
        target: Target::None,
    },
    Row {
        figure: "txn `RegisterMap::apply`+`commit`, 1-4 ops over 1000 keys",
        ours: "txn/apply-commit",
        baseline_label: "`Mutex<HashMap>` applied in place",
        baseline: "txn/mutex-hashmap-baseline",
        unit: "txns",
        target: Target::None,
    },
    Row {
        figure: "txn `RegisterMap::execute`+`merge` (replicated path)",
        ours: "txn/execute-merge",
        baseline_label: "`Mutex<HashMap>` applied in place",
        baseline: "txn/mutex-hashmap-baseline",
        unit: "txns",
        target: Target::None,
    },
    Row {
        figure: "wire decode `echo`: serde-json-core (string `echo` only)",
        ours: "wire/decode-echo-sjc",
        baseline_label: "serde_json, typed",
        baseline: "wire/decode-echo-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire decode `echo`: shell path (`read_frame` + `Frame::decode`)",
        ours: "wire/decode-echo-shell",
        baseline_label: "serde_json, typed",
        baseline: "wire/decode-echo-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire encode `echo_ok`: serde-json-core (string `echo` only)",
        ours: "wire/encode-echo-ok-sjc",
        baseline_label: "serde_json, typed",
        baseline: "wire/encode-echo-ok-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire encode `echo_ok`: shell path (`encode_line_into`)",
        ours: "wire/encode-echo-ok-shell",
        baseline_label: "serde_json, typed",
        baseline: "wire/encode-echo-ok-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire decode `broadcast`: serde-json-core",
        ours: "wire/decode-broadcast-sjc",
        baseline_label: "serde_json, typed",
        baseline: "wire/decode-broadcast-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire decode `broadcast`: shell path",
        ours: "wire/decode-broadcast-shell",
        baseline_label: "serde_json, typed",
        baseline: "wire/decode-broadcast-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire encode `broadcast_ok`: serde-json-core",
        ours: "wire/encode-broadcast-ok-sjc",
        baseline_label: "serde_json, typed",
        baseline: "wire/encode-broadcast-ok-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire decode `read_ok` (1000 values): serde-json-core",
        ours: "wire/decode-read-ok-sjc",
        baseline_label: "serde_json, typed",
        baseline: "wire/decode-read-ok-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire encode `read_ok` (1000 values): serde-json-core",
        ours: "wire/encode-read-ok-sjc",
        baseline_label: "serde_json, typed",
        baseline: "wire/encode-read-ok-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire encode `read_ok` (1000 values): shell path",
        ours: "wire/encode-read-ok-shell",
        baseline_label: "serde_json, typed",
        baseline: "wire/encode-read-ok-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire decode kafka `poll_ok` (4 keys × 25): serde-json-core (integer msgs only)",
        ours: "wire/decode-poll-ok-sjc",
        baseline_label: "serde_json, typed",
        baseline: "wire/decode-poll-ok-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire encode kafka `poll_ok` (4 keys × 25): serde-json-core (integer msgs only)",
        ours: "wire/encode-poll-ok-sjc",
        baseline_label: "serde_json, typed",
        baseline: "wire/encode-poll-ok-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "wire encode kafka `poll_ok` (4 keys × 25): shell path",
        ours: "wire/encode-poll-ok-shell",
        baseline_label: "serde_json, typed",
        baseline: "wire/encode-poll-ok-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "list-append checker (`checkers::list_append::check`), one strict serializable history of 20,000 txns, strict-serializable (2 s per history = 10 k txns/s)",
        ours: "list-append/check-20k",
        baseline_label: "`adya` 0.1 list-append check, same history",
        baseline: "list-append/adya-20k",
        unit: "txns",
        target: Target::SpeedupAndRate(1.0, 1e4),
    },
    Row {
        figure: "file store: 100 appends of 100 B, then one `sync` (group commit)",
        ours: "segment-append/group-commit-100",
        baseline_label: "one append, then one `sync` (fsync per record), same file system",
        baseline: "segment-append/fsync-each",
        unit: "appends",
        target: Target::None,
    },
    Row {
        figure: "file store recovery: `FileStore::open` of a log of 1 M records of 32 B (CRC-checked, indexed)",
        ours: "segment-recovery/open-1m",
        baseline_label: "reading the same segment files into one buffer, no checks",
        baseline: "segment-recovery/read-bytes-1m",
        unit: "records",
        target: Target::None,
    },
    Row {
        figure: "end to end: `echo` binary, stdin→stdout",
        ours: "e2e/echo-binary",
        baseline_label: "same pipe loop through `cat`",
        baseline: "e2e/cat",
        unit: "msgs",
        target: Target::Rate(1e6),
    },
    Row {
        figure: "in process: echo decode→handle→encode, shell protocol",
        ours: "e2e/inproc-shell",
        baseline_label: "same loop, typed serde_json",
        baseline: "e2e/inproc-typed-serde-json",
        unit: "msgs",
        target: Target::None,
    },
];

/// Allocation counts of one in-process loop, written by the `e2e` bench.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocFigure {
    /// What the loop does.
    pub label: String,
    /// Messages through the loop.
    pub messages: u64,
    /// Allocation calls during the loop.
    pub calls: u64,
    /// Bytes requested during the loop.
    pub bytes: u64,
}

/// Reply checks of one pipe benchmark: how many replies were the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyCheck {
    /// The benchmark id.
    pub id: String,
    /// Requests sent over the whole benchmark.
    pub messages: u64,
    /// Replies of the expected kind (`echo_ok` for the node).
    pub matched: u64,
}

/// Everything the `e2e` bench records besides criterion's timings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct E2eReport {
    /// Allocation figures, glomers first.
    pub alloc: Vec<AllocFigure>,
    /// Reply checks of the pipe benchmarks.
    pub replies: Vec<ReplyCheck>,
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

/// Renders the allocation figures and reply checks of the `e2e` bench.
pub fn render_e2e(report: &E2eReport) -> String {
    let mut out = String::new();
    out.push_str("| in-process loop (1 message = decode → handle → encode) | bytes allocated / msg | allocations / msg |\n");
    out.push_str("|---|---|---|\n");
    for a in &report.alloc {
        let n = a.messages.max(1) as f64;
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.2} |",
            a.label,
            a.bytes as f64 / n,
            a.calls as f64 / n
        );
    }
    out.push('\n');
    for c in &report.replies {
        let _ = writeln!(
            out,
            "- `{}`: {} requests, {} replies of the expected kind{}",
            c.id,
            c.messages,
            c.matched,
            if c.matched == c.messages {
                ""
            } else {
                " (**some replies were not the expected kind**)"
            }
        );
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
    fn rows_have_unique_well_formed_ids() {
        let mut pairs = std::collections::HashSet::new();
        for r in ROWS {
            for id in [r.ours, r.baseline] {
                let parts: Vec<&str> = id.split('/').collect();
                assert_eq!(parts.len(), 2, "{id}");
                assert!(
                    id.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || b == b'-'
                        || b == b'/'),
                    "{id}"
                );
            }
            assert!(
                pairs.insert((r.ours, r.baseline)),
                "duplicate row {}",
                r.ours
            );
        }
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
