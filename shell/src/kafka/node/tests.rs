//! The kafka node through the node contract: replies and replication over the wire
//! encoding, stable offsets, refusals.

use super::*;
use crate::kafka::KafkaMachine;
use crate::replica::testkit::{exchange, info, start};
use crate::replica::{refusal_error, ReplicaMachine};
use glomers_node::codec::body_value;
use glomers_node::{Incoming, Machine, Origin, Outbox};
use serde_json::json;

mod retention;

/// A node with retention off: these tests check replication, where retention's periodic
/// pass would only keep the nodes from ever being idle.
fn machine(id: &str, ids: &[&str]) -> KafkaMachine {
    let info = info(id, ids);
    ReplicaMachine::new(&start(&info), keep_all())
}

fn keep_all() -> KafkaConfig {
    let mut config = KafkaConfig::default();
    config.retention.mode = crate::kafka::retention::RetentionMode::Off;
    config
}

fn request(src: &str, msg_id: Option<u64>, body: KafkaRequest) -> Incoming<KafkaRequest> {
    Incoming {
        origin: Origin {
            src: src.into(),
            msg_id,
        },
        in_reply_to: None,
        body,
    }
}

#[test]
fn replies_and_batches_cross_the_wire_and_replicate() {
    let mut nodes = [machine("n0", &["n0", "n1"]), machine("n1", &["n0", "n1"])];
    let mut out = Outbox::new();
    let send = KafkaRequest::Send {
        key: "k".into(),
        msg: json!("hello"),
    };
    nodes[0].on_message(Time::ZERO, request("c4", Some(7), send), &mut out);
    let sent: Vec<_> = out.drain().collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].dest, "c4");
    assert_eq!(
        body_value(&sent[0]).expect("encodes"),
        json!({"type": "send_ok", "offset": 0, "in_reply_to": 7})
    );
    exchange(
        &mut nodes,
        Time::ZERO,
        Time::from_millis(100),
        Duration::from_millis(1),
        &|_, _| false,
    );
    for node in &nodes {
        assert_eq!(
            node.node().stable_offset("k"),
            1,
            "offset 0 stable everywhere"
        );
    }
    let poll = KafkaRequest::Poll {
        offsets: [("k".into(), 0)].into_iter().collect(),
    };
    nodes[1].on_message(
        Time::from_millis(100),
        request("c4", Some(8), poll),
        &mut out,
    );
    let polled: Vec<_> = out.drain().collect();
    assert_eq!(
        body_value(&polled[0]).expect("encodes"),
        json!({"type": "poll_ok", "msgs": {"k": [[0, "hello"]]}, "in_reply_to": 8})
    );
    assert_eq!(nodes[0].node().backlog(), 0, "n1 acknowledged the entry");
    assert!(
        nodes.iter().all(|n| n.poll_timeout().is_none()),
        "both idle again"
    );
}

#[test]
fn commits_replicate_and_offsets_stay_in_residue_classes() {
    let ids = ["n0", "n1", "n2"];
    let mut nodes = [
        machine("n0", &ids),
        machine("n1", &ids),
        machine("n2", &ids),
    ];
    let mut out = Outbox::new();
    let mut offsets = Vec::new();
    for round in 0..3u64 {
        for (i, n) in nodes.iter_mut().enumerate() {
            let send = KafkaRequest::Send {
                key: "k".into(),
                msg: json!(round * 10 + i as u64),
            };
            n.on_message(
                Time::from_millis(round),
                request("c1", Some(1), send),
                &mut out,
            );
            let reply = body_value(&out.drain().next().expect("a reply")).expect("encodes");
            let offset = reply["offset"].as_u64().expect("an offset");
            assert_eq!(offset % 3, i as u64, "node {i} assigns its own residue");
            offsets.push(offset);
        }
    }
    let commit = KafkaRequest::CommitOffsets {
        offsets: [("k".into(), 4)].into_iter().collect(),
    };
    nodes[2].on_message(
        Time::from_millis(5),
        request("c1", Some(2), commit),
        &mut out,
    );
    out.drain().count();
    exchange(
        &mut nodes,
        Time::ZERO,
        Time::from_millis(200),
        Duration::from_millis(1),
        &|_, _| false,
    );
    let mut all: Vec<u64> = nodes[0]
        .node()
        .entries("k")
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    all.sort_unstable();
    offsets.sort_unstable();
    assert_eq!(all, offsets, "every entry everywhere");
    let list = KafkaRequest::ListCommittedOffsets {
        keys: vec!["k".into()],
    };
    nodes[0].on_message(
        Time::from_millis(300),
        request("c1", Some(3), list),
        &mut out,
    );
    let listed = body_value(&out.drain().next().expect("a reply")).expect("encodes");
    assert_eq!(listed["offsets"], json!({"k": 4}));
}

