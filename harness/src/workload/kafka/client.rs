//! [`KafkaClient`]: Maelstrom's kafka client for one worker thread.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::workload::txn::{expect_reply, ReplyError, DEFAULT_RPC_TIMEOUT};
use crate::workload::{Client, Completion, OpSpec, Reply, Step};

/// The RPC a [`KafkaClient`] is waiting on.
#[derive(Debug, Clone, PartialEq)]
enum InFlight {
    Idle,
    Assign { keys: Vec<String>, value: Value },
    Poll,
    Commit { msgs: Value },
    Send { key: String, msg: Value },
}

/// A malformed reply error for `expected`.
fn malformed(expected: &'static str, why: String) -> ReplyError {
    ReplyError::Malformed { expected, why }
}

/// An `offsets` map: string keys to integer offsets.
fn parse_offsets(
    expected: &'static str,
    value: &Value,
) -> Result<BTreeMap<String, i64>, ReplyError> {
    let obj = value
        .as_object()
        .ok_or_else(|| malformed(expected, format!("offsets is not an object: {value}")))?;
    obj.iter()
        .map(|(k, o)| {
            o.as_i64().map(|o| (k.clone(), o)).ok_or_else(|| {
                malformed(expected, format!("offset of {k:?} is not an integer: {o}"))
            })
        })
        .collect()
}

/// A `msgs` map: string keys to arrays of `[offset, msg]` pairs; returns the highest
/// offset per key (`None` for a key with no messages).
fn parse_msgs(value: &Value) -> Result<BTreeMap<String, Option<i64>>, ReplyError> {
    let bad = |why: String| malformed("poll_ok", why);
    let obj = value
        .as_object()
        .ok_or_else(|| bad(format!("msgs is not an object: {value}")))?;
    let mut out = BTreeMap::new();
    for (k, pairs) in obj {
        let pairs = pairs
            .as_array()
            .ok_or_else(|| bad(format!("msgs of {k:?} is not an array: {pairs}")))?;
        let mut highest = None;
        for pair in pairs {
            let offset = pair
                .as_array()
                .filter(|p| p.len() == 2)
                .and_then(|p| p[0].as_i64())
                .ok_or_else(|| bad(format!("{k:?} has a bad [offset, msg] pair: {pair}")))?;
            highest = highest.max(Some(offset));
        }
        out.insert(k.clone(), highest);
    }
    Ok(out)
}

/// Maelstrom's kafka client for one worker thread (not reusable: a crash or an `info`
/// completion replaces it, and with it its offsets).
///
/// Invariants: the local offsets only ever hold keys of the last `assign` plus keys some
/// poll returned; after an `ok` poll every key it returned messages for is at least one
/// past the highest offset returned; an operation sends at most two RPCs (`poll` then
/// `commit_offsets`), one at a time.
#[derive(Debug, Clone)]
pub struct KafkaClient {
    timeout: Duration,
    offsets: BTreeMap<String, i64>,
    in_flight: InFlight,
}

impl Default for KafkaClient {
    fn default() -> Self {
        Self::new()
    }
}

impl KafkaClient {
    /// A fresh client (no offsets) with the default 5 s RPC timeout.
    pub fn new() -> Self {
        Self::with_timeout(DEFAULT_RPC_TIMEOUT)
    }

