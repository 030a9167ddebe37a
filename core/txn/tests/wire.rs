//! Wire encodings: Maelstrom micro-operations, stamps and replicated write sets.

use glomers_txn::{Isolation, MicroOp, RegisterMap, Stamp, WriteSet};
use serde_json::json;

#[test]
fn micro_ops_parse_and_print_as_maelstrom_arrays() {
    let txn: Vec<MicroOp> = serde_json::from_value(json!([
        ["r", 1, null],
        ["w", 1, 6],
        ["w", 2, 9],
        ["r", 3, 4]
    ]))
    .expect("valid txn parses");
    assert_eq!(
        txn,
        vec![
            MicroOp::read(1),
            MicroOp::write(1, 6),
            MicroOp::write(2, 9),
            MicroOp::Read {
                key: 3,
                value: Some(4)
            },
        ]
    );
    let mut store = RegisterMap::new();
    let applied = store
        .apply(&txn[..3], Isolation::ReadCommitted, Stamp::new(1, 0))
        .commit();
    assert_eq!(
        serde_json::to_value(&applied.completed).expect("serialises"),
        json!([["r", 1, null], ["w", 1, 6], ["w", 2, 9]])
    );
    let applied = store
        .apply(
            &[MicroOp::read(2)],
            Isolation::ReadCommitted,
            Stamp::new(2, 0),
        )
        .commit();
    assert_eq!(
        serde_json::to_value(&applied.completed).expect("serialises"),
        json!([["r", 2, 9]])
    );
}

#[test]
fn malformed_micro_ops_are_refused() {
    for bad in [
        json!(["x", 1, null]),
        json!(["r", 1]),
        json!(["r", 1, null, 4]),
        json!(["w", 1, null]),
        json!(["w", "k", 1]),
        json!({"r": 1}),
        json!([]),
    ] {
        assert!(
            serde_json::from_value::<MicroOp>(bad.clone()).is_err(),
            "accepted {bad}"
        );
    }
}

#[test]
fn generic_keys_and_values_round_trip() {
    let ops: Vec<MicroOp<u64, i32>> = vec![MicroOp::write(u64::MAX, -3), MicroOp::read(0)];
    let text = serde_json::to_string(&ops).expect("serialises");
    assert_eq!(text, r#"[["w",18446744073709551615,-3],["r",0,null]]"#);
    let back: Vec<MicroOp<u64, i32>> = serde_json::from_str(&text).expect("parses");
    assert_eq!(back, ops);
}

#[test]
fn write_sets_use_the_compact_replication_form() {
    let set = WriteSet {
        stamp: Stamp::new(9, 1),
        writes: vec![(1i64, 2i64), (3, 4)],
    };
    let value = serde_json::to_value(&set).expect("serialises");
    assert_eq!(value, json!([9, 1, [[1, 2], [3, 4]]]));
    assert_eq!(
        serde_json::from_value::<WriteSet>(value).expect("parses"),
        set
    );
    assert_eq!(
        serde_json::to_value(Stamp::new(5, 2)).expect("serialises"),
        json!([5, 2])
    );
    assert!(serde_json::from_value::<WriteSet>(json!([9, -1, []])).is_err());
    assert!(serde_json::from_value::<WriteSet>(json!([9, 1])).is_err());
}
