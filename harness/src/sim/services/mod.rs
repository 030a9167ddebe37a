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
mod tests;
