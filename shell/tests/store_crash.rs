//! Crash tests of the file store: records written and synced, a segment damaged the way a
//! crash or a bad disk damages one, then the store reopened. Every complete record before
//! the damage must come back, nothing after it, the damage must be reported (in the
//! returned repairs and as a warning on stderr), and appends must continue right after the
//! last good record.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use glomers_segment::{Damage, Header, HeaderError, FRAME_HEADER_LEN, HEADER_LEN};
use glomers_shell::store::{Action, FileStore, Problem, Recovered, StoreOptions};
use proptest::prelude::*;

const LOG: &str = "kafka-log";

/// Small segments (about 10 records of `rec`'s sizes each), so damage can hit a middle one.
fn opts() -> StoreOptions {
    StoreOptions {
        segment_bytes: 256,
        ..StoreOptions::default()
    }
}

/// Record `i`: 10 to 29 bytes that name it.
fn rec(i: usize) -> Vec<u8> {
    let mut r = format!("record-{i:04}:").into_bytes();
    r.resize(10 + i % 20, b'x');
    r
}

/// A store in `dir` holding records `0..n` of `LOG`, synced and closed.
fn write(dir: &Path, n: usize) {
    let (mut store, rec0) = FileStore::open_with(dir, opts()).unwrap();
    assert!(rec0.repairs.is_empty());
    for i in 0..n {
        assert_eq!(store.append(LOG, &rec(i)).unwrap(), i as u64);
    }
    store.sync().unwrap();
}

/// The segment files of `LOG`, in index order.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir.join("logs").join(LOG))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The base index a segment file is named for.
fn base(path: &Path) -> usize {
    path.file_stem().unwrap().to_str().unwrap().parse().unwrap()
}

/// Where the frame of record `i` starts in its segment, which starts at record `base`.
fn frame_pos(base: usize, i: usize) -> u64 {
    (HEADER_LEN
        + (base..i)
            .map(|j| FRAME_HEADER_LEN + rec(j).len())
            .sum::<usize>()) as u64
}

fn reopen(dir: &Path) -> (FileStore, Recovered) {
    FileStore::open_with(dir, opts()).unwrap()
}

fn kept(r: &Recovered) -> Vec<Vec<u8>> {
    r.logs.get(LOG).map(|l| l.to_vecs()).unwrap_or_default()
}

fn first(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(rec).collect()
}

/// Appends one more record after recovery, syncs, reopens: it must follow the last good one.
fn appends_continue(dir: &Path, mut store: FileStore, good: usize) {
    assert_eq!(store.append(LOG, b"after").unwrap(), good as u64);
    store.sync().unwrap();
    drop(store);
    let (_, r) = reopen(dir);
    let mut want = first(good);
    want.push(b"after".to_vec());
    assert_eq!(kept(&r), want);
    assert!(r.repairs.is_empty(), "{:?}", r.repairs);
}

fn set_len(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn xor_byte(path: &Path, pos: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[pos as usize] ^= 0x5a;
    fs::write(path, bytes).unwrap();
}

#[test]
fn a_record_cut_mid_payload_is_dropped_and_no_earlier_one() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 50);
    let segs = segments(dir.path());
    let last = segs.last().unwrap();
    let len = fs::metadata(last).unwrap().len();
    set_len(last, len - 3);
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(49));
    assert_eq!(r.repairs.len(), 1);
    let repair = &r.repairs[0];
    assert_eq!(&repair.path, last);
    assert!(matches!(
        repair.problem,
        Problem::Damage {
            damage: Damage::TornPayload { .. },
            ..
        }
    ));
    assert_eq!(repair.action, Action::Truncated(frame_pos(base(last), 49)));
    assert_eq!(fs::metadata(last).unwrap().len(), frame_pos(base(last), 49));
    appends_continue(dir.path(), store, 49);
}

#[test]
fn a_frame_header_cut_short_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 50);
    let last = segments(dir.path()).pop().unwrap();
    set_len(&last, frame_pos(base(&last), 49) + 5);
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(49));
    assert!(matches!(
        r.repairs[0].problem,
        Problem::Damage {
            damage: Damage::TornHeader { available: 5 },
            ..
        }
    ));
    appends_continue(dir.path(), store, 49);
}

#[test]
fn a_bad_checksum_in_a_middle_segment_drops_it_from_there_and_all_later_segments() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 60);
    let segs = segments(dir.path());
    assert!(segs.len() >= 4, "{segs:?}");
    let victim = &segs[1];
    let b = base(victim);
    // The CRC field of the segment's third record.
    xor_byte(victim, frame_pos(b, b + 2) + 5);
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(b + 2));
    assert!(matches!(
        r.repairs[0].problem,
        Problem::Damage {
            damage: Damage::BadChecksum { .. },
            ..
        }
    ));
    assert_eq!(r.repairs.len(), segs.len() - 1);
    let in_victim = base(&segs[2]) - (b + 3);
    assert_eq!(
        r.repairs[0].dropped_records, in_victim as u64,
        "valid records after it"
    );
    let later: u64 = r.repairs[1..].iter().map(|x| x.dropped_records).sum();
    assert_eq!(later, 60 - base(&segs[2]) as u64);
    for (repair, seg) in r.repairs[1..].iter().zip(&segs[2..]) {
        assert_eq!(
            (&repair.path, &repair.problem, repair.action),
            (seg, &Problem::AfterDamage, Action::Removed)
        );
        assert!(!seg.exists());
    }
    appends_continue(dir.path(), store, b + 2);
}

