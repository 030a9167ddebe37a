use serde_json::{json, Value};

use super::*;
use crate::checker::Validity;
use crate::checkers::testkit::Hb;
use crate::history::OpType;
use glomers_node::Time;

fn send(b: &mut Hb, p: u64, k: &str, m: i64, off: i64) -> usize {
    b.op(
        p,
        "send",
        json!([["send", k, m]]),
        OpType::Ok,
        json!([["send", k, [off, m]]]),
    )
    .1
}
fn poll(b: &mut Hb, p: u64, k: &str, pairs: Value) -> usize {
    b.op(
        p,
        "poll",
        json!([["poll"]]),
        OpType::Ok,
        json!([["poll", {k: pairs}]]),
    )
    .1
}
fn types(r: &CheckResult) -> Vec<String> {
    r.details["error_types"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn correct_log_is_valid() {
    let mut b = Hb::new();
    send(&mut b, 0, "a", 1, 0);
    send(&mut b, 0, "a", 2, 1);
    send(&mut b, 0, "b", 1, 0);
    b.op(
        1,
        "assign",
        json!({"keys": ["a"], "seek_to_beginning": false}),
        OpType::Ok,
        json!({"keys": ["a"], "seek_to_beginning": false}),
    );
    poll(&mut b, 1, "a", json!([[0, 1]]));
    poll(&mut b, 1, "a", json!([[1, 2]]));
    poll(&mut b, 2, "b", json!([[0, 1]]));
    b.op(1, "crash", json!(null), OpType::Info, json!(null));
    let r = check(&b.build());
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.problems);
    assert!(types(&r).is_empty());
}

#[test]
fn offset_reused_is_inconsistent() {
    let mut b = Hb::new();
    let first = send(&mut b, 0, "a", 1, 0);
    let s = send(&mut b, 1, "a", 2, 0);
    let p = poll(&mut b, 2, "a", json!([[0, 1]]));
    let r = check(&b.build());
    assert_eq!(r.valid, Validity::Invalid);
    assert!(
        types(&r).contains(&"inconsistent-offsets".to_string()),
        "{:?}",
        types(&r)
    );
    assert_eq!(
        r.details["inconsistent_offsets"]["errs"][0]["values"],
        json!([1, 2])
    );
    let found = &r.details["anomalies"][0];
    assert_eq!(found["kind"], "inconsistent-offsets");
    assert_eq!(found["key"], "a");
    assert_eq!(found["ops"], json!([first, s, p]));
}

#[test]
fn message_at_two_offsets_is_duplicate() {
    let mut b = Hb::new();
    send(&mut b, 0, "a", 7, 0);
    poll(&mut b, 2, "a", json!([[0, 7], [1, 7]]));
    let r = check(&b.build());
    assert!(
        types(&r).contains(&"duplicate".to_string()),
        "{:?}",
        types(&r)
    );
    assert_eq!(r.details["duplicate"]["errs"][0]["offsets"], json!([0, 1]));
    assert_eq!(r.valid, Validity::Invalid);
}

#[test]
fn poll_skipping_an_existing_offset() {
    let mut b = Hb::new();
    for i in 0..3 {
        send(&mut b, 0, "a", i, i);
    }
    poll(&mut b, 5, "a", json!([[0, 0], [1, 1], [2, 2]]));
    let first = poll(&mut b, 1, "a", json!([[0, 0]]));
    let second = poll(&mut b, 1, "a", json!([[2, 2]]));
    let r = check(&b.build());
    assert_eq!(types(&r), vec!["poll-skip".to_string()]);
    assert_eq!(r.details["poll_skip"]["errs"][0]["skipped"], json!([1]));
    assert_eq!(r.details["anomalies"][0]["ops"], json!([first, second]));
    assert!(
        r.problems[0].contains(&format!("op {first}"))
            && r.problems[0].contains(&format!("op {second}"))
    );
    assert_eq!(r.valid, Validity::Invalid);
}

#[test]
fn assign_drops_the_comparison_for_unassigned_keys() {
    let mut b = Hb::new();
    for i in 0..3 {
        send(&mut b, 0, "a", i, i);
    }
    poll(&mut b, 5, "a", json!([[0, 0], [1, 1], [2, 2]]));
    poll(&mut b, 1, "a", json!([[0, 0]]));
    b.op(
        1,
        "assign",
        json!({"keys": ["b"]}),
        OpType::Ok,
        json!({"keys": ["b"]}),
    );
    poll(&mut b, 1, "a", json!([[2, 2]]));
    let r = check(&b.build());
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.problems);
}

