//! What a call hands back: messages to send, committed entries to apply, snapshots to
//! restore, read verdicts.

use crate::message::{Entry, Message, NodeId};
use crate::storage::Snapshot;

/// One output of a [`Raft`](crate::Raft) call, in the order the caller must act on them.
///
/// Release none of a call's outputs before that call's storage writes are durable (see
/// [`Storage`](crate::Storage)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output<C, D> {
    /// Send `msg` to `to`. Delivery may fail, repeat or reorder: the protocol copes.
    Send {
        /// The recipient.
        to: NodeId,
        /// The message.
        msg: Message<C, D>,
    },
    /// The next committed entry: apply it to the state machine. Entries come once each, in
    /// index order, from index 1 after every (re)start. A proposal made at `(index, term)`
    /// succeeded if and only if the entry applied at `index` has that `term`.
    Apply(Entry<C>),
    /// A snapshot from the leader replaced this node's log up to its index: replace the
    /// state machine's state with `data`. The next [`Output::Apply`] is of `index + 1`.
    Restore(Snapshot<D>),
    /// The read `id` may be served now: every write that completed before the read was
    /// asked has been applied (by the `Apply` outputs before this one).
    ReadReady {
        /// The caller's read id.
        id: u64,
    },
    /// The read `id` cannot be served here: this node stopped leading before confirming it.
    ReadFailed {
        /// The caller's read id.
        id: u64,
        /// The leader, if known, to retry with.
        leader: Option<NodeId>,
    },
}

/// Where a [`Raft`](crate::Raft) call puts its outputs. Implemented for closures and, with
/// `alloc`, for `Vec`; the sink's memory is the caller's to bound.
pub trait Outbox<C, D> {
    /// Takes one output.
    fn push(&mut self, output: Output<C, D>);
}

impl<C, D, F: FnMut(Output<C, D>)> Outbox<C, D> for F {
    fn push(&mut self, output: Output<C, D>) {
        self(output)
    }
}

#[cfg(feature = "alloc")]
impl<C, D> Outbox<C, D> for alloc::vec::Vec<Output<C, D>> {
    fn push(&mut self, output: Output<C, D>) {
        alloc::vec::Vec::push(self, output)
    }
}
