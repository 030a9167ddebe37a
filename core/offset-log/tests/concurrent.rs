//! ConcurrentLog: single-threaded against a Vec model, and two appenders on std threads.
use glomers_offset_log::{ConcurrentLog, Full};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn collect<M: Clone, const N: usize>(
    log: &ConcurrentLog<M, N>,
    from: u64,
    max: usize,
) -> Vec<(u64, M)> {
    let mut v = Vec::new();
    let n = log.read(from, max, |o, m| v.push((o, m.clone())));
    assert_eq!(n, v.len());
    v
}

#[derive(Debug, Clone)]
enum Op {
    Append(u16),
    Read(u64, usize),
}

proptest! {
    #[test]
    fn single_thread_matches_vec(ops in prop::collection::vec(prop_oneof![
        any::<u16>().prop_map(Op::Append),
        (0u64..12, 0usize..6).prop_map(|(f, n)| Op::Read(f, n)),
    ], 0..40)) {
        let log = ConcurrentLog::<u16, 8>::new();
        let mut model: Vec<u16> = Vec::new();
        for op in ops {
            match op {
                Op::Append(m) => {
                    if model.len() == 8 {
                        prop_assert_eq!(log.append(m), Err(Full(m)));
                    } else {
                        prop_assert_eq!(log.append(m), Ok(model.len() as u64));
                        model.push(m);
                    }
                }
                Op::Read(f, n) => {
                    let want: Vec<(u64, u16)> = model.iter().copied().enumerate()
                        .map(|(i, m)| (i as u64, m)).skip(f as usize).take(n).collect();
                    prop_assert_eq!(collect(&log, f, n), want);
                }
            }
            prop_assert_eq!(log.len(), model.len());
            prop_assert_eq!(log.watermark(), model.len() as u64);
        }
    }
}

/// Counts live messages so the test can check Drop drops each exactly once.
struct Tracked {
    id: (u64, u64),
    check: u64,
    live: Arc<AtomicUsize>,
}

impl Tracked {
    fn new(thread: u64, seq: u64, live: &Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            id: (thread, seq),
            check: thread * 1_000_003 + seq,
            live: live.clone(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn two_appenders_and_a_reader() {
    const N: usize = 2000;
    for _round in 0..5 {
        let live = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(ConcurrentLog::<Tracked, N>::new());
        let per = 1100u64; // together more than N: some appends hit Full
        let appenders: Vec<_> = (0..2u64)
            .map(|t| {
                let (log, live) = (log.clone(), live.clone());
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    for s in 0..per {
                        match log.append(Tracked::new(t, s, &live)) {
                            Ok(o) => mine.push((o, s)),
                            Err(Full(m)) => assert_eq!(m.id, (t, s)),
                        }
                    }
                    mine
                })
            })
            .collect();
        let reader = {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut seen_wm = 0u64;
                let mut checks = 0usize;
                while seen_wm < N as u64 {
                    let wm = log.watermark();
                    assert!(wm >= seen_wm, "watermark went backwards");
                    seen_wm = wm;
                    let mut expect = 0u64;
                    log.read(0, usize::MAX, |o, m| {
                        assert_eq!(o, expect, "gap in published prefix");
                        assert_eq!(m.check, m.id.0 * 1_000_003 + m.id.1, "torn entry");
                        expect += 1;
                    });
                    assert!(expect >= wm, "read returned fewer than the watermark");
                    checks += 1;
                }
                checks
            })
        };
        let mut offsets: Vec<u64> = Vec::new();
        let mut per_thread = Vec::new();
        for h in appenders {
            let mine = h.join().unwrap();
            // Within one appender, offsets grow with its sequence.
            assert!(mine.windows(2).all(|w| w[0].0 < w[1].0));
            offsets.extend(mine.iter().map(|x| x.0));
            per_thread.push(mine);
        }
        assert!(reader.join().unwrap() > 0);
        offsets.sort_unstable();
        assert_eq!(
            offsets,
            (0..N as u64).collect::<Vec<_>>(),
            "offsets unique and dense"
        );
        assert_eq!(log.len(), N);
        for (t, mine) in per_thread.iter().enumerate() {
            for &(o, s) in mine {
                log.read(o, 1, |_, m| assert_eq!(m.id, (t as u64, s)));
            }
        }
        assert_eq!(
            live.load(Ordering::SeqCst),
            N,
            "Full gave messages back and dropped them"
        );
        drop(log);
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "drop releases every entry once"
        );
    }
}
