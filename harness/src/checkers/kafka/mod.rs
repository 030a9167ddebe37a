//! The kafka checker (Jepsen `tests/kafka.clj` analysis, as Maelstrom's kafka workload runs
//! it: no transactions, `assign` only, no write-write inference).
//!
//! From every send and poll it rebuilds each key's log (offset → messages, from `ok` sends
//! and from polls; from `info` sends only when one of their messages was polled) and looks
//! for every error type Jepsen reports:
//!
//! | type | meaning |
//! |---|---|
//! | `inconsistent-offsets` | one key+offset seen with two or more messages |
//! | `duplicate` | one message at more than one offset of a key |
//! | `lost-write` | a committed message at or below the highest read position of its key that no `ok` poll returned |
//! | `unseen` | `ok`-acknowledged messages no `ok` poll ever returned |
//! | `G1a` | an `ok` poll returned a message whose send failed definitely |
//! | `G1c-realtime` | a poll returned a message whose send was invoked after the poll completed (the only Elle cycle possible here: a write-read edge closed by real-time order) |
//! | `poll-skip` / `nonmonotonic-poll` | per process, a poll's first message of a key is more than one position after / not after the previous poll's last |
//! | `int-poll-skip` / `int-nonmonotonic-poll` | the same between consecutive messages of a key inside one poll |
//! | `nonmonotonic-send` | per process, a later send to a key lands at or before an earlier one |
//! | `int-send-skip` / `int-nonmonotonic-send` | the same inside one op's sends (multi-send ops only) |
//! | `precommitted-read` | an op read a message it sent itself |
//!
//! Positions are dense ranks in the key's offset order. Valid iff every present error type
//! is in [`ALLOWED_ERROR_TYPES`]. A poll returning a message nobody sent makes Jepsen throw
//! (`unknown`); here that is reported as `unknown` too, unless some error already makes the
//! history invalid.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::{json, Map, Value};

use crate::checker::{CheckResult, Validity};
use crate::checkers::anomalies::{self, anomaly};
use crate::checkers::value::ValueKey;
use crate::history::{History, Op, OpType, Process};

/// Error types that never make a history invalid (Jepsen's `allowed-error-types` with
/// `sub-via #{:assign}` and no `ww-deps`).
pub const ALLOWED_ERROR_TYPES: [&str; 6] = [
    "int-send-skip",
    "G0",
    "G0-process",
    "G0-realtime",
    "PL-1-cycle-exists",
    "strong-PL-1-cycle-exists",
];

/// Order in which error types are listed in `problems` (most important first).
const SEVERITY: [&str; 13] = [
    "G1a",
    "lost-write",
    "inconsistent-offsets",
    "duplicate",
    "unseen",
    "G1c-realtime",
    "poll-skip",
    "nonmonotonic-poll",
    "nonmonotonic-send",
    "int-poll-skip",
    "int-nonmonotonic-poll",
    "int-nonmonotonic-send",
    "precommitted-read",
];

/// Problem lines listed per error type before summarising the rest.
const LINES_PER_TYPE: usize = 8;
/// Sample errors kept per error type in the details.
const SAMPLES_PER_TYPE: usize = 32;

type Pairs = Vec<(Option<i64>, ValueKey)>;

/// One client entry of the history, with its sends and polls parsed.
struct KOp<'a> {
    op: &'a Op,
    /// key -> (offset, message) sent, in order.
    writes: BTreeMap<String, Pairs>,
    /// key -> (offset, message) polled, in order.
    reads: BTreeMap<String, Pairs>,
}

fn key_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn offset_of(v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Null => Ok(None),
        v => match v.as_i64() {
            Some(o) if o >= 0 => Ok(Some(o)),
            _ => Err(format!("offset {v} is not a non-negative integer")),
        },
    }
}

