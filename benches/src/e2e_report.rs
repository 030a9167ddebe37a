//! What the `e2e` bench records besides criterion's timings (allocation counts, reply
//! checks, whether the previous runtime's `echo` was measured), written as JSON to
//! `paths::e2e_report()` and rendered under the table.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The environment variable naming the previous runtime's `echo` binary, the baseline of
/// the second end-to-end row.
pub const BASELINE_ECHO_ENV: &str = "GLOMERS_BENCH_BASELINE_ECHO";

/// Allocations per message the node's path must stay below: the previous runtime's
/// protocol path made 3.00 per echo message.
pub const ALLOC_TARGET: f64 = 3.0;

/// Allocation counts of one in-process loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocFigure {
    /// What the loop does.
    pub label: String,
    /// Messages through the loop.
    pub messages: u64,
    /// Allocation calls during the loop.
    pub calls: u64,
    /// Bytes requested during the loop.
    pub bytes: u64,
    /// Allocations per message the loop must stay below, if it has a target.
    pub target_below: Option<f64>,
}

impl AllocFigure {
    /// Allocation calls per message.
    pub fn calls_per_message(&self) -> f64 {
        self.calls as f64 / self.messages.max(1) as f64
    }

    /// Bytes requested per message.
    pub fn bytes_per_message(&self) -> f64 {
        self.bytes as f64 / self.messages.max(1) as f64
    }

    /// Whether the target is met (`None` without a target).
    pub fn met(&self) -> Option<bool> {
        self.target_below.map(|t| self.calls_per_message() < t)
    }
}

/// Reply checks of one pipe benchmark: how many replies were the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyCheck {
    /// The benchmark id.
    pub id: String,
    /// Requests sent over the whole benchmark.
    pub messages: u64,
    /// Replies of the expected kind (`echo_ok` for the nodes).
    pub matched: u64,
}

/// Whether the previous runtime's `echo` binary was measured in this run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BaselineEcho {
    /// [`BASELINE_ECHO_ENV`] was not set.
    #[default]
    NotGiven,
    /// It ran and was timed.
    Measured,
    /// It was given but could not be started.
    Failed {
        /// The OS error (without the path).
        error: String,
    },
}

impl BaselineEcho {
    /// Why there is no measurement, or `None` when there is one.
    pub fn missing_reason(&self) -> Option<String> {
        match self {
            BaselineEcho::Measured => None,
            BaselineEcho::NotGiven => Some(format!(
                "not measured in this run: {BASELINE_ECHO_ENV} was not set"
            )),
            BaselineEcho::Failed { error } => Some(format!(
                "not measured in this run: the binary named by {BASELINE_ECHO_ENV} did not start ({error})"
            )),
        }
    }
}

/// The two echo binaries timed in alternating batches: the previous runtime's time per
/// batch over the node's, one ratio per round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedFigure {
    /// Rounds (one batch through each binary).
    pub rounds: usize,
    /// Messages per batch.
    pub batch: u64,
    /// The median ratio (above 1: the node is faster).
    pub median: f64,
    /// The smallest ratio of a round.
    pub min: f64,
    /// The largest ratio of a round.
    pub max: f64,
}

impl PairedFigure {
    /// The figure of `sorted` per-round ratios (ascending); an empty list gives zeros.
    pub fn from_sorted(sorted: &[f64], batch: u64) -> Self {
        let n = sorted.len();
        let median = match n {
            0 => 0.0,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        PairedFigure {
            rounds: n,
            batch,
            median,
            min: sorted.first().copied().unwrap_or(0.0),
            max: sorted.last().copied().unwrap_or(0.0),
        }
    }
}

/// Everything the `e2e` bench records besides criterion's timings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct E2eReport {
    /// Allocation figures, glomers first.
    pub alloc: Vec<AllocFigure>,
    /// Reply checks of the pipe benchmarks.
    pub replies: Vec<ReplyCheck>,
    /// The previous runtime's `echo`: measured or why not.
    pub baseline_echo: BaselineEcho,
    /// The node's `echo` against the previous runtime's in alternating batches, when the
    /// latter was measured.
    pub paired: Option<PairedFigure>,
}

