//! Cross-check of the rw-register checker against `adya`'s rw-register analysis (with
//! `wfr_keys`, Maelstrom's setting), where the two can agree.
//!
//! Their inferences differ on purpose: this checker orders a key's versions by every
//! read-before-write and write-before-write of a txn and indexes every writer, adya (as
//! Elle) by a txn's first read and last write, so this checker finds cycles adya cannot
//! (`maelstrom_issue_56_is_g0` in the tests shows one); and Maelstrom's rule makes an
//! empty dependency graph invalid here, unknown there. What must agree: on serial
//! histories, neither finds an anomaly but an empty graph; an aborted read is G1a for
//! both; an intermediate read G1b for both.

use super::tests::{serial_history, steps};
use super::*;
use crate::history::{Op, OpType, Process};
use glomers_node::Time;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

/// The history as adya reads it: one JSON object per line, integer processes.
fn to_adya(h: &History) -> adya::History {
    adya::History::from_json(&h.client_jsonl()).unwrap_or_default()
}

/// Reported types of both checkers under `m`, the empty graph left out.
fn both(h: &History, m: ConsistencyModel) -> (BTreeSet<String>, BTreeSet<String>) {
    let ours = check(h, &[m]).details["anomaly_types"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(String::from))
        .filter(|t| t != "empty-transaction-graph")
        .collect();
    let opts = adya::Opts {
        models: vec![m.as_str().into()],
        wfr_keys: true,
        ..adya::Opts::default()
    };
    let theirs = adya::check(&to_adya(h), adya::Workload::RwRegister, &opts)
        .anomaly_types
        .into_iter()
        .filter(|t| t != "empty-transaction-graph")
        .collect();
    (ours, theirs)
}

fn push(h: &mut History, p: u64, kind: OpType, value: serde_json::Value) {
    let time = h
        .ops
        .last()
        .map_or(Time::ZERO, |o| o.time + Duration::from_nanos(1));
    h.push(Op {
        index: 0,
        time,
        process: Process::Client(p),
        kind,
        f: "txn".into(),
        value: value.into(),
        is_final: false,
        error: None,
        node: None,
    });
}

proptest! {
    /// Serial histories: nothing for either checker.
    #[test]
    fn serial_histories_agree(steps in steps()) {
        let mut h = serial_history(&steps);
        // Every invocation completes, as in recorded histories.
        let pairs = h.pairs();
        let open: Vec<(Process, serde_json::Value)> = h.ops.iter()
            .filter(|o| o.kind == OpType::Invoke && pairs[o.index].is_none())
            .map(|o| (o.process, o.value.clone().into_json()))
            .collect();
        for (p, v) in open {
            if let Process::Client(p) = p {
                push(&mut h, p, OpType::Info, v);
            }
        }
        for m in ConsistencyModel::ALL {
            let (ours, theirs) = both(&h, m);
            prop_assert!(ours.is_empty() && theirs.is_empty(), "{m}: {ours:?} {theirs:?}");
        }
    }
}

#[test]
fn aborted_and_intermediate_reads_agree() {
    let mut h = History::default();
    for (p, kind, v) in [
        (0, OpType::Invoke, json!([["w", 1, 1]])),
        (0, OpType::Fail, json!([["w", 1, 1]])),
        (1, OpType::Invoke, json!([["r", 1, null]])),
        (1, OpType::Ok, json!([["r", 1, 1]])),
        (2, OpType::Invoke, json!([["w", 2, 1], ["w", 2, 2]])),
        (2, OpType::Ok, json!([["w", 2, 1], ["w", 2, 2]])),
        (3, OpType::Invoke, json!([["r", 2, null]])),
        (3, OpType::Ok, json!([["r", 2, 1]])),
    ] {
        push(&mut h, p, kind, v);
    }
    let (ours, theirs) = both(&h, ConsistencyModel::ReadCommitted);
    for t in ["G1a", "G1b"] {
        assert!(
            ours.contains(t) && theirs.contains(t),
            "{t}: {ours:?} {theirs:?}"
        );
    }
}