fn parse<'a>(op: &'a Op) -> Result<KOp<'a>, String> {
    let mut k = KOp {
        op,
        writes: BTreeMap::new(),
        reads: BTreeMap::new(),
    };
    if !matches!(op.f.as_str(), "send" | "poll" | "txn") {
        return Ok(k);
    }
    let value = op.value.json();
    let Some(mops) = value.as_array() else {
        return Err("value is not an array of micro-operations".into());
    };
    for mop in mops {
        let Some(m) = mop.as_array() else {
            return Err(format!("micro-operation {mop} is not an array"));
        };
        match m.first().and_then(Value::as_str) {
            Some("send") if m.len() >= 3 => {
                let key = key_of(&m[1]);
                // An ok send records [offset, msg]; an invocation or a failed/indeterminate
                // completion records the bare message.
                let (off, msg) = match (&m[2], op.kind) {
                    (Value::Array(p), OpType::Ok) if p.len() == 2 => {
                        (offset_of(&p[0])?, ValueKey::of(&p[1]))
                    }
                    (v, OpType::Ok) => {
                        return Err(format!("ok send holds {v}, not [offset, msg]"));
                    }
                    (v, _) => (None, ValueKey::of(v)),
                };
                k.writes.entry(key).or_default().push((off, msg));
            }
            Some("poll") => {
                let Some(msgs) = m.get(1) else { continue };
                if op.kind != OpType::Ok {
                    continue;
                }
                let Some(obj) = msgs.as_object() else {
                    return Err(format!("poll result {msgs} is not a map"));
                };
                for (key, pairs) in obj {
                    let Some(pairs) = pairs.as_array() else {
                        return Err(format!("poll of key {key} holds {pairs}, not a list"));
                    };
                    let e = k.reads.entry(key.clone()).or_default();
                    for p in pairs {
                        match p.as_array() {
                            Some(p) if p.len() == 2 => {
                                e.push((offset_of(&p[0])?, ValueKey::of(&p[1])))
                            }
                            _ => return Err(format!("poll entry {p} is not [offset, msg]")),
                        }
                    }
                }
            }
            _ => return Err(format!("unknown micro-operation {mop}")),
        }
    }
    Ok(k)
}

/// A key's log: offset -> distinct messages seen there (first seen first).
type Log = BTreeMap<i64, Vec<ValueKey>>;

/// The version order of one key.
#[derive(Default)]
struct Order {
    /// Dense index -> the offset's (first) message.
    by_index: Vec<ValueKey>,
    /// Message -> dense index (its last offset, as Jepsen's map does).
    by_value: HashMap<ValueKey, usize>,
}

fn assign_keys(v: &Value) -> Option<HashSet<String>> {
    let list = match v {
        Value::Array(a) => a,
        Value::Object(o) => o.get("keys")?.as_array()?,
        _ => return None,
    };
    Some(list.iter().map(key_of).collect())
}

fn proc_num(p: Process) -> Value {
    match p {
        Process::Client(n) => json!(n),
        Process::Nemesis => json!("nemesis"),
    }
}

struct Found {
    by_type: BTreeMap<&'static str, Vec<(String, Value)>>,
}

impl Found {
    fn add(&mut self, t: &'static str, line: String, v: Value) {
        self.by_type.entry(t).or_default().push((line, v));
    }
}

