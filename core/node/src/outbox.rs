//! [`Outbox`]: the messages a machine asks to send, in order, and the node's `msg_id`s.

use alloc::vec::Vec;

use crate::error::ErrorBody;
use crate::message::{NodeId, Origin};
use crate::persist::Write;

/// The body of an [`Outgoing`] message.
#[derive(Clone, Debug, PartialEq)]
pub enum OutBody<O> {
    /// A message of the machine's own type.
    Message(O),
    /// An error reply.
    Error(ErrorBody),
}

/// One message a machine asked to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing<O> {
    /// Set for forwards ([`Outbox::forward`]): the sender the line names instead of this
    /// node.
    pub src: Option<NodeId>,
    /// Recipient id.
    pub dest: NodeId,
    /// Set for requests ([`Outbox::request`]): the id the reply's `in_reply_to` will carry.
    pub msg_id: Option<u64>,
    /// Set for replies.
    pub in_reply_to: Option<u64>,
    /// What to send.
    pub body: OutBody<O>,
}

impl<O> Outgoing<O> {
    /// The payload when this is not an error reply.
    pub fn payload(&self) -> Option<&O> {
        match &self.body {
            OutBody::Message(o) => Some(o),
            OutBody::Error(_) => None,
        }
    }

    /// The error when this is an error reply.
    pub fn error(&self) -> Option<&ErrorBody> {
        match &self.body {
            OutBody::Error(e) => Some(e),
            OutBody::Message(_) => None,
        }
    }
}

/// Messages a machine wants sent and writes it wants made durable, plus the node's
/// `msg_id` counter.
///
/// A driver keeps one outbox for the machine's whole life and drains it after every call,
/// so the `msg_id`s of [`Outbox::request`] are unique per node life. Every write queued
/// ([`Outbox::append`], [`Outbox::put`], [`Outbox::trim`]) is durable before any message
/// queued in the same call, or later, is sent (see [`crate::persist`]). Bound: the outbox
/// holds what one call adds; every machine documents how many messages one call adds at
/// most (typically one reply plus one message per peer).
#[derive(Debug)]
pub struct Outbox<O> {
    queue: Vec<Outgoing<O>>,
    writes: Vec<Write>,
    next_msg_id: u64,
}

impl<O> Default for Outbox<O> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O> Outbox<O> {
    /// An empty outbox whose first request gets `msg_id` 1.
    pub fn new() -> Self {
        Self {
            queue: Vec::new(),
            writes: Vec::new(),
            next_msg_id: 1,
        }
    }

    /// Replies `body` to `to`. A message without `msg_id` cannot be answered: nothing is
    /// queued (debug log).
    pub fn reply(&mut self, to: &Origin, body: O) {
        self.answer(to, OutBody::Message(body));
    }

    /// Replies an error to `to` (skipped when `to` has no `msg_id`).
    pub fn reply_error(&mut self, to: &Origin, error: ErrorBody) {
        self.answer(to, OutBody::Error(error));
    }

    fn answer(&mut self, to: &Origin, body: OutBody<O>) {
        let Some(id) = to.msg_id else {
            tracing::debug!(dest = %to.src, "answer to a message without msg_id skipped");
            return;
        };
        self.queue.push(Outgoing {
            src: None,
            dest: to.src.clone(),
            msg_id: None,
            in_reply_to: Some(id),
            body,
        });
    }

    /// Sends a one-way message (no `msg_id`: the recipient cannot reply).
    pub fn send(&mut self, dest: impl Into<NodeId>, body: O) {
        self.queue.push(Outgoing {
            src: None,
            dest: dest.into(),
            msg_id: None,
            in_reply_to: None,
            body: OutBody::Message(body),
        });
    }

    /// Sends a request with a fresh `msg_id` and returns it; the reply will arrive as a
    /// message whose `in_reply_to` equals it. To wait for it with a deadline, use
    /// [`crate::Calls`].
    pub fn request(&mut self, dest: impl Into<NodeId>, body: O) -> u64 {
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        self.queue.push(Outgoing {
            src: None,
            dest: dest.into(),
            msg_id: Some(id),
            in_reply_to: None,
            body: OutBody::Message(body),
        });
        id
    }

