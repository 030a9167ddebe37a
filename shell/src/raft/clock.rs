//! [`NodeClock`]: the node's own time, which never runs backwards, and the stalls it
//! notices (a pause, a clock jump, a starved process).
//!
//! The driver's clock may jump (the simulator's clock fault moves it by up to ±288 s) and
//! a paused node sees the whole pause at once. Raft's deadlines are instants: after a jump
//! back, a deadline set before it would not come for minutes, and a leader would stop
//! sending heartbeats. So the node keeps its own time: it advances by every forward step
//! of the driver's clock and ignores backward ones. Deadlines are kept in this time and
//! handed to the driver in its own ([`NodeClock::to_local`]).
//!
//! A *stall* is a step forward longer than [`STALL`]: the node always asks to be woken at
//! most [`WATCH`] ahead, so a longer gap means it was not running (paused, its clock
//! jumped, or its process was starved). Requests read in the first [`GRACE`] after a stall
//! may have waited for any time, maybe longer than their client waits: the node answers
//! none of them (see the module documentation of [`super`]).

use core::time::Duration;

use glomers_node::Time;

/// The node asks to be woken at least this often.
pub const WATCH: Duration = Duration::from_millis(100);

/// A step of the driver's clock longer than this is a stall.
pub const STALL: Duration = Duration::from_millis(300);

/// Requests read within this span of a stall (the backlog of one) are not answered.
pub const GRACE: Duration = Duration::from_millis(5);

/// The node's time (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct NodeClock {
    /// The driver's clock at the last call.
    local: Time,
    /// The node's time at the last call.
    now: Time,
    /// Requests read before this (node time) came out of a stall.
    stall_until: Time,
}

impl NodeClock {
    /// A clock that reads `local` on the driver's clock; node time starts there too.
    pub fn new(local: Time) -> Self {
        NodeClock {
            local,
            now: local,
            stall_until: Time::ZERO,
        }
    }

    /// The driver's clock reads `local`: the node's time now.
    pub fn observe(&mut self, local: Time) -> Time {
        let step = local.saturating_since(self.local);
        self.local = local;
        self.now += step;
        if step > STALL {
            tracing::debug!(gap_ms = step.as_millis() as u64, "stall");
            self.stall_until = self.now + GRACE;
        }
        self.now
    }

    /// The node's time at the last call.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Whether the current call is within [`GRACE`] of a stall.
    pub fn stalled(&self) -> bool {
        self.now < self.stall_until
    }

    /// The driver's clock reading at node time `at` (at once for a time already past).
    pub fn to_local(&self, at: Time) -> Time {
        self.local + at.saturating_since(self.now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_time_ignores_jumps_back_and_maps_deadlines_to_the_driver_clock() {
        let mut c = NodeClock::new(Time::from_millis(1000));
        assert_eq!(c.observe(Time::from_millis(1050)), Time::from_millis(1050));
        // The driver's clock jumps back 900 ms: node time stays, then runs on.
        assert_eq!(c.observe(Time::from_millis(150)), Time::from_millis(1050));
        assert_eq!(c.observe(Time::from_millis(170)), Time::from_millis(1070));
        assert_eq!(
            c.to_local(Time::from_millis(1100)),
            Time::from_millis(200),
            "a deadline 30 ms ahead is 30 ms ahead on the driver's clock"
        );
        assert_eq!(
            c.to_local(Time::from_millis(1000)),
            Time::from_millis(170),
            "a past deadline is due at once"
        );
        assert!(!c.stalled());
    }

    #[test]
    fn a_long_gap_is_a_stall_whose_backlog_is_marked_for_a_grace_period() {
        let mut c = NodeClock::new(Time::ZERO);
        c.observe(Time::from_millis(100));
        assert!(!c.stalled(), "a watch interval is no stall");
        c.observe(Time::from_millis(2100));
        assert!(c.stalled(), "two seconds without a call");
        c.observe(Time::from_millis(2100));
        assert!(
            c.stalled(),
            "the rest of the backlog, read at the same instant"
        );
        c.observe(Time::from_millis(2106));
        assert!(!c.stalled(), "after the grace period");
    }
}
