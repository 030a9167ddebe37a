use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::format;
use std::string::String;
use std::vec::Vec;

const T0: u64 = EPOCH_UNIX_MS + 1_000_000;

fn node(i: u16) -> NodeIndex {
    NodeIndex::new(i).unwrap()
}

/// One change of the simulated wall clock, followed by `calls` ids drawn at that reading.
#[derive(Clone, Debug)]
enum Tick {
    Still,
    Forward(u64),
    Back(u64),
    Jump(u64),
}

fn ticks() -> impl Strategy<Value = Vec<(Tick, u16)>> {
    let tick = prop_oneof![
        3 => Just(Tick::Still),
        3 => (1u64..5).prop_map(Tick::Forward),
        2 => (1u64..200).prop_map(Tick::Back),
        1 => (1u64..100_000).prop_map(Tick::Jump),
    ];
    // Some bursts exceed 4096 ids in one reading, to exhaust the sequence.
    let calls = prop_oneof![8 => 1u16..20, 1 => 4000u16..9000];
    proptest::collection::vec((tick, calls), 1..40)
}

/// The clock readings a tick script produces, starting at `start`.
fn readings(start: u64, script: &[(Tick, u16)]) -> Vec<u64> {
    let mut now = start;
    let mut out = Vec::new();
    for (tick, calls) in script {
        now = match tick {
            Tick::Still => now,
            Tick::Forward(d) => now + d,
            Tick::Back(d) => now.saturating_sub(*d).max(EPOCH_UNIX_MS),
            Tick::Jump(d) => now + d,
        };
        out.extend(core::iter::repeat_n(now, usize::from(*calls)));
    }
    out
}

