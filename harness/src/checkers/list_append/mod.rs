//! Elle's list-append checker for the `txn-list-append` workload, with what Maelstrom lets
//! pass also rejected.
//!
//! # Input
//!
//! Client operations with `f = "txn"`: micro-ops `["r", k, list]` and `["append", k, e]`
//! over integer keys and elements, elements unique per key (module `parse`). An `ok` txn
//! is taken from its completion, which must answer its invocation micro-op by micro-op
//! (same function, key and appended element; reads a list of integers or `null`).
//! Maelstrom accepts any reply that fits its schema, so a node may return an `append`
//! where an `r` was sent, or another key (maelstrom#14); here such a reply is
//! **reply-mismatch**, prohibited by every model, and its txn is treated as indeterminate.
//! A malformed invocation, or an element appended twice to a key, makes the result
//! `unknown` (Elle throws on both).
//!
//! # Analysis
//!
//! 1. Version orders from the reads (module `versions`): **incompatible-order**,
//!    **duplicate-elements**, **garbage-read** (an element no txn appended).
//! 2. Direct anomalies (module `direct`): **G1a**, **G1b**, **internal**, **future-read**,
//!    **dirty-update**, **lost-update**.
//! 3. The dependency graph of ww, wr and rw edges, plus process and real-time order when a
//!    requested model needs them (module `deps`), and its cycles (the shared search of
//!    `txn::cycles`, with Elle's labelling and skipping): **G0**, **G1c**, **G-single**,
//!    **G-nonadjacent**, **G2-item**, and their `-process` and `-realtime` variants.
//!
//! # Verdict
//!
//! Elle's (which Maelstrom uses for this workload): the reported types are the found types
//! a requested model prohibits (module `txn::model`), plus `empty-transaction-graph` and
//! `cycle-search-timeout`; the result is invalid if a prohibited type was found, unknown
//! if only those two were, valid otherwise. No requested model means strict-serializable.
//!
//! `details` holds `anomaly_types`, `anomalies` (an array of `{kind, ops, text, detail}`,
//! `ops` the history indices of the txns involved, at most [`MAX_PER_TYPE`] per type),
//! `anomaly_counts` (every found type), `other_anomaly_types` (found, not prohibited),
//! `not` / `also_not`, `models`, `txn_count` and `edges`.

mod deps;
mod direct;
mod parse;
mod versions;

#[cfg(test)]
mod crosscheck;
#[cfg(test)]
mod tests;

pub use parse::ParseError;

use crate::checker::{CheckResult, Validity};
use crate::checkers::txn::anomaly::{Anomaly, AnomalyType};
use crate::checkers::txn::cycles::{self, Labels, Search};
use crate::checkers::txn::graph::{PR, RT, RW, WR, WW};
use crate::checkers::txn::model::{Model, ModelError};
use crate::checkers::txn::parse::Status;
use crate::history::History;
use direct::Writers;
use parse::{Mop, Txn};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// At most this many anomalies of one type go into `details.anomalies`.
pub const MAX_PER_TYPE: usize = 32;

/// The cycle search: Elle's labels (an edge plays its strongest kind) and skipping.
const SEARCH: Search = Search {
    labels: Labels::Strongest,
    skip_implied: true,
    budget: cycles::DEFAULT_BUDGET,
};

/// Parses Maelstrom's `--consistency-models` list: each element one model name.
pub fn parse_models<S: AsRef<str>>(names: &[S]) -> Result<Vec<Model>, ModelError> {
    names.iter().map(|n| n.as_ref().parse()).collect()
}

fn unknown(problem: String, details: Value) -> CheckResult {
    CheckResult::new(Validity::Unknown, vec![problem], details)
}

