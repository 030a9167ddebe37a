//! Retention through the node contract: what is dropped, where, and what never is.

use super::*;
use crate::kafka::retention::RetentionMode;

const IDS: [&str; 2] = ["n0", "n1"];

fn retaining(id: &str, mode: RetentionMode) -> KafkaMachine {
    let info = info(id, &IDS);
    let mut config = KafkaConfig::default();
    config.retention.mode = mode;
    ReplicaMachine::new(&start(&info), config)
}

/// Client `src`'s request `body` to `node` at `now`; the reply body.
fn ask(node: &mut KafkaMachine, now: Time, src: &str, body: KafkaRequest) -> Value {
    let mut out = Outbox::new();
    node.on_message(now, request(src, Some(1), body), &mut out);
    let replies: Vec<_> = out.drain().filter(|m| m.dest == src).collect();
    body_value(&replies[0]).expect("encodes")
}

fn send(msg: u64) -> KafkaRequest {
    KafkaRequest::Send {
        key: "k".into(),
        msg: json!(msg),
    }
}

fn poll(from: u64) -> KafkaRequest {
    KafkaRequest::Poll {
        offsets: [("k".into(), from)].into_iter().collect(),
    }
}

fn commit(offset: u64) -> KafkaRequest {
    KafkaRequest::CommitOffsets {
        offsets: [("k".into(), offset)].into_iter().collect(),
    }
}

/// Two nodes where client c1 of n0 sent messages 0..10 (offsets 0, 2, .., 18), replicated.
fn ten_sent(mode: RetentionMode) -> [KafkaMachine; 2] {
    let mut nodes = IDS.map(|id| retaining(id, mode));
    for m in 0..10 {
        ask(&mut nodes[0], Time::ZERO, "c1", send(m));
    }
    run(&mut nodes, Time::ZERO, Time::from_millis(100));
    nodes
}

fn run(nodes: &mut [KafkaMachine], from: Time, until: Time) {
    exchange(nodes, from, until, Duration::from_millis(10), &|_, _| false);
}

/// c1 polls n0 from 0, gets all ten, commits the last: one complete poll operation.
fn read_all_and_commit(nodes: &mut [KafkaMachine; 2], now: Time) {
    let polled = ask(&mut nodes[0], now, "c1", poll(0));
    assert_eq!(polled["msgs"]["k"].as_array().map(Vec::len), Some(10));
    ask(&mut nodes[0], now, "c1", commit(18));
}

fn offsets(node: &KafkaMachine) -> Vec<u64> {
    node.node()
        .entries("k")
        .into_iter()
        .map(|(o, _)| o)
        .collect()
}

#[test]
fn what_was_read_and_committed_is_dropped_on_every_node() {
    let mut nodes = ten_sent(RetentionMode::Consumed);
    let t = Time::from_millis(100);
    read_all_and_commit(&mut nodes, t);
    // The client's next request proves the poll's operation completed.
    ask(&mut nodes[0], t, "c1", poll(19));
    run(&mut nodes, t, Time::from_secs(20));
    for node in &nodes {
        assert_eq!(
            offsets(node),
            vec![18],
            "everything below the commit dropped"
        );
    }
    // A fresh reader from 0 starts at the first kept entry.
    let from_zero = ask(&mut nodes[1], Time::from_secs(20), "c2", poll(0));
    assert_eq!(from_zero["msgs"]["k"], json!([[18, 9]]));
}

#[test]
fn a_poll_whose_operation_never_completed_is_never_dropped() {
    for (mode, kept) in [
        (RetentionMode::Consumed, 10),
        (RetentionMode::BelowCommitted, 1),
    ] {
        let mut nodes = ten_sent(mode);
        let t = Time::from_millis(100);
        read_all_and_commit(&mut nodes, t);
        // The commit's reply is lost: c1 gives up and never speaks again, its operation
        // ends `info`, and nobody else has read the messages.
        run(&mut nodes, t, Time::from_secs(40));
        for node in &nodes {
            assert_eq!(offsets(node).len(), kept, "{mode:?}");
        }
    }
}

#[test]
fn a_lagging_client_keeps_what_it_has_not_read() {
    let mut nodes = ten_sent(RetentionMode::Consumed);
    let t = Time::from_millis(100);
    read_all_and_commit(&mut nodes, t);
    ask(&mut nodes[0], t, "c1", poll(19));
    // c2, a client of n1, is still reading from offset 4, once a second.
    let mut now = t;
    for _ in 0..30 {
        let got = ask(&mut nodes[1], now, "c2", poll(4));
        assert_eq!(got["msgs"]["k"][0][0], json!(4), "c2 reads on from 4");
        run(&mut nodes, now, now + Duration::from_secs(1));
        now += Duration::from_secs(1);
    }
    for node in &nodes {
        assert_eq!(offsets(node), vec![4, 6, 8, 10, 12, 14, 16, 18]);
    }
    // c2 falls silent: one session later its position no longer holds anything back.
    run(&mut nodes, now, now + Duration::from_secs(20));
    for node in &nodes {
        assert_eq!(offsets(node), vec![18]);
    }
}

