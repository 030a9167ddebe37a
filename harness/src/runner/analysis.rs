//! Analysis of a history as Maelstrom composes it (reference 7 and 8): the workload's
//! checker, `stats`, `availability`, plus latency quantiles (perf, always valid).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Value};

use crate::checker::{CheckResult, Validity};
use crate::cli::AvailabilityArg;
use crate::history::{History, Op, OpType};

/// Quantile `q` of sorted samples: element `min(n−1, floor(n·q))` (Jepsen's).
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 * q).floor() as usize).min(sorted.len() - 1);
    Some(sorted[i])
}

/// The quantiles Maelstrom reports: 0, 0.5, 0.95, 0.99, 1 (ms).
pub fn quantile_map(mut samples: Vec<f64>) -> Value {
    samples.sort_by(f64::total_cmp);
    let mut m = serde_json::Map::new();
    for q in [0.0, 0.5, 0.95, 0.99, 1.0] {
        if let Some(v) = quantile(&samples, q) {
            m.insert(format!("{q}"), json!(v));
        }
    }
    Value::Object(m)
}

fn pairs(h: &History) -> Vec<(&Op, Option<&Op>)> {
    h.completed()
}

/// Echo: every invocation completes `ok` with the value sent.
pub fn echo(h: &History) -> CheckResult {
    let mut problems = Vec::new();
    let mut errors = 0;
    for (inv, done) in pairs(h) {
        let bad = match done {
            None => Some("never completed".to_owned()),
            Some(d) if d.kind != OpType::Ok => Some(format!(
                "{:?}: {}",
                d.kind,
                d.error.clone().unwrap_or_default()
            )),
            Some(d) if d.value != inv.value => {
                Some(format!("sent {} but got {}", inv.value, d.value))
            }
            _ => None,
        };
        if let Some(why) = bad {
            errors += 1;
            if problems.len() < 8 {
                let at = done
                    .map(|d| d.index.to_string())
                    .unwrap_or_else(|| "-".into());
                problems.push(format!("echo error: op {}→{at} {why}", inv.index));
            }
        }
    }
    CheckResult {
        valid: Validity::from_bool(errors == 0),
        problems,
        details: json!({"error_count": errors}),
    }
}

/// Unique ids: no `ok` id twice (JSON equality: 1, 1.0 and "1" differ).
pub fn unique_ids(h: &History) -> CheckResult {
    let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
    let (mut attempted, mut acked) = (0, 0);
    for (inv, done) in pairs(h) {
        attempted += 1;
        if let Some(d) = done.filter(|d| d.kind == OpType::Ok) {
            acked += 1;
            seen.entry(d.value.to_string()).or_default().push(inv.index);
        }
    }
    let mut dups: Vec<(&String, &Vec<usize>)> = seen.iter().filter(|(_, v)| v.len() > 1).collect();
    dups.sort();
    let problems = dups
        .iter()
        .take(8)
        .map(|(id, ops)| {
            format!(
                "duplicated id {id} returned {} times, ops {:?}",
                ops.len(),
                &ops[..ops.len().min(6)]
            )
        })
        .collect();
    CheckResult {
        valid: Validity::from_bool(dups.is_empty()),
        problems,
        details: json!({
            "attempted_count": attempted,
            "acknowledged_count": acked,
            "duplicated_count": dups.len(),
            "duplicated": dups.iter().take(48).map(|(id, v)| json!([id, v.len()])).collect::<Vec<_>>(),
        }),
    }
}