/// The writer of every appended element; `Err` names an element appended twice.
fn writers(txns: &[Txn]) -> Result<Writers, String> {
    let mut out = Writers::new();
    for (t, txn) in txns.iter().enumerate() {
        for m in &txn.mops {
            if let Mop::Append { key, value } = *m {
                if let Some(other) = out.insert((key, value), t) {
                    return Err(format!(
                        "duplicate-writes: element {value} appended to key {key} by T{} and T{}",
                        txns[other].name, txn.name
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Checks a txn-list-append history against `models` (empty: strict-serializable).
///
/// Guarantees: `Invalid` iff an anomaly a requested model prohibits was found; `Unknown`
/// iff the history is malformed, appends an element twice, or only an empty graph or a
/// search timeout was reported; `Valid` otherwise. Never panics on any history.
pub fn check(h: &History, models: &[Model]) -> CheckResult {
    check_with(h, models, true)
}

/// [`check`], with process-order edges left out when `process_order` is false (the
/// cross-check with a checker that uses real-time order only).
pub(crate) fn check_with(h: &History, models: &[Model], process_order: bool) -> CheckResult {
    let models: Vec<Model> = if models.is_empty() {
        vec![Model::StrictSerializable]
    } else {
        models.to_vec()
    };
    let parsed = match parse::transactions(h) {
        Ok(p) => p,
        Err(e) => return unknown(e.to_string(), json!({"error": e.to_string()})),
    };
    let txns = &parsed.txns;
    let writers = match writers(txns) {
        Ok(w) => w,
        Err(e) => {
            return unknown(
                e.clone(),
                json!({"error": e, "anomaly_types": ["duplicate-writes"]}),
            )
        }
    };
    let mut found: Vec<Anomaly> = parsed.mismatches.clone();
    let versions = versions::recover(txns, &mut found);
    direct::find(txns, &writers, &versions, &mut found);
    let realtime = models.iter().any(|m| m.prohibits(AnomalyType::G0Realtime));
    let order = deps::Order {
        realtime,
        process: realtime && process_order,
    };
    let deps = deps::build(txns, &writers, &versions, order);
    let names: Vec<usize> = deps.txn_of.iter().map(|&t| txns[t].name).collect();
    found.extend(cycles::find_cycles(&deps.edges, &names, &SEARCH));
    let g = &deps.edges.graph;
    if g.count(WW | WR | RW | PR | RT) == 0 {
        found.push(Anomaly::empty_graph());
    }
    let count = |s: Status| txns.iter().filter(|t| t.status == s).count();
    let extra = json!({
        "models": models.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "txn_count": {"ok": count(Status::Ok), "info": count(Status::Info),
                      "fail": count(Status::Fail)},
        "edges": {"ww": g.count(WW), "wr": g.count(WR), "rw": g.count(RW),
                  "process": g.count(PR), "realtime": g.count(RT)},
    });
    verdict(&found, &models, extra)
}

/// Elle's verdict and the details, from every anomaly found.
fn verdict(found: &[Anomaly], models: &[Model], extra: Value) -> CheckResult {
    let mut by_type: BTreeMap<AnomalyType, Vec<&Anomaly>> = BTreeMap::new();
    for a in found {
        by_type.entry(a.kind).or_default().push(a);
    }
    let prohibited = |t: AnomalyType| models.iter().any(|m| m.prohibits(t));
    let mut types = Vec::new();
    let mut other = Vec::new();
    let mut counts = serde_json::Map::new();
    let mut listed = Vec::new();
    let mut problems = Vec::new();
    for (t, list) in &by_type {
        counts.insert(t.as_str().into(), json!(list.len()));
        if !(prohibited(*t) || t.is_unknown_type()) {
            other.push(t.as_str());
            continue;
        }
        types.push(t.as_str());
        problems.push(format!(
            "{t}: {} ({} found)",
            list[0].description,
            list.len()
        ));
        listed.extend(list.iter().take(MAX_PER_TYPE).map(|a| {
            json!({"kind": t.as_str(), "ops": a.txns, "text": a.description, "detail": a.detail})
        }));
    }
    let valid = if by_type.keys().any(|&t| prohibited(t)) {
        Validity::Invalid
    } else if types.is_empty() {
        Validity::Valid
    } else {
        Validity::Unknown
    };
    let kinds: Vec<AnomalyType> = by_type.keys().copied().collect();
    let (not, also_not) = Model::boundary(&kinds);
    let mut details = json!({
        "anomaly_types": types,
        "anomalies": listed,
        "anomaly_counts": counts,
        "other_anomaly_types": other,
        "not": not.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "also_not": also_not.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
    });
    if let (Value::Object(d), Value::Object(e)) = (&mut details, extra) {
        d.extend(e);
    }
    CheckResult::new(valid, problems, details)
}
