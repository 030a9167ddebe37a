//! Maelstrom's built-in services, as coded in `src/maelstrom/service.clj` (reference 3):
//! `lin-kv`, `seq-kv`, `lww-kv` and `lin-tso`.
//!
//! A service sees one request at a time (Maelstrom runs one worker thread per service) and
//! answers with a body carrying `in_reply_to` = the request's `msg_id` (`null` when absent)
//! and no `msg_id` of its own. A request whose `type` the service does not know gets no
//! reply at all: the caller times out.
//!
//! Keys and values are arbitrary JSON values compared structurally, numbers by kind and
//! value: `1`, `1.0` and `"1"` are three different keys. A missing `key`, `value`, `from`
//! or `to` field reads as `null`, as Clojure's `nil` does.

use std::collections::HashMap;
use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

/// A built-in service.
pub trait Service: Send {
    /// The service's node id (`"lin-kv"`, `"seq-kv"`, `"lww-kv"`, `"lin-tso"`).
    fn name(&self) -> &'static str;

    /// The reply body (with `"in_reply_to"` = the request's `msg_id`, `null` if absent; no
    /// `msg_id`), or `None` when Maelstrom sends no reply (unknown or missing `type`, or a
    /// body that is not an object). Error bodies use codes 20 (key does not exist) and 22
    /// (precondition failed) with a `text`.
    fn handle(&mut self, src: &str, body: &Value, rng: &mut StdRng) -> Option<Value>;
}

/// All four services, fresh, in the order `lin-kv`, `seq-kv`, `lww-kv`, `lin-tso`.
pub fn all() -> Vec<Box<dyn Service>> {
    vec![
        Box::new(LinKv::new()),
        Box::new(SeqKv::new()),
        Box::new(LwwKv::new()),
        Box::new(LinTso::new()),
    ]
}

/// The names of [`all`], in the same order.
pub const NAMES: [&str; 4] = ["lin-kv", "seq-kv", "lww-kv", "lin-tso"];

/// A canonical text form of a JSON value, used as a map key: equal values (object key order
/// aside) give equal strings, and `1`, `1.0`, `"1"` give different ones.
fn canon(v: &Value) -> String {
    let mut out = String::new();
    canon_into(v, &mut out);
    out
}

fn canon_into(v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canon_into(x, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}:", Value::from(k.as_str()));
                if let Some(x) = map.get(k) {
                    canon_into(x, out);
                }
            }
            out.push('}');
        }
        // Writing into a String cannot fail; scalars display as compact JSON.
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

fn field(body: &Value, name: &str) -> Value {
    body.get(name).cloned().unwrap_or(Value::Null)
}

/// Clojure truthiness: everything but `nil` and `false`.
fn truthy(v: Option<&Value>) -> bool {
    !matches!(v, None | Some(Value::Null) | Some(Value::Bool(false)))
}

fn with_reply_to(mut reply: Value, request: &Value) -> Value {
    if let Value::Object(map) = &mut reply {
        map.insert("in_reply_to".into(), field(request, "msg_id"));
    }
    reply
}

fn key_missing() -> Value {
    json!({"type": "error", "code": 20, "text": "key does not exist"})
}

fn precondition_failed(current: &Value, from: &Value) -> Value {
    json!({
        "type": "error",
        "code": 22,
        "text": format!("current value {current} is not {from}"),
    })
}

/// One KV request.
enum KvOp {
    Read,
    Write(Value),
    Cas {
        from: Value,
        to: Value,
        create: bool,
    },
}

/// Parses a KV request: its key (canonical form and value) and operation. `None` for an
/// unknown type (no reply).
fn parse_kv(body: &Value) -> Option<(String, KvOp)> {
    let op = match body.get("type")?.as_str()? {
        "read" => KvOp::Read,
        "write" => KvOp::Write(field(body, "value")),
        "cas" => KvOp::Cas {
            from: field(body, "from"),
            to: field(body, "to"),
            create: truthy(body.get("create_if_not_exists")),
        },
        _ => return None,
    };
    Some((canon(&field(body, "key")), op))
}

