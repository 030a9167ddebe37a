//! Compaction in a cluster: a node that missed what the others compacted catches up by
//! snapshot, and a node recovers its own snapshot and log from its disk.

use std::time::Duration;

use serde_json::json;

use super::cluster::Cluster;
use crate::raft::args::lin_kv_defaults;
use crate::raft::kv::KvStore;
use crate::raft::RaftConfig;

const EVERY: u64 = 4;

fn config() -> RaftConfig {
    RaftConfig {
        compact_every: EVERY,
        ..lin_kv_defaults()
    }
}

/// Node `i`'s snapshot index and the length of the log it holds after it.
fn log_shape(c: &Cluster<KvStore>, i: usize) -> (u64, usize) {
    let raft = c.nodes[i]
        .as_ref()
        .and_then(|m| m.raft())
        .expect("a live node");
    (raft.snapshot_index(), raft.storage().entries().len())
}

fn service(c: &Cluster<KvStore>, i: usize) -> KvStore {
    c.nodes[i]
        .as_ref()
        .and_then(|m| m.service())
        .cloned()
        .expect("a live node")
}

#[test]
fn a_node_back_after_compaction_catches_up_by_snapshot_and_recovers_it_from_disk() {
    let mut c = Cluster::<KvStore>::new(3, config(), true);
    c.run_for(Duration::from_secs(3));
    let leader = c.leader().expect("a leader within 3 s");
    let behind = (leader + 1) % 3;
    c.kill(behind);
    for k in 0..24u64 {
        let body = json!({"type": "write", "msg_id": k, "key": k % 5, "value": k});
        c.request("c1", leader, body);
        c.run_for(Duration::from_millis(300));
    }
    let (snapshot, held) = log_shape(&c, leader);
    assert!(snapshot >= 20, "the leader compacted, to {snapshot}");
    assert!(held < 2 * EVERY as usize, "its log holds {held} entries");
    c.restart(behind);
    c.run_for(Duration::from_secs(3));
    assert_eq!(c.violation, None);
    assert_eq!(service(&c, behind), service(&c, leader));
    assert!(
        log_shape(&c, behind).0 >= snapshot,
        "installed the leader's snapshot"
    );
    assert_eq!(service(&c, leader).get(&json!(4)), Some(&json!(19)));
    // Its disk holds the snapshot and the entries after it: a restart recovers both, and
    // re-applies those entries once it learns they are committed.
    let (before, shape) = (service(&c, behind), log_shape(&c, behind));
    c.kill(behind);
    c.restart(behind);
    assert_eq!(log_shape(&c, behind), shape);
    c.run_for(Duration::from_secs(1));
    assert_eq!(service(&c, behind), before);
    assert_eq!(c.violation, None);
}