#[test]
fn a_flipped_payload_byte_in_the_last_segment_loses_only_that_record_and_later() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 40);
    let last = segments(dir.path()).pop().unwrap();
    let b = base(&last);
    xor_byte(&last, frame_pos(b, b + 1) + FRAME_HEADER_LEN as u64 + 3);
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(b + 1));
    assert!(matches!(
        r.repairs[0].problem,
        Problem::Damage {
            damage: Damage::BadChecksum { .. },
            ..
        }
    ));
    appends_continue(dir.path(), store, b + 1);
}

#[test]
fn garbage_after_the_last_record_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 30);
    let last = segments(dir.path()).pop().unwrap();
    let len = fs::metadata(&last).unwrap().len();
    OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap()
        .write_all(b"\xde\xad\xbe\xef garbage")
        .unwrap();
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(30));
    assert_eq!((r.repairs.len(), r.repairs[0].dropped_bytes), (1, 12));
    assert_eq!(r.repairs[0].action, Action::Truncated(len));
    appends_continue(dir.path(), store, 30);
}

#[test]
fn a_zero_filled_tail_is_named_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 30);
    let last = segments(dir.path()).pop().unwrap();
    let len = fs::metadata(&last).unwrap().len();
    set_len(&last, len + 4096);
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(30));
    assert_eq!(
        r.repairs[0].problem,
        Problem::Damage {
            at: len,
            damage: Damage::ZeroTail { len: 4096 }
        }
    );
    appends_continue(dir.path(), store, 30);
}

#[test]
fn zeros_over_the_last_records_lose_those_records_only() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 30);
    let last = segments(dir.path()).pop().unwrap();
    let b = base(&last);
    let mut bytes = fs::read(&last).unwrap();
    let from = frame_pos(b, 29) as usize + 2;
    bytes[from..].fill(0);
    fs::write(&last, bytes).unwrap();
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(29));
    assert_eq!(r.repairs.len(), 1);
    appends_continue(dir.path(), store, 29);
}

#[test]
fn a_middle_segment_cut_at_a_frame_boundary_leaves_a_gap_that_ends_the_log() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 60);
    let segs = segments(dir.path());
    let b = base(&segs[1]);
    set_len(&segs[1], frame_pos(b, b + 3));
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(b + 3));
    let gap = Problem::Gap {
        expected: b as u64 + 3,
        found: base(&segs[2]) as u64,
    };
    assert_eq!(r.repairs[0].problem, gap);
    assert!(r.repairs[1..]
        .iter()
        .all(|x| x.problem == Problem::AfterDamage));
    appends_continue(dir.path(), store, b + 3);
}

#[test]
fn a_missing_middle_segment_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 60);
    let segs = segments(dir.path());
    fs::remove_file(&segs[1]).unwrap();
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(base(&segs[1])));
    assert!(matches!(r.repairs[0].problem, Problem::Gap { .. }));
    appends_continue(dir.path(), store, base(&segs[1]));
}

#[test]
fn an_empty_segment_file_left_by_a_roll_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 20);
    let next = dir
        .path()
        .join("logs")
        .join(LOG)
        .join(format!("{:020}.seg", 20));
    fs::File::create(&next).unwrap();
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(20));
    assert_eq!(r.repairs.len(), 1);
    assert_eq!(
        (&r.repairs[0].path, &r.repairs[0].problem),
        (&next, &Problem::Header(HeaderError::Short { len: 0 }))
    );
    appends_continue(dir.path(), store, 20);
}

#[test]
fn a_segment_whose_header_disagrees_with_its_name_ends_the_log() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 60);
    let segs = segments(dir.path());
    let mut bytes = fs::read(&segs[3]).unwrap();
    bytes[..HEADER_LEN].copy_from_slice(&Header { base: 5 }.encode());
    fs::write(&segs[3], bytes).unwrap();
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(base(&segs[3])));
    let named = base(&segs[3]) as u64;
    assert_eq!(
        r.repairs[0].problem,
        Problem::BaseMismatch { named, header: 5 }
    );
    assert_eq!(r.repairs.len(), segs.len() - 3);
    appends_continue(dir.path(), store, base(&segs[3]));
}

#[test]
fn a_log_whose_only_segment_lost_its_header_restarts_empty_where_it_was_named() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 3);
    let only = segments(dir.path()).pop().unwrap();
    xor_byte(&only, 9);
    let (store, r) = reopen(dir.path());
    assert!(kept(&r).is_empty());
    assert!(matches!(
        r.repairs[0].problem,
        Problem::Header(HeaderError::BadChecksum { .. })
    ));
    appends_continue(dir.path(), store, 0);
}

