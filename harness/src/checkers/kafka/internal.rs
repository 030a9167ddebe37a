//! Order inside one op: `int-poll-skip` / `int-nonmonotonic-poll` between consecutive
//! polled messages of a key, `int-send-skip` / `int-nonmonotonic-send` between consecutive
//! sends, and `precommitted-read` (an op reading its own message).

use serde_json::json;

use super::index::Index;
use super::versions::Versions;
use super::Found;
use crate::history::OpType;

/// Consecutive messages of one key inside one poll more than one position apart, or not
/// in order.
pub(super) fn poll_order(ix: &Index, versions: &Versions, found: &mut Found) {
    for k in ix.ops {
        for (key, ps) in &k.reads {
            for w in ps.windows(2) {
                let d = versions.delta(key, &w[0].1, &w[1].1);
                if d > 1 {
                    found.add(
                        "int-poll-skip",
                        format!("int-poll-skip: op {} polled key {key:?} {} then {}, skipping {} messages", k.op.index, w[0].1, w[1].1, d - 1),
                        json!({"key": key, "values": [w[0].1.to_value(), w[1].1.to_value()], "delta": d,
                               "skipped": versions.skipped(key, &w[0].1, &w[1].1), "op": k.op.index}),
                    );
                } else if d < 1 {
                    found.add(
                        "int-nonmonotonic-poll",
                        format!("int-nonmonotonic-poll: op {} polled key {key:?} {} then {} (position delta {d})", k.op.index, w[0].1, w[1].1),
                        json!({"key": key, "values": [w[0].1.to_value(), w[1].1.to_value()], "delta": d, "op": k.op.index}),
                    );
                }
            }
        }
    }
}

/// Ops that polled a message they sent themselves (the first such message per key).
pub(super) fn precommitted_reads(ix: &Index, found: &mut Found) {
    for k in ix.ops {
        for (key, ps) in &k.reads {
            let Some(ws) = k.writes.get(key) else {
                continue;
            };
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
}

/// Consecutive sends to one key inside one completed op landing more than one position
/// apart, or not in order.
pub(super) fn send_order(ix: &Index, versions: &Versions, found: &mut Found) {
    for k in ix.ops.iter().filter(|k| k.op.kind != OpType::Invoke) {
        for (key, ws) in &k.writes {
            for w in ws.windows(2) {
                let d = versions.delta(key, &w[0].1, &w[1].1);
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
