//! Loom model of ConcurrentLog (run with `RUSTFLAGS="--cfg loom" cargo test --test loom`):
//! two appenders racing into a log of capacity 2 while a reader reads; the reader only
//! sees a gap-free prefix and, after both appenders finish, the watermark covers both.
#![cfg(loom)]
use glomers_offset_log::ConcurrentLog;
use loom::sync::Arc;

#[test]
fn two_appenders_publish_gap_free() {
    loom::model(|| {
        let log = Arc::new(ConcurrentLog::<u32, 2>::new());
        let hs: Vec<_> = (0..2u32)
            .map(|t| {
                let log = log.clone();
                loom::thread::spawn(move || log.append(t + 10).unwrap())
            })
            .collect();
        let mut expect = 0u64;
        log.read(0, 2, |o, m| {
            assert_eq!(o, expect);
            assert!(*m == 10 || *m == 11);
            expect += 1;
        });
        let offs: Vec<u64> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert_ne!(offs[0], offs[1]);
        assert_eq!(log.watermark(), 2, "watermark stuck below a published slot");
        assert!(log.append(0).is_err());
    });
}
