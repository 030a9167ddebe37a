//! Performance figures (Jepsen `checker/perf`): latency quantiles and time series for
//! plots, and throughput over time. These never affect validity.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::history::{span, History, Op, OpType};

/// The quantiles Jepsen reports: 0, 0.5, 0.95, 0.99 and 1.
pub const QUANTILES: [f64; 5] = [0.0, 0.5, 0.95, 0.99, 1.0];

/// Jepsen's quantile: element `min(n - 1, floor(n * q))` of `sorted` (ascending); `None`
/// when empty. Invariant: the result is an element of `sorted`, `q <= 0` gives the minimum
/// and `q >= 1` the maximum.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let raw = (n as f64 * q).floor();
    let i = if raw.is_nan() || raw < 0.0 {
        0
    } else {
        (raw as usize).min(n - 1)
    };
    Some(sorted[i])
}

/// Jepsen's `frequency-distribution` at [`QUANTILES`]: a map from quantile (`"0"`,
/// `"0.5"`, `"0.95"`, `"0.99"`, `"1"`) to the sample; `None` when there are no samples.
pub fn distribution<T: Copy + Ord>(mut samples: Vec<T>) -> Option<BTreeMap<String, T>> {
    samples.sort_unstable();
    QUANTILES
        .iter()
        .map(|q| quantile(&samples, *q).map(|v| (q.to_string(), v)))
        .collect()
}

/// Count and quantiles (in milliseconds) of a set of latencies.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct LatencyStats {
    /// Number of samples.
    pub count: usize,
    /// Quantile (`"0"`, `"0.5"`, `"0.95"`, `"0.99"`, `"1"`) to latency in ms; empty when
    /// there are no samples.
    pub quantiles_ms: BTreeMap<String, f64>,
}

impl LatencyStats {
    fn of(mut spans: Vec<Duration>) -> Self {
        spans.sort_unstable();
        let quantiles_ms = QUANTILES
            .iter()
            .filter_map(|q| quantile(&spans, *q).map(|v| (q.to_string(), span::ms(v))))
            .collect();
        LatencyStats {
            count: spans.len(),
            quantiles_ms,
        }
    }
}

/// Latencies of `ok` completions and of all completions.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct OkAndAll {
    /// Only operations that completed `ok`.
    pub ok: LatencyStats,
    /// Every completed operation (`ok`, `fail`, `info`).
    pub all: LatencyStats,
}

/// One completed operation, for latency scatter plots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyPoint {
    /// Invocation time, ms since the start of the run.
    pub time_ms: f64,
    /// Completion time minus invocation time, ms.
    pub latency_ms: f64,
    /// The operation's function.
    pub f: String,
    /// How it completed.
    pub kind: OpType,
    /// History index of the invocation.
    pub index: usize,
}

/// Latency figures of a history. Invariant: `overall.all.count == points.len()`, and the
/// per-`f` counts add up to the overall ones.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct LatencySummary {
    /// Over every client operation.
    pub overall: OkAndAll,
    /// Per `f`.
    pub by_f: BTreeMap<String, OkAndAll>,
    /// Every completed client operation, in invocation order.
    pub points: Vec<LatencyPoint>,
    /// Invocations that never completed (not in the figures).
    pub incomplete: usize,
}

/// Computes latencies of client operations (completion time − invocation time).
pub fn latencies(h: &History) -> LatencySummary {
    let mut points = Vec::new();
    let mut incomplete = 0;
    let mut by_f: BTreeMap<String, (Vec<Duration>, Vec<Duration>)> = BTreeMap::new();
    let (mut ok_all, mut any_all) = (Vec::new(), Vec::new());
    for (inv, done) in h.completed() {
        let Some(c) = done else {
            incomplete += 1;
            continue;
        };
        let lat = c.time.saturating_since(inv.time);
        let e = by_f.entry(inv.f.clone()).or_default();
        e.1.push(lat);
        any_all.push(lat);
        if c.kind == OpType::Ok {
            e.0.push(lat);
            ok_all.push(lat);
        }
        points.push(LatencyPoint {
            time_ms: inv.time.as_millis_f64(),
            latency_ms: span::ms(lat),
            f: inv.f.clone(),
            kind: c.kind,
            index: inv.index,
        });
    }
    LatencySummary {
        overall: OkAndAll {
            ok: LatencyStats::of(ok_all),
            all: LatencyStats::of(any_all),
        },
        by_f: by_f
            .into_iter()
            .map(|(f, (ok, all))| {
                (
                    f,
                    OkAndAll {
                        ok: LatencyStats::of(ok),
                        all: LatencyStats::of(all),
                    },
                )
            })
            .collect(),
        points,
        incomplete,
    }
}

/// Throughput of one (`f`, completion type) pair over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateLine {
    /// The operations' function.
    pub f: String,
    /// Their completion type.
    pub kind: OpType,
    /// One point per bucket, from the first bucket to the last bucket of the history
    /// (empty buckets included, at 0).
    pub points: Vec<RatePoint>,
}

