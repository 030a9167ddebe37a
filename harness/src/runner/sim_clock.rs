//! [`NodeClock`]: a hosted node's own clock in the simulator, as a map from the run's
//! virtual time ("true" time) to the time the node reads.
//!
//! Without a clock fault the map is the identity. A skew re-anchors it at the moment of the
//! fault: from then on the node's clock reads its previous reading plus the jump, advancing
//! `rate` node nanoseconds per true nanosecond; a reset makes it read true time again. The
//! driver reads a node's `now` through [`NodeClock::local`] and turns the node's deadlines,
//! which are on its own clock, back into true time with [`NodeClock::true_time_reaching`]: the
//! earliest true time at which the node's clock has reached the deadline. A clock that
//! jumps back below zero reads zero until it has caught up.

use std::time::Duration;

use glomers_node::Time;

use crate::sim::faults::Skew;

/// One node's clock (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeClock {
    at_true: Time,
    at_local: Time,
    rate: f64,
}

impl Default for NodeClock {
    fn default() -> Self {
        NodeClock::TRUE
    }
}

impl NodeClock {
    /// A clock that reads true time.
    pub const TRUE: NodeClock = NodeClock {
        at_true: Time::ZERO,
        at_local: Time::ZERO,
        rate: 1.0,
    };

    /// What the node's clock reads at true time `t` (at or after the last re-anchoring).
    pub fn local(&self, t: Time) -> Time {
        let since = t.saturating_since(self.at_true);
        let run = if self.rate == 1.0 {
            since
        } else {
            // Scaled on the whole nanoseconds and truncated (`Duration::mul_f64` would
            // round through float seconds). `as` saturates; the product is finite for any
            // rate the faults draw.
            Duration::from_nanos((since.as_nanos() as f64 * self.rate) as u64)
        };
        self.at_local + run
    }

    /// The earliest true time (not before the last re-anchoring) at which the node's clock
    /// reads at least `local`.
    pub fn true_time_reaching(&self, local: Time) -> Time {
        let Some(ahead) = local.checked_since(self.at_local) else {
            return self.at_true;
        };
        if self.rate == 1.0 {
            return self.at_true + ahead;
        }
        // Scaled on the whole nanoseconds and rounded up, as `local` scales them.
        let scaled = (ahead.as_nanos() as f64 / self.rate).ceil() as u64;
        let mut t = self.at_true + Duration::from_nanos(scaled);
        // Rounding can leave the estimate a nanosecond or so off either way; step to the
        // first true time that reaches the deadline.
        let tick = Duration::from_nanos(1);
        for _ in 0..64 {
            if self.local(t) >= local || t == Time::MAX {
                break;
            }
            t += tick;
        }
        for _ in 0..64 {
            let before = t.saturating_sub(tick);
            if t <= self.at_true || self.local(before) < local {
                break;
            }
            t = before;
        }
        t
    }

    /// At true time `now`, jumps by `skew.jump` (back or ahead) and runs at `skew.rate`
    /// from then on.
    pub fn skew(&mut self, now: Time, skew: Skew) {
        let here = self.local(now);
        let there = if skew.back {
            here.saturating_sub(skew.jump)
        } else {
            here + skew.jump
        };
        let rate = if skew.rate.is_finite() && skew.rate > 0.0 {
            skew.rate
        } else {
            1.0
        };
        *self = NodeClock {
            at_true: now,
            at_local: there,
            rate,
        };
    }

    /// At true time `now`, reads true time again.
    pub fn reset(&mut self, now: Time) {
        *self = NodeClock {
            at_true: now,
            at_local: now,
            rate: 1.0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_true_clock_is_the_identity() {
        let c = NodeClock::TRUE;
        for t in [
            Time::ZERO,
            Time::from_nanos(1),
            Time::from_secs(7),
            Time::MAX,
        ] {
            assert_eq!(c.local(t), t);
            assert_eq!(c.true_time_reaching(t), t);
        }
    }

    #[test]
    fn a_skew_jumps_then_runs_at_its_rate_and_a_reset_undoes_it() {
        let mut c = NodeClock::TRUE;
        let t = Time::from_secs;
        c.skew(
            t(10),
            Skew {
                jump: Duration::from_secs(5),
                back: false,
                rate: 2.0,
            },
        );
        assert_eq!(c.local(t(10)), t(15));
        assert_eq!(c.local(t(12)), t(19));
        // A deadline at node time 25 s comes at true time 15 s.
        assert_eq!(c.true_time_reaching(t(25)), t(15));
        // A deadline already passed on the node's clock is due at once.
        assert_eq!(c.true_time_reaching(t(3)), t(10));
        c.skew(
            t(12),
            Skew {
                jump: Duration::from_secs(30),
                back: true,
                rate: 0.5,
            },
        );
        assert_eq!(c.local(t(12)), Time::ZERO, "a jump below zero reads zero");
        assert_eq!(c.local(t(14)), t(1));
        c.reset(t(20));
        assert_eq!(c.local(t(21)), t(21));
    }

    proptest! {
        #[test]
        fn a_deadline_maps_to_the_first_true_time_that_reaches_it(
            jump in 0u64..1_000_000_000_000,
            back: bool,
            rate in 0.5f64..2.0,
            at in 0u64..100_000_000_000,
            ahead in 0u64..1_000_000_000_000,
        ) {
            let mut c = NodeClock::TRUE;
            let now = Time::from_nanos(at);
            c.skew(now, Skew { jump: Duration::from_nanos(jump), back, rate });
            let deadline = c.local(now) + Duration::from_nanos(ahead);
            let t = c.true_time_reaching(deadline);
            prop_assert!(c.local(t) >= deadline);
            let before = t.saturating_sub(Duration::from_nanos(1));
            prop_assert!(t == now || c.local(before) < deadline);
        }
    }
}
