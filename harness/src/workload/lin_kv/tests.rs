use super::*;
use crate::history::{Op, OpType, Process};
use crate::workload::Completion;
use rand::SeedableRng;

fn rng() -> StdRng {
    StdRng::seed_from_u64(11)
}

fn op_of(next: Next) -> OpSpec {
    match next {
        Next::Op(op) => op,
        other => panic!("expected an op, got {other:?}"),
    }
}

fn key(op: &OpSpec) -> u64 {
    op.value[0].as_u64().expect("integer key")
}

fn entry(process: u64, kind: OpType) -> Op {
    Op {
        index: 0,
        time: Time::ZERO,
        process: Process::Client(process),
        kind,
        f: "write".into(),
        value: json!([0, 1]).into(),
        is_final: false,
        error: None,
        node: None,
    }
}

#[test]
fn layout_needs_multiples_of_two_n_and_at_most_ten_nodes() {
    assert!(check_layout(3, 6).is_ok());
    assert!(check_layout(3, 12).is_ok());
    assert!(check_layout(1, 2).is_ok());
    assert!(check_layout(10, 20).is_ok());
    let e = check_layout(3, 3).err().unwrap_or_default();
    assert!(e.contains("multiple of 2 × node count (6)"), "{e}");
    assert!(check_layout(3, 9).is_err());
    assert!(check_layout(3, 0).is_err());
    assert!(check_layout(11, 22).is_err());
}

#[test]
fn groups_work_on_distinct_keys_and_only_the_first_n_threads_read() {
    // 3 nodes, 4n = 12 threads: group 0 = threads 0..6 (0..3 read), group 1 = 6..12.
    let mut g = LinKvGenerator::new(3, 12);
    let mut rng = rng();
    let (mut writes, mut cas) = (0u32, 0u32);
    for round in 0..300 {
        for t in 0..12 {
            let op = op_of(g.next(Phase::Main, t, Time::ZERO, &mut rng));
            assert_eq!(key(&op), (t / 6) as u64, "round {round} thread {t}");
            match op.f.as_str() {
                "read" => {
                    assert!(t < 3, "thread {t} read");
                    assert_eq!(op.value[1], Value::Null);
                }
                "write" => {
                    assert!(t >= 3, "thread {t} wrote");
                    assert!(op.value[1].as_u64() < Some(VALUES));
                    writes += 1;
                }
                "cas" => {
                    assert!(t >= 3, "thread {t} cas");
                    let pair = op.value[1].as_array().expect("[from, to]");
                    assert_eq!(pair.len(), 2);
                    assert!(pair.iter().all(|v| v.as_u64() < Some(VALUES)));
                    cas += 1;
                }
                f => panic!("unexpected f {f}"),
            }
        }
    }
    // 300 × 9 writer slots: write ⅓, cas ⅔.
    let share = f64::from(writes) / f64::from(writes + cas);
    assert!((share - 1.0 / 3.0).abs() < 0.03, "write share {share}");
    assert_eq!(g.next(Phase::Final, 0, Time::ZERO, &mut rng), Next::Done);
    assert!(!g.has_final_phase());
}

#[test]
fn a_group_rotates_to_a_fresh_key_past_twenty_processes() {
    // 1 node, 4 threads: groups {0, 1} on key 0 and {2, 3} on key 1.
    let mut g = LinKvGenerator::new(1, 4);
    let mut rng = rng();
    let mut process = [0u64, 1, 2, 3];
    // Without indeterminate results the keys never change.
    for _ in 0..100 {
        for t in 0..4 {
            assert_eq!(
                key(&op_of(g.next(Phase::Main, t, Time::ZERO, &mut rng))),
                (t / 2) as u64
            );
        }
    }
    // Thread 3 times out again and again: processes 3, 7, 11, ... Group 1 starts with
    // processes {2, 3}; after k infos it has used 2 + k, so the 19th info exceeds 20.
    for k in 1..=19u64 {
        g.observe(
            &entry(process[3], OpType::Invoke),
            &entry(process[3], OpType::Info),
        );
        process[3] += 4;
        let k_now = key(&op_of(g.next(Phase::Main, 2, Time::ZERO, &mut rng)));
        if k < 19 {
            assert_eq!(k_now, 1, "after {k} infos");
        } else {
            assert_eq!(k_now, 2, "the fresh key after {k} infos");
        }
        // Group 0 is unaffected.
        assert_eq!(key(&op_of(g.next(Phase::Main, 0, Time::ZERO, &mut rng))), 0);
    }
    // Fails and oks do not change processes.
    for kind in [OpType::Ok, OpType::Fail] {
        g.observe(&entry(process[3], OpType::Invoke), &entry(process[3], kind));
    }
    assert_eq!(key(&op_of(g.next(Phase::Main, 3, Time::ZERO, &mut rng))), 2);
    assert_eq!(g.key_of_group(1), Some(2));
    // The next rotation of any group takes key 3, never an old one.
    for _ in 0..20 {
        g.observe(
            &entry(process[1], OpType::Invoke),
            &entry(process[1], OpType::Info),
        );
        process[1] += 4;
        let _ = g.next(Phase::Main, 0, Time::ZERO, &mut rng);
    }
    assert_eq!(g.key_of_group(0), Some(3));
}