/// Runs a lone node's timeouts from `from` to `until`, keeping its writes on `disk`.
fn run_alone(node: &mut KafkaMachine, disk: &mut glomers_node::Recovered, from: Time, until: Time) {
    let mut out = Outbox::new();
    let mut now = from;
    while now <= until {
        if node.poll_timeout().is_some_and(|t| t <= now) {
            node.on_timeout(now, &mut out);
        }
        disk.apply(out.drain_writes());
        now += Duration::from_millis(100);
    }
}

/// Client `src`'s request to a lone node whose writes go to `disk`; the reply body.
fn ask_kept(
    node: &mut KafkaMachine,
    disk: &mut glomers_node::Recovered,
    now: Time,
    src: &str,
    body: KafkaRequest,
) -> Value {
    let mut out = Outbox::new();
    node.on_message(now, request(src, Some(1), body), &mut out);
    disk.apply(out.drain_writes());
    let reply = out.drain().next().expect("a reply");
    body_value(&reply).expect("encodes")
}

#[test]
fn the_journal_is_folded_into_a_snapshot_of_what_is_kept_and_read_back() {
    use crate::kafka::saved::{COMPACT_AFTER, LOG};
    let mut disk = glomers_node::Recovered {
        durable: true,
        ..Default::default()
    };
    let lone = |disk: &glomers_node::Recovered, unix_ms| {
        let info = info("n0", &["n0"]);
        let start = glomers_node::Start {
            unix_ms,
            recovered: disk,
            ..start(&info)
        };
        ReplicaMachine::new(&start, KafkaConfig::default())
    };
    let mut node = lone(&disk, 1_000);
    let t = Time::from_millis(100);
    for m in 0..10 {
        ask_kept(&mut node, &mut disk, Time::ZERO, "c1", send(m));
    }
    ask_kept(&mut node, &mut disk, t, "c1", poll(0));
    ask_kept(&mut node, &mut disk, t, "c1", commit(9));
    ask_kept(&mut node, &mut disk, t, "c1", poll(10));
    run_alone(&mut node, &mut disk, t, Time::from_secs(20));
    assert_eq!(offsets(&node), vec![9], "read and committed: dropped");
    let later = Time::from_secs(20);
    let more = COMPACT_AFTER + 10;
    for m in 0..more {
        ask_kept(&mut node, &mut disk, later, "c3", send(100 + m));
    }
    run_alone(&mut node, &mut disk, later, later + Duration::from_secs(1));
    let (first, records) = disk.log(LOG);
    assert!(first > 0, "the log was trimmed behind a snapshot");
    assert!(
        (records.len() as u64) < more,
        "{} records left of {}",
        records.len(),
        more + 14
    );
    // A new life reads the snapshot and the log back: the kept entries, not the dropped.
    let back = lone(&disk, 2_000);
    assert_eq!(offsets(&back), offsets(&node));
    assert_eq!(offsets(&back)[0], 9);
    assert_eq!(offsets(&back).len() as u64, more + 1);
}

#[test]
fn a_node_that_kept_a_floor_discards_what_a_peer_still_holds_below_it() {
    use crate::kafka::saved::{Record, LOG};
    // n0's data directory holds only a floor of key k at 19 (its own entries were all
    // below it); n1 forgets nothing and still holds its entries 1, 3, .., 19.
    let mut disk = glomers_node::Recovered {
        durable: true,
        ..Default::default()
    };
    let (mut journal, _) = crate::durable::Journal::recover::<Record>(&disk, LOG, 1);
    journal.keep(&Record::Floor {
        key: "k".into(),
        floor: 19,
    });
    let mut writes = Vec::new();
    journal.take(&mut writes);
    disk.apply(writes);
    let info0 = info("n0", &IDS);
    let start0 = glomers_node::Start {
        unix_ms: 2_000,
        recovered: &disk,
        ..start(&info0)
    };
    let n0 = ReplicaMachine::new(&start0, KafkaConfig::default());
    let mut nodes = [n0, retaining("n1", RetentionMode::Off)];
    for m in 0..10 {
        ask(&mut nodes[1], Time::ZERO, "c1", send(m));
    }
    run(&mut nodes, Time::ZERO, Time::from_millis(100));
    assert_eq!(offsets(&nodes[1]).len(), 10);
    assert_eq!(
        offsets(&nodes[0]),
        vec![19],
        "nothing stored below the kept floor"
    );
    let polled = ask(&mut nodes[0], Time::from_millis(100), "c2", poll(0));
    assert_eq!(polled["msgs"]["k"], json!([[19, 9]]), "no holes served");
}
