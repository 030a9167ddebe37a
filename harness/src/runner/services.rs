//! The built-in services `lin-kv`, `seq-kv`, `lww-kv`, `lin-tso` (reference 3), each a
//! network receiver with one worker: take the next deliverable message, handle it, reply
//! to its `src` with `in_reply_to` and no `msg_id`. Unknown request types get no reply.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::net::Net;

/// seq-kv keeps this many recent states.
pub const SEQ_STATES: usize = 32;

type State = Map<String, Value>;

/// A service's state machine.
pub enum Service {
    /// One linearizable map.
    LinKv(State),
    /// Ring of recent states, per-caller positions (reference 3.4).
    SeqKv {
        /// Recent states, oldest first; the last is the newest.
        states: VecDeque<State>,
        /// Index of the newest state.
        last: u64,
        /// Per caller, the index of the last state it used.
        seen: HashMap<String, u64>,
    },
    /// Two independent last-write-wins replicas (as coded, never merged).
    LwwKv([HashMap<String, (u64, Value)>; 2], [u64; 2]),
    /// Timestamp oracle.
    LinTso(u64),
}

fn key_of(body: &Value) -> String {
    body.get("key").cloned().unwrap_or(Value::Null).to_string()
}

fn err(code: i64, text: &str) -> Value {
    json!({"type": "error", "code": code, "text": text})
}

/// Applies a KV request to `st`; returns the reply and whether `st` changed.
fn kv_apply(st: &mut State, body: &Value, create_on_cas: bool) -> Option<(Value, bool)> {
    let k = key_of(body);
    match body.get("type")?.as_str()? {
        "read" => Some(match st.get(&k) {
            Some(v) => (json!({"type": "read_ok", "value": v}), false),
            None => (err(20, "key does not exist"), false),
        }),
        "write" => {
            let v = body.get("value").cloned().unwrap_or(Value::Null);
            let changed = st.get(&k) != Some(&v);
            st.insert(k, v);
            Some((json!({"type": "write_ok"}), changed))
        }
        "cas" => {
            let from = body.get("from").cloned().unwrap_or(Value::Null);
            let to = body.get("to").cloned().unwrap_or(Value::Null);
            let create = create_on_cas
                && body
                    .get("create_if_not_exists")
                    .is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)));
            Some(match st.get(&k) {
                None if create => {
                    st.insert(k, to);
                    (json!({"type": "cas_ok"}), true)
                }
                None => (err(20, "key does not exist"), false),
                Some(cur) if *cur == from => {
                    let changed = *cur != to;
                    st.insert(k, to);
                    (json!({"type": "cas_ok"}), changed)
                }
                Some(cur) => (
                    err(22, &format!("current value {cur} is not {from}")),
                    false,
                ),
            })
        }
        _ => None,
    }
}

impl Service {
    /// Handles one request from `src`; `None` for unknown types (no reply is sent).
    pub fn handle(&mut self, src: &str, body: &Value, rng: &mut StdRng) -> Option<Value> {
        let mut reply = match self {
            Service::LinKv(st) => kv_apply(st, body, true)?.0,
            Service::LinTso(n) => {
                if body.get("type")?.as_str()? != "ts" {
                    return None;
                }
                let ts = *n;
                *n += 1;
                json!({"type": "ts_ok", "ts": ts})
            }
            Service::SeqKv { states, last, seen } => {
                let ci = (*seen.get(src).unwrap_or(&0)).min(*last);
                let i = rng.random_range(ci..=*last);
                let len = states.len() as u64;
                let oldest = *last + 1 - len;
                let pos = if i >= oldest {
                    (i - oldest) as usize
                } else {
                    (i % len) as usize
                };
                let mut candidate = states[pos].clone();
                let (r, changed) = kv_apply(&mut candidate, body, true)?;
                if !changed {
                    seen.insert(src.to_owned(), i);
                    r
                } else {
                    let mut newest = states.back().cloned().unwrap_or_default();
                    let (r, _) = kv_apply(&mut newest, body, true)?;
                    states.push_back(newest);
                    if states.len() > SEQ_STATES {
                        states.pop_front();
                    }
                    *last += 1;
                    seen.insert(src.to_owned(), *last);
                    r
                }
            }
            Service::LwwKv(reps, clocks) => {
                let r = rng.random_range(0..2usize);
                let k = key_of(body);
                match body.get("type")?.as_str()? {
                    "read" => match reps[r].get(&k) {
                        Some((_, v)) => json!({"type": "read_ok", "value": v}),
                        None => err(20, "key does not exist"),
                    },
                    "write" => {
                        clocks[r] += 1;
                        reps[r].insert(
                            k,
                            (clocks[r], body.get("value").cloned().unwrap_or(Value::Null)),
                        );
                        json!({"type": "write_ok"})
                    }
                    "cas" => {
                        let from = body.get("from").cloned().unwrap_or(Value::Null);
                        let to = body.get("to").cloned().unwrap_or(Value::Null);
                        match reps[r].get(&k) {
                            None => err(20, "key does not exist"),
                            Some((_, cur)) if *cur == from => {
                                clocks[r] += 1;
                                reps[r].insert(k, (clocks[r], to));
                                json!({"type": "cas_ok"})
                            }
                            Some((_, cur)) => {
                                err(22, &format!("current value {cur} is not {from}"))
                            }
                        }
                    }
                    _ => return None,
                }
            }
        };
        if let Value::Object(o) = &mut reply {
            o.insert(
                "in_reply_to".into(),
                body.get("msg_id").cloned().unwrap_or(Value::Null),
            );
        }
        Some(reply)
    }
}

