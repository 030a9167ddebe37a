//! The txn-rw-register workload (reference 7.9): transactions of reads and writes over
//! integer registers.
//!
//! - [`TxnGenerator`]: transactions of uniform length `1..=max_txn_length`, each micro-op a
//!   read or a write with probability ½, keys from a [`KeyPool`] (Elle's exponential key
//!   choice, keys retired after `max_writes_per_key` writes), write values unique per key.
//!   No final phase.
//! - [`TxnClient`]: one `txn` RPC per operation; reusable. The completion value is the
//!   reply's `txn`, after checking that it answers the request (same micro-ops, same keys,
//!   writes echoed); anything else is an indeterminate malformed reply.
//!
//! This module also holds the pieces the kafka workload shares: the key pool and the
//! error mapping of Maelstrom's `with-errors` (reference 2.6) for multi-RPC operations,
//! built on the closed reply schemas of `super::rpc` (reference 2.3).

use std::collections::HashMap;
use std::time::Duration;

use glomers_node::Time;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::rpc::{check_schema, error_name, error_of, FieldKind};
use super::{Client, Completion, Generator, Next, OpSpec, Phase, Reply, Step};

/// The RPC timeout Maelstrom's clients use for workload requests (5 s).
pub const DEFAULT_RPC_TIMEOUT: Duration = super::rpc::DEFAULT_TIMEOUT;

/// A pool of active keys with Elle's exponential key choice and key retirement.
///
/// Invariants: there are always exactly `key_count` (at least 1) distinct active keys;
/// slot `i` of the pool is chosen with probability `2^i / (2^n − 1)` (each later slot twice
/// as likely as the one before); [`KeyPool::write`] hands out the values `1, 2, …,
/// max_writes_per_key` for a key, in that order, each once, and after the last one the
/// key is replaced in its slot by a fresh key (one more than the largest key ever used), so
/// no key ever receives a value twice.
#[derive(Debug, Clone)]
pub struct KeyPool {
    active: Vec<u64>,
    written: HashMap<u64, u64>,
    max_writes_per_key: u64,
    next_fresh: u64,
}

impl KeyPool {
    /// A pool of keys `0..key_count` (`key_count` at least 1, `max_writes_per_key` at
    /// least 1; smaller values are raised to 1).
    pub fn new(key_count: usize, max_writes_per_key: u64) -> Self {
        let key_count = key_count.max(1);
        KeyPool {
            active: (0..key_count as u64).collect(),
            written: HashMap::new(),
            max_writes_per_key: max_writes_per_key.max(1),
            next_fresh: key_count as u64,
        }
    }

    /// The active keys, slot by slot.
    pub fn active(&self) -> &[u64] {
        &self.active
    }

    /// Picks an active key. Slot `n − 1 − j` is chosen where `j` is the number of heads
    /// before the first tail of fair coin flips, redrawn when `j ≥ n`: exactly the
    /// truncated distribution Elle's `rand-key` computes with logarithms, without its
    /// overflow for large pools.
    pub fn pick(&self, rng: &mut StdRng) -> u64 {
        let n = self.active.len();
        loop {
            let mut j = 0;
            while j < n && rng.random_bool(0.5) {
                j += 1;
            }
            if j < n {
                return self.active[n - 1 - j];
            }
        }
    }

    /// The next value to write to `key` (1 for its first write), retiring the key once it
    /// has had `max_writes_per_key` values. A key that is not active (already retired)
    /// gets no value.
    pub fn write(&mut self, key: u64) -> Option<u64> {
        let slot = self.active.iter().position(|&k| k == key)?;
        let count = self.written.entry(key).or_insert(0);
        *count += 1;
        let value = *count;
        if value >= self.max_writes_per_key {
            self.written.remove(&key);
            self.active[slot] = self.next_fresh;
            self.next_fresh += 1;
        }
        Some(value)
    }
}

