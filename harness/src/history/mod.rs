//! The operation history of one run, as Jepsen records it.
//!
//! Every client operation appears twice: an [`OpType::Invoke`] entry when a worker issues
//! it and a completion ([`OpType::Ok`], [`OpType::Fail`] or [`OpType::Info`]) when it ends.
//! Nemesis operations (partition start/stop) are recorded with [`Process::Nemesis`] and
//! type [`OpType::Info`]. Entries are stored in the order they happened; `index` is the
//! position in that order and `time` the nanoseconds since the start of the run.
//!
//! Values are kept as JSON so that any node's replies can be recorded as they were
//! received; arrays of integers (broadcast and g-set reads) are held compactly in memory
//! ([`OpValue`]) and written out as the same JSON. Per workload, `value` holds:
//!
//! | workload | `f` | invoke `value` | ok `value` |
//! |---|---|---|---|
//! | echo | `echo` | the string sent | the `echo` field received |
//! | unique-ids | `generate` | `null` | the `id` received |
//! | broadcast | `broadcast` | the integer broadcast | same |
//! | broadcast | `read` | `null` | the `messages` array |
//! | g-set | `add` | the integer added | same |
//! | g-set | `read` | `null` | the `value` array |
//! | g-counter, pn-counter | `add` | the delta | same |
//! | g-counter, pn-counter | `read` | `null` | the `value` integer |
//! | kafka | `send` | `[["send", key, msg]]` | `[["send", key, [offset, msg]]]` |
//! | kafka | `poll` | `[["poll"]]` | `[["poll", {key: [[offset, msg], ...]}]]` |
//! | kafka | `assign` | `{"keys": [key...], "seek_to_beginning": bool}` | same |
//! | kafka | `crash` | `null` | (completes `info`) |
//! | txn-rw-register | `txn` | `[["r", k, null], ["w", k, v], ...]` | the reply's `txn` |
//! | txn-list-append | `txn` | `[["r", k, null], ["append", k, e], ...]` | the reply's `txn` |
//! | lin-kv | `read` | `[k, null]` | `[k, v]`, `v` the `value` read (`null` included) |
//! | lin-kv | `write` | `[k, v]` | same |
//! | lin-kv | `cas` | `[k, [from, to]]` | same |
//!
//! A failed or indeterminate completion carries the invoke's value and an `error`.

pub mod int_runs;
pub mod op_value;
pub mod span;

use glomers_node::Time;
use serde::{Deserialize, Serialize};

pub use int_runs::IntRuns;
pub use op_value::OpValue;

/// Who issued an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Process {
    /// A client worker's process number (thread number, plus the concurrency after each
    /// indeterminate completion, as Jepsen does).
    Client(u64),
    /// The fault injector.
    Nemesis,
}

/// The type of a history entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpType {
    /// The operation was issued.
    Invoke,
    /// The operation succeeded.
    Ok,
    /// The operation definitely did not take place.
    Fail,
    /// The operation may or may not have taken place.
    Info,
}

/// One history entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the history, starting at 0.
    pub index: usize,
    /// When it happened, since the start of the run (serialized as integer nanoseconds).
    pub time: Time,
    /// Who issued it.
    pub process: Process,
    /// Invoke or completion.
    #[serde(rename = "type")]
    pub kind: OpType,
    /// The operation's function, e.g. `"read"`, `"send"`, `"start-partition"`.
    pub f: String,
    /// The operation's value; see the module documentation.
    pub value: OpValue,
    /// Final-phase operation (after heal and the quiet period).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_final: bool,
    /// Why a completion was `fail` or `info`, e.g. `"net-timeout"` or `"[crash \"...\"]"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The node a client operation was sent to (`"n0"`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl Op {
    /// Whether this is a client (not nemesis) entry.
    pub fn is_client(&self) -> bool {
        matches!(self.process, Process::Client(_))
    }

    /// A short reference to this entry for reports: index, time, process, type and `f`
    /// (without the value, which can be large). The time leaves as integer nanoseconds, as
    /// in `history.jsonl`.
    pub fn brief(&self) -> serde_json::Value {
        serde_json::json!({
            "index": self.index,
            "time": self.time,
            "process": self.process,
            "type": self.kind,
            "f": self.f,
        })
    }
}

impl OpType {
    /// The name Jepsen uses: `invoke`, `ok`, `fail` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }
}