#[test]
fn polls_going_backwards() {
    let mut b = Hb::new();
    send(&mut b, 0, "a", 0, 0);
    send(&mut b, 0, "a", 1, 1);
    poll(&mut b, 1, "a", json!([[0, 0], [1, 1]]));
    poll(&mut b, 1, "a", json!([[1, 1]]));
    let r = check(&b.build());
    assert_eq!(types(&r), vec!["nonmonotonic-poll".to_string()]);
    assert_eq!(r.details["nonmonotonic_poll"]["errs"][0]["delta"], json!(0));
}

#[test]
fn out_of_order_inside_one_poll() {
    let mut b = Hb::new();
    send(&mut b, 0, "a", 0, 0);
    send(&mut b, 0, "a", 1, 1);
    poll(&mut b, 1, "a", json!([[1, 1], [0, 0]]));
    let r = check(&b.build());
    assert_eq!(types(&r), vec!["int-nonmonotonic-poll".to_string()]);
    assert_eq!(r.valid, Validity::Invalid);
}

#[test]
fn unseen_versus_lost_write() {
    let mut b = Hb::new();
    send(&mut b, 0, "a", 0, 0);
    let lost = send(&mut b, 0, "a", 1, 1);
    send(&mut b, 0, "a", 2, 2);
    let never = send(&mut b, 0, "a", 3, 3);
    let high = poll(&mut b, 1, "a", json!([[2, 2]]));
    poll(&mut b, 2, "a", json!([[0, 0]]));
    let r = check(&b.build());
    let kinds: Vec<&Value> = r.details["anomalies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| &a["kind"])
        .collect();
    assert_eq!(kinds, [&json!("lost-write"), &json!("unseen")]);
    assert_eq!(r.details["anomalies"][0]["ops"], json!([lost, high]));
    assert_eq!(r.details["anomalies"][1]["ops"], json!([lost, never]));
    assert_eq!(
        types(&r),
        vec!["lost-write".to_string(), "unseen".to_string()]
    );
    assert_eq!(r.details["lost_write"]["count"], json!(1));
    assert_eq!(r.details["lost_write"]["errs"][0]["value"], json!(1));
    assert_eq!(r.details["lost_write"]["errs"][0]["writer"], json!(lost));
    assert_eq!(r.details["unseen"]["unseen"]["a"], json!(2));
    assert_eq!(r.details["unseen"]["messages"]["a"], json!([1, 3]));
    assert!(r.problems[0].starts_with("lost-write"));

    // Only above the highest read: unseen but not lost.
    let mut b = Hb::new();
    send(&mut b, 0, "a", 0, 0);
    send(&mut b, 0, "a", 1, 1);
    poll(&mut b, 1, "a", json!([[0, 0]]));
    let r = check(&b.build());
    assert_eq!(types(&r), vec!["unseen".to_string()]);
    assert_eq!(r.valid, Validity::Invalid);
}

#[test]
fn later_send_with_lower_offset() {
    let mut b = Hb::new();
    send(&mut b, 0, "a", 0, 5);
    send(&mut b, 0, "a", 1, 3);
    poll(&mut b, 1, "a", json!([[3, 1], [5, 0]]));
    let r = check(&b.build());
    assert_eq!(types(&r), vec!["nonmonotonic-send".to_string()]);
    assert_eq!(
        r.details["nonmonotonic_send"]["errs"][0]["delta"],
        json!(-1)
    );
}

#[test]
fn polled_failed_send_is_g1a() {
    let mut b = Hb::new();
    b.op(
        0,
        "send",
        json!([["send", "a", 9]]),
        OpType::Fail,
        json!([["send", "a", 9]]),
    );
    let r0 = poll(&mut b, 1, "a", json!([[0, 9]]));
    let r = check(&b.build());
    assert_eq!(types(&r), vec!["G1a".to_string()]);
    assert_eq!(r.details["G1a"]["errs"][0]["reader"], json!(r0));
    assert_eq!(r.valid, Validity::Invalid);
}

#[test]
fn info_send_that_was_polled_is_fine() {
    let mut b = Hb::new();
    b.op(
        0,
        "send",
        json!([["send", "a", 9]]),
        OpType::Info,
        json!([["send", "a", 9]]),
    );
    send(&mut b, 2, "a", 10, 1);
    poll(&mut b, 1, "a", json!([[0, 9], [1, 10]]));
    let r = check(&b.build());
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.problems);
    assert_eq!(r.details["info_txn_causes"], json!(["err"]));
}

