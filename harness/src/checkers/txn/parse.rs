//! Turning a [`History`] into transactions the checker can reason about.
//!
//! Invariant of the output: every [`Txn`] has a valid micro-op list; an `ok` txn carries
//! the completion's micro-ops (reads with their observed values), every other txn carries
//! only the writes of its invocation (its reads are unknown and are dropped).

use crate::history::{History, OpType};
use serde_json::Value;

/// A register key.
pub type Key = i64;
/// A register value (writes are unique per key).
pub type Val = i64;

/// One micro-operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mop {
    /// A read of `key` that observed `value` (`None`: the key did not exist).
    Read {
        /// The key read.
        key: Key,
        /// What was observed.
        value: Option<Val>,
    },
    /// A write of `value` to `key`.
    Write {
        /// The key written.
        key: Key,
        /// The value written.
        value: Val,
    },
}

impl Mop {
    /// The key this micro-op touches.
    pub fn key(&self) -> Key {
        match *self {
            Mop::Read { key, .. } | Mop::Write { key, .. } => key,
        }
    }
}

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Committed: the completion was `ok`.
    Ok,
    /// Indeterminate: `info`, or the invocation never completed.
    Info,
    /// Definitely did not happen: `fail`.
    Fail,
}

/// One transaction of the history.
#[derive(Debug, Clone)]
pub struct Txn {
    /// The history index used to name it in reports: the completion's index, or the
    /// invocation's when it never completed.
    pub name: usize,
    /// How it ended.
    pub status: Status,
    /// History index of the invocation.
    pub invoke_index: usize,
    /// History index of the completion, if any.
    pub complete_index: Option<usize>,
    /// Micro-ops: the completion's for `ok`, the invocation's writes otherwise.
    pub mops: Vec<Mop>,
}

/// Why a history entry could not be read as a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The value is not an array of micro-ops.
    #[error("history entry {index}: txn value is not an array")]
    NotArray {
        /// History index of the entry.
        index: usize,
    },
    /// A micro-op is not `["r"|"w", int, int-or-null]`.
    #[error("history entry {index}: micro-op {position} is not [\"r\"|\"w\", key, value]")]
    BadMop {
        /// History index of the entry.
        index: usize,
        /// Position of the micro-op in the txn.
        position: usize,
    },
    /// A write carries no integer value.
    #[error("history entry {index}: write at micro-op {position} has no integer value")]
    BadWrite {
        /// History index of the entry.
        index: usize,
        /// Position of the micro-op in the txn.
        position: usize,
    },
}

fn parse_mops(index: usize, value: &Value, keep_reads: bool) -> Result<Vec<Mop>, ParseError> {
    let arr = value.as_array().ok_or(ParseError::NotArray { index })?;
    let mut out = Vec::with_capacity(arr.len());
    for (position, m) in arr.iter().enumerate() {
        let bad = ParseError::BadMop { index, position };
        let parts = m.as_array().ok_or(bad.clone())?;
        if parts.len() != 3 {
            return Err(bad);
        }
        let key = parts[1].as_i64().ok_or(bad.clone())?;
        match parts[0].as_str() {
            Some("r") => {
                if keep_reads {
                    let value = if parts[2].is_null() {
                        None
                    } else {
                        Some(parts[2].as_i64().ok_or(bad)?)
                    };
                    out.push(Mop::Read { key, value });
                }
            }
            Some("w") => {
                let value = parts[2]
                    .as_i64()
                    .ok_or(ParseError::BadWrite { index, position })?;
                out.push(Mop::Write { key, value });
            }
            _ => return Err(bad),
        }
    }
    Ok(out)
}

/// Every client `txn` operation of `h`, in invocation order. Other `f`s are ignored.
pub fn transactions(h: &History) -> Result<Vec<Txn>, ParseError> {
    let mut out = Vec::new();
    for (inv, done) in h.completed() {
        if inv.f != "txn" {
            continue;
        }
        let txn = match done {
            Some(c) if c.kind == OpType::Ok => Txn {
                name: c.index,
                status: Status::Ok,
                invoke_index: inv.index,
                complete_index: Some(c.index),
                mops: parse_mops(c.index, &c.value.json(), true)?,
            },
            Some(c) => Txn {
                name: c.index,
                status: if c.kind == OpType::Fail {
                    Status::Fail
                } else {
                    Status::Info
                },
                invoke_index: inv.index,
                complete_index: Some(c.index),
                mops: parse_mops(inv.index, &inv.value.json(), false)?,
            },
            None => Txn {
                name: inv.index,
                status: Status::Info,
                invoke_index: inv.index,
                complete_index: None,
                mops: parse_mops(inv.index, &inv.value.json(), false)?,
            },
        };
        out.push(txn);
    }
    Ok(out)
}
