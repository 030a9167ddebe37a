//! Reading kafka history entries: each client op's sends and polls, per key.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::checkers::value::ValueKey;
use crate::history::{History, Op, OpType};

/// One key's (offset, message) pairs, in the order the op lists them.
pub(super) type Pairs = Vec<(Option<i64>, ValueKey)>;

/// One client entry of the history, with its sends and polls parsed.
pub(super) struct KOp<'a> {
    pub op: &'a Op,
    /// key -> (offset, message) sent, in order.
    pub writes: BTreeMap<String, Pairs>,
    /// key -> (offset, message) polled, in order.
    pub reads: BTreeMap<String, Pairs>,
}

/// Every client entry of `h`, parsed; or the first malformed one's problem line.
pub(super) fn client_ops(h: &History) -> Result<Vec<KOp<'_>>, String> {
    h.ops
        .iter()
        .filter(|o| o.is_client())
        .map(|op| parse(op).map_err(|e| format!("op {}: malformed kafka value: {e}", op.index)))
        .collect()
}

fn key_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn offset_of(v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Null => Ok(None),
        v => match v.as_i64() {
            Some(o) if o >= 0 => Ok(Some(o)),
            _ => Err(format!("offset {v} is not a non-negative integer")),
        },
    }
}

fn parse<'a>(op: &'a Op) -> Result<KOp<'a>, String> {
    let mut k = KOp {
        op,
        writes: BTreeMap::new(),
        reads: BTreeMap::new(),
    };
    if !matches!(op.f.as_str(), "send" | "poll" | "txn") {
        return Ok(k);
    }
    let value = op.value.json();
    let Some(mops) = value.as_array() else {
        return Err("value is not an array of micro-operations".into());
    };
    for mop in mops {
        let Some(m) = mop.as_array() else {
            return Err(format!("micro-operation {mop} is not an array"));
        };
        match m.first().and_then(Value::as_str) {
            Some("send") if m.len() >= 3 => {
                let (off, msg) = sent(&m[2], op.kind)?;
                k.writes.entry(key_of(&m[1])).or_default().push((off, msg));
            }
            Some("poll") => {
                let Some(msgs) = m.get(1) else { continue };
                if op.kind == OpType::Ok {
                    polled(msgs, &mut k.reads)?;
                }
            }
            _ => return Err(format!("unknown micro-operation {mop}")),
        }
    }
    Ok(k)
}

/// A send micro-op's (offset, message). An ok send records `[offset, msg]`; an invocation
/// or a failed/indeterminate completion records the bare message.
fn sent(v: &Value, kind: OpType) -> Result<(Option<i64>, ValueKey), String> {
    match (v, kind) {
        (Value::Array(p), OpType::Ok) if p.len() == 2 => {
            Ok((offset_of(&p[0])?, ValueKey::of(&p[1])))
        }
        (v, OpType::Ok) => Err(format!("ok send holds {v}, not [offset, msg]")),
        (v, _) => Ok((None, ValueKey::of(v))),
    }
}

/// Adds an ok poll micro-op's result (`{key: [[offset, msg], ...]}`) to `reads`.
fn polled(msgs: &Value, reads: &mut BTreeMap<String, Pairs>) -> Result<(), String> {
    let Some(obj) = msgs.as_object() else {
        return Err(format!("poll result {msgs} is not a map"));
    };
    for (key, pairs) in obj {
        let Some(pairs) = pairs.as_array() else {
            return Err(format!("poll of key {key} holds {pairs}, not a list"));
        };
        let e = reads.entry(key.clone()).or_default();
        for p in pairs {
            match p.as_array() {
                Some(p) if p.len() == 2 => e.push((offset_of(&p[0])?, ValueKey::of(&p[1]))),
                _ => return Err(format!("poll entry {p} is not [offset, msg]")),
            }
        }
    }
    Ok(())
}

/// The keys an `assign` or `subscribe` names (a bare list, or `{"keys": [...]}`).
pub(super) fn assign_keys(v: &Value) -> Option<HashSet<String>> {
    let list = match v {
        Value::Array(a) => a,
        Value::Object(o) => o.get("keys")?.as_array()?,
        _ => return None,
    };
    Some(list.iter().map(key_of).collect())
}
