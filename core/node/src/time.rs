//! [`Time`]: the one time type of glomers' nodes and harness.
//!
//! A point on some clock, counted in nanoseconds since that clock's epoch: the start of the
//! process for a node run by the shell, the start of the run for the harness and for nodes
//! it simulates. Spans between points are [`core::time::Duration`]s. Arithmetic saturates
//! instead of wrapping or panicking: 2^64 ns is about 584 years, so saturation only ever
//! meets values that came from a broken clock or a hostile message.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

use serde::{Deserialize, Serialize};

/// A point in time: nanoseconds since the clock's epoch.
///
/// Serialized as that integer of nanoseconds, the form of Maelstrom's `:time` (so a
/// history line reads and writes exactly as one holding the bare integer would).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Time(u64);

impl Time {
    /// The epoch itself.
    pub const ZERO: Time = Time(0);
    /// The latest representable time (also what saturating arithmetic stops at).
    pub const MAX: Time = Time(u64::MAX);

    /// `nanos` nanoseconds after the epoch.
    pub const fn from_nanos(nanos: u64) -> Time {
        Time(nanos)
    }

    /// `micros` microseconds after the epoch (saturating).
    pub const fn from_micros(micros: u64) -> Time {
        Time(micros.saturating_mul(1_000))
    }

    /// `millis` milliseconds after the epoch (saturating).
    pub const fn from_millis(millis: u64) -> Time {
        Time(millis.saturating_mul(1_000_000))
    }

    /// `secs` seconds after the epoch (saturating).
    pub const fn from_secs(secs: u64) -> Time {
        Time(secs.saturating_mul(1_000_000_000))
    }

    /// The span since the epoch, saturating at `u64::MAX` nanoseconds.
    pub fn from_duration(since_epoch: Duration) -> Time {
        Time(u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Whole microseconds since the epoch.
    pub const fn as_micros(self) -> u64 {
        self.0 / 1_000
    }

    /// Whole milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000_000
    }

    /// Seconds since the epoch, as a float (for reports).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Milliseconds since the epoch, as a float (for reports).
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// The span since the epoch.
    pub const fn since_epoch(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub const fn saturating_since(self, earlier: Time) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// `self - earlier`, or `None` when `earlier` is later.
    pub const fn checked_since(self, earlier: Time) -> Option<Duration> {
        match self.0.checked_sub(earlier.0) {
            Some(n) => Some(Duration::from_nanos(n)),
            None => None,
        }
    }

    /// `self + span`, saturating at [`Time::MAX`].
    pub fn saturating_add(self, span: Duration) -> Time {
        let span = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
        Time(self.0.saturating_add(span))
    }

    /// `self - span`, saturating at [`Time::ZERO`].
    pub fn saturating_sub(self, span: Duration) -> Time {
        let span = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
        Time(self.0.saturating_sub(span))
    }

    /// `self + millis` milliseconds, saturating.
    pub const fn plus_millis(self, millis: u64) -> Time {
        Time(self.0.saturating_add(millis.saturating_mul(1_000_000)))
    }
}

impl Add<Duration> for Time {
    type Output = Time;

    /// Saturating, as [`Time::saturating_add`].
    fn add(self, span: Duration) -> Time {
        self.saturating_add(span)
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, span: Duration) {
        *self = self.saturating_add(span);
    }
}

impl Sub<Time> for Time {
    type Output = Duration;

    /// Saturating, as [`Time::saturating_since`]: an earlier minus a later time is zero.
    fn sub(self, earlier: Time) -> Duration {
        self.saturating_since(earlier)
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ms, ns) = (self.0 / 1_000_000, self.0 % 1_000_000);
        if ns == 0 {
            write!(f, "{ms}ms")
        } else {
            write!(f, "{ms}.{ns:06}ms")
        }
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_convert_and_truncate() {
        let t = Time::from_millis(1_500);
        assert_eq!(t.as_nanos(), 1_500_000_000);
        assert_eq!(t.as_millis(), 1_500);
        assert_eq!(t.as_micros(), 1_500_000);
        assert_eq!(Time::from_nanos(1_999_999).as_millis(), 1);
        assert_eq!(Time::from_secs(2), Time::from_millis(2_000));
        assert_eq!(Time::from_micros(3), Time::from_nanos(3_000));
        assert_eq!(t.since_epoch(), Duration::from_millis(1_500));
        assert_eq!(
            Time::from_duration(Duration::from_millis(7)),
            Time::from_millis(7)
        );
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Time::from_millis(10);
        assert_eq!(t + Duration::from_millis(5), Time::from_millis(15));
        assert_eq!(Time::from_millis(15) - t, Duration::from_millis(5));
        assert_eq!(t - Time::from_millis(15), Duration::ZERO);
        assert_eq!(t.checked_since(Time::from_millis(15)), None);
        assert_eq!(Time::MAX + Duration::from_secs(1), Time::MAX);
        assert_eq!(Time::from_millis(u64::MAX), Time::MAX);
        assert_eq!(t.saturating_sub(Duration::from_secs(1)), Time::ZERO);
        assert_eq!(Time::MAX.plus_millis(1), Time::MAX);
        assert_eq!(Time::from_duration(Duration::MAX), Time::MAX);
        let mut u = t;
        u += Duration::from_nanos(1);
        assert_eq!(u.as_nanos(), 10_000_001);
    }

    #[test]
    fn serializes_as_the_integer_of_nanoseconds() {
        let t = Time::from_nanos(1_234_567_891);
        assert_eq!(serde_json::to_string(&t).expect("serializes"), "1234567891");
        assert_eq!(serde_json::from_str::<Time>("1234567891").ok(), Some(t));
        assert_eq!(
            serde_json::from_str::<Time>("18446744073709551615").ok(),
            Some(Time::MAX)
        );
        // What a bare u64 refuses, a Time refuses.
        for bad in ["-1", "1.5", "\"1\"", "18446744073709551616", "null"] {
            assert!(serde_json::from_str::<Time>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn float_figures_divide_the_nanoseconds() {
        let t = Time::from_nanos(1_500_000_001);
        assert_eq!(t.as_millis_f64(), 1_500_000_001f64 / 1e6);
        assert_eq!(t.as_secs_f64(), 1_500_000_001f64 / 1e9);
    }

    #[test]
    fn debug_shows_milliseconds() {
        assert_eq!(std::format!("{:?}", Time::from_millis(3)), "3ms");
        assert_eq!(
            std::format!("{}", Time::from_nanos(3_000_500)),
            "3.000500ms"
        );
    }
}