    /// A fresh client with this RPC timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        KafkaClient {
            timeout,
            offsets: BTreeMap::new(),
            in_flight: InFlight::Idle,
        }
    }

    /// The next offset to poll per key.
    pub fn offsets(&self) -> &BTreeMap<String, i64> {
        &self.offsets
    }

    fn call(&mut self, in_flight: InFlight, body: Value) -> Step {
        self.in_flight = in_flight;
        Step::Call {
            body,
            timeout: self.timeout,
        }
    }

    fn offsets_json(offsets: &BTreeMap<String, i64>) -> Value {
        Value::Object(
            offsets
                .iter()
                .map(|(k, o)| (k.clone(), json!(o)))
                .collect::<Map<_, _>>(),
        )
    }

    fn start_assign(&mut self, value: &Value) -> Step {
        let keys: Option<Vec<String>> = value
            .get("keys")
            .and_then(Value::as_array)
            .and_then(|ks| ks.iter().map(|k| k.as_str().map(str::to_string)).collect());
        let seek = value.get("seek_to_beginning").and_then(Value::as_bool);
        let (Some(keys), Some(seek)) = (keys, seek) else {
            return Step::Done(Completion::Fail(format!("not an assign value: {value}")));
        };
        if seek {
            self.offsets = keys.into_iter().map(|k| (k, 0)).collect();
            return Step::Done(Completion::Ok(value.clone()));
        }
        let body = json!({"type": "list_committed_offsets", "keys": keys});
        self.call(
            InFlight::Assign {
                keys,
                value: value.clone(),
            },
            body,
        )
    }

    fn start_send(&mut self, value: &Value) -> Step {
        let mop = value
            .as_array()
            .filter(|v| v.len() == 1)
            .and_then(|v| v[0].as_array())
            .filter(|m| m.len() == 3 && m[0] == "send");
        let Some((key, msg)) = mop.and_then(|m| Some((m[1].as_str()?.to_string(), m[2].clone())))
        else {
            return Step::Done(Completion::Fail(format!("not a send value: {value}")));
        };
        let body = json!({"type": "send", "key": key, "msg": msg});
        self.call(InFlight::Send { key, msg }, body)
    }

    fn on_assign(
        &mut self,
        reply: &Reply,
        keys: Vec<String>,
        value: Value,
    ) -> Result<Step, ReplyError> {
        let obj = expect_reply(reply, "list_committed_offsets_ok", &["offsets"])?;
        let committed = parse_offsets("list_committed_offsets_ok", &obj["offsets"])?;
        self.offsets = keys
            .into_iter()
            .map(|k| {
                let o = self
                    .offsets
                    .get(&k)
                    .or_else(|| committed.get(&k))
                    .copied()
                    .unwrap_or(0);
                (k, o)
            })
            .collect();
        Ok(Step::Done(Completion::Ok(value)))
    }

    fn on_poll(&mut self, reply: &Reply) -> Result<Step, ReplyError> {
        let obj = expect_reply(reply, "poll_ok", &["msgs"])?;
        let msgs = obj["msgs"].clone();
        let highest = parse_msgs(&msgs)?;
        let mut commit = BTreeMap::new();
        for (k, h) in highest {
            let next = h.map_or(0, |h| h.saturating_add(1));
            let e = self.offsets.entry(k.clone()).or_insert(next);
            *e = (*e).max(next);
            if let Some(h) = h {
                commit.insert(k, h);
            }
        }
        if commit.is_empty() {
            return Ok(Step::Done(Completion::Ok(json!([["poll", msgs]]))));
        }
        let body = json!({"type": "commit_offsets", "offsets": Self::offsets_json(&commit)});
        Ok(self.call(InFlight::Commit { msgs }, body))
    }
}

impl Client for KafkaClient {
    fn start(&mut self, op: &OpSpec) -> Step {
        self.in_flight = InFlight::Idle;
        match op.f.as_str() {
            "assign" => self.start_assign(&op.value),
            "poll" => {
                let body = json!({"type": "poll", "offsets": Self::offsets_json(&self.offsets)});
                self.call(InFlight::Poll, body)
            }
            "send" => self.start_send(&op.value),
            "crash" => Step::Done(Completion::Info("crash".to_string())),
            other => Step::Done(Completion::Fail(format!("unknown kafka op {other:?}"))),
        }
    }

    fn on_reply(&mut self, reply: Reply) -> Step {
        let in_flight = std::mem::replace(&mut self.in_flight, InFlight::Idle);
        let idempotent = matches!(in_flight, InFlight::Assign { .. });
        let result = match in_flight {
            InFlight::Idle => {
                return Step::Done(Completion::Info(
                    "indeterminate: reply with no request in flight".to_string(),
                ))
            }
            InFlight::Assign { keys, value } => self.on_assign(&reply, keys, value),
            InFlight::Poll => self.on_poll(&reply),
            InFlight::Commit { msgs } => expect_reply(&reply, "commit_offsets_ok", &[])
                .map(|_| Step::Done(Completion::Ok(json!([["poll", msgs]])))),
            InFlight::Send { key, msg } => expect_reply(&reply, "send_ok", &["offset"])
                .and_then(|obj| {
                    obj["offset"].as_i64().ok_or_else(|| {
                        malformed(
                            "send_ok",
                            format!("offset is not an integer: {}", obj["offset"]),
                        )
                    })
                })
                .map(|offset| Step::Done(Completion::Ok(json!([["send", key, [offset, msg]]])))),
        };
        result.unwrap_or_else(|e| Step::Done(e.completion(idempotent)))
    }

    fn reusable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests;