/// Runs `op` against a key whose current value is `current`: the reply (without
/// `in_reply_to`) and the value the key is set to, if the request sets it (even to the
/// value it already has). `may_create` says whether `create_if_not_exists` is honoured.
fn eval(op: &KvOp, current: Option<&Value>, may_create: bool) -> (Value, Option<Value>) {
    match (op, current) {
        (KvOp::Read, Some(v)) => (json!({"type": "read_ok", "value": v}), None),
        (KvOp::Read, None) => (key_missing(), None),
        (KvOp::Write(v), _) => (json!({"type": "write_ok"}), Some(v.clone())),
        (KvOp::Cas { from, to, .. }, Some(cur)) => {
            if from == cur {
                (json!({"type": "cas_ok"}), Some(to.clone()))
            } else {
                (precondition_failed(cur, from), None)
            }
        }
        (KvOp::Cas { to, create, .. }, None) if *create && may_create => {
            (json!({"type": "cas_ok"}), Some(to.clone()))
        }
        (KvOp::Cas { .. }, None) => (key_missing(), None),
    }
}

/// `lin-kv`: one map, requests applied one at a time in arrival order; every operation sees
/// the latest state.
#[derive(Debug, Default)]
pub struct LinKv {
    map: HashMap<String, Value>,
}

impl LinKv {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Service for LinKv {
    fn name(&self) -> &'static str {
        "lin-kv"
    }

    fn handle(&mut self, _src: &str, body: &Value, _rng: &mut StdRng) -> Option<Value> {
        let (key, op) = parse_kv(body)?;
        let (reply, set) = eval(&op, self.map.get(&key), true);
        if let Some(v) = set {
            self.map.insert(key, v);
        }
        Some(with_reply_to(reply, body))
    }
}

/// `seq-kv`: sequentially consistent, exactly as Maelstrom codes it (reference 3.4, with
/// the index pick of the source).
///
/// The service keeps the [`SeqKv::STATES`] most recent map states, `last` (the index of the
/// newest; 0 is the empty map) and, per caller, the index `ci` of the last state it used
/// (default 0). For each request:
///
/// 1. pick `i = ci + uniform[0, last - ci)` when `ci < last`, else `i = ci` — the newest
///    state itself is never picked at random;
/// 2. run the request on state `i` (an index older than the retained states wraps modulo
///    their count onto one of them, as the ring buffer's `nth` does);
/// 3. if that leaves the state unchanged (reads, failed `cas`, a `write`/`cas` of the value
///    already there), answer with that result and set `ci = i`;
/// 4. otherwise run it on the newest state instead, append the outcome as state
///    `last + 1` (even if unchanged), set `ci = last + 1` and answer with that result.
///
/// So a caller's reads never go backwards, a caller sees its own effective writes, reads
/// alone only catch up to state `last - 1`, and a no-op `write`/`cas` can be acknowledged
/// from a stale state without touching the newest one.
///
/// Storage: per key, the versions (state index, value) still reachable, so each request
/// costs O(log versions) instead of copying a map per state.
#[derive(Debug, Default)]
pub struct SeqKv {
    last: u64,
    versions: HashMap<String, Vec<(u64, Value)>>,
    clients: HashMap<String, u64>,
    /// Test-only broken variant: always use the newest state.
    #[cfg(test)]
    newest_only: bool,
}

impl SeqKv {
    /// How many recent states are retained (Maelstrom's ring buffer size).
    pub const STATES: u64 = 32;

    /// A store holding only the empty state 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of the newest state.
    pub fn last_index(&self) -> u64 {
        self.last
    }

    /// The state index `caller` used last (0 if it never called).
    pub fn caller_index(&self, caller: &str) -> u64 {
        self.clients.get(caller).copied().unwrap_or(0)
    }

    /// The retained state that ring-buffer position `i` designates: `i` itself when it is
    /// retained, otherwise its wrap-around modulo the number retained.
    fn effective(&self, i: u64) -> u64 {
        let len = (self.last + 1).min(Self::STATES) as i64;
        let back = (self.last - i) as i64; // 0 = newest
        let pos = (len - 1 - back).rem_euclid(len); // 0 = oldest retained
        self.last - (len - 1 - pos) as u64
    }

