//! Each key's log rebuilt from the history, and its version order: messages ranked by
//! dense position in offset order.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::index::Index;
use crate::checkers::value::ValueKey;
use crate::history::OpType;

/// A key's log: offset -> distinct messages seen there (first seen first).
pub(super) type Log = BTreeMap<i64, Vec<ValueKey>>;

/// Every key's log: from committed sends (see [`Index::committed`]) and from polls.
pub(super) fn logs<'a>(ix: &Index<'a>) -> BTreeMap<&'a str, Log> {
    let mut logs = BTreeMap::new();
    for k in ix.ops {
        if k.op.kind != OpType::Invoke && ix.committed(k) {
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
    logs
}

fn put<'b>(logs: &mut BTreeMap<&'b str, Log>, key: &'b str, o: Option<i64>, v: &ValueKey) {
    if let Some(o) = o {
        let vs = logs.entry(key).or_default().entry(o).or_default();
        if !vs.contains(v) {
            vs.push(v.clone());
        }
    }
}

/// The version order of one key.
#[derive(Default)]
struct Order {
    /// Dense index -> the offset's (first) message.
    by_index: Vec<ValueKey>,
    /// Message -> dense index (its last offset, as Jepsen's map does).
    by_value: HashMap<ValueKey, usize>,
}

/// The version orders of every key, and where each message first and last appears.
pub(super) struct Versions<'a> {
    orders: HashMap<&'a str, Order>,
    /// key -> message -> the dense index of its first offset.
    pub first_index: HashMap<&'a str, HashMap<&'a ValueKey, usize>>,
    /// key -> dense index -> the messages whose last offset it is, sorted.
    pub last_index_values: HashMap<&'a str, Vec<Vec<&'a ValueKey>>>,
}

impl<'a> Versions<'a> {
    /// The version orders of `logs`.
    pub fn of(logs: &'a BTreeMap<&'a str, Log>) -> Self {
        let mut versions = Versions {
            orders: HashMap::new(),
            first_index: HashMap::new(),
            last_index_values: HashMap::new(),
        };
        for (key, log) in logs {
            let mut ord = Order::default();
            let mut first: HashMap<&ValueKey, usize> = HashMap::new();
            let mut last: HashMap<&ValueKey, usize> = HashMap::new();
            for (i, vs) in log.values().enumerate() {
                ord.by_index.push(vs[0].clone());
                ord.by_value.insert(vs[0].clone(), i);
                for v in vs {
                    first.entry(v).or_insert(i);
                    last.insert(v, i);
                }
            }
            let mut lv: Vec<Vec<&ValueKey>> = vec![Vec::new(); log.len()];
            for (v, i) in &last {
                lv[*i].push(v);
            }
            for x in &mut lv {
                x.sort();
            }
            versions.orders.insert(key, ord);
            versions.first_index.insert(key, first);
            versions.last_index_values.insert(key, lv);
        }
        versions
    }

    fn index_of(&self, key: &str, v: &ValueKey) -> Option<usize> {
        self.orders
            .get(key)
            .and_then(|o| o.by_value.get(v).copied())
    }

    /// How many positions `b` comes after `a` in `key`'s order (1 when either is unknown).
    pub fn delta(&self, key: &str, a: &ValueKey, b: &ValueKey) -> i64 {
        match (self.index_of(key, a), self.index_of(key, b)) {
            (Some(i), Some(j)) => j as i64 - i as i64,
            _ => 1,
        }
    }

    /// The messages strictly between `a` and `b` in `key`'s order.
    pub fn skipped(&self, key: &str, a: &ValueKey, b: &ValueKey) -> Vec<Value> {
        match (
            self.index_of(key, a),
            self.index_of(key, b),
            self.orders.get(key),
        ) {
            (Some(i), Some(j), Some(o)) if j > i + 1 => o.by_index[i + 1..j]
                .iter()
                .map(ValueKey::to_value)
                .collect(),
            _ => vec![],
        }
    }
}
