//! Linearizable reads by ReadIndex: the queue of reads a leader has not yet released (see
//! the crate docs, section *Reads*, for when a read is released and why that is safe).

use heapless::Deque;

use crate::config::MAX_READS;

#[derive(Clone, Copy, Debug)]
struct PendingRead {
    id: u64,
    round: u64,
    index: Option<u64>,
}

/// Reads waiting for confirmation, their read index, or the apply point, in arrival order.
/// Rounds and read indexes never decrease along the queue, so reads leave from the front.
#[derive(Clone, Debug, Default)]
pub(crate) struct Reads {
    queue: Deque<PendingRead, MAX_READS>,
}

impl Reads {
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Queues read `id` of round `round`; `index` is its read index if already known.
    /// False if the queue is full (the caller checks its own, lower, limit first).
    pub fn push(&mut self, id: u64, round: u64, index: Option<u64>) -> bool {
        self.queue
            .push_back(PendingRead { id, round, index })
            .is_ok()
    }

    /// Gives every read still without one the read index `commit`.
    pub fn assign(&mut self, commit: u64) {
        for read in self.queue.iter_mut().filter(|r| r.index.is_none()) {
            read.index = Some(commit);
        }
    }

    /// The front read's id if a majority confirmed round `confirmed` and `applied` reached
    /// its read index; it leaves the queue.
    pub fn pop_ready(&mut self, confirmed: u64, applied: u64) -> Option<u64> {
        let front = self.queue.front()?;
        let ready = front.round <= confirmed && front.index.is_some_and(|i| i <= applied);
        if ready {
            self.queue.pop_front().map(|r| r.id)
        } else {
            None
        }
    }

    /// Removes and returns the id of the oldest read (to fail it).
    pub fn pop(&mut self) -> Option<u64> {
        self.queue.pop_front().map(|r| r.id)
    }
}
