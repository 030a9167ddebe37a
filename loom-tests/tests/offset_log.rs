//! loom models of `glomers_offset_log::ConcurrentLog`, the fixed-capacity log with
//! concurrent appenders (reservation `fetch_add`, per-slot publish flags, a watermark that
//! appenders advance past every contiguous published slot).
//!
//! Invariant checked in every explored interleaving, with two appenders and one reader:
//! * the reader never sees a gap (offsets `0, 1, ..` in order), a torn entry (every entry
//!   read is intact and is exactly the message whose `append` returned that offset), or a
//!   reused offset (offsets returned by `append` are distinct, and an entry once read never
//!   changes);
//! * the watermark only grows and never passes the capacity;
//! * exactly `min(attempts, N)` appends succeed, every refused message is handed back
//!   unchanged, and once the appenders are joined every appended entry is visible;
//! * every message is dropped exactly once (by the caller when refused, by the log
//!   otherwise).
#![cfg(loom)]

use std::mem::MaybeUninit;

use glomers_offset_log::{ConcurrentLog, Full};
use glomers_sync::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use loom_tests::{explore, Ledger, Tracked};

/// What a model needs of a log; implemented by the real log and by the mutant below.
trait Log: Send + Sync + 'static {
    fn append(&self, msg: Tracked) -> Result<u64, Tracked>;
    fn read(&self, from: u64, max: usize, f: impl FnMut(u64, &Tracked)) -> usize;
    fn watermark(&self) -> u64;
}

impl<const N: usize> Log for ConcurrentLog<Tracked, N> {
    fn append(&self, msg: Tracked) -> Result<u64, Tracked> {
        ConcurrentLog::append(self, msg).map_err(|Full(m)| m)
    }
    fn read(&self, from: u64, max: usize, f: impl FnMut(u64, &Tracked)) -> usize {
        ConcurrentLog::read(self, from, max, f)
    }
    fn watermark(&self) -> u64 {
        ConcurrentLog::watermark(self)
    }
}

/// One read of the whole log: the `(offset, id)` pairs seen, checked to be a gap-free,
/// intact prefix.
fn read_prefix<L: Log>(log: &L, cap: usize) -> Vec<(u64, u32)> {
    let mut seen = Vec::new();
    let n = log.read(0, usize::MAX, |off, m| {
        assert_eq!(off, seen.len() as u64, "gap: offset {off} after {seen:?}");
        assert!(m.is_intact(), "torn entry at offset {off}");
        seen.push((off, m.id));
    });
    assert_eq!(n, seen.len(), "read miscounted the entries it visited");
    assert!(n <= cap, "read past the capacity");
    seen
}

