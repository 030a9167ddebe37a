//! Jepsen's worst realtime lag.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::index::Index;
use super::parse::{assign_keys, KOp};
use super::proc_num;
use crate::history::{OpType, Process};

/// Jepsen's worst realtime lag: for each ok poll and each key its process is assigned or
/// has polled, how long (at least) since the highest offset it has seen stopped being the
/// log's tail. Returns `{time, lag}` in seconds plus `process` and `key` of the worst.
pub(super) fn realtime_lag(ix: &Index) -> Value {
    let ops = ix.ops;
    // expired[key]: steps (highest offset covered, time): offsets up to that were known
    // to exist from that time on. Offsets are covered as a growing prefix.
    let mut expired: HashMap<&str, Vec<(i64, u64)>> = HashMap::new();
    let max_offsets = |k: &KOp| -> BTreeMap<String, i64> {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        if !matches!(k.op.kind, OpType::Ok | OpType::Info) {
            return m;
        }
        for (key, ps) in &k.reads {
            let o = ps.iter().filter_map(|p| p.0).max().unwrap_or(-1);
            let e = m.entry(key.clone()).or_insert(o);
            *e = (*e).max(o);
        }
        for (key, ps) in &k.writes {
            if let Some(o) = ps.iter().filter_map(|p| p.0).max() {
                let e = m.entry(key.clone()).or_insert(0);
                *e = (*e).max(o);
            }
        }
        m
    };
    for k in ops {
        for (key, o) in max_offsets(k) {
            let key: &str = leak_key(k, &key);
            let steps = expired.entry(key).or_default();
            let covered = steps.last().map_or(-1, |s| s.0);
            if o > covered {
                steps.push((o, k.op.time));
            }
        }
    }
    let expired_at = |key: &str, i: i64| -> Option<u64> {
        let steps = expired.get(key)?;
        let j = steps.partition_point(|s| s.0 < i);
        steps.get(j).map(|s| s.1)
    };
    let mut offsets: HashMap<Process, BTreeMap<String, i64>> = HashMap::new();
    let mut worst: Option<(u64, u64, Process, String)> = None; // lag, time, process, key
    for k in ops {
        if k.op.kind != OpType::Ok {
            continue;
        }
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
                let invoke_time = ix.invoke_time(k.op);
                let po = offsets.entry(k.op.process).or_default();
                for (key, o) in max_offsets(k) {
                    let e = po.entry(key).or_insert(o);
                    *e = (*e).max(o);
                }
                for (key, o) in po.iter() {
                    let lag = expired_at(key, o + 1).map_or(0, |t| invoke_time.saturating_sub(t));
                    if worst.as_ref().is_none_or(|w| lag > w.0) {
                        worst = Some((lag, invoke_time, k.op.process, key.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    match worst {
        Some((lag, time, p, key)) => json!({
            "time": time as f64 / 1e9, "lag": lag as f64 / 1e9, "process": proc_num(p), "key": key,
        }),
        None => json!({"time": 0, "lag": 0}),
    }
}

fn leak_key<'a>(k: &'a KOp, key: &str) -> &'a str {
    k.reads
        .get_key_value(key)
        .or_else(|| k.writes.get_key_value(key))
        .map_or("", |(s, _)| s.as_str())
}