#[test]
fn a_send_past_the_offset_space_is_refused_and_stores_nothing() {
    let mut n0 = machine("n0", &["n0", "n1"]);
    let mut out = Outbox::new();
    // A peer replicates an entry at the largest storable offset: n0's next offset of its
    // residue class no longer fits.
    let batch = ReplicateBatch {
        from: 0,
        entries: vec![("k".into(), u64::MAX - 1, json!("far"))],
        marks: None,
        ack_entries: 0,
        ack_version: 0,
        life: 1,
        ack_life: 0,
        base: 0,
        gone: Vec::new(),
    };
    n0.on_message(
        Time::ZERO,
        request("n1", None, KafkaRequest::KafkaReplicate(batch)),
        &mut out,
    );
    for attempt in 0..2 {
        let send = KafkaRequest::Send {
            key: "k".into(),
            msg: json!(attempt),
        };
        n0.on_message(Time::from_millis(1), request("c1", Some(1), send), &mut out);
        let replies: Vec<_> = out.drain().collect();
        let error = replies.iter().find_map(|r| r.error()).expect("refused");
        assert_eq!(error.code, ErrorCode::TemporarilyUnavailable);
        assert!(error.is_definite());
    }
    assert_eq!(
        n0.node().entries("k"),
        vec![(u64::MAX - 1, json!("far"))],
        "nothing stored, nothing overwritten"
    );
    assert_eq!(n0.node().backlog(), 0);
}

#[test]
fn refusals_are_definite_errors() {
    for refusal in [
        KafkaRefusal::BacklogFull(BacklogFull(3)),
        KafkaRefusal::OffsetsExhausted("k".into()),
    ] {
        let error = refusal_error::<KafkaNode>(&refusal);
        assert_eq!(error.code, ErrorCode::TemporarilyUnavailable);
        assert!(error.is_definite());
    }
}

/// A node life of `id` among n0 and n1 whose data directory is `disk`.
fn life(id: &str, disk: &glomers_node::Recovered, unix_ms: u64) -> KafkaMachine {
    let info = info(id, &["n0", "n1"]);
    let start = glomers_node::Start {
        unix_ms,
        recovered: disk,
        ..start(&info)
    };
    ReplicaMachine::new(&start, keep_all())
}

fn offset_of(reply: &glomers_node::Outgoing<crate::kafka::KafkaOut>) -> u64 {
    body_value(reply).expect("encodes")["offset"]
        .as_u64()
        .expect("send_ok")
}

#[test]
fn a_killed_node_recovers_what_it_acknowledged_and_its_peer_resends_the_rest() {
    let mut disk = glomers_node::Recovered {
        durable: true,
        ..Default::default()
    };
    let mut nodes = [life("n0", &disk, 1_000), machine("n1", &["n0", "n1"])];
    let mut out = Outbox::new();
    let send = |msg: &str| KafkaRequest::Send {
        key: "k".into(),
        msg: json!(msg),
    };
    nodes[0].on_message(Time::ZERO, request("c1", Some(1), send("a")), &mut out);
    let commit = KafkaRequest::CommitOffsets {
        offsets: [("k".into(), 0)].into_iter().collect(),
    };
    nodes[0].on_message(Time::ZERO, request("c1", Some(2), commit), &mut out);
    assert_eq!(out.writes().len(), 3, "the life, the entry and the commit");
    disk.apply(out.drain_writes());
    out.drain().count();
    nodes[1].on_message(Time::ZERO, request("c2", Some(1), send("b")), &mut out);
    out.drain().count();
    let until = Time::from_millis(100);
    exchange(
        &mut nodes,
        Time::ZERO,
        until,
        Duration::from_millis(1),
        &|_, _| false,
    );
    assert_eq!(nodes[0].node().stable_offset("k"), 2);
    // n0 is killed and starts again from its data directory, as a new life.
    nodes[0] = life("n0", &disk, 2_000);
    assert_eq!(nodes[0].node().entries("k"), vec![(0, json!("a"))]);
    let list = KafkaRequest::ListCommittedOffsets {
        keys: vec!["k".into()],
    };
    nodes[0].on_message(until, request("c3", Some(1), list), &mut out);
    assert_eq!(
        body_value(&out.drain().next().expect("reply")).expect("encodes")["offsets"],
        json!({"k": 0})
    );
    // Its next own offset is past offset 0 of its previous life.
    nodes[0].on_message(until, request("c3", Some(2), send("c")), &mut out);
    assert_eq!(offset_of(&out.drain().next().expect("send_ok")), 2);
    out.drain_writes().count();
    let later = Time::from_millis(300);
    exchange(
        &mut nodes,
        until,
        later,
        Duration::from_millis(1),
        &|_, _| false,
    );
    let all = vec![(0, json!("a")), (1, json!("b")), (2, json!("c"))];
    for node in &nodes {
        assert_eq!(node.node().entries("k"), all);
        assert_eq!(node.node().stable_offset("k"), 3, "and exposed everywhere");
    }
}
