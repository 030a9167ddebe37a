//! The txn-list-append workload (reference 7.10; Maelstrom's `txn_list_append.clj` over
//! Jepsen's `cycle/append.clj` and Elle's `list-append/gen`).
//!
//! - Generator: [`TxnGenerator::appending`], the txn-rw-register stream with appends for
//!   writes: lengths uniform in `1..=--max-txn-length`, each micro-op a read or an append
//!   with probability ½, keys from the [`super::txn::KeyPool`] (`--key-count` active keys,
//!   Elle's exponential choice, a key retired after `--max-writes-per-key` appends and
//!   replaced by a fresh one), appended elements `1, 2, …` per key, so unique per key. No
//!   final phase (Maelstrom 0.2 runs Jepsen 0.3.7, whose append test has none).
//! - [`AppendClient`]: one `txn` RPC per operation; reusable; no idempotent operation, so
//!   a definite error code (30 txn-conflict among them) completes `fail` and a timeout or
//!   an indefinite error `info`. A reply is checked against Maelstrom's schema only: `txn`
//!   an array of `["r", k, list-or-null]` and `["append", k, e]`. Like Maelstrom, the
//!   client does not compare the reply with the request: an `append` returned for an `r`
//!   (maelstrom#14) is recorded `ok` as it came, and the checker rejects it.

use std::time::Duration;

use serde_json::{json, Value};

use super::txn::{expect_reply, ReplyError, DEFAULT_RPC_TIMEOUT};
use super::{Client, Completion, OpSpec, Reply, Step};

pub use super::txn::{TxnGenerator, TxnOpts};

/// The txn-list-append client: one `txn` RPC per operation.
///
/// Invariants: an `ok` completion's value is the reply's `txn`, an array whose every
/// element is `["r", k, list-or-null]` or `["append", k, e]`; a definite error completes
/// `fail`; any other error, a timeout or a reply outside the schema completes `info`.
#[derive(Debug, Clone)]
pub struct AppendClient {
    timeout: Duration,
    in_flight: bool,
}

impl Default for AppendClient {
    fn default() -> Self {
        Self::new()
    }
}

impl AppendClient {
    /// A client with the default 5 s RPC timeout.
    pub fn new() -> Self {
        Self::with_timeout(DEFAULT_RPC_TIMEOUT)
    }

    /// A client with this RPC timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        AppendClient {
            timeout,
            in_flight: false,
        }
    }
}

/// Maelstrom's reply schema of a txn: `[(either ReadRes Append)]`.
fn fits_schema(txn: &Value) -> Result<(), String> {
    let mops = txn
        .as_array()
        .ok_or_else(|| format!("txn is not an array: {txn}"))?;
    for (i, m) in mops.iter().enumerate() {
        let ok = match m.as_array().map(Vec::as_slice) {
            Some([f, _, v]) if f == "r" => v.is_array() || v.is_null(),
            Some([f, _, _]) => f == "append",
            _ => false,
        };
        if !ok {
            return Err(format!(
                "micro-op {i} is neither [\"r\", k, list] nor [\"append\", k, e]: {m}"
            ));
        }
    }
    Ok(())
}

impl Client for AppendClient {
    fn start(&mut self, op: &OpSpec) -> Step {
        if !op.value.is_array() {
            return Step::Done(Completion::Fail(format!("not a transaction: {}", op.value)));
        }
        self.in_flight = true;
        Step::Call {
            body: json!({"type": "txn", "txn": op.value}),
            timeout: self.timeout,
        }
    }

    fn on_reply(&mut self, reply: Reply) -> Step {
        if !std::mem::replace(&mut self.in_flight, false) {
            return Step::Done(Completion::Info(
                "indeterminate: reply with no transaction in flight".to_string(),
            ));
        }
        let result = expect_reply(&reply, "txn_ok", &["txn"]).and_then(|obj| {
            let txn = &obj["txn"];
            fits_schema(txn)
                .map(|()| txn.clone())
                .map_err(|why| ReplyError::Malformed {
                    expected: "txn_ok",
                    why,
                })
        });
        Step::Done(match result {
            Ok(txn) => Completion::Ok(txn),
            Err(e) => e.completion(false),
        })
    }

