//! [`Link`]: what a node knows of one peer and what it owes it.

use std::collections::VecDeque;
use std::time::Duration;

use glomers_node::Time;

use super::WINDOW;
use crate::crdt::Crdt;

/// A gossip message sent and not yet acknowledged.
#[derive(Debug)]
struct Sent<C> {
    seq: u64,
    at: Time,
    /// What it carried: the peer holds at least this once it acknowledges.
    payload: C,
    full: bool,
}

/// What a round does with one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// Nothing to send.
    Skip,
    /// A message is due (an acknowledgement owed, or a retransmission).
    Send,
    /// New data the peer lacks: sent if the round's fan-out allows.
    Offer,
}

/// One peer as this node sees it.
#[derive(Debug)]
pub(super) struct Link<C> {
    pub(super) id: String,
    /// A lower bound of the peer's state: the join of what it sent and of what it
    /// acknowledged (reset to the peer's full state when it sends one).
    pub(super) known: C,
    /// Sent, unacknowledged, oldest first; at most [`WINDOW`].
    in_flight: VecDeque<Sent<C>>,
    /// When this node last sent the peer anything.
    last_sent: Option<Time>,
    /// The highest `seq` received from the peer: the acknowledgement sent back.
    recv_seq: Option<u64>,
    /// The peer sent data since this node's last message to it.
    ack_owed: bool,
    /// When the last full state the peer acknowledged was sent; `None` until one was.
    last_full: Option<Time>,
}

impl<C: Crdt> Link<C> {
    pub(super) fn new(id: String) -> Self {
        Self {
            id,
            known: C::default(),
            in_flight: VecDeque::new(),
            last_sent: None,
            recv_seq: None,
            ack_owed: false,
            last_full: None,
        }
    }

    /// The acknowledgement to put on the next message to the peer.
    pub(super) fn ack(&self) -> Option<u64> {
        self.recv_seq
    }

    /// Whether the next message should carry the full state: until the peer acknowledged
    /// one (the introduction), then once every `heartbeat`.
    pub(super) fn needs_full(&self, now: Time, heartbeat: Duration) -> bool {
        self.last_full
            .is_none_or(|t| now.saturating_since(t) >= heartbeat)
    }

    /// The peer has not acknowledged a message sent at least `retransmit` ago.
    pub(super) fn silent(&self, now: Time, retransmit: Duration) -> bool {
        self.in_flight
            .front()
            .is_some_and(|s| now.saturating_since(s.at) >= retransmit)
    }

    /// When a retransmission to this peer may become due: `retransmit` after the last
    /// send, while something is unacknowledged.
    pub(super) fn retry_due(&self, retransmit: Duration) -> Option<Time> {
        self.in_flight.front()?;
        self.last_sent.map(|t| t + retransmit)
    }

    /// The peer holds everything this node has (`delta` toward it is empty): nothing
    /// unacknowledged needs a resend.
    pub(super) fn settle(&mut self) {
        self.in_flight.clear();
    }

    /// What a round (a grid round when `grid`) does with this peer, whose missing part is
    /// `delta`; `target` says whether the topology sends it new data this round.
    pub(super) fn decide(
        &self,
        now: Time,
        grid: bool,
        target: bool,
        delta: &C,
        retransmit: Duration,
    ) -> Decision {
        let lacks = !delta.is_bottom();
        if self.silent(now, retransmit) {
            // At most one message per `retransmit` to a peer that stopped acknowledging.
            let due = self
                .last_sent
                .is_none_or(|t| now.saturating_since(t) >= retransmit);
            return if due && (lacks || self.ack_owed) {
                Decision::Send
            } else {
                Decision::Skip
            };
        }
        if !grid {
            return Decision::Skip;
        }
        if self.ack_owed {
            return Decision::Send;
        }
        // New: something the last unacknowledged message did not carry already.
        let new = lacks
            && self
                .in_flight
                .back()
                .is_none_or(|s| !delta.is_within(&s.payload));
        if target && new {
            Decision::Offer
        } else {
            Decision::Skip
        }
    }

    /// Records a message sent at `now`. With `resend`, a message with a payload waits in
    /// flight for its acknowledgement (the oldest is forgotten beyond [`WINDOW`]: a later
    /// one carries everything it did); without, the peer is assumed to hold the payload at
    /// once, so a lost message is never re-sent (a deliberately broken node for tests).
    pub(super) fn sent(&mut self, now: Time, seq: u64, payload: C, full: bool, resend: bool) {
        self.ack_owed = false;
        self.last_sent = Some(now);
        if payload.is_bottom() && !full {
            return;
        }
        if !resend {
            if let Err(e) = self.known.join(&payload) {
                tracing::error!(error = %e, peer = %self.id, "known state not updated");
            }
            return;
        }
        if self.in_flight.len() == WINDOW {
            self.in_flight.pop_front();
        }
        self.in_flight.push_back(Sent {
            seq,
            at: now,
            payload,
            full,
        });
    }

    /// Records a message from the peer carrying `theirs` (its full state when `reset`),
    /// acknowledging `ack`. Returns whether this node now owes the peer an
    /// acknowledgement (the message carried data).
    pub(super) fn received(&mut self, seq: u64, ack: Option<u64>, reset: bool, theirs: C) -> bool {
        let carries = reset || !theirs.is_bottom();
        if reset {
            // Exact when sent: replaces a view that a restart of the peer made too high.
            self.known = theirs;
        } else if let Err(e) = self.known.join(&theirs) {
            tracing::error!(error = %e, peer = %self.id, "known state not updated");
        }
        if let Some(a) = ack {
            self.acknowledged(a);
        }
        if carries {
            self.recv_seq = Some(self.recv_seq.map_or(seq, |r| r.max(seq)));
            self.ack_owed = true;
        }
        carries
    }

    /// The peer received our message `seq`: it holds what that message carried (and
    /// everything earlier ones did, which `seq`'s payload includes).
    fn acknowledged(&mut self, seq: u64) {
        let Some(pos) = self.in_flight.iter().position(|s| s.seq == seq) else {
            return;
        };
        let sent = &self.in_flight[pos];
        if sent.full {
            self.last_full = Some(sent.at);
        }
        if let Err(e) = self.known.join(&sent.payload) {
            tracing::error!(error = %e, peer = %self.id, "known state not updated");
        }
        self.in_flight.drain(..=pos);
    }
}