/// Set-full (broadcast): lost, stable and never-read elements and stable latencies.
pub fn set_full(h: &History, add_f: &str) -> CheckResult {
    struct Read<'a> {
        inv: &'a Op,
        done: &'a Op,
        set: HashSet<String>,
    }
    let ps = pairs(h);
    let reads: Vec<Read> = ps
        .iter()
        .filter(|(i, d)| i.f == "read" && d.is_some_and(|d| d.kind == OpType::Ok))
        .filter_map(|(i, d)| {
            let d = (*d)?;
            let set = d.value.as_array()?.iter().map(Value::to_string).collect();
            Some(Read {
                inv: i,
                done: d,
                set,
            })
        })
        .collect();
    let (mut lost, mut stable, mut never) = (Vec::new(), 0usize, 0usize);
    let mut stable_lat = Vec::new();
    let mut stale = 0;
    let mut problems = Vec::new();
    let mut attempts = 0;
    for (inv, done) in ps.iter().filter(|(i, _)| i.f == add_f) {
        attempts += 1;
        let v = inv.value.to_string();
        let mut known = done
            .filter(|d| d.kind == OpType::Ok)
            .map(|d| (d.index, d.time));
        let mut last_present: Option<&Read> = None;
        let mut last_absent: Option<&Read> = None;
        for r in reads.iter().filter(|r| r.done.index > inv.index) {
            if r.set.contains(&v) {
                if known.is_none_or(|(i, _)| r.done.index < i) {
                    known = Some((r.done.index, r.done.time));
                }
                if last_present.is_none_or(|p| r.inv.index > p.inv.index) {
                    last_present = Some(r);
                }
            } else if last_absent.is_none_or(|a| r.inv.index > a.inv.index) {
                last_absent = Some(r);
            }
        }
        let absent_after_present = match (last_present, last_absent) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(p), Some(a)) => a.inv.index > p.inv.index,
        };
        match (last_present, known) {
            (Some(_), Some((_, kt))) if !absent_after_present => {
                stable += 1;
                let lat = last_absent
                    .map(|a| (a.inv.time + 1).saturating_sub(kt))
                    .unwrap_or(0);
                if lat > 0 {
                    stale += 1;
                }
                stable_lat.push((lat / 1_000_000) as f64);
            }
            (_, Some((ki, _)))
                if absent_after_present && last_absent.is_some_and(|a| a.inv.index > ki) =>
            {
                if problems.len() < 8 {
                    let a = last_absent.map(|a| a.inv.index).unwrap_or(0);
                    problems.push(format!(
                        "lost: {add_f} {v} (op {}) acknowledged but missing from the last read, op {a}{}",
                        inv.index,
                        last_absent.and_then(|a| a.inv.node.clone()).map(|n| format!(" on {n}")).unwrap_or_default()
                    ));
                }
                lost.push(inv.value.clone());
            }
            _ => never += 1,
        }
    }
    let valid = if !lost.is_empty() {
        Validity::Invalid
    } else if stable == 0 {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    if valid == Validity::Unknown {
        problems.push("no element is stable (nothing was both acknowledged and read)".into());
    }
    CheckResult {
        valid,
        problems,
        details: json!({
            "attempt_count": attempts,
            "stable_count": stable,
            "lost_count": lost.len(),
            "lost": lost,
            "never_read_count": never,
            "stale_count": stale,
            "stable_latencies": quantile_map(stable_lat),
        }),
    }
}

/// G-counter: every `ok` final read equals the definite sum plus a subset of `info` adds.
pub fn counter(h: &History) -> CheckResult {
    let mut definite: i64 = 0;
    let mut maybe: Vec<i64> = Vec::new();
    let mut finals = Vec::new();
    for (inv, done) in pairs(h) {
        match (inv.f.as_str(), done) {
            ("add", Some(d)) if d.kind == OpType::Ok => definite += inv.value.as_i64().unwrap_or(0),
            ("add", Some(d)) if d.kind == OpType::Info => {
                maybe.push(inv.value.as_i64().unwrap_or(0))
            }
            ("add", None) => maybe.push(inv.value.as_i64().unwrap_or(0)),
            ("read", Some(d)) if d.kind == OpType::Ok && d.is_final => finals.push(d),
            _ => {}
        }
    }
    // Reachable subset sums of the (small, non-negative) indeterminate deltas.
    let total: i64 = maybe.iter().sum();
    let mut reach = vec![false; total as usize + 1];
    reach[0] = true;
    for d in &maybe {
        let d = *d as usize;
        for s in (d..reach.len()).rev() {
            if reach[s - d] {
                reach[s] = true;
            }
        }
    }
    let ok = |v: i64| {
        let off = v - definite;
        off >= 0 && (off as usize) < reach.len() && reach[off as usize]
    };
    let mut problems = Vec::new();
    let mut errors = 0;
    for d in &finals {
        let v = d.value.as_i64();
        if !v.is_some_and(ok) {
            errors += 1;
            if problems.len() < 8 {
                problems.push(format!(
                    "final read op {} on {} returned {} but the acceptable totals are {definite}..={}",
                    d.index,
                    d.node.clone().unwrap_or_default(),
                    d.value,
                    definite + total
                ));
            }
        }
    }
    CheckResult {
        valid: Validity::from_bool(errors == 0),
        problems,
        details: json!({
            "definite_sum": definite,
            "indeterminate_sum": total,
            "final_reads": finals.iter().map(|d| d.value.clone()).collect::<Vec<_>>(),
            "error_count": errors,
        }),
    }
}

/// Jepsen's stats: counts by `f`; invalid if some `f` (except crash and
/// debug-topic-partitions) has no `ok`.
pub fn stats(h: &History) -> CheckResult {
    let mut by_f: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    for op in h
        .ops
        .iter()
        .filter(|o| o.is_client() && o.kind != OpType::Invoke)
    {
        let e = by_f.entry(op.f.clone()).or_default();
        e[0] += 1;
        match op.kind {
            OpType::Ok => e[1] += 1,
            OpType::Fail => e[2] += 1,
            _ => e[3] += 1,
        }
    }
    let mut problems = Vec::new();
    for (f, c) in &by_f {
        if c[1] == 0 && f != "crash" && f != "debug-topic-partitions" {
            problems.push(format!("no {f} operation succeeded ({} attempted)", c[0]));
        }
    }
    let tot = by_f.values().fold([0; 4], |a, c| {
        [a[0] + c[0], a[1] + c[1], a[2] + c[2], a[3] + c[3]]
    });
    let f = |c: &[usize; 4]| json!({"count": c[0], "ok_count": c[1], "fail_count": c[2], "info_count": c[3]});
    CheckResult {
        valid: Validity::from_bool(problems.is_empty()),
        problems,
        details: json!({
            "count": tot[0], "ok_count": tot[1], "fail_count": tot[2], "info_count": tot[3],
            "by_f": by_f.iter().map(|(k, c)| (k.clone(), f(c))).collect::<serde_json::Map<_, _>>(),
        }),
    }
}

