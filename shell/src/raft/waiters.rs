//! [`Waiters`]: the client requests a node holds, each with the time it has left, from
//! arrival until it is answered or given up.
//!
//! A request moves through the states of [`Stage`]: *held* at a follower that knows no
//! reachable leader, *queued* at the leader for its next round, then *proposed* (its
//! command in the round's log entry) or *reading* (its read in the round's ReadIndex
//! read). Each has two deadlines in node time: at `soft` the node answers it with a
//! refusal or a timeout; after `hard` it answers nothing at all (its client has given up
//! and gone, and a reply to a client that is gone would stop the node's output being read).
//!
//! Bounded: at most `capacity` requests; [`Waiters::admit`] refuses beyond it (the caller
//! answers error 11: nothing was done).

use glomers_node::{Origin, Time};

use super::service::Request;

/// Where a request is.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage<R, C> {
    /// At a follower, waiting for a reachable leader to forward it to.
    Held(Request<R, C>),
    /// At the leader, for its next round.
    Queued(Request<R, C>),
    /// Its command is number `slot` of the batch proposed at `(index, term)`.
    Proposed {
        /// The entry's index.
        index: u64,
        /// The leader's term when proposed.
        term: u64,
        /// Position in the batch.
        slot: usize,
    },
    /// Its read waits for the leader's ReadIndex read `id`.
    Reading {
        /// The read's id.
        id: u64,
        /// The read.
        read: R,
    },
}

/// One client request and its deadlines (node time).
#[derive(Debug, Clone, PartialEq)]
pub struct Waiter<R, C> {
    /// Whom to answer.
    pub origin: Origin,
    /// When it arrived.
    pub arrived: Time,
    /// When to give up with an answer.
    pub soft: Time,
    /// After this, answer nothing.
    pub hard: Time,
    /// Where it is.
    pub stage: Stage<R, C>,
}

/// The table is full: the request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests waiting ({0})")]
pub struct Full(pub usize);

/// The requests a node holds (see the module documentation).
#[derive(Debug, Clone)]
pub struct Waiters<R, C> {
    list: Vec<Waiter<R, C>>,
    capacity: usize,
}

impl<R, C> Waiters<R, C> {
    /// An empty table of at most `capacity` requests.
    pub fn new(capacity: usize) -> Self {
        Waiters {
            list: Vec::new(),
            capacity,
        }
    }

    /// Requests held now.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when none is held.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Takes `waiter` in, unless the table is full.
    pub fn admit(&mut self, waiter: Waiter<R, C>) -> Result<(), Full> {
        if self.list.len() >= self.capacity {
            return Err(Full(self.capacity));
        }
        self.list.push(waiter);
        Ok(())
    }

    /// Puts back a request taken out with one of the `take_` calls (never over capacity:
    /// it was in the table).
    pub fn restore(&mut self, waiter: Waiter<R, C>) {
        self.list.push(waiter);
    }

    /// Whether any request is queued for the leader's next round.
    pub fn any_queued(&self) -> bool {
        self.list
            .iter()
            .any(|w| matches!(w.stage, Stage::Queued(_)))
    }

    /// Whether any request is held for want of a leader.
    pub fn any_held(&self) -> bool {
        self.list.iter().any(|w| matches!(w.stage, Stage::Held(_)))
    }

    /// The earliest `soft` deadline.
    pub fn next_deadline(&self) -> Option<Time> {
        self.list.iter().map(|w| w.soft).min()
    }

    /// Removes the requests for which `pick` holds, in arrival order.
    pub fn take(&mut self, mut pick: impl FnMut(&Waiter<R, C>) -> bool) -> Vec<Waiter<R, C>> {
        let (taken, kept) = std::mem::take(&mut self.list)
            .into_iter()
            .partition(|w| pick(w));
        self.list = kept;
        taken
    }

    /// Removes every request whose `soft` deadline is at or before `now`.
    pub fn take_expired(&mut self, now: Time) -> Vec<Waiter<R, C>> {
        self.take(|w| w.soft <= now)
    }

    /// Removes every request waiting on the entry at `index`.
    pub fn take_proposed(&mut self, index: u64) -> Vec<Waiter<R, C>> {
        self.take(|w| matches!(w.stage, Stage::Proposed { index: i, .. } if i == index))
    }

    /// Removes every request waiting on ReadIndex read `id`.
    pub fn take_reading(&mut self, id: u64) -> Vec<Waiter<R, C>> {
        self.take(|w| matches!(w.stage, Stage::Reading { id: i, .. } if i == id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(n: u64, soft: u64, stage: Stage<u8, u8>) -> Waiter<u8, u8> {
        Waiter {
            origin: Origin {
                src: format!("c{n}").into(),
                msg_id: Some(n),
            },
            arrived: Time::ZERO,
            soft: Time::from_millis(soft),
            hard: Time::from_millis(soft + 50),
            stage,
        }
    }

    #[test]
    fn requests_leave_by_stage_or_deadline_and_the_table_is_bounded() {
        let mut w = Waiters::new(4);
        w.admit(waiter(1, 300, Stage::Queued(Request::Read(1))))
            .expect("room");
        w.admit(waiter(
            2,
            200,
            Stage::Proposed {
                index: 7,
                term: 2,
                slot: 0,
            },
        ))
        .expect("room");
        w.admit(waiter(3, 100, Stage::Reading { id: 5, read: 3 }))
            .expect("room");
        w.admit(waiter(4, 400, Stage::Held(Request::Command(4))))
            .expect("room");
        assert_eq!(
            w.admit(waiter(5, 500, Stage::Held(Request::Command(5)))),
            Err(Full(4))
        );
        assert!(w.any_queued() && w.any_held());
        assert_eq!(w.next_deadline(), Some(Time::from_millis(100)));
        assert!(w.take_proposed(8).is_empty());
        assert_eq!(w.take_proposed(7)[0].origin.msg_id, Some(2));
        assert_eq!(w.take_reading(5)[0].origin.msg_id, Some(3));
        let expired = w.take_expired(Time::from_millis(300));
        assert_eq!(
            expired.len(),
            1,
            "only the queued request's deadline passed"
        );
        assert!(!w.any_queued());
        assert_eq!(w.len(), 1);
    }
}