/// Checks the per-generator invariants of one run of `mint` (a [`Flake`]) stamping `node`;
/// returns the ids issued.
fn check_run(
    node: NodeIndex,
    mut mint: impl FnMut(u64) -> Result<FlakeId, FlakeError>,
    reads: &[u64],
    max_lead: u64,
) -> Result<Vec<FlakeId>, TestCaseError> {
    let mut ids: Vec<FlakeId> = Vec::new();
    for &now in reads {
        match mint(now) {
            Ok(id) => {
                let p = id.parts();
                prop_assert!(id.get() < (1 << 63), "sign bit set");
                prop_assert_eq!(p.node, node);
                prop_assert!(p.unix_ms >= now, "id behind its clock reading");
                prop_assert!(p.unix_ms - now <= max_lead, "lead bound broken");
                if let Some(last) = ids.last() {
                    prop_assert!(
                        id > *last,
                        "not strictly increasing: {:?} after {:?}",
                        id,
                        last
                    );
                }
                ids.push(id);
            }
            Err(FlakeError::ClockBehind { lead_ms }) => {
                prop_assert!(lead_ms > max_lead);
                let last = ids.last().map(|l| l.parts().unix_ms).unwrap_or(0);
                prop_assert!(last + 1 > now + max_lead, "refused although in bounds");
            }
            Err(e) => return Err(TestCaseError::fail(format!("unexpected {e}"))),
        }
    }
    Ok(ids)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn ids_unique_and_increasing_under_any_clock(script in ticks(), n in 0u16..1024) {
        let reads = readings(T0, &script);
        let mut gen = Flake::with_max_lead(node(n), u64::MAX);
        let ids = check_run(gen.node(), |now| gen.next_id(now), &reads, u64::MAX)?;
        prop_assert_eq!(ids.len(), reads.len(), "an unbounded generator never refuses");
        let set: BTreeSet<_> = ids.iter().collect();
        prop_assert_eq!(set.len(), ids.len());
    }

    #[test]
    fn lead_bound_is_kept_and_refusals_change_nothing(script in ticks(), lead in 0u64..300) {
        let reads = readings(T0, &script);
        let mut gen = Flake::with_max_lead(node(3), lead);
        check_run(gen.node(), |now| gen.next_id(now), &reads, lead)?;
    }

    #[test]
    fn distinct_nodes_never_collide(a in ticks(), b in ticks(), na in 0u16..1024, nb in 0u16..1024) {
        prop_assume!(na != nb);
        let mut ga = Flake::with_max_lead(node(na), u64::MAX);
        let mut gb = Flake::with_max_lead(node(nb), u64::MAX);
        // Same starting clock, so the time fields overlap heavily.
        let ia: BTreeSet<_> = check_run(ga.node(), |now| ga.next_id(now), &readings(T0, &a), u64::MAX)?.into_iter().collect();
        let ib: BTreeSet<_> = check_run(gb.node(), |now| gb.next_id(now), &readings(T0, &b), u64::MAX)?.into_iter().collect();
        prop_assert!(ia.is_disjoint(&ib));
    }

    #[test]
    fn restart_after_last_logical_time_never_repeats(
        before in ticks(), after in ticks(), gap in 1u64..5000,
    ) {
        let mut old = Flake::with_max_lead(node(5), u64::MAX);
        let old_ids = check_run(old.node(), |now| old.next_id(now), &readings(T0, &before), u64::MAX)?;
        let last_logical = old_ids.last().map(|id| id.parts().unix_ms).unwrap_or(T0);
        // The restarted node's first reading is later than the old logical time; later
        // readings may go back again.
        let mut new = Flake::with_max_lead(node(5), u64::MAX);
        let new_ids = check_run(new.node(), |now| new.next_id(now), &readings(last_logical + gap, &after), u64::MAX)?;
        let old_set: BTreeSet<_> = old_ids.into_iter().collect();
        for id in new_ids {
            prop_assert!(!old_set.contains(&id), "restart repeated {:?}", id);
        }
    }

    #[test]
    fn parts_round_trip(ms in 0..=MAX_LOGICAL_MS, n in 0u16..1024, seq in 0u16..4096) {
        let parts = Parts { unix_ms: EPOCH_UNIX_MS + ms, node: node(n), seq };
        let id = FlakeId::from_parts(parts).unwrap();
        prop_assert_eq!(decode(id), parts);
        prop_assert!(id.as_i64() >= 0);
        prop_assert_eq!(FlakeId::try_from(id.get()), Ok(id));
    }

    #[test]
    fn any_raw_id_round_trips(raw in 0u64..(1 << 63)) {
        let id = FlakeId::try_from(raw).unwrap();
        prop_assert_eq!(FlakeId::from_parts(id.parts()), Ok(id));
    }

    #[test]
    fn node_parse_never_panics(s in "\\PC{0,8}") {
        if let Ok(i) = NodeIndex::parse(&s) {
            prop_assert_eq!(format!("n{}", i.get()), s);
        }
    }

    #[test]
    fn node_parse_canonical(k in 0u32..100_000) {
        let r = NodeIndex::parse(&format!("n{k}"));
        if k < 1024 {
            prop_assert_eq!(r.map(NodeIndex::get), Ok(k as u16));
        } else {
            prop_assert_eq!(r, Err(NodeIdError::OutOfRange));
        }
    }
}

#[test]
fn sequence_exhaustion_borrows_next_millisecond() {
    let mut g = Flake::new(node(7));
    let ids: Vec<_> = (0..3 * 4096).map(|_| g.next_id(T0).unwrap()).collect();
    let base = T0;
    assert_eq!(
        ids[0].parts(),
        Parts {
            unix_ms: base,
            node: node(7),
            seq: 0
        }
    );
    assert_eq!(ids[4095].parts().seq, 4095);
    assert_eq!(
        ids[4096].parts(),
        Parts {
            unix_ms: base + 1,
            node: node(7),
            seq: 0
        }
    );
    assert_eq!(
        ids[3 * 4096 - 1].parts(),
        Parts {
            unix_ms: base + 2,
            node: node(7),
            seq: 4095
        }
    );
    // The wall clock catching up continues after the borrowed time, not before it.
    let next = g.next_id(T0 + 1).unwrap().parts();
    assert_eq!((next.unix_ms, next.seq), (base + 3, 0));
}

#[test]
fn clock_back_keeps_last_millisecond() {
    let mut g = Flake::new(node(2));
    let a = g.next_id(T0).unwrap();
    let b = g.next_id(T0 - 50).unwrap();
    assert!(b > a);
    assert_eq!(
        b.parts(),
        Parts {
            unix_ms: T0,
            node: node(2),
            seq: 1
        }
    );
}

