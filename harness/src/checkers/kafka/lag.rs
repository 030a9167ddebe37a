//! Jepsen's worst realtime lag: for each ok poll and each key its process is assigned or
//! has polled, how long (at least) since the highest offset it has seen stopped being the
//! log's tail.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use glomers_node::Time;
use serde_json::{json, Value};

use super::index::Index;
use super::parse::{assign_keys, KOp};
use super::proc_num;
use crate::history::{span, OpType, Process};

/// The worst lag: `{time, lag}` in seconds plus `process` and `key` of the worst, or
/// `{time: 0, lag: 0}` when no ok poll saw a key.
pub(super) fn realtime_lag(ix: &Index) -> Value {
    match worst_lag(ix, &Expiry::of(ix.ops)) {
        Some(w) => json!({
            "time": w.time.as_secs_f64(), "lag": span::secs(w.lag),
            "process": proc_num(w.process), "key": w.key,
        }),
        None => json!({"time": 0, "lag": 0}),
    }
}

/// Per key, when each offset was known to exist: steps (highest offset covered, time);
/// offsets up to that were known to exist from that time on. Offsets are covered as a
/// growing prefix.
struct Expiry<'a> {
    steps: HashMap<&'a str, Vec<(i64, Time)>>,
}

impl<'a> Expiry<'a> {
    fn of(ops: &'a [KOp<'a>]) -> Self {
        let mut steps: HashMap<&str, Vec<(i64, Time)>> = HashMap::new();
        for k in ops {
            for (key, o) in max_offsets(k) {
                let key_steps = steps.entry(key).or_default();
                let covered = key_steps.last().map_or(-1, |s| s.0);
                if o > covered {
                    key_steps.push((o, k.op.time));
                }
            }
        }
        Expiry { steps }
    }

    /// Since when offset `i` of `key` has been known to exist.
    fn at(&self, key: &str, i: i64) -> Option<Time> {
        let steps = self.steps.get(key)?;
        let j = steps.partition_point(|s| s.0 < i);
        steps.get(j).map(|s| s.1)
    }
}

/// The highest offset per key an ok or info op read (-1 for an empty read) or sent.
fn max_offsets<'k>(k: &'k KOp) -> BTreeMap<&'k str, i64> {
    let mut m: BTreeMap<&str, i64> = BTreeMap::new();
    if !matches!(k.op.kind, OpType::Ok | OpType::Info) {
        return m;
    }
    for (key, ps) in &k.reads {
        let o = ps.iter().filter_map(|p| p.0).max().unwrap_or(-1);
        let e = m.entry(key).or_insert(o);
        *e = (*e).max(o);
    }
    for (key, ps) in &k.writes {
        if let Some(o) = ps.iter().filter_map(|p| p.0).max() {
            let e = m.entry(key).or_insert(0);
            *e = (*e).max(o);
        }
    }
    m
}

/// One poll's lag on one key.
struct Lag {
    lag: Duration,
    /// The poll's invocation time.
    time: Time,
    process: Process,
    key: String,
}

/// The first greatest lag over every ok poll, following each process's offsets through
/// its assigns, subscribes and polls.
fn worst_lag(ix: &Index, expiry: &Expiry) -> Option<Lag> {
    let mut offsets: HashMap<Process, BTreeMap<String, i64>> = HashMap::new();
    let mut worst: Option<Lag> = None;
    for k in ix.ops.iter().filter(|k| k.op.kind == OpType::Ok) {
        match k.op.f.as_str() {
            "assign" => {
                let keys = assign_keys(&k.op.value.json()).unwrap_or_default();
                let old = offsets.remove(&k.op.process).unwrap_or_default();
                let new = keys
                    .into_iter()
                    .map(|key| {
                        let o = old.get(&key).copied().unwrap_or(-1);
                        (key, o)
                    })
                    .collect();
                offsets.insert(k.op.process, new);
            }
            "subscribe" => {
                offsets.insert(k.op.process, BTreeMap::new());
            }
            "poll" | "txn" => {
                let time = ix.invoke_time(k.op);
                let po = offsets.entry(k.op.process).or_default();
                for (key, o) in max_offsets(k) {
                    let e = po.entry(key.to_owned()).or_insert(o);
                    *e = (*e).max(o);
                }
                for (key, o) in po.iter() {
                    let lag = expiry
                        .at(key, o + 1)
                        .map_or(Duration::ZERO, |t| time.saturating_since(t));
                    if worst.as_ref().is_none_or(|w| lag > w.lag) {
                        let (process, key) = (k.op.process, key.clone());
                        worst = Some(Lag {
                            lag,
                            time,
                            process,
                            key,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    worst
}
