//! Anomalies seen without cycle search (Elle's definitions):
//!
//! - **G1a** an `ok` read holds an element appended by a `fail` txn;
//! - **G1b** an `ok` read ends with an element another txn appended to the key before
//!   appending to it again (an intermediate state);
//! - **internal** a read disagrees with the txn's own earlier reads and appends of the key
//!   (after an append with no earlier read, the read must end with what the txn appended);
//! - **future-read** a txn read an element it appends only later;
//! - **dirty-update** along a key's version order, a committed append follows an aborted
//!   one (indeterminate appends in between are passed over);
//! - **lost-update** two or more `ok` txns read the same state of a key and then appended
//!   to it.

use super::parse::{Elem, Key, Mop, Txn};
use super::versions::Versions;
use crate::checkers::txn::anomaly::{Anomaly, AnomalyType};
use crate::checkers::txn::parse::Status;
use hashbrown::{HashMap, HashSet};
use serde_json::json;
use std::collections::BTreeMap;

/// Where each element was appended: (key, element) -> txn position, over every txn.
pub type Writers = HashMap<(Key, Elem), usize>;

/// Every direct anomaly of `txns` into `found`.
pub fn find(txns: &[Txn], writers: &Writers, versions: &Versions, found: &mut Vec<Anomaly>) {
    aborted_and_intermediate_reads(txns, writers, found);
    let mut expect = HashMap::new();
    let mut read = HashMap::new();
    for t in txns.iter().filter(|t| t.status == Status::Ok) {
        found.extend(internal(t, &mut expect));
        found.extend(future_read(t, &mut read));
    }
    dirty_updates(txns, writers, versions, found);
    lost_updates(txns, found);
}

/// The (key, element) pairs some txn appended and then appended to the key again.
fn intermediates(txns: &[Txn]) -> HashSet<(Key, Elem)> {
    let mut out = HashSet::new();
    let mut last: HashMap<Key, Elem> = HashMap::new();
    for t in txns {
        last.clear();
        for m in &t.mops {
            if let Mop::Append { key, value } = *m {
                if let Some(prev) = last.insert(key, value) {
                    out.insert((key, prev));
                }
            }
        }
    }
    out
}

fn aborted_and_intermediate_reads(txns: &[Txn], writers: &Writers, found: &mut Vec<Anomaly>) {
    let intermediate = intermediates(txns);
    // Only reads of keys a failed txn appended to can be aborted reads.
    let failed_keys: HashSet<Key> = txns
        .iter()
        .filter(|t| t.status == Status::Fail)
        .flat_map(|t| t.mops.iter().map(Mop::key))
        .collect();
    for (r, t) in txns.iter().enumerate() {
        if t.status != Status::Ok {
            continue;
        }
        for m in &t.mops {
            let Mop::Read {
                key,
                value: Some(v),
            } = m
            else {
                continue;
            };
            if failed_keys.contains(key) {
                aborted_reads(txns, writers, t, *key, v, found);
            }
            let Some(&last) = v.last() else { continue };
            if !intermediate.contains(&(*key, last)) {
                continue;
            }
            match writers.get(&(*key, last)) {
                Some(&w) if w != r => {
                    let (reader, writer) = (t.name, txns[w].name);
                    found.push(Anomaly {
                        kind: AnomalyType::G1b,
                        txns: vec![reader, writer],
                        description: format!(
                            "T{reader} read key {key} as {v:?}, an intermediate state: T{writer} appended to it again after {last}"
                        ),
                        detail: json!({"reader": reader, "writer": writer, "key": key, "element": last}),
                    });
                }
                _ => {}
            }
        }
    }
}

/// One G1a per element of `t`'s read `v` of `key` that a failed txn appended.
fn aborted_reads(
    txns: &[Txn],
    writers: &Writers,
    t: &Txn,
    key: Key,
    v: &[Elem],
    found: &mut Vec<Anomaly>,
) {
    for e in v {
        let Some(&w) = writers.get(&(key, *e)) else {
            continue;
        };
        if txns[w].status == Status::Fail {
            let (reader, writer) = (t.name, txns[w].name);
            found.push(Anomaly {
                kind: AnomalyType::G1a,
                txns: vec![reader, writer],
                description: format!(
                    "T{reader} read key {key} as {v:?}, holding {e}, appended by failed T{writer}"
                ),
                detail: json!({"reader": reader, "writer": writer, "key": key, "element": e}),
            });
        }
    }
}

/// What a txn expects to read of a key after its own micro-ops.
enum Expect {
    /// Exactly this list.
    Exactly(Vec<Elem>),
    /// Some unknown prefix, then these elements.
    EndsWith(Vec<Elem>),
}

