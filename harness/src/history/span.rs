//! Spans between the history's times as the figures reports print.
//!
//! A figure is computed from the span's whole nanoseconds: `nanos / 1e6` for floating
//! milliseconds, `nanos / 1e9` for floating seconds, `nanos / 10^6` rounded down for whole
//! milliseconds. ([`Duration::as_secs_f64`] adds the seconds and the fraction separately,
//! which can round differently in the last bit; the figures of `results.json` are the
//! nanosecond quotients, as Jepsen's are.) Points in time have the same figures as
//! [`glomers_node::Time::as_millis_f64`] and [`glomers_node::Time::as_secs_f64`].

use std::time::Duration;

/// The span in milliseconds, as a float.
pub fn ms(span: Duration) -> f64 {
    span.as_nanos() as f64 / 1e6
}

/// The span in seconds, as a float.
pub fn secs(span: Duration) -> f64 {
    span.as_nanos() as f64 / 1e9
}

/// The span in whole milliseconds, rounded down (saturating at `u64::MAX`).
pub fn whole_ms(span: Duration) -> u64 {
    u64::try_from(span.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_node::Time;
    use proptest::prelude::*;

    #[test]
    fn figures_of_a_span() {
        let d = Duration::from_nanos(2_500_999_999);
        assert_eq!(ms(d), 2500.999999);
        assert_eq!(secs(d), 2.500999999);
        assert_eq!(whole_ms(d), 2500);
        assert_eq!(whole_ms(Duration::MAX), u64::MAX);
        assert_eq!(ms(Duration::ZERO), 0.0);
    }

    proptest! {
        /// A span from the epoch has the figures of the point it reaches.
        #[test]
        fn a_span_and_its_point_agree(ns: u64) {
            let t = Time::from_nanos(ns);
            prop_assert_eq!(ms(t.since_epoch()), t.as_millis_f64());
            prop_assert_eq!(secs(t.since_epoch()), t.as_secs_f64());
            prop_assert_eq!(whole_ms(t.since_epoch()), t.as_millis());
        }
    }
}
