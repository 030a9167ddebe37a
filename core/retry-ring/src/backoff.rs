//! [`Backoff`]: capped exponential retry policy with jitter and an explicit give-up.

use core::time::Duration;

use glomers_node::Time;
use rand_core::RngCore;

use crate::Pending;

/// How the delay is drawn below its ceiling `c` (see [`Backoff::ceiling`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// Exactly `c`: no randomness (deterministic tests, or a single sender).
    None,
    /// Uniform in `[0, c]` ("full jitter"): spreads retries most, mean `c / 2`.
    Full,
    /// Uniform in `[c / 2, c]` ("equal jitter"): never retries too early, mean about `3c / 4`.
    Equal,
}

/// A retry policy: the delay before the resend that follows send number `attempt` (1 for
/// the first send) is drawn in [`Backoff::delay_range`] of that attempt, whose ceiling
/// `min(cap, base * 2^(attempt - 1))` doubles per attempt up to `cap`. After
/// `max_attempts` sends the policy gives up.
///
/// Invariants: no delay is ever above `cap`;
/// the delay range, hence the expected delay, never decreases with `attempt`; at most
/// `max_attempts` sends are ever scheduled for one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Backoff {
    /// Ceiling of the first retry delay.
    pub base: Duration,
    /// Largest delay ever scheduled.
    pub cap: Duration,
    /// Total sends allowed per delivery (the first send included); 0 means never retry.
    pub max_attempts: u32,
    /// How the delay is drawn below its ceiling.
    pub jitter: Jitter,
}

/// What [`Backoff::schedule`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Retry {
    /// Send again at this time (on the caller's clock).
    At(Time),
    /// `max_attempts` sends were made: stop.
    GiveUp,
}

/// What [`Backoff::reschedule`] did with a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rescheduled<D, P> {
    /// The attempt was counted and the delivery is due again at its new `due`.
    Due(Pending<D, P>),
    /// The attempt was counted and it was the last allowed: the delivery is handed back
    /// with its `due` unchanged, to be dropped or reported by the caller.
    GaveUp(Pending<D, P>),
}

impl Backoff {
    /// A policy with the given fields.
    pub const fn new(base: Duration, cap: Duration, max_attempts: u32, jitter: Jitter) -> Self {
        Backoff {
            base,
            cap,
            max_attempts,
            jitter,
        }
    }

    /// The delay ceiling after send number `attempt`: `min(cap, base * 2^(attempt-1))`
    /// without overflow (attempt 0 is treated as 1), at nanosecond resolution (spans above
    /// `u64::MAX` nanoseconds, some 584 years, count as that). Non-decreasing in `attempt`.
    pub const fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1);
        let base = nanos(self.base);
        let cap = nanos(self.cap);
        // base << exp <= cap  <=>  base <= cap >> exp (integer shifts), and the left-hand
        // side is only computed when it cannot overflow.
        if exp < 64 && base <= (cap >> exp) {
            Duration::from_nanos(base << exp)
        } else {
            Duration::from_nanos(cap)
        }
    }

    /// The inclusive range `(lo, hi)` the delay after send number `attempt` is drawn from:
    /// `(0, c)` for [`Jitter::Full`], `(c / 2, c)` for [`Jitter::Equal`], `(c, c)` for
    /// [`Jitter::None`], where `c` is [`Backoff::ceiling`]. Both ends are non-decreasing
    /// in `attempt` and `hi <= cap`.
    pub const fn delay_range(&self, attempt: u32) -> (Duration, Duration) {
        let c = nanos(self.ceiling(attempt));
        let (lo, hi) = match self.jitter {
            Jitter::None => (c, c),
            Jitter::Full => (0, c),
            Jitter::Equal => (c / 2, c),
        };
        (Duration::from_nanos(lo), Duration::from_nanos(hi))
    }

    /// Decides what follows send number `attempt` made at `now`: [`Retry::GiveUp`] when
    /// `attempt >= max_attempts`, else [`Retry::At`]`(now + d)` (saturating) with `d`
    /// drawn uniformly from [`Backoff::delay_range`]`(attempt)` using `rng` (one `u64`).
    pub fn schedule<R: RngCore + ?Sized>(&self, attempt: u32, now: Time, rng: &mut R) -> Retry {
        if attempt >= self.max_attempts {
            return Retry::GiveUp;
        }
        let (lo, hi) = self.delay_range(attempt);
        let (lo, hi) = (nanos(lo), nanos(hi));
        let delay = if lo == hi {
            lo
        } else {
            // Multiply-shift maps a uniform u64 onto 0..=span; its bias is at most
            // span / 2^64, negligible for delays. (Hand-rolled because rand_core alone
            // offers no range sampling and the core must not depend on `rand`.)
            let span = u128::from(hi - lo) + 1;
            let offset = (u128::from(rng.next_u64()) * span) >> 64;
            // offset < span <= 2^64, so it fits a u64 and lo + offset <= hi.
            lo + offset as u64
        };
        Retry::At(now + Duration::from_nanos(delay))
    }

    /// Counts one more send of `item` (made at `now`) and schedules the next:
    /// `item.attempt` is incremented (saturating), then [`Backoff::schedule`] decides. Push
    /// a [`Rescheduled::Due`] item back into the [`crate::RetryRing`]; if the ring is full
    /// the push hands it back and the caller decides (see the ring's docs).
    pub fn reschedule<D, P, R: RngCore + ?Sized>(
        &self,
        mut item: Pending<D, P>,
        now: Time,
        rng: &mut R,
    ) -> Rescheduled<D, P> {
        item.attempt = item.attempt.saturating_add(1);
        match self.schedule(item.attempt, now, rng) {
            Retry::At(due) => {
                item.due = due;
                Rescheduled::Due(item)
            }
            Retry::GiveUp => Rescheduled::GaveUp(item),
        }
    }
}

/// `d` in nanoseconds, saturating at `u64::MAX`.
const fn nanos(d: Duration) -> u64 {
    let n = d.as_nanos();
    if n > u64::MAX as u128 {
        u64::MAX
    } else {
        n as u64
    }
}
