//! Elle-style checker for the `txn-rw-register` workload.
//!
//! It builds a dependency graph over transactions from what clients observed, infers a
//! partial version order per key, and looks for the anomalies each requested consistency
//! model prohibits. It finds everything Maelstrom's configuration of Elle finds
//! (`wfr-keys`, initial state, only `ok` writers for wr edges) and more, using only
//! inferences that are sound under the same assumptions. Every rule below is documented
//! with why it is sound.
//!
//! # Input
//!
//! Client operations with `f = "txn"`. An `ok` txn is taken from its completion (reads
//! carry values, `null` = missing key); a `fail` or `info` txn (and an invocation that never
//! completed, treated as `info`) from its invocation, writes only: its reads are unknown.
//! Txns are named in reports by the history index of their completion (`T12`), or of their
//! invocation if they never completed. A malformed txn, or a value written twice (writes
//! must be unique per key; Elle throws on this), makes the result `unknown`.
//!
//! # The physical version order
//!
//! For each key the checker infers a partial order `<` over *all* values written to it,
//! intermediate writes included: the order in which writes to the key took effect. Adya's
//! version order over committed final versions is a sub-order of it. Maelstrom's own
//! inference (writes follow reads: first read `v1`, final write `v2` of one `ok` txn gives
//! `v1 < v2`) already assumes the order respects each txn's program order; the rules here
//! use the same assumption, for every micro-op rather than only the first read and the
//! last write:
//!
//! 1. **Initial state.** `nil` precedes every value (Maelstrom's keys start absent).
//!    Encoded as `nil <` each version with no other known predecessor, which by
//!    transitivity places `nil` before every version of an acyclic key.
//! 2. **Read before write** (generalises Maelstrom's wfr). In an `ok` txn, a read of `k`
//!    observing `v` followed later by a write `k = w` (`w != v`) gives `v < w`: the read
//!    saw `v`, so `v` had taken effect before it, and the write takes effect after the
//!    read. This holds for *any* read, not only the first (a non-repeatable or internally
//!    inconsistent read still saw `v` at that point).
//! 3. **Write before write.** A txn writing `k = a` and later `k = b` gives `a < b`: its
//!    own writes take effect in program order (the last is the one it leaves). Used for
//!    `ok` and `info` txns (an `info` txn's values only matter if someone observed them).
//! 4. **Transitivity.** Edges are followed transitively (through versions no `ok`/`info`
//!    txn wrote, such as `nil`, failed or garbage values, too).
//!
//! Deliberately *not* inferred, because they are unsound for the weak models checked:
//! read-then-read (`r v1` then `r v2` gives `v1 < v2`) and write-then-read of a foreign
//! value (both can come from a stale or non-repeatable read, which read-committed allows),
//! process order and real-time order as version order (they assume sequential or
//! linearizable keys, which a totally available replicated store does not provide), and
//! cross-key constraints from one txn's reads (atomic visibility is not required by
//! read-committed).
//!
//! A cycle in a key's order is **cyclic-versions** (the order must be a total order); that
//! key then contributes no ww/rw edges (as in Elle), so a broken key cannot fabricate
//! further anomalies.
//!
//! # Dependency edges
//!
//! Vertices: `ok` and `info` txns (`fail` txns never happened and get no edges).
//! - **ww** `A -> B`: `A` wrote a version whose nearest later version(s) with a writer
//!   were written by `B`. Through intermediate writes this captures interleaved writes of
//!   one key (T1 writes, T2 writes, T1 writes again), which Jepsen's definition of G0
//!   counts as a write cycle and which Maelstrom cannot see (issue #56). Using the
//!   transitive order is sound: if `A`'s version precedes `B`'s, a chain of ww edges
//!   through the writers in between connects them, so every cycle found corresponds to a
//!   real cycle of the same class.
//! - **wr** `W -> T`: `ok` txn `T` read a value written by another txn `W`, by *any* read
//!   (Adya's read dependency covers every read) and whether the write was final or
//!   intermediate (the intermediate case is also reported as G1b). `W` may be `info`: a
//!   value that was read is evidence its writer took effect. Including `info` writers
//!   cannot fabricate a data-dependency cycle, even under read-uncommitted where the
//!   `info` txn might have aborted: every version-order edge into a version comes from the
//!   program order of the txn that wrote it (rules 2 and 3) or from the initial state, and
//!   an `info` txn's known program order holds only its own writes; its reads being unknown,
//!   it has no incoming wr or rw edge either. So it only adds findings that are real
//!   (G1b on its intermediate writes, real-time cycles through it).
//! - **rw** `T -> B`: `ok` txn `T` read `v` (not its own write) and `B` wrote a nearest
//!   later version.
//! - **rt** (strict-serializable only) `A -> B`: `ok` txn `A` completed before `B` was
//!   invoked; transitively reduced (a frontier sweep), so it stays linear in size.
//!
//! # Anomalies
//!
//! - **G0** ww-only cycle; **G1c** ww/wr cycle with a wr; **G-single** one rw;
//!   **G-nonadjacent** two or more rw, none consecutive; **G2-item** two or more rw, two
//!   consecutive; `-realtime` variants when an rt edge closes the cycle. Found by the
//!   shared search of module `cycles`, with a step free to play any kind its edge carries
//!   and every class with a cycle reported.
//! - **G1a** an `ok` txn read a value written by a `fail` txn (if it was that txn's
//!   intermediate write, also G1b, as Elle reports it).
//! - **G1b** an `ok` txn read another txn's non-final write of the key (`ok` or `info`
//!   writer: if that writer aborted, the read is G1a instead; both are prohibited by the
//!   same models).
//! - **internal** a read disagrees with the txn's own earlier write or read of the key
//!   (`nil` counts as a value: reading `nil` then `3` without writing is internal).
//! - **future-read** a txn read a value it writes only later (Elle: implies G1c).
//! - **garbage-read** an `ok` txn read a non-null value that no invocation ever wrote. No
//!   execution of the recorded txns can produce it, so every model prohibits it.
//! - **cyclic-versions**, **duplicate-writes** (result unknown), **empty-transaction-graph**
//!   (no edge at all; reported, and as in Maelstrom it makes the result invalid).
//!
//! # Verdict
//!
//! As Maelstrom computes it: the reported types are the found types prohibited by any
//! requested model, plus `empty-transaction-graph`; the result is valid iff that list is
//! empty. read-uncommitted prohibits G0, cyclic-versions, garbage-read; read-committed adds
//! G1a, G1b, G1c, future-read; serializable adds G-single, G-nonadjacent, G2-item, internal;
//! strict-serializable adds the `-realtime` cycles. No requested model means Elle's
//! default, strict-serializable. `details` holds `anomaly_types`, `anomaly_examples` (up
//! to [`MAX_EXAMPLES`] examples per type, as Elle's `:anomalies` map), `anomalies` (every
//! anomaly found, in the report's shape: `kind`, `ops` (the txns), `text`, and `prohibited`
//! by a requested model or not), `anomaly_counts`, `other_anomaly_types` (found but not
//! prohibited), `not` / `also_not` (ruled-out supported models, weakest first), and counts
//! of txns and edges.

