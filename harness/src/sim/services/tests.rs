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
        let req = json!({"type": if s.name() == "lin-tso" { "ts" } else { "read" }, "key": "k"});
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
        let seen = (0..200).any(|_| read_value(&mut kv, "r", json!("x"), &mut r) == Some(json!(7)));
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