/// Registers the four services and starts one worker each.
pub fn start(net: &Arc<Net>, rng: StdRng) {
    let rng = Arc::new(Mutex::new(rng));
    let services = [
        ("lin-kv", Service::LinKv(State::new())),
        (
            "seq-kv",
            Service::SeqKv {
                states: VecDeque::from([State::new()]),
                last: 0,
                seen: HashMap::new(),
            },
        ),
        (
            "lww-kv",
            Service::LwwKv([HashMap::new(), HashMap::new()], [0, 0]),
        ),
        ("lin-tso", Service::LinTso(0)),
    ];
    for (name, mut svc) in services {
        net.register(name);
        let (net, rng) = (net.clone(), rng.clone());
        tokio::spawn(async move {
            while let Some(m) = net.next_delivery(name).await {
                let reply = {
                    let mut r = rng.lock().unwrap_or_else(|e| e.into_inner());
                    svc.handle(&m.src, &m.body, &mut r)
                };
                if let Some(reply) = reply {
                    let _ = net.send(name, &m.src, reply);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn lin_kv_cas_and_seq_kv_catch_up() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut lin = Service::LinKv(State::new());
        let r = lin.handle(
            "n0",
            &json!({"type":"cas","key":"a","from":0,"to":1,"msg_id":4,"create_if_not_exists":true}),
            &mut rng,
        );
        assert_eq!(r, Some(json!({"type":"cas_ok","in_reply_to":4})));
        let r = lin.handle(
            "n0",
            &json!({"type":"cas","key":"a","from":0,"to":2,"msg_id":5}),
            &mut rng,
        );
        assert_eq!(
            r.as_ref()
                .and_then(|v| v.get("code"))
                .and_then(Value::as_i64),
            Some(22)
        );
        assert_eq!(
            lin.handle("n0", &json!({"type":"nope","msg_id":6}), &mut rng),
            None
        );

        let mut seq = Service::SeqKv {
            states: VecDeque::from([State::new()]),
            last: 0,
            seen: HashMap::new(),
        };
        seq.handle(
            "n0",
            &json!({"type":"write","key":"k","value":7,"msg_id":1}),
            &mut rng,
        );
        // The writer reads its own write.
        let r = seq.handle("n0", &json!({"type":"read","key":"k","msg_id":2}), &mut rng);
        assert_eq!(r, Some(json!({"type":"read_ok","value":7,"in_reply_to":2})));
        // Another caller converges after some reads.
        let saw = (0..200).any(|i| {
            seq.handle("n1", &json!({"type":"read","key":"k","msg_id":i}), &mut rng)
                .is_some_and(|v| v.get("value") == Some(&json!(7)))
        });
        assert!(saw);
        let mut tso = Service::LinTso(0);
        let a = tso.handle("n0", &json!({"type":"ts","msg_id":1}), &mut rng);
        let b = tso.handle("n0", &json!({"type":"ts","msg_id":2}), &mut rng);
        assert_eq!(a.and_then(|v| v.get("ts").cloned()), Some(json!(0)));
        assert_eq!(b.and_then(|v| v.get("ts").cloned()), Some(json!(1)));
    }
}