pub(crate) mod anomaly;
pub(crate) mod cycles;
pub(crate) mod graph;
mod infer;
pub(crate) mod model;
pub(crate) mod order;
pub(crate) mod parse;

#[cfg(test)]
mod crosscheck;
#[cfg(test)]
mod tests;

pub use anomaly::{Anomaly, AnomalyType};
pub use model::{ConsistencyModel, Model, ModelError};
pub use parse::ParseError;

use crate::checker::{CheckResult, Validity};
use crate::checkers::anomalies;
use crate::history::History;
use graph::{RT, RW, WR, WW};
use parse::Status;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// At most this many examples of each anomaly type go into `details.anomaly_examples`.
pub const MAX_EXAMPLES: usize = 8;

/// How this checker searches cycles: a step may play any kind its edge carries, and every
/// class with a cycle is reported (not only the most severe per component).
const SEARCH: cycles::Search = cycles::Search {
    labels: cycles::Labels::Any,
    skip_implied: false,
    budget: cycles::DEFAULT_BUDGET,
};

/// Parses Maelstrom's `--consistency-models` argument list: each element one model name.
pub fn parse_models<S: AsRef<str>>(names: &[S]) -> Result<Vec<ConsistencyModel>, ModelError> {
    names.iter().map(|n| n.as_ref().parse()).collect()
}

fn unknown(problem: String, details: Value) -> CheckResult {
    CheckResult {
        valid: Validity::Unknown,
        problems: vec![problem],
        details,
    }
}

/// Checks a txn-rw-register history against `models` (empty: strict-serializable).
///
/// Guarantees: `Invalid` iff some anomaly prohibited by a requested model, or an empty
/// dependency graph, was found; `Unknown` iff the history is malformed or writes a value
/// twice; `Valid` otherwise. Never panics on any history.
pub fn check(h: &History, models: &[ConsistencyModel]) -> CheckResult {
    let models: Vec<ConsistencyModel> = if models.is_empty() {
        vec![ConsistencyModel::StrictSerializable]
    } else {
        models.to_vec()
    };
    let txns = match parse::transactions(h) {
        Ok(t) => t,
        Err(e) => return unknown(e.to_string(), json!({"error": e.to_string()})),
    };
    let idx = infer::index_writes(&txns);
    if !idx.duplicates.is_empty() {
        return duplicate_writes(&idx.duplicates);
    }
    let realtime = models.contains(&ConsistencyModel::StrictSerializable);
    let inf = infer::infer(&txns, &idx, realtime);
    let mut found: Vec<Anomaly> = inf.anomalies.clone();
    let names: Vec<usize> = txns.iter().map(|t| t.name).collect();
    found.extend(cycles::find_cycles(&inf.edges, &names, &SEARCH));
    let g = &inf.edges.graph;
    if g.count(WW | WR | RW | RT) == 0 {
        found.push(Anomaly::empty_graph());
    }
    let count = |s: Status| txns.iter().filter(|t| t.status == s).count();
    let extra = json!({
        "models": models.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "txn_count": {"ok": count(Status::Ok), "info": count(Status::Info),
                      "fail": count(Status::Fail)},
        "edges": {"ww": g.count(WW), "wr": g.count(WR), "rw": g.count(RW),
                  "realtime": g.count(RT)},
        "version_edges": inf.version_edges,
    });
    verdict(&found, &models, extra)
}