/// Why a reply is not the expected `*_ok` body, in the client's terms.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplyError {
    /// No reply within the timeout.
    #[error("net-timeout")]
    Timeout,
    /// An `error` body: its code (13, crash, when it had no integer code) and optional
    /// text; shown as `[name "text"]`, or `[name]` without text, as `rpc::failure` does.
    #[error("[{}{}]", error_name(*code).0, text.as_deref().map(|t| format!(" {}", Value::String(t.to_string()))).unwrap_or_default())]
    Rpc {
        /// The error code.
        code: i64,
        /// The error text, when the body had a string one.
        text: Option<String>,
    },
    /// A body that does not fit the response schema.
    #[error("indeterminate: malformed {expected} reply: {why}")]
    Malformed {
        /// The reply type that was expected, e.g. `"poll_ok"`.
        expected: &'static str,
        /// What was wrong.
        why: String,
    },
}

impl ReplyError {
    /// The completion Maelstrom's `with-errors` records for this error: `fail` for a
    /// definite error code, or for any error or timeout of an idempotent operation;
    /// `info` otherwise, and always `info` for a malformed reply (Maelstrom raises it as an
    /// exception that `with-errors` does not catch).
    pub fn completion(&self, idempotent: bool) -> Completion {
        let text = self.to_string();
        match self {
            ReplyError::Timeout if idempotent => Completion::Fail(text),
            ReplyError::Rpc { code, .. } if idempotent || error_name(*code).1 => {
                Completion::Fail(text)
            }
            _ => Completion::Info(text),
        }
    }
}

/// Checks a reply against a closed response schema ([`check_schema`]: `type` equal to
/// `expected`, `in_reply_to` an integer, `msg_id` absent or an integer, exactly the
/// `fields`, all required, which the caller then validates further). An `error` body
/// becomes [`ReplyError::Rpc`] before any schema check.
///
/// Returns the body's object on success.
pub fn expect_reply<'a>(
    reply: &'a Reply,
    expected: &'static str,
    fields: &[&str],
) -> Result<&'a Map<String, Value>, ReplyError> {
    let body = match reply {
        Reply::Timeout => return Err(ReplyError::Timeout),
        Reply::Body(body) => body,
    };
    if let Some((code, text)) = error_of(body) {
        return Err(ReplyError::Rpc { code, text });
    }
    let fields: Vec<(&str, FieldKind)> = fields.iter().map(|f| (*f, FieldKind::Any)).collect();
    check_schema(body, expected, &fields).map_err(|why| ReplyError::Malformed { expected, why })
}

/// Options of the txn-rw-register generator (Maelstrom's `--key-count`,
/// `--max-txn-length`, `--max-writes-per-key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnOpts {
    /// Active keys at any time (default 10).
    pub key_count: usize,
    /// Longest transaction (default 4); lengths are uniform in `1..=max_txn_length`.
    pub max_txn_length: usize,
    /// Values written to one key before it is retired (default 16).
    pub max_writes_per_key: u64,
}

impl Default for TxnOpts {
    fn default() -> Self {
        TxnOpts {
            key_count: 10,
            max_txn_length: 4,
            max_writes_per_key: 16,
        }
    }
}

/// The txn operation stream: `txn` ops whose value is `[["r", k, null] | [W, k, v], ...]`,
/// `W` being `"w"` (txn-rw-register) or `"append"` (txn-list-append, Elle's
/// `append-txns`: the same transactions with writes turned into appends).
///
/// Invariants: every transaction has between 1 and `max_txn_length` micro-ops; a key is
/// written each of the values `1..=max_writes_per_key` at most once over the whole run,
/// so writes are unique per key; there is no final phase.
#[derive(Debug, Clone)]
pub struct TxnGenerator {
    opts: TxnOpts,
    pool: KeyPool,
    write_f: &'static str,
}

