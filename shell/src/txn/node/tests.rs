//! The txn node through the node contract: replies, replication over the wire encoding,
//! retransmission after loss, refusals.

use super::*;
use crate::replica::testkit::{exchange, info, start};
use crate::replica::{refusal_error, ReplicaMachine};
use crate::txn::TxnMachine;
use glomers_node::codec::body_value;
use glomers_node::{Incoming, Machine, Origin, Outbox};
use serde_json::json;

fn machine(id: &str) -> TxnMachine {
    let info = info(id, &["n0", "n1"]);
    ReplicaMachine::new(&start(&info), TxnConfig::default())
}

fn txn(msg_id: u64, ops: Vec<MicroOp>) -> Incoming<TxnRequest> {
    Incoming {
        origin: Origin {
            src: "c2".into(),
            msg_id: Some(msg_id),
        },
        in_reply_to: None,
        body: TxnRequest::Txn { txn: ops },
    }
}

#[test]
fn transactions_replicate_through_the_wire_encoding_and_the_node_then_sleeps() {
    let mut nodes = [machine("n0"), machine("n1")];
    let mut out = Outbox::new();
    assert_eq!(nodes[0].poll_timeout(), None, "an idle node does not wake");
    nodes[0].on_message(
        Time::from_millis(3),
        txn(3, vec![MicroOp::write(5, 50), MicroOp::read(5)]),
        &mut out,
    );
    let replies: Vec<_> = out.drain().collect();
    assert_eq!(
        body_value(&replies[0]).expect("encodes"),
        json!({"type": "txn_ok", "txn": [["w", 5, 50], ["r", 5, 50]], "in_reply_to": 3})
    );
    assert_eq!(
        nodes[0].poll_timeout(),
        Some(Time::from_millis(20)),
        "the next round on the tick grid"
    );
    let sent = exchange(
        &mut nodes,
        Time::ZERO,
        Time::from_millis(100),
        Duration::from_millis(1),
        &|_, _| false,
    );
    assert_eq!(nodes[1].node().read(5).map(|(v, _)| v), Some(50));
    assert_eq!(
        nodes[0].node().backlog(),
        0,
        "n1 acknowledged the write set"
    );
    assert_eq!(sent, 2, "one batch and one acknowledgement");
    assert!(
        nodes.iter().all(|n| n.poll_timeout().is_none()),
        "both idle again"
    );
}

#[test]
fn a_lost_batch_is_resent_until_it_lands() {
    let mut nodes = [machine("n0"), machine("n1")];
    let mut out = Outbox::new();
    nodes[0].on_message(Time::ZERO, txn(1, vec![MicroOp::write(1, 10)]), &mut out);
    out.drain().count();
    let cut = |_: &str, _: &str| true;
    let during = exchange(
        &mut nodes,
        Time::ZERO,
        Time::from_secs(5),
        Duration::from_millis(1),
        &cut,
    );
    assert!(nodes[1].node().read(1).is_none());
    assert!(
        (3..=12).contains(&during),
        "resends back off while the peer is silent: {during}"
    );
    exchange(
        &mut nodes,
        Time::from_secs(5),
        Time::from_secs(7),
        Duration::from_millis(1),
        &|_, _| false,
    );
    assert_eq!(nodes[1].node().read(1).map(|(v, _)| v), Some(10));
    assert_eq!(nodes[0].node().backlog(), 0);
}

#[test]
fn refusals_map_to_definite_codes() {
    let error = refusal_error::<TxnNode>(&TxnRefusal::BacklogFull(BacklogFull(1)));
    assert_eq!(error.code, ErrorCode::TemporarilyUnavailable);
    assert!(error.is_definite());
}

/// Node n0 (of n0 and n1) starting at wall-clock `unix_ms` from the data directory `disk`.
fn at(unix_ms: u64, disk: &glomers_node::Recovered) -> TxnMachine {
    let info = info("n0", &["n0", "n1"]);
    let start = glomers_node::Start {
        unix_ms,
        recovered: disk,
        ..start(&info)
    };
    ReplicaMachine::new(&start, TxnConfig::default())
}

#[test]
fn a_killed_node_rebuilds_its_store_and_never_reuses_a_stamp() {
    let mut disk = glomers_node::Recovered {
        durable: true,
        ..Default::default()
    };
    let mut n0 = at(1_000, &disk);
    let mut out = Outbox::new();
    n0.on_message(Time::ZERO, txn(1, vec![MicroOp::write(1, 10)]), &mut out);
    n0.on_message(Time::ZERO, txn(2, vec![MicroOp::read(1)]), &mut out);
    assert_eq!(out.writes().len(), 2, "the life, and the one write set");
    disk.apply(out.drain_writes());
    let first = n0.node().read(1).expect("written").1;
    // With its data directory: the store comes back, and new stamps are larger.
    let mut again = at(1_500, &disk);
    assert_eq!(again.node().read(1).map(|(v, _)| v), Some(10));
    again.on_message(Time::ZERO, txn(3, vec![MicroOp::write(2, 20)]), &mut out);
    let second = again.node().read(2).expect("written").1;
    assert!(second > first, "{second:?} after {first:?}");
    // Without it (wiped, later on the clock): empty, and still no stamp reused.
    let mut wiped = at(2_000, &glomers_node::Recovered::default());
    assert_eq!(wiped.node().read(1), None);
    wiped.on_message(Time::ZERO, txn(4, vec![MicroOp::write(1, 11)]), &mut out);
    let third = wiped.node().read(1).expect("written").1;
    assert!(third > second, "{third:?} after {second:?}");
}

#[test]
fn the_journal_is_folded_into_the_current_own_writes_and_read_back() {
    let mut disk = glomers_node::Recovered {
        durable: true,
        ..Default::default()
    };
    let mut n0 = at(1_000, &disk);
    let mut out = Outbox::new();
    let total = COMPACT_AFTER + 10;
    for i in 0..total {
        let (key, value) = ((i % 5) as i64, i as i64);
        let ops = vec![MicroOp::write(key, value), MicroOp::write(100 + key, value)];
        n0.on_message(Time::ZERO, txn(i, ops), &mut out);
        disk.apply(out.drain_writes());
    }
    let (first, records) = disk.log(LOG);
    assert!(first > 0, "the log was trimmed behind a snapshot");
    assert!(
        (records.len() as u64) < total,
        "{} records left",
        records.len()
    );
    let again = at(2_000, &disk);
    for key in (0..5).chain(100..105) {
        assert_eq!(
            again.node().read(key),
            n0.node().read(key),
            "key {key} as before the restart"
        );
    }
    let last_to_4 = (0..total).rev().find(|i| i % 5 == 4).map(|i| i as i64);
    assert_eq!(again.node().read(4).map(|(v, _)| v), last_to_4);
}