/// The `unknown` result of a history that writes some value twice.
fn duplicate_writes(duplicates: &[Anomaly]) -> CheckResult {
    let examples: Vec<Value> = duplicates
        .iter()
        .take(MAX_EXAMPLES)
        .map(|a| a.detail.clone())
        .collect();
    let mut details = json!({"anomaly_types": ["duplicate-writes"],
                             "anomaly_examples": {"duplicate-writes": examples}});
    anomalies::attach(&mut details, report_shape(duplicates, |_| true));
    unknown(
        format!(
            "duplicate-writes: {} ({} found); writes must be unique per key",
            duplicates[0].description,
            duplicates.len()
        ),
        details,
    )
}

/// Whether `t` is reported: prohibited by one of `models`, or an empty graph.
fn reportable(models: &[ConsistencyModel], t: AnomalyType) -> bool {
    t == AnomalyType::EmptyTransactionGraph || models.iter().any(|m| m.prohibits(t))
}

/// Maelstrom's verdict and the details, from every anomaly found; `extra` (an object) is
/// merged into the details.
fn verdict(found: &[Anomaly], models: &[ConsistencyModel], extra: Value) -> CheckResult {
    let mut by_type: BTreeMap<&'static str, (AnomalyType, Vec<&Anomaly>)> = BTreeMap::new();
    for a in found {
        by_type
            .entry(a.kind.as_str())
            .or_insert((a.kind, Vec::new()))
            .1
            .push(a);
    }
    let mut anomaly_types = Vec::new();
    let mut other_types = Vec::new();
    let mut examples = Map::new();
    let mut counts = Map::new();
    let mut problems = Vec::new();
    for (name, (t, list)) in &by_type {
        counts.insert((*name).into(), json!(list.len()));
        if !reportable(models, *t) {
            other_types.push(*name);
            continue;
        }
        anomaly_types.push(*name);
        let ex: Vec<Value> = list
            .iter()
            .take(MAX_EXAMPLES)
            .map(|a| json!({"description": a.description, "txns": a.txns, "detail": a.detail}))
            .collect();
        examples.insert((*name).into(), Value::Array(ex));
        problems.push((
            *t,
            format!("{name}: {} ({} found)", list[0].description, list.len()),
        ));
    }
    // Most severe first: the anomaly type's declaration order.
    problems.sort_by_key(|(t, _)| *t);
    let problems: Vec<String> = problems.into_iter().map(|(_, p)| p).collect();
    let kinds: Vec<AnomalyType> = by_type.values().map(|(t, _)| *t).collect();
    let (not, also_not) = ruled_out(&kinds);
    let mut details = json!({
        "anomaly_types": anomaly_types,
        "anomaly_examples": examples,
        "anomaly_counts": counts,
        "other_anomaly_types": other_types,
        "not": not,
        "also_not": also_not,
    });
    if let (Value::Object(d), Value::Object(e)) = (&mut details, extra) {
        d.extend(e);
    }
    let valid = Validity::from_bool(anomaly_types.is_empty());
    anomalies::attach(&mut details, report_shape(found, |t| reportable(models, t)));
    CheckResult {
        valid,
        problems,
        details,
    }
}

/// The weakest supported model some found type rules out, and the other ruled-out
/// models, each list in [`ConsistencyModel::ALL`] order.
fn ruled_out(found: &[AnomalyType]) -> (Vec<&'static str>, Vec<&'static str>) {
    let impossible: Vec<ConsistencyModel> = ConsistencyModel::ALL
        .into_iter()
        .filter(|m| found.iter().any(|&t| m.prohibits(t)))
        .collect();
    match impossible.split_first() {
        Some((w, rest)) => (vec![w.as_str()], rest.iter().map(|m| m.as_str()).collect()),
        None => (Vec::new(), Vec::new()),
    }
}

/// The anomalies in the report's shape (`crate::checkers::anomalies`), with whether a
/// requested model prohibits each.
fn report_shape(found: &[Anomaly], prohibited: impl Fn(AnomalyType) -> bool) -> Vec<Value> {
    found
        .iter()
        .map(|a| {
            anomalies::anomaly(
                a.kind.as_str(),
                a.txns.iter().copied(),
                format!("{}: {}", a.kind, a.description),
                json!({"prohibited": prohibited(a.kind)}),
            )
        })
        .collect()
}