#[test]
fn reading_the_future_is_g1c_realtime() {
    let mut b = Hb::new();
    poll(&mut b, 1, "a", json!([[0, 4]]));
    send(&mut b, 0, "a", 4, 0);
    let r = check(&b.build());
    assert_eq!(types(&r), vec!["G1c-realtime".to_string()]);
    assert_eq!(r.valid, Validity::Invalid);
}

#[test]
fn phantom_message_is_unknown() {
    let mut b = Hb::new();
    poll(&mut b, 1, "a", json!([[0, 4]]));
    let r = check(&b.build());
    assert_eq!(r.valid, Validity::Unknown);
}

#[test]
fn realtime_lag_is_measured() {
    let mut b = Hb::new();
    send(&mut b, 0, "a", 0, 0); // completes at 1ms
    b.op(
        1,
        "assign",
        json!({"keys": ["a"]}),
        OpType::Ok,
        json!({"keys": ["a"]}),
    );
    b.at(Time::from_millis(1_001));
    poll(&mut b, 1, "a", json!([])); // invoked at ~1.001 s, sees nothing
    poll(&mut b, 2, "a", json!([[0, 0]]));
    let r = check(&b.build());
    let lag = r.details["worst_realtime_lag"]["lag"]
        .as_f64()
        .unwrap_or(0.0);
    assert!((lag - 1.0).abs() < 1e-9, "{lag}");
}

/// Prints how long checking a 20 000-entry history takes:
/// `cargo test -p glomers-harness --release --lib kafka::tests::timing -- --ignored --nocapture`
#[test]
#[ignore]
fn timing_20k_ops() {
    let mut b = Hb::new();
    let mut logs: Vec<Vec<i64>> = vec![Vec::new(); 10];
    let mut polled = [[0i64; 10]; 10];
    let mut msg = 0i64;
    let mut i = 0u64;
    while b.h.ops.len() < 20_000 {
        let p = i % 10;
        let k = ((i / 10) % 10) as usize;
        if i % 2 == 0 {
            msg += 1;
            send(&mut b, p, &k.to_string(), msg, logs[k].len() as i64);
            logs[k].push(msg);
        } else {
            let from = polled[p as usize][k];
            let to = logs[k].len() as i64;
            let pairs: Vec<Value> = (from..to)
                .map(|o| json!([o, logs[k][o as usize]]))
                .collect();
            polled[p as usize][k] = to;
            poll(&mut b, p, &k.to_string(), json!(pairs));
        }
        i += 1;
    }
    let h = b.build();
    let t = std::time::Instant::now();
    let r = check(&h);
    println!(
        "kafka check of {} ops: {:?} (valid: {:?})",
        h.ops.len(),
        t.elapsed(),
        r.valid
    );
}
