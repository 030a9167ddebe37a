//! What each polled message says about its send: `G1a` (the send failed), `G1c-realtime`
//! (the send was invoked after the poll completed), phantom (nobody sent it).

use serde_json::json;

use super::index::Index;
use super::parse::KOp;
use super::Found;
use crate::checkers::value::ValueKey;
use crate::history::OpType;

/// A polled message no operation sent: a problem line and the history index of the poll.
pub(super) type Phantom = (String, usize);

/// Checks every polled message against its send; returns the phantom ones.
pub(super) fn check(ix: &Index, found: &mut Found) -> Vec<Phantom> {
    let mut phantoms = Vec::new();
    for k in ix.ops {
        for (key, ps) in &k.reads {
            for (o, v) in ps {
                if k.op.kind == OpType::Ok
                    && ix
                        .write_fail
                        .get(key.as_str())
                        .is_some_and(|s| s.contains(v))
                {
                    read_of_failed_send(ix, k, key, *o, v, found);
                }
                match ix.writer_of.get(&(key.as_str(), v)) {
                    None => phantoms.push((
                        format!(
                            "op {} polled key {key:?} message {v}, which no operation sent",
                            k.op.index
                        ),
                        k.op.index,
                    )),
                    Some(&w) => read_from_the_future(ix, k, &ix.ops[w], key, v, found),
                }
            }
        }
    }
    phantoms
}

/// `G1a`: ok poll `k` read message `v` (at offset `o`) of a failed send.
fn read_of_failed_send(
    ix: &Index,
    k: &KOp,
    key: &str,
    o: Option<i64>,
    v: &ValueKey,
    found: &mut Found,
) {
    let w = ix.writer(key, v);
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

/// `G1c-realtime` when ok poll `k` completed before `writer`, which sent `v`, was invoked.
fn read_from_the_future(
    ix: &Index,
    k: &KOp,
    writer: &KOp,
    key: &str,
    v: &ValueKey,
    found: &mut Found,
) {
    let wop = writer.op;
    if k.op.kind == OpType::Ok && !std::ptr::eq(wop, k.op) && k.op.index < ix.invoke_index(wop) {
        found.add(
            "G1c-realtime",
            format!(
                "G1c-realtime: poll {} (completed at op {}) read key {key:?} message {v}, sent by op {} invoked later (at op {})",
                ix.invoke_index(k.op), k.op.index, wop.index, ix.invoke_index(wop)
            ),
            json!({"key": key, "value": v.to_value(), "cycle": [wop.index, k.op.index]}),
        );
    }
}
