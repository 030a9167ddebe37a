//! The kv-mode counter's calls, answered by hand: group commit, failures, fenced reads.

use super::*;
use glomers_node::codec::body_value;
use glomers_node::Outgoing;
use serde_json::{json, Value};

fn node() -> KvCounter {
    let info = NodeInfo {
        id: "n0".into(),
        ids: vec!["n0".into(), "n1".into(), "n2".into()],
    };
    KvCounter::new(&info, 1_000)
}

fn from(
    src: &str,
    msg_id: Option<u64>,
    in_reply_to: Option<u64>,
    body: CounterIn,
) -> Incoming<CounterIn> {
    Incoming {
        origin: Origin {
            src: src.into(),
            msg_id,
        },
        in_reply_to,
        body,
    }
}

fn client(msg_id: u64, body: CounterIn) -> Incoming<CounterIn> {
    from("c1", Some(msg_id), None, body)
}

fn store(in_reply_to: u64, body: CounterIn) -> Incoming<CounterIn> {
    from("seq-kv", None, Some(in_reply_to), body)
}

/// Everything sent, as (dest, msg_id, in_reply_to, body on the wire).
fn sent(out: &mut Outbox<KvCounterOut>) -> Vec<(String, Option<u64>, Option<u64>, Value)> {
    out.drain()
        .map(|m: Outgoing<KvCounterOut>| {
            let mut body = body_value(&m).unwrap();
            if let Some(o) = body.as_object_mut() {
                o.remove("msg_id");
                o.remove("in_reply_to");
            }
            (m.dest.to_string(), m.msg_id, m.in_reply_to, body)
        })
        .collect()
}

fn ms(t: u64) -> Time {
    Time::from_millis(t)
}

#[test]
fn one_write_covers_every_add_before_it_and_adds_are_acknowledged_after_it() {
    let mut n = node();
    let mut out = Outbox::new();
    n.on_message(ms(0), client(1, CounterIn::Add { delta: 3 }), &mut out);
    n.on_message(ms(1), client(2, CounterIn::Add { delta: 4 }), &mut out);
    n.on_message(ms(1), client(3, CounterIn::Add { delta: 0 }), &mut out);
    let s = sent(&mut out);
    assert_eq!(
        s.len(),
        2,
        "one write in flight, the zero add answered at once: {s:?}"
    );
    assert_eq!(s[0].0, "seq-kv");
    assert_eq!(
        s[0].3,
        json!({"type": "write", "key": "counter-n0", "value": 3})
    );
    assert_eq!(
        (s[1].2, s[1].3.clone()),
        (Some(3), json!({"type": "add_ok"}))
    );
    let first = s[0].1.unwrap();
    n.on_message(ms(5), store(first, CounterIn::WriteOk), &mut out);
    let s = sent(&mut out);
    assert_eq!(s[0].2, Some(1), "the first add is acknowledged");
    assert_eq!(
        s[1].3,
        json!({"type": "write", "key": "counter-n0", "value": 7}),
        "the next write carries both"
    );
    n.on_message(ms(6), store(s[1].1.unwrap(), CounterIn::WriteOk), &mut out);
    let s = sent(&mut out);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].2, Some(2));
    assert_eq!(n.poll_timeout(), None, "nothing pending");
}

#[test]
fn a_failed_write_answers_crash_and_the_total_is_rewritten_until_it_lands() {
    let mut n = node();
    let mut out = Outbox::new();
    n.on_message(ms(0), client(1, CounterIn::Add { delta: 5 }), &mut out);
    let write = sent(&mut out)[0].1.unwrap();
    assert_eq!(n.poll_timeout(), Some(ms(0) + KV_TIMEOUT));
    n.on_timeout(ms(0) + KV_TIMEOUT, &mut out);
    let s = sent(&mut out);
    assert_eq!(
        (s[0].2, s[0].3["code"].clone()),
        (Some(1), json!(13)),
        "indefinite"
    );
    assert_eq!(n.poll_timeout(), Some(ms(0) + KV_TIMEOUT + FLUSH_PERIOD));
    n.on_message(ms(1_100), store(write, CounterIn::WriteOk), &mut out);
    assert!(sent(&mut out).is_empty(), "a late reply finds nothing");
    n.on_timeout(ms(0) + KV_TIMEOUT + FLUSH_PERIOD, &mut out);
    let s = sent(&mut out);
    assert_eq!(
        s[0].3,
        json!({"type": "write", "key": "counter-n0", "value": 5})
    );
    n.on_message(
        ms(1_600),
        store(
            s[0].1.unwrap(),
            CounterIn::Error(ErrorBody::bare(ErrorCode::Crash)),
        ),
        &mut out,
    );
    n.on_timeout(ms(2_100), &mut out);
    let s = sent(&mut out);
    assert_eq!(s[0].3["value"], 5, "rewritten again after an error reply");
}