/// A whole history, with helpers to pair invocations and completions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Entries in order; `ops[i].index == i`.
    pub ops: Vec<Op>,
}

impl History {
    /// Appends an entry, setting its `index`.
    pub fn push(&mut self, mut op: Op) -> usize {
        let index = self.ops.len();
        op.index = index;
        self.ops.push(op);
        index
    }

    /// For every invoke, the index of its completion (if any); for completions, the index
    /// of their invoke. Pairs by process: a process has at most one operation in flight.
    pub fn pairs(&self) -> Vec<Option<usize>> {
        let mut pair = vec![None; self.ops.len()];
        let mut open: std::collections::HashMap<Process, usize> = Default::default();
        for op in &self.ops {
            if !op.is_client() {
                continue;
            }
            match op.kind {
                OpType::Invoke => {
                    open.insert(op.process, op.index);
                }
                _ => {
                    if let Some(inv) = open.remove(&op.process) {
                        pair[inv] = Some(op.index);
                        pair[op.index] = Some(inv);
                    }
                }
            }
        }
        pair
    }

    /// Completed client operations as (invoke, completion) pairs, in invoke order.
    /// Invocations that never completed are returned with `None`.
    pub fn completed(&self) -> Vec<(&Op, Option<&Op>)> {
        let pairs = self.pairs();
        self.ops
            .iter()
            .filter(|op| op.is_client() && op.kind == OpType::Invoke)
            .map(|inv| (inv, pairs[inv.index].map(|c| &self.ops[c])))
            .collect()
    }

    /// The client operations as JSON lines with integer processes, the form other
    /// Jepsen-history tools read (the `adya` crate, which the txn checkers are
    /// cross-checked and benchmarked against).
    pub fn client_jsonl(&self) -> String {
        let mut text = String::new();
        for op in &self.ops {
            let Process::Client(p) = op.process else {
                continue;
            };
            let line = serde_json::json!({"type": op.kind.as_str(), "f": op.f, "process": p,
                              "value": op.value, "index": op.index, "time": op.time});
            text.push_str(&line.to_string());
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lines as `history.jsonl` holds them: the time an integer of nanoseconds.
    const LINES: [&str; 4] = [
        r#"{"index":0,"time":0,"process":{"client":0},"type":"invoke","f":"broadcast","value":7,"node":"n0"}"#,
        r#"{"index":1,"time":1234567891,"process":{"client":0},"type":"ok","f":"read","value":[1,2,3],"node":"n0"}"#,
        r#"{"index":2,"time":18446744073709551615,"process":"nemesis","type":"info","f":"start-partition","value":["isolated",{"n0":["n1"]}]}"#,
        r#"{"index":3,"time":20000000001,"process":{"client":5},"type":"info","f":"poll","value":[["poll"]],"is_final":true,"error":"net-timeout","node":"n1"}"#,
    ];

    #[test]
    fn a_history_line_round_trips_byte_for_byte() {
        for line in LINES {
            let op: Op = serde_json::from_str(line).expect("a history line");
            assert_eq!(serde_json::to_string(&op).expect("serializes"), line);
        }
        let op: Op = serde_json::from_str(LINES[1]).expect("a history line");
        assert_eq!(op.time, Time::from_nanos(1_234_567_891));
        assert_eq!(op.brief()["time"], serde_json::json!(1_234_567_891u64));
    }

    #[test]
    fn a_time_that_is_no_integer_of_nanoseconds_is_refused() {
        for time in ["-1", "1.5", "\"12\"", "null", "18446744073709551616"] {
            let line = LINES[0].replace(r#""time":0"#, &format!(r#""time":{time}"#));
            assert!(serde_json::from_str::<Op>(&line).is_err(), "{line}");
        }
    }

    proptest! {
        #[test]
        fn any_time_round_trips(ns: u64, index in 0usize..1_000_000) {
            let op = Op {
                index,
                time: Time::from_nanos(ns),
                process: Process::Client(3),
                kind: OpType::Ok,
                f: "add".into(),
                value: serde_json::json!(ns).into(),
                is_final: false,
                error: None,
                node: None,
            };
            let text = serde_json::to_string(&op).expect("serializes");
            let want = format!(
                r#"{{"index":{index},"time":{ns},"process":{{"client":3}},"type":"ok","f":"add","value":{ns}}}"#
            );
            prop_assert_eq!(&text, &want);
            let back: Op = serde_json::from_str(&text).expect("parses");
            prop_assert_eq!(back, op);
        }
    }
}
