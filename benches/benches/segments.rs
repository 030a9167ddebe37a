//! The file store of durable nodes (`glomers_shell::store`), on a directory under the cargo
//! target directory (the file system the project is built on, never a RAM disk):
//!
//! - `segment-append/group-commit-100`: 100 appends of 100-byte records to one log, then
//!   one `sync` (one `fdatasync`) — group commit; against `segment-append/fsync-each`, one
//!   append then one `sync`, i.e. an fsync per record. Both stores keep at most 64 MiB per
//!   log (size retention), so the disk use stays bounded however long criterion runs.
//! - `segment-recovery/open-1m`: `FileStore::open` of a store holding one log of 1,000,000
//!   records of 32 bytes (40 MB in five 8 MiB segments): reading every segment, checking
//!   every header and CRC, rebuilding the sparse indexes, handing back every record; against
//!   `segment-recovery/read-bytes-1m`, reading the same files one after the other into one
//!   buffer (as recovery does) with no check at all. Both read from the page cache after
//!   the first iteration, and both free what they read inside the timing.
//!
//! Ids are those of `table::ROWS`.

use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glomers_benches::paths;
use glomers_shell::store::{FileStore, StoreOptions};

const LOG: &str = "bench-log";
const RECOVERY_RECORDS: u64 = 1_000_000;

/// A fresh, empty directory `name` for one benchmark under the target directory (removed
/// again when the benchmark is done).
fn bench_dir(name: &str) -> PathBuf {
    let dir = paths::target_dir().join("segment-bench").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench directory");
    dir
}

fn append_opts() -> StoreOptions {
    StoreOptions {
        retain_bytes: Some(64 << 20),
        ..StoreOptions::default()
    }
}

fn append(c: &mut Criterion) {
    let record = [0x5au8; 100];
    let mut g = c.benchmark_group("segment-append");
    g.sample_size(10);

    let (group, each) = (bench_dir("group"), bench_dir("each"));
    let (mut store, _) = FileStore::open_with(&group, append_opts()).expect("open");
    g.throughput(Throughput::Elements(100));
    g.bench_function("group-commit-100", |b| {
        b.iter(|| {
            for _ in 0..100 {
                black_box(store.append(LOG, &record).expect("append"));
            }
            store.sync().expect("sync");
        })
    });

    let (mut store, _) = FileStore::open_with(&each, append_opts()).expect("open");
    g.throughput(Throughput::Elements(1));
    g.bench_function("fsync-each", |b| {
        b.iter(|| {
            black_box(store.append(LOG, &record).expect("append"));
            store.sync().expect("sync");
        })
    });
    g.finish();
    for dir in [group, each] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A store in `dir` holding `RECOVERY_RECORDS` records of 32 bytes, synced and closed.
fn fill(dir: &Path) {
    let (mut store, _) = FileStore::open(dir).expect("open");
    let mut record = [0u8; 32];
    for i in 0..RECOVERY_RECORDS {
        record[..8].copy_from_slice(&i.to_le_bytes());
        store.append(LOG, &record).expect("append");
    }
    store.sync().expect("sync");
}

fn recovery(c: &mut Criterion) {
    let dir = bench_dir("recovery");
    fill(&dir);
    let segments: Vec<PathBuf> = std::fs::read_dir(dir.join("logs").join(LOG))
        .expect("segments")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let mut g = c.benchmark_group("segment-recovery");
    g.sample_size(10);
    g.throughput(Throughput::Elements(RECOVERY_RECORDS));
    g.bench_function("open-1m", |b| {
        b.iter(|| {
            let (store, recovered) = FileStore::open(&dir).expect("open");
            assert_eq!(recovered.logs[LOG].len() as u64, RECOVERY_RECORDS);
            assert!(recovered.repairs.is_empty());
            black_box((store, recovered))
        })
    });
    g.bench_function("read-bytes-1m", |b| {
        b.iter(|| {
            let total = segments
                .iter()
                .map(|p| p.metadata().expect("stat").len())
                .sum::<u64>();
            let mut all = Vec::with_capacity(total as usize);
            for p in &segments {
                let mut f = std::fs::File::open(p).expect("open");
                f.read_to_end(&mut all).expect("read");
            }
            black_box(all)
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, append, recovery);
criterion_main!(benches);
