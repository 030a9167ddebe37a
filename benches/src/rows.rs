//! The rows of `BENCHMARKS.md`, in order: each pairs a glomers benchmark id with the id of
//! the baseline measured in the same run (the ids the bench targets register).

use crate::table::{Row, Target};

/// Messages per second the `echo` binary must reach end to end.
pub const ECHO_RATE_TARGET: f64 = 1.2e6;

/// The `e2e` benchmark id of the previous runtime's `echo` binary (measured only when
/// [`crate::e2e_report::BASELINE_ECHO_ENV`] names it).
pub const BASELINE_ECHO_ID: &str = "e2e/echo-baseline";

const fn wire(figure: &'static str, ours: &'static str, baseline: &'static str) -> Row {
    Row {
        figure,
        ours,
        baseline_label: "typed serde_json, borrowed structs",
        baseline,
        unit: "msgs",
        target: Target::None,
    }
}

/// The rows of the table.
pub const ROWS: &[Row] = &[
    Row {
        figure: "flake `Flake::next_id` + coarse clock read, 1 thread",
        ours: "flake/flake-1t",
        baseline_label: "`uuid` v4, 1 thread",
        baseline: "flake/uuid-v4-1t",
        unit: "ids",
        target: Target::Speedup(10.0),
    },
    Row {
        figure: "flake `Flake::next_id` + coarse clock read, 1 thread",
        ours: "flake/flake-1t",
        baseline_label: "decimal-string id, 1 thread",
        baseline: "flake/decimal-1t",
        unit: "ids",
        target: Target::None,
    },
    Row {
        figure: "flake `Flake::next_id` + precise clock read (`SystemTime`), 1 thread",
        ours: "flake/flake-1t-precise",
        baseline_label: "`uuid` v4, 1 thread",
        baseline: "flake/uuid-v4-1t",
        unit: "ids",
        target: Target::None,
    },
    Row {
        figure: "offset log `OffsetLog::append`, 1M entries over 100 keys",
        ours: "offset-log/append",
        baseline_label: "`Vec` + `HashMap<key, Vec<offset>>` under `RwLock`",
        baseline: "offset-log/append-rwlock-baseline",
        unit: "appends",
        target: Target::Speedup(3.0),
    },
    Row {
        figure: "offset log `OffsetLog::read`, random key and offset, 10 entries copied",
        ours: "offset-log/read",
        baseline_label: "same baseline, read lock + binary search",
        baseline: "offset-log/read-rwlock-baseline",
        unit: "reads",
        target: Target::Speedup(3.0),
    },
    Row {
        figure: "retry ring `MpRing` push+pop, uncontended",
        ours: "ring/mpring-1t",
        baseline_label: "`crossbeam_queue::ArrayQueue`",
        baseline: "ring/arrayqueue-1t",
        unit: "pairs",
        target: Target::Speedup(1.0),
    },
    Row {
        figure: "retry ring `MpRing` push+pop, uncontended",
        ours: "ring/mpring-1t",
        baseline_label: "`std::sync::mpsc::sync_channel`",
        baseline: "ring/sync-channel-1t",
        unit: "pairs",
        target: Target::None,
    },
    Row {
        figure: "retry ring `MpRing`, 2 producers + 1 consumer",
        ours: "ring/mpring-2p",
        baseline_label: "`crossbeam_queue::ArrayQueue`",
        baseline: "ring/arrayqueue-2p",
        unit: "pairs",
        target: Target::Speedup(1.0),
    },
    Row {
        figure: "retry ring `MpRing`, 2 producers + 1 consumer",
        ours: "ring/mpring-2p",
        baseline_label: "`std::sync::mpsc::sync_channel`",
        baseline: "ring/sync-channel-2p",
        unit: "pairs",
        target: Target::None,
    },
    Row {
        figure: "`handoff`: 64 KiB buffers from a producer thread and back (pool 3, ring 4)",
        ours: "ring/handoff-64k",
        baseline_label: "two `std::sync::mpsc::sync_channel`s (filled, emptied)",
        baseline: "ring/sync-channel-handoff-64k",
        unit: "buffers",
        target: Target::None,
    },
    Row {
        figure: "G-counter `MapGCounter::merge`, two 25-node states",
        ours: "gcounter/merge-map",
        baseline_label: "`HashMap<String, u64>` max-merge",
        baseline: "gcounter/merge-hashmap-baseline",
        unit: "merges",
        target: Target::None,
    },
    Row {
        figure: "G-counter `BoundedGCounter<32>::merge`, two 25-node states",
        ours: "gcounter/merge-bounded",
        baseline_label: "`HashMap<String, u64>` max-merge",
        baseline: "gcounter/merge-hashmap-baseline",
        unit: "merges",
        target: Target::None,
    },
    Row {
        figure: "txn `RegisterMap::apply`+`commit`, 1-4 ops over 1000 keys",
        ours: "txn/apply-commit",
        baseline_label: "`Mutex<HashMap>` applied in place",
        baseline: "txn/mutex-hashmap-baseline",
        unit: "txns",
        target: Target::None,
    },
    Row {
        figure: "txn `RegisterMap::execute`+`merge` (replicated path)",
        ours: "txn/execute-merge",
        baseline_label: "`Mutex<HashMap>` applied in place",
        baseline: "txn/mutex-hashmap-baseline",
        unit: "txns",
        target: Target::None,
    },
    wire(
        "wire decode `echo` into `EchoIn`: one pass (`decode_line`, the runtime's read)",
        "wire/decode-echo-one-pass",
        "wire/decode-echo-serde-json",
    ),
    wire(
        "wire decode `echo` into `EchoIn`: full read (`read_envelope` + `Envelope::decode`)",
        "wire/decode-echo-node",
        "wire/decode-echo-serde-json",
    ),
    wire(
        "wire decode `broadcast` into `BroadcastIn`: one pass (`decode_line`, the runtime's read)",
        "wire/decode-broadcast-one-pass",
        "wire/decode-broadcast-serde-json",
    ),
    wire(
        "wire decode `broadcast` into `BroadcastIn`: full read (`read_envelope` + `Envelope::decode`)",
        "wire/decode-broadcast-node",
        "wire/decode-broadcast-serde-json",
    ),
    wire(
        "wire decode kafka `send` into `KafkaRequest`: one pass (`decode_line`, the runtime's read)",
        "wire/decode-send-one-pass",
        "wire/decode-send-serde-json",
    ),
    wire(
        "wire decode kafka `send` into `KafkaRequest`: full read (`read_envelope` + `Envelope::decode`)",
        "wire/decode-send-node",
        "wire/decode-send-serde-json",
    ),
    wire(
        "wire encode `echo_ok`: `encode_line_into`",
        "wire/encode-echo-ok-node",
        "wire/encode-echo-ok-serde-json",
    ),
    wire(
        "wire encode `broadcast_ok`: `encode_line_into`",
        "wire/encode-broadcast-ok-node",
        "wire/encode-broadcast-ok-serde-json",
    ),
    wire(
        "wire encode `read_ok` (1000 values): `encode_line_into`",
        "wire/encode-read-ok-node",
        "wire/encode-read-ok-serde-json",
    ),
    wire(
        "wire encode kafka `poll_ok` (4 keys × 25): `encode_line_into`",
        "wire/encode-poll-ok-node",
        "wire/encode-poll-ok-serde-json",
    ),
    Row {
        figure: "file store: 100 appends of 100 B, then one `sync` (group commit)",
        ours: "segment-append/group-commit-100",
        baseline_label: "one append, then one `sync` (fsync per record), same file system",
        baseline: "segment-append/fsync-each",
        unit: "appends",
        target: Target::None,
    },
    Row {
        figure: "file store recovery: `FileStore::open` of a log of 1 M records of 32 B (CRC-checked, indexed)",
        ours: "segment-recovery/open-1m",
        baseline_label: "reading the same segment files into one buffer, no checks",
        baseline: "segment-recovery/read-bytes-1m",
        unit: "records",
        target: Target::None,
    },
    Row {
        figure: "end to end: `echo` binary, stdin→stdout",
        ours: "e2e/echo-binary",
        baseline_label: "same pipe loop through `cat`",
        baseline: "e2e/cat",
        unit: "msgs",
        target: Target::Rate(ECHO_RATE_TARGET),
    },
    Row {
        figure: "end to end: `echo` binary, stdin→stdout",
        ours: "e2e/echo-binary",
        baseline_label: "previous runtime's `echo` binary (tokio handler runtime)",
        baseline: BASELINE_ECHO_ID,
        unit: "msgs",
        target: Target::Speedup(1.0),
    },
    Row {
        figure: "in process: echo line → `Runtime::handle_line` → output drained",
        ours: "e2e/inproc-runtime",
        baseline_label: "same loop, typed serde_json",
        baseline: "e2e/inproc-typed-serde-json",
        unit: "msgs",
        target: Target::None,
    },
    Row {
        figure: "list-append checker (`checkers::list_append::check`), one strict serializable history of 20,000 txns, strict-serializable (2 s per history = 10 k txns/s)",
        ours: "list-append/check-20k",
        baseline_label: "`adya` 0.1 list-append check, same history",
        baseline: "list-append/adya-20k",
        unit: "txns",
        target: Target::SpeedupAndRate(1.0, 1e4),
    },
    Row {
        figure: "lin-kv checker, Raft-guide-shaped history (3 nodes, 12 threads, 1,800 ops, partitions, `info` ops); target: all in 1 s",
        ours: "linearizable/raft-guide",
        baseline_label: "same split and search without memoization",
        baseline: "linearizable/raft-guide-no-memo-baseline",
        unit: "ops",
        target: Target::Rate(1_800.0),
    },
    Row {
        figure: "lin-kv checker, 100,000-op history (5 nodes, 20 threads, partitions, `info` ops); target: all in 10 s",
        ours: "linearizable/ops-100k",
        baseline_label: "same search, porcupine's memo (every state entered); without memo it does not finish",
        baseline: "linearizable/ops-100k-porcupine-memo-baseline",
        unit: "ops",
        target: Target::Rate(10_000.0),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_have_unique_well_formed_ids() {
        let mut pairs = std::collections::HashSet::new();
        for r in ROWS {
            for id in [r.ours, r.baseline] {
                let parts: Vec<&str> = id.split('/').collect();
                assert_eq!(parts.len(), 2, "{id}");
                assert!(
                    id.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || b == b'-'
                        || b == b'/'),
                    "{id}"
                );
            }
            assert!(
                pairs.insert((r.ours, r.baseline)),
                "duplicate row {}",
                r.ours
            );
        }
        assert!(ROWS.iter().any(|r| r.baseline == BASELINE_ECHO_ID));
    }
}