    fn reusable(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Generator, Next, Phase};
    use glomers_node::Time;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::collections::HashSet;

    fn call(c: &mut AppendClient, txn: Value) {
        let step = c.start(&OpSpec {
            f: "txn".into(),
            value: txn.clone(),
        });
        assert_eq!(
            step,
            Step::Call {
                body: json!({"type": "txn", "txn": txn}),
                timeout: DEFAULT_RPC_TIMEOUT
            }
        );
    }

    fn reply(txn: Value) -> Reply {
        Reply::Body(json!({"type": "txn_ok", "in_reply_to": 1, "txn": txn}))
    }

    #[test]
    fn generator_appends_unique_elements() {
        let mut g = TxnGenerator::appending(TxnOpts::default());
        let mut rng = StdRng::seed_from_u64(3);
        let mut seen = HashSet::new();
        let (mut reads, mut appends) = (0, 0);
        for _ in 0..2000 {
            let Next::Op(op) = g.next(Phase::Main, 0, Time::ZERO, &mut rng) else {
                panic!("the main phase always has an op");
            };
            let mops = op.value.as_array().cloned().unwrap_or_default();
            assert!((1..=4).contains(&mops.len()));
            for m in mops {
                match m[0].as_str() {
                    Some("r") => reads += 1,
                    Some("append") => {
                        appends += 1;
                        assert!(seen.insert((m[1].clone(), m[2].clone())), "{m}");
                    }
                    other => panic!("unexpected f {other:?}"),
                }
            }
        }
        assert!(reads > 1500 && appends > 1500, "{reads} {appends}");
        assert!(!g.has_final_phase());
    }

    #[test]
    fn replies_in_schema_are_ok_as_they_came() {
        let req = json!([["r", 1, null], ["append", 1, 6]]);
        for txn in [
            json!([["r", 1, [1, 2]], ["append", 1, 6]]),
            json!([["r", 1, null], ["append", 1, 6]]),
            // Answers another request: recorded as it came; the checker rejects it.
            json!([["append", 1, 3], ["append", 1, 6]]),
        ] {
            let mut c = AppendClient::new();
            call(&mut c, req.clone());
            assert_eq!(
                c.on_reply(reply(txn.clone())),
                Step::Done(Completion::Ok(txn))
            );
            assert!(c.reusable());
        }
    }

    #[test]
    fn replies_outside_the_schema_are_info() {
        let req = json!([["r", 1, null]]);
        for body in [
            json!({"type": "txn_ok", "in_reply_to": 1, "txn": [["r", 1, 3]]}),
            json!({"type": "txn_ok", "in_reply_to": 1, "txn": [["w", 1, 3]]}),
            json!({"type": "txn_ok", "in_reply_to": 1, "txn": [["r", 1]]}),
            json!({"type": "txn_ok", "in_reply_to": 1, "txn": {"r": 1}}),
            json!({"type": "txn_ok", "in_reply_to": 1}),
            json!({"type": "txn_ok", "in_reply_to": 1, "txn": [], "extra": 1}),
        ] {
            let mut c = AppendClient::new();
            call(&mut c, req.clone());
            match c.on_reply(Reply::Body(body.clone())) {
                Step::Done(Completion::Info(e)) => assert!(e.contains("malformed"), "{e}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn conflicts_fail_and_timeouts_are_indeterminate() {
        let cases = [
            (
                Reply::Body(json!({"type": "error", "in_reply_to": 1, "code": 30, "text": "c"})),
                Completion::Fail("[txn-conflict \"c\"]".into()),
            ),
            (
                Reply::Body(json!({"type": "error", "in_reply_to": 1, "code": 13})),
                Completion::Info("[crash]".into()),
            ),
            (Reply::Timeout, Completion::Info("net-timeout".into())),
        ];
        for (r, want) in cases {
            let mut c = AppendClient::new();
            call(&mut c, json!([["append", 1, 1]]));
            assert_eq!(c.on_reply(r), Step::Done(want));
        }
    }
}
