//! Turning a [`History`] into list-append transactions, and replies that do not answer
//! their request.
//!
//! Invariant of the output: an `ok` txn carries its completion's micro-ops, which match
//! its invocation's function, key and appended value position by position, with every
//! read an integer list or `null`; every other txn (`fail`, `info`, never completed, or
//! `ok` with a mismatched reply) carries its invocation's micro-ops with unknown reads.

use crate::checkers::txn::anomaly::{Anomaly, AnomalyType};
use crate::checkers::txn::parse::Status;
use crate::history::{History, OpType, Process};
use serde_json::{json, Value};

/// A list key.
pub type Key = i64;
/// An appended element (unique per key).
pub type Elem = i64;

/// One micro-operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mop {
    /// A read of `key`: the list observed (`null` read as empty), or `None` when unknown.
    Read {
        /// The key read.
        key: Key,
        /// What was observed.
        value: Option<Vec<Elem>>,
    },
    /// An append of `value` to `key`.
    Append {
        /// The key appended to.
        key: Key,
        /// The element appended.
        value: Elem,
    },
}

impl Mop {
    /// The key this micro-op touches.
    pub fn key(&self) -> Key {
        match *self {
            Mop::Read { key, .. } | Mop::Append { key, .. } => key,
        }
    }
}

/// One transaction of the history.
#[derive(Debug, Clone)]
pub struct Txn {
    /// The history index naming it in reports: the completion's, or the invocation's
    /// when it never completed.
    pub name: usize,
    /// How it ended (`ok` with a mismatched reply counts as indeterminate).
    pub status: Status,
    /// History index of the invocation.
    pub invoke_index: usize,
    /// History index of the completion, if any.
    pub complete_index: Option<usize>,
    /// Who issued it.
    pub process: Process,
    /// Micro-ops (see the module invariant).
    pub mops: Vec<Mop>,
}

/// Why a history entry could not be read as a list-append transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// An invocation's value is not an array of micro-ops.
    #[error("history entry {index}: txn value is not an array")]
    NotArray {
        /// History index of the entry.
        index: usize,
    },
    /// An invocation's micro-op is not `["r", int, _]` or `["append", int, int]`.
    #[error("history entry {index}: micro-op {position} is not [\"r\", key, _] or [\"append\", key, element] with integers")]
    BadMop {
        /// History index of the entry.
        index: usize,
        /// Position of the micro-op in the txn.
        position: usize,
    },
}

/// The transactions of a history, and the `ok` replies that did not answer their request.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Every client `txn` operation, in invocation order.
    pub txns: Vec<Txn>,
    /// One `reply-mismatch` anomaly per mismatched `ok` reply.
    pub mismatches: Vec<Anomaly>,
}

/// One requested micro-op: reads unknown, appends as requested.
fn request_mop(index: usize, position: usize, m: &Value) -> Result<Mop, ParseError> {
    let bad = ParseError::BadMop { index, position };
    let parts = m.as_array().filter(|p| p.len() == 3).ok_or(bad.clone())?;
    let key = parts[1].as_i64().ok_or(bad.clone())?;
    match parts[0].as_str() {
        Some("r") => Ok(Mop::Read { key, value: None }),
        Some("append") => Ok(Mop::Append {
            key,
            value: parts[2].as_i64().ok_or(bad)?,
        }),
        _ => Err(bad),
    }
}

/// An invocation's micro-ops.
fn request_mops(index: usize, value: &Value) -> Result<Vec<Mop>, ParseError> {
    let arr = value.as_array().ok_or(ParseError::NotArray { index })?;
    arr.iter()
        .enumerate()
        .map(|(position, m)| request_mop(index, position, m))
        .collect()
}

/// The completion's micro-ops if `reply` answers `request` (`Ok(Err(why))` if it does
/// not), in one pass over both; `Err` if the request itself is malformed.
fn reply_mops(
    index: usize,
    request: &Value,
    reply: &Value,
) -> Result<Result<Vec<Mop>, String>, ParseError> {
    let req = request.as_array().ok_or(ParseError::NotArray { index })?;
    let Some(arr) = reply.as_array() else {
        return Ok(Err(format!("the reply's txn {reply} is not an array")));
    };
    if arr.len() != req.len() {
        return Ok(Err(format!(
            "the reply has {} micro-ops, the request had {}",
            arr.len(),
            req.len()
        )));
    }
    let mut out = Vec::with_capacity(arr.len());
    for (i, (got, want)) in arr.iter().zip(req).enumerate() {
        let want = request_mop(index, i, want)?;
        let differs = || format!("micro-op {i} is {got}, the request had {}", show(&want));
        let Some(parts) = got.as_array().filter(|p| p.len() == 3) else {
            return Ok(Err(differs()));
        };
        let key_ok = parts[1].as_i64() == Some(want.key());
        match (parts[0].as_str(), &want) {
            (Some("append"), &Mop::Append { key, value })
                if key_ok && parts[2].as_i64() == Some(value) =>
            {
                out.push(Mop::Append { key, value });
            }
            (Some("r"), &Mop::Read { key, .. }) if key_ok => {
                let value = match &parts[2] {
                    Value::Null => Vec::new(),
                    Value::Array(xs) => {
                        let mut list = Vec::with_capacity(xs.len());
                        for x in xs {
                            match x.as_i64() {
                                Some(e) => list.push(e),
                                None => {
                                    return Ok(Err(format!(
                                        "micro-op {i} read {got}: not a list of integers"
                                    )))
                                }
                            }
                        }
                        list
                    }
                    _ => return Ok(Err(format!("micro-op {i} read {got}: not a list"))),
                };
                out.push(Mop::Read {
                    key,
                    value: Some(value),
                });
            }
            _ => return Ok(Err(differs())),
        }
    }
    Ok(Ok(out))
}