/// Checks a kafka history. Output: `valid`, `bad_error_types`, `error_types` (Jepsen's
/// names, e.g. `"lost-write"`), `info_txn_causes`, `worst_realtime_lag`
/// (`{time, lag}` in seconds, with `process` and `key` when any), and per present error type
/// a field named in snake_case (`lost_write`, `G1a`, ...) with `count` and up to 32 `errs`
/// (for `unseen`: `{time, unseen: {key: count}, messages: {key: [msg...]}}`).
pub fn check(h: &History) -> CheckResult {
    let pairs = h.pairs();
    let mut ops = Vec::new();
    for op in h.ops.iter().filter(|o| o.is_client()) {
        match parse(op) {
            Ok(k) => ops.push(k),
            Err(e) => {
                return CheckResult::unknown(format!("op {}: malformed kafka value: {e}", op.index))
            }
        }
    }
    let inv_index = |c: &Op| pairs[c.index].unwrap_or(c.index);

    // Values read by ok polls, values written by failed sends.
    let mut read_ok: HashMap<&str, HashSet<&ValueKey>> = HashMap::new();
    let mut write_fail: HashMap<&str, HashSet<&ValueKey>> = HashMap::new();
    for k in &ops {
        if k.op.kind == OpType::Ok {
            for (key, ps) in &k.reads {
                read_ok
                    .entry(key)
                    .or_default()
                    .extend(ps.iter().map(|p| &p.1));
            }
        }
        if k.op.kind == OpType::Fail {
            for (key, ps) in &k.writes {
                write_fail
                    .entry(key)
                    .or_default()
                    .extend(ps.iter().map(|p| &p.1));
            }
        }
    }
    let committed = |k: &KOp| -> bool {
        k.op.kind == OpType::Ok
            || (k.op.kind == OpType::Info
                && k.writes.iter().any(|(key, ps)| {
                    read_ok
                        .get(key.as_str())
                        .is_some_and(|s| ps.iter().any(|p| s.contains(&p.1)))
                }))
    };

    // Logs.
    let mut logs: BTreeMap<&str, Log> = BTreeMap::new();
    for k in &ops {
        if k.op.kind != OpType::Invoke && committed(k) {
            for (key, ps) in &k.writes {
                for (o, v) in ps {
                    put(&mut logs, key, *o, v);
                }
            }
        }
        for (key, ps) in &k.reads {
            for (o, v) in ps {
                put(&mut logs, key, *o, v);
            }
        }
    }

    let mut found = Found {
        by_type: BTreeMap::new(),
    };
    // Writers and readers.
    let mut writer_of: HashMap<(&str, &ValueKey), usize> = HashMap::new();
    let mut readers_of: HashMap<(&str, &ValueKey), Vec<usize>> = HashMap::new();
    for (n, k) in ops.iter().enumerate() {
        if k.op.kind == OpType::Invoke {
            continue;
        }
        for (key, ps) in &k.writes {
            for p in ps {
                writer_of.insert((key, &p.1), n);
            }
        }
        for (key, ps) in &k.reads {
            for p in ps {
                readers_of.entry((key, &p.1)).or_default().push(n);
            }
        }
    }

    // The history indices of the ops that sent or polled these messages of `key`.
    let touching = |key: &str, vs: &[&ValueKey]| -> Vec<usize> {
        let mut out = Vec::new();
        for &v in vs {
            out.extend(writer_of.get(&(key, v)).map(|&n| ops[n].op.index));
            let readers = readers_of.get(&(key, v)).map_or(&[][..], Vec::as_slice);
            out.extend(readers.iter().map(|&n| ops[n].op.index));
        }
        out.sort_unstable();
        out.dedup();
        out
    };

    // Version orders, inconsistent offsets, duplicates, first/last indices.
    let mut orders: HashMap<&str, Order> = HashMap::new();
    let mut first_index: HashMap<&str, HashMap<&ValueKey, usize>> = HashMap::new();
    let mut last_index_values: HashMap<&str, Vec<Vec<&ValueKey>>> = HashMap::new();
    for (key, log) in &logs {
        let mut ord = Order::default();
        let mut first: HashMap<&ValueKey, usize> = HashMap::new();
        let mut last: HashMap<&ValueKey, usize> = HashMap::new();
        let mut occurrences: HashMap<&ValueKey, Vec<i64>> = HashMap::new();
        for (i, (off, vs)) in log.iter().enumerate() {
            if vs.len() >= 2 {
                let mut sorted: Vec<&ValueKey> = vs.iter().collect();
                sorted.sort();
                found.add(
                    "inconsistent-offsets",
                    format!(
                        "inconsistent-offsets: key {key:?} offset {off} holds {} different messages: {}",
                        vs.len(),
                        sorted.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
                    ),
                    json!({"key": key, "offset": off, "index": i,
                           "values": sorted.iter().map(|v| v.to_value()).collect::<Vec<_>>(),
                           "ops": touching(key, &sorted)}),
                );
            }
            ord.by_index.push(vs[0].clone());
            ord.by_value.insert(vs[0].clone(), i);
            for v in vs {
                first.entry(v).or_insert(i);
                last.insert(v, i);
                occurrences.entry(v).or_default().push(*off);
            }
        }
        let mut dups: Vec<_> = occurrences
            .into_iter()
            .filter(|(_, o)| o.len() > 1)
            .collect();
        dups.sort_by(|a, b| a.0.cmp(b.0));
        for (v, offs) in dups {
            found.add(
                "duplicate",
                format!("duplicate: key {key:?} message {v} appears at offsets {offs:?}"),
                json!({"key": key, "value": v.to_value(), "count": offs.len(), "offsets": offs,
                       "ops": touching(key, &[v])}),
            );
        }
        let mut lv: Vec<Vec<&ValueKey>> = vec![Vec::new(); log.len()];
        for (v, i) in &last {
            lv[*i].push(v);
        }
        for x in &mut lv {
            x.sort();
        }
        orders.insert(key, ord);
        first_index.insert(key, first);
        last_index_values.insert(key, lv);
    }
    let index_of =
        |key: &str, v: &ValueKey| orders.get(key).and_then(|o| o.by_value.get(v).copied());
    let delta = |key: &str, a: &ValueKey, b: &ValueKey| -> i64 {
        match (index_of(key, a), index_of(key, b)) {
            (Some(i), Some(j)) => j as i64 - i as i64,
            _ => 1,
        }
    };
    let skipped = |key: &str, a: &ValueKey, b: &ValueKey| -> Vec<Value> {
        match (index_of(key, a), index_of(key, b), orders.get(key)) {
            (Some(i), Some(j), Some(o)) if j > i + 1 => o.by_index[i + 1..j]
                .iter()
                .map(ValueKey::to_value)
                .collect(),
            _ => vec![],
        }
    };

    // G1a, G1c-realtime, precommitted reads, internal poll order, phantom messages.
    let mut phantoms = Vec::new();
    for k in &ops {
        for (key, ps) in &k.reads {
            for (o, v) in ps {
                if k.op.kind == OpType::Ok
                    && write_fail.get(key.as_str()).is_some_and(|s| s.contains(v))
                {
                    let w = writer_of.get(&(key.as_str(), v)).map(|&n| ops[n].op.index);
                    found.add(
                        "G1a",
                        format!(
                            "G1a: poll {} read key {key:?} message {v} (offset {}) whose send {} failed",
                            k.op.index,
                            o.map_or("?".into(), |o| o.to_string()),
                            w.map_or("?".into(), |w| w.to_string())
                        ),
                        json!({"key": key, "value": v.to_value(), "writer": w, "reader": k.op.index}),
                    );
                }
                match writer_of.get(&(key.as_str(), v)) {
                    None => phantoms.push((
                        format!(
                            "op {} polled key {key:?} message {v}, which no operation sent",
                            k.op.index
                        ),
                        k.op.index,
                    )),
                    Some(&w) => {
                        let wop = ops[w].op;
                        if k.op.kind == OpType::Ok
                            && !std::ptr::eq(wop, k.op)
                            && k.op.index < inv_index(wop)
                        {
                            found.add(
                                "G1c-realtime",
                                format!(
                                    "G1c-realtime: poll {} (completed at op {}) read key {key:?} message {v}, sent by op {} invoked later (at op {})",
                                    inv_index(k.op), k.op.index, wop.index, inv_index(wop)
                                ),
                                json!({"key": key, "value": v.to_value(), "cycle": [wop.index, k.op.index]}),
                            );
                        }
                    }
                }
            }
            for w in ps.windows(2) {
                let d = delta(key, &w[0].1, &w[1].1);
                if d > 1 {
                    found.add(
                        "int-poll-skip",
                        format!("int-poll-skip: op {} polled key {key:?} {} then {}, skipping {} messages", k.op.index, w[0].1, w[1].1, d - 1),
                        json!({"key": key, "values": [w[0].1.to_value(), w[1].1.to_value()], "delta": d,
                               "skipped": skipped(key, &w[0].1, &w[1].1), "op": k.op.index}),
                    );
                } else if d < 1 {
                    found.add(
                        "int-nonmonotonic-poll",
                        format!("int-nonmonotonic-poll: op {} polled key {key:?} {} then {} (position delta {d})", k.op.index, w[0].1, w[1].1),
                        json!({"key": key, "values": [w[0].1.to_value(), w[1].1.to_value()], "delta": d, "op": k.op.index}),
                    );
                }
            }
            if let Some(ws) = k.writes.get(key) {
                if let Some(bad) = ws.iter().find(|w| ps.iter().any(|p| p.1 == w.1)) {
                    found.add(
                        "precommitted-read",
                        format!(
                            "precommitted-read: op {} read its own message {} of key {key:?}",
                            k.op.index, bad.1
                        ),
                        json!({"op": k.op.index, "key": key, "value": bad.1.to_value()}),
                    );
                }
            }
        }
        if k.op.kind != OpType::Invoke {
            for (key, ws) in &k.writes {
                for w in ws.windows(2) {
                    let d = delta(key, &w[0].1, &w[1].1);
                    let t = if d > 1 {
                        "int-send-skip"
                    } else if d < 1 {
                        "int-nonmonotonic-send"
                    } else {
                        continue;
                    };
                    found.add(
                        t,
                        format!("{t}: op {} sent key {key:?} {} then {} (position delta {d})", k.op.index, w[0].1, w[1].1),
                        json!({"key": key, "values": [w[0].1.to_value(), w[1].1.to_value()], "delta": d, "op": k.op.index}),
                    );
                }
            }
        }
    }

    // Lost writes.
    let mut read_keys: Vec<&&str> = read_ok.keys().collect();
    read_keys.sort();
    for key in read_keys {
        let vs = &read_ok[*key];
        let (Some(first), Some(lv)) = (first_index.get(*key), last_index_values.get(*key)) else {
            continue;
        };
        let bound = vs.iter().filter_map(|v| first.get(*v).copied()).max();
        let Some(bound) = bound else { continue };
        let max_read = lv[bound]
            .first()
            .and_then(|v| readers_of.get(&(*key, *v)))
            .and_then(|r| r.first())
            .map(|&n| ops[n].op.index);
        for v in lv[..=bound].iter().flatten() {
            if vs.contains(*v) {
                continue;
            }
            let Some(&w) = writer_of.get(&(*key, *v)) else {
                continue;
            };
            if !committed(&ops[w]) {
                continue;
            }
            let fi = first.get(*v).copied();
            found.add(
                "lost-write",
                format!(
                    "lost-write: key {key:?} message {v} (sent by op {}, position {}) was never polled, though op {} polled up to position {bound}",
                    ops[w].op.index,
                    fi.map_or("?".into(), |i| i.to_string()),
                    max_read.map_or("?".into(), |i| i.to_string())
                ),
                json!({"key": key, "value": v.to_value(), "index": fi, "max_read_index": bound,
                       "writer": ops[w].op.index, "max_read": max_read}),
            );
        }
    }

    // Per-process poll and send order.
    let mut by_proc: HashMap<Process, Vec<usize>> = HashMap::new();
    for (n, k) in ops.iter().enumerate() {
        by_proc.entry(k.op.process).or_default().push(n);
    }
    let mut procs: Vec<_> = by_proc.into_iter().collect();
    procs.sort_by_key(|(p, _)| *p);
    for (_, list) in &procs {
        let mut last_reads: HashMap<&str, usize> = HashMap::new();
        let mut last_sends: HashMap<&str, usize> = HashMap::new();
        for &n in list {
            let k = &ops[n];
            match k.op.f.as_str() {
                "assign" | "subscribe" if !matches!(k.op.kind, OpType::Invoke | OpType::Fail) => {
                    let keep = assign_keys(&k.op.value.json()).unwrap_or_default();
                    last_reads.retain(|key, _| keep.contains(*key));
                    last_sends.retain(|key, _| keep.contains(*key));
                }
                "poll" | "txn" | "send" => {
                    if k.op.f != "send" {
                        for (key, ps) in &k.reads {
                            let Some(&prev) = last_reads.get(key.as_str()) else {
                                continue;
                            };
                            let (Some(a), Some(b)) =
                                (ops[prev].reads.get(key).and_then(|p| p.last()), ps.first())
                            else {
                                continue;
                            };
                            let d = delta(key, &a.1, &b.1);
                            if d > 1 {
                                found.add(
                                    "poll-skip",
                                    format!(
                                        "poll-skip: process {} polled key {key:?} up to {} at op {}, then resumed at {} at op {}, skipping {} messages",
                                        proc_num(k.op.process), a.1, ops[prev].op.index, b.1, k.op.index, d - 1
                                    ),
                                    json!({"key": key, "delta": d, "skipped": skipped(key, &a.1, &b.1),
                                           "ops": [ops[prev].op.index, k.op.index]}),
                                );
                            } else if d < 1 {
                                found.add(
                                    "nonmonotonic-poll",
                                    format!(
                                        "nonmonotonic-poll: process {} polled key {key:?} up to {} at op {}, then went back to {} at op {} (position delta {d})",
                                        proc_num(k.op.process), a.1, ops[prev].op.index, b.1, k.op.index
                                    ),
                                    json!({"key": key, "values": [a.1.to_value(), b.1.to_value()], "delta": d,
                                           "ops": [ops[prev].op.index, k.op.index]}),
                                );
                            }
                        }
                        if k.op.kind == OpType::Ok {
                            for key in k.reads.keys() {
                                last_reads.insert(key, n);
                            }
                        }
                    }
                    if k.op.f != "poll" && matches!(k.op.kind, OpType::Ok | OpType::Info) {
                        for (key, ws) in &k.writes {
                            if let Some(&prev) = last_sends.get(key.as_str()) {
                                if let (Some(a), Some(b)) =
                                    (ops[prev].writes.get(key).and_then(|w| w.last()), ws.first())
                                {
                                    let d = delta(key, &a.1, &b.1);
                                    if d < 1 {
                                        found.add(
                                            "nonmonotonic-send",
                                            format!(
                                                "nonmonotonic-send: process {} sent key {key:?} {} at op {}, then {} at op {} landed at or before it (position delta {d})",
                                                proc_num(k.op.process), a.1, ops[prev].op.index, b.1, k.op.index
                                            ),
                                            json!({"key": key, "values": [a.1.to_value(), b.1.to_value()], "delta": d,
                                                   "ops": [ops[prev].op.index, k.op.index]}),
                                        );
                                    }
                                }
                            }
                            last_sends.insert(key, n);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    // Unseen: ok-sent messages never returned by an ok poll.
    let mut unseen_msgs: BTreeMap<&str, BTreeSet<&ValueKey>> = BTreeMap::new();
    let mut unseen_time = 0;
    for k in &ops {
        if k.op.kind != OpType::Ok || !matches!(k.op.f.as_str(), "send" | "poll" | "txn") {
            continue;
        }
        unseen_time = k.op.time;
        for (key, ws) in &k.writes {
            for w in ws {
                if !read_ok.get(key.as_str()).is_some_and(|s| s.contains(&w.1)) {
                    unseen_msgs.entry(key).or_default().insert(&w.1);
                }
            }
        }
    }
    let unseen_total: usize = unseen_msgs.values().map(BTreeSet::len).sum();

    // Realtime lag (diagnostic).
    let worst_lag = realtime_lag(&ops, &inv_index, h);

    // Assemble.
    let mut error_types: Vec<&str> = found.by_type.keys().copied().collect();
    if unseen_total > 0 {
        error_types.push("unseen");
    }
    error_types.sort_unstable();
    let bad: Vec<&str> = error_types
        .iter()
        .copied()
        .filter(|t| !ALLOWED_ERROR_TYPES.contains(t))
        .collect();
    let mut problems = Vec::new();
    for t in SEVERITY {
        if t == "unseen" {
            for (key, ms) in &unseen_msgs {
                problems.push(format!(
                    "unseen: key {key:?}: {} acknowledged messages never polled: {}",
                    ms.len(),
                    ms.iter()
                        .take(16)
                        .map(|m| m.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            continue;
        }
        if let Some(list) = found.by_type.get(t) {
            for (line, _) in list.iter().take(LINES_PER_TYPE) {
                problems.push(line.clone());
            }
            if list.len() > LINES_PER_TYPE {
                problems.push(format!("{t}: {} more cases", list.len() - LINES_PER_TYPE));
            }
        }
    }
    let valid = if !bad.is_empty() {
        Validity::Invalid
    } else if !phantoms.is_empty() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    problems.extend(
        phantoms
            .iter()
            .take(LINES_PER_TYPE)
            .map(|p| format!("phantom message: {}", p.0)),
    );

    let mut info_causes: Vec<Value> = Vec::new();
    for k in &ops {
        if k.op.kind == OpType::Info && matches!(k.op.f.as_str(), "send" | "poll" | "txn") {
            let e = k.op.error.clone().map_or(Value::Null, Value::String);
            if !info_causes.contains(&e) {
                info_causes.push(e);
            }
        }
    }
    let mut d = Map::new();
    d.insert("valid".into(), valid.to_json());
    d.insert("bad_error_types".into(), json!(bad));
    d.insert("error_types".into(), json!(error_types));
    d.insert("info_txn_causes".into(), json!(info_causes));
    d.insert("worst_realtime_lag".into(), worst_lag);
    for (t, list) in &found.by_type {
        let mut errs: Vec<&Value> = list.iter().map(|x| &x.1).collect();
        if t.contains("nonmonotonic") {
            errs.sort_by_key(|e| e["delta"].as_i64());
        } else if t.contains("skip") {
            errs.sort_by_key(|e| std::cmp::Reverse(e["delta"].as_i64()));
        }
        errs.truncate(SAMPLES_PER_TYPE);
        d.insert(
            t.replace('-', "_"),
            json!({"count": list.len(), "errs": errs}),
        );
    }
    if unseen_total > 0 {
        d.insert(
            "unseen".into(),
            json!({
                "time": unseen_time,
                "unseen": unseen_msgs.iter().map(|(k, m)| (k.to_string(), json!(m.len()))).collect::<Map<_, _>>(),
                "messages": unseen_msgs.iter().map(|(k, m)| (k.to_string(),
                    json!(m.iter().take(SAMPLES_PER_TYPE).map(|v| v.to_value()).collect::<Vec<_>>()))).collect::<Map<_, _>>(),
            }),
        );
    }
    if !phantoms.is_empty() {
        d.insert("error".into(), json!(phantoms.first().map(|p| &p.0)));
    }
    let mut d = Value::Object(d);
    let found = found_anomalies(&found, &unseen_msgs, &writer_of, &ops, &phantoms);
    anomalies::attach(&mut d, found);
    CheckResult::new(valid, problems, d)
}

/// Every error found as an anomaly (`details["anomalies"]`): the sampled ones of each
/// type with the ops their record names, one `unseen` per key (ops: the sends), and the
/// phantom polls.
fn found_anomalies(
    found: &Found,
    unseen: &BTreeMap<&str, BTreeSet<&ValueKey>>,
    writer_of: &HashMap<(&str, &ValueKey), usize>,
    ops: &[KOp],
    phantoms: &[(String, usize)],
) -> Vec<Value> {
    let mut out = Vec::new();
    for (t, list) in &found.by_type {
        for (line, v) in list {
            let mut refs = Vec::new();
            for field in ["op", "ops", "writer", "reader", "cycle", "max_read"] {
                match &v[field] {
                    Value::Array(a) => refs.extend(a.iter().filter_map(Value::as_u64)),
                    x => refs.extend(x.as_u64()),
                }
            }
            let extra = json!({"key": v["key"], "allowed": ALLOWED_ERROR_TYPES.contains(t)});
            out.push(anomaly(
                t,
                refs.into_iter().map(|i| i as usize),
                line.clone(),
                extra,
            ));
        }
    }
    for (key, msgs) in unseen {
        let refs = msgs
            .iter()
            .filter_map(|m| writer_of.get(&(*key, *m)).map(|&n| ops[n].op.index));
        let text = format!(
            "unseen: key {key:?}: {} acknowledged messages never polled",
            msgs.len()
        );
        out.push(anomaly("unseen", refs, text, json!({"key": key})));
    }
    for (text, op) in phantoms {
        out.push(anomaly("phantom", [*op], text.clone(), Value::Null));
    }
    out
}

/// Jepsen's worst realtime lag: for each ok poll and each key its process is assigned or
/// has polled, how long (at least) since the highest offset it has seen stopped being the
/// log's tail. Returns `{time, lag}` in seconds plus `process` and `key` of the worst.
fn realtime_lag(ops: &[KOp], inv_index: &dyn Fn(&Op) -> usize, h: &History) -> Value {
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
                let invoke_time = h.ops[inv_index(k.op)].time;
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

fn put<'b>(logs: &mut BTreeMap<&'b str, Log>, key: &'b str, o: Option<i64>, v: &ValueKey) {
    if let Some(o) = o {
        let vs = logs.entry(key).or_default().entry(o).or_default();
        if !vs.contains(v) {
            vs.push(v.clone());
        }
    }
}

fn leak_key<'a>(k: &'a KOp, key: &str) -> &'a str {
    k.reads
        .get_key_value(key)
        .or_else(|| k.writes.get_key_value(key))
        .map_or("", |(s, _)| s.as_str())
}

#[cfg(test)]
mod tests;
