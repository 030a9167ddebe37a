//! From a lin-kv history to one register history per key (P-compositionality: a history of
//! independent registers is linearizable exactly when each key's is).
//!
//! Per client operation (values as `crate::history` documents them for lin-kv):
//! - `fail`: dropped; it never took effect.
//! - `ok` read: a read of the value in the completion's `[k, v]`.
//! - `ok` write or cas: its invoke value.
//! - `info`, or invoked and never completed: a write or cas is kept as indeterminate (no
//!   completion); a read is dropped, as it constrains nothing.
//!
//! Anything else (an unknown `f`, a value that is not `[k, x]`, a cas value that is not
//! `[from, to]`, a read completing on another key) is an error: the checker cannot say
//! what such a history means, so its verdict is unknown.

use std::collections::HashMap;

use serde_json::Value;

use super::model::{Interner, RegF, RegOp};
use crate::history::{History, Op, OpType, Process};

/// One key's operations.
#[derive(Debug, Clone)]
pub struct KeyHistory {
    /// The key as it appears in the history.
    pub key: Value,
    /// The key's values.
    pub values: Interner,
    /// Its operations in invocation order.
    pub ops: Vec<RegOp>,
    /// For each operation, the history index that names it in reports: its completion's,
    /// or its invocation's when it never completed.
    pub names: Vec<usize>,
}

impl KeyHistory {
    fn new(key: Value) -> Self {
        KeyHistory {
            key,
            values: Interner::new(),
            ops: Vec::new(),
            names: Vec::new(),
        }
    }

    /// Indeterminate operations (no completion).
    pub fn indeterminate(&self) -> usize {
        self.ops.iter().filter(|o| o.ret.is_none()).count()
    }
}

/// Why a history cannot be read as a lin-kv history.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SplitError {
    /// An `f` other than `read`, `write` and `cas`.
    #[error("history entry {index}: unknown lin-kv function {f:?}")]
    UnknownF {
        /// The entry.
        index: usize,
        /// Its `f`.
        f: String,
    },
    /// A value of the wrong shape.
    #[error("history entry {index}: {why}: {value}")]
    BadValue {
        /// The entry.
        index: usize,
        /// What shape was expected.
        why: &'static str,
        /// The value found.
        value: Value,
    },
}

/// The `[key, value]` of an entry (the history may keep it compactly, so it is copied out).
fn pair(op: &Op) -> Result<(Value, Value), SplitError> {
    match op.value.json().as_array().map(Vec::as_slice) {
        Some([k, x]) => Ok((k.clone(), x.clone())),
        _ => Err(SplitError::BadValue {
            index: op.index,
            why: "not a [key, value] pair",
            value: op.value.clone().into_json(),
        }),
    }
}

/// What `inv` did, given how it completed; `None` when it is dropped.
fn reg_f(
    inv: &Op,
    done: Option<&Op>,
    values: &mut Interner,
) -> Result<Option<(RegF, Option<usize>)>, SplitError> {
    let kind = done.map_or(OpType::Info, |d| d.kind);
    let ok = match (kind, done) {
        (OpType::Fail, _) => return Ok(None),
        (OpType::Ok, Some(d)) => Some(d.index),
        _ => None,
    };
    let (key, x) = pair(inv)?;
    let f = match inv.f.as_str() {
        "read" => {
            let Some(done) = done.filter(|_| ok.is_some()) else {
                return Ok(None);
            };
            let (k, v) = pair(done)?;
            if k != key {
                return Err(SplitError::BadValue {
                    index: done.index,
                    why: "read completed on another key than it was invoked on",
                    value: done.value.clone().into_json(),
                });
            }
            RegF::Read(values.intern(&v))
        }
        "write" => RegF::Write(values.intern(&x)),
        "cas" => match x.as_array().map(Vec::as_slice) {
            Some([from, to]) => RegF::Cas(values.intern(from), values.intern(to)),
            _ => {
                return Err(SplitError::BadValue {
                    index: inv.index,
                    why: "cas value is not [from, to]",
                    value: inv.value.clone().into_json(),
                })
            }
        },
        f => {
            return Err(SplitError::UnknownF {
                index: inv.index,
                f: f.to_owned(),
            })
        }
    };
    Ok(Some((f, ok)))
}

/// Splits `h` into one register history per key, keys in order of first invocation.
pub fn split(h: &History) -> Result<Vec<KeyHistory>, SplitError> {
    let mut keys: Vec<KeyHistory> = Vec::new();
    let mut slot: HashMap<String, usize> = HashMap::new();
    for (inv, done) in h.completed() {
        let Process::Client(process) = inv.process else {
            continue;
        };
        let (key, _) = pair(inv)?;
        let k = *slot.entry(key.to_string()).or_insert_with(|| {
            keys.push(KeyHistory::new(key.clone()));
            keys.len() - 1
        });
        let kh = &mut keys[k];
        let Some((f, ret)) = reg_f(inv, done, &mut kh.values)? else {
            continue;
        };
        kh.ops.push(RegOp {
            f,
            call: inv.index,
            ret,
            process,
        });
        kh.names.push(done.map_or(inv.index, |d| d.index));
    }
    Ok(keys)
}