#[test]
fn lead_refusal_then_recovery() {
    let mut g = Flake::with_max_lead(node(1), 100);
    g.next_id(T0).unwrap();
    assert_eq!(
        g.next_id(T0 - 101),
        Err(FlakeError::ClockBehind { lead_ms: 101 })
    );
    let ok = g.next_id(T0 - 100).unwrap();
    assert_eq!(ok.parts().seq, 1);
}

#[test]
fn range_ends_with_typed_errors() {
    let mut g = Flake::new(node(0));
    assert_eq!(
        g.next_id(EPOCH_UNIX_MS - 1),
        Err(FlakeError::ClockBeforeEpoch)
    );
    assert_eq!(g.next_id(MAX_UNIX_MS + 1), Err(FlakeError::TimeExhausted));
    assert_eq!(g.next_id(u64::MAX), Err(FlakeError::TimeExhausted));
    let mut g = Flake::new(node(1023));
    for seq in 0..4096u16 {
        let id = g.next_id(MAX_UNIX_MS).unwrap();
        assert_eq!(
            id.parts(),
            Parts {
                unix_ms: MAX_UNIX_MS,
                node: NodeIndex::MAX,
                seq
            }
        );
    }
    assert_eq!(g.next_id(MAX_UNIX_MS), Err(FlakeError::TimeExhausted));
    // The largest id still has the sign bit clear.
    let top = Parts {
        unix_ms: MAX_UNIX_MS,
        node: NodeIndex::MAX,
        seq: 4095,
    };
    assert_eq!(FlakeId::from_parts(top).unwrap().get(), (1 << 63) - 1);
    assert_eq!(
        FlakeId::from_parts(Parts {
            unix_ms: T0,
            node: NodeIndex::MIN,
            seq: 4096
        }),
        Err(FlakeError::SeqOutOfRange)
    );
    assert_eq!(MAX_UNIX_MS, 3_903_090_455_551, "2093-09-06T15:47:35.551Z");
}

#[test]
fn node_index_errors() {
    assert_eq!(NodeIndex::parse("n7"), Ok(node(7)));
    assert_eq!(NodeIndex::parse("n0"), Ok(node(0)));
    assert_eq!(NodeIndex::parse("n1023"), Ok(NodeIndex::MAX));
    assert_eq!(NodeIndex::parse("n1024"), Err(NodeIdError::OutOfRange));
    assert_eq!(
        NodeIndex::parse("n99999999999999999999"),
        Err(NodeIdError::OutOfRange)
    );
    for bad in [
        "", "n", "c1", "n07", "n+1", "n-1", " n1", "n1 ", "N1", "n1a", "nn1",
    ] {
        assert_eq!(
            NodeIndex::parse(bad),
            Err(NodeIdError::Malformed),
            "{bad:?}"
        );
    }
    assert_eq!("n12".parse::<NodeIndex>(), Ok(node(12)));
    assert_eq!(NodeIndex::new(1023), Ok(NodeIndex::MAX));
    assert_eq!(NodeIndex::new(1024), Err(NodeIdError::OutOfRange));
    assert_eq!(NodeIndex::try_from(u16::MAX), Err(NodeIdError::OutOfRange));
}

#[test]
fn serde_plain_integers() {
    let id = Flake::new(node(4)).next_id(T0).unwrap();
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, format!("{}", id.get()));
    assert_eq!(serde_json::from_str::<FlakeId>(&json).unwrap(), id);
    assert!(serde_json::from_str::<FlakeId>(&format!("{}", 1u64 << 63)).is_err());
    assert!(serde_json::from_str::<FlakeId>("-5").is_err());
    assert!(serde_json::from_str::<FlakeId>("\"5\"").is_err());
    let v: serde_json::Value = serde_json::to_value(id).unwrap();
    assert_eq!(v.as_i64(), Some(id.as_i64()));
}

#[test]
fn display_messages_are_distinct() {
    let msgs: BTreeSet<String> = [
        FlakeError::ClockBeforeEpoch,
        FlakeError::ClockBehind { lead_ms: 3 },
        FlakeError::TimeExhausted,
        FlakeError::SeqOutOfRange,
    ]
    .iter()
    .map(|e| format!("{e}"))
    .chain(
        [NodeIdError::Malformed, NodeIdError::OutOfRange]
            .iter()
            .map(|e| format!("{e}")),
    )
    .collect();
    assert_eq!(msgs.len(), 6);
}