impl TxnGenerator {
    /// A txn-rw-register generator with these options (a `max_txn_length` of 0 is raised
    /// to 1).
    pub fn new(opts: TxnOpts) -> Self {
        let opts = TxnOpts {
            max_txn_length: opts.max_txn_length.max(1),
            ..opts
        };
        TxnGenerator {
            pool: KeyPool::new(opts.key_count, opts.max_writes_per_key),
            opts,
            write_f: "w",
        }
    }

    /// A txn-list-append generator: as [`TxnGenerator::new`], appends for writes.
    pub fn appending(opts: TxnOpts) -> Self {
        TxnGenerator {
            write_f: "append",
            ..Self::new(opts)
        }
    }

    /// One transaction.
    pub fn txn(&mut self, rng: &mut StdRng) -> Value {
        let len = rng.random_range(1..=self.opts.max_txn_length);
        let mops = (0..len)
            .map(|_| {
                let key = self.pool.pick(rng);
                if rng.random_bool(0.5) {
                    json!(["r", key, null])
                } else {
                    // `pick` only returns active keys, which always take a write.
                    match self.pool.write(key) {
                        Some(v) => json!([self.write_f, key, v]),
                        None => json!(["r", key, null]),
                    }
                }
            })
            .collect();
        Value::Array(mops)
    }
}

impl Generator for TxnGenerator {
    fn next(&mut self, phase: Phase, _thread: usize, _now: Time, rng: &mut StdRng) -> Next {
        match phase {
            Phase::Main => Next::Op(OpSpec {
                f: "txn".to_string(),
                value: self.txn(rng),
            }),
            Phase::Final => Next::Done,
        }
    }

    fn has_final_phase(&self) -> bool {
        false
    }
}

/// The txn-rw-register client: one `txn` RPC per operation.
///
/// Invariants: an `ok` completion's value is a transaction of the same length as the
/// request, whose micro-ops have the request's functions and keys, whose writes carry the
/// request's values, and whose every micro-op is a three-element array; a definite error
/// completes `fail`, any other error, a timeout or a malformed reply completes `info`.
#[derive(Debug, Clone)]
pub struct TxnClient {
    timeout: Duration,
    request: Option<Vec<Value>>,
}

impl Default for TxnClient {
    fn default() -> Self {
        Self::new()
    }
}

impl TxnClient {
    /// A client with the default 5 s RPC timeout.
    pub fn new() -> Self {
        Self::with_timeout(DEFAULT_RPC_TIMEOUT)
    }

    /// A client with this RPC timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        TxnClient {
            timeout,
            request: None,
        }
    }
}

/// Checks that `reply` answers `request` micro-op by micro-op.
fn check_txn_reply(request: &[Value], reply: &Value) -> Result<(), String> {
    let mops = reply
        .as_array()
        .ok_or_else(|| format!("txn is not an array: {reply}"))?;
    if mops.len() != request.len() {
        return Err(format!(
            "txn has {} micro-ops, the request had {}",
            mops.len(),
            request.len()
        ));
    }
    for (i, (got, want)) in mops.iter().zip(request).enumerate() {
        let got = got
            .as_array()
            .filter(|m| m.len() == 3)
            .ok_or_else(|| format!("micro-op {i} is not a 3-element array: {got}"))?;
        let want = want.as_array().map(Vec::as_slice).unwrap_or(&[]);
        if want.len() != 3 || got[0] != want[0] || got[1] != want[1] {
            return Err(format!(
                "micro-op {i} is {}, the request had {}",
                Value::Array(got.clone()),
                Value::Array(want.to_vec())
            ));
        }
        if want[0] == "w" && got[2] != want[2] {
            return Err(format!(
                "micro-op {i} writes {}, the request wrote {}",
                got[2], want[2]
            ));
        }
    }
    Ok(())
}

impl Client for TxnClient {
    fn start(&mut self, op: &OpSpec) -> Step {
        let Some(mops) = op.value.as_array() else {
            return Step::Done(Completion::Fail(format!("not a transaction: {}", op.value)));
        };
        self.request = Some(mops.clone());
        Step::Call {
            body: json!({"type": "txn", "txn": op.value}),
            timeout: self.timeout,
        }
    }

