//! The kafka checker's result: verdict, problem lines, `results.json` details and the
//! anomalies the report page links to operations.

use serde_json::{json, Map, Value};

use super::index::Index;
use super::polled::Phantom;
use super::unpolled::Unseen;
use super::{Found, ALLOWED_ERROR_TYPES};
use crate::checker::{CheckResult, Validity};
use crate::checkers::anomalies::{self, anomaly};
use crate::history::OpType;

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

/// Everything the detectors found, as the checker's result.
pub(super) fn result(
    ix: &Index,
    found: &Found,
    unseen: &Unseen,
    phantoms: &[Phantom],
    worst_lag: Value,
) -> CheckResult {
    let mut error_types: Vec<&str> = found.by_type.keys().copied().collect();
    if unseen.total() > 0 {
        error_types.push("unseen");
    }
    error_types.sort_unstable();
    let bad: Vec<&str> = error_types
        .iter()
        .copied()
        .filter(|t| !ALLOWED_ERROR_TYPES.contains(t))
        .collect();
    let valid = if !bad.is_empty() {
        Validity::Invalid
    } else if !phantoms.is_empty() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let mut d = Map::new();
    d.insert("valid".into(), valid.to_json());
    d.insert("bad_error_types".into(), json!(bad));
    d.insert("error_types".into(), json!(error_types));
    d.insert("info_txn_causes".into(), json!(info_txn_causes(ix)));
    d.insert("worst_realtime_lag".into(), worst_lag);
    insert_samples(&mut d, found, unseen);
    if !phantoms.is_empty() {
        d.insert("error".into(), json!(phantoms.first().map(|p| &p.0)));
    }
    let mut d = Value::Object(d);
    anomalies::attach(&mut d, found_anomalies(ix, found, unseen, phantoms));
    CheckResult::new(valid, problems(found, unseen, phantoms), d)
}

/// Problem lines: up to [`LINES_PER_TYPE`] per error type in [`SEVERITY`] order (one per
/// key for `unseen`), then the phantom messages.
fn problems(found: &Found, unseen: &Unseen, phantoms: &[Phantom]) -> Vec<String> {
    let mut problems = Vec::new();
    for t in SEVERITY {
        if t == "unseen" {
            for (key, ms) in &unseen.msgs {
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
    problems.extend(
        phantoms
            .iter()
            .take(LINES_PER_TYPE)
            .map(|p| format!("phantom message: {}", p.0)),
    );
    problems
}

/// The distinct errors of the info sends and polls, first seen first (`null` for none).
fn info_txn_causes(ix: &Index) -> Vec<Value> {
    let mut causes: Vec<Value> = Vec::new();
    for k in ix.ops {
        if k.op.kind == OpType::Info && matches!(k.op.f.as_str(), "send" | "poll" | "txn") {
            let e = k.op.error.clone().map_or(Value::Null, Value::String);
            if !causes.contains(&e) {
                causes.push(e);
            }
        }
    }
    causes
}

/// Per error type found, a snake_case field with its `count` and up to
/// [`SAMPLES_PER_TYPE`] `errs` (worst delta first for skips and nonmonotonic orders); and
/// `unseen` with its `time`, count per key and sample messages per key.
fn insert_samples(d: &mut Map<String, Value>, found: &Found, unseen: &Unseen) {
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
    if unseen.total() > 0 {
        d.insert(
            "unseen".into(),
            // `time` leaves as integer nanoseconds (the history's clock in results.json).
            json!({
                "time": unseen.time,
                "unseen": unseen.msgs.iter().map(|(k, m)| (k.to_string(), json!(m.len()))).collect::<Map<_, _>>(),
                "messages": unseen.msgs.iter().map(|(k, m)| (k.to_string(),
                    json!(m.iter().take(SAMPLES_PER_TYPE).map(|v| v.to_value()).collect::<Vec<_>>()))).collect::<Map<_, _>>(),
            }),
        );
    }
}

/// Every error found as an anomaly (`details["anomalies"]`): the sampled ones of each
/// type with the ops their record names, one `unseen` per key (ops: the sends), and the
/// phantom polls.
fn found_anomalies(ix: &Index, found: &Found, unseen: &Unseen, phantoms: &[Phantom]) -> Vec<Value> {
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
    for (key, msgs) in &unseen.msgs {
        let refs = msgs.iter().filter_map(|m| ix.writer(key, m));
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
