//! [`Timers`]: the world's pending events, earliest first; ties in the order they were set.

use std::collections::BTreeMap;

use glomers_node::Time;

/// A handle to a set timer, for cancelling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerKey(Time, u64);

/// Pending events of type `T`, by due time, then by the order they were set. Bounded by
/// what sets them: one delivery per receiver, one wake-up or timeout per worker or setup
/// call, one nemesis and one phase event.
#[derive(Debug)]
pub struct Timers<T> {
    due: BTreeMap<TimerKey, T>,
    next_seq: u64,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Self {
            due: BTreeMap::new(),
            next_seq: 0,
        }
    }
}

impl<T> Timers<T> {
    /// Sets `event` due at `at`.
    pub fn set(&mut self, at: Time, event: T) -> TimerKey {
        let key = TimerKey(at, self.next_seq);
        self.next_seq += 1;
        self.due.insert(key, event);
        key
    }

    /// Cancels a timer (nothing when it already fired).
    pub fn cancel(&mut self, key: TimerKey) {
        self.due.remove(&key);
    }

    /// When the earliest timer is due.
    pub fn next_due(&self) -> Option<Time> {
        self.due.keys().next().map(|k| k.0)
    }

    /// Removes and returns the earliest timer due at or before `now`.
    pub fn pop_due(&mut self, now: Time) -> Option<(Time, T)> {
        let first = *self.due.keys().next()?;
        if first.0 > now {
            return None;
        }
        self.due.remove(&first).map(|event| (first.0, event))
    }

    /// Pending timers.
    pub fn len(&self) -> usize {
        self.due.len()
    }

    /// True when no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_ties_in_order_and_cancelled_ones_never_fire() {
        let mut t = Timers::default();
        let ms = Time::from_millis;
        t.set(ms(5), "b");
        let gone = t.set(ms(1), "x");
        t.set(ms(5), "c");
        t.set(ms(2), "a");
        t.cancel(gone);
        assert_eq!(t.next_due(), Some(ms(2)));
        assert_eq!(t.pop_due(ms(1)), None);
        let fired: Vec<&str> = std::iter::from_fn(|| t.pop_due(ms(9)).map(|(_, e)| e)).collect();
        assert_eq!(fired, ["a", "b", "c"]);
        assert!(t.is_empty());
    }
}