/// Appender `a` appends `counts[a]` messages with ids `10 * a + k` while one reader reads
/// the whole log `reads` times; then every check of the module invariant.
fn model<L: Log>(make: fn() -> L, cap: usize, counts: &'static [u32], reads: usize) {
    let ledger = Ledger::new();
    let log = Arc::new(make());
    let appenders: Vec<_> = counts
        .iter()
        .enumerate()
        .map(|(a, &count)| {
            let log = Arc::clone(&log);
            let ledger = std::sync::Arc::clone(&ledger);
            thread::spawn(move || {
                let mut done = Vec::new();
                for k in 0..count {
                    let id = 10 * a as u32 + k;
                    match log.append(Tracked::new(id, &ledger)) {
                        Ok(off) => done.push((off, id)),
                        Err(back) => {
                            assert_eq!(back.id, id, "Full handed back another message");
                            assert!(back.is_intact(), "Full handed back a torn message");
                        }
                    }
                }
                done
            })
        })
        .collect();

    let reader = {
        let log = Arc::clone(&log);
        thread::spawn(move || {
            let mut views: Vec<Vec<(u64, u32)>> = Vec::new();
            let mut last_mark = 0;
            for _ in 0..reads {
                let mark = log.watermark();
                assert!(
                    mark >= last_mark,
                    "watermark went back from {last_mark} to {mark}"
                );
                assert!(mark <= cap as u64, "watermark past the capacity");
                last_mark = mark;
                let view = read_prefix(&*log, cap);
                assert!(
                    view.len() as u64 >= mark,
                    "read saw fewer entries than the watermark"
                );
                views.push(view);
            }
            views
        })
    };

    let per_appender: Vec<Vec<(u64, u32)>> = appenders
        .into_iter()
        .map(|h| h.join().expect("appender panicked"))
        .collect();
    let mut appended: Vec<(u64, u32)> = per_appender.iter().flatten().copied().collect();
    for done in &per_appender {
        assert!(
            done.windows(2).all(|w| w[0].0 < w[1].0),
            "an appender's own offsets did not increase: {done:?}"
        );
    }
    appended.sort_unstable();
    let attempts: u32 = counts.iter().sum();
    assert_eq!(
        appended.len(),
        (attempts as usize).min(cap),
        "wrong number of successful appends: {appended:?}"
    );
    let offsets: Vec<u64> = appended.iter().map(|&(o, _)| o).collect();
    assert_eq!(
        offsets,
        (0..appended.len() as u64).collect::<Vec<_>>(),
        "offsets reused or skipped"
    );

    // Every entry the reader saw is the one appended at that offset, and later reads extend
    // earlier ones (an entry never changes once visible).
    let views = reader.join().expect("reader panicked");
    for (r, view) in views.iter().enumerate() {
        assert_eq!(
            view[..],
            appended[..view.len()],
            "read {r} disagrees with the appends"
        );
    }
    assert_eq!(
        log.watermark(),
        appended.len() as u64,
        "watermark stuck below a published slot after every appender finished"
    );
    assert_eq!(
        read_prefix(&*log, cap),
        appended,
        "final read misses entries"
    );

    // Refused messages were dropped by their appender; the rest go with the log.
    let all: u64 = counts
        .iter()
        .enumerate()
        .flat_map(|(a, &c)| (0..c).map(move |k| 10 * a as u32 + k))
        .fold(0, |m, id| m | 1 << id);
    let in_log: u64 = appended.iter().fold(0, |m, &(_, id)| m | 1 << id);
    assert_eq!(
        ledger.dropped(),
        all & !in_log,
        "a message dropped early or leaked"
    );
    drop(log);
    assert_eq!(ledger.dropped(), all, "the log leaked a message on drop");
}

/// Two appenders, one message each, into a log of capacity 2 (it just fits) while the
/// reader reads twice.
#[test]
fn two_appenders_fill_exactly() {
    let runs = explore(|| model(ConcurrentLog::<Tracked, 2>::new, 2, &[1, 1], 2));
    assert!(runs > 1, "loom explored a single interleaving");
}

/// The full case: three messages (two from one appender) into capacity 2: exactly two are
/// taken, the third is handed back, whichever appender races for the last slot.
#[test]
fn full_log_hands_the_message_back() {
    let runs = explore(|| model(ConcurrentLog::<Tracked, 2>::new, 2, &[2, 1], 1));
    assert!(runs > 1, "loom explored a single interleaving");
}

/// Capacity 3, two plus one messages: an appender can publish past an unpublished slot, so
/// the watermark must wait and then be advanced by whichever appender fills the hole.
#[test]
fn watermark_waits_for_holes_then_catches_up() {
    let runs = explore(|| model(ConcurrentLog::<Tracked, 3>::new, 3, &[2, 1], 1));
    assert!(runs > 1, "loom explored a single interleaving");
}

