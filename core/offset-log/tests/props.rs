//! Property tests of OffsetLog and BoundedLog against a BTreeMap model.
use glomers_offset_log::{BoundedLog, Entry, Error, InsertOutcome, KeepLast, OffsetLog};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Append(u8, u8),
    InsertAt(u8, u64, u8),
    Read(u8, u64, usize),
    Commit(u8, u64),
    Truncate(u8, u64),
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..3;
    prop_oneof![
        4 => (k.clone(), any::<u8>()).prop_map(|(k, m)| Op::Append(k, m)),
        4 => (k.clone(), 0u64..40, 0u8..3).prop_map(|(k, o, m)| Op::InsertAt(k, o, m)),
        4 => (k.clone(), 0u64..45, 0usize..8).prop_map(|(k, f, n)| Op::Read(k, f, n)),
        1 => (k.clone(), 0u64..40).prop_map(|(k, o)| Op::Commit(k, o)),
        1 => (k, 0u64..40).prop_map(|(k, o)| Op::Truncate(k, o)),
    ]
}

/// The obvious model of one key's log.
#[derive(Default, Debug)]
struct Model {
    entries: BTreeMap<u64, u8>,
    next: u64,
    floor: u64,
    committed: Option<u64>,
}

impl Model {
    fn append(&mut self, m: u8) -> u64 {
        let o = self.next;
        self.entries.insert(o, m);
        self.next = o + 1;
        o
    }
    fn insert_at(&mut self, o: u64, m: u8) -> Result<InsertOutcome, Error> {
        if o < self.floor {
            return Ok(InsertOutcome::BelowRetention);
        }
        match self.entries.get(&o) {
            Some(&x) if x == m => Ok(InsertOutcome::AlreadyPresent),
            Some(_) => Err(Error::Conflict { offset: o }),
            None => {
                self.entries.insert(o, m);
                self.next = self.next.max(o + 1);
                Ok(InsertOutcome::Inserted)
            }
        }
    }
    fn read(&self, from: u64, max: usize) -> Vec<Entry<u8>> {
        self.entries
            .range(from..)
            .take(max)
            .map(|(&offset, &msg)| Entry { offset, msg })
            .collect()
    }
    fn commit(&mut self, o: u64) -> u64 {
        let c = self.committed.map_or(o, |c| c.max(o));
        self.committed = Some(c);
        c
    }
    fn truncate(&mut self, o: u64) -> usize {
        self.floor = self.floor.max(o);
        let keep = self.entries.split_off(&o);
        let n = self.entries.len();
        self.entries = keep;
        n
    }
}

fn strictly_increasing(s: &[Entry<u8>]) -> bool {
    s.windows(2).all(|w| w[0].offset < w[1].offset)
}

/// An `OffsetLog` read as owned entries, to compare with the model.
fn read_owned(log: &OffsetLog<u8, u8>, k: u8, from: u64, max: usize) -> Vec<Entry<u8>> {
    log.read(&k, from, max)
        .map(|(offset, &msg)| Entry { offset, msg })
        .collect()
}