#[test]
fn a_read_fences_then_sums_every_peer_and_its_own_total() {
    let mut n = node();
    let mut out = Outbox::new();
    n.on_message(ms(0), client(1, CounterIn::Add { delta: 2 }), &mut out);
    out.drain().count();
    n.on_message(ms(1), client(2, CounterIn::Read), &mut out);
    let s = sent(&mut out);
    assert_eq!(
        s[0].3,
        json!({"type": "write", "key": "fence-n0", "value": 1001})
    );
    n.on_message(ms(2), store(s[0].1.unwrap(), CounterIn::WriteOk), &mut out);
    let s = sent(&mut out);
    let keys: Vec<_> = s.iter().map(|m| m.3["key"].clone()).collect();
    assert_eq!(keys, [json!("counter-n1"), json!("counter-n2")]);
    assert!(s.iter().all(|m| m.3["type"] == "read"));
    n.on_message(
        ms(3),
        store(s[0].1.unwrap(), CounterIn::ReadOk { value: 10 }),
        &mut out,
    );
    assert!(sent(&mut out).is_empty(), "still waiting for n2");
    let missing = ErrorBody::bare(ErrorCode::KeyDoesNotExist);
    n.on_message(
        ms(4),
        store(s[1].1.unwrap(), CounterIn::Error(missing)),
        &mut out,
    );
    let s = sent(&mut out);
    assert_eq!(
        (s[0].2, s[0].3.clone()),
        (Some(2), json!({"type": "read_ok", "value": 12}))
    );
}

#[test]
fn a_failed_peer_read_fails_the_read_once() {
    let mut n = node();
    let mut out = Outbox::new();
    n.on_message(ms(0), client(7, CounterIn::Read), &mut out);
    let fence = sent(&mut out)[0].1.unwrap();
    n.on_message(ms(1), store(fence, CounterIn::WriteOk), &mut out);
    let reads = sent(&mut out);
    n.on_message(
        ms(2),
        store(
            reads[0].1.unwrap(),
            CounterIn::Error(ErrorBody::bare(ErrorCode::Crash)),
        ),
        &mut out,
    );
    let s = sent(&mut out);
    assert_eq!((s[0].2, s[0].3["code"].clone()), (Some(7), json!(13)));
    n.on_message(
        ms(3),
        store(reads[1].1.unwrap(), CounterIn::ReadOk { value: 1 }),
        &mut out,
    );
    assert!(sent(&mut out).is_empty(), "answered once");
    let fences: Vec<u64> = (0..3)
        .map(|i| {
            n.on_message(ms(10 + i), client(20 + i, CounterIn::Read), &mut out);
            sent(&mut out)[0].3["value"].as_u64().unwrap()
        })
        .collect();
    assert!(
        fences.windows(2).all(|w| w[0] < w[1]),
        "fence values never repeat: {fences:?}"
    );
}

#[test]
fn a_new_life_reads_its_total_before_it_writes_and_requests_wait_for_it() {
    let mut n = node().recovering();
    let mut out = Outbox::new();
    assert_eq!(
        n.poll_timeout(),
        Some(Time::ZERO),
        "the read is due at once"
    );
    n.on_message(ms(0), client(1, CounterIn::Add { delta: 2 }), &mut out);
    n.on_message(ms(0), client(2, CounterIn::Read), &mut out);
    assert!(
        sent(&mut out).is_empty(),
        "nothing before the own total is known"
    );
    n.on_timeout(ms(0), &mut out);
    let s = sent(&mut out);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].3, json!({"type": "read", "key": "counter-n0"}));
    // A store failure: read again later, still holding the requests.
    n.on_message(
        ms(1),
        store(
            s[0].1.unwrap(),
            CounterIn::Error(ErrorBody::new(ErrorCode::Crash, "boom")),
        ),
        &mut out,
    );
    assert!(sent(&mut out).is_empty());
    n.on_timeout(ms(1) + FLUSH_PERIOD, &mut out);
    let s = sent(&mut out);
    assert_eq!(s[0].3, json!({"type": "read", "key": "counter-n0"}));
    // The previous life reached 40: the waiting add writes 42, never 2, and the read
    // starts its fence.
    n.on_message(
        ms(600),
        store(s[0].1.unwrap(), CounterIn::ReadOk { value: 40 }),
        &mut out,
    );
    let s = sent(&mut out);
    let bodies: Vec<&Value> = s.iter().map(|m| &m.3).collect();
    assert_eq!(
        bodies[0],
        &json!({"type": "write", "key": "counter-n0", "value": 42})
    );
    assert_eq!(bodies[1]["key"], "fence-n0");
    assert_eq!(n.local_total(), 42);
    // A first life finds no key: its total starts at zero.
    let mut fresh = node().recovering();
    fresh.on_timeout(ms(0), &mut out);
    let s = sent(&mut out);
    fresh.on_message(
        ms(1),
        store(
            s[0].1.unwrap(),
            CounterIn::Error(ErrorBody::new(ErrorCode::KeyDoesNotExist, "none")),
        ),
        &mut out,
    );
    fresh.on_message(ms(2), client(3, CounterIn::Add { delta: 5 }), &mut out);
    assert_eq!(
        sent(&mut out)[0].3,
        json!({"type": "write", "key": "counter-n0", "value": 5})
    );
}
