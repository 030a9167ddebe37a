//! The version order of each key, recovered from the reads, and the anomalies found on
//! the way: incompatible orders, duplicate elements, garbage elements.
//!
//! Lists only grow by appends, so every read of a key is a prefix of the key's final
//! order. The distinct non-empty reads of a key, sorted by length, must therefore each be
//! a prefix of the next; the first pair that is not is `incompatible-order` (Elle reports
//! one per key). The longest read (its distinct elements, in order) is the key's version
//! order; a key with no non-empty read and exactly one append has the order of that one
//! element (Elle's single-append rule).

use super::parse::{Elem, Key, Mop, Txn};
use crate::checkers::txn::anomaly::{Anomaly, AnomalyType};
use crate::checkers::txn::parse::Status;
use hashbrown::{HashMap, HashSet};
use serde_json::json;

/// Each key's version order and every element's position in it.
#[derive(Debug, Default)]
pub struct Versions {
    /// Key -> elements in the order they were appended.
    pub order: HashMap<Key, Vec<Elem>>,
    /// (key, element) -> position in `order[key]`.
    pub position: HashMap<(Key, Elem), u32>,
}

impl Versions {
    /// The element appended just before `e` on `key` (`None`: the initial state). An
    /// element no read observed came after every observed one.
    pub fn prev(&self, key: Key, e: Elem) -> Option<Elem> {
        let order = self.order.get(&key).map_or(&[][..], Vec::as_slice);
        match self.position.get(&(key, e)) {
            Some(&0) => None,
            Some(&i) => order.get(i as usize - 1).copied(),
            None => order.last().copied(),
        }
    }
}

/// Where a read happened: the txn (position in the txn list) and the list read.
type ReadAt<'a> = (usize, &'a [Elem]);

/// Recovers the version orders; reports incompatible orders, duplicate elements in a read,
/// and elements no txn ever appended to the key (garbage) into `found`.
pub fn recover(txns: &[Txn], found: &mut Vec<Anomaly>) -> Versions {
    let mut reads: HashMap<Key, Vec<ReadAt>> = HashMap::new();
    let mut appends: HashMap<Key, (Elem, usize)> = HashMap::new();
    let mut appended: HashSet<(Key, Elem)> = HashSet::new();
    for (t, txn) in txns.iter().enumerate() {
        for m in &txn.mops {
            match m {
                Mop::Read {
                    key,
                    value: Some(v),
                } if !v.is_empty() => reads.entry(*key).or_default().push((t, v)),
                Mop::Append { key, value } => {
                    appended.insert((*key, *value));
                    if txn.status != Status::Fail {
                        appends.entry(*key).or_insert((*value, 0)).1 += 1;
                    }
                }
                Mop::Read { .. } => {}
            }
        }
    }
    let mut keys: Vec<Key> = reads.keys().copied().collect();
    keys.sort_unstable();
    let mut out = Versions::default();
    for k in keys {
        let mut list = reads.remove(&k).unwrap_or_default();
        list.sort_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| a.1.cmp(b.1)));
        // Each distinct list is checked once; its problems are reported for every read.
        for group in list.chunk_by(|a, b| a.1 == b.1) {
            for a in read_problems(k, group[0].1, &appended) {
                found.extend(group.iter().map(|&(t, v)| a.of(txns[t].name, k, v)));
            }
        }
        list.dedup_by(|a, b| a.1 == b.1);
        if let Some(w) = list.windows(2).find(|w| !w[1].1.starts_with(w[0].1)) {
            found.push(incompatible(txns, k, w[0], w[1]));
        }
        let longest = list.last().map_or(&[][..], |r| r.1);
        let mut seen = HashSet::new();
        let order: Vec<Elem> = longest
            .iter()
            .copied()
            .filter(|e| seen.insert(*e))
            .collect();
        out.order.insert(k, order);
    }
    for (k, (e, n)) in appends {
        if n == 1 && !out.order.contains_key(&k) {
            out.order.insert(k, vec![e]);
        }
    }
    for (k, order) in &out.order {
        for (i, e) in order.iter().enumerate() {
            out.position.insert((*k, *e), i as u32);
        }
    }
    out
}

/// What is wrong with one list read of a key.
enum ReadProblem {
    /// These elements appear more than once.
    Duplicates(Vec<Elem>),
    /// This element was never appended to the key.
    Garbage(Elem),
}

impl ReadProblem {
    /// The anomaly of txn `name` having read `v` from key `k`.
    fn of(&self, name: usize, k: Key, v: &[Elem]) -> Anomaly {
        match self {
            ReadProblem::Duplicates(dups) => Anomaly {
                kind: AnomalyType::DuplicateElements,
                txns: vec![name],
                description: format!("T{name} read key {k} as {v:?}, which holds {dups:?} twice"),
                detail: json!({"key": k, "value": v, "duplicates": dups}),
            },
            ReadProblem::Garbage(e) => Anomaly {
                kind: AnomalyType::GarbageRead,
                txns: vec![name],
                description: format!(
                    "T{name} read key {k} as {v:?}, but no txn appended {e} to it"
                ),
                detail: json!({"key": k, "value": v, "element": e}),
            },
        }
    }
}

/// Duplicate and garbage elements of a list read of `k`.
fn read_problems(k: Key, v: &[Elem], appended: &HashSet<(Key, Elem)>) -> Vec<ReadProblem> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let dups: Vec<Elem> = v.iter().copied().filter(|e| !seen.insert(*e)).collect();
    if !dups.is_empty() {
        out.push(ReadProblem::Duplicates(dups));
    }
    if let Some(e) = v.iter().find(|e| !appended.contains(&(k, **e))) {
        out.push(ReadProblem::Garbage(*e));
    }
    out
}

fn incompatible(txns: &[Txn], k: Key, a: ReadAt, b: ReadAt) -> Anomaly {
    let (ta, tb) = (txns[a.0].name, txns[b.0].name);
    Anomaly {
        kind: AnomalyType::IncompatibleOrder,
        txns: vec![ta, tb],
        description: format!(
            "key {k} was read as {:?} by T{ta} and as {:?} by T{tb}; neither is a prefix of the other",
            a.1, b.1
        ),
        detail: json!({"key": k, "values": [a.1, b.1]}),
    }
}
