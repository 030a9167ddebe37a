//! Order across one process's ops: `poll-skip` / `nonmonotonic-poll` (a poll's first
//! message of a key against the previous poll's last) and `nonmonotonic-send` (a send
//! against the previous send to the key). An `assign` or `subscribe` forgets the keys it
//! does not name.

use std::collections::HashMap;

use serde_json::json;

use super::index::Index;
use super::parse::assign_keys;
use super::versions::Versions;
use super::{proc_num, Found};
use crate::history::{OpType, Process};

/// Per key, the position in `ops` of the process's last poll or send of it.
type Last<'a> = HashMap<&'a str, usize>;

/// Checks every process's polls and sends against its previous ones, processes in order.
pub(super) fn check(ix: &Index, versions: &Versions, found: &mut Found) {
    for list in ops_by_process(ix) {
        let mut last_reads = Last::new();
        let mut last_sends = Last::new();
        for n in list {
            let k = &ix.ops[n];
            match k.op.f.as_str() {
                "assign" | "subscribe" if !matches!(k.op.kind, OpType::Invoke | OpType::Fail) => {
                    let keep = assign_keys(&k.op.value.json()).unwrap_or_default();
                    last_reads.retain(|key, _| keep.contains(*key));
                    last_sends.retain(|key, _| keep.contains(*key));
                }
                "poll" | "txn" | "send" => {
                    if k.op.f != "send" {
                        poll_after_last(ix, versions, &mut last_reads, n, found);
                    }
                    if k.op.f != "poll" && matches!(k.op.kind, OpType::Ok | OpType::Info) {
                        send_after_last(ix, versions, &mut last_sends, n, found);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The positions in `ops` of each process's ops, in order, processes sorted.
fn ops_by_process(ix: &Index) -> Vec<Vec<usize>> {
    let mut by_proc: HashMap<Process, Vec<usize>> = HashMap::new();
    for (n, k) in ix.ops.iter().enumerate() {
        by_proc.entry(k.op.process).or_default().push(n);
    }
    let mut procs: Vec<_> = by_proc.into_iter().collect();
    procs.sort_by_key(|(p, _)| *p);
    procs.into_iter().map(|(_, list)| list).collect()
}

/// Compares poll `ops[n]`'s first message of each key with the process's previous ok
/// poll's last, then records `n` as the last poll of its keys when it is ok.
fn poll_after_last<'a>(
    ix: &Index<'a>,
    versions: &Versions,
    last_reads: &mut Last<'a>,
    n: usize,
    found: &mut Found,
) {
    let ops = ix.ops;
    let k = &ops[n];
    for (key, ps) in &k.reads {
        let Some(&prev) = last_reads.get(key.as_str()) else {
            continue;
        };
        let (Some(a), Some(b)) = (ops[prev].reads.get(key).and_then(|p| p.last()), ps.first())
        else {
            continue;
        };
        let d = versions.delta(key, &a.1, &b.1);
        if d > 1 {
            found.add(
                "poll-skip",
                format!(
                    "poll-skip: process {} polled key {key:?} up to {} at op {}, then resumed at {} at op {}, skipping {} messages",
                    proc_num(k.op.process), a.1, ops[prev].op.index, b.1, k.op.index, d - 1
                ),
                json!({"key": key, "delta": d, "skipped": versions.skipped(key, &a.1, &b.1),
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

/// Compares send `ops[n]`'s first message of each key with the process's previous send's
/// last, and records `n` as the last send of its keys.
fn send_after_last<'a>(
    ix: &Index<'a>,
    versions: &Versions,
    last_sends: &mut Last<'a>,
    n: usize,
    found: &mut Found,
) {
    let ops = ix.ops;
    let k = &ops[n];
    for (key, ws) in &k.writes {
        if let Some(&prev) = last_sends.get(key.as_str()) {
            if let (Some(a), Some(b)) =
                (ops[prev].writes.get(key).and_then(|w| w.last()), ws.first())
            {
                let d = versions.delta(key, &a.1, &b.1);
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