    /// Hands the request `origin` sent to `dest`, on `origin`'s behalf: the line names
    /// `origin.src` as its sender and carries `origin.msg_id`, so that `dest` answers
    /// `origin` directly. Maelstrom checks only that a line's `src` is registered (its own
    /// Raft demo forwards this way), so such a forward is client traffic in its counts.
    /// Forward only a request that just arrived: once its client has given up and gone, a
    /// line in its name is refused, and a node whose line is refused is no longer read.
    pub fn forward(&mut self, origin: &Origin, dest: impl Into<NodeId>, body: O) {
        self.queue.push(Outgoing {
            src: Some(origin.src.clone()),
            dest: dest.into(),
            msg_id: origin.msg_id,
            in_reply_to: None,
            body: OutBody::Message(body),
        });
    }

    /// Appends `record` to the durable log `log` (a plain name, see
    /// [`crate::persist::is_plain_name`]).
    pub fn append(&mut self, log: impl Into<alloc::string::String>, record: Vec<u8>) {
        self.writes.push(Write::Append {
            log: log.into(),
            record,
        });
    }

    /// Replaces the durable value `name` with `value`.
    pub fn put(&mut self, name: impl Into<alloc::string::String>, value: Vec<u8>) {
        self.writes.push(Write::Put {
            name: name.into(),
            value,
        });
    }

    /// Drops the records of the durable log `log` below index `before`.
    pub fn trim(&mut self, log: impl Into<alloc::string::String>, before: u64) {
        self.writes.push(Write::Trim {
            log: log.into(),
            before,
        });
    }

    /// The writes queued, in order, without removing them.
    pub fn writes(&self) -> &[Write] {
        &self.writes
    }

    /// Removes and yields every queued write, in order.
    pub fn drain_writes(&mut self) -> alloc::vec::Drain<'_, Write> {
        self.writes.drain(..)
    }

    /// Number of queued messages.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The queued messages, in the order they were added, without removing them.
    pub fn queued(&self) -> &[Outgoing<O>] {
        &self.queue
    }

    /// Removes and yields every queued message, in order.
    pub fn drain(&mut self) -> alloc::vec::Drain<'_, Outgoing<O>> {
        self.queue.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn origin(src: &str, msg_id: Option<u64>) -> Origin {
        Origin {
            src: src.into(),
            msg_id,
        }
    }

    #[test]
    fn replies_requests_and_sends_are_addressed_and_numbered() {
        let mut out: Outbox<&str> = Outbox::new();
        out.reply(&origin("c1", Some(7)), "ok");
        out.reply(&origin("c2", None), "lost");
        out.reply_error(&origin("c3", Some(2)), ErrorBody::bare(ErrorCode::Abort));
        out.send("n1", "gossip");
        assert_eq!(out.request("n2", "ask"), 1);
        assert_eq!(out.request("n2", "ask again"), 2);
        let sent: Vec<_> = out.drain().collect();
        assert_eq!(
            sent.len(),
            5,
            "the reply to a message without msg_id is skipped"
        );
        assert_eq!(sent[0].dest, "c1");
        assert_eq!(sent[0].in_reply_to, Some(7));
        assert_eq!(sent[0].payload(), Some(&"ok"));
        assert_eq!(sent[1].error().map(|e| e.code), Some(ErrorCode::Abort));
        assert_eq!((sent[2].msg_id, sent[2].in_reply_to), (None, None));
        assert_eq!(sent[3].msg_id, Some(1));
        assert_eq!(sent[4].msg_id, Some(2));
        assert!(out.is_empty());
        assert_eq!(out.request("n2", "after drain"), 3, "ids are never reused");
    }

    #[test]
    fn a_forward_names_the_origin_as_sender_and_keeps_its_msg_id() {
        let mut out: Outbox<&str> = Outbox::new();
        out.forward(&origin("c4", Some(9)), "n0", "write");
        out.send("n1", "plain");
        let sent: Vec<_> = out.drain().collect();
        assert_eq!(sent[0].src.as_deref(), Some("c4"));
        assert_eq!((sent[0].dest.as_str(), sent[0].msg_id), ("n0", Some(9)));
        assert_eq!(sent[0].in_reply_to, None);
        assert_eq!(sent[1].src, None, "other messages come from the node");
        assert_eq!(
            out.request("n2", "ask"),
            1,
            "a forward takes no msg_id of ours"
        );
    }
}
