//! Wall-clock readings for the id benchmarks.
//!
//! A flake id carries whole milliseconds, so the generator needs a wall clock of
//! millisecond class, not nanoseconds. `CLOCK_REALTIME_COARSE` is that clock: the kernel's
//! last tick, read from the vDSO without touching the time-stamp counter (about 9 ns here
//! against about 60 ns for `SystemTime::now()`), with a resolution of one kernel tick
//! ([`coarse_resolution_ns`], 1-4 ms). std offers no coarse clock, hence `libc`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix milliseconds from `SystemTime::now()` (the precise wall clock).
pub fn precise_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Unix milliseconds from `CLOCK_REALTIME_COARSE`; falls back to [`precise_unix_ms`] if the
/// kernel refuses the clock.
pub fn coarse_unix_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
    match (rc, u64::try_from(ts.tv_sec), u64::try_from(ts.tv_nsec)) {
        (0, Ok(s), Ok(ns)) => s * 1000 + ns / 1_000_000,
        _ => precise_unix_ms(),
    }
}

/// The resolution of `CLOCK_REALTIME_COARSE` in nanoseconds, if the kernel reports one.
pub fn coarse_resolution_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: as above.
    let rc = unsafe { libc::clock_getres(libc::CLOCK_REALTIME_COARSE, &mut ts) };
    let s = u64::try_from(ts.tv_sec).ok()?;
    let ns = u64::try_from(ts.tv_nsec).ok()?;
    (rc == 0).then_some(s * 1_000_000_000 + ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The coarse clock reads Unix milliseconds on the precise clock's scale: never ahead
    /// of it, and within a second behind (a clock on the wrong scale or epoch is off by far
    /// more). How far behind it typically is (one resolution, when the kernel's tick comes
    /// on time) is a timing, not a property: a loaded or virtual machine delays the tick, so
    /// the lags are printed, not asserted.
    #[test]
    fn coarse_clock_tracks_the_precise_clock() {
        let res_ms = coarse_resolution_ns().map_or(0, |ns| ns.div_ceil(1_000_000));
        assert!(res_ms <= 100, "coarse resolution {res_ms} ms");
        let mut lags: Vec<u64> = (0..21)
            .map(|_| {
                std::thread::sleep(std::time::Duration::from_millis(1));
                let before = precise_unix_ms();
                let coarse = coarse_unix_ms();
                let after = precise_unix_ms();
                assert!(coarse <= after, "coarse {coarse} ahead of {after}");
                let lag = before.saturating_sub(coarse);
                assert!(lag < 1000, "coarse {coarse} is {lag} ms behind {before}");
                lag
            })
            .collect();
        lags.sort_unstable();
        println!(
            "coarse clock resolution {res_ms} ms; lags behind the precise clock (ms): {lags:?}"
        );
    }
}