/// Completions in one time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatePoint {
    /// Start of the bucket, ms since the start of the run.
    pub time_ms: u64,
    /// Completions in the bucket divided by the bucket length, per second.
    pub ops_per_sec: f64,
}

/// Throughput series of a history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateSeries {
    /// Bucket length used (ms, at least 1).
    pub bucket_ms: u64,
    /// One line per (`f`, type) that occurs, sorted by `f` then type.
    pub lines: Vec<RateLine>,
}

/// Counts client completions per `bucket` (by completion time), per `f` and type, as
/// operations per second. The bucket is taken in whole milliseconds, at least one.
pub fn rate_series(h: &History, bucket: Duration) -> RateSeries {
    let bucket_ms = span::whole_ms(bucket).max(1);
    let bucket = Duration::from_millis(bucket_ms);
    // The bucket a time falls in: whole buckets since the start of the run (an integer
    // quotient of nanoseconds; `Duration` divides by another only as a float).
    let of = |o: &Op| (o.time.since_epoch().as_nanos() / bucket.as_nanos()) as usize;
    let completions: Vec<_> = h
        .ops
        .iter()
        .filter(|o| o.is_client() && o.kind != OpType::Invoke)
        .collect();
    let nbuckets = completions.iter().map(|o| of(o) + 1).max().unwrap_or(0);
    let mut counts: BTreeMap<(String, &'static str), (OpType, Vec<u64>)> = BTreeMap::new();
    for o in completions {
        let e = counts
            .entry((o.f.clone(), o.kind.as_str()))
            .or_insert_with(|| (o.kind, vec![0; nbuckets]));
        e.1[of(o)] += 1;
    }
    let secs = bucket_ms as f64 / 1000.0;
    RateSeries {
        bucket_ms,
        lines: counts
            .into_iter()
            .map(|((f, _), (kind, c))| RateLine {
                f,
                kind,
                points: c
                    .iter()
                    .enumerate()
                    .map(|(i, n)| RatePoint {
                        time_ms: i as u64 * bucket_ms,
                        ops_per_sec: *n as f64 / secs,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The latency summary without the per-operation points, as JSON (for `results.json`).
pub fn summary_json(s: &LatencySummary) -> Value {
    serde_json::json!({
        "overall": s.overall,
        "by_f": s.by_f,
        "incomplete": s.incomplete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::testkit::Hb;
    use glomers_node::Time;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn quantile_picks_jepsen_element() {
        let v = [10, 20, 30, 40];
        assert_eq!(quantile(&v, 0.0), Some(10));
        assert_eq!(quantile(&v, 0.5), Some(30)); // floor(4 * 0.5) = 2
        assert_eq!(quantile(&v, 0.95), Some(40)); // floor(3.8) = 3
        assert_eq!(quantile(&v, 1.0), Some(40)); // min(3, 4)
        assert_eq!(quantile::<u64>(&[], 0.5), None);
        let d = distribution(vec![5, 1, 3]).unwrap_or_default();
        assert_eq!(d.get("0.5"), Some(&3));
        assert_eq!(d.get("1"), Some(&5));
    }

    #[test]
    fn latencies_and_rates() {
        let mut b = Hb::new();
        let ms = Time::from_millis;
        b.at(ms(0));
        b.invoke(0, "read", json!(null));
        b.at(ms(3));
        b.ok(0, "read", json!(1));
        b.at(ms(1000));
        b.invoke(1, "add", json!(1));
        b.at(ms(1010));
        b.info(1, "add", json!(1));
        b.invoke(2, "add", json!(2));
        let s = latencies(&b.build());
        assert_eq!(s.points.len(), 2);
        assert_eq!(s.incomplete, 1);
        assert_eq!(s.overall.all.count, 2);
        assert_eq!(s.overall.ok.count, 1);
        assert_eq!(s.by_f["read"].ok.quantiles_ms["1"], 3.0);
        assert_eq!(s.by_f["add"].all.quantiles_ms["0.5"], 10.0);
        assert!(s.by_f["add"].ok.quantiles_ms.is_empty());

        let r = rate_series(&b.build(), Duration::from_secs(1));
        assert_eq!(r.lines.len(), 2);
        let read = &r
            .lines
            .iter()
            .find(|l| l.f == "read")
            .map(|l| l.points.clone())
            .unwrap_or_default();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].ops_per_sec, 1.0);
        assert_eq!(read[1].ops_per_sec, 0.0);
    }

    proptest! {
        #[test]
        fn quantile_bounds(mut v in proptest::collection::vec(any::<u64>(), 1..50), q in 0.0f64..=1.0, q2 in 0.0f64..=1.0) {
            v.sort_unstable();
            let x = quantile(&v, q).unwrap_or(0);
            prop_assert!(v.contains(&x));
            prop_assert!(v[0] <= x && x <= v[v.len() - 1]);
            let (lo, hi) = if q <= q2 { (q, q2) } else { (q2, q) };
            prop_assert!(quantile(&v, lo) <= quantile(&v, hi));
            prop_assert_eq!(quantile(&v, 1.0), Some(v[v.len() - 1]));
            prop_assert_eq!(quantile(&v, 0.0), Some(v[0]));
        }
    }
}