#[test]
fn a_values_temp_file_left_behind_is_removed_and_the_old_value_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = reopen(dir.path());
    store.put("commits", b"old").unwrap();
    store.sync().unwrap();
    store.put("commits", b"new, never synced").unwrap();
    drop(store);
    let temp = dir.path().join("values").join(".commits.tmp");
    assert!(temp.exists());
    let (mut store, r) = reopen(dir.path());
    assert_eq!(
        r.values.get("commits").map(Vec::as_slice),
        Some(&b"old"[..])
    );
    assert_eq!(
        (&r.repairs[0].path, &r.repairs[0].problem),
        (&temp, &Problem::StrayTemp)
    );
    assert!(!temp.exists());
    store.put("commits", b"newer").unwrap();
    store.sync().unwrap();
    let (_, r) = reopen(dir.path());
    assert_eq!(
        r.values.get("commits").map(Vec::as_slice),
        Some(&b"newer"[..])
    );
    assert!(r.repairs.is_empty());
}

#[test]
fn a_damaged_value_file_is_reported_and_not_returned() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = reopen(dir.path());
    store.put("a", b"alpha").unwrap();
    store.put("b", b"beta").unwrap();
    store.sync().unwrap();
    drop(store);
    let a = dir.path().join("values").join("a");
    let len = fs::metadata(&a).unwrap().len();
    xor_byte(&a, len - 1);
    let (_, r) = reopen(dir.path());
    assert_eq!(r.values.keys().collect::<Vec<_>>(), ["b"]);
    assert!(matches!(&r.repairs[0].problem, Problem::BadValue(why) if why.contains("checksum")));
}

#[test]
fn foreign_files_and_directories_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 15);
    let logs = dir.path().join("logs").join(LOG);
    fs::create_dir(logs.join(format!("{:020}.seg", 999))).unwrap();
    fs::write(logs.join("notes.txt"), b"hello").unwrap();
    fs::create_dir(dir.path().join("values").join("adir")).unwrap();
    fs::write(dir.path().join("logs").join(".stray"), b"x").unwrap();
    let (store, r) = reopen(dir.path());
    assert_eq!(kept(&r), first(15));
    assert!(r.repairs.is_empty() && r.values.is_empty());
    assert!(logs.join("notes.txt").exists());
    appends_continue(dir.path(), store, 15);
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn recovery_warns_naming_the_file_and_what_was_dropped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 30);
    let last = segments(dir.path()).pop().unwrap();
    let len = fs::metadata(&last).unwrap().len();
    set_len(&last, len - 1);
    let out = Captured::default();
    let sink = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let r = tracing::subscriber::with_default(subscriber, || reopen(dir.path()).1);
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert_eq!(r.repairs.len(), 1);
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains(&last.display().to_string()), "{text}");
    assert!(text.contains("torn record"), "{text}");
    assert!(
        text.contains(&format!("{} bytes", r.repairs[0].dropped_bytes)),
        "{text}"
    );
}

#[test]
fn a_clean_reopen_repairs_nothing_and_warns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 45);
    let out = Captured::default();
    let sink = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .finish();
    let r = tracing::subscriber::with_default(subscriber, || reopen(dir.path()).1);
    assert_eq!(kept(&r), first(45));
    assert!(r.repairs.is_empty());
    assert!(out.0.lock().unwrap().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random records, one segment cut at a random byte: exactly the records before the
    /// cut come back (all of earlier segments, the whole frames of the cut one), and the
    /// store goes on from there.
    #[test]
    fn any_truncation_keeps_exactly_the_records_before_it(
        sizes in proptest::collection::vec(0usize..120, 1..60),
        which in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, n)| vec![i as u8; *n]).collect();
        let (mut store, _) = reopen(dir.path());
        for r in &records {
            store.append(LOG, r).unwrap();
        }
        store.sync().unwrap();
        drop(store);
        let segs = segments(dir.path());
        let seg = &segs[which.index(segs.len())];
        let len = fs::metadata(seg).unwrap().len() as usize;
        let cut = cut.index(len + 1);
        set_len(seg, cut as u64);
        let b = base(seg);
        let mut good = b;
        let mut end = HEADER_LEN;
        if cut >= HEADER_LEN {
            while good < records.len() && end + FRAME_HEADER_LEN + records[good].len() <= cut {
                end += FRAME_HEADER_LEN + records[good].len();
                good += 1;
            }
        }
        let whole = cut == len;
        if whole {
            good = records.len();
        }
        let (mut store, r) = reopen(dir.path());
        prop_assert_eq!(kept(&r), records[..good].to_vec());
        // No repair when nothing was cut, or when the last segment lost whole frames only.
        let last = Some(seg) == segs.last();
        let clean = whole || (last && cut >= HEADER_LEN && end == cut);
        prop_assert_eq!(r.repairs.is_empty(), clean, "{:?}", r.repairs);
        prop_assert_eq!(store.append(LOG, b"next").unwrap(), good as u64);
        store.sync().unwrap();
        drop(store);
        let (_, r) = reopen(dir.path());
        let mut want = records[..good].to_vec();
        want.push(b"next".to_vec());
        prop_assert_eq!(kept(&r), want);
    }
}
