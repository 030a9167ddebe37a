//! [`Calls`]: the sans-IO pending-call table: requests a machine sent and waits on, each
//! with a deadline driven by `now`.
//!
//! The one RPC mechanism of glomers' nodes. A machine that asks a service (`seq-kv`,
//! `lin-kv`) or a peer something and waits for the answer sends the request through
//! [`Calls::call`] with a context `C` (what to do with the answer), hands every reply to
//! [`Calls::complete`] to get its context back, and every expired call to its timeout path
//! through [`Calls::expire`]. Its `poll_timeout` includes [`Calls::next_deadline`].
//!
//! Invariants:
//! - An entry exists only until it is completed or expired: a late reply finds nothing
//!   (`complete` gives `None`) and is dropped by the caller, so timed-out calls leak nothing.
//! - At most [`Calls::capacity`] calls are pending; beyond that [`Calls::call`] refuses with
//!   [`CallsFull`] and sends nothing (a definite failure for the caller to report).
//! - `msg_id`s come from the node's one [`Outbox`] counter, so they never repeat in a node
//!   life.

use alloc::collections::{BTreeMap, BTreeSet};
use core::time::Duration;

use crate::message::NodeId;
use crate::outbox::Outbox;
use crate::time::Time;

/// Too many calls pending; the request was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many pending calls ({0})")]
pub struct CallsFull(pub usize);

/// One pending call: its deadline and what the caller wants back.
#[derive(Debug)]
struct Pending<C> {
    deadline: Time,
    context: C,
}

/// The table of requests awaiting a reply (see the module documentation).
#[derive(Debug)]
pub struct Calls<C> {
    pending: BTreeMap<u64, Pending<C>>,
    by_deadline: BTreeSet<(Time, u64)>,
    capacity: usize,
}

impl<C> Calls<C> {
    /// An empty table admitting at most `capacity` pending calls.
    pub fn new(capacity: usize) -> Self {
        Self {
            pending: BTreeMap::new(),
            by_deadline: BTreeSet::new(),
            capacity,
        }
    }

    /// The bound on pending calls.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Calls pending now.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True when no call is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Sends `body` to `dest` as a request through `out` and waits for its reply until
    /// `now + timeout`; returns the request's `msg_id`. When the table is full nothing is
    /// sent.
    pub fn call<O>(
        &mut self,
        out: &mut Outbox<O>,
        now: Time,
        dest: impl Into<NodeId>,
        body: O,
        timeout: Duration,
        context: C,
    ) -> Result<u64, CallsFull> {
        if self.pending.len() >= self.capacity {
            return Err(CallsFull(self.capacity));
        }
        let msg_id = out.request(dest, body);
        let deadline = now + timeout;
        self.pending.insert(msg_id, Pending { deadline, context });
        self.by_deadline.insert((deadline, msg_id));
        Ok(msg_id)
    }

    /// The context of the call that `in_reply_to` answers, removing it; `None` for a reply
    /// that matches no pending call (late, duplicate or foreign).
    pub fn complete(&mut self, in_reply_to: u64) -> Option<C> {
        let p = self.pending.remove(&in_reply_to)?;
        self.by_deadline.remove(&(p.deadline, in_reply_to));
        Some(p.context)
    }

    /// Removes and returns one call whose deadline is at or before `now` (earliest first),
    /// with its `msg_id`; `None` when none has expired. Call it in a loop.
    pub fn expire(&mut self, now: Time) -> Option<(u64, C)> {
        let &(deadline, msg_id) = self.by_deadline.first()?;
        if deadline > now {
            return None;
        }
        self.by_deadline.pop_first();
        let p = self.pending.remove(&msg_id)?;
        Some((msg_id, p.context))
    }

    /// The earliest deadline of a pending call.
    pub fn next_deadline(&self) -> Option<Time> {
        self.by_deadline.first().map(|&(t, _)| t)
    }

    /// The contexts of every pending call, in `msg_id` order.
    pub fn contexts(&self) -> impl Iterator<Item = &C> + '_ {
        self.pending.values().map(|p| &p.context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn replies_complete_calls_once_and_late_replies_find_nothing() {
        let mut out: Outbox<&str> = Outbox::new();
        let mut calls: Calls<&str> = Calls::new(8);
        let t0 = Time::from_millis(10);
        let a = calls
            .call(
                &mut out,
                t0,
                "seq-kv",
                "read",
                Duration::from_millis(100),
                "a",
            )
            .unwrap();
        let b = calls
            .call(
                &mut out,
                t0,
                "seq-kv",
                "write",
                Duration::from_millis(50),
                "b",
            )
            .unwrap();
        assert_ne!(a, b);
        assert_eq!(out.len(), 2, "each call sends its request");
        assert_eq!(calls.next_deadline(), Some(Time::from_millis(60)));
        assert_eq!(calls.complete(b), Some("b"));
        assert_eq!(calls.complete(b), None, "a duplicate reply finds nothing");
        assert_eq!(calls.next_deadline(), Some(Time::from_millis(110)));
        assert_eq!(calls.expire(Time::from_millis(109)), None);
        assert_eq!(calls.expire(Time::from_millis(110)), Some((a, "a")));
        assert_eq!(
            calls.complete(a),
            None,
            "a reply after the timeout finds nothing"
        );
        assert!(calls.is_empty());
        assert_eq!(calls.next_deadline(), None);
    }

    #[test]
    fn a_full_table_refuses_and_sends_nothing() {
        let mut out: Outbox<u8> = Outbox::new();
        let mut calls: Calls<u8> = Calls::new(2);
        let t = Time::ZERO;
        let d = Duration::from_secs(1);
        calls.call(&mut out, t, "n1", 1, d, 1).unwrap();
        calls.call(&mut out, t, "n1", 2, d, 2).unwrap();
        assert_eq!(calls.call(&mut out, t, "n1", 3, d, 3), Err(CallsFull(2)));
        assert_eq!(out.len(), 2);
        let expired: Vec<_> = core::iter::from_fn(|| calls.expire(Time::from_secs(1)))
            .map(|(_, c)| c)
            .collect();
        assert_eq!(expired, [1, 2], "equal deadlines expire in send order");
        calls.call(&mut out, t, "n1", 4, d, 4).unwrap();
    }
}