    /// The key's value in state `g` (which must be retained).
    fn value_at(&self, key: &str, g: u64) -> Option<&Value> {
        let vs = self.versions.get(key)?;
        let n = vs.partition_point(|(idx, _)| *idx <= g);
        n.checked_sub(1).and_then(|k| vs.get(k)).map(|(_, v)| v)
    }

    /// Records `value` for `key` as of state `idx` (the newest) and forgets versions no
    /// retained state can see.
    fn set_newest(&mut self, key: String, idx: u64, value: Value) {
        let oldest_retained = idx.saturating_sub(Self::STATES - 1);
        let vs = self.versions.entry(key).or_default();
        vs.push((idx, value));
        // Keep the newest version at or below the oldest retained state, drop those before.
        let at_or_below = vs.partition_point(|(i, _)| *i <= oldest_retained);
        if at_or_below > 1 {
            vs.drain(..at_or_below - 1);
        }
    }

    fn set_caller(&mut self, caller: &str, idx: u64) {
        match self.clients.get_mut(caller) {
            Some(ci) => *ci = idx,
            None => {
                self.clients.insert(caller.to_owned(), idx);
            }
        }
    }
}

impl Service for SeqKv {
    fn name(&self) -> &'static str {
        "seq-kv"
    }

    fn handle(&mut self, src: &str, body: &Value, rng: &mut StdRng) -> Option<Value> {
        let (key, op) = parse_kv(body)?;
        let ci = self.caller_index(src);
        let mut i = if self.last > ci {
            ci + rng.random_range(0..self.last - ci)
        } else {
            ci
        };
        #[cfg(test)]
        if self.newest_only {
            i = self.last;
        }
        let current = self.value_at(&key, self.effective(i));
        let (reply, set) = eval(&op, current, true);
        let changes = set.as_ref().is_some_and(|v| current != Some(v));
        if !changes {
            self.set_caller(src, i);
            return Some(with_reply_to(reply, body));
        }
        i = self.last;
        let current = self.value_at(&key, i);
        let (reply, set) = eval(&op, current, true);
        let set = set.filter(|v| current != Some(v));
        self.last += 1;
        if let Some(v) = set {
            self.set_newest(key, self.last, v);
        }
        self.set_caller(src, self.last);
        Some(with_reply_to(reply, body))
    }
}

/// One `lww-kv` replica: a Lamport-style clock and `{ts, value}` per key.
#[derive(Debug, Default)]
struct LwwReplica {
    clock: u64,
    map: HashMap<String, (u64, Value)>,
}

/// `lww-kv`, the "intentionally pathological" store, as coded: two independent replicas;
/// each request goes to one of them uniformly at random. The code computes a merge of a
/// random pair but discards it, so the replicas never exchange state and can disagree
/// forever. `cas` never creates keys (`create_if_not_exists` is ignored).
#[derive(Debug, Default)]
pub struct LwwKv {
    replicas: [LwwReplica; 2],
}

impl LwwKv {
    /// Two empty replicas.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Service for LwwKv {
    fn name(&self) -> &'static str {
        "lww-kv"
    }

    fn handle(&mut self, _src: &str, body: &Value, rng: &mut StdRng) -> Option<Value> {
        let (key, op) = parse_kv(body)?;
        let replica = &mut self.replicas[rng.random_range(0..2)];
        let (reply, set) = eval(&op, replica.map.get(&key).map(|(_, v)| v), false);
        if let Some(v) = set {
            replica.map.insert(key, (replica.clock, v));
            replica.clock += 1;
        }
        Some(with_reply_to(reply, body))
    }
}

/// `lin-tso`: `{"type":"ts"}` → `{"type":"ts_ok","ts":N}` with N = 0, 1, 2, … in request
/// order.
#[derive(Debug, Default)]
pub struct LinTso {
    next: u64,
}

