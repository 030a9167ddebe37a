use super::*;

fn small() -> StoreOptions {
    StoreOptions {
        segment_bytes: 300,
        buffer_bytes: 64,
        retain_bytes: None,
        fsync: true,
    }
}

fn rec(i: u64) -> Vec<u8> {
    format!("r{i}-").repeat(1 + (i % 4) as usize).into_bytes()
}

fn segment_count(dir: &Path, log: &str) -> usize {
    std::fs::read_dir(dir.join("logs").join(log))
        .unwrap()
        .count()
}

#[test]
fn every_record_reads_back_by_index_across_segments_and_the_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = FileStore::open_with(dir.path(), small()).unwrap();
    for i in 0..500 {
        assert_eq!(s.append("l", &rec(i)).unwrap(), i);
    }
    assert!(segment_count(dir.path(), "l") > 10);
    // Nothing synced yet: the newest records are still in the buffer.
    for i in 0..500 {
        assert_eq!(s.read("l", i).unwrap(), Some(rec(i)), "record {i}");
    }
    assert_eq!(s.read("l", 500).unwrap(), None);
    assert_eq!(s.read("other", 0).unwrap(), None);
    s.sync().unwrap();
    drop(s);
    let (mut s, r) = FileStore::open_with(dir.path(), small()).unwrap();
    let log = &r.logs["l"];
    assert_eq!((log.start, log.len(), log.next_index()), (0, 500, 500));
    assert!(log.iter().zip(0..).all(|(got, i)| got == rec(i)));
    assert_eq!(s.read("l", 321).unwrap(), Some(rec(321)));
    assert_eq!(s.next_index("l"), 500);
}

#[test]
fn without_fsync_a_sync_still_writes_everything_a_process_crash_must_not_lose() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        fsync: false,
        ..small()
    };
    let (mut s, _) = FileStore::open_with(dir.path(), opts).unwrap();
    for i in 0..300 {
        s.append("l", &rec(i)).unwrap();
    }
    s.put("v", b"one").unwrap();
    s.sync().unwrap();
    s.put("v", b"two").unwrap();
    s.trim("l", 100).unwrap();
    s.sync().unwrap();
    // The process dies here: no drop handler, no flush; only what the syncs wrote counts.
    std::mem::forget(s);
    let (_, r) = FileStore::open_with(dir.path(), opts).unwrap();
    let log = &r.logs["l"];
    assert_eq!(log.next_index(), 300);
    assert!(log.start > 0 && log.start <= 100, "trim kept {}", log.start);
    assert!(log.iter().zip(log.start..).all(|(got, i)| got == rec(i)));
    assert_eq!(r.values["v"], b"two");
    assert!(r.repairs.is_empty(), "{:?}", r.repairs);
}

#[test]
fn a_record_read_back_from_rotten_bytes_is_an_error_not_a_wrong_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = FileStore::open_with(dir.path(), small()).unwrap();
    for i in 0..5 {
        s.append("l", &rec(i)).unwrap();
    }
    s.sync().unwrap();
    let seg = dir.path().join("logs/l").join(disk::segment_name(0));
    let mut bytes = std::fs::read(&seg).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&seg, bytes).unwrap();
    assert!(matches!(
        s.read("l", 4),
        Err(StoreError::Corrupt { index: 4, .. })
    ));
    assert_eq!(s.read("l", 0).unwrap(), Some(rec(0)));
}

#[test]
fn trim_drops_whole_segments_below_the_index_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = FileStore::open_with(dir.path(), small()).unwrap();
    for i in 0..200 {
        s.append("l", &rec(i)).unwrap();
    }
    let before = segment_count(dir.path(), "l");
    s.trim("l", 100).unwrap();
    let first = s.first_index("l");
    assert!(first <= 100 && first > 80, "first {first}");
    assert!(segment_count(dir.path(), "l") < before);
    assert_eq!(s.read("l", first - 1).unwrap(), None);
    assert_eq!(s.read("l", first).unwrap(), Some(rec(first)));
    s.sync().unwrap();
    drop(s);
    let (_, r) = FileStore::open_with(dir.path(), small()).unwrap();
    let log = &r.logs["l"];
    assert_eq!((log.start, log.next_index()), (first, 200));
    assert_eq!(log.get(0), Some(&rec(first)[..]));
    assert!(r.repairs.is_empty());
}