/// Availability: ok completions over client invocations (1 without invocations).
pub fn availability(h: &History, req: Option<AvailabilityArg>) -> CheckResult {
    let inv = h
        .ops
        .iter()
        .filter(|o| o.is_client() && o.kind == OpType::Invoke)
        .count();
    let ok = h
        .ops
        .iter()
        .filter(|o| o.is_client() && o.kind == OpType::Ok)
        .count();
    let frac = if inv == 0 {
        1.0
    } else {
        ok as f64 / inv as f64
    };
    let (valid, problems) = match req {
        None => (true, vec![]),
        Some(AvailabilityArg::Total) => (
            ok == inv,
            vec![format!(
                "availability total required, but only {ok} of {inv} ops succeeded"
            )],
        ),
        Some(AvailabilityArg::Fraction(a)) => (
            frac >= a,
            vec![format!(
                "availability {a} required, ok fraction is {frac:.4}"
            )],
        ),
    };
    CheckResult {
        valid: Validity::from_bool(valid),
        problems: if valid { vec![] } else { problems },
        details: json!({"ok_fraction": frac}),
    }
}

/// Per-`f` latency quantiles (ms) of completed ops, by completion type.
pub fn latencies(h: &History) -> Value {
    let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (inv, done) in pairs(h) {
        if let Some(d) = done {
            let ms = d.time.saturating_sub(inv.time) as f64 / 1e6;
            by.entry(inv.f.clone()).or_default().push(ms);
            by.entry("all".into()).or_default().push(ms);
        }
    }
    Value::Object(by.into_iter().map(|(k, v)| (k, quantile_map(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;

    fn op(p: u64, kind: OpType, f: &str, value: Value, time: u64) -> Op {
        Op {
            index: 0,
            time,
            process: Process::Client(p),
            kind,
            f: f.into(),
            value,
            is_final: false,
            error: None,
            node: Some("n0".into()),
        }
    }

    #[test]
    fn set_full_finds_lost_and_stable() {
        let mut h = History::default();
        h.push(op(0, OpType::Invoke, "broadcast", json!(1), 0));
        h.push(op(0, OpType::Ok, "broadcast", json!(1), 1));
        h.push(op(0, OpType::Invoke, "broadcast", json!(2), 2));
        h.push(op(0, OpType::Ok, "broadcast", json!(2), 3));
        h.push(op(1, OpType::Invoke, "read", Value::Null, 4));
        h.push(op(1, OpType::Ok, "read", json!([1, 2]), 5));
        h.push(op(1, OpType::Invoke, "read", Value::Null, 6));
        h.push(op(1, OpType::Ok, "read", json!([1]), 7));
        let r = set_full(&h, "broadcast");
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.details["lost"], json!([2]));
        assert_eq!(r.details["stable_count"], json!(1));
    }

    #[test]
    fn counter_accepts_subsets_of_info_adds_only() {
        let mut h = History::default();
        h.push(op(0, OpType::Invoke, "add", json!(3), 0));
        h.push(op(0, OpType::Ok, "add", json!(3), 1));
        h.push(op(0, OpType::Invoke, "add", json!(2), 2));
        h.push(op(0, OpType::Info, "add", json!(2), 3));
        let mut read = |v: i64, h: &mut History| {
            h.push(Op {
                is_final: true,
                ..op(1, OpType::Invoke, "read", Value::Null, 4)
            });
            h.push(Op {
                is_final: true,
                ..op(1, OpType::Ok, "read", json!(v), 5)
            });
        };
        read(5, &mut h);
        assert_eq!(counter(&h).valid, Validity::Valid);
        read(4, &mut h);
        assert_eq!(counter(&h).valid, Validity::Invalid);
    }

    #[test]
    fn echo_and_ids_and_stats() {
        let mut h = History::default();
        h.push(op(0, OpType::Invoke, "echo", json!("a"), 0));
        h.push(op(0, OpType::Ok, "echo", json!("b"), 1));
        assert_eq!(echo(&h).valid, Validity::Invalid);
        let mut h = History::default();
        for v in [json!(1), json!(1.0), json!(1)] {
            h.push(op(0, OpType::Invoke, "generate", Value::Null, 0));
            h.push(op(0, OpType::Ok, "generate", v, 1));
        }
        let r = unique_ids(&h);
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.details["duplicated_count"], json!(1));
        assert_eq!(stats(&h).valid, Validity::Valid);
        h.push(op(0, OpType::Invoke, "x", Value::Null, 2));
        h.push(op(0, OpType::Fail, "x", Value::Null, 3));
        assert_eq!(stats(&h).valid, Validity::Invalid);
        assert_eq!(
            availability(&h, Some(AvailabilityArg::Total)).valid,
            Validity::Invalid
        );
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
    }
}