/// Chunk capacities to run the model against: tiny ones make a few dozen operations split
/// chunks, open new ones and turn dense chunks sparse; the default is what nodes use.
fn chunk_capacity() -> impl Strategy<Value = usize> {
    prop_oneof![2usize..6, Just(OffsetLog::<u8, u8>::DEFAULT_CHUNK)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn offset_log_matches_model(
        ops in prop::collection::vec(op(), 0..80),
        chunk in chunk_capacity(),
    ) {
        let mut log = OffsetLog::<u8, u8>::with_chunk_capacity(chunk);
        let mut model: BTreeMap<u8, Model> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Append(k, m) => {
                    let o = log.append(&k, m).unwrap();
                    prop_assert_eq!(o, model.entry(k).or_default().append(m));
                }
                Op::InsertAt(k, o, m) => {
                    prop_assert_eq!(log.insert_at(&k, o, m), model.entry(k).or_default().insert_at(o, m));
                }
                Op::Read(k, f, n) => {
                    let view = log.read(&k, f, n);
                    let len = view.len();
                    let got = read_owned(&log, k, f, n);
                    let want = model.get(&k).map_or(vec![], |m| m.read(f, n));
                    prop_assert_eq!(len, want.len(), "view length");
                    prop_assert_eq!(&got, &want);
                    prop_assert_eq!(
                        log.get(&k, f),
                        model.get(&k).and_then(|m| m.entries.get(&f)),
                        "point lookup at {}", f
                    );
                }
                Op::Commit(k, o) => {
                    let before = log.committed(&k);
                    let c = log.commit(&k, o);
                    prop_assert_eq!(c, model.entry(k).or_default().commit(o));
                    prop_assert!(before.is_none_or(|b| b <= c), "commit went backwards");
                    prop_assert_eq!(log.committed(&k), Some(c));
                }
                Op::Truncate(k, o) => {
                    // An unknown key gets the floor too (and becomes known).
                    let want = model.entry(k).or_default().truncate(o);
                    prop_assert_eq!(log.truncate_before(&k, o), want);
                }
            }
            for (k, m) in &model {
                let all = read_owned(&log, *k, 0, usize::MAX);
                prop_assert!(strictly_increasing(&all));
                prop_assert_eq!(all.len(), m.entries.len());
                prop_assert_eq!(log.len(k), m.entries.len());
                prop_assert_eq!(log.next_offset(k), m.next);
                prop_assert_eq!(log.committed(k), m.committed);
            }
        }
    }

    #[test]
    fn bounded_log_matches_model(ops in prop::collection::vec(op(), 0..80)) {
        const N: usize = 12;
        let mut log = BoundedLog::<u8, N>::new();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Append(_, m) => {
                    if model.entries.len() == N {
                        prop_assert_eq!(log.append(m), Err(Error::Full));
                    } else {
                        prop_assert_eq!(log.append(m), Ok(model.append(m)));
                    }
                }
                Op::InsertAt(_, o, m) => {
                    let r = log.insert_at(o, m);
                    let new = o >= model.floor && !model.entries.contains_key(&o);
                    if new && model.entries.len() == N {
                        prop_assert_eq!(r, Err(Error::Full));
                    } else {
                        prop_assert_eq!(r, model.insert_at(o, m));
                    }
                }
                Op::Read(_, f, n) => prop_assert_eq!(log.read(f, n), &model.read(f, n)[..]),
                Op::Commit(_, o) => prop_assert_eq!(log.commit(o), model.commit(o)),
                Op::Truncate(_, o) => prop_assert_eq!(log.truncate_before(o), model.truncate(o)),
            }
            prop_assert!(strictly_increasing(log.read(0, usize::MAX)));
            prop_assert_eq!(log.len(), model.entries.len());
            prop_assert_eq!(log.next_offset(), model.next);
            prop_assert_eq!(log.committed(), model.committed);
        }
    }

    /// Residue-class replication: each of `r` nodes appends its own offsets
    /// `node, node + r, ...`, and every node learns the others' entries in any order.
    #[test]
    fn residue_classes_converge(
        r in 2u64..4,
        n in 1u64..12,
        seed in any::<u64>(),
        chunk in chunk_capacity(),
    ) {
        let mut all: Vec<(u64, u64)> = (0..n * r).map(|o| (o, o * 7 + 1)).collect();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..all.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            all.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let mut log = OffsetLog::<String, u64>::with_chunk_capacity(chunk);
        for &(o, m) in &all {
            prop_assert_eq!(log.insert_at("k", o, m), Ok(InsertOutcome::Inserted));
        }
        for &(o, m) in &all {
            prop_assert_eq!(log.insert_at("k", o, m), Ok(InsertOutcome::AlreadyPresent));
            prop_assert_eq!(log.insert_at("k", o, m + 1), Err(Error::Conflict { offset: o }));
        }
        let got: Vec<u64> = log.read("k", 0, usize::MAX).map(|(o, _)| o).collect();
        prop_assert_eq!(got, (0..n * r).collect::<Vec<_>>());
        prop_assert_eq!(log.append("k", 0), Ok(n * r));
    }
}

#[test]
fn read_after_truncation_starts_at_first_retained() {
    let mut log = OffsetLog::<&str, u32>::new();
    for i in 0..10 {
        log.append(&"a", i).unwrap();
    }
    log.append(&"b", 100).unwrap();
    assert_eq!(log.apply_retention(&mut KeepLast(4)), 6);
    let r = log.read(&"a", 0, 2);
    assert_eq!(r.map(|(o, _)| o).collect::<Vec<_>>(), vec![6, 7]);
    assert_eq!(log.read(&"b", 0, 9).len(), 1);
    // A late replica below the floor is not resurrected; offsets are not reused.
    assert_eq!(log.insert_at(&"a", 2, 2), Ok(InsertOutcome::BelowRetention));
    assert_eq!(log.append(&"a", 10), Ok(10));
    assert_eq!(log.insert_at(&"a", u64::MAX, 0), Err(Error::Exhausted));
    assert!(log.read(&"zzz", 0, 10).is_empty());
    assert_eq!(log.keys().copied().collect::<Vec<_>>(), vec!["a", "b"]);
    // A floor learnt before any entry of the key still discards what arrives below it.
    assert_eq!(log.truncate_before(&"c", 5), 0);
    assert_eq!(log.insert_at(&"c", 3, 3), Ok(InsertOutcome::BelowRetention));
    assert_eq!(log.insert_at(&"c", 5, 5), Ok(InsertOutcome::Inserted));
    assert_eq!(log.read(&"c", 0, 9).len(), 1);
}
