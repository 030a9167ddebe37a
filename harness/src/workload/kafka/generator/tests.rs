//! Tests of the kafka generator: the main-phase mix, crash spacing, assigns extended
//! with unpolled keys, and the final phase.

use super::*;
use rand::SeedableRng;

fn rng() -> StdRng {
    StdRng::seed_from_u64(11)
}

fn op(process: u64, kind: OpType, f: &str, value: Value, time: Time) -> Op {
    Op {
        index: 0,
        time,
        process: Process::Client(process),
        kind,
        f: f.to_string(),
        value: value.into(),
        is_final: false,
        error: None,
        node: None,
    }
}

fn observe_ok(gen: &mut KafkaGenerator, process: u64, f: &str, value: Value) {
    let inv = op(process, OpType::Invoke, f, Value::Null, Time::ZERO);
    gen.observe(&inv, &op(process, OpType::Ok, f, value, Time::ZERO));
}

fn expect_op(next: Next) -> OpSpec {
    match next {
        Next::Op(op) => op,
        other => panic!("expected an op, got {other:?}"),
    }
}

const SEC: Duration = Duration::from_secs(1);

/// The `i`-th tenth of a second of the run (10 ops/s).
fn tenth(i: u64) -> Time {
    Time::from_millis(i * 100)
}

#[test]
fn main_phase_mix_and_unique_messages() {
    let mut gen = KafkaGenerator::new(KafkaOpts {
        concurrency: 5,
        ..KafkaOpts::default()
    });
    let mut rng = rng();
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut msgs: HashMap<String, Vec<u64>> = HashMap::new();
    let mut last_key = None;
    // 64 000 ops at 10 ops/s: 6 400 s, a crash every 6 s on average.
    for i in 0..64_000u64 {
        let op = expect_op(gen.next(Phase::Main, (i % 5) as usize, tenth(i), &mut rng));
        *counts.entry(op.f.clone()).or_insert(0) += 1;
        match op.f.as_str() {
            "send" => {
                let m = op.value[0].as_array().expect("mop");
                assert_eq!(m[0], "send");
                let k = m[1].as_str().expect("string key").to_string();
                let v = m[2].as_u64().expect("integer msg");
                if let Some(assigned) = last_key.take() {
                    assert_eq!(assigned, k, "an assign is of the next op's key");
                }
                msgs.entry(k).or_default().push(v);
            }
            "poll" => {
                assert_eq!(op.value, json!([["poll"]]));
                last_key = None;
            }
            "assign" => {
                assert_eq!(op.value["seek_to_beginning"], false);
                let keys = op.value["keys"].as_array().expect("keys");
                assert_eq!(keys.len(), 1, "nothing acknowledged, so no extension");
                last_key = keys[0].as_str().map(str::to_string);
            }
            "crash" => assert_eq!(op.value, Value::Null),
            other => panic!("unexpected f {other}"),
        }
    }
    let (send, poll) = (counts["send"], counts["poll"]);
    let share = f64::from(send) / f64::from(send + poll);
    assert!((0.47..0.53).contains(&share), "send share {share}");
    assert!(
        (800..1200).contains(&counts["assign"]),
        "assigns {}",
        counts["assign"]
    );
    assert!(
        (900..1250).contains(&counts["crash"]),
        "crashes {}",
        counts["crash"]
    );
    for (k, vs) in &msgs {
        let want: Vec<u64> = (1..=vs.len() as u64).collect();
        assert_eq!(vs, &want, "messages of key {k} are 1, 2, ... once each");
        assert!(vs.len() <= 16);
    }
    assert!(
        msgs.values().filter(|vs| vs.len() == 16).count() > 10,
        "keys retired"
    );
}

#[test]
fn crash_spacing_follows_concurrency() {
    for (concurrency, want) in [(1usize, 100u32), (10, 1000)] {
        let mut gen = KafkaGenerator::new(KafkaOpts {
            concurrency,
            ..KafkaOpts::default()
        });
        let mut rng = rng();
        let mut crashes = 0;
        // 3 000 s at 10 ops/s.
        for i in 0..30_000u64 {
            let op = expect_op(gen.next(Phase::Main, 0, tenth(i), &mut rng));
            crashes += u32::from(op.f == "crash");
        }
        let lo = want * 8 / 10;
        let hi = want * 12 / 10;
        assert!(
            (lo..hi).contains(&crashes),
            "concurrency {concurrency}: {crashes}"
        );
    }
}