/// The internal anomaly of `t`, if any; `state` is scratch space.
fn internal(t: &Txn, state: &mut HashMap<Key, Expect>) -> Option<Anomaly> {
    state.clear();
    for (pos, m) in t.mops.iter().enumerate() {
        match m {
            Mop::Append { key, value } => match state.get_mut(key) {
                Some(Expect::Exactly(s) | Expect::EndsWith(s)) => s.push(*value),
                None => {
                    state.insert(*key, Expect::EndsWith(vec![*value]));
                }
            },
            Mop::Read {
                key,
                value: Some(v),
            } => {
                let (bad, expected) = match state.get(key) {
                    Some(Expect::Exactly(s)) => (s != v, json!(s)),
                    Some(Expect::EndsWith(s)) => (
                        !v.ends_with(s),
                        json!(["..."]
                            .iter()
                            .map(|x| json!(x))
                            .chain(s.iter().map(|e| json!(e)))
                            .collect::<Vec<_>>()),
                    ),
                    None => (false, json!(null)),
                };
                if bad {
                    return Some(Anomaly {
                        kind: AnomalyType::Internal,
                        txns: vec![t.name],
                        description: format!(
                            "T{} read key {key} as {v:?} at micro-op {pos}, expected {expected}",
                            t.name
                        ),
                        detail: json!({"txn": t.name, "mop": pos, "key": key, "expected": expected, "observed": v}),
                    });
                }
                state.insert(*key, Expect::Exactly(v.clone()));
            }
            Mop::Read { .. } => {}
        }
    }
    None
}

/// The future read of `t`, if any; `read` is scratch space.
fn future_read(t: &Txn, read: &mut HashMap<(Key, Elem), usize>) -> Option<Anomaly> {
    read.clear();
    for (pos, m) in t.mops.iter().enumerate() {
        match m {
            Mop::Read {
                key,
                value: Some(v),
            } => {
                for e in v {
                    read.entry((*key, *e)).or_insert(pos);
                }
            }
            Mop::Append { key, value } => {
                if let Some(&r) = read.get(&(*key, *value)) {
                    return Some(Anomaly {
                        kind: AnomalyType::FutureRead,
                        txns: vec![t.name],
                        description: format!(
                            "T{} read {value} in key {key} at micro-op {r}, before appending it at {pos}",
                            t.name
                        ),
                        detail: json!({"txn": t.name, "key": key, "element": value, "mop": r, "append_mop": pos}),
                    });
                }
            }
            Mop::Read { .. } => {}
        }
    }
    None
}

fn dirty_updates(txns: &[Txn], writers: &Writers, versions: &Versions, found: &mut Vec<Anomaly>) {
    let mut keys: Vec<&Key> = versions.order.keys().collect();
    keys.sort_unstable();
    for k in keys {
        // The last writer that decides (None: the initial state, committed) and the
        // elements since it.
        let mut t1: Option<usize> = None;
        let mut span: Vec<Elem> = Vec::new();
        for &v in &versions.order[k] {
            let Some(&t2) = writers.get(&(*k, v)) else {
                continue;
            };
            let s1 = t1.map_or(Status::Ok, |t| txns[t].status);
            span.push(v);
            match (s1, txns[t2].status) {
                (Status::Fail, Status::Ok) => {
                    let (a, b) = (t1.map_or(0, |t| txns[t].name), txns[t2].name);
                    found.push(Anomaly {
                        kind: AnomalyType::DirtyUpdate,
                        txns: vec![a, b],
                        description: format!(
                            "key {k}: committed T{b} appended {v} on top of failed T{a}'s append (elements {span:?})"
                        ),
                        detail: json!({"key": k, "values": span, "txns": [a, b]}),
                    });
                    (t1, span) = (Some(t2), vec![v]);
                }
                (_, Status::Info) | (Status::Fail, Status::Fail) => {}
                _ => (t1, span) = (Some(t2), vec![v]),
            }
        }
    }
}

fn lost_updates(txns: &[Txn], found: &mut Vec<Anomaly>) {
    let mut groups: HashMap<(Key, &[Elem]), Vec<usize>> = HashMap::new();
    let mut reads: HashMap<Key, &Vec<Elem>> = HashMap::new();
    let mut wrote: HashSet<Key> = HashSet::new();
    for t in txns.iter().filter(|t| t.status == Status::Ok) {
        reads.clear();
        wrote.clear();
        for m in &t.mops {
            match m {
                Mop::Read {
                    key,
                    value: Some(v),
                } => {
                    reads.entry(*key).or_insert(v);
                }
                Mop::Append { key, .. } => {
                    if let Some(v) = reads.get(key) {
                        if wrote.insert(*key) {
                            groups.entry((*key, v.as_slice())).or_default().push(t.name);
                        }
                    }
                }
                Mop::Read { .. } => {}
            }
        }
    }
    let lost: BTreeMap<(Key, &[Elem]), Vec<usize>> =
        groups.into_iter().filter(|(_, n)| n.len() >= 2).collect();
    for ((k, v), names) in lost {
        {
            found.push(Anomaly {
                kind: AnomalyType::LostUpdate,
                description: format!(
                    "{} txns ({}) read key {k} as {v:?} and then appended to it",
                    names.len(),
                    names
                        .iter()
                        .map(|n| format!("T{n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                detail: json!({"key": k, "value": v, "txns": names}),
                txns: names,
            });
        }
    }
}
