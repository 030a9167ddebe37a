//! [`Links`]: what a node knows of the links between it and its peers: when it last heard
//! from each (directly, or through another node), what each reports hearing, and so which
//! peers do not hear it, and through whom to reach them.
//!
//! A batch carries the sender's report: the nodes it heard *directly* within
//! [`RaftConfig::reach`](super::RaftConfig::reach). When this node has been sending a peer
//! batches for a round or more and the peer's latest report still leaves it out, the link
//! to the peer is down: its batches then go through another node (one the peer's report
//! names, else the one heard from last), which passes them on, and directly only once in a
//! while, so that the peer's reports show when the link is back. A peer that never
//! had a message from this node is not taken for cut off: followers talk only to their
//! leader, and their reports leave each other out.

use core::time::Duration;

use glomers_node::Time;
use glomers_raft::NodeId;

/// Per member, by Raft id (see the module documentation).
#[derive(Debug, Clone)]
pub struct Links {
    me: NodeId,
    /// Last message from it, directly or passed on.
    heard: Vec<Option<Time>>,
    /// Last message from it directly.
    direct: Vec<Option<Time>>,
    /// Its last report and when it arrived.
    reports: Vec<Option<(u32, Time)>>,
    /// The first direct send to it since a report of its named this node.
    unconfirmed: Vec<Option<Time>>,
    /// The last direct send to it.
    last_sent: Vec<Option<Time>>,
}

fn bit(id: NodeId) -> u32 {
    1u32.checked_shl(u32::from(id)).unwrap_or(0)
}

impl Links {
    /// No news yet of any of `members` nodes; this node is `me`.
    pub fn new(me: NodeId, members: usize) -> Self {
        Links {
            me,
            heard: vec![None; members],
            direct: vec![None; members],
            reports: vec![None; members],
            unconfirmed: vec![None; members],
            last_sent: vec![None; members],
        }
    }

    /// A message from `from` arrived at `t` through `via` (`from` itself when direct).
    pub fn heard(&mut self, t: Time, via: NodeId, from: NodeId) {
        set(&mut self.heard, via, t);
        set(&mut self.direct, via, t);
        set(&mut self.heard, from, t);
    }

    /// `from` reports hearing `mask` (see [`Links::mask`]).
    pub fn report(&mut self, t: Time, from: NodeId, mask: u32) {
        set(&mut self.reports, from, (mask, t));
        if mask & bit(self.me) != 0 {
            if let Some(slot) = self.unconfirmed.get_mut(usize::from(from)) {
                *slot = None;
            }
        }
    }

    /// A batch left for `to` directly at `t`.
    pub fn sent(&mut self, t: Time, to: NodeId) {
        if let Some(slot) = self.unconfirmed.get_mut(usize::from(to)) {
            slot.get_or_insert(t);
        }
        set(&mut self.last_sent, to, t);
    }

    /// Whether a batch for `to`, which goes through another node, should also go directly
    /// at `t`, to learn when the link is back: once per `every`.
    pub fn probe_due(&self, t: Time, to: NodeId, every: Duration) -> bool {
        let last = self.last_sent.get(usize::from(to)).copied().flatten();
        last.is_none_or(|at| t.saturating_since(at) >= every)
    }

    /// Whether `id` was heard from, by any path, within `within` of `t`.
    pub fn fresh(&self, t: Time, id: NodeId, within: Duration) -> bool {
        let at = self.heard.get(usize::from(id)).copied().flatten();
        at.is_some_and(|at| t.saturating_since(at) < within)
    }

    /// This node's report: the nodes it heard directly within `reach` of `t`.
    pub fn mask(&self, t: Time, reach: Duration) -> u32 {
        self.direct
            .iter()
            .enumerate()
            .filter(|(_, at)| at.is_some_and(|at| t.saturating_since(at) < reach))
            .filter_map(|(i, _)| NodeId::try_from(i).ok())
            .fold(0, |mask, i| mask | bit(i))
    }

    /// The node to pass `peer`'s messages through, when `peer` does not hear this node:
    /// its latest report (younger than `reach`) leaves this node out although this node
    /// has sent it batches since at least `settle` before that report.
    pub fn relay(
        &self,
        t: Time,
        peer: NodeId,
        reach: Duration,
        settle: Duration,
    ) -> Option<NodeId> {
        let (mask, at) = self.reports.get(usize::from(peer)).copied().flatten()?;
        let since = self.unconfirmed.get(usize::from(peer)).copied().flatten()?;
        let cut =
            mask & bit(self.me) == 0 && t.saturating_since(at) < reach && since + settle <= at;
        if !cut {
            return None;
        }
        let others = (0..self.heard.len())
            .filter_map(|i| NodeId::try_from(i).ok())
            .filter(|&r| r != peer && r != self.me);
        let heard = |r: NodeId| self.heard.get(usize::from(r)).copied().flatten();
        others
            .clone()
            .find(|&r| mask & bit(r) != 0)
            .or_else(|| others.max_by_key(|&r| heard(r)))
    }
}

fn set<T>(slots: &mut [Option<T>], id: NodeId, value: T) {
    if let Some(slot) = slots.get_mut(usize::from(id)) {
        *slot = Some(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REACH: Duration = Duration::from_secs(2);
    const ROUND: Duration = Duration::from_millis(200);

    fn ms(n: u64) -> Time {
        Time::from_millis(n)
    }

    #[test]
    fn a_peer_is_cut_off_only_after_reports_that_miss_what_was_sent() {
        let mut l = Links::new(0, 3);
        l.heard(ms(10), 2, 2);
        assert_eq!(l.mask(ms(20), REACH), 0b100);
        // n1 reports hearing only n2: it has had nothing from us yet.
        l.report(ms(20), 1, 0b100);
        assert_eq!(l.relay(ms(30), 1, REACH, ROUND), None, "never sent to it");
        l.sent(ms(30), 1);
        l.report(ms(100), 1, 0b100);
        assert_eq!(l.relay(ms(110), 1, REACH, ROUND), None, "too soon to tell");
        l.sent(ms(230), 1);
        l.report(ms(300), 1, 0b100);
        assert_eq!(
            l.relay(ms(310), 1, REACH, ROUND),
            Some(2),
            "through the node it hears"
        );
        assert_eq!(
            l.relay(ms(2400), 1, REACH, ROUND),
            None,
            "an old report says nothing"
        );
        l.report(ms(400), 1, 0b101);
        assert_eq!(l.relay(ms(410), 1, REACH, ROUND), None, "it hears us again");
        assert!(!l.probe_due(ms(300), 1, ROUND), "sent directly 70 ms ago");
        assert!(l.probe_due(ms(430), 1, ROUND));
        assert!(l.probe_due(ms(0), 2, ROUND), "never sent to");
    }

    #[test]
    fn passed_on_messages_count_as_news_but_not_as_a_working_link() {
        let mut l = Links::new(0, 3);
        l.heard(ms(100), 2, 1);
        assert!(l.fresh(ms(150), 1, ROUND) && l.fresh(ms(150), 2, ROUND));
        assert_eq!(l.mask(ms(150), REACH), 0b100, "only n2 reached us directly");
        assert!(!l.fresh(ms(400), 1, ROUND));
    }
}