#[test]
fn assigns_extend_with_unpolled_keys() {
    let mut gen = KafkaGenerator::new(KafkaOpts::default());
    let mut rng = rng();
    observe_ok(&mut gen, 0, "send", json!([["send", "1000000", [3, 1]]]));
    observe_ok(&mut gen, 0, "send", json!([["send", "1000001", [0, 1]]]));
    assert_eq!(gen.unpolled_keys(), vec![1_000_000, 1_000_001]);
    // A poll up to offset 3 of key 1000000 catches it up; 1000001 stays unpolled.
    observe_ok(
        &mut gen,
        1,
        "poll",
        json!([["poll", {"1000000": [[2, 9], [3, 1]]}]]),
    );
    assert_eq!(gen.unpolled_keys(), vec![1_000_001]);
    let (mut assigns, mut extended) = (0u32, 0u32);
    for _ in 0..64_000 {
        let op = expect_op(gen.next(Phase::Main, 0, Time::ZERO, &mut rng));
        if op.f == "assign" {
            assigns += 1;
            let keys = op.value["keys"].as_array().expect("keys");
            if keys.contains(&json!("1000001")) {
                extended += 1;
            }
            assert!(!keys.contains(&json!("1000000")));
        }
    }
    let share = f64::from(extended) / f64::from(assigns);
    assert!((0.25..0.42).contains(&share), "extended share {share}");
    // Offsets seen include both sends and polls.
    assert_eq!(gen.highest_offsets().get(&1_000_000), Some(&3));
    assert_eq!(gen.highest_offsets().get(&1_000_001), Some(&0));
}

#[test]
fn final_phase_stops_once_every_key_is_polled_to_its_highest_offset() {
    let mut gen = KafkaGenerator::new(KafkaOpts {
        concurrency: 2,
        ..KafkaOpts::default()
    });
    let mut rng = rng();
    observe_ok(&mut gen, 0, "send", json!([["send", "1", [4, 2]]]));
    observe_ok(&mut gen, 1, "poll", json!([["poll", {"2": [[7, 1]]}]]));
    let t0 = Time::from_secs(100);
    let crash = expect_op(gen.next(Phase::Final, 0, t0, &mut rng));
    assert_eq!(crash.f, "crash");
    let assign = expect_op(gen.next(Phase::Final, 0, t0, &mut rng));
    assert_eq!(
        assign.value,
        json!({"keys": ["1", "2"], "seek_to_beginning": true})
    );
    let poll = expect_op(gen.next(Phase::Final, 0, t0, &mut rng));
    assert_eq!(poll.f, "poll");
    // Polls are spaced below 0.4 s.
    let mut now = t0;
    let mut polls = 1;
    while polls < 20 {
        match gen.next(Phase::Final, 0, now, &mut rng) {
            Next::Wait(d) => {
                assert!(d < FINAL_POLL_SPACING, "{d:?}");
                now += d;
            }
            Next::Op(op) => {
                assert_eq!(op.f, "poll");
                polls += 1;
            }
            Next::Done => panic!("not done before polling"),
        }
    }
    // Process 2 is thread 0 (after an info). Reaching key 1 only is not enough.
    observe_ok(
        &mut gen,
        2,
        "poll",
        json!([["poll", {"1": [[0, 1], [4, 2]]}]]),
    );
    // Another thread's poll does not count for thread 0.
    observe_ok(&mut gen, 1, "poll", json!([["poll", {"2": [[7, 1]]}]]));
    assert_ne!(gen.next(Phase::Final, 0, now + SEC, &mut rng), Next::Done);
    observe_ok(
        &mut gen,
        0,
        "poll",
        json!([["poll", {"2": [[6, 5], [7, 1]]}]]),
    );
    assert_eq!(gen.next(Phase::Final, 0, now + SEC, &mut rng), Next::Done);
    // Thread 1 has only been credited with key 2: it still has to start.
    assert_eq!(
        expect_op(gen.next(Phase::Final, 1, now + SEC, &mut rng)).f,
        "crash"
    );
}

#[test]
fn final_phase_is_cut_off_after_ten_seconds() {
    let mut gen = KafkaGenerator::new(KafkaOpts::default());
    let mut rng = rng();
    observe_ok(&mut gen, 0, "send", json!([["send", "1", [4, 2]]]));
    let t0 = Time::from_secs(5);
    let mut now = t0;
    let mut ops = 0;
    loop {
        match gen.next(Phase::Final, 0, now, &mut rng) {
            Next::Op(_) => ops += 1,
            Next::Wait(d) => {
                assert!(now + d <= t0 + FINAL_PHASE_LIMIT);
                now += d;
            }
            Next::Done => break,
        }
        now += Duration::from_millis(1);
    }
    assert!(now >= t0 + FINAL_PHASE_LIMIT, "stopped early at {now}");
    assert!(ops > 20, "polled until the cutoff: {ops}");
    assert_eq!(gen.next(Phase::Final, 1, now, &mut rng), Next::Done);
}

#[test]
fn final_phase_with_nothing_seen_is_empty() {
    let mut gen = KafkaGenerator::new(KafkaOpts::default());
    assert_eq!(
        gen.next(Phase::Final, 0, Time::ZERO, &mut rng()),
        Next::Done
    );
    assert!(gen.has_final_phase());
}
