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
        let d = t.as_nanos().saturating_sub(self.at_true.as_nanos());
        let run = if self.rate == 1.0 {
            d
        } else {
            // `as` saturates; the product is finite for any rate the faults draw.
            (d as f64 * self.rate) as u64
        };
        Time::from_nanos(self.at_local.as_nanos().saturating_add(run))
    }

    /// The earliest true time (not before the last re-anchoring) at which the node's clock
    /// reads at least `local`.
    pub fn true_time_reaching(&self, local: Time) -> Time {
        let Some(ahead) = local.as_nanos().checked_sub(self.at_local.as_nanos()) else {
            return self.at_true;
        };
        let base = self.at_true.as_nanos();
        if self.rate == 1.0 {
            return Time::from_nanos(base.saturating_add(ahead));
        }
        let mut t = Time::from_nanos(base.saturating_add((ahead as f64 / self.rate).ceil() as u64));
        // Rounding can leave the estimate a nanosecond or so off either way; step to the
        // first true time that reaches the deadline.
        for _ in 0..64 {
            if self.local(t) >= local || t == Time::MAX {
                break;
            }
            t = Time::from_nanos(t.as_nanos() + 1);
        }
        for _ in 0..64 {
            let before = Time::from_nanos(t.as_nanos().saturating_sub(1));
            if t.as_nanos() <= base || self.local(before) < local {
                break;
            }
            t = before;
        }
        t
    }

    /// At true time `now`, jumps by `skew.jump_ns` and runs at `skew.rate` from then on.
    pub fn skew(&mut self, now: Time, skew: Skew) {
        let here = self.local(now).as_nanos();
        let there = if skew.jump_ns < 0 {
            here.saturating_sub(skew.jump_ns.unsigned_abs())
        } else {
            here.saturating_add(skew.jump_ns.unsigned_abs())
        };
        let rate = if skew.rate.is_finite() && skew.rate > 0.0 {
            skew.rate
        } else {
            1.0
        };
        *self = NodeClock {
            at_true: now,
            at_local: Time::from_nanos(there),
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

    const S: u64 = 1_000_000_000;

    #[test]
    fn a_true_clock_is_the_identity() {
        let c = NodeClock::TRUE;
        for t in [0, 1, 7 * S, u64::MAX] {
            assert_eq!(c.local(Time::from_nanos(t)), Time::from_nanos(t));
            assert_eq!(
                c.true_time_reaching(Time::from_nanos(t)),
                Time::from_nanos(t)
            );
        }
    }

    #[test]
    fn a_skew_jumps_then_runs_at_its_rate_and_a_reset_undoes_it() {
        let mut c = NodeClock::TRUE;
        let t = |s: u64| Time::from_nanos(s * S);
        c.skew(
            t(10),
            Skew {
                jump_ns: 5 * S as i64,
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
                jump_ns: -30 * S as i64,
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
            jump in -1_000_000_000_000i64..1_000_000_000_000,
            rate in 0.5f64..2.0,
            at in 0u64..100 * S,
            ahead in 0u64..1000 * S,
        ) {
            let mut c = NodeClock::TRUE;
            let now = Time::from_nanos(at);
            c.skew(now, Skew { jump_ns: jump, rate });
            let deadline = Time::from_nanos(c.local(now).as_nanos() + ahead);
            let t = c.true_time_reaching(deadline);
            prop_assert!(c.local(t) >= deadline);
            prop_assert!(t == now || c.local(Time::from_nanos(t.as_nanos() - 1)) < deadline);
        }
    }
}