impl LinTso {
    /// An oracle whose next timestamp is 0.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Service for LinTso {
    fn name(&self) -> &'static str {
        "lin-tso"
    }

    fn handle(&mut self, _src: &str, body: &Value, _rng: &mut StdRng) -> Option<Value> {
        if body.get("type")?.as_str()? != "ts" {
            return None;
        }
        let ts = self.next;
        self.next += 1;
        Some(with_reply_to(json!({"type": "ts_ok", "ts": ts}), body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::{prop_assert, prop_assert_eq, proptest};
    use rand::SeedableRng;
    use serde_json::Map;

    fn rng(seed: u64) -> StdRng {
        StdRng::seed_from_u64(seed)
    }

    fn call(s: &mut dyn Service, src: &str, body: Value, r: &mut StdRng) -> Value {
        s.handle(src, &body, r).expect("a reply")
    }

    fn read_value(s: &mut dyn Service, src: &str, key: Value, r: &mut StdRng) -> Option<Value> {
        let reply = call(s, src, json!({"type": "read", "key": key}), r);
        match reply["type"].as_str() {
            Some("read_ok") => Some(reply["value"].clone()),
            _ => {
                assert_eq!(reply["code"], 20, "{reply}");
                None
            }
        }
    }

    #[test]
    fn replies_carry_in_reply_to_and_no_msg_id() {
        let mut r = rng(1);
        for mut s in all() {
            let req = if s.name() == "lin-tso" {
                json!({"type": "ts", "msg_id": 7})
            } else {
                json!({"type": "write", "key": "k", "value": 1, "msg_id": 7})
            };
            let reply = call(s.as_mut(), "n0", req, &mut r);
            assert_eq!(reply["in_reply_to"], 7, "{}", s.name());
            assert!(reply.get("msg_id").is_none());
            let req =
                json!({"type": if s.name() == "lin-tso" { "ts" } else { "read" }, "key": "k"});
            let reply = call(s.as_mut(), "n0", req, &mut r);
            assert_eq!(reply["in_reply_to"], Value::Null);
            assert!(reply
                .as_object()
                .is_some_and(|m| m.contains_key("in_reply_to")));
            // Unknown or missing types, and non-object bodies, get no reply.
            assert_eq!(
                s.handle("n0", &json!({"type": "delete", "msg_id": 1}), &mut r),
                None
            );
            assert_eq!(s.handle("n0", &json!({"msg_id": 1}), &mut r), None);
            assert_eq!(s.handle("n0", &json!({"type": 5}), &mut r), None);
            assert_eq!(s.handle("n0", &json!([1, 2]), &mut r), None);
        }
        let names: Vec<&str> = all().iter().map(|s| s.name()).collect();
        assert_eq!(names, NAMES);
    }

    #[test]
    fn lin_tso_counts_from_zero() {
        let mut r = rng(1);
        let mut t = LinTso::new();
        let ts: Vec<Value> = (0..4)
            .map(|i| call(&mut t, "n0", json!({"type": "ts", "msg_id": i}), &mut r)["ts"].clone())
            .collect();
        assert_eq!(ts, [json!(0), json!(1), json!(2), json!(3)]);
    }

    #[test]
    fn kv_semantics_and_json_equality() {
        let mut r = rng(1);
        for mut s in [
            Box::new(LinKv::new()) as Box<dyn Service>,
            Box::new(SeqKv::new()),
        ] {
            let s = s.as_mut();
            let name = s.name();
            assert_eq!(read_value(s, "n0", json!(1), &mut r), None, "{name}");
            call(
                s,
                "n0",
                json!({"type": "write", "key": 1, "value": [1, {"a": 2}]}),
                &mut r,
            );
            assert_eq!(
                read_value(s, "n0", json!(1), &mut r),
                Some(json!([1, {"a": 2}]))
            );
            // 1, 1.0 and "1" are different keys.
            assert_eq!(read_value(s, "n0", json!(1.0), &mut r), None, "{name}");
            assert_eq!(read_value(s, "n0", json!("1"), &mut r), None, "{name}");
            // Object keys compare by content, not order.
            call(
                s,
                "n0",
                json!({"type": "write", "key": {"x": 1, "y": 2}, "value": "o"}),
                &mut r,
            );
            let key: Value = serde_json::from_str(r#"{"y":2,"x":1}"#).expect("json");
            assert_eq!(read_value(s, "n0", key, &mut r), Some(json!("o")), "{name}");
            // cas compares values as JSON: 1 is not 1.0.
            call(
                s,
                "n0",
                json!({"type": "write", "key": "c", "value": 1}),
                &mut r,
            );
            let reply = call(
                s,
                "n0",
                json!({"type": "cas", "key": "c", "from": 1.0, "to": 2}),
                &mut r,
            );
            assert_eq!(reply["code"], 22, "{name}: {reply}");
            assert!(reply["text"]
                .as_str()
                .is_some_and(|t| t.contains("current value 1 is not 1.0")));
            let reply = call(
                s,
                "n0",
                json!({"type": "cas", "key": "c", "from": 1, "to": 2}),
                &mut r,
            );
            assert_eq!(reply["type"], "cas_ok");
            assert_eq!(read_value(s, "n0", json!("c"), &mut r), Some(json!(2)));
            // cas on a missing key: 20, unless create_if_not_exists (truthy) is given.
            let reply = call(
                s,
                "n0",
                json!({"type": "cas", "key": "new", "from": 0, "to": 5}),
                &mut r,
            );
            assert_eq!(reply["code"], 20);
            let reply = call(
                s,
                "n0",
                json!({"type": "cas", "key": "new", "from": 0, "to": 5, "create_if_not_exists": false}),
                &mut r,
            );
            assert_eq!(reply["code"], 20);
            let reply = call(
                s,
                "n0",
                json!({"type": "cas", "key": "new", "from": 0, "to": 5, "create_if_not_exists": true}),
                &mut r,
            );
            assert_eq!(reply["type"], "cas_ok", "{name}");
            assert_eq!(read_value(s, "n0", json!("new"), &mut r), Some(json!(5)));
        }
    }

    /// Applies random ops to lin-kv and to a plain map; every reply must match the map's:
    /// each operation sees the latest state.
    #[test]
    fn lin_kv_is_linearizable() {
        let mut r = rng(8);
        let mut kv = LinKv::new();
        let mut model: HashMap<i64, i64> = HashMap::new();
        for step in 0..3000 {
            let key = r.random_range(0..4i64);
            let (a, b) = (r.random_range(0..3i64), r.random_range(0..3i64));
            let src = ["n0", "n1", "n2"][step % 3];
            match r.random_range(0..3) {
                0 => {
                    let got = read_value(&mut kv, src, json!(key), &mut r);
                    assert_eq!(got, model.get(&key).map(|v| json!(v)));
                }
                1 => {
                    call(
                        &mut kv,
                        src,
                        json!({"type": "write", "key": key, "value": a}),
                        &mut r,
                    );
                    model.insert(key, a);
                }
                _ => {
                    let reply = call(
                        &mut kv,
                        src,
                        json!({"type": "cas", "key": key, "from": a, "to": b}),
                        &mut r,
                    );
                    match model.get(&key) {
                        Some(&cur) if cur == a => {
                            assert_eq!(reply["type"], "cas_ok");
                            model.insert(key, b);
                        }
                        Some(_) => assert_eq!(reply["code"], 22),
                        None => assert_eq!(reply["code"], 20),
                    }
                }
            }
        }
    }

    /// `c0` writes x = 0, 1, …, n-1: state s (1 ≤ s ≤ n) holds x = s - 1.
    fn prepared(n: i64, r: &mut StdRng) -> SeqKv {
        let mut kv = SeqKv::new();
        for v in 0..n {
            let reply = call(
                &mut kv,
                "c0",
                json!({"type": "write", "key": "x", "value": v}),
                r,
            );
            assert_eq!(reply["type"], "write_ok");
        }
        assert_eq!(kv.last_index(), n as u64);
        kv
    }

    /// Whether fresh callers reading x ever see something other than the newest value.
    fn stale_reads_happen(kv: &mut SeqKv, r: &mut StdRng) -> bool {
        let reads: std::collections::BTreeSet<String> = (0..64)
            .map(|i| format!("{:?}", read_value(kv, &format!("fresh-{i}"), json!("x"), r)))
            .collect();
        reads.len() > 1
    }

    #[test]
    fn seq_kv_stale_reads_happen() {
        let mut r = rng(3);
        let mut kv = prepared(8, &mut r);
        assert!(stale_reads_happen(&mut kv, &mut r));
    }

    #[test]
    fn broken_seq_kv_reading_the_newest_state_is_caught() {
        let mut r = rng(3);
        let mut kv = prepared(8, &mut r);
        kv.newest_only = true;
        assert!(
            !stale_reads_happen(&mut kv, &mut r),
            "the mutant must fail the staleness test"
        );
    }

    #[test]
    fn seq_kv_own_write_is_seen() {
        for seed in 0..8 {
            let mut r = rng(seed);
            let mut kv = prepared(8, &mut r);
            let me = format!("ensure-{seed}");
            call(
                &mut kv,
                &me,
                json!({"type": "write", "key": "ensure", "value": seed}),
                &mut r,
            );
            assert_eq!(read_value(&mut kv, &me, json!("x"), &mut r), Some(json!(7)));
            assert_eq!(
                read_value(&mut kv, &me, json!("ensure"), &mut r),
                Some(json!(seed))
            );
        }
    }

    #[test]
    fn seq_kv_reads_alone_converge_to_the_state_before_the_newest() {
        for seed in 0..8 {
            let mut r = rng(seed);
            let mut kv = prepared(8, &mut r);
            // The newest state (x = 7) is never picked at random, so a reader that only
            // reads converges to x = 6 and stays there.
            let mut converged_after = None;
            for trial in 1..=1000 {
                let v = read_value(&mut kv, "r", json!("x"), &mut r);
                assert_ne!(
                    v,
                    Some(json!(7)),
                    "seed {seed}: a read reached the newest state"
                );
                if v == Some(json!(6)) && converged_after.is_none() {
                    converged_after = Some(trial);
                }
            }
            assert!(
                converged_after.is_some_and(|t| t <= 160),
                "seed {seed}: {converged_after:?}"
            );
            assert_eq!(kv.caller_index("r"), 7);
            // One more state from someone else makes x = 7 reachable.
            call(
                &mut kv,
                "c0",
                json!({"type": "write", "key": "other", "value": 0}),
                &mut r,
            );
            let seen =
                (0..200).any(|_| read_value(&mut kv, "r", json!("x"), &mut r) == Some(json!(7)));
            assert!(seen, "seed {seed}");
        }
    }

    #[test]
    fn seq_kv_stale_no_op_cas_is_acknowledged_without_touching_the_newest_state() {
        let mut r = rng(5);
        let mut kv = SeqKv::new();
        call(
            &mut kv,
            "c0",
            json!({"type": "write", "key": "x", "value": 5}),
            &mut r,
        );
        call(
            &mut kv,
            "c0",
            json!({"type": "write", "key": "x", "value": 7}),
            &mut r,
        );
        let last = kv.last_index();
        let mut oks = 0;
        for i in 0..40 {
            let who = format!("late-{i}");
            let reply = call(
                &mut kv,
                &who,
                json!({"type": "cas", "key": "x", "from": 5, "to": 5}),
                &mut r,
            );
            match reply["type"].as_str() {
                Some("cas_ok") => oks += 1,
                _ => assert_eq!(reply["code"], 20, "{reply}"),
            }
            // A cas that would succeed on the newest state fails on every state a fresh
            // caller can pick (x absent or 5).
            let reply = call(
                &mut kv,
                &who,
                json!({"type": "cas", "key": "x", "from": 7, "to": 8}),
                &mut r,
            );
            assert_eq!(reply["type"], "error", "{reply}");
        }
        assert!(oks > 0);
        assert_eq!(
            kv.last_index(),
            last,
            "no-op and failed requests append nothing"
        );
        assert_eq!(
            read_value(&mut kv, "c0", json!("x"), &mut r),
            Some(json!(7))
        );
    }

    #[test]
    fn seq_kv_wraps_onto_retained_states() {
        let mut r = rng(6);
        // 40 writes: state s holds x = s - 1; the retained states are 9..=40 (x 8..=39).
        let mut kv = prepared(40, &mut r);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..400 {
            let v = read_value(&mut kv, &format!("old-{i}"), json!("x"), &mut r)
                .expect("every retained state has x");
            let v = v.as_i64().expect("integer");
            assert!((8..=39).contains(&v), "{v} is not in a retained state");
            seen.insert(v);
        }
        assert!(seen.len() > 10);
    }

    #[test]
    fn lww_kv_diverges_and_never_creates() {
        let mut r = rng(2);
        let mut kv = LwwKv::new();
        let mut writes = 0;
        // Write until each replica has been written at least once, with different values.
        for v in 0..50 {
            call(
                &mut kv,
                "n0",
                json!({"type": "write", "key": "k", "value": v}),
                &mut r,
            );
            writes += 1;
            if kv
                .replicas
                .iter()
                .all(|x| x.map.contains_key(&canon(&json!("k"))))
                && kv.replicas[0].map[&canon(&json!("k"))].1
                    != kv.replicas[1].map[&canon(&json!("k"))].1
            {
                break;
            }
        }
        assert!(writes < 50);
        let reads: std::collections::BTreeSet<String> = (0..200)
            .map(|_| format!("{:?}", read_value(&mut kv, "n0", json!("k"), &mut r)))
            .collect();
        assert_eq!(
            reads.len(),
            2,
            "two replicas, two answers forever: {reads:?}"
        );
        for _ in 0..20 {
            let reply = call(
                &mut kv,
                "n0",
                json!({"type": "cas", "key": "fresh", "from": 0, "to": 1, "create_if_not_exists": true}),
                &mut r,
            );
            assert_eq!(reply["code"], 20);
        }
    }

    proptest! {
        /// Random writes (of fresh, increasing values), cas and reads from three callers:
        /// what each caller observes never goes backwards, and after its own effective
        /// write it never observes an older value.
        #[test]
        fn seq_kv_is_monotonic_per_caller(seed: u64, ops in proptest::collection::vec((0usize..3, 0u8..3), 1..300)) {
            let mut r = rng(seed);
            let mut kv = SeqKv::new();
            let callers = ["n0", "n1", "n2"];
            let mut seen = [-1i64; 3];
            let mut next = 0i64;
            for (c, kind) in ops {
                let src = callers[c];
                let observed = match kind {
                    0 => read_value(&mut kv, src, json!("x"), &mut r).map(|v| v.as_i64().expect("int")),
                    1 => {
                        next += 1;
                        let reply = call(&mut kv, src, json!({"type": "write", "key": "x", "value": next}), &mut r);
                        prop_assert_eq!(&reply["type"], "write_ok");
                        Some(next)
                    }
                    _ => {
                        next += 1;
                        let from = seen[c].max(0);
                        let reply = call(&mut kv, src, json!({"type": "cas", "key": "x", "from": from, "to": next, "create_if_not_exists": true}), &mut r);
                        (reply["type"] == "cas_ok").then_some(next)
                    }
                };
                if let Some(v) = observed {
                    prop_assert!(v >= seen[c], "{} saw {} after {}", src, v, seen[c]);
                    seen[c] = v;
                }
                prop_assert!(kv.caller_index(src) <= kv.last_index());
            }
        }

        #[test]
        fn services_never_panic(body in proptest::collection::vec((0usize..6, -2i64..3), 0..6), seed: u64) {
            let names = ["type", "key", "value", "from", "to", "create_if_not_exists"];
            let types = ["read", "write", "cas", "ts", "bogus"];
            let mut map = Map::new();
            for (k, v) in body {
                let value = if k == 0 { json!(types[v.unsigned_abs() as usize % types.len()]) } else { json!(v) };
                map.insert(names[k].into(), value);
            }
            let body = Value::Object(map);
            let mut r = rng(seed);
            for mut s in all() {
                if let Some(reply) = s.handle("n0", &body, &mut r) {
                    prop_assert!(reply.get("in_reply_to").is_some());
                }
            }
        }
    }
}