/// TEST-ONLY MUTANT: a copy of `ConcurrentLog`'s protocol whose publish flags are set and
/// read with plain `store(Release)` / `load(Acquire)` instead of read-modify-writes when
/// `plain_flags` is true. Two appenders filling adjacent slots can then each miss the
/// other's flag (store buffering), leaving the watermark below a published slot forever.
/// With `plain_flags == false` it is the real protocol (the control).
struct FlagLog<const N: usize> {
    plain_flags: bool,
    reserved: AtomicUsize,
    watermark: AtomicUsize,
    published: [AtomicBool; N],
    slots: [UnsafeCell<MaybeUninit<Tracked>>; N],
}

// SAFETY: as for `ConcurrentLog`: slot `i` is written only by the holder of reservation `i`,
// before its flag is released, and read only below the watermark, which passes only
// acquired published flags. `Tracked` is `Send + Sync`.
unsafe impl<const N: usize> Sync for FlagLog<N> {}

impl<const N: usize> FlagLog<N> {
    fn new(plain_flags: bool) -> Self {
        FlagLog {
            plain_flags,
            reserved: AtomicUsize::new(0),
            watermark: AtomicUsize::new(0),
            published: std::array::from_fn(|_| AtomicBool::new(false)),
            slots: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
        }
    }

    fn set_flag(&self, i: usize) {
        if self.plain_flags {
            self.published[i].store(true, Ordering::Release);
        } else {
            self.published[i].swap(true, Ordering::AcqRel);
        }
    }

    fn flag(&self, i: usize) -> bool {
        if self.plain_flags {
            self.published[i].load(Ordering::Acquire)
        } else {
            self.published[i].fetch_or(false, Ordering::AcqRel)
        }
    }

    fn advance(&self) {
        let mut w = self.watermark.load(Ordering::Acquire);
        while w < N && self.flag(w) {
            match self
                .watermark
                .compare_exchange(w, w + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => w += 1,
                Err(now) => w = now,
            }
        }
    }
}

impl<const N: usize> Log for FlagLog<N> {
    fn append(&self, msg: Tracked) -> Result<u64, Tracked> {
        if self.reserved.load(Ordering::Relaxed) >= N {
            return Err(msg);
        }
        let i = self.reserved.fetch_add(1, Ordering::Relaxed);
        if i >= N {
            return Err(msg);
        }
        // SAFETY: reservation `i` is this thread's alone and the slot is still unpublished.
        self.slots[i].with_mut(|p| unsafe { (*p).write(msg) });
        self.set_flag(i);
        self.advance();
        Ok(i as u64)
    }

    fn read(&self, from: u64, max: usize, mut f: impl FnMut(u64, &Tracked)) -> usize {
        let w = self.watermark.load(Ordering::Acquire);
        let start = usize::try_from(from).map_or(w, |s| s.min(w));
        let end = start.saturating_add(max).min(w);
        for i in start..end {
            // SAFETY: below the watermark: published, initialised, never written again.
            self.slots[i].with(|p| f(i as u64, unsafe { (*p).assume_init_ref() }));
        }
        end - start
    }

    fn watermark(&self) -> u64 {
        self.watermark.load(Ordering::Acquire) as u64
    }
}

impl<const N: usize> Drop for FlagLog<N> {
    fn drop(&mut self) {
        for i in 0..N {
            if self.published[i].load(Ordering::Relaxed) {
                // SAFETY: published implies initialised; dropped once, here.
                self.slots[i].with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
    }
}

/// Control: the copied protocol with read-modify-write flags passes the same model, so the
/// mutant below fails only because of its flags.
#[test]
fn copied_protocol_with_rmw_flags_passes() {
    let runs = explore(|| model(|| FlagLog::<2>::new(false), 2, &[1, 1], 1));
    assert!(runs > 1, "loom explored a single interleaving");
}

/// The mutant with plain flag accesses must leave the watermark stuck in some
/// interleaving: proof that loom explores weak-memory (store-buffering) outcomes.
#[test]
#[should_panic(expected = "watermark stuck")]
fn mutant_plain_flag_log_is_caught() {
    explore(|| model(|| FlagLog::<2>::new(true), 2, &[1, 1], 1));
}