/// A micro-op as it was requested.
fn show(m: &Mop) -> Value {
    match m {
        Mop::Read { key, .. } => json!(["r", key, null]),
        Mop::Append { key, value } => json!(["append", key, value]),
    }
}

/// Every client `txn` operation of `h`, in invocation order. Other `f`s are ignored.
pub fn transactions(h: &History) -> Result<Parsed, ParseError> {
    let mut out = Parsed::default();
    for (inv, done) in h.completed() {
        if inv.f != "txn" {
            continue;
        }
        let mut txn = Txn {
            name: done.map_or(inv.index, |c| c.index),
            status: Status::Info,
            invoke_index: inv.index,
            complete_index: done.map(|c| c.index),
            process: inv.process,
            mops: Vec::new(),
        };
        match done {
            Some(c) if c.kind == OpType::Ok => {
                match reply_mops(inv.index, &inv.value.json(), &c.value.json())? {
                    Ok(mops) => {
                        txn.status = Status::Ok;
                        txn.mops = mops;
                    }
                    Err(why) => {
                        txn.mops = request_mops(inv.index, &inv.value.json())?;
                        out.mismatches.push(Anomaly {
                            kind: AnomalyType::ReplyMismatch,
                            txns: vec![txn.name],
                            description: format!("T{}: {why}", txn.name),
                            detail: json!({"invoke": inv.index, "complete": txn.name, "why": why}),
                        });
                    }
                }
            }
            Some(c) => {
                if c.kind == OpType::Fail {
                    txn.status = Status::Fail;
                }
                txn.mops = request_mops(inv.index, &inv.value.json())?;
            }
            None => txn.mops = request_mops(inv.index, &inv.value.json())?,
        }
        out.txns.push(txn);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::testkit::Hb;

    fn one(request: Value, reply: Value) -> Parsed {
        let mut b = Hb::new();
        b.invoke(0, "txn", request);
        b.ok(0, "txn", reply);
        transactions(&b.h).unwrap_or_default()
    }

    #[test]
    fn an_answering_reply_is_taken_as_is() {
        let p = one(
            json!([["r", 1, null], ["append", 1, 3], ["r", 2, null]]),
            json!([["r", 1, [1, 2]], ["append", 1, 3], ["r", 2, null]]),
        );
        assert!(p.mismatches.is_empty());
        assert_eq!(p.txns[0].status, Status::Ok);
        assert_eq!(
            p.txns[0].mops,
            vec![
                Mop::Read {
                    key: 1,
                    value: Some(vec![1, 2])
                },
                Mop::Append { key: 1, value: 3 },
                Mop::Read {
                    key: 2,
                    value: Some(vec![])
                },
            ]
        );
    }

    #[test]
    fn replies_that_do_not_answer_the_request_are_mismatches() {
        let req = json!([["r", 1, null], ["append", 2, 5]]);
        for reply in [
            json!([["append", 1, 7], ["append", 2, 5]]),
            json!([["r", 3, [1]], ["append", 2, 5]]),
            json!([["r", 1, [1]], ["append", 2, 6]]),
            json!([["r", 1, [1]]]),
            json!([["r", 1, "x"], ["append", 2, 5]]),
            json!([["r", 1, [1, "a"]], ["append", 2, 5]]),
            json!([["r", 1], ["append", 2, 5]]),
            json!({"txn": []}),
        ] {
            let p = one(req.clone(), reply.clone());
            assert_eq!(p.mismatches.len(), 1, "{reply}");
            assert_eq!(p.mismatches[0].kind, AnomalyType::ReplyMismatch);
            let t = &p.txns[0];
            assert_eq!(t.status, Status::Info, "{reply}");
            assert_eq!(t.mops[1], Mop::Append { key: 2, value: 5 });
            assert_eq!(
                t.mops[0],
                Mop::Read {
                    key: 1,
                    value: None
                }
            );
        }
    }

    #[test]
    fn malformed_requests_are_errors() {
        let mut b = Hb::new();
        b.invoke(0, "txn", json!([["w", 1, 1]]));
        assert_eq!(
            transactions(&b.h).err(),
            Some(ParseError::BadMop {
                index: 0,
                position: 0
            })
        );
    }
}