#[test]
fn threads_outside_whole_groups_get_nothing() {
    let mut g = LinKvGenerator::new(2, 5);
    let mut rng = rng();
    assert!(matches!(
        g.next(Phase::Main, 3, Time::ZERO, &mut rng),
        Next::Op(_)
    ));
    assert_eq!(g.next(Phase::Main, 4, Time::ZERO, &mut rng), Next::Done);
    assert_eq!(g.next(Phase::Main, 9, Time::ZERO, &mut rng), Next::Done);
}

fn call(c: &mut LinKvClient, f: &str, value: Value) -> Value {
    match c.start(&OpSpec { f: f.into(), value }) {
        Step::Call { body, timeout } => {
            assert_eq!(timeout, Duration::from_secs(1));
            body
        }
        other => panic!("expected a call, got {other:?}"),
    }
}

fn reply(c: &mut LinKvClient, f: &str, value: Value, body: Value) -> Completion {
    call(c, f, value);
    match c.on_reply(Reply::Body(body)) {
        Step::Done(done) => done,
        other => panic!("expected a completion, got {other:?}"),
    }
}

#[test]
fn requests_carry_key_value_and_cas_pair() {
    let mut c = LinKvClient::new(rpc_timeout(0));
    assert_eq!(
        call(&mut c, "read", json!([3, null])),
        json!({"type": "read", "key": 3})
    );
    assert_eq!(
        call(&mut c, "write", json!([3, 4])),
        json!({"type": "write", "key": 3, "value": 4})
    );
    assert_eq!(
        call(&mut c, "cas", json!([3, [1, 2]])),
        json!({"type": "cas", "key": 3, "from": 1, "to": 2})
    );
    assert!(matches!(
        c.start(&OpSpec {
            f: "cas".into(),
            value: json!([3, 1])
        }),
        Step::Done(Completion::Fail(_))
    ));
    assert!(c.reusable());
}

#[test]
fn oks_record_the_read_value_or_the_invoke_value() {
    let mut c = LinKvClient::new(rpc_timeout(0));
    let ok = |v: Value| Completion::Ok(v);
    assert_eq!(
        reply(
            &mut c,
            "read",
            json!([3, null]),
            json!({"type": "read_ok", "in_reply_to": 1, "value": 4})
        ),
        ok(json!([3, 4]))
    );
    assert_eq!(
        reply(
            &mut c,
            "read",
            json!([3, null]),
            json!({"type": "read_ok", "in_reply_to": 1, "value": null})
        ),
        ok(json!([3, null]))
    );
    assert_eq!(
        reply(
            &mut c,
            "write",
            json!([3, 2]),
            json!({"type": "write_ok", "in_reply_to": 1})
        ),
        ok(json!([3, 2]))
    );
    assert_eq!(
        reply(
            &mut c,
            "cas",
            json!([3, [2, 0]]),
            json!({"type": "cas_ok", "in_reply_to": 1})
        ),
        ok(json!([3, [2, 0]]))
    );
}

#[test]
fn errors_are_definite_or_indefinite_as_maelstrom_classifies_them() {
    let err = |code: i64| json!({"type": "error", "in_reply_to": 1, "code": code});
    let mut c = LinKvClient::new(rpc_timeout(0));
    for code in [20, 22, 11, 14, 10] {
        for f in ["write", "cas"] {
            let v = if f == "cas" {
                json!([1, [0, 1]])
            } else {
                json!([1, 1])
            };
            let done = reply(&mut c, f, v, err(code));
            assert!(matches!(done, Completion::Fail(_)), "{f} {code}: {done:?}");
        }
    }
    for code in [0, 13, 1000, -1] {
        let done = reply(&mut c, "cas", json!([1, [0, 1]]), err(code));
        assert!(matches!(done, Completion::Info(_)), "cas {code}: {done:?}");
        // Reads are idempotent: every error is a failure.
        let done = reply(&mut c, "read", json!([1, null]), err(code));
        assert!(matches!(done, Completion::Fail(_)), "read {code}: {done:?}");
    }
    assert_eq!(
        reply(&mut c, "cas", json!([1, [0, 1]]), err(22)),
        Completion::Fail("[precondition-failed]".into())
    );
    call(&mut c, "write", json!([1, 1]));
    assert_eq!(
        c.on_reply(Reply::Timeout),
        Step::Done(Completion::Info("net-timeout".into()))
    );
    call(&mut c, "read", json!([1, null]));
    assert_eq!(
        c.on_reply(Reply::Timeout),
        Step::Done(Completion::Fail("net-timeout".into()))
    );
}

#[test]
fn malformed_replies_are_indeterminate() {
    let mut c = LinKvClient::new(rpc_timeout(0));
    for (f, v, body) in [
        (
            "read",
            json!([1, null]),
            json!({"type": "read_ok", "in_reply_to": 1}),
        ),
        (
            "read",
            json!([1, null]),
            json!({"type": "read_ok", "in_reply_to": 1, "value": 1, "extra": 2}),
        ),
        (
            "write",
            json!([1, 1]),
            json!({"type": "read_ok", "in_reply_to": 1}),
        ),
        (
            "cas",
            json!([1, [0, 1]]),
            json!({"type": "cas_ok", "in_reply_to": "1"}),
        ),
    ] {
        let done = reply(&mut c, f, v, body.clone());
        assert!(matches!(done, Completion::Info(_)), "{body}: {done:?}");
    }
}

#[test]
fn timeout_follows_the_mean_latency() {
    assert_eq!(rpc_timeout(0), Duration::from_millis(1000));
    assert_eq!(rpc_timeout(50), Duration::from_millis(1000));
    assert_eq!(rpc_timeout(250), Duration::from_millis(2500));
}