#[test]
fn trimming_everything_keeps_the_next_index() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = FileStore::open_with(dir.path(), small()).unwrap();
    for i in 0..50 {
        s.append("l", &rec(i)).unwrap();
    }
    s.trim("l", u64::MAX).unwrap();
    assert_eq!((s.first_index("l"), s.next_index("l")), (50, 50));
    assert_eq!(segment_count(dir.path(), "l"), 1);
    drop(s);
    let (mut s, r) = FileStore::open_with(dir.path(), small()).unwrap();
    assert_eq!((r.logs["l"].start, r.logs["l"].len()), (50, 0));
    assert_eq!(s.append("l", b"x").unwrap(), 50);
    s.trim("missing", 3).unwrap();
}

#[test]
fn size_retention_keeps_at_most_the_limit_in_whole_segments() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        retain_bytes: Some(1000),
        ..small()
    };
    let (mut s, _) = FileStore::open_with(dir.path(), opts).unwrap();
    for i in 0..400 {
        s.append("l", &rec(i)).unwrap();
        assert!(
            s.log_bytes("l") <= 1000 + opts.segment_bytes + 64,
            "{}",
            s.log_bytes("l")
        );
    }
    let first = s.first_index("l");
    assert!(first > 300, "first {first}");
    s.sync().unwrap();
    drop(s);
    let (_, r) = FileStore::open_with(dir.path(), opts).unwrap();
    assert_eq!(r.logs["l"].start, first);
    assert!(r.logs["l"]
        .iter()
        .zip(first..)
        .all(|(got, i)| got == rec(i)));
}

#[test]
fn names_that_are_not_plain_file_names_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("store");
    let (mut s, _) = FileStore::open(&inner).unwrap();
    for bad in ["../escape", "a/b", "..", ".", "", "x\0y", ".hidden"] {
        assert!(
            matches!(s.append(bad, b"r"), Err(StoreError::BadName { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(s.put(bad, b"v"), Err(StoreError::BadName { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(s.trim(bad, 1), Err(StoreError::BadName { .. })),
            "{bad:?}"
        );
    }
    s.sync().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["store"]);
    assert_eq!(std::fs::read_dir(inner.join("logs")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(inner.join("values")).unwrap().count(), 0);
    assert_eq!(s.append("ok", b"r").unwrap(), 0);
}

#[test]
fn a_put_replaces_the_value_at_sync_and_the_last_put_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, r) = FileStore::open(dir.path()).unwrap();
    assert!(r.values.is_empty() && r.logs.is_empty());
    s.put("v", b"one").unwrap();
    s.put("v", b"two").unwrap();
    s.put("w", b"").unwrap();
    s.sync().unwrap();
    let (_, r) = FileStore::open(dir.path()).unwrap();
    assert_eq!(r.values["v"], b"two");
    assert_eq!(r.values["w"], b"");
    assert!(r.repairs.is_empty());
}

#[test]
fn an_oversized_record_is_refused_and_the_store_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = FileStore::open(dir.path()).unwrap();
    let big = vec![0u8; glomers_segment::MAX_RECORD + 1];
    assert!(matches!(
        s.append("l", &big),
        Err(StoreError::TooLarge { .. })
    ));
    assert!(matches!(s.put("v", &big), Err(StoreError::TooLarge { .. })));
    assert_eq!(s.append("l", b"fine").unwrap(), 0);
    s.sync().unwrap();
    let (_, r) = FileStore::open(dir.path()).unwrap();
    assert_eq!(r.logs["l"].to_vecs(), [b"fine".to_vec()]);
}

#[test]
fn a_failed_write_poisons_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = FileStore::open_with(dir.path(), small()).unwrap();
    s.append("l", b"first").unwrap();
    s.sync().unwrap();
    // The log's directory vanishes: the next roll cannot create its segment.
    std::fs::remove_dir_all(dir.path().join("logs/l")).unwrap();
    let failed = (0..100)
        .map(|i| s.append("l", &rec(i)))
        .find_map(Result::err);
    assert!(
        matches!(failed, Some(StoreError::Io { op: "create", .. })),
        "{failed:?}"
    );
    assert!(matches!(s.append("l", b"x"), Err(StoreError::Poisoned(_))));
    assert!(matches!(s.sync(), Err(StoreError::Poisoned(_))));
    assert!(matches!(s.put("v", b"x"), Err(StoreError::Poisoned(_))));
}
