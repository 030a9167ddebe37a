//! Messages no ok poll returned: `lost-write` (committed, and at or below the highest
//! position read of its key) and `unseen` (acknowledged, never polled at all).

use std::collections::{BTreeMap, BTreeSet};

use glomers_node::Time;
use serde_json::json;

use super::index::Index;
use super::versions::Versions;
use super::Found;
use crate::checkers::value::ValueKey;
use crate::history::OpType;

/// Committed messages at or below the highest position an ok poll read of their key that
/// no ok poll returned.
pub(super) fn lost_writes(ix: &Index, versions: &Versions, found: &mut Found) {
    let mut read_keys: Vec<&&str> = ix.read_ok.keys().collect();
    read_keys.sort();
    for key in read_keys {
        let vs = &ix.read_ok[*key];
        let (Some(first), Some(lv)) = (
            versions.first_index.get(*key),
            versions.last_index_values.get(*key),
        ) else {
            continue;
        };
        let Some(bound) = vs.iter().filter_map(|v| first.get(*v).copied()).max() else {
            continue;
        };
        let max_read = lv[bound]
            .first()
            .and_then(|v| ix.readers_of.get(&(*key, *v)))
            .and_then(|r| r.first())
            .map(|&n| ix.ops[n].op.index);
        for v in lv[..=bound].iter().flatten() {
            if vs.contains(*v) {
                continue;
            }
            let Some(&w) = ix.writer_of.get(&(*key, *v)) else {
                continue;
            };
            if !ix.committed(&ix.ops[w]) {
                continue;
            }
            let fi = first.get(*v).copied();
            found.add(
                "lost-write",
                format!(
                    "lost-write: key {key:?} message {v} (sent by op {}, position {}) was never polled, though op {} polled up to position {bound}",
                    ix.ops[w].op.index,
                    fi.map_or("?".into(), |i| i.to_string()),
                    max_read.map_or("?".into(), |i| i.to_string())
                ),
                json!({"key": key, "value": v.to_value(), "index": fi, "max_read_index": bound,
                       "writer": ix.ops[w].op.index, "max_read": max_read}),
            );
        }
    }
}

/// Ok-sent messages never returned by an ok poll.
pub(super) struct Unseen<'a> {
    /// key -> the messages.
    pub msgs: BTreeMap<&'a str, BTreeSet<&'a ValueKey>>,
    /// The time of the last ok send or poll.
    pub time: Time,
}

impl<'a> Unseen<'a> {
    /// The unseen messages of the indexed history.
    pub fn of(ix: &Index<'a>) -> Self {
        let mut unseen = Unseen {
            msgs: BTreeMap::new(),
            time: Time::ZERO,
        };
        for k in ix.ops {
            if k.op.kind != OpType::Ok || !matches!(k.op.f.as_str(), "send" | "poll" | "txn") {
                continue;
            }
            unseen.time = k.op.time;
            for (key, ws) in &k.writes {
                for w in ws {
                    if !ix
                        .read_ok
                        .get(key.as_str())
                        .is_some_and(|s| s.contains(&w.1))
                    {
                        unseen.msgs.entry(key).or_default().insert(&w.1);
                    }
                }
            }
        }
        unseen
    }

    /// How many messages are unseen.
    pub fn total(&self) -> usize {
        self.msgs.values().map(BTreeSet::len).sum()
    }
}