    fn on_reply(&mut self, reply: Reply) -> Step {
        let Some(request) = self.request.take() else {
            return Step::Done(Completion::Info(
                "indeterminate: reply with no transaction in flight".to_string(),
            ));
        };
        let result = expect_reply(&reply, "txn_ok", &["txn"]).and_then(|obj| {
            let txn = &obj["txn"];
            check_txn_reply(&request, txn)
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
    use rand::SeedableRng;
    use std::collections::{BTreeMap, HashSet};

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn pool_slot_frequencies_double() {
        let pool = KeyPool::new(4, 16);
        let mut rng = rng();
        let mut counts = BTreeMap::new();
        let n = 60_000;
        for _ in 0..n {
            *counts.entry(pool.pick(&mut rng)).or_insert(0u32) += 1;
        }
        // Expected shares 1/15, 2/15, 4/15, 8/15.
        for (slot, want) in [(0u64, 1.0), (1, 2.0), (2, 4.0), (3, 8.0)] {
            let got = f64::from(counts[&slot]) / f64::from(n) * 15.0;
            assert!(
                (got - want).abs() < want * 0.1,
                "slot {slot}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn pool_values_unique_and_keys_retired_at_limit() {
        let mut pool = KeyPool::new(3, 4);
        let mut rng = rng();
        let mut seen: HashSet<(u64, u64)> = HashSet::new();
        let mut per_key: HashMap<u64, u64> = HashMap::new();
        for _ in 0..500 {
            let k = pool.pick(&mut rng);
            let v = pool.write(k).expect("picked keys are active");
            assert!(seen.insert((k, v)), "value {v} written twice to {k}");
            let last = per_key.entry(k).or_insert(0);
            assert_eq!(v, *last + 1, "values of a key go 1, 2, ...");
            *last = v;
            assert!(v <= 4);
            if v == 4 {
                assert!(!pool.active().contains(&k), "key {k} retired at the limit");
            }
            let distinct: HashSet<_> = pool.active().iter().collect();
            assert_eq!(distinct.len(), 3);
        }
        assert!(per_key.len() > 3, "keys were replaced by fresh ones");
        let retired = (0..3)
            .find(|k| !pool.active().contains(k))
            .expect("a retired key");
        assert_eq!(
            pool.write(retired),
            None,
            "a retired key takes no more values"
        );
    }

    #[test]
    fn txn_generator_shape_and_mix() {
        let mut gen = TxnGenerator::new(TxnOpts::default());
        let mut rng = rng();
        let mut lengths = [0u32; 5];
        let (mut reads, mut writes) = (0u32, 0u32);
        let mut written: HashSet<(u64, u64)> = HashSet::new();
        for _ in 0..4000 {
            let Next::Op(op) = gen.next(Phase::Main, 0, Time::ZERO, &mut rng) else {
                panic!("main phase always has an op");
            };
            assert_eq!(op.f, "txn");
            let mops = op.value.as_array().expect("array");
            lengths[mops.len()] += 1;
            for m in mops {
                let m = m.as_array().expect("micro-op");
                assert_eq!(m.len(), 3);
                let k = m[1].as_u64().expect("integer key");
                match m[0].as_str() {
                    Some("r") => {
                        reads += 1;
                        assert!(m[2].is_null());
                    }
                    Some("w") => {
                        writes += 1;
                        let v = m[2].as_u64().expect("integer value");
                        assert!((1..=16).contains(&v));
                        assert!(written.insert((k, v)), "duplicate write {k}={v}");
                    }
                    other => panic!("unexpected f {other:?}"),
                }
            }
        }
        assert_eq!(lengths[0], 0);
        for (len, &count) in lengths.iter().enumerate().skip(1) {
            assert!((850..1150).contains(&count), "length {len}: {count}");
        }
        let share = f64::from(reads) / f64::from(reads + writes);
        assert!((0.45..0.55).contains(&share), "read share {share}");
        assert_eq!(gen.next(Phase::Final, 0, Time::ZERO, &mut rng), Next::Done);
        assert!(!gen.has_final_phase());
    }

    fn call(client: &mut TxnClient, txn: Value) -> Value {
        match client.start(&OpSpec {
            f: "txn".into(),
            value: txn,
        }) {
            Step::Call { body, timeout } => {
                assert_eq!(timeout, DEFAULT_RPC_TIMEOUT);
                body
            }
            other => panic!("expected a call, got {other:?}"),
        }
    }

    #[test]
    fn txn_client_ok_returns_reply_txn() {
        let mut c = TxnClient::new();
        let req = json!([["r", 1, null], ["w", 1, 6], ["w", 2, 9]]);
        let body = call(&mut c, req.clone());
        assert_eq!(body, json!({"type": "txn", "txn": req}));
        let done = c.on_reply(Reply::Body(json!({
            "type": "txn_ok", "in_reply_to": 1, "msg_id": 4,
            "txn": [["r", 1, 3], ["w", 1, 6], ["w", 2, 9]]
        })));
        assert_eq!(
            done,
            Step::Done(Completion::Ok(json!([
                ["r", 1, 3],
                ["w", 1, 6],
                ["w", 2, 9]
            ])))
        );
        assert!(c.reusable());
    }

    #[test]
    fn txn_client_malformed_replies_are_info() {
        let req = json!([["r", 1, null], ["w", 1, 6]]);
        let bad = [
            json!({"type": "txn_ok", "in_reply_to": 1, "txn": [["r", 1, 3]]}),
            json!({"type": "txn_ok", "in_reply_to": 1, "txn": [["r", 1, 3], ["w", 1, 7]]}),
            json!({"type": "txn_ok", "in_reply_to": 1, "txn": [["r", 2, 3], ["w", 1, 6]]}),
            json!({"type": "txn_ok", "in_reply_to": 1, "txn": [["w", 1, 3], ["w", 1, 6]]}),
            json!({"type": "txn_ok", "in_reply_to": 1, "txn": [["r", 1], ["w", 1, 6]]}),
            json!({"type": "txn_ok", "in_reply_to": 1, "txn": [["r", 1, 3], ["w", 1, 6]], "extra": 1}),
            json!({"type": "txn_ok", "txn": [["r", 1, 3], ["w", 1, 6]], "in_reply_to": 1.5}),
            json!({"type": "txn_ok", "in_reply_to": 1}),
            json!({"type": "read_ok", "in_reply_to": 1, "txn": [["r", 1, 3], ["w", 1, 6]]}),
            json!([1, 2]),
        ];
        for reply in bad {
            let mut c = TxnClient::new();
            call(&mut c, req.clone());
            match c.on_reply(Reply::Body(reply.clone())) {
                Step::Done(Completion::Info(e)) => {
                    assert!(e.contains("malformed"), "{reply}: {e}")
                }
                other => panic!("{reply}: expected info, got {other:?}"),
            }
        }
    }

    #[test]
    fn txn_client_error_mapping() {
        let req = json!([["w", 1, 6]]);
        let cases = [
            (
                json!({"type": "error", "code": 30, "text": "conflict"}),
                Completion::Fail("[txn-conflict \"conflict\"]".into()),
            ),
            (
                json!({"type": "error", "code": 11}),
                Completion::Fail("[temporarily-unavailable]".into()),
            ),
            (
                json!({"type": "error", "code": 14, "text": "x"}),
                Completion::Fail("[abort \"x\"]".into()),
            ),
            (
                json!({"type": "error", "code": 13, "text": "boom"}),
                Completion::Info("[crash \"boom\"]".into()),
            ),
            (
                json!({"type": "error", "code": 0, "text": "slow"}),
                Completion::Info("[timeout \"slow\"]".into()),
            ),
            (
                json!({"type": "error", "code": 1234}),
                Completion::Info("[unknown]".into()),
            ),
            (json!({"type": "error"}), Completion::Info("[crash]".into())),
        ];
        for (reply, want) in cases {
            let mut c = TxnClient::new();
            call(&mut c, req.clone());
            assert_eq!(
                c.on_reply(Reply::Body(reply.clone())),
                Step::Done(want),
                "{reply}"
            );
        }
        let mut c = TxnClient::new();
        call(&mut c, req);
        assert_eq!(
            c.on_reply(Reply::Timeout),
            Step::Done(Completion::Info("net-timeout".into()))
        );
    }

    #[test]
    fn definite_codes_match_the_table() {
        let definite: Vec<i64> = (-5..1100).filter(|&c| error_name(c).1).collect();
        assert_eq!(definite, vec![1, 10, 11, 12, 14, 20, 21, 22, 30]);
        assert_eq!(error_name(999).0, "unknown");
    }

    #[test]
    fn idempotent_errors_fail() {
        assert_eq!(
            ReplyError::Timeout.completion(true),
            Completion::Fail("net-timeout".into())
        );
        let crash = ReplyError::Rpc {
            code: 13,
            text: None,
        };
        assert!(matches!(crash.completion(true), Completion::Fail(_)));
        assert!(matches!(crash.completion(false), Completion::Info(_)));
        let malformed = ReplyError::Malformed {
            expected: "x_ok",
            why: "w".into(),
        };
        assert!(matches!(malformed.completion(true), Completion::Info(_)));
    }

    proptest::proptest! {
        /// Over any pool size, write limit and seed, a key never takes a value twice and
        /// values stay in `1..=max_writes_per_key`.
        #[test]
        fn pool_writes_unique(key_count in 1usize..20, max in 1u64..20, seed in 0u64..1000) {
            let mut pool = KeyPool::new(key_count, max);
            let mut rng = StdRng::seed_from_u64(seed);
            let mut seen = HashSet::new();
            for _ in 0..300 {
                let k = pool.pick(&mut rng);
                let v = pool.write(k).expect("picked keys are active");
                proptest::prop_assert!((1..=max).contains(&v));
                proptest::prop_assert!(seen.insert((k, v)));
                proptest::prop_assert_eq!(pool.active().len(), key_count);
            }
        }

        /// A reply is `ok` exactly when it echoes the request with reads filled in; any
        /// change to a function, key, written value or length makes it `info`.
        #[test]
        fn txn_reply_ok_iff_it_answers_the_request(
            mops in proptest::collection::vec((proptest::bool::ANY, 0u64..5, 1u64..9), 1..5),
            reads in proptest::collection::vec(proptest::option::of(0u64..9), 5),
            tamper in 0usize..5,
            which in 0usize..4,
        ) {
            let req: Vec<Value> = mops.iter().map(|&(r, k, v)| {
                if r { json!(["r", k, null]) } else { json!(["w", k, v]) }
            }).collect();
            let mut reply: Vec<Value> = req.iter().zip(&reads).map(|(m, read)| {
                if m[0] == "r" { json!(["r", m[1], read]) } else { m.clone() }
            }).collect();
            let tampered = tamper < reply.len();
            if tampered {
                match which {
                    0 => reply[tamper][1] = json!(99),
                    1 => reply[tamper][0] = json!(if reply[tamper][0] == "r" { "w" } else { "r" }),
                    2 => { reply.remove(tamper); }
                    _ => reply[tamper] = json!([reply[tamper][0], reply[tamper][1]]),
                }
            }
            let mut c = TxnClient::new();
            call(&mut c, Value::Array(req));
            let done = c.on_reply(Reply::Body(json!({
                "type": "txn_ok", "in_reply_to": 1, "txn": reply.clone()
            })));
            if tampered {
                proptest::prop_assert!(matches!(done, Step::Done(Completion::Info(_))), "{:?}", done);
            } else {
                proptest::prop_assert_eq!(done, Step::Done(Completion::Ok(Value::Array(reply))));
            }
        }
    }
}