/// Renders the allocation figures, the reply checks and the baseline's status.
pub fn render(report: &E2eReport) -> String {
    let mut out = String::new();
    out.push_str("| in-process loop (1 message = line in → reply out) | bytes allocated / msg | allocations / msg | target | met |\n");
    out.push_str("|---|---|---|---|---|\n");
    for a in &report.alloc {
        let (target, met) = match (a.target_below, a.met()) {
            (Some(t), Some(true)) => (format!("< {t:.0}"), "yes"),
            (Some(t), _) => (format!("< {t:.0}"), "**no**"),
            (None, _) => ("–".to_owned(), ""),
        };
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.2} | {target} | {met} |",
            a.label,
            a.bytes_per_message(),
            a.calls_per_message(),
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
    if let Some(why) = report.baseline_echo.missing_reason() {
        let _ = writeln!(out, "- previous runtime's `echo`: {why}");
    }
    if let Some(p) = &report.paired {
        let _ = writeln!(
            out,
            "- `echo` binary against the previous runtime's, in {} alternating rounds of {} messages each: median speedup {:.2}× (rounds from {:.2}× to {:.2}×); target ≥ 1×: {}",
            p.rounds,
            p.batch,
            p.median,
            p.min,
            p.max,
            if p.median >= 1.0 { "met" } else { "**missed**" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(calls: u64, target_below: Option<f64>) -> AllocFigure {
        AllocFigure {
            label: "loop".to_owned(),
            messages: 100,
            calls,
            bytes: 100 * 48,
            target_below,
        }
    }

    #[test]
    fn alloc_targets_are_strict_upper_bounds() {
        assert_eq!(figure(299, Some(3.0)).met(), Some(true));
        assert_eq!(
            figure(300, Some(3.0)).met(),
            Some(false),
            "3.00 is not below 3"
        );
        assert_eq!(figure(300, None).met(), None);
        assert_eq!(figure(250, None).calls_per_message(), 2.5);
        assert_eq!(figure(250, None).bytes_per_message(), 48.0);
    }

    #[test]
    fn renders_misses_bad_replies_and_a_missing_baseline() {
        let report = E2eReport {
            alloc: vec![
                figure(150, Some(3.0)),
                figure(400, Some(3.0)),
                figure(0, None),
            ],
            replies: vec![
                ReplyCheck {
                    id: "e2e/a".to_owned(),
                    messages: 10,
                    matched: 10,
                },
                ReplyCheck {
                    id: "e2e/b".to_owned(),
                    messages: 10,
                    matched: 9,
                },
            ],
            baseline_echo: BaselineEcho::NotGiven,
            paired: None,
        };
        let text = render(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].ends_with("| 1.50 | < 3 | yes |"), "{}", lines[2]);
        assert!(
            lines[3].ends_with("| 4.00 | < 3 | **no** |"),
            "{}",
            lines[3]
        );
        assert!(lines[4].ends_with("| 0.00 | – |  |"), "{}", lines[4]);
        assert!(!lines[6].contains("**some"), "{}", lines[6]);
        assert!(lines[7].contains("**some replies"), "{}", lines[7]);
        assert!(lines[8].contains(BASELINE_ECHO_ENV), "{}", lines[8]);
        let measured = E2eReport {
            baseline_echo: BaselineEcho::Measured,
            paired: Some(PairedFigure::from_sorted(&[0.9, 1.1, 1.2, 1.6], 1000)),
            ..report
        };
        let text = render(&measured);
        assert!(!text.contains(BASELINE_ECHO_ENV));
        assert!(
            text.contains("in 4 alternating rounds of 1000 messages each: median speedup 1.15× (rounds from 0.90× to 1.60×); target ≥ 1×: met"),
            "{text}"
        );
    }

    #[test]
    fn paired_median_of_odd_and_even_counts() {
        let odd = PairedFigure::from_sorted(&[0.5, 1.0, 3.0], 7);
        assert_eq!(
            (odd.median, odd.min, odd.max, odd.rounds),
            (1.0, 0.5, 3.0, 3)
        );
        assert_eq!(PairedFigure::from_sorted(&[1.0, 2.0], 7).median, 1.5);
        assert_eq!(PairedFigure::from_sorted(&[], 7).rounds, 0);
    }

    #[test]
    fn report_round_trips_through_json() {
        let report = E2eReport {
            alloc: vec![figure(1, Some(3.0))],
            replies: Vec::new(),
            baseline_echo: BaselineEcho::Failed {
                error: "No such file or directory (os error 2)".to_owned(),
            },
            paired: Some(PairedFigure::from_sorted(&[1.0, 2.0, 4.0], 10)),
        };
        let text = serde_json::to_string(&report).expect("encode");
        assert!(text.contains(r#""status":"failed""#), "{text}");
        let back: E2eReport = serde_json::from_str(&text).expect("decode");
        assert_eq!(back, report);
    }
}
